//! Kokoro's prosody predictor (`predictor.*`): a style-conditioned duration encoder
//! (bi-LSTMs interleaved with AdaLayerNorm), the duration head, and the F0 / energy
//! (`N`) predictors that run at twice the frame rate.

use candle_core::{Result, Tensor};
use candle_nn::VarBuilder;

use super::nn::{AdaLayerNorm, AdainResBlk1d, BiLstm, Conv1d, QLinear};

/// Shape of the prosody predictor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProsodyConfig {
    /// Width of the text features (`d_hid`).
    pub hidden: usize,
    /// Width of the prosody half of the style vector.
    pub style_dim: usize,
    /// LSTM + AdaLayerNorm pairs in the duration encoder.
    pub layers: usize,
    /// Duration classes (the duration is the sum of their sigmoids).
    pub max_dur: usize,
    /// Simulate onnxruntime's int8 activation quantisation (see [`super::nn::fake_quant`]).
    pub int8_activations: bool,
}

impl Default for ProsodyConfig {
    /// Kokoro-82M: 512, style 128, 3 layers, 50 duration bins.
    fn default() -> Self {
        ProsodyConfig {
            hidden: 512,
            style_dim: 128,
            layers: 3,
            max_dur: 50,
            int8_activations: true,
        }
    }
}

/// The prosody predictor.
#[derive(Debug, Clone)]
pub struct ProsodyPredictor {
    dur_lstms: Vec<(BiLstm, AdaLayerNorm)>,
    lstm: BiLstm,
    duration_proj: QLinear,
    shared: BiLstm,
    f0: Vec<AdainResBlk1d>,
    n: Vec<AdainResBlk1d>,
    f0_proj: Conv1d,
    n_proj: Conv1d,
    cfg: ProsodyConfig,
}

impl ProsodyPredictor {
    /// Loads `text_encoder.lstms.*`, `lstm`, `duration_proj.linear_layer`, `shared`,
    /// `F0.*`, `N.*`, `F0_proj`, `N_proj`.
    pub fn load(vb: VarBuilder, cfg: ProsodyConfig) -> Result<Self> {
        let (h, sd, q8) = (cfg.hidden, cfg.style_dim, cfg.int8_activations);
        let dur_lstms = (0..cfg.layers)
            .map(|i| {
                let l = vb.pp(format!("text_encoder.lstms.{}", 2 * i));
                let n = vb.pp(format!("text_encoder.lstms.{}", 2 * i + 1));
                Ok((
                    BiLstm::load(l, h + sd, h / 2, q8)?,
                    AdaLayerNorm::load(n, sd, h, q8)?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let stack = |name: &str| -> Result<Vec<AdainResBlk1d>> {
            let b = vb.pp(name);
            Ok(vec![
                AdainResBlk1d::load(b.pp("0"), h, h, sd, false, q8)?,
                AdainResBlk1d::load(b.pp("1"), h, h / 2, sd, true, q8)?,
                AdainResBlk1d::load(b.pp("2"), h / 2, h / 2, sd, false, q8)?,
            ])
        };
        Ok(ProsodyPredictor {
            dur_lstms,
            lstm: BiLstm::load(vb.pp("lstm"), h + sd, h / 2, q8)?,
            duration_proj: QLinear::load(vb.pp("duration_proj.linear_layer"), h, cfg.max_dur, q8)?,
            shared: BiLstm::load(vb.pp("shared"), h + sd, h / 2, q8)?,
            f0: stack("F0")?,
            n: stack("N")?,
            f0_proj: Conv1d::load(vb.pp("F0_proj"), h / 2, 1, 1, 0, 1, 1, true)?.with_int8(q8),
            n_proj: Conv1d::load(vb.pp("N_proj"), h / 2, 1, 1, 0, 1, 1, true)?.with_int8(q8),
            cfg,
        })
    }

    /// The duration encoder: BERT features `[t, hidden]` and the prosody style `[1, style]`
    /// → `[t, hidden + style]` (each step's features with the style appended).
    pub fn encode(&self, d_en: &Tensor, s: &Tensor) -> Result<Tensor> {
        let t = d_en.dim(0)?;
        let s_t = s.broadcast_as((t, self.cfg.style_dim))?;
        let mut x = Tensor::cat(&[d_en, &s_t], 1)?;
        for (lstm, norm) in &self.dur_lstms {
            let y = lstm.forward(&x)?;
            let y = norm.forward(&y, s)?;
            x = Tensor::cat(&[&y, &s_t], 1)?;
        }
        Ok(x)
    }

    /// Durations in frames before rounding (`Σ sigmoid(logits)`), `[t]`, from the encoded
    /// features `[t, hidden + style]`.
    pub fn durations(&self, d: &Tensor) -> Result<Tensor> {
        let x = self.lstm.forward(d)?;
        let logits = self.duration_proj.forward(&x)?;
        candle_nn::ops::sigmoid(&logits)?.sum(1)
    }

    /// F0 (Hz) and energy curves at twice the frame rate, `[2·frames]` each, from the
    /// frame-aligned features `[frames, hidden + style]`.
    pub fn f0_energy(&self, en: &Tensor, s: &Tensor) -> Result<(Tensor, Tensor)> {
        let x = self.shared.forward(en)?.t()?.unsqueeze(0)?.contiguous()?; // [1, h, frames]
        let mut f0 = x.clone();
        for b in &self.f0 {
            f0 = b.forward(&f0, s)?;
        }
        let mut n = x;
        for b in &self.n {
            n = b.forward(&n, s)?;
        }
        let f0 = self.f0_proj.forward(&f0)?.flatten_all()?;
        let n = self.n_proj.forward(&n)?.flatten_all()?;
        Ok((f0, n))
    }
}
