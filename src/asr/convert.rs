//! CTranslate2 Whisper → whisper.cpp ggml: maps names and shapes (docs/models.md has the
//! table), splits the fused attention projections, adds the mel filterbank and the byte
//! vocabulary, and writes f16 or q8_0 weights.

use std::io::Write;

use super::ctranslate2::{Ct2Error, Ct2Model};
use super::ggml::{self, FileType, HParams, TensorType};
use super::mel_filters::mel_filterbank;
use super::vocab::{VocabError, decode_vocabulary};

#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error(transparent)]
    Model(#[from] Ct2Error),
    #[error(transparent)]
    Vocabulary(#[from] VocabError),
    #[error("not a Whisper model: spec `{0}`")]
    NotWhisper(String),
    #[error("`{name}` has shape {shape:?}, expected {expected}")]
    Shape {
        name: String,
        shape: Vec<usize>,
        expected: String,
    },
    #[error("`{0}`: the key bias is not zero, whisper.cpp has no place for it")]
    KeyBias(String),
    #[error("writing the ggml file: {0}")]
    Io(#[from] std::io::Error),
}

/// How each weight is stored in the ggml file, as whisper.cpp's converter and quantizer do.
#[derive(Clone, Copy)]
enum Kind {
    /// 1-D tensors, conv biases and positional embeddings: always f32.
    F32,
    /// The 3-D conv kernels: f16 even in quantised files.
    Conv,
    /// Every other 2-D weight: f16, or quantised.
    Matrix,
}

struct Writer<'w, W: Write> {
    out: &'w mut W,
    file_type: FileType,
}

impl<W: Write> Writer<'_, W> {
    fn tensor(
        &mut self,
        name: &str,
        shape: &[usize],
        kind: Kind,
        values: &[f32],
    ) -> Result<(), ConvertError> {
        let ttype = match (kind, self.file_type) {
            (Kind::F32, _) | (_, FileType::F32) => TensorType::F32,
            (Kind::Conv, _) | (Kind::Matrix, FileType::F16) => TensorType::F16,
            (Kind::Matrix, FileType::Q8_0) => {
                let row = shape.last().copied().unwrap_or(0);
                if !row.is_multiple_of(ggml::Q8_0_BLOCK) {
                    return Err(ConvertError::Shape {
                        name: name.into(),
                        shape: shape.to_vec(),
                        expected: "rows that are a multiple of 32 long for q8_0".into(),
                    });
                }
                TensorType::Q8_0
            }
        };
        ggml::write_tensor(self.out, name, shape, ttype, values)?;
        Ok(())
    }
}

fn expect_shape(
    model: &Ct2Model,
    name: &str,
    expected: &[usize],
) -> Result<Vec<f32>, ConvertError> {
    let var = model.get(name)?;
    if var.dims != expected {
        return Err(ConvertError::Shape {
            name: name.into(),
            shape: var.dims.clone(),
            expected: format!("{expected:?}"),
        });
    }
    Ok(var.to_f32()?)
}

fn count_layers(model: &Ct2Model, side: &str) -> usize {
    (0..)
        .take_while(|i| {
            model
                .variables
                .contains_key(&format!("{side}/layer_{i}/ffn/linear_0/weight"))
        })
        .count()
}

/// The model's hyper-parameters, read from its tensor shapes.
pub fn hparams_of(model: &Ct2Model, file_type: FileType) -> Result<HParams, ConvertError> {
    if model.spec != "WhisperSpec" {
        return Err(ConvertError::NotWhisper(model.spec.clone()));
    }
    let dims =
        |name: &str| -> Result<Vec<usize>, ConvertError> { Ok(model.get(name)?.dims.clone()) };
    let two = |name: &str| -> Result<(usize, usize), ConvertError> {
        match dims(name)?.as_slice() {
            [a, b] => Ok((*a, *b)),
            other => Err(ConvertError::Shape {
                name: name.into(),
                shape: other.to_vec(),
                expected: "2 dimensions".into(),
            }),
        }
    };
    let (audio_ctx, audio_state) = two("encoder/position_encodings/encodings")?;
    let (text_ctx, text_state) = two("decoder/position_encodings/encodings")?;
    let (vocab, _) = two("decoder/embeddings/weight")?;
    let n_mels = match dims("encoder/conv1/weight")?.as_slice() {
        [_, mels, 3] => *mels,
        other => {
            return Err(ConvertError::Shape {
                name: "encoder/conv1/weight".into(),
                shape: other.to_vec(),
                expected: "[state, mels, 3]".into(),
            });
        }
    };
    Ok(HParams {
        n_vocab: vocab as i32,
        n_audio_ctx: audio_ctx as i32,
        n_audio_state: audio_state as i32,
        n_audio_head: model.scalar_int("encoder/num_heads")? as i32,
        n_audio_layer: count_layers(model, "encoder") as i32,
        n_text_ctx: text_ctx as i32,
        n_text_state: text_state as i32,
        n_text_head: model.scalar_int("decoder/num_heads")? as i32,
        n_text_layer: count_layers(model, "decoder") as i32,
        n_mels: n_mels as i32,
        ftype: file_type.header_value(),
    })
}

/// Converts a parsed CTranslate2 Whisper model and its `vocabulary.txt` into a ggml file.
pub fn convert(
    model: &Ct2Model,
    vocabulary: &str,
    file_type: FileType,
    out: &mut impl Write,
) -> Result<HParams, ConvertError> {
    let h = hparams_of(model, file_type)?;
    // English-only models have 51,864 ids, multilingual 51,865; whisper.cpp synthesises the
    // special tokens after the text tokens itself.
    let text_tokens = if h.n_vocab == 51_864 { 50_256 } else { 50_257 };
    let tokens = decode_vocabulary(vocabulary, text_tokens)?;
    let filters = mel_filterbank(16_000, 400, h.n_mels as usize);
    ggml::write_header(out, &h, &filters, 201, &tokens)?;

    let mut w = Writer { out, file_type };
    let a = h.n_audio_state as usize;
    let t = h.n_text_state as usize;
    let mels = h.n_mels as usize;

    let v = expect_shape(
        model,
        "encoder/position_encodings/encodings",
        &[h.n_audio_ctx as usize, a],
    )?;
    w.tensor(
        "encoder.positional_embedding",
        &[h.n_audio_ctx as usize, a],
        Kind::F32,
        &v,
    )?;
    for (conv, inputs) in [("conv1", mels), ("conv2", a)] {
        let v = expect_shape(model, &format!("encoder/{conv}/weight"), &[a, inputs, 3])?;
        w.tensor(
            &format!("encoder.{conv}.weight"),
            &[a, inputs, 3],
            Kind::Conv,
            &v,
        )?;
        let v = expect_shape(model, &format!("encoder/{conv}/bias"), &[a])?;
        w.tensor(&format!("encoder.{conv}.bias"), &[a, 1], Kind::F32, &v)?;
    }
    layer_norm(&mut w, model, "encoder/layer_norm", "encoder.ln_post", a)?;
    for i in 0..h.n_audio_layer as usize {
        let (src, dst) = (format!("encoder/layer_{i}"), format!("encoder.blocks.{i}"));
        self_attention(&mut w, model, &src, &dst, a)?;
        ffn(&mut w, model, &src, &dst, a)?;
    }

    let v = expect_shape(
        model,
        "decoder/position_encodings/encodings",
        &[h.n_text_ctx as usize, t],
    )?;
    w.tensor(
        "decoder.positional_embedding",
        &[h.n_text_ctx as usize, t],
        Kind::F32,
        &v,
    )?;
    let vocab = h.n_vocab as usize;
    let v = expect_shape(model, "decoder/embeddings/weight", &[vocab, t])?;
    w.tensor(
        "decoder.token_embedding.weight",
        &[vocab, t],
        Kind::Matrix,
        &v,
    )?;
    layer_norm(&mut w, model, "decoder/layer_norm", "decoder.ln", t)?;
    for i in 0..h.n_text_layer as usize {
        let (src, dst) = (format!("decoder/layer_{i}"), format!("decoder.blocks.{i}"));
        self_attention(&mut w, model, &src, &dst, t)?;
        cross_attention(&mut w, model, &src, &dst, t)?;
        ffn(&mut w, model, &src, &dst, t)?;
    }
    w.out.flush()?;
    Ok(h)
}

fn layer_norm<W: Write>(
    w: &mut Writer<'_, W>,
    model: &Ct2Model,
    src: &str,
    dst: &str,
    d: usize,
) -> Result<(), ConvertError> {
    let gamma = expect_shape(model, &format!("{src}/gamma"), &[d])?;
    w.tensor(&format!("{dst}.weight"), &[d], Kind::F32, &gamma)?;
    let beta = expect_shape(model, &format!("{src}/beta"), &[d])?;
    w.tensor(&format!("{dst}.bias"), &[d], Kind::F32, &beta)
}

fn linear<W: Write>(
    w: &mut Writer<'_, W>,
    model: &Ct2Model,
    src: &str,
    dst: &str,
    out_dim: usize,
    in_dim: usize,
) -> Result<(), ConvertError> {
    let weight = expect_shape(model, &format!("{src}/weight"), &[out_dim, in_dim])?;
    w.tensor(
        &format!("{dst}.weight"),
        &[out_dim, in_dim],
        Kind::Matrix,
        &weight,
    )?;
    let bias = expect_shape(model, &format!("{src}/bias"), &[out_dim])?;
    w.tensor(&format!("{dst}.bias"), &[out_dim], Kind::F32, &bias)
}

/// Writes rows `part` of a fused `[parts·d, d]` projection (and its bias slice, if any).
fn fused_part<W: Write>(
    w: &mut Writer<'_, W>,
    weight: &[f32],
    bias: &[f32],
    part: usize,
    d: usize,
    dst: &str,
    with_bias: bool,
) -> Result<(), ConvertError> {
    let rows = &weight[part * d * d..(part + 1) * d * d];
    w.tensor(&format!("{dst}.weight"), &[d, d], Kind::Matrix, rows)?;
    if with_bias {
        w.tensor(
            &format!("{dst}.bias"),
            &[d],
            Kind::F32,
            &bias[part * d..(part + 1) * d],
        )?;
    }
    Ok(())
}

fn check_zero_bias(bias: &[f32], name: &str) -> Result<(), ConvertError> {
    if bias.iter().any(|v| v.abs() > 1e-6) {
        return Err(ConvertError::KeyBias(name.into()));
    }
    Ok(())
}

fn self_attention<W: Write>(
    w: &mut Writer<'_, W>,
    model: &Ct2Model,
    src: &str,
    dst: &str,
    d: usize,
) -> Result<(), ConvertError> {
    let fused = format!("{src}/self_attention/linear_0");
    let weight = expect_shape(model, &format!("{fused}/weight"), &[3 * d, d])?;
    let bias = expect_shape(model, &format!("{fused}/bias"), &[3 * d])?;
    check_zero_bias(&bias[d..2 * d], &fused)?;
    fused_part(w, &weight, &bias, 0, d, &format!("{dst}.attn.query"), true)?;
    fused_part(w, &weight, &bias, 1, d, &format!("{dst}.attn.key"), false)?;
    fused_part(w, &weight, &bias, 2, d, &format!("{dst}.attn.value"), true)?;
    linear(
        w,
        model,
        &format!("{src}/self_attention/linear_1"),
        &format!("{dst}.attn.out"),
        d,
        d,
    )?;
    layer_norm(
        w,
        model,
        &format!("{src}/self_attention/layer_norm"),
        &format!("{dst}.attn_ln"),
        d,
    )
}

fn cross_attention<W: Write>(
    w: &mut Writer<'_, W>,
    model: &Ct2Model,
    src: &str,
    dst: &str,
    d: usize,
) -> Result<(), ConvertError> {
    linear(
        w,
        model,
        &format!("{src}/attention/linear_0"),
        &format!("{dst}.cross_attn.query"),
        d,
        d,
    )?;
    let fused = format!("{src}/attention/linear_1");
    let weight = expect_shape(model, &format!("{fused}/weight"), &[2 * d, d])?;
    let bias = expect_shape(model, &format!("{fused}/bias"), &[2 * d])?;
    check_zero_bias(&bias[..d], &fused)?;
    fused_part(
        w,
        &weight,
        &bias,
        0,
        d,
        &format!("{dst}.cross_attn.key"),
        false,
    )?;
    fused_part(
        w,
        &weight,
        &bias,
        1,
        d,
        &format!("{dst}.cross_attn.value"),
        true,
    )?;
    linear(
        w,
        model,
        &format!("{src}/attention/linear_2"),
        &format!("{dst}.cross_attn.out"),
        d,
        d,
    )?;
    layer_norm(
        w,
        model,
        &format!("{src}/attention/layer_norm"),
        &format!("{dst}.cross_attn_ln"),
        d,
    )
}

fn ffn<W: Write>(
    w: &mut Writer<'_, W>,
    model: &Ct2Model,
    src: &str,
    dst: &str,
    d: usize,
) -> Result<(), ConvertError> {
    let hidden = model
        .get(&format!("{src}/ffn/linear_0/bias"))?
        .element_count();
    linear(
        w,
        model,
        &format!("{src}/ffn/linear_0"),
        &format!("{dst}.mlp.0"),
        hidden,
        d,
    )?;
    linear(
        w,
        model,
        &format!("{src}/ffn/linear_1"),
        &format!("{dst}.mlp.2"),
        d,
        hidden,
    )?;
    layer_norm(
        w,
        model,
        &format!("{src}/ffn/layer_norm"),
        &format!("{dst}.mlp_ln"),
        d,
    )
}
