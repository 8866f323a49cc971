//! Building blocks shared by the Kokoro modules: convolutions (plain and transposed),
//! bidirectional LSTM, channel layer norm, instance norm with style (AdaIN) and the
//! residual blocks built from them. Tensors are `[batch = 1, channels, time]` unless a
//! doc says otherwise; no I/O.

use candle_core::{DType, Module, Result, Tensor, D};
use candle_nn::{Linear, VarBuilder};

use super::qconv::{fast_kernel_available, QuantConv1d};

/// onnxruntime's dynamic activation quantisation, simulated: `x` is rounded to the 256
/// levels of a per-tensor uint8 grid spanning `[min(0, min x), max(0, max x)]` (scale
/// `range / 255`, zero point rounded) and mapped back to f32. The int8 ONNX export does
/// this to the input of every integer matmul and convolution; doing the same makes this
/// engine follow onnxruntime closely (see [`KokoroConfig::int8_activations`](super::KokoroConfig)).
pub fn fake_quant(x: &Tensor) -> Result<Tensor> {
    Ok(fake_quant_scaled(x)?.0)
}

/// [`fake_quant`], also returning the grid's scale (0 when `x` is all zeros and is
/// returned unchanged).
pub fn fake_quant_scaled(x: &Tensor) -> Result<(Tensor, f32)> {
    let flat = x.flatten_all()?;
    let min = flat
        .min(0)?
        .to_dtype(DType::F32)?
        .to_scalar::<f32>()?
        .min(0.0);
    let max = flat
        .max(0)?
        .to_dtype(DType::F32)?
        .to_scalar::<f32>()?
        .max(0.0);
    if max <= min {
        return Ok((x.clone(), 0.0));
    }
    let scale = (max - min) / 255.0;
    let zp = (-min / scale).round_ties_even().clamp(0.0, 255.0);
    let s = Tensor::new(scale, x.device())?.to_dtype(x.dtype())?;
    let q = (x.broadcast_div(&s)?.round()? + zp as f64)?.clamp(0f32, 255f32)?;
    Ok(((q - zp as f64)?.broadcast_mul(&s)?, scale))
}

/// [`fake_quant`] on host values (the LSTM's per-step hidden state).
pub fn fake_quant_slice(x: &mut [f32]) {
    let min = x.iter().copied().fold(0f32, f32::min);
    let max = x.iter().copied().fold(0f32, f32::max);
    if max <= min {
        return;
    }
    let scale = (max - min) / 255.0;
    let zp = (-min / scale).round_ties_even().clamp(0.0, 255.0);
    for v in x.iter_mut() {
        *v = (((*v / scale).round_ties_even() + zp).clamp(0.0, 255.0) - zp) * scale;
    }
}

/// A linear layer (`weight` `[out, in]`, `bias`) whose input may be int8-quantised first.
#[derive(Debug, Clone)]
pub struct QLinear {
    inner: Linear,
    int8: bool,
    /// The integer kernel (format-3 weights on the CPU): onnxruntime's `MatMulInteger`.
    integer: Option<std::sync::Arc<QuantConv1d>>,
}

impl QLinear {
    /// Loads `weight` and `bias`; `int8` simulates onnxruntime's activation quantisation.
    pub fn load(vb: VarBuilder, input: usize, output: usize, int8: bool) -> Result<Self> {
        let inner = candle_nn::linear(input, output, vb.clone())?;
        let integer = if int8
            && vb.contains_tensor("weight_scale")
            && inner.weight().device().is_cpu()
            && fast_kernel_available()
        {
            let host = |t: &Tensor| -> Result<Vec<f32>> {
                t.to_dtype(DType::F32)?.flatten_all()?.to_vec1()
            };
            let scales = host(&vb.get(output, "weight_scale")?)?;
            let bias = match inner.bias() {
                Some(b) => Some(host(b)?),
                None => None,
            };
            let q = QuantConv1d::linear(&host(inner.weight())?, output, input, &scales, bias)
                .map_err(|e| candle_core::Error::Msg(format!("{}: {}", vb.prefix(), e.0)))?;
            Some(std::sync::Arc::new(q))
        } else {
            None
        };
        Ok(QLinear {
            inner,
            int8,
            integer,
        })
    }

    /// Whether this layer runs onnxruntime's integer `MatMulInteger` kernel.
    pub fn is_integer(&self) -> bool {
        self.int8 && self.integer.is_some()
    }

    /// `[…, in]` → `[…, out]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if let (true, Some(q)) = (self.int8, &self.integer) {
            let dims = x.dims().to_vec();
            let input = *dims.last().unwrap_or(&0);
            if input != q.c_in() {
                return Err(candle_core::Error::Msg(format!(
                    "linear layer takes {} inputs, got {input}",
                    q.c_in()
                )));
            }
            let rows = x.elem_count() / input.max(1);
            // [rows, in] → [in, rows] for the kernel, and back
            let xt: Vec<f32> = x
                .to_dtype(DType::F32)?
                .reshape((rows, input))?
                .t()?
                .contiguous()?
                .flatten_all()?
                .to_vec1()?;
            let y = q.forward(&xt, rows);
            let mut out_dims = dims;
            *out_dims.last_mut().expect("non-empty") = q.c_out();
            return Tensor::from_vec(y, (q.c_out(), rows), x.device())?
                .t()?
                .contiguous()?
                .reshape(out_dims)?
                .to_dtype(x.dtype());
        }
        if self.int8 {
            self.inner.forward(&fake_quant(x)?)
        } else {
            self.inner.forward(x)
        }
    }
}

/// A 1-D convolution with PyTorch's weight layout `[out, in / groups, kernel]`.
#[derive(Debug, Clone)]
pub struct Conv1d {
    weight: Tensor,
    bias: Option<Tensor>,
    /// The int8 export's weight scale (format-2 conversions): with `int8`, the bias is
    /// quantised as onnxruntime does, `floor(bias / (x_scale · w_scale))` steps.
    weight_scale: Option<f32>,
    /// The same convolution in integers, used when `int8` is set (onnxruntime's result).
    integer: Option<std::sync::Arc<QuantConv1d>>,
    padding: usize,
    stride: usize,
    dilation: usize,
    int8: bool,
}

impl Conv1d {
    /// Loads `weight` (and `bias` when `bias` is set) from `vb`.
    #[allow(clippy::too_many_arguments)]
    pub fn load(
        vb: VarBuilder,
        c_in: usize,
        c_out: usize,
        kernel: usize,
        padding: usize,
        stride: usize,
        dilation: usize,
        bias: bool,
    ) -> Result<Self> {
        let weight = vb.get((c_out, c_in, kernel), "weight")?;
        let bias = if bias {
            Some(vb.get(c_out, "bias")?)
        } else {
            None
        };
        let scalar = |name: &str| -> Result<f32> {
            Ok(vb.get(1, name)?.to_dtype(DType::F32)?.to_vec1::<f32>()?[0])
        };
        let weight_scale = if vb.contains_tensor("weight_scale") {
            Some(scalar("weight_scale")?)
        } else {
            None
        };
        // the integer kernel (CPU, stride 1) when the converter kept the uint8 grid
        let integer = match weight_scale {
            Some(ws) if stride == 1 && weight.device().is_cpu() && fast_kernel_available() => {
                let zp = scalar("weight_zero_point")?;
                let w: Vec<f32> = weight.to_dtype(DType::F32)?.flatten_all()?.to_vec1()?;
                let b: Option<Vec<f32>> = match &bias {
                    Some(b) => Some(b.to_dtype(DType::F32)?.to_vec1()?),
                    None => None,
                };
                let q = QuantConv1d::new(&w, c_out, c_in, kernel, padding, dilation, ws, zp, b)
                    .map_err(|e| candle_core::Error::Msg(format!("{}: {}", vb.prefix(), e.0)))?;
                Some(std::sync::Arc::new(q))
            }
            _ => None,
        };
        Ok(Conv1d {
            weight,
            bias,
            weight_scale,
            integer,
            padding,
            stride,
            dilation,
            int8: false,
        })
    }

    /// The integer kernel this convolution runs when `int8` is set (format-2 weights on
    /// the CPU), for callers that work on host slices.
    pub fn integer(&self) -> Option<&QuantConv1d> {
        if self.int8 {
            self.integer.as_deref()
        } else {
            None
        }
    }

    /// Simulates onnxruntime's int8 quantisation of the input when `int8` is set.
    pub fn with_int8(mut self, int8: bool) -> Self {
        self.int8 = int8;
        self
    }

    /// `[1, in, t]` → `[1, out, t']`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if let (true, Some(q)) = (self.int8, &self.integer) {
            let (_, c_in, t) = x.dims3()?;
            let xv: Vec<f32> = x.to_dtype(DType::F32)?.flatten_all()?.to_vec1()?;
            if c_in != q.c_in() || q.c_out() == 0 {
                return Err(candle_core::Error::Msg(
                    "integer convolution: bad input shape".into(),
                ));
            }
            let y = q.forward(&xv, t);
            let t_out = y.len() / q.c_out();
            return Tensor::from_vec(y, (1, q.c_out(), t_out), x.device())?.to_dtype(x.dtype());
        }
        let xq;
        let mut step = None;
        let x = if self.int8 {
            let (q, x_scale) = fake_quant_scaled(x)?;
            xq = q;
            step = self.weight_scale.map(|w| x_scale * w).filter(|s| *s > 0.0);
            &xq
        } else {
            x
        };
        let y = if self.weight.dim(2)? == 1 && self.stride == 1 && self.padding == 0 {
            // 1×1: a plain matrix product
            let (c_out, c_in, _) = self.weight.dims3()?;
            let w = self.weight.reshape((c_out, c_in))?;
            w.matmul(&x.squeeze(0)?)?.unsqueeze(0)?
        } else {
            x.conv1d(&self.weight, self.padding, self.stride, self.dilation, 1)?
        };
        match (&self.bias, step) {
            (Some(b), Some(step)) => {
                // the export adds floor(bias / step) integer steps to the accumulator
                let st = Tensor::new(step, b.device())?.to_dtype(b.dtype())?;
                let bq = b.broadcast_div(&st)?.floor()?.broadcast_mul(&st)?;
                y.broadcast_add(&bq.reshape((1, (), 1))?)
            }
            (Some(b), None) => y.broadcast_add(&b.reshape((1, (), 1))?),
            (None, _) => Ok(y),
        }
    }
}

/// A transposed 1-D convolution (one group), weight `[in, out, kernel]` as in PyTorch,
/// computed as one matrix product followed by an overlap-add of shifted slices.
#[derive(Debug, Clone)]
pub struct ConvTranspose1d {
    /// `[out · kernel', in]`, the kernel zero-padded to a multiple of the stride.
    w_cols: Tensor,
    bias: Tensor,
    c_out: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
}

impl ConvTranspose1d {
    /// Loads `weight` and `bias` from `vb`.
    pub fn load(
        vb: VarBuilder,
        c_in: usize,
        c_out: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
    ) -> Result<Self> {
        let w = vb.get((c_in, c_out, kernel), "weight")?;
        let bias = vb.get(c_out, "bias")?;
        let k_pad = kernel.div_ceil(stride) * stride;
        let w = if k_pad > kernel {
            w.pad_with_zeros(2, 0, k_pad - kernel)?
        } else {
            w
        };
        let w_cols = w.reshape((c_in, c_out * k_pad))?.t()?.contiguous()?;
        Ok(ConvTranspose1d {
            w_cols,
            bias,
            c_out,
            kernel,
            stride,
            padding,
        })
    }

    /// `[1, in, l]` → `[1, out, (l − 1)·stride − 2·padding + kernel]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let l = x.dim(2)?;
        let s = self.stride;
        let m = self.w_cols.dim(0)? / self.c_out / s;
        let cols = self.w_cols.matmul(&x.squeeze(0)?)?; // [out·m·s, l]
        let cols = cols.reshape((self.c_out, m, s, l))?;
        let mut acc: Option<Tensor> = None;
        for j in 0..m {
            let part = cols
                .narrow(1, j, 1)?
                .squeeze(1)?
                .transpose(1, 2)?
                .contiguous()?
                .reshape((self.c_out, l * s))?
                .pad_with_zeros(1, j * s, (m - 1 - j) * s)?;
            acc = Some(match acc {
                None => part,
                Some(a) => (a + part)?,
            });
        }
        let full = acc.expect("kernel is not empty");
        let out_len = (l - 1) * s + self.kernel - 2 * self.padding;
        full.narrow(1, self.padding, out_len)?
            .broadcast_add(&self.bias.reshape(((), 1))?)?
            .unsqueeze(0)
    }
}

/// The depthwise transposed convolution that upsamples by two inside a residual block
/// (kernel 3, stride 2, padding 1, output padding 1, one group per channel).
#[derive(Debug, Clone)]
pub struct DepthwiseUp2 {
    w: [Tensor; 3],
    bias: Tensor,
}

impl DepthwiseUp2 {
    /// Loads `weight` `[channels, 1, 3]` and `bias` from `vb`.
    pub fn load(vb: VarBuilder, channels: usize) -> Result<Self> {
        let w = vb.get((channels, 1, 3), "weight")?;
        let tap = |k: usize| w.narrow(2, k, 1)?.reshape((1, channels, 1));
        Ok(DepthwiseUp2 {
            w: [tap(0)?, tap(1)?, tap(2)?],
            bias: vb.get(channels, "bias")?.reshape((1, channels, 1))?,
        })
    }

    /// `[1, c, l]` → `[1, c, 2l]`: `y[2t] = w1·x[t]`, `y[2t+1] = w2·x[t] + w0·x[t+1]`, plus bias.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (b, c, l) = x.dims3()?;
        let next = x.narrow(2, 1, l - 1)?.pad_with_zeros(2, 0, 1)?;
        let even = x.broadcast_mul(&self.w[1])?;
        let odd = (x.broadcast_mul(&self.w[2])? + next.broadcast_mul(&self.w[0])?)?;
        Tensor::stack(&[even, odd], 3)?
            .reshape((b, c, 2 * l))?
            .broadcast_add(&self.bias)
    }
}

/// Leaky ReLU with the given negative slope.
pub fn leaky_relu(x: &Tensor, slope: f64) -> Result<Tensor> {
    x.maximum(&(x * slope)?)
}

/// Layer norm over the channel axis of `[1, c, t]` (no affine parameters), eps as given.
pub fn norm_channels(x: &Tensor, eps: f64) -> Result<Tensor> {
    let mean = x.mean_keepdim(1)?;
    let xc = x.broadcast_sub(&mean)?;
    let var = xc.sqr()?.mean_keepdim(1)?;
    xc.broadcast_div(&(var + eps)?.sqrt()?)
}

/// Instance norm over time of `[1, c, t]` (biased variance, eps 1e-5, no affine).
pub fn instance_norm(x: &Tensor) -> Result<Tensor> {
    let mean = x.mean_keepdim(2)?;
    let xc = x.broadcast_sub(&mean)?;
    let var = xc.sqr()?.mean_keepdim(2)?;
    xc.broadcast_div(&(var + 1e-5)?.sqrt()?)
}

/// Channel layer norm with learned `gamma` / `beta` (the text encoder's `LayerNorm`).
#[derive(Debug, Clone)]
pub struct ChannelLayerNorm {
    gamma: Tensor,
    beta: Tensor,
}

impl ChannelLayerNorm {
    /// Loads `gamma` and `beta` (`[channels]`).
    pub fn load(vb: VarBuilder, channels: usize) -> Result<Self> {
        Ok(ChannelLayerNorm {
            gamma: vb.get(channels, "gamma")?.reshape((1, channels, 1))?,
            beta: vb.get(channels, "beta")?.reshape((1, channels, 1))?,
        })
    }

    /// `[1, c, t]` → same shape.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        norm_channels(x, 1e-5)?
            .broadcast_mul(&self.gamma)?
            .broadcast_add(&self.beta)
    }
}

/// Instance norm modulated by the style: `(1 + γ(s)) · norm(x) + β(s)` (StyleTTS2's AdaIN1d).
#[derive(Debug, Clone)]
pub struct AdaIn1d {
    fc: QLinear,
    channels: usize,
}

impl AdaIn1d {
    /// Loads `fc` (`style_dim` → `2 · channels`).
    pub fn load(vb: VarBuilder, style_dim: usize, channels: usize, int8: bool) -> Result<Self> {
        Ok(AdaIn1d {
            fc: QLinear::load(vb.pp("fc"), style_dim, 2 * channels, int8)?,
            channels,
        })
    }

    /// The per-channel gain `1 + γ(s)` and offset `β(s)` on the host.
    pub fn gain_offset(&self, s: &Tensor) -> Result<(Vec<f32>, Vec<f32>)> {
        let h: Vec<f32> = self
            .fc
            .forward(s)?
            .to_dtype(DType::F32)?
            .flatten_all()?
            .to_vec1()?;
        let c = self.channels;
        Ok((
            h[..c].iter().map(|g| g + 1.0).collect(),
            h[c..2 * c].to_vec(),
        ))
    }

    /// `x` `[1, c, t]`, `s` `[1, style_dim]`.
    pub fn forward(&self, x: &Tensor, s: &Tensor) -> Result<Tensor> {
        let h = self.fc.forward(s)?; // [1, 2c]
        let gamma = (h.narrow(1, 0, self.channels)? + 1.0)?.unsqueeze(2)?;
        let beta = h.narrow(1, self.channels, self.channels)?.unsqueeze(2)?;
        instance_norm(x)?
            .broadcast_mul(&gamma)?
            .broadcast_add(&beta)
    }
}

/// Layer norm over channels modulated by the style (StyleTTS2's AdaLayerNorm), on `[t, c]`.
#[derive(Debug, Clone)]
pub struct AdaLayerNorm {
    fc: QLinear,
    channels: usize,
}

impl AdaLayerNorm {
    /// Loads `fc` (`style_dim` → `2 · channels`).
    pub fn load(vb: VarBuilder, style_dim: usize, channels: usize, int8: bool) -> Result<Self> {
        Ok(AdaLayerNorm {
            fc: QLinear::load(vb.pp("fc"), style_dim, 2 * channels, int8)?,
            channels,
        })
    }

    /// `x` `[t, c]` (time-major), `s` `[1, style_dim]`.
    pub fn forward(&self, x: &Tensor, s: &Tensor) -> Result<Tensor> {
        let h = self.fc.forward(s)?;
        let gamma = (h.narrow(1, 0, self.channels)? + 1.0)?;
        let beta = h.narrow(1, self.channels, self.channels)?;
        let mean = x.mean_keepdim(D::Minus1)?;
        let xc = x.broadcast_sub(&mean)?;
        let var = xc.sqr()?.mean_keepdim(D::Minus1)?;
        xc.broadcast_div(&(var + 1e-5)?.sqrt()?)?
            .broadcast_mul(&gamma)?
            .broadcast_add(&beta)
    }
}

/// One direction of an LSTM, PyTorch gate order (input, forget, cell, output).
#[derive(Debug, Clone)]
struct LstmDir {
    w_ih_t: Tensor,
    /// `[hidden, 4·hidden]` row-major, on the host.
    w_hh_t: Vec<f32>,
    bias: Tensor,
}

/// A one-layer bidirectional LSTM (`nn.LSTM(..., bidirectional=True, batch_first=True)`).
#[derive(Debug, Clone)]
pub struct BiLstm {
    fwd: LstmDir,
    bwd: LstmDir,
    hidden: usize,
    int8: bool,
}

impl BiLstm {
    /// Loads `weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0` and their `_reverse`.
    /// `int8` simulates onnxruntime's DynamicQuantizeLSTM: the input sequence and each
    /// step's hidden state are quantised to uint8 (per tensor) before their products.
    pub fn load(vb: VarBuilder, input: usize, hidden: usize, int8: bool) -> Result<Self> {
        let dir = |suffix: &str| -> Result<LstmDir> {
            let w_ih = vb.get((4 * hidden, input), &format!("weight_ih_l0{suffix}"))?;
            let w_hh = vb.get((4 * hidden, hidden), &format!("weight_hh_l0{suffix}"))?;
            let b_ih = vb.get(4 * hidden, &format!("bias_ih_l0{suffix}"))?;
            let b_hh = vb.get(4 * hidden, &format!("bias_hh_l0{suffix}"))?;
            Ok(LstmDir {
                w_ih_t: w_ih.t()?.contiguous()?,
                w_hh_t: w_hh
                    .t()?
                    .contiguous()?
                    .to_dtype(DType::F32)?
                    .flatten_all()?
                    .to_vec1()?,
                bias: (b_ih + b_hh)?,
            })
        };
        Ok(BiLstm {
            fwd: dir("")?,
            bwd: dir("_reverse")?,
            hidden,
            int8,
        })
    }

    /// `[t, input]` (time-major, batch 1) → `[t, 2·hidden]` (forward then backward halves).
    ///
    /// The input projections are matrix products on the tensor's device; the recurrence
    /// runs on the host, both directions in parallel.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let t_len = x.dim(0)?;
        let h = self.hidden;
        let xq;
        let x = if self.int8 {
            xq = fake_quant(x)?;
            &xq
        } else {
            x
        };
        let pf = x.matmul(&self.fwd.w_ih_t)?.broadcast_add(&self.fwd.bias)?;
        let pb = x.matmul(&self.bwd.w_ih_t)?.broadcast_add(&self.bwd.bias)?;
        let pf: Vec<f32> = pf.to_dtype(DType::F32)?.flatten_all()?.to_vec1()?;
        let pb: Vec<f32> = pb.to_dtype(DType::F32)?.flatten_all()?.to_vec1()?;
        let (of, ob) = rayon::join(
            || recur(&pf, &self.fwd.w_hh_t, t_len, h, false, self.int8),
            || recur(&pb, &self.bwd.w_hh_t, t_len, h, true, self.int8),
        );
        let mut out = vec![0f32; t_len * 2 * h];
        for t in 0..t_len {
            out[t * 2 * h..t * 2 * h + h].copy_from_slice(&of[t * h..(t + 1) * h]);
            out[t * 2 * h + h..(t + 1) * 2 * h].copy_from_slice(&ob[t * h..(t + 1) * h]);
        }
        Tensor::from_vec(out, (t_len, 2 * h), x.device())?.to_dtype(x.dtype())
    }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// The LSTM recurrence over precomputed input projections `proj` (`[t, 4h]`).
fn recur(
    proj: &[f32],
    w_hh_t: &[f32],
    t_len: usize,
    h: usize,
    reverse: bool,
    int8: bool,
) -> Vec<f32> {
    let h4 = 4 * h;
    let mut hs = vec![0f32; h];
    let mut cs = vec![0f32; h];
    let mut gates = vec![0f32; h4];
    let mut hq = vec![0f32; h];
    let mut out = vec![0f32; t_len * h];
    for step in 0..t_len {
        let t = if reverse { t_len - 1 - step } else { step };
        gates.copy_from_slice(&proj[t * h4..(t + 1) * h4]);
        hq.copy_from_slice(&hs);
        if int8 {
            fake_quant_slice(&mut hq);
        }
        for (k, &hk) in hq.iter().enumerate() {
            if hk == 0.0 {
                continue;
            }
            let row = &w_hh_t[k * h4..(k + 1) * h4];
            for (g, &w) in gates.iter_mut().zip(row) {
                *g += hk * w;
            }
        }
        for j in 0..h {
            let i = sigmoid(gates[j]);
            let f = sigmoid(gates[h + j]);
            let g = gates[2 * h + j].tanh();
            let o = sigmoid(gates[3 * h + j]);
            cs[j] = f * cs[j] + i * g;
            hs[j] = o * cs[j].tanh();
        }
        out[t * h..(t + 1) * h].copy_from_slice(&hs);
    }
    out
}

/// StyleTTS2's `AdainResBlk1d`: AdaIN → LeakyReLU(0.2) → [upsample ×2] → conv → AdaIN →
/// LeakyReLU → conv, plus a (learned when the width changes) shortcut, scaled by 1/√2.
#[derive(Debug, Clone)]
pub struct AdainResBlk1d {
    norm1: AdaIn1d,
    norm2: AdaIn1d,
    conv1: Conv1d,
    conv2: Conv1d,
    conv1x1: Option<Conv1d>,
    pool: Option<DepthwiseUp2>,
}

impl AdainResBlk1d {
    /// Loads `norm1`, `norm2`, `conv1`, `conv2`, `conv1x1` (when `dim_in != dim_out`) and
    /// `pool` (when `upsample`); `int8` as in [`fake_quant`].
    pub fn load(
        vb: VarBuilder,
        dim_in: usize,
        dim_out: usize,
        style_dim: usize,
        upsample: bool,
        int8: bool,
    ) -> Result<Self> {
        Ok(AdainResBlk1d {
            norm1: AdaIn1d::load(vb.pp("norm1"), style_dim, dim_in, int8)?,
            norm2: AdaIn1d::load(vb.pp("norm2"), style_dim, dim_out, int8)?,
            conv1: Conv1d::load(vb.pp("conv1"), dim_in, dim_out, 3, 1, 1, 1, true)?.with_int8(int8),
            conv2: Conv1d::load(vb.pp("conv2"), dim_out, dim_out, 3, 1, 1, 1, true)?
                .with_int8(int8),
            conv1x1: if dim_in != dim_out {
                Some(
                    Conv1d::load(vb.pp("conv1x1"), dim_in, dim_out, 1, 0, 1, 1, false)?
                        .with_int8(int8),
                )
            } else {
                None
            },
            pool: if upsample {
                Some(DepthwiseUp2::load(vb.pp("pool"), dim_in)?)
            } else {
                None
            },
        })
    }

    /// Whether the block doubles the time axis.
    pub fn upsamples(&self) -> bool {
        self.pool.is_some()
    }

    /// `x` `[1, dim_in, t]`, `s` `[1, style_dim]` → `[1, dim_out, t]` (`2t` when upsampling).
    pub fn forward(&self, x: &Tensor, s: &Tensor) -> Result<Tensor> {
        let mut r = leaky_relu(&self.norm1.forward(x, s)?, 0.2)?;
        if let Some(pool) = &self.pool {
            r = pool.forward(&r)?;
        }
        let r = self.conv1.forward(&r)?;
        let r = leaky_relu(&self.norm2.forward(&r, s)?, 0.2)?;
        let r = self.conv2.forward(&r)?;
        let mut sc = if self.pool.is_some() {
            upsample_nearest2(x)?
        } else {
            x.clone()
        };
        if let Some(c) = &self.conv1x1 {
            sc = c.forward(&sc)?;
        }
        (r + sc)? * std::f64::consts::FRAC_1_SQRT_2
    }
}

/// Nearest-neighbour upsampling by two along time: `[1, c, t]` → `[1, c, 2t]`.
pub fn upsample_nearest2(x: &Tensor) -> Result<Tensor> {
    let (b, c, t) = x.dims3()?;
    x.unsqueeze(3)?
        .broadcast_as((b, c, t, 2))?
        .contiguous()?
        .reshape((b, c, 2 * t))
}

/// AdaIN followed by Snake on host rows, one pass per channel (in parallel):
/// `y = z + sin²(α·z) / α` with `z = gain · (x − mean) / √(var + 1e-5) + offset`, where
/// mean and (biased) variance run over time. `x` and the result are `[c][t]` row-major;
/// `inv_alpha` is `1 / α` as the export stores it.
pub fn adain_snake(
    x: &[f32],
    t: usize,
    gain: &[f32],
    offset: &[f32],
    alpha: &[f32],
    inv_alpha: &[f32],
) -> Vec<f32> {
    use rayon::prelude::*;
    let mut out = vec![0f32; x.len()];
    if t == 0 {
        return out;
    }
    out.par_chunks_mut(t)
        .zip(x.par_chunks(t))
        .enumerate()
        .for_each(|(c, (y, row))| {
            let n = t as f32;
            let mean = lane_sum(row, |v| v) / n;
            let var = lane_sum(row, |v| (v - mean) * (v - mean)) / n;
            let k = gain[c] / (var + 1e-5).sqrt();
            // the largest sine argument decides whether the fast sine is accurate enough
            let dev = row.iter().fold(0f32, |m, v| m.max((v - mean).abs()));
            let u_max = alpha[c].abs() * (k.abs() * dev + offset[c].abs());
            if u_max <= SIN_FAST_LIMIT {
                snake_row(y, row, mean, k, offset[c], alpha[c], inv_alpha[c]);
            } else {
                for (o, &v) in y.iter_mut().zip(row) {
                    let z = (v - mean) * k + offset[c];
                    let sn = (alpha[c] * z).sin();
                    *o = z + sn * sn * inv_alpha[c];
                }
            }
        });
    out
}

/// One channel of [`adain_snake`]: picks an AVX2 build of the loop when the CPU has it
/// (same arithmetic, eight lanes at a time).
fn snake_row(y: &mut [f32], row: &[f32], mean: f32, k: f32, b: f32, a: f32, ia: f32) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 is present (checked above).
        unsafe { snake_row_avx2(y, row, mean, k, b, a, ia) };
        return;
    }
    snake_row_generic(y, row, mean, k, b, a, ia)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn snake_row_avx2(y: &mut [f32], row: &[f32], mean: f32, k: f32, b: f32, a: f32, ia: f32) {
    snake_row_generic(y, row, mean, k, b, a, ia)
}

#[inline(always)]
fn snake_row_generic(y: &mut [f32], row: &[f32], mean: f32, k: f32, b: f32, a: f32, ia: f32) {
    for (o, &v) in y.iter_mut().zip(row) {
        let z = (v - mean) * k + b;
        let sn = sin_f32(a * z);
        *o = z + sn * sn * ia;
    }
}

/// `Σ f(v)` with sixteen interleaved partial sums (vectorises; the order differs from a
/// sequential sum only by rounding).
#[inline(always)]
fn lane_sum(row: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut acc = [0f32; 16];
    let chunks = row.chunks_exact(16);
    let rest = chunks.remainder();
    for ch in chunks {
        for (a, &v) in acc.iter_mut().zip(ch) {
            *a += f(v);
        }
    }
    acc.iter().sum::<f32>() + rest.iter().map(|&v| f(v)).sum::<f32>()
}

/// Largest argument [`sin_f32`] reduces accurately.
pub const SIN_FAST_LIMIT: f32 = 1.0e5;

/// `sin(x)` for `f32` to within a couple of ulps for |x| ≤ [`SIN_FAST_LIMIT`] (callers
/// use libm beyond), branch-free so that loops over it vectorise.
#[inline(always)]
pub fn sin_f32(x: f32) -> f32 {
    // x = k·π + r, |r| ≤ π/2, π split in three parts (Cody–Waite)
    const INV_PI: f32 = std::f32::consts::FRAC_1_PI;
    const PI_A: f32 = 3.140625;
    const PI_B: f32 = 9.670257568359375e-4;
    const PI_C: f32 = 6.278329e-7;
    let k = (x * INV_PI + 12_582_912.0) - 12_582_912.0; // round half to even
    let r = ((x - k * PI_A) - k * PI_B) - k * PI_C;
    let r2 = r * r;
    // Taylor/minimax odd polynomial for sin on [−π/2, π/2] (error < 6e-8)
    let p = -2.505_210_8e-8f32;
    let p = p * r2 + 2.755_731_9e-6;
    let p = p * r2 - 1.984_127e-4;
    let p = p * r2 + 8.333_333e-3;
    let p = p * r2 - 1.666_666_7e-1;
    let s = p * r2 * r + r;
    // odd k flips the sign
    let flip = ((k as i32) & 1) as u32;
    f32::from_bits(s.to_bits() ^ (flip << 31))
}

#[cfg(test)]
mod fused_tests {
    use super::*;

    #[test]
    fn sin_is_accurate() {
        let mut worst = 0f64;
        let mut x = -2000.0f32;
        while x < 2000.0 {
            let e = (sin_f32(x) as f64 - (x as f64).sin()).abs();
            worst = worst.max(e);
            x += 0.0137;
        }
        assert!(worst < 2e-6, "max error {worst}");
        assert_eq!(sin_f32(0.0), 0.0);
    }

    #[test]
    fn adain_snake_matches_the_tensor_ops() {
        let dev = candle_core::Device::Cpu;
        let (c, t) = (3, 50);
        let x: Vec<f32> = (0..c * t)
            .map(|i| ((i * 37 % 101) as f32 / 17.0).sin() * 2.0)
            .collect();
        let gain = [1.5f32, 0.5, 1.0];
        let off = [0.1f32, -0.2, 0.0];
        let alpha = [0.7f32, 2.0, 1.3];
        let ia: Vec<f32> = alpha.iter().map(|a| 1.0 / a).collect();
        let got = adain_snake(&x, t, &gain, &off, &alpha, &ia);
        let xt = Tensor::from_vec(x, (1, c, t), &dev).unwrap();
        let g = Tensor::from_slice(&gain, (1, c, 1), &dev).unwrap();
        let b = Tensor::from_slice(&off, (1, c, 1), &dev).unwrap();
        let a = Tensor::from_slice(&alpha, (1, c, 1), &dev).unwrap();
        let z = instance_norm(&xt)
            .unwrap()
            .broadcast_mul(&g)
            .unwrap()
            .broadcast_add(&b)
            .unwrap();
        let sn = z.broadcast_mul(&a).unwrap().sin().unwrap().sqr().unwrap();
        let want: Vec<f32> = (z + sn.broadcast_div(&a).unwrap())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-5, "{g} vs {w}");
        }
    }
}
