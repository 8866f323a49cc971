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
//! - The decoder's harmonic source `tanh(l_linear(sines))`: one fused multiply-add chain
//!   and MLAS's `tanh`.
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

// The decoder's harmonic source: `l_linear` and `tanh` (the STFT that follows is not
// emulated: see `models/kokoro/README.md`, "What still differs").

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
    }
}
