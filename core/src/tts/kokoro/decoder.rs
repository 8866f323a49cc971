//! Kokoro's decoder (`decoder.*`): style-conditioned residual blocks over the aligned text
//! features, F0 and energy, then the iSTFTNet generator — a harmonic-plus-noise source
//! driven by F0, two transposed-convolution upsamplers with Snake residual blocks, and an
//! inverse STFT (n_fft 20, hop 5) to 24 kHz audio.

use candle_core::{Device, Result, Tensor};
use candle_nn::VarBuilder;

use super::nn::{adain_snake, leaky_relu, AdaIn1d, AdainResBlk1d, Conv1d, ConvTranspose1d};
use super::ortexact;

/// Shape of the decoder and generator.
#[derive(Debug, Clone, PartialEq)]
pub struct DecoderConfig {
    /// Width of the aligned text features.
    pub dim_in: usize,
    /// Width of the acoustic half of the style vector.
    pub style_dim: usize,
    /// Channels before the first upsampler.
    pub upsample_initial_channel: usize,
    /// Upsampling factors.
    pub upsample_rates: Vec<usize>,
    /// Upsampler kernels.
    pub upsample_kernel_sizes: Vec<usize>,
    /// Kernels of the parallel residual blocks after each upsampler.
    pub resblock_kernel_sizes: Vec<usize>,
    /// Dilations of those blocks.
    pub resblock_dilation_sizes: Vec<[usize; 3]>,
    /// FFT size of the output iSTFT.
    pub n_fft: usize,
    /// Hop of the output iSTFT.
    pub hop: usize,
    /// Output sample rate.
    pub sample_rate: u32,
    /// Harmonics above F0 in the source.
    pub harmonics: usize,
    /// Source noise: `None` (the default) reproduces the ONNX export, which has no noise
    /// and starts every harmonic at phase 0; `Some(seed)` adds PyTorch Kokoro's Gaussian
    /// noise (σ 0.003 voiced, 0.033 unvoiced) and random initial phases from `seed`.
    pub noise_seed: Option<u64>,
    /// Simulate onnxruntime's int8 activation quantisation (see [`super::nn::fake_quant`]).
    pub int8_activations: bool,
}

impl Default for DecoderConfig {
    /// Kokoro-82M's iSTFTNet: 512 → 256 → 128 channels, ×10 ×6, n_fft 20, hop 5.
    fn default() -> Self {
        DecoderConfig {
            dim_in: 512,
            style_dim: 128,
            upsample_initial_channel: 512,
            upsample_rates: vec![10, 6],
            upsample_kernel_sizes: vec![20, 12],
            resblock_kernel_sizes: vec![3, 7, 11],
            resblock_dilation_sizes: vec![[1, 3, 5]; 3],
            n_fft: 20,
            hop: 5,
            sample_rate: 24_000,
            harmonics: 8,
            noise_seed: None,
            int8_activations: true,
        }
    }
}

impl DecoderConfig {
    /// Audio samples per F0 value (F0 runs at twice the frame rate): 300 for Kokoro.
    pub fn samples_per_f0(&self) -> usize {
        self.upsample_rates.iter().product::<usize>() * self.hop
    }
}

/// HiFi-GAN's residual block with AdaIN and Snake activations (`AdaINResBlock1`).
#[derive(Debug, Clone)]
pub struct AdaInResBlock1 {
    convs1: Vec<Conv1d>,
    convs2: Vec<Conv1d>,
    adain1: Vec<AdaIn1d>,
    adain2: Vec<AdaIn1d>,
    alpha1: Vec<Tensor>,
    alpha2: Vec<Tensor>,
    /// `(α, 1/α)` per channel on the host, for the fused integer path.
    host_alpha1: Vec<(Vec<f32>, Vec<f32>)>,
    host_alpha2: Vec<(Vec<f32>, Vec<f32>)>,
}

impl AdaInResBlock1 {
    /// Loads `convs1.*`, `convs2.*`, `adain1.*`, `adain2.*`, `alpha1.*`, `alpha2.*`;
    /// `int8` as in [`super::nn::fake_quant`].
    pub fn load(
        vb: VarBuilder,
        channels: usize,
        kernel: usize,
        dilation: [usize; 3],
        style_dim: usize,
        int8: bool,
    ) -> Result<Self> {
        let mut b = AdaInResBlock1 {
            convs1: vec![],
            convs2: vec![],
            adain1: vec![],
            adain2: vec![],
            alpha1: vec![],
            alpha2: vec![],
            host_alpha1: vec![],
            host_alpha2: vec![],
        };
        for (i, d) in dilation.iter().enumerate() {
            let pad = |d: usize| (kernel * d - d) / 2;
            b.convs1.push(
                Conv1d::load(
                    vb.pp(format!("convs1.{i}")),
                    channels,
                    channels,
                    kernel,
                    pad(*d),
                    1,
                    *d,
                    true,
                )?
                .with_int8(int8),
            );
            b.convs2.push(
                Conv1d::load(
                    vb.pp(format!("convs2.{i}")),
                    channels,
                    channels,
                    kernel,
                    pad(1),
                    1,
                    1,
                    true,
                )?
                .with_int8(int8),
            );
            b.adain1.push(AdaIn1d::load(
                vb.pp(format!("adain1.{i}")),
                style_dim,
                channels,
                int8,
            )?);
            b.adain2.push(AdaIn1d::load(
                vb.pp(format!("adain2.{i}")),
                style_dim,
                channels,
                int8,
            )?);
            b.alpha1
                .push(vb.get((1, channels, 1), &format!("alpha1.{i}"))?);
            b.alpha2
                .push(vb.get((1, channels, 1), &format!("alpha2.{i}"))?);
        }
        let host = |t: &Tensor| -> Result<(Vec<f32>, Vec<f32>)> {
            let a: Vec<f32> = t
                .to_dtype(candle_core::DType::F32)?
                .flatten_all()?
                .to_vec1()?;
            let inv = a.iter().map(|a| 1.0 / a).collect();
            Ok((a, inv))
        };
        b.host_alpha1 = b.alpha1.iter().map(host).collect::<Result<_>>()?;
        b.host_alpha2 = b.alpha2.iter().map(host).collect::<Result<_>>()?;
        Ok(b)
    }

    /// The block on host slices with the integer convolutions and fused AdaIN + Snake,
    /// when every convolution has an integer kernel (int8 mode on the CPU).
    fn forward_integer(&self, x: &Tensor, s: &Tensor) -> Result<Option<Tensor>> {
        let mut kernels = Vec::with_capacity(2 * self.convs1.len());
        for (c1, c2) in self.convs1.iter().zip(&self.convs2) {
            match (c1.integer(), c2.integer()) {
                (Some(a), Some(b)) => kernels.push((a, b)),
                _ => return Ok(None),
            }
        }
        let (_, c, t) = x.dims3()?;
        let mut xv: Vec<f32> = x
            .to_dtype(candle_core::DType::F32)?
            .flatten_all()?
            .to_vec1()?;
        for (i, (k1, k2)) in kernels.iter().enumerate() {
            let (g1, b1) = self.adain1[i].gain_offset(s)?;
            let (a1, ia1) = &self.host_alpha1[i];
            let h = k1.forward(&adain_snake(&xv, t, &g1, &b1, a1, ia1), t);
            let (g2, b2) = self.adain2[i].gain_offset(s)?;
            let (a2, ia2) = &self.host_alpha2[i];
            let h = k2.forward(&adain_snake(&h, t, &g2, &b2, a2, ia2), t);
            if h.len() != xv.len() {
                return Err(candle_core::Error::Msg(
                    "residual block: convolution changed the length".into(),
                ));
            }
            for (x, h) in xv.iter_mut().zip(&h) {
                *x += h;
            }
        }
        Ok(Some(
            Tensor::from_vec(xv, (1, c, t), x.device())?.to_dtype(x.dtype())?,
        ))
    }

    /// `x` `[1, c, t]`, `s` `[1, style]` → `[1, c, t]`.
    pub fn forward(&self, x: &Tensor, s: &Tensor) -> Result<Tensor> {
        if let Some(y) = self.forward_integer(x, s)? {
            return Ok(y);
        }
        let mut x = x.clone();
        for i in 0..self.convs1.len() {
            let xt = snake(&self.adain1[i].forward(&x, s)?, &self.alpha1[i])?;
            let xt = self.convs1[i].forward(&xt)?;
            let xt = snake(&self.adain2[i].forward(&xt, s)?, &self.alpha2[i])?;
            let xt = self.convs2[i].forward(&xt)?;
            x = (xt + x)?;
        }
        Ok(x)
    }
}

/// Snake activation `x + sin²(αx)/α`, α per channel `[1, c, 1]`.
fn snake(x: &Tensor, alpha: &Tensor) -> Result<Tensor> {
    let s = x.broadcast_mul(alpha)?.sin()?.sqr()?;
    x + s.broadcast_div(alpha)?
}

/// The iSTFTNet generator with its harmonic source.
#[derive(Debug, Clone)]
pub struct Generator {
    /// `m_source.l_linear` on the host: weights (one per harmonic) and bias.
    l_weight: Vec<f32>,
    l_bias: f32,
    noise_convs: Vec<Conv1d>,
    noise_res: Vec<AdaInResBlock1>,
    ups: Vec<ConvTranspose1d>,
    resblocks: Vec<AdaInResBlock1>,
    conv_post: Conv1d,
    cfg: DecoderConfig,
}

impl Generator {
    /// Loads `m_source.l_linear`, `noise_convs.*`, `noise_res.*`, `ups.*`, `resblocks.*`,
    /// `conv_post`.
    pub fn load(vb: VarBuilder, cfg: &DecoderConfig) -> Result<Self> {
        let n_up = cfg.upsample_rates.len();
        let bins = cfg.n_fft + 2;
        let q8 = cfg.int8_activations;
        let l_linear = candle_nn::linear(cfg.harmonics + 1, 1, vb.pp("m_source.l_linear"))?;
        let l_bias = match l_linear.bias() {
            Some(b) => b
                .flatten_all()?
                .to_vec1::<f32>()?
                .first()
                .copied()
                .unwrap_or(0.0),
            None => 0.0,
        };
        let mut g = Generator {
            l_weight: l_linear.weight().flatten_all()?.to_vec1()?,
            l_bias,
            noise_convs: vec![],
            noise_res: vec![],
            ups: vec![],
            resblocks: vec![],
            conv_post: Conv1d::load(
                vb.pp("conv_post"),
                cfg.upsample_initial_channel >> n_up,
                bins,
                7,
                3,
                1,
                1,
                true,
            )?,
            cfg: cfg.clone(),
        };
        for i in 0..n_up {
            let (u, k) = (cfg.upsample_rates[i], cfg.upsample_kernel_sizes[i]);
            let c_prev = cfg.upsample_initial_channel >> i;
            let ch = cfg.upsample_initial_channel >> (i + 1);
            g.ups.push(ConvTranspose1d::load(
                vb.pp(format!("ups.{i}")),
                c_prev,
                ch,
                k,
                u,
                (k - u) / 2,
            )?);
            for (j, (k, d)) in cfg
                .resblock_kernel_sizes
                .iter()
                .zip(&cfg.resblock_dilation_sizes)
                .enumerate()
            {
                let idx = i * cfg.resblock_kernel_sizes.len() + j;
                g.resblocks.push(AdaInResBlock1::load(
                    vb.pp(format!("resblocks.{idx}")),
                    ch,
                    *k,
                    *d,
                    cfg.style_dim,
                    q8,
                )?);
            }
            if i + 1 < n_up {
                let stride: usize = cfg.upsample_rates[i + 1..].iter().product();
                g.noise_convs.push(
                    Conv1d::load(
                        vb.pp(format!("noise_convs.{i}")),
                        bins,
                        ch,
                        2 * stride,
                        stride.div_ceil(2),
                        stride,
                        1,
                        true,
                    )?
                    .with_int8(q8),
                );
                g.noise_res.push(AdaInResBlock1::load(
                    vb.pp(format!("noise_res.{i}")),
                    ch,
                    7,
                    [1, 3, 5],
                    cfg.style_dim,
                    q8,
                )?);
            } else {
                g.noise_convs.push(
                    Conv1d::load(
                        vb.pp(format!("noise_convs.{i}")),
                        bins,
                        ch,
                        1,
                        0,
                        1,
                        1,
                        true,
                    )?
                    .with_int8(q8),
                );
                g.noise_res.push(AdaInResBlock1::load(
                    vb.pp(format!("noise_res.{i}")),
                    ch,
                    11,
                    [1, 3, 5],
                    cfg.style_dim,
                    q8,
                )?);
            }
        }
        Ok(g)
    }

    /// The harmonic source: F0 (Hz, `[n_f0]`, host values) → excitation at the audio rate
    /// (`n_f0 · samples_per_f0` samples), `tanh(l_linear(harmonic sines))`, rounded as
    /// onnxruntime rounds the export's `MatMul`, `Add` and `Tanh`.
    pub fn source(&self, f0: &[f32], device: &Device) -> Result<Tensor> {
        let har = self.source_host(f0);
        let n = har.len();
        Tensor::from_vec(har, n, device)
    }

    fn source_host(&self, f0: &[f32]) -> Vec<f32> {
        let sines = sine_source(f0, &self.cfg);
        ortexact::source_linear_tanh(&sines, &self.l_weight, self.l_bias)
    }

    /// `x` `[1, c, 2·frames]`, style `[1, style]`, F0 (Hz) `[2·frames]` → audio `[samples]`.
    pub fn forward(&self, x: &Tensor, s: &Tensor, f0: &Tensor) -> Result<Tensor> {
        let dev = x.device();
        let f0v: Vec<f32> = f0.flatten_all()?.to_vec1()?;
        let har = self.source_host(&f0v);
        let (mag, phase, frames) = stft(&har, self.cfg.n_fft, self.cfg.hop);
        let bins = self.cfg.n_fft / 2 + 1;
        let mut spec = mag;
        spec.extend_from_slice(&phase);
        let har = Tensor::from_vec(spec, (1, 2 * bins, frames), dev)?;
        let n_up = self.ups.len();
        let nk = self.cfg.resblock_kernel_sizes.len();
        let mut x = x.clone();
        for i in 0..n_up {
            x = leaky_relu(&x, 0.1)?;
            let xs = self.noise_res[i].forward(&self.noise_convs[i].forward(&har)?, s)?;
            x = self.ups[i].forward(&x)?;
            if i + 1 == n_up {
                // ReflectionPad1d((1, 0))
                let first = x.narrow(2, 1, 1)?;
                x = Tensor::cat(&[&first, &x], 2)?;
            }
            x = (x + xs)?;
            let mut acc: Option<Tensor> = None;
            for j in 0..nk {
                let y = self.resblocks[i * nk + j].forward(&x, s)?;
                acc = Some(match acc {
                    None => y,
                    Some(a) => (a + y)?,
                });
            }
            x = (acc.expect("at least one resblock") / nk as f64)?;
        }
        let x = leaky_relu(&x, 0.01)?;
        let x = self.conv_post.forward(&x)?.squeeze(0)?; // [n_fft + 2, frames]
        let mag = x.narrow(0, 0, bins)?.exp()?;
        let ph = x.narrow(0, bins, bins)?.sin()?;
        let mag: Vec<f32> = mag.flatten_all()?.to_vec1()?;
        let ph: Vec<f32> = ph.flatten_all()?.to_vec1()?;
        let audio = istft(&mag, &ph, self.cfg.n_fft, self.cfg.hop);
        let n = audio.len();
        Tensor::from_vec(audio, n, dev)
    }
}

/// Harmonic sines `[samples, harmonics + 1]` (row-major) for F0 values (Hz) at
/// `samples_per_f0` samples each, as the ONNX export computes them: per F0 value the phase
/// increment `2π · 300 · frac(h·f0 / sr)`, summed, linearly interpolated to the audio rate
/// (half-pixel centres), `0.1 · sin`, zeroed where F0 ≤ 10 Hz.
fn sine_source(f0: &[f32], cfg: &DecoderConfig) -> Vec<f32> {
    let up = cfg.samples_per_f0();
    let nh = cfg.harmonics + 1;
    let m = f0.len();
    let n = m * up;
    let sr = cfg.sample_rate as f32;
    let mut rng = cfg.noise_seed.map(SplitMix::new);
    // initial phases: 0 for the fundamental, random for overtones when seeded
    let mut init = vec![0f32; nh];
    if let Some(r) = rng.as_mut() {
        for v in init.iter_mut().skip(1) {
            *v = r.uniform();
        }
    }
    // cumulative phase per F0 value and harmonic
    let mut phase = vec![0f32; m * nh];
    let mut acc = vec![0f32; nh];
    for i in 0..m {
        for h in 0..nh {
            let x = f0[i] * (h as f32 + 1.0) / sr;
            let mut rad = x - x.floor();
            if i == 0 {
                rad += init[h];
            }
            acc[h] += rad;
            phase[i * nh + h] = acc[h] * 2.0 * std::f32::consts::PI * up as f32;
        }
    }
    let mut out = vec![0f32; n * nh];
    let scale = 1.0 / up as f32;
    for j in 0..n {
        let src = ((j as f32 + 0.5) * scale - 0.5).max(0.0);
        let i0 = (src.floor() as usize).min(m - 1);
        let i1 = (i0 + 1).min(m - 1);
        let w = src - i0 as f32;
        let voiced = f0[j / up] > 10.0;
        for h in 0..nh {
            let p = (1.0 - w) * phase[i0 * nh + h] + w * phase[i1 * nh + h];
            let mut v = if voiced { 0.1 * sin_large(p) } else { 0.0 };
            if let Some(r) = rng.as_mut() {
                let amp = if voiced { 0.003 } else { 0.1 / 3.0 };
                v += amp * r.normal();
            }
            out[j * nh + h] = v;
        }
    }
    out
}

/// `sin` of an f32 phase that may be large (it accumulates over the utterance): reduced
/// modulo 2π in f64, so the result is the correctly rounded sine of the f32 argument to
/// within an ulp, and much faster than libm's large-argument path.
#[inline]
fn sin_large(p: f32) -> f32 {
    let r = (p as f64) % std::f64::consts::TAU;
    r.sin() as f32
}

/// A small deterministic generator (SplitMix64) for the optional source noise.
struct SplitMix(u64);

impl SplitMix {
    fn new(seed: u64) -> Self {
        SplitMix(seed)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn uniform(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
    fn normal(&mut self) -> f32 {
        let u1 = self.uniform().max(1e-7);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f32::consts::PI * u2).cos()
    }
}

/// Periodic Hann window.
fn hann(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| (0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n as f64).cos()) as f32)
        .collect()
}

/// Centred STFT (reflect padding `n_fft / 2`), Hann window: magnitude and phase, each
/// `[bins, frames]` row-major, and the frame count. The phase is `atan2(im, re)` (+π for a
/// negative real value with zero imaginary part, as in PyTorch). Bins that are zero but for
/// rounding have an arbitrary phase in every implementation (onnxruntime's differ from
/// ours); the model was trained with noise there.
fn stft(x: &[f32], n_fft: usize, hop: usize) -> (Vec<f32>, Vec<f32>, usize) {
    let pad = n_fft / 2;
    let n = x.len();
    let mut xp = Vec::with_capacity(n + 2 * pad);
    xp.extend((1..=pad).rev().map(|i| x[i.min(n - 1)]));
    xp.extend_from_slice(x);
    xp.extend((0..pad).map(|i| x[n.saturating_sub(2 + i)]));
    let frames = (xp.len() - n_fft) / hop + 1;
    let bins = n_fft / 2 + 1;
    let w = hann(n_fft);
    let (cos, sin) = twiddles(n_fft);
    let mut mag = vec![0f32; bins * frames];
    let mut phase = vec![0f32; bins * frames];
    let mut buf = vec![0f32; n_fft];
    for t in 0..frames {
        for (i, b) in buf.iter_mut().enumerate() {
            *b = xp[t * hop + i] * w[i];
        }
        for k in 0..bins {
            let (mut re, mut im) = (0f32, 0f32);
            for (i, &b) in buf.iter().enumerate() {
                let idx = (k * i) % n_fft;
                re += b * cos[idx];
                im -= b * sin[idx];
            }
            mag[k * frames + t] = (re * re + im * im).sqrt();
            phase[k * frames + t] = im.atan2(re);
        }
    }
    (mag, phase, frames)
}

fn twiddles(n: usize) -> (Vec<f32>, Vec<f32>) {
    let ang = |i: usize| 2.0 * std::f64::consts::PI * i as f64 / n as f64;
    (
        (0..n).map(|i| ang(i).cos() as f32).collect(),
        (0..n).map(|i| ang(i).sin() as f32).collect(),
    )
}

/// Inverse of [`stft`] from magnitude and phase sine (`spec = mag · e^{i·phase}`), Hann
/// window, overlap-add normalised by the summed squared window, `n_fft / 2` trimmed at both
/// ends: `hop · (frames − 1)` samples (`torch.istft` with `center=True`).
fn istft(mag: &[f32], phase: &[f32], n_fft: usize, hop: usize) -> Vec<f32> {
    let bins = n_fft / 2 + 1;
    let frames = mag.len() / bins;
    let w = hann(n_fft);
    let (cos, sin) = twiddles(n_fft);
    let full = n_fft + hop * (frames - 1);
    let mut y = vec![0f32; full];
    let mut wsum = vec![0f32; full];
    let mut re = vec![0f32; bins];
    let mut im = vec![0f32; bins];
    for t in 0..frames {
        for k in 0..bins {
            let m = mag[k * frames + t];
            let p = phase[k * frames + t];
            re[k] = m * p.cos();
            im[k] = m * p.sin();
        }
        for i in 0..n_fft {
            // irfft: DC and Nyquist once (imaginary parts ignored), the rest twice
            let mut v = re[0] + re[bins - 1] * if i % 2 == 0 { 1.0 } else { -1.0 };
            for k in 1..bins - 1 {
                let idx = (k * i) % n_fft;
                v += 2.0 * (re[k] * cos[idx] - im[k] * sin[idx]);
            }
            v /= n_fft as f32;
            y[t * hop + i] += v * w[i];
            wsum[t * hop + i] += w[i] * w[i];
        }
    }
    let pad = n_fft / 2;
    (pad..pad + hop * (frames - 1))
        .map(|i| {
            if wsum[i] > 1e-11 {
                y[i] / wsum[i]
            } else {
                y[i]
            }
        })
        .collect()
}

/// The decoder: `encode` / `decode.*` residual blocks, F0 / energy convolutions, `asr_res`
/// and the generator.
#[derive(Debug, Clone)]
pub struct Decoder {
    encode: AdainResBlk1d,
    decode: Vec<AdainResBlk1d>,
    f0_conv: Conv1d,
    n_conv: Conv1d,
    asr_res: Conv1d,
    generator: Generator,
}

impl Decoder {
    /// Loads the decoder from `vb` (the `decoder.` prefix).
    pub fn load(vb: VarBuilder, cfg: &DecoderConfig) -> Result<Self> {
        let (d, sd, q8) = (cfg.dim_in, cfg.style_dim, cfg.int8_activations);
        let cat = 1024 + 2 + 64;
        Ok(Decoder {
            encode: AdainResBlk1d::load(vb.pp("encode"), d + 2, 1024, sd, false, q8)?,
            decode: vec![
                AdainResBlk1d::load(vb.pp("decode.0"), cat, 1024, sd, false, q8)?,
                AdainResBlk1d::load(vb.pp("decode.1"), cat, 1024, sd, false, q8)?,
                AdainResBlk1d::load(vb.pp("decode.2"), cat, 1024, sd, false, q8)?,
                AdainResBlk1d::load(
                    vb.pp("decode.3"),
                    cat,
                    cfg.upsample_initial_channel,
                    sd,
                    true,
                    q8,
                )?,
            ],
            f0_conv: Conv1d::load(vb.pp("F0_conv"), 1, 1, 3, 1, 2, 1, true)?.with_int8(q8),
            n_conv: Conv1d::load(vb.pp("N_conv"), 1, 1, 3, 1, 2, 1, true)?.with_int8(q8),
            asr_res: Conv1d::load(vb.pp("asr_res.0"), d, 64, 1, 0, 1, 1, true)?.with_int8(q8),
            generator: Generator::load(vb.pp("generator"), cfg)?,
        })
    }

    /// Aligned text features `[1, dim_in, frames]`, F0 and energy `[2·frames]`, acoustic
    /// style `[1, style]` → audio `[frames · 600]`.
    pub fn forward(&self, asr: &Tensor, f0: &Tensor, n: &Tensor, s: &Tensor) -> Result<Tensor> {
        let f0c = self.f0_conv.forward(&f0.reshape((1, 1, ()))?)?;
        let nc = self.n_conv.forward(&n.reshape((1, 1, ()))?)?;
        let x = Tensor::cat(&[asr, &f0c, &nc], 1)?;
        let mut x = self.encode.forward(&x, s)?;
        let asr_res = self.asr_res.forward(asr)?;
        let mut res = true;
        for block in &self.decode {
            if res {
                x = Tensor::cat(&[&x, &asr_res, &f0c, &nc], 1)?;
            }
            let up = block_upsamples(block);
            x = block.forward(&x, s)?;
            if up {
                res = false;
            }
        }
        self.generator.forward(&x, s, f0)
    }
}

fn block_upsamples(b: &AdainResBlk1d) -> bool {
    b.upsamples()
}
