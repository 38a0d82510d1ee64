//! Finding secrets that were encoded: base64 (standard and URL-safe), hex and percent-encoding,
//! decoded in place to a set depth (as gitleaks' `--max-decode-depth`), with each decoded piece
//! mapped back to where its encoded text is in the original line.
//!
//! Decoding works on one line at a time: every candidate segment of the line is decoded, those
//! that decode to printable text replace their encoded form, and the new line is searched again
//! (for rules, and for segments to decode at the next depth). Only matches that overlap a piece
//! decoded at the current depth are new; their place is the encoded text they came from.

use std::ops::Range;
use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use regex::bytes::Regex;

/// The encodings, as bits so that a piece decoded twice carries both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Encoding {
    Percent = 1,
    Hex = 2,
    Base64 = 4,
}

impl Encoding {
    const ALL: [Self; 3] = [Self::Percent, Self::Hex, Self::Base64];

    fn name(self) -> &'static str {
        match self {
            Self::Percent => "percent",
            Self::Hex => "hex",
            Self::Base64 => "base64",
        }
    }

    fn pattern(self) -> &'static Regex {
        static PERCENT: LazyLock<Option<Regex>> = LazyLock::new(|| {
            crate::config::compile_regex(
                r"(?:[A-Za-z0-9._~+!$&=:@/?-]|%[0-9A-Fa-f]{2})*%[0-9A-Fa-f]{2}(?:[A-Za-z0-9._~+!$&=:@/?-]|%[0-9A-Fa-f]{2})*",
            )
            .ok()
        });
        static HEX: LazyLock<Option<Regex>> = LazyLock::new(|| crate::config::compile_regex(r"[0-9A-Fa-f]{32,}").ok());
        static BASE64: LazyLock<Option<Regex>> =
            LazyLock::new(|| crate::config::compile_regex(r"[A-Za-z0-9+/_-]{16,}={0,2}").ok());
        static NEVER: LazyLock<Regex> = LazyLock::new(|| {
            #[expect(clippy::unwrap_used, reason = "an empty class compiles; this is never reached")]
            Regex::new(r"[^\x00-\xff]").unwrap()
        });
        let compiled = match self {
            Self::Percent => &*PERCENT,
            Self::Hex => &*HEX,
            Self::Base64 => &*BASE64,
        };
        compiled.as_ref().unwrap_or(&NEVER)
    }

    fn decode(self, encoded: &[u8]) -> Option<Vec<u8>> {
        let decoded = match self {
            Self::Percent => decode_percent(encoded)?,
            Self::Hex => decode_hex(encoded)?,
            Self::Base64 => decode_base64(encoded)?,
        };
        (!decoded.is_empty() && decoded != encoded && is_printable(&decoded)).then_some(decoded)
    }
}

/// The tags a finding decoded from `encodings` (bits) at `depth` carries.
pub(crate) fn tags(encodings: u8, depth: u32) -> Vec<String> {
    let mut tags: Vec<String> = Encoding::ALL
        .iter()
        .filter(|encoding| encodings & (**encoding as u8) != 0)
        .map(|encoding| format!("decoded:{}", encoding.name()))
        .collect();
    tags.push(format!("decode-depth:{depth}"));
    tags
}

fn is_printable(bytes: &[u8]) -> bool {
    bytes.iter().all(|byte| matches!(byte, b'\t' | b'\n' | b'\r' | 0x20..=0x7e))
}

fn decode_percent(encoded: &[u8]) -> Option<Vec<u8>> {
    let mut decoded = Vec::with_capacity(encoded.len());
    let mut index = 0;
    while index < encoded.len() {
        if encoded[index] == b'%'
            && let Some(value) = encoded.get(index + 1..index + 3).and_then(|pair| std::str::from_utf8(pair).ok())
            && let Ok(byte) = u8::from_str_radix(value, 16)
        {
            decoded.push(byte);
            index += 3;
            continue;
        }
        decoded.push(encoded[index]);
        index += 1;
    }
    Some(decoded)
}

fn decode_hex(encoded: &[u8]) -> Option<Vec<u8>> {
    let even = &encoded[..encoded.len() - encoded.len() % 2];
    even.chunks(2)
        .map(|pair| std::str::from_utf8(pair).ok().and_then(|pair| u8::from_str_radix(pair, 16).ok()))
        .collect()
}

fn decode_base64(encoded: &[u8]) -> Option<Vec<u8>> {
    // Most long identifiers in code are letters only; base64 of text nearly always has a digit
    // or a symbol, so those are not tried.
    if !encoded.iter().any(|byte| byte.is_ascii_digit() || matches!(byte, b'+' | b'/' | b'-' | b'_')) {
        return None;
    }
    let config = GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    let standard = GeneralPurpose::new(&base64::alphabet::STANDARD, config);
    let url_safe = GeneralPurpose::new(&base64::alphabet::URL_SAFE, config);
    standard.decode(encoded).ok().filter(|bytes| is_printable(bytes)).or_else(|| url_safe.decode(encoded).ok())
}

/// A run of a decoded line and where it came from in the original line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Piece {
    /// Where it is in the decoded text.
    pub(crate) range: Range<usize>,
    /// Where its source is in the original line (the whole encoded text for a decoded piece).
    pub(crate) original: Range<usize>,
    /// The encodings decoded to make it (bits of [`Encoding`]); 0 for text as it was.
    pub(crate) encodings: u8,
    /// The depth it was decoded at; 0 for text as it was.
    pub(crate) depth: u32,
}

/// A line with its encoded segments decoded, at one depth.
#[derive(Clone, Debug)]
pub(crate) struct Decoded {
    pub(crate) text: Vec<u8>,
    pub(crate) pieces: Vec<Piece>,
    pub(crate) depth: u32,
}

impl Decoded {
    /// The pieces decoded at this depth that `range` (of the decoded text) overlaps.
    pub(crate) fn new_pieces(&self, range: &Range<usize>) -> impl Iterator<Item = &Piece> {
        self.pieces.iter().filter(move |piece| {
            piece.depth == self.depth && piece.range.start < range.end && range.start < piece.range.end
        })
    }

    /// Where `range` of the decoded text came from in the original line.
    pub(crate) fn original(&self, range: &Range<usize>) -> Range<usize> {
        let mut start = usize::MAX;
        let mut end = 0;
        for piece in &self.pieces {
            let (low, high) = (range.start.max(piece.range.start), range.end.min(piece.range.end));
            if low >= high && !(range.is_empty() && piece.range.contains(&range.start)) {
                continue;
            }
            let mapped = if piece.encodings == 0 {
                piece.original.start + (low - piece.range.start)..piece.original.start + (high - piece.range.start)
            } else {
                piece.original.clone()
            };
            start = start.min(mapped.start);
            end = end.max(mapped.end);
        }
        if start == usize::MAX { 0..0 } else { start..end }
    }
}

/// The segments of `text` that decode, without overlaps (percent before hex before base64).
fn segments(text: &[u8]) -> Vec<(Range<usize>, Encoding, Vec<u8>)> {
    let mut chosen: Vec<(Range<usize>, Encoding, Vec<u8>)> = Vec::new();
    for encoding in Encoding::ALL {
        for found in encoding.pattern().find_iter(text) {
            let range = found.range();
            if chosen.iter().any(|(other, _, _)| other.start < range.end && range.start < other.end) {
                continue;
            }
            if let Some(decoded) = encoding.decode(found.as_bytes()) {
                chosen.push((range, encoding, decoded));
            }
        }
    }
    chosen.sort_by_key(|(range, _, _)| range.start);
    chosen
}

/// Whether `line` has anything that might decode (a cheap test before [`decode_line`]).
pub(crate) fn might_decode(line: &[u8]) -> bool {
    line.len() >= 16 && Encoding::ALL.iter().any(|encoding| encoding.pattern().is_match(line))
}

/// The decoded forms of `line`, one per depth from 1 to `max_depth`, stopping when nothing more
/// decodes.
pub(crate) fn decode_line(line: &[u8], max_depth: u32) -> Vec<Decoded> {
    let mut passes = Vec::new();
    let mut current = Decoded {
        text: line.to_vec(),
        pieces: vec![Piece { range: 0..line.len(), original: 0..line.len(), encodings: 0, depth: 0 }],
        depth: 0,
    };
    for depth in 1..=max_depth {
        let found = segments(&current.text);
        if found.is_empty() {
            break;
        }
        let mut text = Vec::with_capacity(current.text.len());
        let mut pieces = Vec::new();
        let copy = |from: Range<usize>, text: &mut Vec<u8>, pieces: &mut Vec<Piece>| {
            for piece in &current.pieces {
                let (low, high) = (from.start.max(piece.range.start), from.end.min(piece.range.end));
                if low >= high {
                    continue;
                }
                let start = text.len() + (low - from.start);
                let original = if piece.encodings == 0 {
                    piece.original.start + (low - piece.range.start)..piece.original.start + (high - piece.range.start)
                } else {
                    piece.original.clone()
                };
                pieces.push(Piece { range: start..start + (high - low), original, ..piece.clone() });
            }
            text.extend_from_slice(&current.text[from]);
        };
        let mut position = 0;
        for (range, encoding, decoded) in found {
            copy(position..range.start, &mut text, &mut pieces);
            let original = current.original(&range);
            let inherited = current
                .pieces
                .iter()
                .filter(|piece| piece.range.start < range.end && range.start < piece.range.end)
                .fold(0, |bits, piece| bits | piece.encodings);
            let start = text.len();
            text.extend_from_slice(&decoded);
            pieces.push(Piece { range: start..text.len(), original, encodings: inherited | encoding as u8, depth });
            position = range.end;
        }
        copy(position..current.text.len(), &mut text, &mut pieces);
        current = Decoded { text, pieces, depth };
        passes.push(current.clone());
    }
    passes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_encodings_decode_and_map_back_to_the_encoded_text() {
        // base64 of "token=ghp_..." inside percent-encoding inside a line.
        let secret = "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5";
        let inner = base64::engine::general_purpose::STANDARD.encode(format!("token={secret}"));
        let outer: String = inner.bytes().map(|byte| format!("%{byte:02X}")).collect();
        let line = format!("url: \"https://x.test/?q={outer}\" # end");
        let passes = decode_line(line.as_bytes(), 3);
        assert_eq!(passes.len(), 2, "{passes:?}");
        let last = &passes[1];
        let text = String::from_utf8_lossy(&last.text).into_owned();
        let at = text.find(secret).unwrap_or_else(|| panic!("{text}"));
        let range = at..at + secret.len();
        let original = last.original(&range);
        assert!(line[original.clone()].contains(&outer), "{:?}", &line[original]);
        let piece = last.new_pieces(&range).next().unwrap_or_else(|| panic!("a new piece"));
        assert_eq!(tags(piece.encodings, piece.depth), ["decoded:percent", "decoded:base64", "decode-depth:2"]);
    }

    #[test]
    fn what_does_not_decode_to_text_is_left_alone() {
        assert!(decode_line(b"sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", 3).is_empty());
        assert!(decode_line(b"let someVeryLongIdentifierName = 1;", 3).is_empty());
        let hex = decode_line(b"x = 70617373776f72643d68756e746572322d68756e74657232", 2);
        assert_eq!(
            hex.first().map(|pass| String::from_utf8_lossy(&pass.text).into_owned()).as_deref(),
            Some("x = password=hunter2-hunter2")
        );
    }
}
