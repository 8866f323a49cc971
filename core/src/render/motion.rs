//! Slow pan and zoom over still images ("Ken Burns"), sampled with sub-pixel
//! precision so the motion is smooth at any frame rate.

use serde::{Deserialize, Serialize};

/// A pan/zoom path over one scene: zoom and view centre at its start and end.
///
/// Zoom 1 shows the widest view (the image just covering the frame); the centre
/// is in image-relative units (0..1), clamped so the view never leaves the image.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Motion {
    /// Zoom at the start of the scene (≥ 1).
    pub zoom_from: f32,
    /// Zoom at the end.
    pub zoom_to: f32,
    /// View centre at the start, (x, y) in 0..1 of the image.
    pub centre_from: (f32, f32),
    /// View centre at the end.
    pub centre_to: (f32, f32),
}

/// Largest zoom a motion uses; images are loaded large enough for it.
pub const MAX_ZOOM: f32 = 1.15;

impl Motion {
    /// No motion: the whole image, centred.
    pub const STILL: Motion = Motion {
        zoom_from: 1.0,
        zoom_to: 1.0,
        centre_from: (0.5, 0.5),
        centre_to: (0.5, 0.5),
    };

    /// A motion that varies by scene and seed: zoom in or out by 8–15 %, drifting
    /// toward one of eight directions.
    ///
    /// ```
    /// use voxreel::render::motion::Motion;
    /// let a = Motion::for_scene(7, 0);
    /// assert_eq!(a, Motion::for_scene(7, 0));
    /// assert_ne!(a, Motion::for_scene(7, 1));
    /// ```
    pub fn for_scene(seed: u64, scene: usize) -> Motion {
        let mut st = seed ^ (scene as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut next = || {
            st = st.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = st;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) >> 40) as f32 / (1u64 << 24) as f32
        };
        let amount = 0.08 + 0.07 * next();
        let zoom_in = (scene + (next() * 2.0) as usize) % 2 == 0;
        let dir = (next() * 8.0) as usize % 8;
        let ang = dir as f32 * std::f32::consts::FRAC_PI_4;
        let drift = 0.5 * amount;
        let (dx, dy) = (ang.cos() * drift, ang.sin() * drift);
        let (z0, z1) = if zoom_in {
            (1.0, 1.0 + amount)
        } else {
            (1.0 + amount, 1.0)
        };
        Motion {
            zoom_from: z0,
            zoom_to: z1,
            centre_from: (0.5 - dx / 2.0, 0.5 - dy / 2.0),
            centre_to: (0.5 + dx / 2.0, 0.5 + dy / 2.0),
        }
    }

    /// Zoom and centre at progress `p` (0..1, clamped), with a gentle ease at both ends.
    pub fn at(&self, p: f32) -> (f32, (f32, f32)) {
        let p = p.clamp(0.0, 1.0);
        // Smoothstep blended with linear: never stops, but starts and ends softly.
        let e = 0.5 * p + 0.5 * p * p * (3.0 - 2.0 * p);
        let lerp = |a: f32, b: f32| a + (b - a) * e;
        (
            lerp(self.zoom_from, self.zoom_to),
            (
                lerp(self.centre_from.0, self.centre_to.0),
                lerp(self.centre_from.1, self.centre_to.1),
            ),
        )
    }
}

/// An RGB image held for sampling.
#[derive(Debug, Clone, PartialEq)]
pub struct Picture {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// RGB24 rows.
    pub rgb: Vec<u8>,
}

impl Picture {
    /// Draws the view of this picture at `zoom` around `centre` into an RGB24 frame
    /// of `fw × fh`, with bilinear interpolation (fixed point, 8 fractional bits).
    pub fn sample_into(&self, zoom: f32, centre: (f32, f32), fw: usize, fh: usize, out: &mut [u8]) {
        let (iw, ih) = (self.width as f32, self.height as f32);
        // Source pixels per frame pixel at zoom 1: the image just covers the frame.
        let cover = (iw / fw as f32).min(ih / fh as f32);
        let s = cover / zoom.max(1.0);
        let (vw, vh) = (fw as f32 * s, fh as f32 * s);
        let cx = (centre.0 * iw).clamp(vw / 2.0, iw - vw / 2.0);
        let cy = (centre.1 * ih).clamp(vh / 2.0, ih - vh / 2.0);
        let (x_org, y_org) = (cx - vw / 2.0, cy - vh / 2.0);
        let max_x = self.width.saturating_sub(1);
        let max_y = self.height.saturating_sub(1);
        // Per-column source index and weight, shared by all rows.
        let cols: Vec<(usize, usize, u32)> = (0..fw)
            .map(|x| {
                let u = (x_org + (x as f32 + 0.5) * s - 0.5).max(0.0);
                let x0 = (u.floor() as usize).min(max_x);
                let x1 = (x0 + 1).min(max_x);
                let fx = ((u - x0 as f32) * 256.0).round().clamp(0.0, 256.0) as u32;
                (x0 * 3, x1 * 3, fx)
            })
            .collect();
        // Separable: blend the two source rows over the span the view covers (contiguous,
        // vectorised), then interpolate that row horizontally.
        let span0 = cols.first().map_or(0, |c| c.0);
        let span1 = cols.last().map_or(0, |c| c.1 + 3);
        use rayon::prelude::*;
        out.par_chunks_mut(fw * 3)
            .take(fh)
            .enumerate()
            .for_each_init(
                || vec![0u32; span1 - span0],
                |tmp, (y, row)| {
                    let v = (y_org + (y as f32 + 0.5) * s - 0.5).max(0.0);
                    let y0 = (v.floor() as usize).min(max_y);
                    let y1 = (y0 + 1).min(max_y);
                    let fy = ((v - y0 as f32) * 256.0).round().clamp(0.0, 256.0) as u32;
                    let r0 = &self.rgb[y0 * self.width * 3 + span0..y0 * self.width * 3 + span1];
                    let r1 = &self.rgb[y1 * self.width * 3 + span0..y1 * self.width * 3 + span1];
                    for ((t, &a), &b) in tmp.iter_mut().zip(r0).zip(r1) {
                        *t = a as u32 * (256 - fy) + b as u32 * fy;
                    }
                    let tmp: &[u32] = tmp;
                    for (px, &(a, b, fx)) in row.chunks_exact_mut(3).zip(&cols) {
                        let (a, b) = (a - span0, b - span0);
                        debug_assert!(a + 3 <= tmp.len() && b + 3 <= tmp.len());
                        for k in 0..3 {
                            // SAFETY: every column's source pixels lie inside the span
                            // [span0, span1) that `tmp` holds: span0 is the first column's
                            // left pixel, span1 the last column's right pixel + 3, and the
                            // columns' pixels grow monotonically with x.
                            let (pa, pb) =
                                unsafe { (*tmp.get_unchecked(a + k), *tmp.get_unchecked(b + k)) };
                            px[k] = ((pa * (256 - fx) + pb * fx + (1 << 15)) >> 16) as u8;
                        }
                    }
                },
            );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(w: usize, h: usize) -> Picture {
        let mut rgb = Vec::with_capacity(w * h * 3);
        for y in 0..h {
            for x in 0..w {
                rgb.extend_from_slice(&[(x * 255 / (w - 1)) as u8, (y * 255 / (h - 1)) as u8, 128]);
            }
        }
        Picture {
            width: w,
            height: h,
            rgb,
        }
    }

    #[test]
    fn zoom_one_covers_and_centre_stays_inside() {
        let p = gradient(200, 400);
        let mut out = vec![0u8; 100 * 200 * 3];
        p.sample_into(1.0, (0.5, 0.5), 100, 200, &mut out);
        // Left edge dark red channel, right edge bright.
        assert!(
            out[0] < 5 && out[(99) * 3] > 250,
            "{} {}",
            out[0],
            out[99 * 3]
        );
        // A centre far outside is clamped: same as the edge-aligned view.
        let mut a = vec![0u8; out.len()];
        let mut b = vec![0u8; out.len()];
        p.sample_into(1.1, (5.0, 0.5), 100, 200, &mut a);
        p.sample_into(1.1, (1.0, 0.5), 100, 200, &mut b);
        assert_eq!(a, b);
    }

    #[test]
    fn motion_is_smooth_between_frames() {
        // Consecutive frames of a slow zoom differ by less than one grey level on average.
        let p = gradient(1200, 2100);
        let m = Motion {
            zoom_from: 1.0,
            zoom_to: 1.12,
            centre_from: (0.45, 0.5),
            centre_to: (0.55, 0.5),
        };
        let (fw, fh) = (108, 192);
        let frames: Vec<Vec<u8>> = (0..30)
            .map(|i| {
                let (z, c) = m.at(i as f32 / 150.0);
                let mut o = vec![0u8; fw * fh * 3];
                p.sample_into(z, c, fw, fh, &mut o);
                o
            })
            .collect();
        for w in frames.windows(2) {
            let d: f64 = w[0]
                .iter()
                .zip(&w[1])
                .map(|(a, b)| (*a as f64 - *b as f64).abs())
                .sum::<f64>()
                / w[0].len() as f64;
            assert!(d < 1.0, "frame difference {d}");
        }
        assert_ne!(frames[0], frames[29], "it moves");
    }
}
