//! Frames: backgrounds, scene images, titles and burned-in captions.
//!
//! [`FrameRenderer`] turns a [`Timeline`] into RGB24 frames. Scene backdrops
//! (image or generated background, with the title) and caption overlays are
//! rasterised once and composited per frame; frames are rendered in parallel
//! (rayon) in batches on a worker thread and handed to the caller's sink in
//! order, so rendering overlaps encoding. Only the assets of the current batch
//! are kept in memory, so memory does not grow with the video's length.

pub mod fonts;
pub mod motion;

use std::collections::HashMap;
use std::path::Path;
use std::sync::mpsc::sync_channel;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::media::{is_video_path, VideoClip};
use crate::plan::{FrameSpec, TextMeasure, Timeline};
use crate::progress::Progress;
use crate::{Error, Result};
use fonts::FontSet;
use motion::Picture;

/// Largest image accepted, in pixels (width × height).
pub const MAX_IMAGE_PIXELS: u64 = 100_000_000;
/// Frames rendered per parallel batch.
const BATCH: usize = 8;

/// How captions and titles look. Sizes are for a 1080-pixel short side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CaptionStyle {
    /// Caption size, pixels per em (at 1080 px frame width).
    pub font_px: f32,
    /// Line height as a multiple of the size.
    pub line_height: f32,
    /// Caption fill colour, RGB.
    pub fill: [u8; 3],
    /// Outline colour, RGB.
    pub outline: [u8; 3],
    /// Outline width, pixels.
    pub outline_px: f32,
    /// Gap between the caption block and the bottom safe line, pixels.
    pub bottom_gap_px: f32,
    /// Title size, pixels per em.
    pub title_px: f32,
    /// Colour of the word being spoken (karaoke-style highlight); none: no highlight.
    pub highlight: Option<[u8; 3]>,
}

impl Default for CaptionStyle {
    fn default() -> Self {
        CaptionStyle {
            font_px: 62.0,
            line_height: 1.3,
            fill: [255, 255, 255],
            outline: [12, 12, 16],
            outline_px: 6.0,
            bottom_gap_px: 40.0,
            title_px: 84.0,
            highlight: None,
        }
    }
}

impl CaptionStyle {
    /// Reads a style file: JSON with any of the fields (the rest keep their defaults),
    /// e.g. `{"font_px": 70, "fill": [255, 230, 0], "outline_px": 8}`.
    pub fn load_json(path: &Path) -> Result<CaptionStyle> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let s: CaptionStyle = serde_json::from_str(&text).map_err(|e| Error::InvalidArgument {
            name: format!("caption style {}", path.display()),
            reason: e.to_string(),
        })?;
        let sizes = [
            s.font_px,
            s.line_height,
            s.outline_px,
            s.bottom_gap_px,
            s.title_px,
        ];
        if sizes.iter().any(|v| !v.is_finite() || *v < 0.0)
            || !(8.0..=400.0).contains(&s.font_px)
            || !(8.0..=400.0).contains(&s.title_px)
        {
            return Err(Error::InvalidArgument {
                name: format!("caption style {}", path.display()),
                reason: "sizes out of range (font 8–400 px)".into(),
            });
        }
        Ok(s)
    }

    /// The style with every size multiplied by `k` (sizes are given for a 1080-pixel short side).
    pub fn scaled(&self, k: f32) -> CaptionStyle {
        CaptionStyle {
            font_px: self.font_px * k,
            outline_px: self.outline_px * k,
            bottom_gap_px: self.bottom_gap_px * k,
            title_px: self.title_px * k,
            ..self.clone()
        }
    }
}

/// Widest a caption line may be: the safe area's width, less the outline on both sides.
/// `style` must already be scaled to the frame ([`CaptionStyle::scaled`]).
pub fn caption_max_line_width(frame: &FrameSpec, style: &CaptionStyle) -> f32 {
    frame.width as f32 * (1.0 - frame.safe_left - frame.safe_right) - 2.0 * style.outline_px
}

/// An RGBA overlay placed on the frame (straight alpha in 0..=1).
#[derive(Debug, Clone)]
struct Overlay {
    x: usize,
    y: usize,
    w: usize,
    h: usize,
    /// (alpha, r, g, b) per pixel.
    px: Vec<[f32; 4]>,
}

/// A block of text lines rasterised once: fill and outline coverage, and where each
/// line's glyphs sit, so colour variants (the highlighted word) are cheap to make.
#[derive(Debug, Clone)]
struct TextRaster {
    /// Frame x of the mask's first column, and y of its first row.
    x: usize,
    y: usize,
    w: usize,
    h: usize,
    fill: Vec<f32>,
    outline: Vec<f32>,
    /// Per line: glyphs, pen x and baseline y (mask coordinates).
    lines: Vec<(Vec<fonts::PlacedGlyph>, f32, f32)>,
    px: f32,
}

impl TextRaster {
    /// Rasterises centred lines with an outline; `top` is the y of the first line's box.
    #[allow(clippy::too_many_arguments)]
    fn new(
        fonts: &FontSet,
        lines: &[String],
        px: f32,
        line_height: f32,
        style: &CaptionStyle,
        frame_w: usize,
        top: f32,
        centre_x: f32,
    ) -> TextRaster {
        let pad = style.outline_px.ceil() as usize + 2;
        let lh = px * line_height;
        let (ascent, _) = fonts.metrics(px);
        let laid: Vec<(Vec<fonts::PlacedGlyph>, f32)> =
            lines.iter().map(|l| fonts.layout_line(l, px)).collect();
        // Only the columns the text can touch (plus outline and padding) are rasterised.
        let widest = laid.iter().map(|l| l.1).fold(0.0f32, f32::max);
        let x = ((centre_x - widest / 2.0).floor() as i64 - px as i64 - pad as i64)
            .clamp(0, frame_w as i64) as usize;
        let x_end = ((centre_x + widest / 2.0).ceil() as i64 + px as i64 + pad as i64)
            .clamp(x as i64, frame_w as i64) as usize;
        let w = x_end - x;
        let h = (lh * lines.len() as f32).ceil() as usize + 2 * pad;
        let mut fill = vec![0.0f32; w * h];
        let mut placed = Vec::with_capacity(laid.len());
        for (i, (glyphs, width)) in laid.into_iter().enumerate() {
            let x0 = (centre_x - width / 2.0).round() - x as f32;
            let baseline = (pad as f32 + i as f32 * lh + (lh - px) / 2.0 + ascent * 0.92).round();
            fonts.draw_line(&glyphs, px, x0, baseline, &mut fill, w);
            placed.push((glyphs, x0, baseline));
        }
        let outline = dilate(&fill, w, h, style.outline_px);
        let y = (top - pad as f32).round().max(0.0) as usize;
        TextRaster {
            x,
            y,
            w,
            h,
            fill,
            outline,
            lines: placed,
            px,
        }
    }

    /// The coloured overlay; `highlight` (line, first char, end char, colour) recolours
    /// one word's glyphs.
    fn overlay(
        &self,
        fonts: &FontSet,
        style: &CaptionStyle,
        highlight: Option<(usize, usize, usize, [u8; 3])>,
    ) -> Overlay {
        let (w, h) = (self.w, self.h);
        let (fill, outline) = (&self.fill, &self.outline);
        // Coverage of the highlighted word's glyphs (drawn in the fill too).
        let mut hi = Vec::new();
        if let Some((line, a, b, _)) = highlight {
            if let Some((glyphs, x0, baseline)) = self.lines.get(line) {
                hi = vec![0.0f32; w * h];
                let word = &glyphs[a.min(glyphs.len())..b.min(glyphs.len())];
                fonts.draw_line(word, self.px, *x0, *baseline, &mut hi, w);
            }
        }
        let [fr, fg, fb] = style.fill.map(|c| c as f32);
        let [hr, hg, hb] = highlight.map_or(style.fill, |h| h.3).map(|c| c as f32);
        let [or, og, ob] = style.outline.map(|c| c as f32);
        let px: Vec<[f32; 4]> = fill
            .iter()
            .zip(outline.iter())
            .enumerate()
            .map(|(k, (&f, &o))| {
                // Fill over outline ("over" compositing).
                let a = f + o * (1.0 - f);
                if a <= 0.0 {
                    return [0.0; 4];
                }
                let t = if hi.is_empty() || f <= 0.0 {
                    0.0
                } else {
                    (hi[k] / f).min(1.0)
                };
                let (cr, cg, cb) = (fr + (hr - fr) * t, fg + (hg - fg) * t, fb + (hb - fb) * t);
                let mix = |fc: f32, oc: f32| (fc * f + oc * o * (1.0 - f)) / a;
                [a, mix(cr, or), mix(cg, og), mix(cb, ob)]
            })
            .collect();
        Overlay {
            x: self.x,
            y: self.y,
            w,
            h,
            px,
        }
        .cropped()
    }
}

impl Overlay {
    /// Drops fully transparent rows and columns.
    fn cropped(self) -> Overlay {
        let (w, h) = (self.w, self.h);
        let opaque = |x: usize, y: usize| self.px[y * w + x][0] > 0.0;
        let rows: Vec<usize> = (0..h).filter(|&y| (0..w).any(|x| opaque(x, y))).collect();
        let (Some(&y0), Some(&y1)) = (rows.first(), rows.last()) else {
            return Overlay {
                x: self.x,
                y: self.y,
                w: 0,
                h: 0,
                px: Vec::new(),
            };
        };
        let x0 = (0..w)
            .find(|&x| (y0..=y1).any(|y| opaque(x, y)))
            .unwrap_or(0);
        let x1 = (0..w)
            .rev()
            .find(|&x| (y0..=y1).any(|y| opaque(x, y)))
            .unwrap_or(w - 1);
        let (nw, nh) = (x1 - x0 + 1, y1 - y0 + 1);
        let mut px = Vec::with_capacity(nw * nh);
        for y in y0..=y1 {
            px.extend_from_slice(&self.px[y * w + x0..=y * w + x1]);
        }
        Overlay {
            x: self.x + x0,
            y: self.y + y0,
            w: nw,
            h: nh,
            px,
        }
    }

    /// Blends onto an RGB24 frame of width `fw`.
    fn blend(&self, rgb: &mut [u8], fw: usize) {
        let fh = rgb.len() / (3 * fw.max(1));
        for oy in 0..self.h {
            let y = self.y + oy;
            if y >= fh {
                break;
            }
            for ox in 0..self.w {
                let x = self.x + ox;
                if x >= fw {
                    break;
                }
                let [a, r, g, b] = self.px[oy * self.w + ox];
                if a <= 0.0 {
                    continue;
                }
                let i = (y * fw + x) * 3;
                for (k, c) in [r, g, b].into_iter().enumerate() {
                    let v = rgb[i + k] as f32 * (1.0 - a) + c * a;
                    rgb[i + k] = v.round().clamp(0.0, 255.0) as u8;
                }
            }
        }
    }
}

/// Grows a coverage mask by `radius` pixels with a round brush (antialiased edge).
fn dilate(mask: &[f32], w: usize, h: usize, radius: f32) -> Vec<f32> {
    let r = radius.ceil() as i64;
    let offsets: Vec<(i64, i64, f32)> = (-r..=r)
        .flat_map(|dy| (-r..=r).map(move |dx| (dx, dy)))
        .filter_map(|(dx, dy)| {
            let d = ((dx * dx + dy * dy) as f32).sqrt();
            let weight = (radius + 0.5 - d).clamp(0.0, 1.0);
            (weight > 0.0).then_some((dx, dy, weight))
        })
        .collect();
    let mut out = vec![0.0f32; w * h];
    out.par_chunks_mut(w).enumerate().for_each(|(y, row)| {
        for (x, o) in row.iter_mut().enumerate() {
            let mut m = 0.0f32;
            for &(dx, dy, wt) in &offsets {
                let (sx, sy) = (x as i64 + dx, y as i64 + dy);
                if sx >= 0 && sy >= 0 && (sx as usize) < w && (sy as usize) < h {
                    m = m.max(mask[sy as usize * w + sx as usize] * wt);
                    if m >= 1.0 {
                        break;
                    }
                }
            }
            *o = m;
        }
    });
    out
}

/// Lays `text` out in at most `max_lines` lines no wider than `max_width` at `px`,
/// breaking at spaces (and between CJK characters); the last line is cut with an
/// ellipsis if the text does not fit.
fn wrap_title(
    fonts: &FontSet,
    text: &str,
    px: f32,
    max_width: f32,
    max_lines: usize,
) -> Vec<String> {
    let lang = if text.chars().any(crate::lang::is_cjk_char) {
        crate::lang::Language::ChineseTraditional
    } else {
        crate::lang::Language::English
    };
    let units = crate::text::units(text, lang);
    let layout = crate::plan::CaptionLayout {
        font_px: px,
        max_line_width: max_width,
        max_lines,
    };
    let mut lines = crate::plan::wrap_lines(&units, &layout, fonts);
    if lines.len() > max_lines {
        lines.truncate(max_lines);
        if let Some(last) = lines.last_mut() {
            while !last.is_empty() && fonts.text_width(&format!("{last}…"), px) > max_width {
                last.pop();
            }
            last.push('…');
        }
    }
    lines
}

/// Colour from hue (0..1), saturation and value.
fn hsv(h: f32, s: f32, v: f32) -> [f32; 3] {
    let h6 = (h.rem_euclid(1.0)) * 6.0;
    let c = v * s;
    let x = c * (1.0 - ((h6 % 2.0) - 1.0).abs());
    let (r, g, b) = match h6 as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = v - c;
    [(r + m) * 255.0, (g + m) * 255.0, (b + m) * 255.0]
}

/// SplitMix64: a small deterministic generator for background layouts.
fn splitmix(state: &mut u64) -> f32 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) >> 40) as f32 / (1u64 << 24) as f32
}

/// A generated background: a diagonal two-colour gradient with soft glows,
/// hues varying by scene, dark enough that white captions always read.
fn generated_background(w: usize, h: usize, seed: u64, scene: usize) -> Vec<u8> {
    let mut st = seed ^ (scene as u64).wrapping_mul(0xA24B_AED4_963E_E407);
    let base_hue =
        splitmix(&mut st) * 0.15 + scene as f32 * 0.618_034 + (seed % 1000) as f32 * 0.001;
    let c0 = hsv(base_hue, 0.65, 0.42);
    let c1 = hsv(base_hue + 0.12, 0.75, 0.16);
    let glows: Vec<(f32, f32, f32, [f32; 3])> = (0..4)
        .map(|_| {
            let gx = splitmix(&mut st) * w as f32;
            let gy = splitmix(&mut st) * h as f32;
            let gr = (0.25 + 0.35 * splitmix(&mut st)) * w as f32;
            let col = hsv(base_hue + 0.3 * splitmix(&mut st) - 0.15, 0.55, 0.62);
            (gx, gy, gr, col)
        })
        .collect();
    let mut rgb = vec![0u8; w * h * 3];
    rgb.par_chunks_mut(w * 3).enumerate().for_each(|(y, row)| {
        for x in 0..w {
            let t = ((x as f32 / w as f32) * 0.35 + (y as f32 / h as f32) * 0.65).clamp(0.0, 1.0);
            let mut c = [0.0f32; 3];
            for k in 0..3 {
                c[k] = c0[k] * (1.0 - t) + c1[k] * t;
            }
            for &(gx, gy, gr, col) in &glows {
                let d2 = ((x as f32 - gx).powi(2) + (y as f32 - gy).powi(2)) / (gr * gr);
                let a = 0.35 * (-d2 * 2.0).exp();
                for k in 0..3 {
                    c[k] = c[k] * (1.0 - a) + col[k] * a;
                }
            }
            // Ordered dither against banding in the gradient.
            let d = ((x * 7 + y * 13) % 5) as f32 / 5.0 - 0.4;
            for k in 0..3 {
                row[x * 3 + k] = (c[k] + d).round().clamp(0.0, 200.0) as u8;
            }
        }
    });
    rgb
}

/// Loads an image scaled (Lanczos) so that it covers `w`×`h` at [`motion::MAX_ZOOM`]
/// (or exactly at zoom 1 when `for_motion` is false), keeping its aspect ratio.
pub fn load_picture(path: &Path, w: u32, h: u32, for_motion: bool) -> Result<Picture> {
    let bad = |reason: String| Error::Image {
        path: path.to_path_buf(),
        reason,
    };
    let open = || -> Result<image::ImageReader<std::io::BufReader<std::fs::File>>> {
        image::ImageReader::open(path)
            .map_err(|e| Error::io(path, e))?
            .with_guessed_format()
            .map_err(|e| Error::io(path, e))
    };
    let (iw, ih) = open()?
        .into_dimensions()
        .map_err(|e| bad(format!("not a readable image: {e}")))?;
    if iw == 0 || ih == 0 || iw as u64 * ih as u64 > MAX_IMAGE_PIXELS {
        return Err(bad(format!(
            "{iw}×{ih} pixels; images up to {MAX_IMAGE_PIXELS} pixels are accepted"
        )));
    }
    let img = open()?
        .decode()
        .map_err(|e| bad(format!("not a readable image: {e}")))?
        .to_rgb8();
    let zoom = if for_motion {
        motion::MAX_ZOOM as f64
    } else {
        1.0
    };
    let scale = (w as f64 / iw as f64).max(h as f64 / ih as f64) * zoom;
    let (sw, sh) = (
        ((iw as f64 * scale).ceil() as u32).max(w),
        ((ih as f64 * scale).ceil() as u32).max(h),
    );
    let resized = image::imageops::resize(&img, sw, sh, image::imageops::FilterType::Lanczos3);
    Ok(Picture {
        width: sw as usize,
        height: sh as usize,
        rgb: resized.into_raw(),
    })
}

/// Loads an image and scales and crops it to fill `w`×`h` (centre crop, Lanczos).
pub fn load_image_fill(path: &Path, w: u32, h: u32) -> Result<Vec<u8>> {
    let p = load_picture(path, w, h, false)?;
    let mut out = vec![0u8; w as usize * h as usize * 3];
    p.sample_into(1.0, (0.5, 0.5), w as usize, h as usize, &mut out);
    Ok(out)
}

/// Darkens the top band of an image backdrop so a white title reads on any picture.
fn shade_top(rgb: &mut [u8], w: usize, until_y: usize) {
    for y in 0..until_y.min(rgb.len() / (3 * w)) {
        let a = 0.55 * (1.0 - y as f32 / until_y as f32);
        let keep = ((1.0 - a) * 256.0) as u32;
        for v in &mut rgb[y * w * 3..(y + 1) * w * 3] {
            *v = ((*v as u32 * keep) >> 8) as u8;
        }
    }
}

/// What a scene shows under its captions.
enum SceneBase {
    /// A picture, panned and zoomed (or still).
    Picture(Picture),
    /// A video clip; its pictures come from a [`VideoClip`] decoded in frame order.
    Video,
    /// A generated background, frame-sized.
    Generated(Vec<u8>),
}

/// A scene's rendered assets, made once per scene.
struct SceneAssets {
    base: SceneBase,
    title: Option<Overlay>,
}

/// Renders the frames of a timeline.
pub struct FrameRenderer<'a> {
    timeline: &'a Timeline,
    fonts: &'a FontSet,
    style: CaptionStyle,
}

impl std::fmt::Debug for FrameRenderer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameRenderer")
            .field("frame", &self.timeline.frame)
            .field("style", &self.style)
            .finish()
    }
}

/// What one frame shows: scenes with their weight (one, or two during a crossfade) and the cue.
#[derive(Debug, Clone, PartialEq)]
struct FramePlan {
    /// (scene, progress through the scene 0..1, weight)
    layers: Vec<(usize, f32, f32)>,
    cue: Option<CueKey>,
    /// Frame index.
    frame: u64,
    /// Frame time, seconds (its middle).
    t: f64,
}

/// Pictures of the video-clip scenes for the frames being composed, by (scene, frame).
type ClipFrames = HashMap<(usize, u64), std::sync::Arc<Vec<u8>>>;

/// A caption overlay: the cue and the highlighted word (if highlighting).
type CueKey = (usize, Option<usize>);

impl<'a> FrameRenderer<'a> {
    /// A renderer for `timeline`; checks that every scene image exists. `style` is
    /// given for a 1080-pixel short side and scaled to the frame.
    pub fn new(timeline: &'a Timeline, fonts: &'a FontSet, style: &CaptionStyle) -> Result<Self> {
        for s in &timeline.scenes {
            if let Some(p) = &s.image {
                if !p.is_file() {
                    return Err(Error::FileNotFound { path: p.clone() });
                }
                if is_video_path(p) {
                    // Fails now, before any encoding, if the clip cannot be decoded.
                    VideoClip::open(p, 16, 16)?;
                }
            }
        }
        Ok(FrameRenderer {
            timeline,
            fonts,
            style: style.scaled(timeline.frame.scale()),
        })
    }

    /// The scenes and cue shown at frame `i`.
    fn at(&self, i: u64) -> FramePlan {
        let tl = self.timeline;
        let t = (i as f64 + 0.5) / tl.frame.fps as f64;
        let scene = tl.scenes.iter().rposition(|s| s.start_s <= t).unwrap_or(0);
        let progress = |k: usize| {
            let s = &tl.scenes[k];
            // Motion runs over the scene plus the crossfades at its ends.
            let pre = s.transition.seconds() / 2.0;
            let post = tl
                .scenes
                .get(k + 1)
                .map_or(0.0, |n| n.transition.seconds() / 2.0);
            let (a, b) = (s.start_s - pre, s.end_s + post);
            (((t - a) / (b - a).max(1e-6)) as f32).clamp(0.0, 1.0)
        };
        let mut layers = vec![(scene, progress(scene), 1.0f32)];
        // Inside the crossfade into this scene, or into the next one?
        let cur = &tl.scenes[scene];
        let half_in = cur.transition.seconds() / 2.0;
        if scene > 0 && half_in > 0.0 && t < cur.start_s + half_in {
            let w = ((t - (cur.start_s - half_in)) / (2.0 * half_in)) as f32;
            layers = vec![
                (scene - 1, progress(scene - 1), 1.0 - w),
                (scene, progress(scene), w),
            ];
        } else if let Some(next) = tl.scenes.get(scene + 1) {
            let half = next.transition.seconds() / 2.0;
            if half > 0.0 && t >= next.start_s - half {
                let w = ((t - (next.start_s - half)) / (2.0 * half)) as f32;
                layers = vec![
                    (scene, progress(scene), 1.0 - w),
                    (scene + 1, progress(scene + 1), w),
                ];
            }
        }
        let cue = if tl.burn_captions {
            tl.cues
                .iter()
                .position(|c| c.start_s <= t && t < c.end_s)
                .map(|k| {
                    let word = self.style.highlight.and_then(|_| tl.cues[k].word_at(t));
                    (k, word)
                })
        } else {
            None
        };
        FramePlan {
            layers,
            cue,
            frame: i,
            t,
        }
    }

    fn scene_assets(&self, scene: usize) -> Result<SceneAssets> {
        let f = &self.timeline.frame;
        let (w, h) = (f.width as usize, f.height as usize);
        let s = &self.timeline.scenes[scene];
        let base = match &s.image {
            Some(p) if is_video_path(p) => SceneBase::Video,
            Some(p) => SceneBase::Picture(load_picture(p, f.width, f.height, s.motion.is_some())?),
            None => SceneBase::Generated(generated_background(w, h, self.timeline.seed, s.index)),
        };
        let title = s.title.as_ref().map(|title| {
            let max_w = caption_max_line_width(f, &self.style);
            let mut px = self.style.title_px;
            let mut lines = wrap_title(self.fonts, title, px, max_w, 3);
            if lines.len() == 3 {
                px *= 0.8;
                lines = wrap_title(self.fonts, title, px, max_w, 3);
            }
            let (l, top, r, _) = f.safe_rect();
            TextRaster::new(
                self.fonts,
                &lines,
                px,
                1.2,
                &self.style,
                w,
                top + h as f32 * 0.03,
                (l + r) / 2.0,
            )
            .overlay(self.fonts, &self.style, None)
        });
        Ok(SceneAssets { base, title })
    }

    /// Seconds since scene `k` became visible (its crossfade in included) at time `t`:
    /// the clock of a video clip shown in it.
    fn scene_clock(&self, k: usize, t: f64) -> f64 {
        let s = &self.timeline.scenes[k];
        (t - (s.start_s - s.transition.seconds() / 2.0)).max(0.0)
    }

    /// Decodes, in frame order, the clip pictures the planned frames need.
    fn clip_frames(
        &self,
        plans: &[FramePlan],
        clips: &mut HashMap<usize, VideoClip>,
    ) -> Result<ClipFrames> {
        let f = &self.timeline.frame;
        let mut out = HashMap::new();
        for plan in plans {
            for &(k, _, _) in &plan.layers {
                let Some(path) = self.timeline.scenes[k]
                    .image
                    .as_ref()
                    .filter(|p| is_video_path(p))
                else {
                    continue;
                };
                let clip = match clips.entry(k) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(e) => {
                        e.insert(VideoClip::open(path, f.width, f.height)?)
                    }
                };
                out.insert((k, plan.frame), clip.frame_at(self.scene_clock(k, plan.t))?);
            }
        }
        Ok(out)
    }

    /// Draws one scene at progress `p` into `out` (frame-sized RGB24); `video` is the
    /// clip picture for a video scene.
    fn draw_scene(
        &self,
        a: &SceneAssets,
        scene: usize,
        p: f32,
        video: Option<&[u8]>,
        out: &mut [u8],
    ) {
        let f = &self.timeline.frame;
        let (w, h) = (f.width as usize, f.height as usize);
        match &a.base {
            SceneBase::Video => {
                match video {
                    Some(v) => out.copy_from_slice(v),
                    None => out.fill(0),
                }
                if a.title.is_some() {
                    shade_top(out, w, (h as f32 * 0.45) as usize);
                }
            }
            SceneBase::Picture(pic) => {
                let (zoom, centre) = self.timeline.scenes[scene]
                    .motion
                    .map_or((1.0, (0.5, 0.5)), |m| m.at(p));
                pic.sample_into(zoom, centre, w, h, out);
                if a.title.is_some() {
                    shade_top(out, w, (h as f32 * 0.45) as usize);
                }
            }
            SceneBase::Generated(bg) => out.copy_from_slice(bg),
        }
        if let Some(t) = &a.title {
            t.blend(out, w);
        }
    }

    /// A caption cue rasterised, bottom-aligned to the bottom safe line and centred
    /// in the safe area.
    fn cue_raster(&self, cue: usize) -> TextRaster {
        let f = &self.timeline.frame;
        let c = &self.timeline.cues[cue];
        let lh = self.style.font_px * self.style.line_height;
        let (l, _, r, bottom) = f.safe_rect();
        let top = bottom - self.style.bottom_gap_px - lh * c.lines.len() as f32;
        TextRaster::new(
            self.fonts,
            &c.lines,
            self.style.font_px,
            self.style.line_height,
            &self.style,
            f.width as usize,
            top,
            (l + r) / 2.0,
        )
    }

    /// The overlay of a caption cue from its raster, with the spoken word highlighted
    /// if the key names one.
    fn cue_overlay(&self, (cue, word): CueKey, raster: &TextRaster) -> Overlay {
        let c = &self.timeline.cues[cue];
        let highlight = match (word.and_then(|k| c.words.get(k)), self.style.highlight) {
            (Some(cw), Some(colour)) => Some((cw.line, cw.char_start, cw.char_end, colour)),
            _ => None,
        };
        raster.overlay(self.fonts, &self.style, highlight)
    }

    fn compose(
        &self,
        plan: &FramePlan,
        assets: &HashMap<usize, std::sync::Arc<SceneAssets>>,
        overlays: &HashMap<CueKey, std::sync::Arc<Overlay>>,
        clips: &ClipFrames,
    ) -> Vec<u8> {
        let f = &self.timeline.frame;
        let n = f.width as usize * f.height as usize * 3;
        let mut rgb = vec![0u8; n];
        let video = |k: usize| clips.get(&(k, plan.frame)).map(|v| v.as_slice());
        let (s0, p0, _) = plan.layers[0];
        self.draw_scene(&assets[&s0], s0, p0, video(s0), &mut rgb);
        if let Some(&(s1, p1, wt)) = plan.layers.get(1) {
            let mut other = vec![0u8; n];
            self.draw_scene(&assets[&s1], s1, p1, video(s1), &mut other);
            let k = (wt.clamp(0.0, 1.0) * 256.0).round() as u32;
            for (a, b) in rgb.iter_mut().zip(&other) {
                *a = ((*a as u32 * (256 - k) + *b as u32 * k + 128) >> 8) as u8;
            }
        }
        if let Some(c) = plan.cue {
            overlays[&c].blend(&mut rgb, f.width as usize);
        }
        rgb
    }

    /// The cover image: the first scene at its start, with its title, without captions.
    pub fn cover(&self) -> Result<Vec<u8>> {
        let f = &self.timeline.frame;
        let a = self.scene_assets(0)?;
        let mut rgb = vec![0u8; f.width as usize * f.height as usize * 3];
        let video = match &self.timeline.scenes[0].image {
            Some(p) if is_video_path(p) => {
                Some(VideoClip::open(p, f.width, f.height)?.frame_at(0.0)?)
            }
            _ => None,
        };
        self.draw_scene(&a, 0, 0.0, video.as_deref().map(|v| v.as_slice()), &mut rgb);
        Ok(rgb)
    }

    /// Renders one frame (RGB24) from scratch; for checks and previews.
    pub fn render_frame(&self, i: u64) -> Result<Vec<u8>> {
        let plan = self.at(i);
        let mut assets = HashMap::new();
        for &(s, _, _) in &plan.layers {
            assets.insert(s, std::sync::Arc::new(self.scene_assets(s)?));
        }
        let mut overlays = HashMap::new();
        if let Some(c) = plan.cue {
            let raster = self.cue_raster(c.0);
            overlays.insert(c, std::sync::Arc::new(self.cue_overlay(c, &raster)));
        }
        let clips = self.clip_frames(std::slice::from_ref(&plan), &mut HashMap::new())?;
        Ok(self.compose(&plan, &assets, &overlays, &clips))
    }

    /// Renders every frame in parallel batches on a worker thread and passes them
    /// in order to `sink`. Stops with [`Error::Cancelled`] when `progress` says so,
    /// and with the sink's first error. Returns the wall-clock seconds the worker
    /// spent rendering (it overlaps the time spent in `sink`). Only the assets of
    /// the scenes and cues of the current batch are held.
    pub fn render_all(
        &self,
        progress: &dyn Progress,
        sink: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<f64> {
        let total = self.timeline.frame_count();
        let (tx, rx) = sync_channel::<Result<Vec<Vec<u8>>>>(2);
        std::thread::scope(|scope| {
            let worker = scope.spawn(move || {
                let mut busy = std::time::Duration::ZERO;
                let mut assets: HashMap<usize, std::sync::Arc<SceneAssets>> = HashMap::new();
                let mut overlays: HashMap<CueKey, std::sync::Arc<Overlay>> = HashMap::new();
                // One raster per cue; its highlight variants are recoloured from it.
                let mut rasters: HashMap<usize, std::sync::Arc<TextRaster>> = HashMap::new();
                // Clips decode on this thread, in frame order (their state is not Send).
                let mut clips: HashMap<usize, VideoClip> = HashMap::new();
                let mut start = 0u64;
                while start < total {
                    if progress.is_cancelled() {
                        let _ = tx.send(Err(Error::Cancelled));
                        return busy;
                    }
                    let t_batch = std::time::Instant::now();
                    let end = (start + BATCH as u64).min(total);
                    let plans: Vec<FramePlan> = (start..end).map(|i| self.at(i)).collect();
                    let scenes: Vec<usize> = plans
                        .iter()
                        .flat_map(|p| p.layers.iter().map(|l| l.0))
                        .collect();
                    let cues: Vec<CueKey> = plans.iter().filter_map(|p| p.cue).collect();
                    assets.retain(|k, _| scenes.contains(k));
                    clips.retain(|k, _| scenes.contains(k));
                    overlays.retain(|k, _| cues.contains(k));
                    rasters.retain(|k, _| cues.iter().any(|c| c.0 == *k));
                    let mut need_s: Vec<usize> = scenes
                        .iter()
                        .copied()
                        .filter(|k| !assets.contains_key(k))
                        .collect();
                    need_s.sort_unstable();
                    need_s.dedup();
                    let mut need_c: Vec<CueKey> = cues
                        .iter()
                        .copied()
                        .filter(|k| !overlays.contains_key(k))
                        .collect();
                    need_c.sort_unstable();
                    need_c.dedup();
                    match need_s
                        .par_iter()
                        .map(|&k| Ok((k, self.scene_assets(k)?)))
                        .collect::<Result<Vec<_>>>()
                    {
                        Ok(v) => {
                            assets.extend(v.into_iter().map(|(k, a)| (k, std::sync::Arc::new(a))))
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            return busy;
                        }
                    }
                    let mut need_r: Vec<usize> = need_c
                        .iter()
                        .map(|c| c.0)
                        .filter(|k| !rasters.contains_key(k))
                        .collect();
                    need_r.dedup();
                    let rs: Vec<(usize, TextRaster)> = need_r
                        .par_iter()
                        .map(|&k| (k, self.cue_raster(k)))
                        .collect();
                    rasters.extend(rs.into_iter().map(|(k, r)| (k, std::sync::Arc::new(r))));
                    let ovs: Vec<(CueKey, Overlay)> = need_c
                        .par_iter()
                        .map(|&k| (k, self.cue_overlay(k, &rasters[&k.0])))
                        .collect();
                    overlays.extend(ovs.into_iter().map(|(k, o)| (k, std::sync::Arc::new(o))));
                    let pictures = match self.clip_frames(&plans, &mut clips) {
                        Ok(v) => v,
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            return busy;
                        }
                    };
                    let frames: Vec<Vec<u8>> = plans
                        .par_iter()
                        .map(|p| self.compose(p, &assets, &overlays, &pictures))
                        .collect();
                    busy += t_batch.elapsed();
                    if tx.send(Ok(frames)).is_err() {
                        return busy; // the consumer stopped
                    }
                    start = end;
                }
                busy
            });
            let mut result = Ok(());
            for batch in rx.iter() {
                match batch {
                    Ok(frames) => {
                        for f in &frames {
                            if let Err(e) = sink(f) {
                                result = Err(e);
                                break;
                            }
                        }
                        if result.is_err() {
                            break;
                        }
                        progress.advance(frames.len() as u64);
                    }
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
            drop(rx);
            match worker.join() {
                Ok(busy) => result.map(|()| busy.as_secs_f64()),
                Err(_) => Err(Error::Encode {
                    stage: "rendering frames".into(),
                    reason: "a frame worker panicked".into(),
                }),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dilate_grows_a_dot_into_a_disc() {
        let (w, h) = (21, 21);
        let mut m = vec![0.0; w * h];
        m[10 * w + 10] = 1.0;
        let d = dilate(&m, w, h, 4.0);
        assert_eq!(d[10 * w + 13], 1.0);
        assert!(
            (d[10 * w + 14] - 0.5).abs() < 1e-6,
            "half covered at the rim"
        );
        assert_eq!(d[10 * w + 15], 0.0);
        assert!(d[13 * w + 13] < 1.0); // a disc, not a square
    }

    #[test]
    fn generated_backgrounds_differ_by_scene_and_stay_dark() {
        let a = generated_background(108, 192, 7, 0);
        let b = generated_background(108, 192, 7, 1);
        assert_ne!(a, b);
        assert_eq!(a, generated_background(108, 192, 7, 0), "deterministic");
        assert!(a.iter().chain(&b).all(|&v| v <= 200));
    }
}
