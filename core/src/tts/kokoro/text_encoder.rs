//! Kokoro's acoustic text encoder: phoneme embedding, three convolution + layer norm +
//! LeakyReLU blocks, and a bidirectional LSTM (`text_encoder.*`).

use candle_core::{Module, Result, Tensor};
use candle_nn::{Embedding, VarBuilder};

use super::nn::{leaky_relu, BiLstm, ChannelLayerNorm, Conv1d};

/// Shape of the text encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextEncoderConfig {
    /// Phoneme vocabulary size.
    pub vocab_size: usize,
    /// Channels.
    pub channels: usize,
    /// Convolution kernel.
    pub kernel_size: usize,
    /// Convolution blocks.
    pub depth: usize,
    /// Simulate onnxruntime's int8 activation quantisation (see [`super::nn::fake_quant`]).
    pub int8_activations: bool,
}

impl Default for TextEncoderConfig {
    /// Kokoro-82M: 178 symbols, 512 channels, kernel 5, 3 blocks.
    fn default() -> Self {
        TextEncoderConfig {
            vocab_size: 178,
            channels: 512,
            kernel_size: 5,
            depth: 3,
            int8_activations: true,
        }
    }
}

/// The text encoder.
#[derive(Debug, Clone)]
pub struct TextEncoder {
    embedding: Embedding,
    cnn: Vec<(Conv1d, ChannelLayerNorm)>,
    lstm: BiLstm,
}

impl TextEncoder {
    /// Loads `embedding`, `cnn.{i}.0` (conv), `cnn.{i}.1` (norm) and `lstm`.
    pub fn load(vb: VarBuilder, cfg: TextEncoderConfig) -> Result<Self> {
        let c = cfg.channels;
        let cnn = (0..cfg.depth)
            .map(|i| {
                let b = vb.pp(format!("cnn.{i}"));
                Ok((
                    Conv1d::load(
                        b.pp("0"),
                        c,
                        c,
                        cfg.kernel_size,
                        (cfg.kernel_size - 1) / 2,
                        1,
                        1,
                        true,
                    )?
                    .with_int8(cfg.int8_activations),
                    ChannelLayerNorm::load(b.pp("1"), c)?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(TextEncoder {
            embedding: candle_nn::embedding(cfg.vocab_size, c, vb.pp("embedding"))?,
            cnn,
            lstm: BiLstm::load(vb.pp("lstm"), c, c / 2, cfg.int8_activations)?,
        })
    }

    /// Token ids `[1, t]` → features `[1, channels, t]`.
    pub fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        let mut x = self.embedding.forward(ids)?.transpose(1, 2)?.contiguous()?;
        for (conv, norm) in &self.cnn {
            x = leaky_relu(&norm.forward(&conv.forward(&x)?)?, 0.2)?;
        }
        let y = self.lstm.forward(&x.squeeze(0)?.t()?.contiguous()?)?; // [t, c]
        y.t()?.unsqueeze(0)?.contiguous()
    }
}
