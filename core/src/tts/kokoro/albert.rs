//! The phoneme-level BERT of Kokoro (PL-BERT): an ALBERT encoder whose single
//! transformer layer is shared by all layers. Names follow Hugging Face's
//! `AlbertModel` (`embeddings.*`, `encoder.embedding_hidden_mapping_in`,
//! `encoder.albert_layer_groups.0.albert_layers.0.*`).

use candle_core::{Module, Result, Tensor};
use candle_nn::{Embedding, LayerNorm, VarBuilder};

use super::nn::QLinear;

/// Shape of the ALBERT encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlbertConfig {
    /// Phoneme vocabulary size.
    pub vocab_size: usize,
    /// Embedding width.
    pub embedding_size: usize,
    /// Transformer width.
    pub hidden_size: usize,
    /// Attention heads.
    pub num_heads: usize,
    /// Feed-forward width.
    pub intermediate_size: usize,
    /// How many times the shared layer is applied.
    pub num_layers: usize,
    /// Longest input (positions).
    pub max_positions: usize,
    /// Simulate onnxruntime's int8 activation quantisation (see [`super::nn::fake_quant`]).
    pub int8_activations: bool,
}

impl Default for AlbertConfig {
    /// Kokoro-82M's PL-BERT: 178 symbols, 128 → 768, 12 heads, 2048, 12 layers, 512 positions.
    fn default() -> Self {
        AlbertConfig {
            vocab_size: 178,
            embedding_size: 128,
            hidden_size: 768,
            num_heads: 12,
            intermediate_size: 2048,
            num_layers: 12,
            max_positions: 512,
            int8_activations: true,
        }
    }
}

/// The ALBERT encoder.
#[derive(Debug, Clone)]
pub struct Albert {
    word: Embedding,
    position: Embedding,
    token_type: Tensor,
    emb_norm: LayerNorm,
    mapping_in: QLinear,
    query: QLinear,
    key: QLinear,
    value: QLinear,
    dense: QLinear,
    attn_norm: LayerNorm,
    ffn: QLinear,
    ffn_output: QLinear,
    full_norm: LayerNorm,
    cfg: AlbertConfig,
}

impl Albert {
    /// Loads the encoder from `vb` (the `bert.` prefix of the checkpoint).
    pub fn load(vb: VarBuilder, cfg: AlbertConfig) -> Result<Self> {
        let e = vb.pp("embeddings");
        let l = vb.pp("encoder.albert_layer_groups.0.albert_layers.0");
        let a = l.pp("attention");
        let h = cfg.hidden_size;
        let q8 = cfg.int8_activations;
        let ln = |vb: VarBuilder, n: usize| candle_nn::layer_norm(n, 1e-12, vb);
        Ok(Albert {
            word: candle_nn::embedding(
                cfg.vocab_size,
                cfg.embedding_size,
                e.pp("word_embeddings"),
            )?,
            position: candle_nn::embedding(
                cfg.max_positions,
                cfg.embedding_size,
                e.pp("position_embeddings"),
            )?,
            token_type: e
                .get((2, cfg.embedding_size), "token_type_embeddings.weight")?
                .narrow(0, 0, 1)?,
            emb_norm: ln(e.pp("LayerNorm"), cfg.embedding_size)?,
            mapping_in: QLinear::load(
                vb.pp("encoder.embedding_hidden_mapping_in"),
                cfg.embedding_size,
                h,
                q8,
            )?,
            query: QLinear::load(a.pp("query"), h, h, q8)?,
            key: QLinear::load(a.pp("key"), h, h, q8)?,
            value: QLinear::load(a.pp("value"), h, h, q8)?,
            dense: QLinear::load(a.pp("dense"), h, h, q8)?,
            attn_norm: ln(a.pp("LayerNorm"), h)?,
            ffn: QLinear::load(l.pp("ffn"), h, cfg.intermediate_size, q8)?,
            ffn_output: QLinear::load(l.pp("ffn_output"), cfg.intermediate_size, h, q8)?,
            full_norm: ln(l.pp("full_layer_layer_norm"), h)?,
            cfg,
        })
    }

    /// Token ids `[1, t]` (u32) → hidden states `[1, t, hidden]` (no padding mask: batch 1).
    pub fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        let t = ids.dim(1)?;
        let pos = Tensor::arange(0u32, t as u32, ids.device())?.unsqueeze(0)?;
        let x = (self.word.forward(ids)? + self.position.forward(&pos)?)?
            .broadcast_add(&self.token_type)?;
        let x = self.emb_norm.forward(&x)?;
        let mut x = self.mapping_in.forward(&x)?;

        let nh = self.cfg.num_heads;
        let hd = self.cfg.hidden_size / nh;
        let scale = 1.0 / (hd as f64).sqrt();
        let heads = |y: Tensor| -> Result<Tensor> {
            y.reshape((1, t, nh, hd))?.transpose(1, 2)?.contiguous()
        };
        for _ in 0..self.cfg.num_layers {
            let q = heads(self.query.forward(&x)?)?;
            let k = heads(self.key.forward(&x)?)?;
            let v = heads(self.value.forward(&x)?)?;
            let att = (q.matmul(&k.t()?)? * scale)?;
            let att = candle_nn::ops::softmax_last_dim(&att)?;
            let ctx = att.matmul(&v)?.transpose(1, 2)?.contiguous()?.reshape((
                1,
                t,
                self.cfg.hidden_size,
            ))?;
            let a = self.attn_norm.forward(&(self.dense.forward(&ctx)? + &x)?)?;
            let f = self.ffn.forward(&a)?.gelu()?; // gelu_new (tanh approximation)
            let f = self.ffn_output.forward(&f)?;
            x = self.full_norm.forward(&(f + a)?)?;
        }
        Ok(x)
    }
}
