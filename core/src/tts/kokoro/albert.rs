//! The phoneme-level BERT of Kokoro (PL-BERT): an ALBERT encoder whose single
//! transformer layer is shared by all layers. Names follow Hugging Face's
//! `AlbertModel` (`embeddings.*`, `encoder.embedding_hidden_mapping_in`,
//! `encoder.albert_layer_groups.0.albert_layers.0.*`).

use std::sync::Arc;

use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::{Embedding, LayerNorm, VarBuilder};

use super::nn::QLinear;
use super::ortexact;

/// LayerNorm epsilon of the export (1e-12 as f32).
const LN_EPS: f32 = 1e-12;

/// Host copies of the float weights for [`Albert::forward`]'s exact path.
#[derive(Debug)]
struct HostWeights {
    word: Vec<f32>,
    position: Vec<f32>,
    token_type: Vec<f32>,
    emb_norm: (Vec<f32>, Vec<f32>),
    attn_norm: (Vec<f32>, Vec<f32>),
    full_norm: (Vec<f32>, Vec<f32>),
}

fn host(t: &Tensor) -> Result<Vec<f32>> {
    t.to_dtype(DType::F32)?.flatten_all()?.to_vec1()
}

fn host_norm(n: &LayerNorm) -> Result<(Vec<f32>, Vec<f32>)> {
    let g = host(n.weight())?;
    let b = match n.bias() {
        Some(b) => host(b)?,
        None => vec![0.0; g.len()],
    };
    Ok((g, b))
}

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
    /// Present when every projection runs the integer kernel: the encoder then rounds
    /// like onnxruntime bit for bit ([`ortexact`]).
    host: Option<Arc<HostWeights>>,
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
        let mut albert = Albert {
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
            host: None,
        };
        let integer = [
            &albert.mapping_in,
            &albert.query,
            &albert.key,
            &albert.value,
            &albert.dense,
            &albert.ffn,
            &albert.ffn_output,
        ]
        .iter()
        .all(|l| l.is_integer());
        if integer && h % cfg.num_heads == 0 {
            albert.host = Some(Arc::new(HostWeights {
                word: host(albert.word.embeddings())?,
                position: host(albert.position.embeddings())?,
                token_type: host(&albert.token_type)?,
                emb_norm: host_norm(&albert.emb_norm)?,
                attn_norm: host_norm(&albert.attn_norm)?,
                full_norm: host_norm(&albert.full_norm)?,
            }));
        }
        Ok(albert)
    }

    /// Whether [`Albert::forward`] takes the path that rounds like onnxruntime.
    pub fn is_exact(&self) -> bool {
        self.host.is_some()
    }

    /// The encoder on host slices with onnxruntime's rounding (see [`ortexact`]).
    fn forward_exact(&self, w: &HostWeights, ids: &Tensor) -> Result<Tensor> {
        let t = ids.dim(1)?;
        let ids: Vec<u32> = ids.flatten_all()?.to_vec1()?;
        let (e, hsz, nh) = (
            self.cfg.embedding_size,
            self.cfg.hidden_size,
            self.cfg.num_heads,
        );
        let hd = hsz / nh;
        if t > self.cfg.max_positions {
            candle_core::bail!("{t} tokens, the encoder takes {}", self.cfg.max_positions);
        }
        // embeddings: (word + token type) + position, as the graph adds them
        let mut x = vec![0f32; t * e];
        for (i, &id) in ids.iter().enumerate() {
            let id = id as usize;
            if id >= self.cfg.vocab_size {
                candle_core::bail!("token id {id} outside the vocabulary");
            }
            for c in 0..e {
                x[i * e + c] = (w.word[id * e + c] + w.token_type[c]) + w.position[i * e + c];
            }
        }
        ortexact::layer_norm(&mut x, e, &w.emb_norm.0, &w.emb_norm.1, LN_EPS);
        let lin = |l: &QLinear, x: &[f32], input: usize| -> Result<Vec<f32>> {
            let xt = Tensor::from_slice(x, (1, t, input), &Device::Cpu)?;
            host(&l.forward(&xt)?)
        };
        let mut x = lin(&self.mapping_in, &x, e)?;
        // q and k are each scaled by sqrt(1 / sqrt(head size)) before their product
        let s = (1.0f32 / (hd as f32).sqrt()).sqrt();
        let mut qh = vec![0f32; nh * t * hd];
        let mut kt = vec![0f32; nh * hd * t];
        let mut vh = vec![0f32; nh * t * hd];
        let mut scores = vec![0f32; t * t];
        let mut ctx_h = vec![0f32; t * hd];
        for _ in 0..self.cfg.num_layers {
            let q = lin(&self.query, &x, hsz)?;
            let k = lin(&self.key, &x, hsz)?;
            let v = lin(&self.value, &x, hsz)?;
            for i in 0..t {
                for h in 0..nh {
                    for d in 0..hd {
                        let src = i * hsz + h * hd + d;
                        qh[(h * t + i) * hd + d] = q[src] * s;
                        kt[(h * hd + d) * t + i] = k[src] * s;
                        vh[(h * t + i) * hd + d] = v[src];
                    }
                }
            }
            let mut ctx = vec![0f32; t * hsz];
            for h in 0..nh {
                ortexact::sgemm(
                    &qh[h * t * hd..(h + 1) * t * hd],
                    &kt[h * hd * t..(h + 1) * hd * t],
                    &mut scores,
                    t,
                    hd,
                    t,
                );
                ortexact::softmax_rows(&mut scores, t);
                ortexact::sgemm(
                    &scores,
                    &vh[h * t * hd..(h + 1) * t * hd],
                    &mut ctx_h,
                    t,
                    t,
                    hd,
                );
                for i in 0..t {
                    ctx[i * hsz + h * hd..i * hsz + (h + 1) * hd]
                        .copy_from_slice(&ctx_h[i * hd..(i + 1) * hd]);
                }
            }
            let mut a = lin(&self.dense, &ctx, hsz)?;
            for (a, &r) in a.iter_mut().zip(&x) {
                *a += r;
            }
            ortexact::layer_norm(&mut a, hsz, &w.attn_norm.0, &w.attn_norm.1, LN_EPS);
            // the ffn bias is already added (in f32 after scaling, as FastGelu adds it)
            let mut f = lin(&self.ffn, &a, hsz)?;
            ortexact::fast_gelu_bias(&mut f, &[0.0]);
            let mut f = lin(&self.ffn_output, &f, self.cfg.intermediate_size)?;
            ortexact::skip_layer_norm(&mut f, &a, hsz, &w.full_norm.0, &w.full_norm.1, LN_EPS);
            x = f;
        }
        Tensor::from_vec(x, (1, t, hsz), self.word.embeddings().device())
    }

    /// Token ids `[1, t]` (u32) → hidden states `[1, t, hidden]` (no padding mask: batch 1).
    pub fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        if let Some(w) = &self.host {
            return self.forward_exact(w, ids);
        }
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
