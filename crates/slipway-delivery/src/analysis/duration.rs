//! Durations as Argo writes them: Go's `time.ParseDuration` syntax (`30s`, `5m`, `1h`, `1m30s`,
//! `1.5h`, `250ms`; units `ns`, `us`/`µs`, `ms`, `s`, `m`, `h`), which is what Argo's
//! `DurationString.Duration()` accepts. Stored JSON uses the same syntax, written canonically
//! (`1m30s`, `1s500ms`), so that it reads back to the same [`Duration`].

use std::time::Duration;

/// The largest duration Go can represent (`math.MaxInt64` nanoseconds, about 292 years).
const MAX_NANOS: u128 = i64::MAX as u128;

/// Why a text is not a duration, in a phrase that follows "found `TEXT`: ".
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DurationError {
    /// Nothing at all.
    #[error("it is empty")]
    Empty,
    /// A unit without its number (`s`).
    #[error("a number must come before the unit `{0}`")]
    NumberBeforeUnit(String),
    /// No number where one must be (`.s`).
    #[error("a number is missing")]
    NumberMissing,
    /// A number without a unit (`30`).
    #[error("the number `{whole}{}` has no unit (write e.g. `{whole}s` or `{whole}m`)", dot(fraction))]
    NoUnit {
        /// The digits before the point.
        whole: String,
        /// The digits after it.
        fraction: String,
    },
    /// Not a unit (`x`).
    #[error("`{0}` is not a unit (the units are `ns`, `us`, `ms`, `s`, `m` and `h`)")]
    NotAUnit(String),
    /// Longer than Go can hold.
    #[error("it is longer than the longest duration Go can hold (about 292 years)")]
    TooLarge,
    /// Negative.
    #[error("it is negative")]
    Negative,
}

/// Reads a Go duration. Negative durations are refused (nothing in a template waits a negative
/// time); the error says what is wrong in a phrase that follows "found `TEXT`: ".
pub(crate) fn parse(text: &str) -> Result<Duration, DurationError> {
    let (negative, rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(DurationError::Empty);
    }
    let mut total: u128 = 0;
    let mut rest = rest;
    while !rest.is_empty() {
        let whole_digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (whole, after) = rest.split_at(whole_digits);
        let (fraction, after) = match after.strip_prefix('.') {
            Some(after) => {
                let digits = after.bytes().take_while(u8::is_ascii_digit).count();
                after.split_at(digits)
            }
            None => ("", after),
        };
        if whole.is_empty() && fraction.is_empty() {
            return Err(match after.chars().next() {
                Some(c) if !c.is_ascii_digit() && whole_digits == 0 && !rest.starts_with('.') => {
                    DurationError::NumberBeforeUnit(unit_prefix(after).to_owned())
                }
                _ => DurationError::NumberMissing,
            });
        }
        let unit = unit_prefix(after);
        if unit.is_empty() {
            return Err(DurationError::NoUnit { whole: whole.to_owned(), fraction: fraction.to_owned() });
        }
        let Some(unit_nanos) = unit_nanos(unit) else {
            return Err(DurationError::NotAUnit(unit.to_owned()));
        };
        rest = &after[unit.len()..];
        let whole: u128 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| too_large())? };
        let mut nanos = whole.checked_mul(unit_nanos).ok_or_else(too_large)?;
        // Digits past the eighteenth are below a nanosecond for every unit: Go drops them too.
        let fraction = &fraction[..fraction.len().min(18)];
        if !fraction.is_empty() {
            let digits: u128 = fraction.parse().map_err(|_| too_large())?;
            let scale = 10u128.pow(u32::try_from(fraction.len()).map_err(|_| too_large())?);
            nanos = nanos.checked_add(digits * unit_nanos / scale).ok_or_else(too_large)?;
        }
        total = total.checked_add(nanos).ok_or_else(too_large)?;
        if total > MAX_NANOS {
            return Err(too_large());
        }
    }
    if negative && total > 0 {
        return Err(DurationError::Negative);
    }
    let seconds = u64::try_from(total / 1_000_000_000).map_err(|_| too_large())?;
    let nanos = u32::try_from(total % 1_000_000_000).map_err(|_| too_large())?;
    Ok(Duration::new(seconds, nanos))
}

fn dot(fraction: &str) -> String {
    if fraction.is_empty() { String::new() } else { format!(".{fraction}") }
}

fn too_large() -> DurationError {
    DurationError::TooLarge
}

/// The letters at the start of `text`, up to the next digit or dot.
fn unit_prefix(text: &str) -> &str {
    let end = text.find(|c: char| c == '.' || c.is_ascii_digit()).unwrap_or(text.len());
    &text[..end]
}

fn unit_nanos(unit: &str) -> Option<u128> {
    Some(match unit {
        "ns" => 1,
        // U+00B5 (micro sign) and U+03BC (Greek mu), as Go accepts both.
        "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    })
}

/// Writes a duration in Go syntax, canonically: each unit from hours down to nanoseconds that is
/// not zero (`1h30m`, `1s500ms`, `0s`). [`parse`] reads it back exactly.
pub(crate) fn format(duration: Duration) -> String {
    let mut nanos = duration.as_nanos();
    if nanos == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (unit, size) in [
        ("h", 3_600_000_000_000u128),
        ("m", 60_000_000_000),
        ("s", 1_000_000_000),
        ("ms", 1_000_000),
        ("us", 1_000),
        ("ns", 1),
    ] {
        let count = nanos / size;
        if count > 0 {
            out.push_str(&format!("{count}{unit}"));
            nanos %= size;
        }
    }
    out
}

/// `#[serde(with = "...")]` for a [`Duration`] stored as a Go duration string.
pub(crate) mod serde_duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::format(*duration))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::parse(&text).map_err(|reason| serde::de::Error::custom(format!("bad duration `{text}`: {reason}")))
    }
}

/// `#[serde(with = "...")]` for an optional [`Duration`] stored as a Go duration string or null.
pub(crate) mod serde_option {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(duration: &Option<Duration>, serializer: S) -> Result<S::Ok, S::Error> {
        match duration {
            Some(duration) => serializer.serialize_some(&super::format(*duration)),
            None => serializer.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Duration>, D::Error> {
        let Some(text) = Option::<String>::deserialize(deserializer)? else { return Ok(None) };
        super::parse(&text)
            .map(Some)
            .map_err(|reason| serde::de::Error::custom(format!("bad duration `{text}`: {reason}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_go_durations() {
        let cases: &[(&str, Duration)] = &[
            ("30s", Duration::from_secs(30)),
            ("5m", Duration::from_secs(300)),
            ("1h", Duration::from_secs(3600)),
            ("1m30s", Duration::from_secs(90)),
            ("1.5h", Duration::from_secs(5400)),
            (".5s", Duration::from_millis(500)),
            ("5.s", Duration::from_secs(5)),
            ("250ms", Duration::from_millis(250)),
            ("1us", Duration::from_micros(1)),
            ("1\u{b5}s", Duration::from_micros(1)),
            ("1\u{3bc}s", Duration::from_micros(1)),
            ("7ns", Duration::from_nanos(7)),
            ("2h45m30s500ms", Duration::from_millis(9_930_500)),
            ("0", Duration::ZERO),
            ("-0s", Duration::ZERO),
            ("+10s", Duration::from_secs(10)),
            ("0.000000001s", Duration::from_nanos(1)),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text).as_ref(), Ok(expected), "{text}");
        }
    }

    #[test]
    fn refuses_what_go_refuses_and_negative_durations() {
        let cases: &[(&str, &str)] = &[
            ("5x", "`x` is not a unit (the units are `ns`, `us`, `ms`, `s`, `m` and `h`)"),
            ("30", "the number `30` has no unit (write e.g. `30s` or `30m`)"),
            ("1m30", "the number `30` has no unit (write e.g. `30s` or `30m`)"),
            ("", "it is empty"),
            ("s", "a number must come before the unit `s`"),
            (".s", "a number is missing"),
            ("-5m", "it is negative"),
            ("1 m", "` m` is not a unit (the units are `ns`, `us`, `ms`, `s`, `m` and `h`)"),
            ("3000000h", "it is longer than the longest duration Go can hold (about 292 years)"),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text).map_err(|error| error.to_string()), Err((*expected).to_owned()), "{text}");
        }
    }

    #[test]
    fn writes_durations_that_read_back() {
        for (duration, text) in [
            (Duration::ZERO, "0s"),
            (Duration::from_secs(90), "1m30s"),
            (Duration::from_millis(1500), "1s500ms"),
            (Duration::from_secs(3600 * 25), "25h"),
            (Duration::new(1, 1), "1s1ns"),
        ] {
            assert_eq!(format(duration), text);
            assert_eq!(parse(text), Ok(duration));
        }
    }
}
