//! An inaudible watermark for synthetic speech, with a 48-bit payload (voice id, time).
//!
//! Every clip voxreel speaks carries it, so that anyone can check with `voxreel detect`
//! that a recording is synthetic and which voice profile made it, and when.
//!
//! # How it works
//! Everything happens at [`RATE`] (16 kHz; the input is resampled for analysis, and the
//! watermark is resampled back to the input's rate and added to it, so the input's own
//! samples are untouched outside the watermark).
//!
//! - **Tiles.** An STFT (512-point sqrt-Hann window, hop 256 = 16 ms) is cut into tiles of
//!   4 bins × 4 frames (125 Hz × 64 ms) over [`BAND_LO_HZ`]–[`BAND_HI_HZ`] (52 bands, below
//!   the 7 kHz an MP3 at 16 kHz keeps). 32 columns of tiles (2.048 s) make one *period*
//!   (1664 tiles); the period repeats over the whole clip.
//! - **Embedding.** Each tile of the period has a keyed pseudo-random sign (its *chip*) and a
//!   role: 560 tiles carry the 140 coded bits (4 tiles each, scattered over the period), the
//!   other 1104 a fixed *sync* pattern. A tile's spectrum is multiplied by `exp(±g)`; the
//!   sign is chip × (sync: +1, data: the coded bit as ±1), and g is [`STRENGTH`] (±1.3 dB).
//!   The change is proportional to the speech in that tile, so it follows the spectral and
//!   temporal envelope (masking) and adds nothing in pauses. Data tiles are then corrected
//!   where the speech itself points the other way (informed embedding, up to [`MAX_GAIN`]):
//!   the embedder reads the marked audio back as the detector does and adds what is missing.
//! - **Payload.** 22-bit voice id + 26-bit minutes since 2024-01-01 UTC, a CRC-16, and a
//!   rate-½ convolutional code (K = 7, generators 133/171 octal, zero tail): 140 coded bits.
//! - **Detection.** Tile means of the log-magnitude spectrum, minus the mean of the
//!   neighbouring bands (which removes the spectral envelope and any gain), weighted by the
//!   clip's own per-band and per-column variance, are folded over the period. For each of
//!   256 alignments (2 half-hop shifts × 4 frame offsets × 32 column offsets) the sync
//!   statistic is `z = Σ chip·F / √(Σ F²)` over the sync tiles. For audio that carries no
//!   watermark, the chips are independent of the audio, so by Hoeffding's inequality for
//!   Rademacher sums `P(z ≥ t) ≤ exp(−t²/2)` for each alignment; over all 256,
//!   `P(max z ≥ 6) ≤ 256·e⁻¹⁸ ≈ 3.9·10⁻⁶`. The data tiles of the alignments that pass (best
//!   first, at most 8) give soft bits for a Viterbi decoder, and the payload must also pass
//!   its CRC-16 (data chips are independent of sync chips: another factor 2⁻¹⁶, so a false
//!   detection has probability ≤ 6·10⁻¹¹ per clip). Detection needs both.
//!
//! Level changes, resampling, lossy codecs (AAC, MP3 at 128 kbit/s) and container changes
//! keep the pattern: it lives in the relative levels of neighbouring 125 Hz bands.

use std::path::Path;
use std::sync::OnceLock;

use realfft::num_complex::Complex32;
use realfft::RealFftPlanner;

use crate::audio::{self, Audio};
use crate::voice::VoiceProfile;
use crate::{Error, Result};

/// The rate at which the watermark is made and read.
pub const RATE: u32 = 16_000;
/// FFT length (32 ms at 16 kHz).
const N: usize = 512;
/// Hop between frames (16 ms).
const HOP: usize = N / 2;
/// First FFT bin of the watermark band (375 Hz).
const BIN_LO: usize = 12;
/// Bins per band (125 Hz).
const BAND_BINS: usize = 4;
/// Bands in the watermark band (up to 6875 Hz).
const BANDS: usize = 52;
/// Lowest frequency carrying the watermark.
pub const BAND_LO_HZ: f64 = BIN_LO as f64 * RATE as f64 / N as f64;
/// Highest frequency carrying the watermark.
pub const BAND_HI_HZ: f64 = (BIN_LO + BANDS * BAND_BINS) as f64 * RATE as f64 / N as f64;
/// Frames per tile column (64 ms).
const COL_FRAMES: usize = 4;
/// Columns per period (2.048 s).
const PERIOD: usize = 32;
/// Tiles per period.
const TILES: usize = BANDS * PERIOD;
/// Tiles per coded bit.
const TILES_PER_BIT: usize = 4;
/// Tiles carrying the sync pattern: all the others.
const SYNC_TILES: usize = TILES - CODED_BITS * TILES_PER_BIT;
/// Payload bits: 22-bit voice id + 26-bit time.
const PAYLOAD_BITS: usize = 48;
const ID_BITS: u32 = 22;
const TIME_BITS: u32 = 26;
/// Payload + CRC-16.
const INFO_BITS: usize = PAYLOAD_BITS + 16;
/// Convolutional code: constraint length 7, rate 1/2, zero tail.
const K: usize = 7;
const G: [u32; 2] = [0o133, 0o171];
const CODED_BITS: usize = 2 * (INFO_BITS + K - 1);
/// Log-amplitude change of a tile (±1.3 dB).
pub const STRENGTH: f32 = 0.15;
/// Per-tile margin (log-amplitude) by which the data tiles of a period must carry their bit.
pub const DATA_MARGIN: f64 = 0.12;
/// Largest log-amplitude change of a tile (±3.5 dB).
pub const MAX_GAIN: f32 = 0.4;
/// Sync statistic a watermark must reach (see the module docs for the false-alarm bound).
pub const THRESHOLD: f64 = 6.0;
/// Alignments tried by the detector (2 half-hop shifts × 4 frame offsets × 32 columns).
pub const ALIGNMENTS: usize = 2 * COL_FRAMES * PERIOD;
/// The key of the pattern.
const KEY: u64 = 0x766f_7872_6565_6c31; // "voxreel1"
/// 2024-01-01T00:00:00Z, the origin of the payload's time.
const EPOCH_UNIX_S: i64 = 1_704_067_200;
/// Shortest audio the detector reads, in seconds.
pub const MIN_DETECT_S: f64 = 0.5;
/// Frames quieter than this (relative to the loud frames of the clip, in dB) are ignored.
const ACTIVE_DB: f64 = -45.0;

/// What the watermark says: which voice profile, and when (to the minute).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Payload {
    /// Voice id: the first 22 bits of the SHA-256 of the voice profile (see [`voice_id`]).
    pub voice_id: u32,
    /// Minutes since 2024-01-01T00:00Z (26 bits, up to the year 2151).
    pub minutes: u32,
}

impl Payload {
    /// A payload for `voice_id` (its low 22 bits) at `unix_s` (seconds since 1970, UTC;
    /// clamped to 2024-01-01 … 2151).
    pub fn new(voice_id: u32, unix_s: i64) -> Payload {
        let minutes = ((unix_s - EPOCH_UNIX_S) / 60).clamp(0, (1 << TIME_BITS) - 1) as u32;
        Payload {
            voice_id: voice_id & ((1 << ID_BITS) - 1),
            minutes,
        }
    }

    /// The payload for a voice profile, now.
    pub fn for_voice_now(voice: &VoiceProfile) -> Payload {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        Payload::new(voice_id(voice), now)
    }

    /// The time, in seconds since 1970 UTC.
    pub fn unix_s(&self) -> i64 {
        EPOCH_UNIX_S + self.minutes as i64 * 60
    }

    fn to_bits(self) -> [u8; PAYLOAD_BITS] {
        let v = ((self.voice_id as u64) << TIME_BITS) | self.minutes as u64;
        std::array::from_fn(|i| ((v >> (PAYLOAD_BITS - 1 - i)) & 1) as u8)
    }

    fn from_bits(bits: &[u8]) -> Payload {
        let v = bits[..PAYLOAD_BITS]
            .iter()
            .fold(0u64, |a, &b| (a << 1) | b as u64);
        Payload {
            voice_id: (v >> TIME_BITS) as u32,
            minutes: (v & ((1 << TIME_BITS) - 1)) as u32,
        }
    }
}

/// `voice:3fa2c1 time:2025-06-01T12:34Z`: the voice id in hex, the time in UTC.
impl std::fmt::Display for Payload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.unix_s();
        let (y, m, d) = civil_from_days(s.div_euclid(86_400));
        let sod = s.rem_euclid(86_400);
        write!(
            f,
            "voice:{:06x} time:{y:04}-{m:02}-{d:02}T{:02}:{:02}Z",
            self.voice_id,
            sod / 3600,
            sod % 3600 / 60
        )
    }
}

/// Serialised as its text (`"voice:3fa2c1 time:2025-06-01T12:34Z"`).
impl serde::Serialize for Payload {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Year, month, day of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The voice id of a profile: the first 22 bits of the SHA-256 of its JSON form, so the
/// same profile (or the same reference recording enrolled again) always has the same id.
pub fn voice_id(voice: &VoiceProfile) -> u32 {
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(voice.to_json().as_bytes());
    (u32::from_be_bytes([h[0], h[1], h[2], h[3]]) >> (32 - ID_BITS)) & ((1 << ID_BITS) - 1)
}

/// What [`detect`] found.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Detection {
    /// Whether a watermark is present (sync statistic at or above [`THRESHOLD`] and a
    /// payload that passes its CRC).
    pub detected: bool,
    /// The sync statistic of the best alignment, in standard deviations of chance
    /// (audio without a watermark stays below about 4).
    pub confidence: f64,
    /// The payload, when detected.
    pub payload: Option<Payload>,
    /// Seconds of audio loud enough to read.
    pub active_s: f64,
}

/// The role of each tile of a period: `Some(i)` carries coded bit `i`, `None` sync; and
/// its chip (±1).
struct Layout {
    role: Vec<Option<u16>>,
    chip: Vec<f32>,
    /// Sync tiles (indices into the period, `band * PERIOD + column`).
    sync: Vec<usize>,
    /// Data tiles of each coded bit.
    data: Vec<Vec<usize>>,
}

fn layout() -> &'static Layout {
    static L: OnceLock<Layout> = OnceLock::new();
    L.get_or_init(|| {
        let mut rng = SplitMix(KEY);
        // A keyed shuffle of the tiles: the first SYNC_TILES are sync, then data bits in turn.
        let mut order: Vec<usize> = (0..TILES).collect();
        for i in (1..TILES).rev() {
            let j = (rng.next() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        let mut role = vec![None; TILES];
        let mut data = vec![Vec::new(); CODED_BITS];
        let mut sync = Vec::new();
        for (k, &t) in order.iter().enumerate() {
            if k < SYNC_TILES {
                sync.push(t);
            } else if k - SYNC_TILES < CODED_BITS * TILES_PER_BIT {
                let bit = (k - SYNC_TILES) % CODED_BITS;
                role[t] = Some(bit as u16);
                data[bit].push(t);
            } else {
                sync.push(t); // the remainder also syncs
            }
        }
        let chip = (0..TILES)
            .map(|_| if rng.next() >> 63 == 1 { 1.0 } else { -1.0 })
            .collect();
        Layout {
            role,
            chip,
            sync,
            data,
        }
    })
}

/// SplitMix64, the keyed generator of the pattern.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// CRC-16/CCITT-FALSE over bits.
fn crc16(bits: &[u8]) -> u16 {
    let mut crc: u16 = 0xffff;
    for &b in bits {
        let top = ((crc >> 15) as u8) ^ b;
        crc <<= 1;
        if top & 1 == 1 {
            crc ^= 0x1021;
        }
    }
    crc
}

fn parity(x: u32) -> u8 {
    (x.count_ones() & 1) as u8
}

/// Payload + CRC, convolutionally encoded.
fn encode(payload: &Payload) -> Vec<u8> {
    let mut info: Vec<u8> = payload.to_bits().to_vec();
    let crc = crc16(&info);
    info.extend((0..16).map(|i| ((crc >> (15 - i)) & 1) as u8));
    info.extend(std::iter::repeat_n(0u8, K - 1));
    let mut state = 0u32; // the last K-1 input bits, newest in the top bit
    let mut out = Vec::with_capacity(CODED_BITS);
    for &u in &info {
        let reg = ((u as u32) << (K - 1)) | state;
        out.push(parity(reg & G[0]));
        out.push(parity(reg & G[1]));
        state = reg >> 1;
    }
    out
}

/// Soft-decision Viterbi decoding (`soft[i] > 0` means coded bit 1), then the CRC check.
fn decode(soft: &[f64]) -> Option<Payload> {
    const S: usize = 1 << (K - 1);
    let steps = INFO_BITS + K - 1;
    let mut metric = vec![f64::NEG_INFINITY; S];
    metric[0] = 0.0;
    let mut prev = vec![[0u8; S]; steps];
    for (k, p) in prev.iter_mut().enumerate() {
        let mut next = vec![f64::NEG_INFINITY; S];
        let inputs: &[u32] = if k < INFO_BITS { &[0, 1] } else { &[0] };
        for (s, &m) in metric.iter().enumerate() {
            if m == f64::NEG_INFINITY {
                continue;
            }
            for &u in inputs {
                let reg = (u << (K - 1)) | s as u32;
                let o0 = parity(reg & G[0]) as f64 * 2.0 - 1.0;
                let o1 = parity(reg & G[1]) as f64 * 2.0 - 1.0;
                let ns = (reg >> 1) as usize;
                let cand = m + soft[2 * k] * o0 + soft[2 * k + 1] * o1;
                if cand > next[ns] {
                    next[ns] = cand;
                    p[ns] = s as u8;
                }
            }
        }
        metric = next;
    }
    let mut state = 0usize;
    let mut bits = vec![0u8; steps];
    for k in (0..steps).rev() {
        bits[k] = (state >> (K - 2)) as u8 & 1;
        state = prev[k][state] as usize;
    }
    let info = &bits[..INFO_BITS];
    let crc = info[PAYLOAD_BITS..]
        .iter()
        .fold(0u16, |a, &b| (a << 1) | b as u16);
    (crc16(&info[..PAYLOAD_BITS]) == crc).then(|| Payload::from_bits(info))
}

/// sqrt-Hann (periodic) window: its square sums to 1 at 50 % overlap.
fn window() -> &'static [f32] {
    static W: OnceLock<Vec<f32>> = OnceLock::new();
    W.get_or_init(|| {
        (0..N)
            .map(|i| (std::f64::consts::PI * i as f64 / N as f64).sin() as f32)
            .collect()
    })
}

fn to_rate(samples: &[f32], from: u32, to: u32) -> Result<Vec<f32>> {
    if from == to {
        return Ok(samples.to_vec());
    }
    Ok(audio::resample(&Audio::new(samples.to_vec(), from), to)?.samples)
}

fn check_input(samples: &[f32], rate: u32) -> Result<()> {
    if rate == 0 {
        return Err(Error::InvalidArgument {
            name: "sample rate".into(),
            reason: "audio has a sample rate of 0".into(),
        });
    }
    if samples.is_empty() {
        return Err(Error::EmptyAudio {
            what: "audio".into(),
        });
    }
    let count = samples.iter().filter(|x| !x.is_finite()).count();
    if count > 0 {
        return Err(Error::InvalidSamples {
            what: "audio".into(),
            count,
        });
    }
    Ok(())
}

/// The watermark (only) for `x16` at [`RATE`] under log-gains per embed column and band:
/// each tile's spectrum is scaled by `exp(gain) − 1`, overlap-added with the sqrt-Hann window.
fn apply_gains(x16: &[f32], gains: &[[f32; BANDS]]) -> Vec<f32> {
    let n = x16.len();
    let frames = n.div_ceil(HOP) + 1;
    // Frame t is centred on sample t·HOP: pad HOP zeros in front.
    let mut xp = vec![0.0f32; HOP + frames * HOP + HOP];
    xp[HOP..HOP + n].copy_from_slice(x16);
    let mut wp = vec![0.0f32; xp.len()];
    let mut planner = RealFftPlanner::<f32>::new();
    let fwd = planner.plan_fft_forward(N);
    let inv = planner.plan_fft_inverse(N);
    let win = window();
    let mut buf = fwd.make_input_vec();
    let mut spec = fwd.make_output_vec();
    let mut delta = inv.make_input_vec();
    let mut out = inv.make_output_vec();
    let mut scratch = fwd.make_scratch_vec();
    let mut iscratch = inv.make_scratch_vec();
    let norm = 1.0 / N as f32;
    for t in 0..frames {
        let Some(g) = gains.get(t / COL_FRAMES) else {
            break;
        };
        let seg = &xp[t * HOP..t * HOP + N];
        if seg.iter().all(|&v| v == 0.0) {
            continue;
        }
        for ((b, &s), &w) in buf.iter_mut().zip(seg).zip(win) {
            *b = s * w;
        }
        if fwd
            .process_with_scratch(&mut buf, &mut spec, &mut scratch)
            .is_err()
        {
            continue; // lengths are fixed above: cannot fail
        }
        delta.iter_mut().for_each(|d| *d = Complex32::new(0.0, 0.0));
        for (band, &gb) in g.iter().enumerate() {
            let k0 = BIN_LO + band * BAND_BINS;
            let m = gb.exp() - 1.0;
            for k in k0..k0 + BAND_BINS {
                delta[k] = spec[k] * m;
            }
        }
        if inv
            .process_with_scratch(&mut delta, &mut out, &mut iscratch)
            .is_err()
        {
            continue;
        }
        for ((o, &v), &w) in wp[t * HOP..t * HOP + N].iter_mut().zip(&out).zip(win) {
            *o += v * w * norm;
        }
    }
    wp[HOP..HOP + n].to_vec()
}

/// Frames whose band energy is within [`ACTIVE_DB`] of the loud frames (95th percentile).
fn active_frames(energy: &[f64]) -> Vec<bool> {
    if energy.is_empty() {
        return Vec::new();
    }
    let mut sorted = energy.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let loud = sorted[(sorted.len() * 95 / 100).min(sorted.len() - 1)];
    let floor = (loud * 10f64.powf(ACTIVE_DB / 10.0)).max(1e-9);
    energy.iter().map(|&e| e > floor).collect()
}

/// Residual of every tile of the columns that start at frame `f` + 4c (None for a column
/// with a quiet frame): the mean log-magnitude of the tile minus that of its neighbouring
/// bands, which removes the spectral envelope and any gain.
fn column_residuals(
    logs: &[[f32; BANDS * BAND_BINS]],
    active: &[bool],
    f: usize,
    weighted: bool,
) -> Vec<Option<[f64; BANDS]>> {
    let mut out = Vec::new();
    let mut c = 0usize;
    while f + (c + 1) * COL_FRAMES <= logs.len() {
        let fr = f + c * COL_FRAMES;
        c += 1;
        if !active[fr..fr + COL_FRAMES].iter().all(|&a| a) {
            out.push(None);
            continue;
        }
        let mut tile = [0.0f64; BANDS];
        for l in &logs[fr..fr + COL_FRAMES] {
            for (b, t) in tile.iter_mut().enumerate() {
                *t += l[b * BAND_BINS..(b + 1) * BAND_BINS]
                    .iter()
                    .map(|&v| v as f64)
                    .sum::<f64>();
            }
        }
        let scale = 1.0 / (COL_FRAMES * BAND_BINS) as f64;
        let mut r = [0.0f64; BANDS];
        for (b, rb) in r.iter_mut().enumerate() {
            let nb = match b {
                0 => tile[1],
                _ if b == BANDS - 1 => tile[b - 1],
                _ => 0.5 * (tile[b - 1] + tile[b + 1]),
            };
            *rb = (tile[b] - nb) * scale;
        }
        out.push(Some(r));
    }
    if !weighted {
        return out;
    }
    // Weights from the clip itself: each band scaled to unit variance, then each column
    // by the inverse of its mean square (noisy columns count less). They depend on the
    // audio only, never on the key, so the false-alarm bound holds as it is.
    let mut var = [0.0f64; BANDS];
    let mut n = 0usize;
    for r in out.iter().flatten() {
        for (v, x) in var.iter_mut().zip(r) {
            *v += x * x;
        }
        n += 1;
    }
    if n < 2 {
        return out;
    }
    for v in var.iter_mut() {
        *v = (*v / n as f64).max(1e-6);
    }
    for r in out.iter_mut().flatten() {
        let cv = (r.iter().zip(&var).map(|(x, v)| x * x / v).sum::<f64>() / BANDS as f64).max(0.05);
        for (x, v) in r.iter_mut().zip(&var) {
            *x /= v.sqrt() * cv;
        }
    }
    out
}

/// Adds the watermark carrying `payload` to mono `samples` at `rate`; the result has the
/// same length and rate. Errors: empty input, non-finite samples, a rate of 0.
///
/// Sync tiles get a fixed ±[`STRENGTH`]. Data tiles start at ±[`STRENGTH`]; then, twice,
/// the marked audio is read back the way the detector reads it and every coded bit whose
/// tiles in a period do not yet carry it by [`DATA_MARGIN`] per tile (the speech itself can
/// point the other way) gets the missing amount added to its tiles in that period, up to
/// [`MAX_GAIN`] (informed embedding: the data decodes from one period of speech).
pub fn embed(samples: &[f32], rate: u32, payload: &Payload) -> Result<Vec<f32>> {
    check_input(samples, rate)?;
    let x = to_rate(samples, rate, RATE)?;
    let lay = layout();
    let coded = encode(payload);
    let sign: Vec<f32> = (0..TILES)
        .map(|t| {
            lay.chip[t]
                * match lay.role[t] {
                    None => 1.0,
                    Some(i) => coded[i as usize] as f32 * 2.0 - 1.0,
                }
        })
        .collect();
    let columns = (x.len().div_ceil(HOP) + 1).div_ceil(COL_FRAMES);
    let mut gains: Vec<[f32; BANDS]> = (0..columns)
        .map(|c| std::array::from_fn(|b| STRENGTH * sign[b * PERIOD + c % PERIOD]))
        .collect();
    let mut w = apply_gains(&x, &gains);
    let starts: Vec<usize> = (0..columns).step_by(PERIOD).collect();
    for pass in 0..4 {
        let y: Vec<f32> = x.iter().zip(&w).map(|(a, b)| a + b).collect();
        let (logs, energy) = log_spectra(&y, 0);
        let active = active_frames(&energy);
        // Detection frame u is centred on embed frame u + 1, so the columns that start at
        // frame 3 are embed columns 1, 2, …
        let res = column_residuals(&logs, &active, COL_FRAMES - 1, false);
        // The first passes make every period carry each bit; the later ones make the
        // whole clip carry it (what the detector reads when it folds all periods).
        let groups: Vec<&[usize]> = if pass < 2 {
            starts.chunks(1).collect()
        } else {
            vec![&starts[..]]
        };
        let mut changed = false;
        for group in groups {
            for tiles in &lay.data {
                let (mut proj, mut n) = (0.0f64, 0usize);
                for &p0 in group {
                    for &t in tiles {
                        let (b, j) = (t / PERIOD, t % PERIOD);
                        let c = p0 + j;
                        if let Some(Some(r)) = c.checked_sub(1).and_then(|i| res.get(i)) {
                            proj += sign[t] as f64 * r[b];
                            n += 1;
                        }
                    }
                }
                if n == 0 || proj >= DATA_MARGIN * n as f64 {
                    continue;
                }
                // Re-analysis keeps about 0.8 of a tile's gain.
                let add = ((DATA_MARGIN * n as f64 - proj) / n as f64 / 0.8) as f32;
                for &p0 in group {
                    for &t in tiles {
                        let (b, j) = (t / PERIOD, t % PERIOD);
                        if let Some(g) = gains.get_mut(p0 + j) {
                            g[b] = (g[b] + add * sign[t]).clamp(-MAX_GAIN, MAX_GAIN);
                            changed = true;
                        }
                    }
                }
            }
        }
        if !changed {
            break;
        }
        w = apply_gains(&x, &gains);
    }
    let mut w = to_rate(&w, RATE, rate)?;
    w.resize(samples.len(), 0.0);
    Ok(samples.iter().zip(&w).map(|(&s, &d)| s + d).collect())
}

/// [`embed`] on an [`Audio`].
pub fn embed_audio(audio: &Audio, payload: &Payload) -> Result<Audio> {
    Ok(Audio::new(
        embed(&audio.samples, audio.sample_rate, payload)?,
        audio.sample_rate,
    ))
}

/// Log-magnitude spectra (band bins only) of frames starting at `offset` + t·HOP, and each
/// frame's band energy.
fn log_spectra(x: &[f32], offset: usize) -> (Vec<[f32; BANDS * BAND_BINS]>, Vec<f64>) {
    let mut planner = RealFftPlanner::<f32>::new();
    let fwd = planner.plan_fft_forward(N);
    let win = window();
    let mut buf = fwd.make_input_vec();
    let mut spec = fwd.make_output_vec();
    let mut scratch = fwd.make_scratch_vec();
    let mut logs = Vec::new();
    let mut energy = Vec::new();
    let mut start = offset;
    while start + N <= x.len() {
        for ((b, &s), &w) in buf.iter_mut().zip(&x[start..start + N]).zip(win) {
            *b = s * w;
        }
        let mut l = [0.0f32; BANDS * BAND_BINS];
        let mut e = 0.0f64;
        if fwd
            .process_with_scratch(&mut buf, &mut spec, &mut scratch)
            .is_ok()
        {
            for (i, li) in l.iter_mut().enumerate() {
                let p = spec[BIN_LO + i].norm_sqr();
                e += p as f64;
                *li = 0.5 * (p + 1e-12).ln();
            }
        }
        logs.push(l);
        energy.push(e);
        start += HOP;
    }
    (logs, energy)
}

/// Reads the watermark from mono `samples` at `rate`.
///
/// Errors: empty input, non-finite samples, a rate of 0, and [`Error::AudioTooShort`] for
/// audio shorter than [`MIN_DETECT_S`].
pub fn detect(samples: &[f32], rate: u32) -> Result<Detection> {
    check_input(samples, rate)?;
    let seconds = samples.len() as f64 / rate as f64;
    if seconds < MIN_DETECT_S {
        return Err(Error::AudioTooShort {
            what: "audio".into(),
            speech_s: seconds,
            need_s: MIN_DETECT_S,
        });
    }
    let x = to_rate(samples, rate, RATE)?;
    let found = search(&x);
    // The alignments that pass the sync threshold, best first: the first whose payload
    // passes its CRC wins.
    let payload = found
        .candidates
        .iter()
        .take(MAX_DECODES)
        .find_map(|c| decode(&c.soft).map(|p| (c.z, p)));
    let z = payload.map_or(found.z, |(z, _)| z);
    Ok(Detection {
        detected: payload.is_some(),
        confidence: (z * 100.0).round() / 100.0,
        payload: payload.map(|(_, p)| p),
        active_s: found.active_s,
    })
}

/// Most alignments whose payload the detector tries to decode.
const MAX_DECODES: usize = 8;

/// An alignment of the period and what it reads.
struct Candidate {
    z: f64,
    soft: Vec<f64>,
    /// Half-hop shift, frame offset, column offset (read by the diagnostics).
    #[cfg_attr(not(test), allow(dead_code))]
    at: (usize, usize, usize),
}

/// What the detector's search found.
struct Found {
    /// The highest sync statistic.
    z: f64,
    /// Alignments at or above [`THRESHOLD`], best first.
    candidates: Vec<Candidate>,
    active_s: f64,
}

/// Tries every alignment of the period on `x` (at [`RATE`]).
fn search(x: &[f32]) -> Found {
    let x = x.to_vec();
    let lay = layout();
    let mut best = f64::NEG_INFINITY;
    let mut candidates = Vec::new();
    let mut active_s = 0.0f64;
    for shift in [0, HOP / 2] {
        let (logs, energy) = log_spectra(&x, shift);
        if logs.is_empty() {
            continue;
        }
        let active = active_frames(&energy);
        if shift == 0 {
            active_s = active.iter().filter(|&&a| a).count() as f64 * HOP as f64 / RATE as f64;
        }
        for f in 0..COL_FRAMES {
            // Fold the residuals of every column onto the period.
            let mut fold = vec![0.0f64; TILES];
            for (c, r) in column_residuals(&logs, &active, f, true).iter().enumerate() {
                if let Some(r) = r {
                    let j = c % PERIOD;
                    for (b, &v) in r.iter().enumerate() {
                        fold[b * PERIOD + j] += v;
                    }
                }
            }
            for tau in 0..PERIOD {
                let at = |t: usize| fold[(t / PERIOD) * PERIOD + (t % PERIOD + tau) % PERIOD];
                let (mut num, mut den) = (0.0f64, 0.0f64);
                for &t in &lay.sync {
                    let v = at(t);
                    num += lay.chip[t] as f64 * v;
                    den += v * v;
                }
                if den <= 0.0 {
                    continue;
                }
                let z = num / den.sqrt();
                best = best.max(z);
                if z >= THRESHOLD {
                    let soft = lay
                        .data
                        .iter()
                        .map(|ts| ts.iter().map(|&t| lay.chip[t] as f64 * at(t)).sum())
                        .collect();
                    candidates.push(Candidate {
                        z,
                        soft,
                        at: (shift, f, tau),
                    });
                }
            }
        }
    }
    candidates.sort_by(|a, b| b.z.total_cmp(&a.z));
    Found {
        z: if best.is_finite() { best } else { 0.0 },
        candidates,
        active_s,
    }
}

/// [`detect`] on an [`Audio`].
pub fn detect_audio(audio: &Audio) -> Result<Detection> {
    detect(&audio.samples, audio.sample_rate)
}

/// Decodes an audio file (WAV, MP3, FLAC, OGG, M4A/AAC, or the audio track of an MP4) and
/// reads its watermark.
pub fn detect_file(path: &Path) -> Result<Detection> {
    let audio = audio::decode_file(path)?;
    detect_audio(&audio).map_err(|e| match e {
        Error::AudioTooShort {
            speech_s, need_s, ..
        } => Error::AudioTooShort {
            what: path.display().to_string(),
            speech_s,
            need_s,
        },
        e => e,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Speech-like test signal: a buzz with a moving formant, syllables and pauses.
    fn speechy(rate: u32, secs: f64, seed: u64) -> Vec<f32> {
        let mut rng = SplitMix(seed);
        let n = (rate as f64 * secs) as usize;
        let mut out = vec![0.0f32; n];
        let mut phase = 0.0f64;
        let (mut y1, mut y2) = (0.0f64, 0.0f64);
        for (i, o) in out.iter_mut().enumerate() {
            let t = i as f64 / rate as f64;
            let f0 = 120.0 + 30.0 * (t * 1.3).sin();
            phase += f0 / rate as f64;
            let pulse = if phase >= 1.0 {
                phase -= 1.0;
                1.0
            } else {
                0.0
            };
            let noise = (rng.next() >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            let exc = pulse + 0.05 * noise;
            // A resonator whose centre moves between 500 and 2500 Hz.
            let fc = 1500.0 + 1000.0 * (t * 2.1).sin();
            let r = 0.97f64;
            let w = 2.0 * std::f64::consts::PI * fc / rate as f64;
            let y = exc + 2.0 * r * w.cos() * y1 - r * r * y2;
            (y2, y1) = (y1, y);
            let env = ((t * 3.0 * std::f64::consts::PI).sin()).max(0.0).powf(0.5);
            let gap = if (t % 2.7) > 2.3 { 0.0 } else { 1.0 };
            *o = (0.02 * y * env * gap) as f32;
        }
        out
    }

    #[test]
    fn code_round_trip_and_errors_corrected() {
        let p = Payload::new(0x2a_5c3f, 1_750_000_000);
        let coded = encode(&p);
        assert_eq!(coded.len(), CODED_BITS);
        let mut soft: Vec<f64> = coded.iter().map(|&b| b as f64 * 2.0 - 1.0).collect();
        assert_eq!(decode(&soft), Some(p));
        // Flip 6 scattered coded bits: the code corrects them.
        for i in [3, 30, 57, 84, 111, 138] {
            soft[i] = -soft[i];
        }
        assert_eq!(decode(&soft), Some(p));
        // Pure noise does not pass the CRC.
        let mut rng = SplitMix(7);
        let mut passed = 0;
        for _ in 0..200 {
            let s: Vec<f64> = (0..CODED_BITS)
                .map(|_| (rng.next() >> 11) as f64 / (1u64 << 53) as f64 - 0.5)
                .collect();
            passed += decode(&s).is_some() as usize;
        }
        assert_eq!(passed, 0);
    }

    #[test]
    fn payload_bits_and_text() {
        let p = Payload::new(0xabcdef12, EPOCH_UNIX_S + 86_400 * 366 + 3600 * 13 + 60 * 7);
        assert_eq!(p.voice_id, 0xabcdef12 & 0x3f_ffff);
        assert_eq!(Payload::from_bits(&p.to_bits()), p);
        assert_eq!(p.to_string(), "voice:0def12 time:2025-01-01T13:07Z");
        assert_eq!(Payload::new(1, 0).minutes, 0);
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }

    #[test]
    fn layout_is_complete() {
        let l = layout();
        assert_eq!(l.sync.len() + CODED_BITS * TILES_PER_BIT, TILES);
        assert!(l.sync.len() >= SYNC_TILES);
        assert!(l.data.iter().all(|d| d.len() == TILES_PER_BIT));
        let plus = l.chip.iter().filter(|&&c| c > 0.0).count();
        assert!((TILES / 2).abs_diff(plus) < 80, "{plus} positive chips");
    }

    #[test]
    fn embeds_and_detects_at_several_rates_and_offsets() {
        let p = Payload::new(0x12_3456, 1_760_000_000);
        for rate in [16_000, 22_050, 24_000, 48_000] {
            let x = speechy(rate, 9.0, 1);
            let y = embed(&x, rate, &p).unwrap();
            assert_eq!(y.len(), x.len());
            // Watermark power relative to the signal.
            let ex: f64 = x.iter().map(|&v| (v as f64).powi(2)).sum();
            let ew: f64 = x
                .iter()
                .zip(&y)
                .map(|(&a, &b)| ((b - a) as f64).powi(2))
                .sum();
            let snr = 10.0 * (ex / ew).log10();
            assert!(snr > 14.0, "{rate}: watermark SNR {snr:.1} dB");
            let clean = detect(&x, rate).unwrap();
            assert!(!clean.detected && clean.confidence < THRESHOLD, "{clean:?}");
            // An excerpt that starts at an arbitrary sample, at half the level.
            let cut = rate as usize * 13 / 10 + 77;
            let ex: Vec<f32> = y[cut..].iter().map(|v| v * 0.5).collect();
            let d = detect(&ex, rate).unwrap();
            assert!(d.detected, "{rate}: {d:?}");
            assert_eq!(d.payload, Some(p));
        }
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(matches!(detect(&[], 16000), Err(Error::EmptyAudio { .. })));
        assert!(matches!(
            detect(&[0.0; 100], 16000),
            Err(Error::AudioTooShort { .. })
        ));
        assert!(matches!(
            detect(&[f32::NAN; 40000], 16000),
            Err(Error::InvalidSamples { .. })
        ));
        assert!(matches!(
            embed(&[0.1; 100], 0, &Payload::new(1, 0)),
            Err(Error::InvalidArgument { .. })
        ));
        // Digital silence: no watermark, no error.
        let d = detect(&[0.0; 64000], 16000).unwrap();
        assert!(!d.detected);
    }
}

#[cfg(test)]
mod tuning {
    //! Diagnostics on real files: `WM_FILES="a.wav b.flac" cargo test --release -p voxreel
    //! watermark::tuning -- --ignored --nocapture`.
    use super::*;

    fn residuals(x16: &[f32]) -> Vec<Option<[f64; BANDS]>> {
        let (logs, energy) = log_spectra(x16, 0);
        column_residuals(&logs, &active_frames(&energy), COL_FRAMES - 1, false)
    }

    #[test]
    #[ignore]
    fn diagnose() {
        let files = std::env::var("WM_FILES").unwrap_or_default();
        let p = Payload::new(0x1234, 1_760_000_000);
        let coded = encode(&p);
        let lay = layout();
        for f in files.split_whitespace() {
            let a = audio::decode_file(Path::new(f)).unwrap();
            let x16 = to_rate(&a.samples, a.sample_rate, RATE).unwrap();
            let y = embed(&x16, RATE, &p).unwrap();
            let (rx, ry) = (residuals(&x16), residuals(&y));
            let mut acc = [(0.0f64, 0.0f64, 0usize); 2]; // sync, data: gain, host var, n
            for (c, (a, b)) in rx.iter().zip(&ry).enumerate() {
                let (Some(a), Some(b)) = (a, b) else { continue };
                for band in 0..BANDS {
                    let t = band * PERIOD + (c + 1) % PERIOD;
                    let (k, sg) = match lay.role[t] {
                        None => (0, 1.0),
                        Some(i) => (1, coded[i as usize] as f64 * 2.0 - 1.0),
                    };
                    acc[k].0 += lay.chip[t] as f64 * sg * (b[band] - a[band]);
                    acc[k].1 += a[band] * a[band];
                    acc[k].2 += 1;
                }
            }
            let ew: f64 = x16
                .iter()
                .zip(&y)
                .map(|(a, b)| ((b - a) as f64).powi(2))
                .sum();
            let ex: f64 = x16.iter().map(|&a| (a as f64).powi(2)).sum();
            for (name, (g, v, n)) in ["sync", "data"].iter().zip(acc) {
                eprintln!(
                    "{f} {name}: tiles {n}, mean change {:.4}, host sd {:.3}",
                    g / n as f64,
                    (v / n as f64).sqrt()
                );
            }
            if let Ok(e) = std::env::var("WM_EXPECT") {
                let mut it = e.split_whitespace();
                let id = u32::from_str_radix(it.next().unwrap(), 16).unwrap();
                let unix: i64 = it.next().unwrap().parse().unwrap();
                let want = encode(&Payload::new(id, unix));
                let found = search(&x16);
                let Some(c) = found.candidates.first() else {
                    continue;
                };
                let errs = c
                    .soft
                    .iter()
                    .zip(&want)
                    .filter(|(s, &w)| (**s > 0.0) != (w == 1))
                    .count();
                eprintln!(
                    "  as is: z {:.2} at {:?}, coded bit errors {errs}/{CODED_BITS}, decoded {:?}",
                    c.z,
                    c.at,
                    decode(&c.soft).map(|p| p.to_string())
                );
            }
            {
                let found = search(&y);
                let Some(c) = found.candidates.first() else {
                    continue;
                };
                let errs = c
                    .soft
                    .iter()
                    .zip(&coded)
                    .filter(|(s, &w)| (**s > 0.0) != (w == 1))
                    .count();
                eprintln!(
                    "  marked: z {:.2} at {:?}, coded bit errors {errs}/{CODED_BITS}",
                    c.z, c.at
                );
            }
            let d0 = detect(&x16, RATE).unwrap();
            let d = detect(&y, RATE).unwrap();
            eprintln!(
                "  snr {:.1} dB; unmarked z {:.2}; marked: {:?} z {:.2} active {:.1} s",
                10.0 * (ex / ew).log10(),
                d0.confidence,
                d.payload.map(|p| p.to_string()),
                d.confidence,
                d.active_s
            );
        }
    }

    /// Every clip of `../shared/data/speech`: unmarked (false positives) and marked.
    #[test]
    #[ignore]
    fn scan_shared() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/speech");
        let index = std::fs::read_to_string(root.join("index.tsv")).unwrap();
        let p = Payload::new(0x2bcdef, 1_765_000_000);
        let (mut max_clean, mut min_marked, mut n, mut fp, mut miss) = (0f64, f64::MAX, 0, 0, 0);
        let mut snrs = Vec::new();
        for line in index.lines().skip(1) {
            let rel = line.split('\t').next().unwrap();
            let a = audio::decode_file(&root.join(rel)).unwrap();
            let d0 = detect_audio(&a).unwrap();
            let y = embed(&a.samples, a.sample_rate, &p).unwrap();
            let d1 = detect(&y, a.sample_rate).unwrap();
            let ex: f64 = a.samples.iter().map(|&v| (v as f64).powi(2)).sum();
            let ew: f64 = a
                .samples
                .iter()
                .zip(&y)
                .map(|(&u, &v)| ((v - u) as f64).powi(2))
                .sum();
            snrs.push(10.0 * (ex / ew).log10());
            n += 1;
            fp += d0.detected as usize;
            miss += (d1.payload != Some(p)) as usize;
            max_clean = max_clean.max(d0.confidence);
            min_marked = min_marked.min(d1.confidence);
            eprintln!(
                "{rel}\t{:.1}s\tclean z {:.2}\tmarked z {:.2} {}\tsnr {:.1}",
                a.duration_s(),
                d0.confidence,
                d1.confidence,
                if d1.payload == Some(p) {
                    "ok"
                } else {
                    "NO PAYLOAD"
                },
                snrs.last().unwrap()
            );
        }
        snrs.sort_by(|a, b| a.total_cmp(b));
        eprintln!(
            "{n} clips: false positives {fp}, max clean z {max_clean:.2}; marked misses {miss}, min marked z {min_marked:.2}; snr min {:.1} median {:.1} dB",
            snrs[0],
            snrs[n / 2]
        );
    }

    /// Writes each of `WM_FILES` as is and marked (at its own rate) to `WM_OUT`, with the
    /// watermark's SNR: for listening tests and DNSMOS.
    #[test]
    #[ignore]
    fn write_marked() {
        let files = std::env::var("WM_FILES").unwrap_or_default();
        let out = std::path::PathBuf::from(std::env::var("WM_OUT").unwrap_or_default());
        let p = Payload::new(0x2bcdef, 1_765_000_000);
        for f in files.split_whitespace() {
            let a = audio::decode_file(Path::new(f)).unwrap();
            let y = embed_audio(&a, &p).unwrap();
            let ex: f64 = a.samples.iter().map(|&v| (v as f64).powi(2)).sum();
            let ew: f64 = a
                .samples
                .iter()
                .zip(&y.samples)
                .map(|(&u, &v)| ((v - u) as f64).powi(2))
                .sum();
            let stem = Path::new(f)
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .to_string();
            audio::write_wav(&out.join(format!("{stem}-clean.wav")), &a).unwrap();
            audio::write_wav(&out.join(format!("{stem}-marked.wav")), &y).unwrap();
            let d = detect_audio(&y).unwrap();
            eprintln!(
                "{stem}\t{:.1} s\tsnr {:.1} dB\tz {:.2}\t{}",
                a.duration_s(),
                10.0 * (ex / ew).log10(),
                d.confidence,
                d.payload == Some(p)
            );
        }
    }

    /// Kokoro speech (`af_heart`, `am_michael`) without the watermark, to `WM_OUT`, for
    /// [`write_marked`]: needs Kokoro installed (`voxreel models fetch kokoro`).
    #[test]
    #[ignore]
    fn write_kokoro() {
        use crate::tts::Synthesizer;
        let out = std::path::PathBuf::from(std::env::var("WM_OUT").unwrap_or_default());
        let studio = crate::studio::Studio::auto();
        let k = studio.kokoro().unwrap();
        let voice = VoiceProfile::from_audio(
            &audio::decode_file(
                &Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../samples/voices/librispeech-367.flac"),
            )
            .unwrap(),
            "sample",
        )
        .unwrap();
        let texts = [
            "The quick brown fox jumps over the lazy dog, and then it runs back into the forest.",
            "Every clip of synthetic speech carries an inaudible watermark with a payload.",
            "A rendered video also carries a comment tag saying that the narration is a synthetic voice.",
        ];
        for speaker in ["af_heart", "am_michael"] {
            let s = k.with_speaker(speaker).unwrap();
            for (i, t) in texts.iter().enumerate() {
                let sp = s
                    .synthesize(t, crate::lang::Language::English, &voice)
                    .unwrap();
                audio::write_wav(&out.join(format!("k-{speaker}-{i}.wav")), &sp.audio).unwrap();
            }
        }
    }
}
