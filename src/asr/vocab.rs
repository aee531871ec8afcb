//! GPT-2 byte-level vocabulary text back to raw token bytes: CTranslate2's `vocabulary.txt`
//! shows each byte as a printable character, whisper.cpp's model file wants the bytes.

use std::collections::HashMap;

/// GPT-2's `bytes_to_unicode`, inverted: printable character → the byte it stands for.
fn unicode_to_byte() -> HashMap<char, u8> {
    let printable = |b: u32| {
        (0x21..=0x7e).contains(&b) || (0xa1..=0xac).contains(&b) || (0xae..=0xff).contains(&b)
    };
    let mut map = HashMap::with_capacity(256);
    let mut shifted = 0u32;
    for b in 0u32..256 {
        let code = if printable(b) {
            b
        } else {
            shifted += 1;
            255 + shifted
        };
        if let Some(c) = char::from_u32(code) {
            map.insert(c, b as u8);
        }
    }
    map
}

#[derive(Debug, thiserror::Error)]
pub enum VocabError {
    #[error("vocabulary line {line} has character {ch:?} that is not GPT-2 byte-level text")]
    NotByteLevel { line: usize, ch: char },
    #[error("vocabulary has {found} tokens, expected at least {wanted}")]
    TooShort { found: usize, wanted: usize },
}

/// The first `count` tokens of a byte-level vocabulary file, as bytes. Lines are split on
/// `\n` only: a token may well decode to `\r` or other control bytes.
pub fn decode_vocabulary(text: &str, count: usize) -> Result<Vec<Vec<u8>>, VocabError> {
    let table = unicode_to_byte();
    let lines: Vec<&str> = text.split('\n').take(count).collect();
    if lines.len() < count {
        return Err(VocabError::TooShort {
            found: lines.len(),
            wanted: count,
        });
    }
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            line.chars()
                .map(|ch| {
                    table
                        .get(&ch)
                        .copied()
                        .ok_or(VocabError::NotByteLevel { line: i + 1, ch })
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_the_shifted_characters_back_to_bytes() {
        // 'Ġ' is the space byte, 'Ċ' the newline, plain ASCII maps to itself.
        let tokens = decode_vocabulary("!\nĠthe\nĊ\nÃ©", 4).unwrap();
        assert_eq!(tokens[0], b"!");
        assert_eq!(tokens[1], b" the");
        assert_eq!(tokens[2], b"\n");
        assert_eq!(tokens[3], "é".as_bytes());
    }

    #[test]
    fn table_is_a_bijection_over_all_bytes() {
        let table = unicode_to_byte();
        assert_eq!(table.len(), 256);
        let mut bytes: Vec<u8> = table.values().copied().collect();
        bytes.sort_unstable();
        bytes.dedup();
        assert_eq!(bytes.len(), 256);
    }

    #[test]
    fn foreign_text_is_rejected() {
        assert!(matches!(
            decode_vocabulary("hello world", 1),
            Err(VocabError::NotByteLevel { ch: ' ', .. })
        ));
        assert!(decode_vocabulary("a\nb", 3).is_err());
    }
}
