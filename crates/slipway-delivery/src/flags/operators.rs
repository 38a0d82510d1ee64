//! flagd's custom JsonLogic operators, as `datalogic-rs` custom operators: `fractional`,
//! `sem_ver`, `starts_with` and `ends_with`. Their arguments arrive evaluated (as in flagd's Go
//! JsonLogic), and each answers `null` on input it cannot use, as flagd's do, so that a rule
//! falls through to the flag's default variant instead of matching by mistake.
//!
//! The arithmetic is flagd's, read from its source (open-feature/flagd, `core/pkg/evaluator/`
//! `fractional.go`, `semver.go`, `string_comparison.go`): `fractional` hashes the bucketing
//! value's UTF-8 bytes with MurmurHash3 (x86, 32 bits, seed 0) and maps the hash onto the summed
//! integer weights as `(hash × total) >> 32` (flagd's "high-precision" bucketing, the testbed's
//! `@fractional-v2`); `sem_ver` reads versions as Go's `golang.org/x/mod/semver` does (a `v` or
//! `V` prefix, `1` and `1.2` as short for `1.0.0` and `1.2.0`, numbers written as Go prints
//! them) and compares them by precedence, build metadata ignored.

use std::cmp::Ordering;

use datalogic_rs::bumpalo::Bump;
use datalogic_rs::operator::EvalContext;
use datalogic_rs::{ArenaExt as _, CustomOperator, DataValue, Result};

/// The largest sum of weights flagd allows in one `fractional` (`math.MaxInt32`).
const MAX_WEIGHT_SUM: i64 = i32::MAX as i64;

/// `fractional`: a sticky, weighted choice among variants.
pub(super) struct Fractional;

impl CustomOperator for Fractional {
    fn evaluate<'a>(
        &self,
        args: &[&'a DataValue<'a>],
        ctx: &mut EvalContext<'_, 'a>,
        arena: &'a Bump,
    ) -> Result<&'a DataValue<'a>> {
        Ok(match fractional(args, ctx.root_input()) {
            Some(chosen) => arena.alloc(*chosen),
            None => arena.null(),
        })
    }
}

/// The chosen variant value of a `fractional`, or `None` where flagd answers `null`.
fn fractional<'a>(args: &[&'a DataValue<'a>], root: &'a DataValue<'a>) -> Option<&'a DataValue<'a>> {
    let (first, _) = args.split_first()?;
    let (bucket_by, buckets): (String, &[&DataValue<'a>]) = if let Some(value) = first.as_str() {
        (value.to_owned(), &args[1..])
    } else {
        // No bucketing expression (or one that gave no string): flagd buckets by the flag's key
        // and the targeting key, and answers null without a (non-empty string) targeting key.
        let buckets = if first.is_null() { &args[1..] } else { args };
        let targeting_key = root.get("targetingKey")?.as_str().filter(|key| !key.is_empty())?;
        let flag_key =
            root.get("$flagd").and_then(|flagd| flagd.get("flagKey")).and_then(DataValue::as_str).unwrap_or("");
        (format!("{flag_key}{targeting_key}"), buckets)
    };
    let mut weighted = Vec::with_capacity(buckets.len());
    let mut total: i64 = 0;
    for bucket in buckets {
        let (variant, rest) = bucket.as_array()?.split_first()?;
        if !matches!(variant, DataValue::String(_) | DataValue::Bool(_) | DataValue::Number(_) | DataValue::Null) {
            return None;
        }
        let weight = match rest.first() {
            None | Some(DataValue::Null) => 1,
            Some(DataValue::Number(number)) => {
                let weight = number.as_f64();
                // Weights are whole numbers; flagd refuses a fraction and any weight past i32.
                if weight.fract() != 0.0 || weight > MAX_WEIGHT_SUM as f64 {
                    return None;
                }
                #[expect(clippy::cast_possible_truncation, reason = "a whole number within i32's range, checked above")]
                let weight = weight as i64;
                weight.max(0)
            }
            Some(_) => return None,
        };
        total += weight;
        weighted.push((variant, weight));
    }
    if total > MAX_WEIGHT_SUM || total == 0 {
        return None;
    }
    let hash = murmur3::murmur3_32(&mut bucket_by.as_bytes(), 0).ok()?;
    #[expect(clippy::cast_sign_loss, reason = "total is positive, checked above")]
    let bucket = (u64::from(hash) * total as u64) >> 32;
    let mut range_end: u64 = 0;
    for (variant, weight) in weighted {
        #[expect(clippy::cast_sign_loss, reason = "weights are clamped to zero or more")]
        let weight = weight as u64;
        range_end += weight;
        if bucket < range_end {
            return Some(variant);
        }
    }
    None
}

/// `sem_ver`: `[version, operator, version]`, true or false, null on anything else.
pub(super) struct SemVer;

impl CustomOperator for SemVer {
    fn evaluate<'a>(
        &self,
        args: &[&'a DataValue<'a>],
        _ctx: &mut EvalContext<'_, 'a>,
        arena: &'a Bump,
    ) -> Result<&'a DataValue<'a>> {
        Ok(match sem_ver(args) {
            Some(result) => arena.bool(result),
            None => arena.null(),
        })
    }
}

fn sem_ver(args: &[&DataValue<'_>]) -> Option<bool> {
    let [actual, operator, target] = args else { return None };
    let actual = version(actual)?;
    let operator = operator.as_str()?;
    let target = version(target)?;
    let order = actual.cmp_precedence(&target);
    Some(match operator {
        "=" => order == Ordering::Equal,
        "!=" => order != Ordering::Equal,
        "<" => order == Ordering::Less,
        "<=" => order != Ordering::Greater,
        ">" => order == Ordering::Greater,
        ">=" => order != Ordering::Less,
        "~" => (actual.major, actual.minor) == (target.major, target.minor),
        "^" => actual.major == target.major,
        _ => return None,
    })
}

/// A version as flagd reads one: a string, or a number or boolean as Go's `%v` prints it; an
/// optional `v`/`V`; `MAJOR`, `MAJOR.MINOR` (neither with a pre-release or build) or a full
/// semantic version.
pub(super) fn version(value: &DataValue<'_>) -> Option<semver::Version> {
    let text = match value {
        DataValue::String(text) => (*text).to_owned(),
        DataValue::Number(number) => match number.as_i64() {
            Some(whole) => whole.to_string(),
            None => go_float(number.as_f64()),
        },
        DataValue::Bool(flag) => flag.to_string(),
        _ => return None,
    };
    let text = text.strip_prefix(['v', 'V']).unwrap_or(&text);
    let is_number = |part: &str| {
        !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit()) && (part == "0" || !part.starts_with('0'))
    };
    let parts: Vec<&str> = text.splitn(3, '.').collect();
    let full = match parts.as_slice() {
        [major] if is_number(major) => format!("{major}.0.0"),
        [major, minor] if is_number(major) && is_number(minor) => format!("{major}.{minor}.0"),
        [_, _, _] => text.to_owned(),
        _ => return None,
    };
    semver::Version::parse(&full).ok()
}

/// A float as Go's `%v` prints it (shortest representation; exponent form past 1e21).
fn go_float(value: f64) -> String {
    if value.is_finite() && value.abs() < 1e21 { format!("{value}") } else { format!("{value:e}") }
}

/// `starts_with`: `[string, prefix]`.
pub(super) struct StartsWith;

/// `ends_with`: `[string, suffix]`.
pub(super) struct EndsWith;

impl CustomOperator for StartsWith {
    fn evaluate<'a>(
        &self,
        args: &[&'a DataValue<'a>],
        _ctx: &mut EvalContext<'_, 'a>,
        arena: &'a Bump,
    ) -> Result<&'a DataValue<'a>> {
        Ok(match two_strings(args) {
            Some((value, prefix)) => arena.bool(value.starts_with(prefix)),
            None => arena.null(),
        })
    }
}

impl CustomOperator for EndsWith {
    fn evaluate<'a>(
        &self,
        args: &[&'a DataValue<'a>],
        _ctx: &mut EvalContext<'_, 'a>,
        arena: &'a Bump,
    ) -> Result<&'a DataValue<'a>> {
        Ok(match two_strings(args) {
            Some((value, suffix)) => arena.bool(value.ends_with(suffix)),
            None => arena.null(),
        })
    }
}

fn two_strings<'a>(args: &[&'a DataValue<'a>]) -> Option<(&'a str, &'a str)> {
    let [value, affix] = args else { return None };
    Some((value.as_str()?, affix.as_str()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(text: &str) -> u32 {
        murmur3::murmur3_32(&mut text.as_bytes(), 0).expect("a slice reads")
    }

    #[test]
    fn murmur3_matches_the_reference_vectors() {
        // SMHasher's MurmurHash3_x86_32 with seed 0.
        assert_eq!(hash(""), 0);
        assert_eq!(hash("hello"), 0x248b_fa47);
        assert_eq!(hash("hello world"), 0x5e92_8f0f);
    }

    #[test]
    fn versions_read_as_go_reads_them() {
        let read = |text: &str| version(&DataValue::String(text)).map(|version| version.to_string());
        assert_eq!(read("1").as_deref(), Some("1.0.0"));
        assert_eq!(read("v1.2").as_deref(), Some("1.2.0"));
        assert_eq!(read("V1.0.0").as_deref(), Some("1.0.0"));
        assert_eq!(read("1.0.0-alpha+build").as_deref(), Some("1.0.0-alpha+build"));
        assert_eq!(read("1.0-alpha"), None);
        assert_eq!(read("2.0.0.0"), None);
        assert_eq!(read("01.0.0"), None);
        assert_eq!(read("not-a-version"), None);
        assert_eq!(go_float(1.2), "1.2");
    }
}
