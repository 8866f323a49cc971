//! Frames: backgrounds, scene images, titles and burned-in captions.

pub mod fonts;
