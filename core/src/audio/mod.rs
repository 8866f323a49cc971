//! Audio: decoding (symphonia), mixing to mono, resampling (rubato), WAV output
//! (hound) and loudness (EBU R128).

pub mod loudness;

/// Mono audio as 32-bit float samples in [-1, 1].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Audio {
    /// The samples, one channel.
    pub samples: Vec<f32>,
    /// Samples per second.
    pub sample_rate: u32,
}

impl Audio {
    /// Wraps samples.
    pub fn new(samples: Vec<f32>, sample_rate: u32) -> Self {
        Self { samples, sample_rate }
    }
    /// Duration in seconds.
    pub fn duration_s(&self) -> f64 {
        if self.sample_rate == 0 {
            0.0
        } else {
            self.samples.len() as f64 / self.sample_rate as f64
        }
    }
}
