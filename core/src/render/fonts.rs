//! Fonts: finding a face by family name (also inside `.ttc` collections),
//! measuring and rasterising text with `ab_glyph`.
//!
//! English captions use DejaVu Sans Bold; Traditional Chinese uses the
//! `Noto Sans CJK TC` face and Simplified Chinese the `Noto Sans CJK SC` face of
//! the Noto Sans CJK Bold collection, so each character takes the shape its
//! readers expect. Characters missing from the first face fall back to the next.

use std::path::{Path, PathBuf};

use ab_glyph::{Font, FontVec, GlyphId, PxScale, ScaleFont};

use crate::lang::Language;
use crate::plan::TextMeasure;
use crate::{Error, Result};

/// Where system fonts live on Linux and macOS.
const SYSTEM_FONT_DIRS: [&str; 4] = [
    "/usr/share/fonts",
    "/usr/local/share/fonts",
    "/Library/Fonts",
    "/System/Library/Fonts",
];

/// A face wanted by family and style, with a file-name hint that finds it quickly.
#[derive(Debug, Clone, Copy)]
struct Want {
    family: &'static str,
    bold: bool,
    file_hint: &'static str,
}

const DEJAVU_BOLD: Want = Want {
    family: "DejaVu Sans",
    bold: true,
    file_hint: "DejaVuSans-Bold",
};
const NOTO_TC_BOLD: Want = Want {
    family: "Noto Sans CJK TC",
    bold: true,
    file_hint: "NotoSansCJK",
};
const NOTO_SC_BOLD: Want = Want {
    family: "Noto Sans CJK SC",
    bold: true,
    file_hint: "NotoSansCJK",
};

/// One loaded face.
pub struct LoadedFont {
    /// Family name as the font states it.
    pub family: String,
    /// File it came from.
    pub path: PathBuf,
    /// Index inside a collection.
    pub index: u32,
    font: FontVec,
}

impl std::fmt::Debug for LoadedFont {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedFont")
            .field("family", &self.family)
            .field("path", &self.path)
            .field("index", &self.index)
            .finish()
    }
}

/// A positioned glyph of a laid-out line.
#[derive(Debug, Clone, Copy)]
pub struct PlacedGlyph {
    /// Which face of the set.
    pub face: usize,
    /// The glyph.
    pub id: GlyphId,
    /// Pen x position of its origin, pixels from the line start.
    pub x: f32,
}

/// The faces for one language, first choice first.
#[derive(Debug)]
pub struct FontSet {
    faces: Vec<LoadedFont>,
}

impl FontSet {
    /// Finds the faces for `language` in `extra_dirs`, then the system font folders.
    ///
    /// Errors with [`Error::MissingDependency`] (naming the Debian packages) when
    /// the first-choice face is not installed.
    pub fn for_language_in(language: Language, extra_dirs: &[PathBuf]) -> Result<FontSet> {
        let wants: &[Want] = match language {
            Language::English => &[DEJAVU_BOLD, NOTO_TC_BOLD],
            Language::ChineseTraditional => &[NOTO_TC_BOLD, DEJAVU_BOLD],
            Language::ChineseSimplified => &[NOTO_SC_BOLD, DEJAVU_BOLD],
        };
        let mut dirs: Vec<PathBuf> = extra_dirs.to_vec();
        dirs.extend(SYSTEM_FONT_DIRS.iter().map(PathBuf::from));
        if let Some(home) = std::env::var_os("HOME") {
            dirs.push(Path::new(&home).join(".local/share/fonts"));
            dirs.push(Path::new(&home).join(".fonts"));
        }
        let files = font_files(&dirs);
        let mut faces = Vec::new();
        for (i, want) in wants.iter().enumerate() {
            match find_face(&files, want) {
                Some(f) => faces.push(f),
                None if i == 0 => {
                    return Err(Error::MissingDependency {
                        what: format!(
                            "the font {} {}",
                            want.family,
                            if want.bold { "Bold" } else { "Regular" }
                        ),
                        install: "apt-get install fonts-dejavu-core fonts-noto-cjk".into(),
                    })
                }
                None => {}
            }
        }
        Ok(FontSet { faces })
    }

    /// The first-choice face.
    pub fn primary(&self) -> &LoadedFont {
        &self.faces[0]
    }

    /// ab_glyph's scale (pixel height of ascent − descent) for `px` pixels per em in `face`.
    fn scale(&self, face: usize, px: f32) -> PxScale {
        let f = &self.faces[face].font;
        match f.units_per_em() {
            Some(upem) if upem > 0.0 => PxScale::from(px * f.height_unscaled() / upem),
            _ => PxScale::from(px),
        }
    }

    /// Glyph for a character: the first face that has it (the primary's notdef otherwise).
    fn glyph(&self, c: char) -> (usize, GlyphId) {
        for (i, f) in self.faces.iter().enumerate() {
            let id = f.font.glyph_id(c);
            if id.0 != 0 {
                return (i, id);
            }
        }
        (0, self.faces[0].font.glyph_id(c))
    }

    /// Lays out one line at `px` pixels per em: glyphs with pen positions, and the advance width.
    pub fn layout_line(&self, text: &str, px: f32) -> (Vec<PlacedGlyph>, f32) {
        let mut out = Vec::with_capacity(text.len());
        let mut x = 0.0f32;
        let mut prev: Option<(usize, GlyphId)> = None;
        for c in text.chars() {
            if c.is_control() {
                continue;
            }
            let (face, id) = self.glyph(c);
            let sf = self.faces[face].font.as_scaled(self.scale(face, px));
            if let Some((pf, pid)) = prev {
                if pf == face {
                    x += sf.kern(pid, id);
                }
            }
            out.push(PlacedGlyph { face, id, x });
            x += sf.h_advance(id);
            prev = Some((face, id));
        }
        (out, x)
    }

    /// Ascent and descent (positive) of the primary face at `px`.
    pub fn metrics(&self, px: f32) -> (f32, f32) {
        let sf = self.faces[0].font.as_scaled(self.scale(0, px));
        (sf.ascent(), -sf.descent())
    }

    /// Draws a laid-out line into a coverage mask (`w` wide), origin at (`x0`, `baseline`).
    pub fn draw_line(
        &self,
        glyphs: &[PlacedGlyph],
        px: f32,
        x0: f32,
        baseline: f32,
        mask: &mut [f32],
        w: usize,
    ) {
        let h = mask.len() / w.max(1);
        for g in glyphs {
            let font = &self.faces[g.face].font;
            let glyph = g.id.with_scale_and_position(
                self.scale(g.face, px),
                ab_glyph::point(x0 + g.x, baseline),
            );
            if let Some(o) = font.outline_glyph(glyph) {
                let b = o.px_bounds();
                o.draw(|gx, gy, c| {
                    let x = b.min.x as i64 + gx as i64;
                    let y = b.min.y as i64 + gy as i64;
                    if x >= 0 && y >= 0 && (x as usize) < w && (y as usize) < h {
                        let m = &mut mask[y as usize * w + x as usize];
                        *m = (*m + c).min(1.0);
                    }
                });
            }
        }
    }
}

impl TextMeasure for FontSet {
    fn text_width(&self, text: &str, px: f32) -> f32 {
        self.layout_line(text, px).1
    }
}

/// Font files under `dirs` (recursively, at most 4 levels), in a stable order.
fn font_files(dirs: &[PathBuf]) -> Vec<PathBuf> {
    fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                if depth < 4 {
                    walk(&p, depth + 1, out);
                }
            } else if p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                matches!(
                    e.to_ascii_lowercase().as_str(),
                    "ttf" | "otf" | "ttc" | "otc"
                )
            }) {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    for d in dirs {
        walk(d, 0, &mut out);
    }
    out
}

/// Finds a face: files whose name carries the hint first, then every file.
fn find_face(files: &[PathBuf], want: &Want) -> Option<LoadedFont> {
    let hinted = files.iter().filter(|p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.contains(want.file_hint))
    });
    let others = files.iter().filter(|p| {
        !p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.contains(want.file_hint))
    });
    for path in hinted.chain(others) {
        let Ok(data) = std::fs::read(path) else {
            continue;
        };
        let count = ttf_parser::fonts_in_collection(&data).unwrap_or(1);
        for index in 0..count {
            let Ok(face) = ttf_parser::Face::parse(&data, index) else {
                continue;
            };
            if !face_matches(&face, want) {
                continue;
            }
            let family = want.family.to_string();
            if let Ok(font) = FontVec::try_from_vec_and_index(data, index) {
                return Some(LoadedFont {
                    family,
                    path: path.clone(),
                    index,
                    font,
                });
            }
            break;
        }
    }
    None
}

fn face_matches(face: &ttf_parser::Face, want: &Want) -> bool {
    use ttf_parser::name_id;
    let names: Vec<String> = face
        .names()
        .into_iter()
        .filter(|n| n.name_id == name_id::FAMILY || n.name_id == name_id::TYPOGRAPHIC_FAMILY)
        .filter_map(|n| n.to_string())
        .collect();
    let family_ok = names.iter().any(|n| n == want.family);
    family_ok && face.is_bold() == want.bold && !face.is_italic()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn have(lang: Language) -> Option<FontSet> {
        match FontSet::for_language_in(lang, &[]) {
            Ok(f) => Some(f),
            Err(e) => {
                eprintln!("SKIP: {e}");
                None
            }
        }
    }

    #[test]
    fn finds_faces_by_family_and_measures() {
        let Some(en) = have(Language::English) else {
            return;
        };
        assert_eq!(en.primary().family, "DejaVu Sans");
        let w1 = en.text_width("Hello", 64.0);
        let w2 = en.text_width("Hello world", 64.0);
        assert!(w1 > 100.0 && w2 > w1 * 1.8, "{w1} {w2}");
        let Some(tc) = have(Language::ChineseTraditional) else {
            return;
        };
        assert_eq!(tc.primary().family, "Noto Sans CJK TC");
        // A CJK character is one em wide.
        assert!((tc.text_width("灣", 60.0) - 60.0).abs() < 1.0);
        let sc = have(Language::ChineseSimplified).unwrap();
        assert_eq!(sc.primary().family, "Noto Sans CJK SC");
        assert_ne!(sc.primary().index, tc.primary().index);
    }
}
