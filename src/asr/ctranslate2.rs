//! Reader for CTranslate2 `model.bin` files: the format of the registry package that carries
//! Whisper tiny.en (see docs/models.md). Variables borrow from the file's bytes, so a 75 MB
//! model is read without copying it.

use std::collections::BTreeMap;

/// Element type of a CTranslate2 variable, as numbered in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F32,
    I8,
    I16,
    I32,
    F16,
}

impl DType {
    fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => Self::F32,
            1 => Self::I8,
            2 => Self::I16,
            3 => Self::I32,
            4 => Self::F16,
            _ => return None,
        })
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Self::I8 => 1,
            Self::I16 | Self::F16 => 2,
            Self::F32 | Self::I32 => 4,
        }
    }
}

/// One named tensor of the model.
#[derive(Debug, Clone)]
pub struct Variable<'a> {
    pub dims: Vec<usize>,
    pub dtype: DType,
    pub data: &'a [u8],
}

impl Variable<'_> {
    pub fn element_count(&self) -> usize {
        self.dims.iter().product()
    }

    /// The values as f32, whatever the stored float type.
    pub fn to_f32(&self) -> Result<Vec<f32>, Ct2Error> {
        match self.dtype {
            DType::F32 => Ok(self
                .data
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()),
            DType::F16 => Ok(self
                .data
                .chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect()),
            other => Err(Ct2Error::NotFloat(other)),
        }
    }
}

/// A parsed `model.bin`: its spec name, revision, variables and aliases.
#[derive(Debug)]
pub struct Ct2Model<'a> {
    pub version: u32,
    pub spec: String,
    pub revision: u32,
    pub variables: BTreeMap<String, Variable<'a>>,
    pub aliases: BTreeMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum Ct2Error {
    #[error("CTranslate2 model ends early at byte {0} (truncated or not a model.bin)")]
    Truncated(usize),
    #[error("CTranslate2 model has unknown element type code {code} for `{name}`")]
    UnknownDType { name: String, code: u8 },
    #[error(
        "CTranslate2 variable `{name}` declares {declared} bytes but its shape needs {expected}"
    )]
    SizeMismatch {
        name: String,
        declared: usize,
        expected: usize,
    },
    #[error("CTranslate2 model has a name that is not UTF-8 at byte {0}")]
    BadName(usize),
    #[error("CTranslate2 model binary version {0} is not supported (expected 6)")]
    Version(u32),
    #[error("expected a float tensor, found {0:?}")]
    NotFloat(DType),
    #[error("CTranslate2 model has no variable `{0}`")]
    Missing(String),
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Ct2Error> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or(Ct2Error::Truncated(self.pos))?;
        let slice = self
            .bytes
            .get(self.pos..end)
            .ok_or(Ct2Error::Truncated(self.pos))?;
        self.pos = end;
        Ok(slice)
    }

    fn u8(&mut self) -> Result<u8, Ct2Error> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, Ct2Error> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, Ct2Error> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A `u16` length that counts a trailing NUL, then the bytes and the NUL.
    fn string(&mut self) -> Result<String, Ct2Error> {
        let at = self.pos;
        let len = usize::from(self.u16()?);
        let raw = self.take(len)?;
        let raw = raw.strip_suffix(&[0]).unwrap_or(raw);
        String::from_utf8(raw.to_vec()).map_err(|_| Ct2Error::BadName(at))
    }
}

impl<'a> Ct2Model<'a> {
    /// Parses a whole `model.bin` held in memory.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Ct2Error> {
        let mut cur = Cursor { bytes, pos: 0 };
        let version = cur.u32()?;
        if version != 6 {
            return Err(Ct2Error::Version(version));
        }
        let spec = cur.string()?;
        let revision = cur.u32()?;
        let count = cur.u32()?;
        let mut variables = BTreeMap::new();
        for _ in 0..count {
            let name = cur.string()?;
            let rank = usize::from(cur.u8()?);
            let mut dims = Vec::with_capacity(rank);
            for _ in 0..rank {
                dims.push(cur.u32()? as usize);
            }
            let code = cur.u8()?;
            let dtype = DType::from_code(code).ok_or_else(|| Ct2Error::UnknownDType {
                name: name.clone(),
                code,
            })?;
            let declared = cur.u32()? as usize;
            let expected = dims.iter().product::<usize>() * dtype.size();
            if declared != expected {
                return Err(Ct2Error::SizeMismatch {
                    name,
                    declared,
                    expected,
                });
            }
            let data = cur.take(declared)?;
            variables.insert(name, Variable { dims, dtype, data });
        }
        let mut aliases = BTreeMap::new();
        // Older files end after the variables; an alias table is optional.
        if cur.pos < bytes.len() {
            let n_aliases = cur.u32()?;
            for _ in 0..n_aliases {
                let alias = cur.string()?;
                let target = cur.string()?;
                aliases.insert(alias, target);
            }
        }
        Ok(Self {
            version,
            spec,
            revision,
            variables,
            aliases,
        })
    }

    /// A variable by name, following aliases.
    pub fn get(&self, name: &str) -> Result<&Variable<'a>, Ct2Error> {
        let target = self.aliases.get(name).map_or(name, String::as_str);
        self.variables
            .get(target)
            .ok_or_else(|| Ct2Error::Missing(name.to_string()))
    }

    /// A scalar integer variable (such as `encoder/num_heads`).
    pub fn scalar_int(&self, name: &str) -> Result<i64, Ct2Error> {
        let var = self.get(name)?;
        let b = var.data;
        Ok(match (var.dtype, b.len()) {
            (DType::I8, 1) => i64::from(b[0] as i8),
            (DType::I16, 2) => i64::from(i16::from_le_bytes([b[0], b[1]])),
            (DType::I32, 4) => i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            _ => return Err(Ct2Error::Missing(format!("{name} (as an integer scalar)"))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push_str(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&((s.len() + 1) as u16).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
        out.push(0);
    }

    fn tiny_model() -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&6u32.to_le_bytes());
        push_str(&mut out, "WhisperSpec");
        out.extend_from_slice(&3u32.to_le_bytes());
        out.extend_from_slice(&2u32.to_le_bytes());
        push_str(&mut out, "a/weight");
        out.push(2);
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&2u32.to_le_bytes());
        out.push(4);
        out.extend_from_slice(&4u32.to_le_bytes());
        out.extend_from_slice(&half::f16::from_f32(1.5).to_le_bytes());
        out.extend_from_slice(&half::f16::from_f32(-2.0).to_le_bytes());
        push_str(&mut out, "heads");
        out.push(0);
        out.push(2);
        out.extend_from_slice(&2u32.to_le_bytes());
        out.extend_from_slice(&6i16.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        push_str(&mut out, "b/weight");
        push_str(&mut out, "a/weight");
        out
    }

    #[test]
    fn parses_variables_scalars_and_aliases() {
        let bytes = tiny_model();
        let model = Ct2Model::parse(&bytes).unwrap();
        assert_eq!(model.spec, "WhisperSpec");
        assert_eq!(model.revision, 3);
        let var = model.get("b/weight").unwrap();
        assert_eq!(var.dims, vec![1, 2]);
        assert_eq!(var.to_f32().unwrap(), vec![1.5, -2.0]);
        assert_eq!(model.scalar_int("heads").unwrap(), 6);
    }

    #[test]
    fn truncated_file_is_an_error_not_a_panic() {
        let bytes = tiny_model();
        for cut in [0, 3, 10, 30, bytes.len() - 3] {
            assert!(Ct2Model::parse(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn wrong_declared_size_is_reported() {
        let mut bytes = tiny_model();
        // The byte count of the first variable sits right before its data.
        let pos = bytes
            .windows(4)
            .position(|w| w == 4u32.to_le_bytes())
            .unwrap();
        bytes[pos] = 6;
        assert!(matches!(
            Ct2Model::parse(&bytes),
            Err(Ct2Error::SizeMismatch { .. }) | Err(Ct2Error::Truncated(_))
        ));
    }
}
