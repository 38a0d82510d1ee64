//! Secret masking: every line that leaves a job goes through a [`Masker`] first.
//!
//! A secret is masked as `***` in its raw form and in the encodings Azure's agent masks it in:
//! base64 (also when it sits in the middle of a longer base64 text), URL-encoding (with upper-
//! and lower-case `%xx`), JSON string escaping, XML/HTML escaping (`&lt;`, `&amp;`, `&quot;`,
//! `&apos;`/`&#39;`/`&#x27;`), expression-string escaping (`'` doubled) and, for a secret that is
//! itself a quoted string longer than 8 characters, its inner value. Like Azure, it does not
//! mask hex, reversed or upper-cased forms. Output is masked a whole line at a time, so a secret
//! split across the chunks a process happens to write in is still found; a line too long to keep
//! whole comes in pieces, and [`Masker::split_piece`] holds back whatever may be the start of a
//! secret until the next piece. A multi-line secret is masked line by line.

use std::sync::{Arc, RwLock};

/// Values shorter than this are not added in encoded form: their encodings would be too short to
/// be told apart from ordinary text.
const MIN_ENCODED_LENGTH: usize = 6;

/// The text a secret is replaced with.
pub const MASK: &str = "***";

/// The set of secrets of a run, shared by every job. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Masker {
    patterns: Arc<RwLock<Vec<String>>>,
}

impl Masker {
    /// A masker with no secrets.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a secret value (and its encodings). Empty values and whitespace are ignored.
    pub fn add(&self, secret: &str) {
        let mut new = Vec::new();
        let mut push = |pattern: String, minimum: usize| {
            if pattern.trim().len() >= minimum && !new.contains(&pattern) {
                new.push(pattern);
            }
        };
        let lines: Vec<&str> = secret.lines().map(|line| line.trim_end_matches('\r')).collect();
        let candidates: Vec<&str> = if lines.len() > 1 {
            let mut all = lines;
            all.push(secret);
            all
        } else {
            vec![secret]
        };
        let mut values: Vec<&str> = Vec::new();
        for value in candidates {
            values.push(value);
            // Azure's TrimDoubleQuotes: the inner value of a quoted secret.
            if value.len() > 8 && value.starts_with('"') && value.ends_with('"') {
                values.push(&value[1..value.len() - 1]);
            }
        }
        for value in values {
            if value.trim().is_empty() {
                continue;
            }
            push(value.to_owned(), 1);
            push(json_escape(value), 1);
            for lower in [false, true] {
                for keep_slash in [false, true] {
                    push(url_encode(value, lower, keep_slash), 1);
                }
            }
            for pattern in xml_escapes(value) {
                push(pattern, 1);
            }
            push(value.replace('\'', "''"), 1);
            let full = base64(value.as_bytes());
            push(full.clone(), MIN_ENCODED_LENGTH);
            let padding = (3 - value.len() % 3) % 3;
            push(format!("{full}{}", "=".repeat(padding)), MIN_ENCODED_LENGTH);
            for shift in 0..3 {
                push(base64_core(value.as_bytes(), shift), MIN_ENCODED_LENGTH);
            }
        }
        let Ok(mut patterns) = self.patterns.write() else { return };
        for pattern in new {
            if !patterns.contains(&pattern) {
                patterns.push(pattern);
            }
        }
        // Longest first, so that a secret containing another is masked whole.
        patterns.sort_by_key(|pattern| std::cmp::Reverse(pattern.len()));
    }

    /// Whether no secret was added.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.patterns.read().map_or(true, |patterns| patterns.is_empty())
    }

    /// Where the secrets in `line` are: byte ranges, sorted and merged; and the longest pattern.
    fn secret_ranges(&self, line: &str) -> (Vec<(usize, usize)>, usize) {
        let Ok(patterns) = self.patterns.read() else { return (Vec::new(), 0) };
        let longest = patterns.first().map_or(0, String::len);
        let mut ranges: Vec<(usize, usize)> = Vec::new();
        for pattern in patterns.iter() {
            for (start, found) in line.match_indices(pattern.as_str()) {
                ranges.push((start, start + found.len()));
            }
        }
        ranges.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
        for (start, end) in ranges {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        (merged, longest)
    }

    /// Splits a piece of a line that goes on in the next piece into what can be shown now and
    /// what must wait for the rest of the line: the end of the piece that may be the start of a
    /// secret (shorter than the longest secret pattern), and any secret that reaches into it.
    /// The caller masks the first part and puts the second in front of the next piece.
    #[must_use]
    pub fn split_piece(&self, piece: &str) -> (String, String) {
        let (ranges, longest) = self.secret_ranges(piece);
        let mut cut = piece.len().saturating_sub(longest.saturating_sub(1));
        while !piece.is_char_boundary(cut) {
            cut -= 1;
        }
        // A secret found across the cut is kept whole on the side that waits.
        for &(start, end) in ranges.iter().rev() {
            if start < cut && cut < end {
                cut = start;
            }
        }
        (piece[..cut].to_owned(), piece[cut..].to_owned())
    }

    /// Replaces every secret in `line` with `***`.
    #[must_use]
    pub fn mask(&self, line: &str) -> String {
        let (merged, _) = self.secret_ranges(line);
        if merged.is_empty() {
            return line.to_owned();
        }
        let mut out = String::with_capacity(line.len());
        let mut at = 0;
        for (start, end) in merged {
            out.push_str(&line[at..start]);
            out.push_str(MASK);
            at = end;
        }
        out.push_str(&line[at..]);
        out
    }
}

/// The value as it appears inside a JSON string.
fn json_escape(value: &str) -> String {
    let quoted = serde_json::to_string(value).unwrap_or_default();
    quoted.get(1..quoted.len().saturating_sub(1)).unwrap_or_default().to_owned()
}

/// Percent-encoding of everything but unreserved characters (RFC 3986), with upper- or
/// lower-case hex digits (both are common: .NET and curl write `%2F`, Python and Go `%2f`), and
/// with `/` kept as it is when `keep_slash` (the path encoders' way, Python's `quote` default).
fn url_encode(value: &str, lower: bool, keep_slash: bool) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') || (keep_slash && byte == b'/') {
            out.push(char::from(byte));
        } else if lower {
            out.push_str(&format!("%{byte:02x}"));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The value XML- or HTML-escaped, in the spellings of the common escapers (`&apos;` in XML,
/// `&#39;` and `&#x27;` in HTML); the quote-preserving form too (escapers that leave quotes
/// alone outside attributes).
fn xml_escapes(value: &str) -> Vec<String> {
    let base = |quote: &str| {
        let mut out = String::with_capacity(value.len());
        for character in value.chars() {
            match character {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str(quote),
                other => out.push(other),
            }
        }
        out
    };
    let mut escapes: Vec<String> = ["&apos;", "&#39;", "&#x27;"].into_iter().map(base).collect();
    let plain_quotes: String = value
        .chars()
        .map(|character| match character {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            other => other.to_string(),
        })
        .collect();
    escapes.push(plain_quotes);
    escapes.dedup();
    escapes
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 without padding.
#[must_use]
pub fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            let index = (n >> (18 - 6 * i)) & 63;
            out.push(char::from(BASE64[index as usize]));
        }
    }
    out
}

/// The base64 characters that depend only on `value` when it is preceded by `shift` other bytes
/// (and followed by anything): what is seen of a secret inside a longer base64 text.
fn base64_core(value: &[u8], shift: usize) -> String {
    let mut bytes = vec![0_u8; shift];
    bytes.extend_from_slice(value);
    let encoded = base64(&bytes);
    let first = (8 * shift).div_ceil(6);
    let last = 8 * (shift + value.len()) / 6;
    encoded.get(first..last.min(encoded.len())).unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_raw_values_and_keeps_the_rest() {
        let masker = Masker::new();
        masker.add("hunter2");
        assert_eq!(masker.mask("the password is hunter2, yes hunter2"), "the password is ***, yes ***");
        assert_eq!(masker.mask("nothing here"), "nothing here");
    }

    #[test]
    fn masks_common_encodings() {
        let masker = Masker::new();
        masker.add("p@ss w\"rd/1");
        assert_eq!(masker.mask(&format!("b64 {}", base64(b"p@ss w\"rd/1"))), "b64 ***");
        assert_eq!(masker.mask("url p%40ss%20w%22rd%2F1"), "url ***");
        assert_eq!(masker.mask(r#"{"v":"p@ss w\"rd/1"}"#), r#"{"v":"***"}"#);
        // Inside a longer base64 text, at every alignment.
        for prefix in ["", "a", "ab", "abc"] {
            let text = base64(format!("{prefix}p@ss w\"rd/1 and more").as_bytes());
            assert!(masker.mask(&text).contains(MASK), "{prefix:?}: {text}");
        }
    }

    #[test]
    fn masks_each_line_of_a_multi_line_secret_and_overlaps() {
        let masker = Masker::new();
        masker.add("first line\nsecond line");
        assert_eq!(masker.mask("-> second line <-"), "-> *** <-");
        masker.add("abcdef");
        masker.add("defghi");
        assert_eq!(masker.mask("xxabcdefghixx"), "xx***xx");
    }

    #[test]
    fn masks_the_encodings_azure_masks_and_not_others() {
        let masker = Masker::new();
        masker.add("ab<c&d\"e'f/g");
        for shown in [
            "ab%3cc%26d%22e%27f%2fg",
            "ab%3Cc%26d%22e%27f%2Fg",
            "ab%3Cc%26d%22e%27f/g",
            "ab&lt;c&amp;d&quot;e&apos;f/g",
            "ab&lt;c&amp;d&quot;e&#x27;f/g",
            "ab&lt;c&amp;d&quot;e&#39;f/g",
            "ab&lt;c&amp;d\"e'f/g",
            "ab<c&d\"e''f/g",
        ] {
            assert_eq!(masker.mask(&format!("[{shown}]")), "[***]", "{shown}");
        }
        // Not hex, reversed or upper-cased, as Azure does not either.
        for shown in ["61623c63", "g/f'e\"d&c<ba", "AB<C&D\"E'F/G"] {
            assert_eq!(masker.mask(shown), shown);
        }
    }

    #[test]
    fn masks_the_inner_value_of_a_quoted_secret() {
        let masker = Masker::new();
        masker.add("\"innerpart\"");
        assert_eq!(masker.mask("value: innerpart!"), "value: ***!");
        let short = Masker::new();
        short.add("\"inner\"");
        assert_eq!(short.mask("value: inner"), "value: inner", "only quoted secrets longer than 8, as Azure");
    }

    #[test]
    fn a_secret_across_the_pieces_of_a_long_line_is_held_back_whole() {
        let masker = Masker::new();
        masker.add("hunter2!");
        // The piece ends with the first half of the secret: it waits for the next piece.
        let piece = format!("{}hunt", "x".repeat(40));
        let (now, later) = masker.split_piece(&piece);
        assert_eq!(format!("{now}{later}"), piece);
        assert!(later.ends_with("hunt") && now.len() > 20, "{now} | {later}");
        assert!(masker.mask(&format!("{later}er2! and on")).ends_with("x*** and on"));
        // A whole secret near the end is kept whole on the waiting side.
        let (now, later) = masker.split_piece("aaaaaaaaaaaahunter2!b");
        assert_eq!(masker.mask(&now), now);
        assert!(later.contains("hunter2!"), "{later}");
        // Without secrets nothing waits.
        assert_eq!(Masker::new().split_piece("abc"), ("abc".to_owned(), String::new()));
        // Never between the bytes of a character.
        let (now, later) = masker.split_piece("ééééééé");
        assert_eq!(format!("{now}{later}"), "ééééééé");
    }

    #[test]
    fn ignores_blank_secrets() {
        let masker = Masker::new();
        masker.add("  ");
        masker.add("");
        assert!(masker.is_empty());
    }

    #[test]
    fn base64_matches_known_vectors() {
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(b"fooba"), "Zm9vYmE");
        assert_eq!(base64(b"f"), "Zg");
    }
}
