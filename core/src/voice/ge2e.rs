//! The GE2E speaker encoder (Wan et al. 2018, "Generalized End-to-End Loss for
//! Speaker Verification"), as trained by Resemblyzer: a 3-layer LSTM over 40 mel
//! bands, the last layer's final hidden state through a 256→256 linear layer,
//! ReLU and L2 normalisation.
//!
//! Pure candle modules: each has a `Config`, is built from a [`VarBuilder`]
//! (PyTorch tensor names: `lstm.weight_ih_l0`, `linear.weight`, …) and has a
//! `forward`; no I/O, so they test with random weights as well as the real ones.

use candle_core::{DType, Device, Module, Result, Tensor, D};
use candle_nn::{Linear, VarBuilder};

/// Shape of the encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ge2eConfig {
    /// Mel bands in.
    pub n_mels: usize,
    /// LSTM hidden size.
    pub hidden: usize,
    /// Stacked LSTM layers.
    pub layers: usize,
    /// Embedding size out.
    pub embedding: usize,
}

impl Default for Ge2eConfig {
    /// Resemblyzer's model: 40 → 3 × LSTM(256) → 256.
    fn default() -> Self {
        Ge2eConfig {
            n_mels: 40,
            hidden: 256,
            layers: 3,
            embedding: 256,
        }
    }
}

/// One unidirectional LSTM layer with PyTorch's gate order (input, forget, cell, output).
#[derive(Debug, Clone)]
pub struct LstmLayer {
    w_ih_t: Tensor,
    w_hh_t: Tensor,
    bias: Tensor,
    hidden: usize,
}

impl LstmLayer {
    /// Loads `weight_ih_l{i}`, `weight_hh_l{i}`, `bias_ih_l{i}`, `bias_hh_l{i}` from `vb`.
    pub fn load(vb: &VarBuilder, layer: usize, input: usize, hidden: usize) -> Result<Self> {
        let w_ih = vb.get((4 * hidden, input), &format!("weight_ih_l{layer}"))?;
        let w_hh = vb.get((4 * hidden, hidden), &format!("weight_hh_l{layer}"))?;
        let b_ih = vb.get(4 * hidden, &format!("bias_ih_l{layer}"))?;
        let b_hh = vb.get(4 * hidden, &format!("bias_hh_l{layer}"))?;
        Ok(LstmLayer {
            w_ih_t: w_ih.t()?.contiguous()?,
            w_hh_t: w_hh.t()?.contiguous()?,
            bias: (b_ih + b_hh)?,
            hidden,
        })
    }

    /// Runs the layer over `xs` (`[time, batch, input]`, time-major); returns every
    /// hidden state (`[time, batch, hidden]`) and the last one (`[batch, hidden]`).
    ///
    /// The input projection of all time steps is one matrix product; only the
    /// recurrent product runs step by step.
    pub fn forward_seq(&self, xs: &Tensor) -> Result<(Tensor, Tensor)> {
        let (t_len, batch, input) = xs.dims3()?;
        let h4 = 4 * self.hidden;
        let proj = xs
            .reshape((t_len * batch, input))?
            .matmul(&self.w_ih_t)?
            .broadcast_add(&self.bias)?
            .reshape((t_len, batch, h4))?;
        if xs.device().is_cpu() && xs.dtype() == DType::F32 {
            return self.recur_cpu(&proj);
        }
        let mut h = Tensor::zeros((batch, self.hidden), xs.dtype(), xs.device())?;
        let mut c = h.clone();
        let mut outs = Vec::with_capacity(t_len);
        for t in 0..t_len {
            let gates = (proj.get(t)? + h.matmul(&self.w_hh_t)?)?;
            let chunks = gates.chunk(4, D::Minus1)?;
            let i = candle_nn::ops::sigmoid(&chunks[0])?;
            let f = candle_nn::ops::sigmoid(&chunks[1])?;
            let g = chunks[2].tanh()?;
            let o = candle_nn::ops::sigmoid(&chunks[3])?;
            c = ((f * &c)? + (i * g)?)?;
            h = (o * c.tanh()?)?;
            outs.push(h.clone());
        }
        Ok((Tensor::stack(&outs, 0)?, h))
    }

    /// The recurrence on the CPU: the batch is split into one group of rows per
    /// thread, and each thread runs all time steps of its rows on its own
    /// (single-threaded GEMM for the recurrent product, accumulated onto the input
    /// projection, then the gate non-linearities fused in one pass), so threads
    /// never wait for each other between steps. Same equations as the generic path.
    fn recur_cpu(&self, proj: &Tensor) -> Result<(Tensor, Tensor)> {
        use rayon::prelude::*;
        let (t_len, batch, h4) = proj.dims3()?;
        let hid = self.hidden;
        let proj = proj.flatten_all()?.to_vec1::<f32>()?;
        let w = self.w_hh_t.flatten_all()?.to_vec1::<f32>()?; // [hid, 4·hid] row-major
        let groups = rayon::current_num_threads().clamp(1, batch.max(1));
        let per = batch.div_ceil(groups);
        let ranges: Vec<(usize, usize)> = (0..batch)
            .step_by(per.max(1))
            .map(|r0| (r0, (r0 + per).min(batch)))
            .collect();
        let results: Vec<(Vec<f32>, Vec<f32>)> = ranges
            .par_iter()
            .map(|&(r0, r1)| {
                let nb = r1 - r0;
                let mut h = vec![0.0f32; nb * hid];
                let mut c = vec![0.0f32; nb * hid];
                let mut gates = vec![0.0f32; nb * h4];
                let mut outs = vec![0.0f32; t_len * nb * hid];
                for t in 0..t_len {
                    gates.copy_from_slice(&proj[(t * batch + r0) * h4..(t * batch + r1) * h4]);
                    // SAFETY: every pointer covers its whole matrix: gates nb×h4, h nb×hid,
                    // w hid×h4, all row-major with the strides given; no aliasing.
                    unsafe {
                        gemm::gemm(
                            nb,
                            h4,
                            hid,
                            gates.as_mut_ptr(),
                            1,
                            h4 as isize,
                            true,
                            h.as_ptr(),
                            1,
                            hid as isize,
                            w.as_ptr(),
                            1,
                            h4 as isize,
                            1.0,
                            1.0,
                            false,
                            false,
                            false,
                            gemm::Parallelism::None,
                        );
                    }
                    for ((g, hb), cb) in gates
                        .chunks_exact(h4)
                        .zip(h.chunks_exact_mut(hid))
                        .zip(c.chunks_exact_mut(hid))
                    {
                        lstm_cell(g, hb, cb);
                    }
                    outs[t * nb * hid..(t + 1) * nb * hid].copy_from_slice(&h);
                }
                (outs, h)
            })
            .collect();
        let mut outs = vec![0.0f32; t_len * batch * hid];
        let mut last = vec![0.0f32; batch * hid];
        for (&(r0, r1), (o, h)) in ranges.iter().zip(&results) {
            let nb = r1 - r0;
            for t in 0..t_len {
                outs[(t * batch + r0) * hid..(t * batch + r1) * hid]
                    .copy_from_slice(&o[t * nb * hid..(t + 1) * nb * hid]);
            }
            last[r0 * hid..r1 * hid].copy_from_slice(h);
        }
        let dev = Device::Cpu;
        Ok((
            Tensor::from_vec(outs, (t_len, batch, hid), &dev)?,
            Tensor::from_vec(last, (batch, hid), &dev)?,
        ))
    }
}

/// One LSTM cell update for one batch row: gate pre-activations `z` (i, f, g, o
/// blocks of `h.len()` each), state `c` and output `h` updated in place.
#[inline]
fn lstm_cell(z: &[f32], h: &mut [f32], c: &mut [f32]) {
    let n = h.len();
    let (zi, zf, zg, zo) = (&z[..n], &z[n..2 * n], &z[2 * n..3 * n], &z[3 * n..4 * n]);
    for j in 0..n {
        let i = sigmoid(zi[j]);
        let f = sigmoid(zf[j]);
        let g = tanh(zg[j]);
        let o = sigmoid(zo[j]);
        c[j] = f * c[j] + i * g;
        h[j] = o * tanh(c[j]);
    }
}

/// e^x in f32 (Cephes' `expf`: range reduction by ln 2 and a degree-6 polynomial,
/// relative error about 1e-7), branch-free so loops over it vectorise.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let x = x.clamp(-87.0, 88.0);
    // Round to nearest with the 1.5·2^23 trick (no libm call).
    let n = (x * LOG2E + 12_582_912.0) - 12_582_912.0;
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut y = 1.987_569_1e-4f32;
    y = y * r + 1.398_2e-3;
    y = y * r + 8.333_452e-3;
    y = y * r + 4.166_579_6e-2;
    y = y * r + 1.666_666_5e-1;
    y = y * r + 5.000_000_1e-1;
    let e = y * r * r + r + 1.0;
    f32::from_bits(((n as i32 + 127) << 23) as u32) * e
}

#[inline(always)]
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp_f32(-x))
}

#[inline(always)]
fn tanh(x: f32) -> f32 {
    1.0 - 2.0 / (1.0 + exp_f32(2.0 * x))
}

/// The speaker encoder network.
#[derive(Debug, Clone)]
pub struct Ge2e {
    layers: Vec<LstmLayer>,
    linear: Linear,
    cfg: Ge2eConfig,
}

impl Ge2e {
    /// Builds the network from `vb` (tensors `lstm.*` and `linear.*`).
    pub fn load(vb: VarBuilder, cfg: Ge2eConfig) -> Result<Self> {
        let lvb = vb.pp("lstm");
        let layers = (0..cfg.layers)
            .map(|l| {
                LstmLayer::load(
                    &lvb,
                    l,
                    if l == 0 { cfg.n_mels } else { cfg.hidden },
                    cfg.hidden,
                )
            })
            .collect::<Result<Vec<_>>>()?;
        let linear = candle_nn::linear(cfg.hidden, cfg.embedding, vb.pp("linear"))?;
        Ok(Ge2e {
            layers,
            linear,
            cfg,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Ge2eConfig {
        &self.cfg
    }

    /// Embeds a batch of mel spectrograms `[batch, frames, n_mels]` (batch-first,
    /// as PyTorch's `batch_first=True`) into L2-normalised `[batch, embedding]`.
    /// A partial whose ReLU output is all zeros gives a zero row, not NaN.
    pub fn forward(&self, mels: &Tensor) -> Result<Tensor> {
        let mut x = mels.to_dtype(DType::F32)?.transpose(0, 1)?.contiguous()?;
        let mut last = None;
        for layer in &self.layers {
            let (seq, h) = layer.forward_seq(&x)?;
            x = seq;
            last = Some(h);
        }
        let h =
            last.ok_or_else(|| candle_core::Error::Msg("the encoder has no LSTM layers".into()))?;
        let e = self.linear.forward(&h)?.relu()?;
        let norm = e
            .sqr()?
            .sum_keepdim(1)?
            .sqrt()?
            .clamp(1e-12, f64::INFINITY)?;
        e.broadcast_div(&norm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;
    use candle_nn::VarMap;

    /// A hand-computed single LSTM step checks the gate order and the equations.
    #[test]
    fn lstm_step_matches_the_equations() {
        let dev = Device::Cpu;
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &dev);
        LstmLayer::load(&vb, 0, 2, 1).unwrap(); // creates the variables
                                                // Set weights: gates (i, f, g, o) each a row of W_ih (2 inputs) and W_hh (1).
        let data = varmap.data().lock().unwrap();
        data["weight_ih_l0"]
            .set(
                &Tensor::new(&[[0.5f32, -0.2], [0.1, 0.3], [0.7, 0.2], [-0.4, 0.6]], &dev).unwrap(),
            )
            .unwrap();
        data["weight_hh_l0"]
            .set(&Tensor::new(&[[0.2f32], [-0.1], [0.3], [0.5]], &dev).unwrap())
            .unwrap();
        data["bias_ih_l0"]
            .set(&Tensor::new(&[0.1f32, 0.0, -0.1, 0.2], &dev).unwrap())
            .unwrap();
        data["bias_hh_l0"]
            .set(&Tensor::new(&[0.0f32, 0.2, 0.0, 0.0], &dev).unwrap())
            .unwrap();
        drop(data);
        let layer = LstmLayer::load(&vb, 0, 2, 1).unwrap();
        let xs = Tensor::new(&[[[1.0f32, 2.0]], [[-1.0, 0.5]]], &dev).unwrap(); // [time 2, batch 1, 2]
        let (_, h) = layer.forward_seq(&xs).unwrap();
        let got = h.flatten_all().unwrap().to_vec1::<f32>().unwrap()[0];
        let sig = |x: f64| 1.0 / (1.0 + (-x).exp());
        let (mut hh, mut cc) = (0.0f64, 0.0f64);
        for x in [[1.0, 2.0], [-1.0, 0.5]] {
            let i = sig(0.5 * x[0] - 0.2 * x[1] + 0.2 * hh + 0.1);
            let f = sig(0.1 * x[0] + 0.3 * x[1] - 0.1 * hh + 0.2);
            let g = (0.7 * x[0] + 0.2 * x[1] + 0.3 * hh - 0.1).tanh();
            let o = sig(-0.4 * x[0] + 0.6 * x[1] + 0.5 * hh + 0.2);
            cc = f * cc + i * g;
            hh = o * cc.tanh();
        }
        assert!((got as f64 - hh).abs() < 1e-6, "{got} vs {hh}");
    }

    #[test]
    fn fast_exp_is_accurate() {
        let mut worst = 0.0f64;
        for k in -8700..8800 {
            let x = k as f32 * 0.01;
            let want = (x as f64).exp();
            let rel = ((exp_f32(x) as f64 - want) / want).abs();
            worst = worst.max(rel);
        }
        assert!(worst < 3e-7, "worst relative error {worst}");
        assert!(
            (tanh(0.3) - 0.3f32.tanh()).abs() < 1e-6 && tanh(50.0) == 1.0 && tanh(-50.0) == -1.0
        );
        assert!((sigmoid(-2.0) - 1.0 / (1.0 + 2f32.exp())).abs() < 1e-7);
    }

    #[test]
    fn fused_cpu_recurrence_equals_the_generic_one() {
        let dev = Device::Cpu;
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &dev);
        let layer = LstmLayer::load(&vb, 0, 5, 7).unwrap();
        let xs = Tensor::randn(0f32, 1.0, (9, 3, 5), &dev).unwrap();
        let (fast, hf) = layer.forward_seq(&xs).unwrap();
        // The generic path runs for other dtypes: compute in f64 and compare.
        let l64 = LstmLayer {
            w_ih_t: layer.w_ih_t.to_dtype(DType::F64).unwrap(),
            w_hh_t: layer.w_hh_t.to_dtype(DType::F64).unwrap(),
            bias: layer.bias.to_dtype(DType::F64).unwrap(),
            hidden: 7,
        };
        let (slow, hs) = l64.forward_seq(&xs.to_dtype(DType::F64).unwrap()).unwrap();
        let d = (fast.to_dtype(DType::F64).unwrap() - slow)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f64>()
            .unwrap();
        assert!(d < 1e-5, "max difference {d}");
        let d = (hf.to_dtype(DType::F64).unwrap() - hs)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f64>()
            .unwrap();
        assert!(d < 1e-5, "last state differs by {d}");
    }

    #[test]
    fn random_weights_give_unit_embeddings_of_the_right_shape() {
        let dev = Device::Cpu;
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &dev);
        let cfg = Ge2eConfig {
            n_mels: 8,
            hidden: 16,
            layers: 2,
            embedding: 12,
        };
        let m = Ge2e::load(vb, cfg).unwrap();
        let mels = Tensor::rand(0f32, 1.0, (3, 20, 8), &dev).unwrap();
        let e = m.forward(&mels).unwrap();
        assert_eq!(e.dims(), &[3, 12]);
        for row in e.to_vec2::<f32>().unwrap() {
            let n: f32 = row.iter().map(|v| v * v).sum::<f32>().sqrt();
            assert!(n < 1e-6 || (n - 1.0).abs() < 1e-5, "norm {n}");
            assert!(row.iter().all(|v| *v >= 0.0));
        }
    }
}
