//! whisper.cpp's legacy `ggml` model file: the header, writing tensors (f32, f16, q8_0), and a
//! structural check that walks a whole file so that a corrupt or foreign file becomes a clear
//! error here instead of a crash inside whisper.cpp.

use std::io::{self, Read, Write};

pub const MAGIC: u32 = 0x6767_6d6c;
/// whisper.cpp's quantisation version, folded into the header's ftype (`ftype + 1000 * qnt`).
const QNT_VERSION_FACTOR: i32 = 1000;
const QNT_VERSION: i32 = 2;
/// Values per q8_0 block: one f16 scale then 32 signed bytes.
pub const Q8_0_BLOCK: usize = 32;
const Q8_0_BLOCK_BYTES: usize = 2 + Q8_0_BLOCK;

/// The model's shape as whisper.cpp reads it, in file order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HParams {
    pub n_vocab: i32,
    pub n_audio_ctx: i32,
    pub n_audio_state: i32,
    pub n_audio_head: i32,
    pub n_audio_layer: i32,
    pub n_text_ctx: i32,
    pub n_text_state: i32,
    pub n_text_head: i32,
    pub n_text_layer: i32,
    pub n_mels: i32,
    pub ftype: i32,
}

/// How a file's weights are stored (the header's `ftype` without the quantisation version).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    F32,
    F16,
    Q8_0,
}

impl FileType {
    pub fn header_value(self) -> i32 {
        match self {
            Self::F32 => 0,
            Self::F16 => 1,
            Self::Q8_0 => 7 + QNT_VERSION * QNT_VERSION_FACTOR,
        }
    }

    fn from_header(value: i32) -> Option<Self> {
        match value % QNT_VERSION_FACTOR {
            0 => Some(Self::F32),
            1 => Some(Self::F16),
            7 => Some(Self::Q8_0),
            _ => None,
        }
    }

    /// The tensor type whisper.cpp expects for the big 2-D weights of a file of this type.
    fn weight_type(self) -> TensorType {
        match self {
            Self::F32 => TensorType::F32,
            Self::F16 => TensorType::F16,
            Self::Q8_0 => TensorType::Q8_0,
        }
    }
}

/// Element type of one tensor, numbered as ggml numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorType {
    F32,
    F16,
    Q8_0,
}

impl TensorType {
    pub fn code(self) -> i32 {
        match self {
            Self::F32 => 0,
            Self::F16 => 1,
            Self::Q8_0 => 8,
        }
    }

    fn from_code(code: i32) -> Option<Self> {
        match code {
            0 => Some(Self::F32),
            1 => Some(Self::F16),
            8 => Some(Self::Q8_0),
            _ => None,
        }
    }

    /// Bytes needed for `n` elements (`n` must be a whole number of blocks for q8_0).
    fn bytes_for(self, n: usize) -> Option<usize> {
        match self {
            Self::F32 => n.checked_mul(4),
            Self::F16 => n.checked_mul(2),
            Self::Q8_0 => n
                .is_multiple_of(Q8_0_BLOCK)
                .then(|| n / Q8_0_BLOCK * Q8_0_BLOCK_BYTES),
        }
    }
}

fn write_i32(out: &mut impl Write, v: i32) -> io::Result<()> {
    out.write_all(&v.to_le_bytes())
}

/// Writes the magic, hparams, mel filters and vocabulary: everything before the tensors.
pub fn write_header(
    out: &mut impl Write,
    hparams: &HParams,
    mel_filters: &[f32],
    n_fft_bins: i32,
    tokens: &[Vec<u8>],
) -> io::Result<()> {
    out.write_all(&MAGIC.to_le_bytes())?;
    for v in [
        hparams.n_vocab,
        hparams.n_audio_ctx,
        hparams.n_audio_state,
        hparams.n_audio_head,
        hparams.n_audio_layer,
        hparams.n_text_ctx,
        hparams.n_text_state,
        hparams.n_text_head,
        hparams.n_text_layer,
        hparams.n_mels,
        hparams.ftype,
    ] {
        write_i32(out, v)?;
    }
    write_i32(out, hparams.n_mels)?;
    write_i32(out, n_fft_bins)?;
    for v in mel_filters {
        out.write_all(&v.to_le_bytes())?;
    }
    write_i32(out, tokens.len() as i32)?;
    for token in tokens {
        write_i32(out, token.len() as i32)?;
        out.write_all(token)?;
    }
    Ok(())
}

/// Writes one tensor. `shape` is in numpy order (outermost first); ggml stores it reversed.
pub fn write_tensor(
    out: &mut impl Write,
    name: &str,
    shape: &[usize],
    ttype: TensorType,
    values: &[f32],
) -> io::Result<()> {
    write_i32(out, shape.len() as i32)?;
    write_i32(out, name.len() as i32)?;
    write_i32(out, ttype.code())?;
    for dim in shape.iter().rev() {
        write_i32(out, *dim as i32)?;
    }
    out.write_all(name.as_bytes())?;
    match ttype {
        TensorType::F32 => {
            for v in values {
                out.write_all(&v.to_le_bytes())?;
            }
        }
        TensorType::F16 => {
            for v in values {
                out.write_all(&half::f16::from_f32(*v).to_le_bytes())?;
            }
        }
        TensorType::Q8_0 => out.write_all(&quantize_q8_0(values))?,
    }
    Ok(())
}

/// ggml's reference q8_0: per 32 consecutive values one f16 scale `d = max|x| / 127`, then the
/// 32 values as `round(x / d)` in `i8`. A trailing partial block is padded with zeros (the
/// callers only quantise rows whose length is a multiple of 32).
pub fn quantize_q8_0(values: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len().div_ceil(Q8_0_BLOCK) * Q8_0_BLOCK_BYTES);
    for block in values.chunks(Q8_0_BLOCK) {
        let amax = block.iter().fold(0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        let inv = if d == 0.0 { 0.0 } else { 1.0 / d };
        out.extend_from_slice(&half::f16::from_f32(d).to_le_bytes());
        for i in 0..Q8_0_BLOCK {
            let q = block.get(i).map_or(0.0, |v| (v * inv).round());
            out.push((q as i8) as u8);
        }
    }
    out
}

/// Inverse of [`quantize_q8_0`], for tests and checks.
pub fn dequantize_q8_0(bytes: &[u8]) -> Vec<f32> {
    let mut out = Vec::with_capacity(bytes.len() / Q8_0_BLOCK_BYTES * Q8_0_BLOCK);
    for block in bytes.chunks_exact(Q8_0_BLOCK_BYTES) {
        let d = half::f16::from_le_bytes([block[0], block[1]]).to_f32();
        out.extend(block[2..].iter().map(|q| f32::from(*q as i8) * d));
    }
    out
}

/// What a structural check of a ggml file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSummary {
    pub hparams: HParams,
    pub file_type: FileType,
    pub n_tokens: usize,
    pub n_tensors: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum GgmlError {
    #[error("not a whisper.cpp ggml model (magic {found:#010x}, expected {MAGIC:#010x})")]
    BadMagic { found: u32 },
    #[error("model file ends early ({context}): truncated download or copy")]
    Truncated { context: String },
    #[error("model header is implausible: {0}")]
    BadHeader(String),
    #[error("tensor `{name}` is malformed: {reason}")]
    BadTensor { name: String, reason: String },
    #[error("model has {found} tensors, expected {expected} for its layer counts")]
    TensorCount { found: usize, expected: usize },
    #[error("reading the model file: {0}")]
    Io(#[from] io::Error),
}

fn read_i32(input: &mut impl Read, context: &str) -> Result<i32, GgmlError> {
    let mut b = [0u8; 4];
    input
        .read_exact(&mut b)
        .map_err(|e| truncated(e, context))?;
    Ok(i32::from_le_bytes(b))
}

fn truncated(e: io::Error, context: &str) -> GgmlError {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        GgmlError::Truncated {
            context: context.to_string(),
        }
    } else {
        GgmlError::Io(e)
    }
}

fn skip(input: &mut impl Read, n: u64, context: &str) -> Result<(), GgmlError> {
    let copied = io::copy(&mut input.take(n), &mut io::sink())?;
    if copied != n {
        return Err(GgmlError::Truncated {
            context: context.to_string(),
        });
    }
    Ok(())
}

/// The number of tensors whisper.cpp loads for a model with these layer counts.
pub fn expected_tensor_count(h: &HParams) -> usize {
    // Encoder: positional embedding, 2 convs × (weight, bias), ln_post × 2, and per layer
    // attn q(w,b) k(w) v(w,b) out(w,b) attn_ln(2) mlp.0(2) mlp.2(2) mlp_ln(2) = 15.
    // Decoder: positional + token embedding, ln × 2, and per layer 15 + cross attention
    // q(2) k(1) v(2) out(2) ln(2) = 24.
    let enc = 7 + 15 * h.n_audio_layer.max(0) as usize;
    let dec = 4 + 24 * h.n_text_layer.max(0) as usize;
    enc + dec
}

/// Walks a whole ggml file: header, filters, vocabulary and every tensor's size, without
/// keeping the weights. Cheap (one sequential read), and catches truncation and garbage.
pub fn check_file(input: &mut impl Read) -> Result<FileSummary, GgmlError> {
    let magic = read_i32(input, "magic")? as u32;
    if magic != MAGIC {
        return Err(GgmlError::BadMagic { found: magic });
    }
    let mut v = [0i32; 11];
    for slot in &mut v {
        *slot = read_i32(input, "hyper-parameters")?;
    }
    let hparams = HParams {
        n_vocab: v[0],
        n_audio_ctx: v[1],
        n_audio_state: v[2],
        n_audio_head: v[3],
        n_audio_layer: v[4],
        n_text_ctx: v[5],
        n_text_state: v[6],
        n_text_head: v[7],
        n_text_layer: v[8],
        n_mels: v[9],
        ftype: v[10],
    };
    let sane = |x: i32, max: i32| x > 0 && x <= max;
    if !(sane(hparams.n_vocab, 60_000)
        && sane(hparams.n_audio_ctx, 1500)
        && sane(hparams.n_audio_state, 1280)
        && sane(hparams.n_audio_head, 20)
        && (0..=32).contains(&hparams.n_audio_layer)
        && sane(hparams.n_text_ctx, 448)
        && sane(hparams.n_text_state, 1280)
        && sane(hparams.n_text_head, 20)
        && (0..=32).contains(&hparams.n_text_layer)
        && (hparams.n_mels == 80 || hparams.n_mels == 128))
    {
        return Err(GgmlError::BadHeader(format!("{hparams:?}")));
    }
    let file_type = FileType::from_header(hparams.ftype).ok_or_else(|| {
        GgmlError::BadHeader(format!("unsupported weight type {}", hparams.ftype))
    })?;
    let n_mel = read_i32(input, "mel filters")?;
    let n_fft = read_i32(input, "mel filters")?;
    if n_mel != hparams.n_mels || n_fft != 201 {
        return Err(GgmlError::BadHeader(format!(
            "mel filter bank is {n_mel}×{n_fft}, expected {}×201",
            hparams.n_mels
        )));
    }
    skip(input, (n_mel as u64) * (n_fft as u64) * 4, "mel filters")?;
    let n_tokens = read_i32(input, "vocabulary")?;
    if !(0..=hparams.n_vocab).contains(&n_tokens) {
        return Err(GgmlError::BadHeader(format!(
            "{n_tokens} vocabulary entries for n_vocab {}",
            hparams.n_vocab
        )));
    }
    for _ in 0..n_tokens {
        let len = read_i32(input, "vocabulary")?;
        if !(0..=1024).contains(&len) {
            return Err(GgmlError::BadHeader(format!(
                "vocabulary entry of {len} bytes"
            )));
        }
        skip(input, len as u64, "vocabulary")?;
    }
    let mut n_tensors = 0;
    loop {
        let mut first = [0u8; 4];
        match input.read(&mut first)? {
            0 => break,
            4 => {}
            got => {
                let mut rest = [0u8; 4];
                input
                    .read_exact(&mut rest[got..])
                    .map_err(|e| truncated(e, "tensor header"))?;
                first[got..].copy_from_slice(&rest[got..]);
            }
        }
        let n_dims = i32::from_le_bytes(first);
        let name_len = read_i32(input, "tensor header")?;
        let code = read_i32(input, "tensor header")?;
        if !(1..=4).contains(&n_dims) || !(1..=256).contains(&name_len) {
            return Err(GgmlError::BadTensor {
                name: format!("#{n_tensors}"),
                reason: format!("{n_dims} dimensions, name of {name_len} bytes"),
            });
        }
        let mut elements: usize = 1;
        for _ in 0..n_dims {
            let ne = read_i32(input, "tensor shape")?;
            if !(1..=1 << 20).contains(&ne) {
                return Err(GgmlError::BadTensor {
                    name: format!("#{n_tensors}"),
                    reason: format!("dimension {ne}"),
                });
            }
            elements = elements.saturating_mul(ne as usize);
        }
        let mut name = vec![0u8; name_len as usize];
        input
            .read_exact(&mut name)
            .map_err(|e| truncated(e, "tensor name"))?;
        let name = String::from_utf8_lossy(&name).into_owned();
        let ttype = TensorType::from_code(code).ok_or_else(|| GgmlError::BadTensor {
            name: name.clone(),
            reason: format!("unsupported type {code}"),
        })?;
        if ttype == TensorType::Q8_0 && file_type.weight_type() != TensorType::Q8_0 {
            return Err(GgmlError::BadTensor {
                name,
                reason: "q8_0 tensor in a file whose header is not q8_0".into(),
            });
        }
        let bytes = ttype
            .bytes_for(elements)
            .ok_or_else(|| GgmlError::BadTensor {
                name: name.clone(),
                reason: format!("{elements} elements is not a whole number of blocks"),
            })?;
        skip(input, bytes as u64, &format!("data of tensor `{name}`"))?;
        n_tensors += 1;
    }
    let expected = expected_tensor_count(&hparams);
    if n_tensors != expected {
        return Err(GgmlError::TensorCount {
            found: n_tensors,
            expected,
        });
    }
    Ok(FileSummary {
        hparams,
        file_type,
        n_tokens: n_tokens as usize,
        n_tensors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q8_0_round_trip_is_close_and_exact_on_the_block_maximum() {
        let values: Vec<f32> = (0..64).map(|i| ((i as f32) * 0.37).sin() * 0.8).collect();
        let bytes = quantize_q8_0(&values);
        assert_eq!(bytes.len(), 2 * Q8_0_BLOCK_BYTES);
        let back = dequantize_q8_0(&bytes);
        for (a, b) in values.iter().zip(&back) {
            assert!((a - b).abs() <= 0.8 / 127.0, "{a} vs {b}");
        }
        let amax_index = values[..32]
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
            .map(|(i, _)| i)
            .unwrap();
        assert_eq!(
            bytes[2 + amax_index] as i8,
            if values[amax_index] > 0.0 { 127 } else { -127 }
        );
    }

    #[test]
    fn q8_0_all_zero_block_has_zero_scale() {
        let bytes = quantize_q8_0(&[0.0; 32]);
        assert!(bytes.iter().all(|b| *b == 0));
    }

    fn tiny_hparams(ftype: FileType) -> HParams {
        HParams {
            n_vocab: 3,
            n_audio_ctx: 4,
            n_audio_state: 32,
            n_audio_head: 1,
            n_audio_layer: 0,
            n_text_ctx: 4,
            n_text_state: 32,
            n_text_head: 1,
            n_text_layer: 0,
            n_mels: 80,
            ftype: ftype.header_value(),
        }
    }

    fn tiny_file(ftype: FileType) -> Vec<u8> {
        let h = tiny_hparams(ftype);
        let mut out = Vec::new();
        let filters = vec![0.0f32; 80 * 201];
        let tokens = vec![b"a".to_vec(), b"bc".to_vec()];
        write_header(&mut out, &h, &filters, 201, &tokens).unwrap();
        let w = ftype.weight_type();
        for (name, shape, t) in [
            ("encoder.positional_embedding", vec![4, 32], TensorType::F32),
            ("encoder.conv1.weight", vec![32, 80, 3], TensorType::F16),
            ("encoder.conv1.bias", vec![32, 1], TensorType::F32),
            ("encoder.conv2.weight", vec![32, 32, 3], TensorType::F16),
            ("encoder.conv2.bias", vec![32, 1], TensorType::F32),
            ("encoder.ln_post.weight", vec![32], TensorType::F32),
            ("encoder.ln_post.bias", vec![32], TensorType::F32),
            ("decoder.positional_embedding", vec![4, 32], TensorType::F32),
            ("decoder.token_embedding.weight", vec![3, 32], w),
            ("decoder.ln.weight", vec![32], TensorType::F32),
            ("decoder.ln.bias", vec![32], TensorType::F32),
        ] {
            let n: usize = shape.iter().product();
            write_tensor(&mut out, name, &shape, t, &vec![0.5; n]).unwrap();
        }
        out
    }

    #[test]
    fn check_accepts_a_complete_file_of_each_type() {
        for ft in [FileType::F16, FileType::Q8_0] {
            let bytes = tiny_file(ft);
            let summary = check_file(&mut bytes.as_slice()).unwrap();
            assert_eq!(summary.file_type, ft);
            assert_eq!(summary.n_tokens, 2);
            assert_eq!(summary.n_tensors, 11);
        }
    }

    #[test]
    fn check_rejects_truncation_garbage_and_missing_tensors() {
        let bytes = tiny_file(FileType::F16);
        for cut in [2, 30, 1000, bytes.len() - 1] {
            assert!(check_file(&mut &bytes[..cut]).is_err(), "cut at {cut}");
        }
        let html = b"<!DOCTYPE html><html>Not found</html>".to_vec();
        assert!(matches!(
            check_file(&mut html.as_slice()),
            Err(GgmlError::BadMagic { .. })
        ));
        // Drop the last tensor (decoder.ln.bias: 12 + 4 + 15 name + 128 data bytes).
        let short = &bytes[..bytes.len() - (12 + 4 + 15 + 128)];
        assert!(matches!(
            check_file(&mut &short[..]),
            Err(GgmlError::TensorCount {
                found: 10,
                expected: 11
            })
        ));
    }
}
