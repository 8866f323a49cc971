//! Float kernels that round exactly like onnxruntime's CPU kernels (MLAS on x86-64 with
//! AVX-512F), for the parts of the phoneme BERT where a last-bit difference matters.
//!
//! The ALBERT encoder quantises its activations to uint8 before every integer matmul.
//! A value one ulp away from a rounding boundary lands on the other uint8 level, and
//! twelve passes through the shared layer grow that flip into different token durations
//! (see `models/kokoro/README.md`, "Parity"). These kernels reproduce onnxruntime 1.32's
//! arithmetic operation by operation — the order of every sum, every fused multiply-add,
//! the polynomial of its `exp` and `tanh` — so that the uint8 levels, and hence the
//! durations, come out the same. Each was checked bit for bit against onnxruntime on
//! random inputs (`scripts/ort-kernels-check.py`):
//!
//! - `MatMul` (SGEMM): each output is one chain of fused multiply-adds over `k` from
//!   zero, in blocks of 256 whose partial sums are added.
//! - `Softmax`: MLAS's `exp` polynomial (range reduction by ln 2, degree-6 polynomial,
//!   `vscalefps`), the row sum in 16 lanes reduced pairwise, then `x · (1 / sum)`.
//! - `LayerNormalization`: mean from a double sum, variance in a second pass over
//!   8 lanes of fused multiply-adds, `fma((x − mean) · inv, γ, β)`.
//! - `SkipLayerNormalization`: Welford's running mean and M2 in f32,
//!   `(x − mean) / σ · γ + β`.
//! - `FastGelu` with bias: Eigen's rational `tanh` with fused multiply-adds.
//!
//! Every function gives the same bits with or without hardware FMA (`f32::mul_add` is
//! exact either way); the `fma` target feature only makes it fast.

/// One uniform f32 fused multiply-add.
#[inline(always)]
fn fma(a: f32, b: f32, c: f32) -> f32 {
    a.mul_add(b, c)
}

macro_rules! with_fma {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($arg:ident : $ty:ty),*) $(-> $ret:ty)? $body:block) => {
        $(#[$m])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn imp($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "fma,avx2")]
                unsafe fn fast($($arg: $ty),*) $(-> $ret)? { imp($($arg),*) }
                if std::arch::is_x86_feature_detected!("fma")
                    && std::arch::is_x86_feature_detected!("avx2")
                {
                    // SAFETY: the CPU has the features `fast` was compiled for.
                    return unsafe { fast($($arg),*) };
                }
            }
            imp($($arg),*)
        }
    };
}

/// K blocking of MLAS's SGEMM for the shapes used here (N ≤ 64 per thread segment).
const SGEMM_STRIDE_K: usize = 256;

with_fma! {
    /// `c[m][n] = Σ_k a[m][k] · b[k][n]` as MLAS's SGEMM rounds it: `a` is `[m, k]`,
    /// `b` `[k, n]`, both row-major; `c` is overwritten.
    pub fn sgemm(a: &[f32], b: &[f32], c: &mut [f32], m: usize, k: usize, n: usize) {
        assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n);
        let mut acc = vec![0f32; n];
        for i in 0..m {
            let row = &a[i * k..(i + 1) * k];
            let out = &mut c[i * n..(i + 1) * n];
            let mut k0 = 0;
            while k0 < k {
                let k1 = (k0 + SGEMM_STRIDE_K).min(k);
                acc.iter_mut().for_each(|v| *v = 0.0);
                for (kk, &av) in row.iter().enumerate().take(k1).skip(k0) {
                    let brow = &b[kk * n..(kk + 1) * n];
                    for (s, &bv) in acc.iter_mut().zip(brow) {
                        *s = fma(av, bv, *s);
                    }
                }
                if k0 == 0 {
                    out.copy_from_slice(&acc);
                } else {
                    for (o, &s) in out.iter_mut().zip(&acc) {
                        *o += s;
                    }
                }
                k0 = k1;
            }
        }
    }
}

// MlasExpConstants (compute.cpp), as bit patterns so that nothing is lost in decimal.
const EXP_LOWER: f32 = f32::from_bits(0xc2cf_f1b5); // -103.9720840454
const EXP_ROUNDING_BIAS: f32 = 12_582_912.0; // 1.5 · 2²³
const EXP_LOG2_RECIPROCAL: f32 = f32::from_bits(0x3fb8_aa3b); // 1 / ln 2
const EXP_LOG2_HIGH: f32 = f32::from_bits(0xbf31_7200); // -ln 2, high part
const EXP_LOG2_LOW: f32 = f32::from_bits(0xb5bf_be8e); // -ln 2, low part
const EXP_POLY: [f32; 6] = [
    f32::from_bits(0x3ab4_a000), // 0x1.694000p-10
    f32::from_bits(0x3c09_2f6e), // 0x1.125edcp-7
    f32::from_bits(0x3d2a_adad), // 0x1.555b5ap-5
    f32::from_bits(0x3e2a_aa28), // 0x1.555450p-3
    f32::from_bits(0x3eff_fffb), // 0x1.fffff6p-2
    1.0,
];

/// MLAS's `exp(x + neg_max)` for softmax (`MlasComputeSumExpF32KernelAvx512F`).
#[inline(always)]
fn sum_exp_element(x: f32, neg_max: f32) -> f32 {
    let v = (x + neg_max).max(EXP_LOWER);
    let biased = fma(v, EXP_LOG2_RECIPROCAL, EXP_ROUNDING_BIAS);
    let m = biased - EXP_ROUNDING_BIAS;
    let v = fma(m, EXP_LOG2_HIGH, v);
    let v = fma(m, EXP_LOG2_LOW, v);
    let mut p = EXP_POLY[0];
    for &c in &EXP_POLY[1..5] {
        p = fma(p, v, c);
    }
    p = fma(p, v, EXP_POLY[5]);
    p = fma(p, v, EXP_POLY[5]);
    scalef(p, m)
}

/// `p · 2^m` for integral `m`, rounded once (AVX-512's `vscalefps`).
#[inline(always)]
fn scalef(p: f32, m: f32) -> f32 {
    let e = m as i32;
    if (-126..=127).contains(&e) {
        p * f32::from_bits(((e + 127) as u32) << 23)
    } else {
        (p as f64 * 2f64.powi(e)) as f32
    }
}

with_fma! {
    /// Softmax over each row of `rows × d` values in place, as MLAS computes it.
    pub fn softmax_rows(x: &mut [f32], d: usize) {
        if d == 0 {
            return;
        }
        for row in x.chunks_exact_mut(d) {
            let max = row.iter().copied().fold(f32::MIN, f32::max);
            let neg = -max;
            let mut lanes = [0f32; 16];
            for (j, v) in row.iter_mut().enumerate() {
                let e = sum_exp_element(*v, neg);
                *v = e;
                lanes[j & 15] += e;
            }
            let mut h = [0f32; 8];
            for i in 0..8 {
                h[i] = lanes[i + 8] + lanes[i];
            }
            let sum = ((h[0] + h[1]) + (h[2] + h[3])) + ((h[4] + h[5]) + (h[6] + h[7]));
            let scale = 1.0 / sum;
            for v in row.iter_mut() {
                *v *= scale;
            }
        }
    }
}

with_fma! {
    /// `LayerNormalization` over the last axis (`rows × n`, in place), as onnxruntime's
    /// MLAS kernel rounds it.
    pub fn layer_norm(x: &mut [f32], n: usize, gamma: &[f32], beta: &[f32], eps: f32) {
        assert!(gamma.len() == n && beta.len() == n && n > 0);
        let mut d = vec![0f32; n];
        for row in x.chunks_exact_mut(n) {
            let sum: f64 = row.iter().map(|&v| v as f64).sum();
            let mean = (sum / n as f64) as f32;
            let mut lanes = [0f32; 8];
            for (i, (dv, &v)) in d.iter_mut().zip(row.iter()).enumerate() {
                *dv = v - mean;
                if i < n / 8 * 8 {
                    lanes[i & 7] = fma(*dv, *dv, lanes[i & 7]);
                }
            }
            let mut sq = reduce8(&lanes);
            for &dv in &d[n / 8 * 8..] {
                sq += dv * dv;
            }
            let var = sq / n as f32;
            let inv = 1.0 / (var + eps).sqrt();
            for ((o, &dv), (&g, &b)) in row.iter_mut().zip(&d).zip(gamma.iter().zip(beta)) {
                *o = fma(dv * inv, g, b);
            }
        }
    }
}

/// The AVX reduction of 8 lanes: `(l0+l4 + l2+l6) + (l1+l5 + l3+l7)`.
#[inline(always)]
fn reduce8(l: &[f32; 8]) -> f32 {
    let t = [l[0] + l[4], l[1] + l[5], l[2] + l[6], l[3] + l[7]];
    (t[0] + t[2]) + (t[1] + t[3])
}

/// `SkipLayerNormalization(x, skip)` over the last axis (`rows × n`): the sum goes to `x`
/// and is normalised in place with Welford's running mean, as onnxruntime 1.32 does.
pub fn skip_layer_norm(
    x: &mut [f32],
    skip: &[f32],
    n: usize,
    gamma: &[f32],
    beta: &[f32],
    eps: f32,
) {
    assert!(gamma.len() == n && beta.len() == n && n > 0 && skip.len() == x.len());
    for (row, srow) in x.chunks_exact_mut(n).zip(skip.chunks_exact(n)) {
        let mut mean = 0f32;
        let mut m2 = 0f32;
        for (h, (v, &s)) in row.iter_mut().zip(srow).enumerate() {
            *v += s;
            let delta = *v - mean;
            mean += delta / (h + 1) as f32;
            let delta2 = *v - mean;
            m2 += delta * delta2;
        }
        let sd = (m2 / n as f32 + eps).sqrt();
        for ((v, &g), &b) in row.iter_mut().zip(gamma).zip(beta) {
            *v = (*v - mean) / sd * g + b;
        }
    }
}

// MlasTanhConstants (tanh.cpp): the same decimal literals, rounded to f32 the same way.
#[allow(clippy::excessive_precision)]
const TANH_ALPHA: [f32; 7] = [
    -2.76076847742355e-16,
    2.00018790482477e-13,
    -8.60467152213735e-11,
    5.12229709037114e-08,
    1.48572235717979e-05,
    6.37261928875436e-04,
    4.89352455891786e-03,
];
#[allow(clippy::excessive_precision)]
const TANH_BETA: [f32; 4] = [
    1.19825839466702e-06,
    1.18534705686654e-04,
    2.26843463243900e-03,
    4.89352518554385e-03,
];

/// MLAS's `tanh` (Eigen's rational approximation, fused multiply-adds).
#[inline(always)]
fn tanh_mlas(x: f32) -> f32 {
    let v = x.clamp(-9.0, 9.0);
    let v2 = v * v;
    let mut p = fma(v2, TANH_ALPHA[0], TANH_ALPHA[1]);
    for &c in &TANH_ALPHA[2..] {
        p = fma(p, v2, c);
    }
    p *= v;
    let mut q = fma(v2, TANH_BETA[0], TANH_BETA[1]);
    for &c in &TANH_BETA[2..] {
        q = fma(q, v2, c);
    }
    p / q
}

with_fma! {
    /// onnxruntime's `FastGelu(x, bias)` in place; `bias` repeats along `x`.
    pub fn fast_gelu_bias(x: &mut [f32], bias: &[f32]) {
        #[allow(clippy::excessive_precision)]
        const B: f32 = 0.7978845608028654; // sqrt(2 / π)
        #[allow(clippy::excessive_precision)]
        const C: f32 = 0.035677408136300125; // 0.044715 · sqrt(2 / π)
        if bias.is_empty() {
            return;
        }
        for row in x.chunks_mut(bias.len()) {
            for (v, &b) in row.iter_mut().zip(bias) {
                let val = *v + b;
                let t = val * (C * val * val + B);
                *v = (val * 0.5) * (tanh_mlas(t) + 1.0);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// The harmonic source's spectrum (decoder): l_linear, tanh, STFT and phase.
//
// In unvoiced stretches the source is a constant, so all but the two lowest STFT bins are
// zero except for rounding, and their phase — which `noise_convs` reads — is whatever the
// rounding makes it. Reproducing onnxruntime's phase there needs its exact arithmetic.
// ---------------------------------------------------------------------------------------

with_fma! {
    /// `tanh(Σ_h sines[t][h] · w[h] + bias)` per row of `sines` (`[t, w.len()]`), as the
    /// export's `MatMul` (one fused multiply-add chain from zero), `Add` and MLAS `Tanh`
    /// (Eigen's rational approximation with fused multiply-adds) round it.
    pub fn source_linear_tanh(sines: &[f32], w: &[f32], bias: f32) -> Vec<f32> {
        if w.is_empty() {
            return vec![];
        }
        sines
            .chunks_exact(w.len())
            .map(|row| {
                let mut acc = 0f32;
                for (&x, &k) in row.iter().zip(w) {
                    acc = fma(x, k, acc);
                }
                tanh_mlas(acc + bias)
            })
            .collect()
    }
}

/// A complex number with `std::complex<float>` arithmetic as GCC compiles it for
/// onnxruntime (no fused multiply-adds): `(ac − bd) + (ad + bc)i`.
#[derive(Clone, Copy, Debug, Default)]
struct Cpx {
    re: f32,
    im: f32,
}

impl Cpx {
    fn from_bits(b: [u32; 2]) -> Self {
        Cpx {
            re: f32::from_bits(b[0]),
            im: f32::from_bits(b[1]),
        }
    }
    #[inline(always)]
    fn mul(self, o: Cpx) -> Cpx {
        Cpx {
            re: self.re * o.re - self.im * o.im,
            im: self.re * o.im + self.im * o.re,
        }
    }
    #[inline(always)]
    fn add(self, o: Cpx) -> Cpx {
        Cpx {
            re: self.re + o.re,
            im: self.im + o.im,
        }
    }
}

/// `exp(−2πi·j/64)` for `j = 0..64`, stored at `bit_reverse(j, 6)` as onnxruntime's
/// radix-2 FFT keeps them. The angles are f32 (`j · (−2 · (float)π / 64)`) and the values
/// glibc's `cosf`/`sinf` of them, which onnxruntime calls; all but one are the correctly
/// rounded cosine and sine (see the test).
const TWIDDLES_64: [[u32; 2]; 64] = [
    [0x3f800000, 0x80000000],
    [0xbf800000, 0x33bbbd2e],
    [0xb33bbd2e, 0xbf800000],
    [0x324cde2e, 0x3f800000],
    [0x3f3504f3, 0xbf3504f3],
    [0xbf3504f1, 0x3f3504f5],
    [0xbf3504f3, 0xbf3504f3],
    [0x3f3504f7, 0x3f3504ef],
    [0x3f6c835e, 0xbec3ef16],
    [0xbf6c835e, 0x3ec3ef15],
    [0xbec3ef18, 0xbf6c835e],
    [0x3ec3ef1b, 0x3f6c835d],
    [0x3ec3ef15, 0xbf6c835e],
    [0xbec3ef0b, 0x3f6c8361],
    [0xbf6c8360, 0xbec3ef10],
    [0x3f6c835f, 0x3ec3ef15],
    [0x3f7b14be, 0xbe47c5c2],
    [0xbf7b14be, 0x3e47c5cd],
    [0xbe47c5c2, 0xbf7b14be],
    [0x3e47c5c8, 0x3f7b14be],
    [0x3f0e39d9, 0xbf54db32],
    [0xbf0e39d6, 0x3f54db34],
    [0xbf54db32, 0xbf0e39d9],
    [0x3f54db31, 0x3f0e39db],
    [0x3f54db31, 0xbf0e39da],
    [0xbf54db30, 0x3f0e39db],
    [0xbf0e39dc, 0xbf54db30],
    [0x3f0e39dd, 0x3f54db2f],
    [0x3e47c5bc, 0xbf7b14bf],
    [0xbe47c5c6, 0x3f7b14be],
    [0xbf7b14bf, 0xbe47c5c1],
    [0x3f7b14bf, 0x3e47c5bc],
    [0x3f7ec46d, 0xbdc8bd36],
    [0xbf7ec46d, 0x3dc8bd47],
    [0xbdc8bd41, 0xbf7ec46d],
    [0x3dc8bd5d, 0x3f7ec46d],
    [0x3f226799, 0xbf45e403],
    [0xbf22679a, 0x3f45e403],
    [0xbf45e404, 0xbf226799],
    [0x3f45e405, 0x3f226797],
    [0x3f61c597, 0xbef15aea],
    [0xbf61c597, 0x3ef15aeb],
    [0xbef15aed, 0xbf61c597],
    [0x3ef15ae9, 0x3f61c598],
    [0x3e94a030, 0xbf74fa0b],
    [0xbe94a02d, 0x3f74fa0b],
    [0xbf74fa0b, 0xbe94a033],
    [0x3f74fa0c, 0x3e94a028],
    [0x3f74fa0b, 0xbe94a032],
    [0xbf74fa0a, 0x3e94a038],
    [0xbe94a033, 0xbf74fa0a],
    [0x3e94a03d, 0x3f74fa09],
    [0x3ef15ae7, 0xbf61c598],
    [0xbef15ae8, 0x3f61c598],
    [0xbf61c599, 0xbef15ae6],
    [0x3f61c599, 0x3ef15ae3],
    [0x3f45e403, 0xbf22679a],
    [0xbf45e402, 0x3f22679b],
    [0xbf226799, 0xbf45e404],
    [0x3f22679a, 0x3f45e403],
    [0x3dc8bd35, 0xbf7ec46d],
    [0xbdc8bd1a, 0x3f7ec46d],
    [0xbf7ec46d, 0xbdc8bd30],
    [0x3f7ec46e, 0x3dc8bd04],
];

/// Bluestein's chirp `exp(−πi·n²/20)` for `n = 0..20`: f32 exponent
/// `((−(float)π · n) · n) / 20`, glibc's `cosf`/`sinf`.
const CHIRP_20: [[u32; 2]; 20] = [
    [0x3f800000, 0x80000000],
    [0x3f7cd925, 0xbe20305c],
    [0x3f4f1bbd, 0xbf167918],
    [0x3e20305d, 0xbf7cd925],
    [0xbf4f1bbe, 0xbf167917],
    [0xbf3504f1, 0x3f3504f5],
    [0x3f4f1bbc, 0x3f167919],
    [0x3e203049, 0xbf7cd925],
    [0xbf4f1bba, 0x3f16791c],
    [0x3f7cd924, 0xbe203077],
    [0xbf800000, 0x3535563d],
    [0x3f7cd91f, 0xbe2030e1],
    [0xbf4f1bc0, 0x3f167914],
    [0x3e203007, 0xbf7cd928],
    [0x3f4f1bc8, 0x3f167909],
    [0xbf3504e7, 0x3f350500],
    [0xbf4f1bc8, 0xbf167909],
    [0x3e202f07, 0xbf7cd932],
    [0x3f4f1bad, 0xbf16792f],
    [0x3f7cd91f, 0xbe2030e7],
];

#[inline(always)]
fn bit_reverse(x: usize, bits: u32) -> usize {
    if bits == 0 {
        0
    } else {
        (x as u32).reverse_bits() as usize >> (32 - bits)
    }
}

/// onnxruntime 1.32's `STFT` of a real signal for 20-point frames: each frame is a DFT
/// by Bluestein's algorithm (chirp-z) over 64-point radix-2 FFTs, the inverse FFT reusing
/// the forward twiddles and reading its output reversed, all in f32 as its C++ rounds.
#[derive(Debug, Clone)]
pub struct Stft20 {
    v: [Cpx; 64],
    chirp: [Cpx; 20],
    b_fft: [Cpx; 64],
}

impl Default for Stft20 {
    fn default() -> Self {
        Self::new()
    }
}

impl Stft20 {
    /// Frame length (`n_fft`).
    pub const N: usize = 20;
    const M: usize = 64;

    /// The transform with its chirp spectrum precomputed.
    pub fn new() -> Self {
        let v = TWIDDLES_64.map(Cpx::from_bits);
        let chirp = CHIRP_20.map(Cpx::from_bits);
        let mut b = [Cpx::default(); 64];
        for n in 0..Self::N {
            b[n] = Cpx {
                re: chirp[n].re,
                im: -chirp[n].im,
            };
        }
        for n in Self::M - Self::N + 1..Self::M {
            b[n] = b[Self::M - n];
        }
        let mut s = Stft20 {
            v,
            chirp,
            b_fft: [Cpx::default(); 64],
        };
        s.b_fft = s.fft(&b, false);
        s
    }

    /// onnxruntime's `fft_radix2` on 64 complex values (inverse: same twiddles, ÷ 64).
    fn fft(&self, x: &[Cpx; 64], inverse: bool) -> [Cpx; 64] {
        let mut y = [Cpx::default(); 64];
        for (i, v) in y.iter_mut().enumerate() {
            *v = x[bit_reverse(i, 6)];
        }
        let mut bits = 0;
        let mut size = 2;
        while size <= Self::M {
            let mid = size / 2;
            bits += 1;
            for k in 0..mid {
                let first = self.v[bit_reverse(k, bits)];
                let second = self.v[bit_reverse(mid + k, bits)];
                let mut j = 0;
                while j < Self::M {
                    let (e, o) = (y[k + j], y[k + j + mid]);
                    y[k + j] = e.add(first.mul(o));
                    y[k + j + mid] = e.add(second.mul(o));
                    j += size;
                }
            }
            size *= 2;
        }
        if inverse {
            for v in y.iter_mut() {
                v.re /= Self::M as f32;
                v.im /= Self::M as f32;
            }
        }
        y
    }

    /// Frames of `signal` (already padded) at `hop`, windowed by `window` (20 values):
    /// real and imaginary parts, each `[bins = 11, frames]` row-major, and the frame count.
    pub fn run(&self, signal: &[f32], window: &[f32], hop: usize) -> (Vec<f32>, Vec<f32>, usize) {
        let n = Self::N;
        assert!(window.len() == n && hop > 0);
        if signal.len() < n {
            return (vec![], vec![], 0);
        }
        let frames = (signal.len() - n) / hop + 1;
        let bins = n / 2 + 1;
        let mut re = vec![0f32; bins * frames];
        let mut im = vec![0f32; bins * frames];
        for t in 0..frames {
            let x = &signal[t * hop..t * hop + n];
            let mut a = [Cpx::default(); 64];
            for i in 0..n {
                // (x · w + 0i) · chirp: the imaginary zero contributes exact zeros
                let xw = x[i] * window[i];
                a[i] = Cpx {
                    re: xw * self.chirp[i].re,
                    im: xw * self.chirp[i].im,
                };
            }
            let mut fa = self.fft(&a, false);
            for (v, &b) in fa.iter_mut().zip(&self.b_fft) {
                *v = v.mul(b);
            }
            let c = self.fft(&fa, true);
            for k in 0..bins {
                let ck = if k == 0 { c[0] } else { c[Self::M - k] };
                let out = ck.mul(self.chirp[k]);
                re[k * frames + t] = out.re;
                im[k * frames + t] = out.im;
            }
        }
        (re, im, frames)
    }
}

/// Eigen's vectorised `atan` for f32 (range reduction by 1/x above 1, rational
/// approximation, no fused multiply-adds: the SSE build onnxruntime ships).
#[inline(always)]
fn atan_eigen(x_in: f32) -> f32 {
    #[allow(clippy::excessive_precision)]
    const ALPHA: [f32; 3] = [
        1.12026982009410858154296875e-01,
        7.296695709228515625e-01,
        8.109951019287109375e-01,
    ];
    #[allow(clippy::excessive_precision)]
    const BETA: [f32; 4] = [
        1.00917108356952667236328125e-02,
        2.8318560123443603515625e-01,
        1.0,
        8.109951019287109375e-01,
    ];
    let ax = x_in.abs();
    let large = ax > 1.0;
    let x = if large { 1.0 / ax } else { ax };
    let x2 = x * x;
    let mut p = ALPHA[0];
    for &c in &ALPHA[1..] {
        p = p * x2 + c;
    }
    let mut q = BETA[0];
    for &c in &BETA[1..] {
        q = q * x2 + c;
    }
    let mut r = x * (p / q);
    if large {
        r = std::f32::consts::FRAC_PI_2 - r;
    }
    f32::from_bits(r.to_bits() ^ (x_in.to_bits() & 0x8000_0000))
}

/// The export's STFT magnitude and phase from real and imaginary parts (same layout, the
/// order onnxruntime's element-wise kernels walk): `sqrt(re² + im²)` and
/// `atan(im / re)`, `± π` where `re < 0` (`+` when `im > 0`). `Atan` runs Eigen's packet
/// code on groups of four and the C library's `atanf` on the last `len % 4` values.
pub fn magnitude_phase(re: &[f32], im: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let n = re.len().min(im.len());
    let vec_end = n - n % 4;
    let pi = std::f32::consts::PI;
    let mut mag = Vec::with_capacity(n);
    let mut phase = Vec::with_capacity(n);
    for i in 0..n {
        let (r, m) = (re[i], im[i]);
        mag.push((r * r + m * m).sqrt());
        let q = m / r;
        let a = if i < vec_end { atan_eigen(q) } else { q.atan() };
        phase.push(if r < 0.0 {
            if m > 0.0 {
                a + pi
            } else {
                a - pi
            }
        } else {
            a
        });
    }
    (mag, phase)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_the_true_exponential() {
        for &x in &[-20.0f32, -5.5, -1.0, -0.25, 0.0] {
            let e = sum_exp_element(x, 0.0);
            assert!(
                ((e as f64) / (x as f64).exp() - 1.0).abs() < 1e-6,
                "{x}: {e}"
            );
        }
        // far below the range: rounds to a subnormal or zero, never NaN
        assert!(sum_exp_element(-120.0, 0.0) >= 0.0);
    }

    #[test]
    fn softmax_rows_sum_to_one() {
        let mut x: Vec<f32> = (0..3 * 37)
            .map(|i| ((i * 7919) % 97) as f32 / 13.0)
            .collect();
        softmax_rows(&mut x, 37);
        for row in x.chunks(37) {
            let s: f32 = row.iter().sum();
            assert!((s - 1.0).abs() < 1e-5);
        }
    }

    #[test]
    fn sgemm_blocks_agree_with_a_plain_product() {
        let (m, k, n) = (3, 300, 5);
        let a: Vec<f32> = (0..m * k).map(|i| ((i % 11) as f32 - 5.0) / 7.0).collect();
        let b: Vec<f32> = (0..k * n).map(|i| ((i % 13) as f32 - 6.0) / 9.0).collect();
        let mut c = vec![0f32; m * n];
        sgemm(&a, &b, &mut c, m, k, n);
        for i in 0..m {
            for j in 0..n {
                let want: f64 = (0..k)
                    .map(|kk| a[i * k + kk] as f64 * b[kk * n + j] as f64)
                    .sum();
                assert!((c[i * n + j] as f64 - want).abs() < 1e-4);
            }
        }
    }

    #[test]
    fn norms_and_gelu_match_their_definitions() {
        let n = 24;
        let x: Vec<f32> = (0..2 * n)
            .map(|i| ((i * 31) % 17) as f32 / 3.0 - 2.0)
            .collect();
        let g: Vec<f32> = (0..n).map(|i| 1.0 + i as f32 / 50.0).collect();
        let b: Vec<f32> = (0..n).map(|i| i as f32 / 100.0).collect();
        let reference = |row: &[f32]| -> Vec<f64> {
            let mean = row.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
            let var = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n as f64;
            row.iter()
                .enumerate()
                .map(|(i, &v)| (v as f64 - mean) / (var + 1e-12).sqrt() * g[i] as f64 + b[i] as f64)
                .collect()
        };
        let mut y = x.clone();
        layer_norm(&mut y, n, &g, &b, 1e-12);
        let zero = vec![0f32; x.len()];
        let mut z = x.clone();
        skip_layer_norm(&mut z, &zero, n, &g, &b, 1e-12);
        for r in 0..2 {
            let want = reference(&x[r * n..(r + 1) * n]);
            for i in 0..n {
                assert!((y[r * n + i] as f64 - want[i]).abs() < 1e-5);
                assert!((z[r * n + i] as f64 - want[i]).abs() < 1e-5);
            }
        }
        let mut v = vec![-3.0f32, -1.0, 0.0, 0.5, 2.0, 12.0];
        fast_gelu_bias(&mut v, &[0.0]);
        for (got, x) in v.iter().zip([-3.0f64, -1.0, 0.0, 0.5, 2.0, 12.0]) {
            let want = 0.5
                * x
                * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x * x * x)).tanh());
            assert!((*got as f64 - want).abs() < 1e-5, "{x}: {got} vs {want}");
        }
    }

    /// Bit-for-bit against onnxruntime's own outputs (`scripts/ort-kernels-check.py`).
    #[test]
    fn every_kernel_matches_onnxruntime_bit_for_bit() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ortexact");
        let load = |name: &str| -> Vec<f32> {
            let bytes = std::fs::read(dir.join(format!("{name}.f32"))).expect("fixture");
            bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        };
        let same = |what: &str, got: &[f32], want: &[f32]| {
            assert_eq!(got.len(), want.len(), "{what}");
            let differ = got
                .iter()
                .zip(want)
                .filter(|(a, b)| a.to_bits() != b.to_bits())
                .count();
            assert_eq!(differ, 0, "{what}: {differ} of {} values differ", got.len());
        };
        for (name, (m, k, n)) in [("mm_qk", (37, 64, 37)), ("mm_ctx", (50, 200, 64))] {
            let mut c = vec![0f32; m * n];
            sgemm(
                &load(&format!("{name}_a")),
                &load(&format!("{name}_b")),
                &mut c,
                m,
                k,
                n,
            );
            same(name, &c, &load(&format!("{name}_y")));
        }
        let mut x = load("softmax_x");
        softmax_rows(&mut x, 37);
        same("softmax", &x, &load("softmax_y"));
        let (g, b) = (load("ln_g"), load("ln_b"));
        let mut x = load("ln_x");
        layer_norm(&mut x, 768, &g, &b, 1e-12);
        same("layer norm", &x, &load("ln_y"));
        let mut x = load("ln_x");
        skip_layer_norm(&mut x, &load("ln_s"), 768, &g, &b, 1e-12);
        same("skip layer norm", &x, &load("skipln_y"));
        let mut x = load("gelu_x");
        fast_gelu_bias(&mut x, &load("gelu_bias"));
        same("fast gelu", &x, &load("gelu_y"));

        let har = source_linear_tanh(&load("src_sines"), &load("src_w"), load("src_b")[0]);
        same("source linear + tanh", &har, &load("src_y"));
        let (re, im, frames) = Stft20::new().run(&load("stft_x"), &load("src_window"), 5);
        assert_eq!(frames, har.len() / 5 + 1);
        let (mag, phase) = magnitude_phase(&re, &im);
        let want = load("stft_y");
        let half = want.len() / 2;
        same("stft magnitude", &mag, &want[..half]);
        same("stft phase", &phase, &want[half..]);
    }

    #[test]
    fn twiddles_are_the_rounded_cosines_and_sines() {
        let av = -(2.0 * std::f32::consts::PI) / 64.0;
        let mut off = 0;
        for j in 0..64 {
            let a = j as f32 * av;
            let c = Cpx::from_bits(TWIDDLES_64[bit_reverse(j, 6)]);
            off += (c.re != (a as f64).cos() as f32) as usize;
            off += (c.im != (a as f64).sin() as f32) as usize;
        }
        for (n, c) in CHIRP_20.iter().map(|&b| Cpx::from_bits(b)).enumerate() {
            let e = ((-std::f32::consts::PI * n as f32) * n as f32) / 20.0;
            off += (c.re != (e as f64).cos() as f32) as usize;
            off += (c.im != (e as f64).sin() as f32) as usize;
        }
        // glibc's cosf/sinf (what onnxruntime calls) round one of these 168 values the other way
        assert!(off <= 1, "{off}");
    }

    #[test]
    fn stft20_is_a_dft() {
        let x: Vec<f32> = (0..60)
            .map(|i| ((i * 37 % 11) as f32 - 5.0) / 7.0)
            .collect();
        let w = vec![1f32; 20];
        let (re, im, frames) = Stft20::new().run(&x, &w, 5);
        assert_eq!(frames, 9);
        for t in 0..frames {
            for k in 0..11 {
                let (mut r, mut m) = (0f64, 0f64);
                for i in 0..20 {
                    let a = -2.0 * std::f64::consts::PI * (k * i) as f64 / 20.0;
                    r += x[t * 5 + i] as f64 * a.cos();
                    m += x[t * 5 + i] as f64 * a.sin();
                }
                assert!((re[k * frames + t] as f64 - r).abs() < 1e-5, "{t} {k}");
                assert!((im[k * frames + t] as f64 - m).abs() < 1e-5, "{t} {k}");
            }
        }
        let (_, ph) = magnitude_phase(&[-1.0, 1.0, -1.0, 0.0], &[1.0, -1.0, -1e-30, 2.0]);
        let want = [
            0.75 * std::f32::consts::PI,
            -std::f32::consts::FRAC_PI_4,
            -std::f32::consts::PI,
            std::f32::consts::FRAC_PI_2,
        ];
        for (a, b) in ph.iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
    }
}
