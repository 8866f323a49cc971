//! Scripts: plain text or Markdown → scenes of sentences.
//!
//! Scene rules:
//! - a heading starts a new scene and becomes its title (shown, narrated and captioned);
//! - a thematic break (`---`) ends the current scene;
//! - each paragraph or list is one block; a scene holds at most one block after its
//!   title, so blank-line-separated paragraphs are separate scenes;
//! - a paragraph holding only an image (`![alt](path)`) opens a scene with that
//!   image (or gives the current scene its image if nothing was said yet in it);
//! - list items are sentences of their own; code is read as text; HTML is dropped.
//!
//! Markdown syntax never reaches the text: pulldown-cmark parses it away.

use std::path::{Path, PathBuf};

use pulldown_cmark::{Event, Parser, Tag, TagEnd};
use serde::{Deserialize, Serialize};

use crate::lang::Language;
use crate::{Error, Result};

/// Longest script accepted, in characters (about an hour of narration).
pub const MAX_SCRIPT_CHARS: usize = 60_000;

/// What a sentence is in the script's structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SentenceKind {
    /// The scene title (a heading).
    Title,
    /// Running text.
    Body,
    /// One list item.
    ListItem,
}

/// A sentence to narrate and caption, with Markdown removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sentence {
    /// The text as the script wrote it (numbers as written).
    pub text: String,
    /// Its role.
    pub kind: SentenceKind,
}

/// A scene: an optional title, sentences, an optional image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scene {
    /// Position in the script, from 0.
    pub index: usize,
    /// Heading text, if the scene has one (also the first sentence).
    pub title: Option<String>,
    /// Sentences in order; the title, if any, is the first.
    pub sentences: Vec<Sentence>,
    /// Image named in the script, resolved against the script's folder.
    pub image: Option<PathBuf>,
}

/// A parsed script.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Script {
    /// Scenes in script order.
    pub scenes: Vec<Scene>,
}

impl Script {
    /// All narrated text, sentences joined by newlines (used for language detection).
    pub fn plain_text(&self) -> String {
        let mut s = String::new();
        for sc in &self.scenes {
            for se in &sc.sentences {
                s.push_str(&se.text);
                s.push('\n');
            }
        }
        s
    }

    /// Reads and parses a script file; relative image paths resolve against its folder.
    pub fn from_file(path: &Path) -> Result<Script> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let what = path.display().to_string();
        let text = String::from_utf8(bytes).map_err(|_| Error::InvalidArgument {
            name: "script".into(),
            reason: format!("{what} is not UTF-8 text"),
        })?;
        Script::parse(&text, &what, path.parent())
    }

    /// Parses Markdown or plain text. `what` names the script in errors; `base`
    /// is the folder relative image paths resolve against.
    ///
    /// ```
    /// use voxreel::script::Script;
    /// let s = Script::parse("# Hello\n\nThis is **bold**. And _this_.\n\n---\n\n- one\n- two", "demo", None).unwrap();
    /// assert_eq!(s.scenes.len(), 2);
    /// assert_eq!(s.scenes[0].title.as_deref(), Some("Hello"));
    /// assert_eq!(s.scenes[0].sentences[1].text, "This is bold.");
    /// assert_eq!(s.scenes[1].sentences[1].text, "two");
    /// ```
    pub fn parse(text: &str, what: &str, base: Option<&Path>) -> Result<Script> {
        let chars = text.chars().count();
        if chars > MAX_SCRIPT_CHARS {
            return Err(Error::ScriptTooLong {
                what: what.into(),
                chars,
                limit: MAX_SCRIPT_CHARS,
            });
        }
        if text.trim().is_empty() {
            return Err(Error::EmptyScript { what: what.into() });
        }
        let mut b = Builder::default();
        let mut buf = String::new();
        let mut in_heading = false;
        let mut in_item_depth = 0usize;
        let mut in_image = false;
        let mut para_images: Vec<PathBuf> = Vec::new();
        for ev in Parser::new_ext(text, pulldown_cmark::Options::empty()) {
            match ev {
                Event::Start(Tag::Heading { .. }) => {
                    b.flush_block();
                    in_heading = true;
                    buf.clear();
                }
                Event::End(TagEnd::Heading(_)) => {
                    in_heading = false;
                    let t = clean(&buf);
                    buf.clear();
                    b.heading(t);
                }
                Event::Start(Tag::Paragraph) if in_item_depth == 0 => {
                    buf.clear();
                    para_images.clear();
                }
                Event::End(TagEnd::Paragraph) if in_item_depth == 0 => {
                    let t = clean(&buf);
                    buf.clear();
                    let images = std::mem::take(&mut para_images);
                    b.paragraph(t, images.into_iter().next().map(|p| resolve(p, base)));
                }
                Event::Start(Tag::List(_)) => {
                    if in_item_depth == 0 {
                        b.start_list();
                    }
                }
                Event::End(TagEnd::List(_)) => {
                    if in_item_depth == 0 {
                        b.end_list();
                    }
                }
                Event::Start(Tag::Item) => {
                    if in_item_depth > 0 {
                        // A nested list: finish the parent item's own text first.
                        let t = clean(&buf);
                        b.item(t);
                    }
                    buf.clear();
                    in_item_depth += 1;
                }
                Event::End(TagEnd::Item) => {
                    let t = clean(&buf);
                    buf.clear();
                    b.item(t);
                    in_item_depth -= 1;
                }
                Event::Start(Tag::Image { dest_url, .. }) => {
                    in_image = true;
                    para_images.push(PathBuf::from(dest_url.as_ref()));
                }
                Event::End(TagEnd::Image) => in_image = false,
                Event::Start(Tag::CodeBlock(_)) => {
                    b.flush_block();
                    buf.clear();
                }
                Event::End(TagEnd::CodeBlock) => {
                    let t = clean(&buf);
                    buf.clear();
                    b.paragraph(t, None);
                }
                Event::Rule => b.rule(),
                Event::Text(t) | Event::Code(t) if !in_image => buf.push_str(&t),
                Event::SoftBreak | Event::HardBreak => buf.push(' '),
                _ => {}
            }
            let _ = in_heading;
        }
        b.flush_block();
        b.finish_scene();
        if b.scenes.is_empty() {
            return Err(Error::NothingToNarrate { what: what.into() });
        }
        Ok(Script { scenes: b.scenes })
    }
}

fn resolve(p: PathBuf, base: Option<&Path>) -> PathBuf {
    match base {
        Some(b) if p.is_relative() => b.join(p),
        _ => p,
    }
}

/// Collapses whitespace and drops stray emphasis markers that Markdown left as text.
fn clean(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[derive(Default)]
struct Builder {
    scenes: Vec<Scene>,
    title: Option<String>,
    sentences: Vec<Sentence>,
    image: Option<PathBuf>,
    has_block: bool,
    in_list: bool,
}

impl Builder {
    fn finish_scene(&mut self) {
        if !self.sentences.is_empty() || self.title.is_some() {
            let index = self.scenes.len();
            self.scenes.push(Scene {
                index,
                title: self.title.take(),
                sentences: std::mem::take(&mut self.sentences),
                image: self.image.take(),
            });
        } else if self.image.is_some() && !self.scenes.is_empty() {
            // An image with nothing to say: give it to the scene before if that has none.
            let img = self.image.take();
            let last = self.scenes.last_mut().unwrap();
            if last.image.is_none() {
                last.image = img;
            }
        }
        self.image = None;
        self.has_block = false;
    }
    fn flush_block(&mut self) {}
    fn heading(&mut self, t: String) {
        self.finish_scene();
        if !t.is_empty() {
            self.title = Some(t.clone());
            self.sentences.push(Sentence {
                text: t,
                kind: SentenceKind::Title,
            });
        }
    }
    fn rule(&mut self) {
        self.finish_scene();
    }
    fn paragraph(&mut self, t: String, image: Option<PathBuf>) {
        if t.is_empty() {
            // An image-only paragraph opens a scene with that image.
            if let Some(img) = image {
                if self.has_block || self.image.is_some() {
                    self.finish_scene();
                }
                self.image = Some(img);
            }
            return;
        }
        if self.has_block {
            self.finish_scene();
        }
        if self.image.is_none() {
            self.image = image;
        }
        for s in split_sentences(&t) {
            self.sentences.push(Sentence {
                text: s,
                kind: SentenceKind::Body,
            });
        }
        self.has_block = true;
    }
    fn start_list(&mut self) {
        if self.has_block {
            self.finish_scene();
        }
        self.in_list = true;
    }
    fn end_list(&mut self) {
        self.in_list = false;
        self.has_block = true;
    }
    fn item(&mut self, t: String) {
        if !t.is_empty() {
            self.sentences.push(Sentence {
                text: t,
                kind: SentenceKind::ListItem,
            });
        }
    }
}

/// Splits running text into sentences: after `.`, `!`, `?` followed by a space
/// (not after common abbreviations or single initials), and after `。！？`
/// (with any closing quotes that follow).
///
/// ```
/// use voxreel::script::split_sentences;
/// assert_eq!(split_sentences("Dr. Lee paid $3.50. Then he left!"), ["Dr. Lee paid $3.50.", "Then he left!"]);
/// assert_eq!(split_sentences("你好。「真的嗎？」他說。"), ["你好。", "「真的嗎？」", "他說。"]);
/// ```
pub fn split_sentences(text: &str) -> Vec<String> {
    const ABBREV: [&str; 18] = [
        "mr.", "mrs.", "ms.", "dr.", "prof.", "st.", "vs.", "etc.", "e.g.", "i.e.", "jr.", "sr.",
        "no.", "fig.", "inc.", "ltd.", "mt.", "approx.",
    ];
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        cur.push(c);
        let cjk_end = matches!(c, '。' | '！' | '？');
        let latin_end = matches!(c, '.' | '!' | '?');
        if cjk_end || latin_end {
            // Take closing quotes/brackets and repeated marks with the sentence.
            while i + 1 < chars.len() && ("」』”’\")）!?！？。".contains(chars[i + 1])) {
                i += 1;
                cur.push(chars[i]);
            }
            let at_end = i + 1 >= chars.len();
            let followed_by_space = !at_end && chars[i + 1].is_whitespace();
            let split = if cjk_end {
                true
            } else if at_end || followed_by_space {
                let last_word = cur.split_whitespace().last().unwrap_or("").to_lowercase();
                let last_word = last_word.trim_start_matches(|c: char| !c.is_alphanumeric());
                let is_abbrev = ABBREV.contains(&last_word)
                    || (last_word.len() == 2
                        && last_word.chars().next().is_some_and(|c| c.is_alphabetic())
                        && c == '.');
                !is_abbrev
            } else {
                false
            };
            if split {
                let s = cur.trim().to_string();
                if !s.is_empty() {
                    out.push(s);
                }
                cur.clear();
            }
        }
        i += 1;
    }
    let s = cur.trim().to_string();
    if !s.is_empty() {
        out.push(s);
    }
    out
}

/// The language conventions of a script, resolved once.
pub fn detect_language(script: &Script) -> Language {
    Language::detect(&script.plain_text())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_never_reaches_text() {
        let md = "# The *Title*\n\nSome **bold** and _italic_ words.\n\n---\n\n## Second\n\n- first item\n- second **item**\n\n***\n\nPlain paragraph.\n\nAnother one.";
        let s = Script::parse(md, "t", None).unwrap();
        let all = s.plain_text();
        for bad in ["#", "**", "_", "---", "***", "- "] {
            assert!(!all.contains(bad), "{bad:?} leaked into {all:?}");
        }
        assert_eq!(s.scenes.len(), 4);
        assert_eq!(s.scenes[0].title.as_deref(), Some("The Title"));
        assert_eq!(s.scenes[1].sentences.len(), 3);
        assert_eq!(s.scenes[1].sentences[2].text, "second item");
        assert_eq!(s.scenes[1].sentences[2].kind, SentenceKind::ListItem);
        assert_eq!(s.scenes[2].sentences[0].text, "Plain paragraph.");
        assert_eq!(s.scenes[3].sentences[0].text, "Another one.");
    }

    #[test]
    fn empty_and_rules_only() {
        assert!(matches!(
            Script::parse("  \n\n", "x", None),
            Err(Error::EmptyScript { .. })
        ));
        assert!(matches!(
            Script::parse("---\n\n***\n\n---\n", "x", None),
            Err(Error::NothingToNarrate { .. })
        ));
        assert!(matches!(
            Script::parse("#\n\n---\n", "x", None),
            Err(Error::NothingToNarrate { .. })
        ));
    }

    #[test]
    fn images_attach_to_scenes() {
        let md = "![](a.png)\n\nFirst.\n\n![](b.png)\n\nSecond.\n\nThird ![x](c.jpg) here.";
        let s = Script::parse(md, "t", Some(Path::new("/base"))).unwrap();
        assert_eq!(s.scenes.len(), 3);
        assert_eq!(s.scenes[0].image.as_deref(), Some(Path::new("/base/a.png")));
        assert_eq!(s.scenes[1].image.as_deref(), Some(Path::new("/base/b.png")));
        assert_eq!(s.scenes[2].image.as_deref(), Some(Path::new("/base/c.jpg")));
        assert_eq!(s.scenes[2].sentences[0].text, "Third here.");
    }

    #[test]
    fn chinese_paragraphs() {
        let s = Script::parse("# 標題\n\n第一句。第二句！\n\n第三段。", "t", None).unwrap();
        assert_eq!(s.scenes.len(), 2);
        assert_eq!(s.scenes[0].sentences.len(), 3);
    }
}
