//! Audio: decoding (symphonia), mixing to mono, band-limited resampling, WAV output
//! (hound) and loudness (EBU R128).
//!
//! Decoding accepts WAV, MP3, FLAC and OGG/Vorbis, mixes every channel to mono
//! and keeps the file's sample rate. MP3 is decoded gapless: the encoder delay
//! and padding recorded in the LAME/Xing header are removed, so the decoded
//! length equals the length of the audio that was encoded.

pub mod continuity;
pub mod eq;
pub mod loudness;
pub mod mix;

use std::io::Cursor;
use std::path::Path;

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{DecoderOptions, CODEC_TYPE_NULL};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use crate::{Error, Result};

/// Longest input accepted by the decoder, in seconds (two hours); longer files are refused
/// before their samples are held in memory.
pub const MAX_DECODE_S: f64 = 7200.0;
/// Largest input file accepted, in bytes (2 GiB).
pub const MAX_FILE_BYTES: u64 = 2 << 30;

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
        Self {
            samples,
            sample_rate,
        }
    }
    /// Duration in seconds.
    pub fn duration_s(&self) -> f64 {
        if self.sample_rate == 0 {
            0.0
        } else {
            self.samples.len() as f64 / self.sample_rate as f64
        }
    }
    /// The samples between two times (clamped to the audio).
    pub fn slice_s(&self, start_s: f64, end_s: f64) -> &[f32] {
        let sr = self.sample_rate as f64;
        let a = ((start_s.max(0.0) * sr) as usize).min(self.samples.len());
        let b = ((end_s.max(0.0) * sr) as usize).clamp(a, self.samples.len());
        &self.samples[a..b]
    }
    /// Checks that the audio has samples, a sample rate, and only finite values.
    pub fn validate(&self, what: &str) -> Result<()> {
        if self.sample_rate == 0 {
            return Err(Error::InvalidArgument {
                name: "sample rate".into(),
                reason: format!("{what} has a sample rate of 0"),
            });
        }
        if self.samples.is_empty() {
            return Err(Error::EmptyAudio { what: what.into() });
        }
        let count = self.samples.iter().filter(|x| !x.is_finite()).count();
        if count > 0 {
            return Err(Error::InvalidSamples {
                what: what.into(),
                count,
            });
        }
        Ok(())
    }
    /// Peak absolute sample value.
    pub fn peak(&self) -> f32 {
        self.samples.iter().fold(0.0f32, |m, x| m.max(x.abs()))
    }
}

/// Decodes an audio file (WAV, MP3, FLAC, OGG/Vorbis) to mono at its own sample rate.
///
/// Errors: [`Error::FileNotFound`], [`Error::NotAudio`] for anything that is not
/// decodable audio, [`Error::EmptyAudio`] for a file without samples,
/// [`Error::AudioTooLong`] past [`MAX_DECODE_S`].
pub fn decode_file(path: &Path) -> Result<Audio> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    let what = path.display().to_string();
    if meta.is_dir() {
        return Err(Error::NotAudio {
            what,
            reason: "it is a folder".into(),
        });
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(Error::InvalidArgument {
            name: "audio file".into(),
            reason: format!(
                "{what} is {} bytes; the limit is {MAX_FILE_BYTES}",
                meta.len()
            ),
        });
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase());
    decode_bytes(bytes, ext.as_deref(), &what)
}

/// Decodes audio held in memory. `ext` is a file-extension hint (`"mp3"`); `what`
/// names the input in errors.
///
/// ```
/// // A 0.1 s WAV made in memory decodes to 1600 samples at 16 kHz.
/// let mut buf = std::io::Cursor::new(Vec::new());
/// let spec = hound::WavSpec { channels: 1, sample_rate: 16000, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
/// let mut w = hound::WavWriter::new(&mut buf, spec).unwrap();
/// for i in 0..1600 { w.write_sample(((i as f32 * 0.1).sin() * 10000.0) as i16).unwrap(); }
/// w.finalize().unwrap();
/// let a = voxreel::audio::decode_bytes(buf.into_inner(), Some("wav"), "tone").unwrap();
/// assert_eq!((a.samples.len(), a.sample_rate), (1600, 16000));
/// ```
pub fn decode_bytes(bytes: Vec<u8>, ext: Option<&str>, what: &str) -> Result<Audio> {
    if bytes.is_empty() {
        return Err(Error::EmptyAudio { what: what.into() });
    }
    let not_audio = |reason: String| Error::NotAudio {
        what: what.into(),
        reason,
    };
    let mss = MediaSourceStream::new(
        Box::new(Cursor::new(bytes)),
        MediaSourceStreamOptions::default(),
    );
    let mut hint = Hint::new();
    if let Some(e) = ext {
        hint.with_extension(e);
    }
    let fmt_opts = FormatOptions {
        enable_gapless: true,
        ..Default::default()
    };
    let probed = symphonia::default::get_probe()
        .format(&hint, mss, &fmt_opts, &MetadataOptions::default())
        .map_err(|e| not_audio(sym_reason(&e)))?;
    let mut format = probed.format;
    let track = format
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        .ok_or_else(|| not_audio("no audio track".into()))?;
    let track_id = track.id;
    let params = track.codec_params.clone();
    let mut decoder = symphonia::default::get_codecs()
        .make(&params, &DecoderOptions::default())
        .map_err(|e| not_audio(sym_reason(&e)))?;
    let mut rate = params.sample_rate.unwrap_or(0);
    let mut mono: Vec<f32> = Vec::new();
    let mut buf: Option<SampleBuffer<f32>> = None;
    let mut decoded_any = false;
    loop {
        let packet = match format.next_packet() {
            Ok(p) => p,
            Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(SymError::ResetRequired) => break,
            Err(e) => {
                if decoded_any {
                    break; // a truncated tail: keep what decoded
                }
                return Err(not_audio(sym_reason(&e)));
            }
        };
        if packet.track_id() != track_id {
            continue;
        }
        let decoded = match decoder.decode(&packet) {
            Ok(d) => d,
            Err(SymError::DecodeError(_)) => continue, // a damaged packet: skip it
            Err(e) => return Err(not_audio(sym_reason(&e))),
        };
        decoded_any = true;
        let spec = *decoded.spec();
        if rate == 0 {
            rate = spec.rate;
        }
        let channels = spec.channels.count().max(1);
        let frames = decoded.frames();
        if frames == 0 {
            continue;
        }
        let sb = match &mut buf {
            Some(b) if b.capacity() >= frames * channels => b,
            _ => buf.insert(SampleBuffer::<f32>::new(decoded.capacity() as u64, spec)),
        };
        sb.copy_interleaved_ref(decoded);
        let inv = 1.0 / channels as f32;
        mono.extend(
            sb.samples()
                .chunks_exact(channels)
                .map(|f| f.iter().sum::<f32>() * inv),
        );
        if rate > 0 && mono.len() as f64 > MAX_DECODE_S * rate as f64 {
            return Err(Error::AudioTooLong {
                what: what.into(),
                seconds: mono.len() as f64 / rate as f64,
                limit_s: MAX_DECODE_S,
            });
        }
    }
    if !decoded_any && mono.is_empty() {
        return Err(Error::EmptyAudio { what: what.into() });
    }
    if rate == 0 {
        return Err(not_audio("no sample rate".into()));
    }
    if mono.is_empty() {
        return Err(Error::EmptyAudio { what: what.into() });
    }
    let audio = Audio::new(mono, rate);
    audio.validate(what)?;
    Ok(audio)
}

fn sym_reason(e: &SymError) -> String {
    match e {
        SymError::Unsupported(s) => format!("unsupported format or codec ({s})"),
        SymError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            "the data ends before any audio".into()
        }
        other => other.to_string(),
    }
}

/// Zero crossings of the resampling kernel on each side of its centre.
const SINC_ZERO_CROSSINGS: usize = 32;
/// Kaiser window shape of the resampling kernel (about 90 dB stop-band attenuation).
const KAISER_BETA: f64 = 8.6;
/// Pass band as a share of the lower Nyquist frequency.
const PASSBAND: f64 = 0.94;
/// Most kernel phases kept in a table; rarer ratios compute the kernel per sample.
const MAX_PHASES: u64 = 4096;

/// Resamples to `rate` with a band-limited windowed-sinc (Kaiser) interpolator.
///
/// The kernel is symmetric and centred on each output instant, so the output
/// has no delay and no fractional phase shift; it has `round(len · rate / input
/// rate)` samples. Cut-off: 94 % of the lower Nyquist frequency, about 90 dB
/// stop-band attenuation. Work is spread over threads (rayon).
///
/// ```
/// use voxreel::audio::{resample, Audio};
/// let a = Audio::new(vec![0.0; 22050], 22050);
/// let b = resample(&a, 48000).unwrap();
/// assert_eq!((b.samples.len(), b.sample_rate), (48000, 48000));
/// ```
pub fn resample(audio: &Audio, rate: u32) -> Result<Audio> {
    use rayon::prelude::*;
    if rate == 0 || audio.sample_rate == 0 {
        return Err(Error::InvalidArgument {
            name: "sample rate".into(),
            reason: "must be above 0".into(),
        });
    }
    if rate == audio.sample_rate {
        return Ok(audio.clone());
    }
    let (from, to) = (audio.sample_rate as u64, rate as u64);
    let g = gcd(from, to);
    let (up, down) = (to / g, from / g); // output instant j sits at input position j·down/up
    let want = (audio.samples.len() as f64 * to as f64 / from as f64).round() as usize;
    let fc = PASSBAND * (to as f64 / from as f64).min(1.0); // cut-off, cycles per input sample × 2
    let half = SINC_ZERO_CROSSINGS as f64 / fc; // kernel half-width in input samples
    let taps = 2 * half.ceil() as usize + 1;
    let kernel = |frac: f64, out: &mut [f32]| {
        // Tap k (0..taps) weighs input sample floor(t) - (taps/2) + k; frac = t - floor(t).
        let c = (taps / 2) as f64;
        for (k, o) in out.iter_mut().enumerate() {
            let u = k as f64 - c - frac;
            *o = if u.abs() >= half {
                0.0
            } else {
                (fc * sinc(fc * u) * kaiser(u / half, KAISER_BETA)) as f32
            };
        }
    };
    let table: Option<Vec<f32>> = (up <= MAX_PHASES).then(|| {
        let mut t = vec![0.0f32; up as usize * taps];
        for p in 0..up as usize {
            kernel(p as f64 / up as f64, &mut t[p * taps..(p + 1) * taps]);
        }
        t
    });
    let x = &audio.samples;
    let n = x.len() as i64;
    let mut out = vec![0.0f32; want];
    out.par_chunks_mut(4096)
        .enumerate()
        .for_each(|(ci, chunk)| {
            let mut scratch = vec![0.0f32; taps];
            for (jj, o) in chunk.iter_mut().enumerate() {
                let j = (ci * 4096 + jj) as u64;
                let pos = j * down; // input position × up
                let base = (pos / up) as i64 - (taps / 2) as i64;
                let phase = (pos % up) as usize;
                let h: &[f32] = match &table {
                    Some(t) => &t[phase * taps..(phase + 1) * taps],
                    None => {
                        kernel(phase as f64 / up as f64, &mut scratch);
                        &scratch
                    }
                };
                let (k0, k1) = (
                    (-base).max(0) as usize,
                    ((n - base).min(taps as i64)).max(0) as usize,
                );
                let mut acc = 0.0f32;
                for k in k0..k1 {
                    acc += h[k] * x[(base + k as i64) as usize];
                }
                *o = acc;
            }
        });
    Ok(Audio::new(out, rate))
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

fn sinc(x: f64) -> f64 {
    if x.abs() < 1e-12 {
        1.0
    } else {
        let px = std::f64::consts::PI * x;
        px.sin() / px
    }
}

/// Kaiser window at `x` in [-1, 1].
fn kaiser(x: f64, beta: f64) -> f64 {
    bessel_i0(beta * (1.0 - x * x).max(0.0).sqrt()) / bessel_i0(beta)
}

/// Modified Bessel function of the first kind, order 0 (power series).
fn bessel_i0(x: f64) -> f64 {
    let (mut sum, mut term, q) = (1.0f64, 1.0f64, x * x / 4.0);
    for k in 1..64 {
        term *= q / (k * k) as f64;
        sum += term;
        if term < sum * 1e-17 {
            break;
        }
    }
    sum
}

/// Writes 16-bit mono PCM WAV (samples clamped to [-1, 1]).
pub fn write_wav(path: &Path, audio: &Audio) -> Result<()> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: audio.sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let io = |e: hound::Error| match e {
        hound::Error::IoError(e) => Error::io(path, e),
        other => Error::Io {
            path: path.into(),
            source: std::io::Error::other(other.to_string()),
        },
    };
    let mut w = hound::WavWriter::create(path, spec).map_err(io)?;
    for &s in &audio.samples {
        w.write_sample((s.clamp(-1.0, 1.0) * 32767.0).round() as i16)
            .map_err(io)?;
    }
    w.finalize().map_err(io)
}

/// Level in dBFS of an amplitude (−inf for 0).
pub fn db(amplitude: f64) -> f64 {
    20.0 * amplitude.max(1e-12).log10()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f32, rate: u32, secs: f32) -> Audio {
        let n = (rate as f32 * secs) as usize;
        Audio::new(
            (0..n)
                .map(|i| (2.0 * std::f32::consts::PI * freq * i as f32 / rate as f32).sin() * 0.5)
                .collect(),
            rate,
        )
    }

    #[test]
    fn resample_keeps_tone_and_length() {
        for (from, to) in [
            (16000, 48000),
            (22050, 48000),
            (48000, 16000),
            (24000, 48000),
            (44100, 16000),
            (44100, 48000),
        ] {
            let a = sine(440.0, from, 1.3);
            let b = resample(&a, to).unwrap();
            assert_eq!(
                b.samples.len(),
                (a.samples.len() as f64 * to as f64 / from as f64).round() as usize
            );
            // Phase stays aligned (no delay): compare with the ideal tone in the middle.
            let mid = b.samples.len() / 2;
            let err: f32 = (mid..mid + 500)
                .map(|i| {
                    (b.samples[i]
                        - (2.0 * std::f32::consts::PI * 440.0 * i as f32 / to as f32).sin() * 0.5)
                        .abs()
                })
                .fold(0.0, f32::max);
            assert!(err < 0.002, "{from}->{to}: max error {err}");
        }
    }

    #[test]
    fn resample_rejects_what_would_alias() {
        // 10 kHz at 48 kHz would fold to 6 kHz at 16 kHz: it must be filtered out.
        let b = resample(&sine(10_000.0, 48000, 1.0), 16000).unwrap();
        let mid = &b.samples[2000..14000];
        let rms = (mid.iter().map(|x| x * x).sum::<f32>() / mid.len() as f32).sqrt();
        assert!(rms < 0.5 * 1e-3, "alias rms {rms}");
        // 7 kHz is inside the pass band and kept.
        let c = resample(&sine(7_000.0, 48000, 1.0), 16000).unwrap();
        let peak = c.samples[2000..14000]
            .iter()
            .fold(0.0f32, |m, x| m.max(x.abs()));
        assert!((peak - 0.5).abs() < 0.01, "pass-band peak {peak}");
    }

    #[test]
    fn garbage_is_not_audio_and_empty_is_empty() {
        let e = decode_bytes(
            b"hello, this is plainly text and not a RIFF file".repeat(20),
            Some("wav"),
            "t",
        )
        .unwrap_err();
        assert!(matches!(e, Error::NotAudio { .. }), "{e:?}");
        let e = decode_bytes(Vec::new(), Some("wav"), "t").unwrap_err();
        assert!(matches!(e, Error::EmptyAudio { .. }), "{e:?}");
    }

    #[test]
    fn validate_finds_nan() {
        let a = Audio::new(vec![0.0, f32::NAN, 1.0], 16000);
        assert!(matches!(
            a.validate("x"),
            Err(Error::InvalidSamples { count: 1, .. })
        ));
    }
}
