//! Values and GitHub's conversions between them.
//!
//! A [`Value`] is null, a boolean, a number (`f64`), a string, an array or an object. Arrays and
//! objects are shared (`Arc`), because GitHub compares them by identity: `a == a` is true and two
//! distinct empty objects are not equal. Object keys keep their order and are looked up without
//! regard to case.
//!
//! The conversions are the runner's: truthiness ([`Value::is_truthy`]), numbers from strings
//! ([`parse_number`]: surrounding white space ignored, `''` is 0, `0x`/`0o`/`0b` prefixes,
//! exponents, `Infinity`, anything else NaN), strings from numbers ([`format_number`]: .NET's
//! `G15`, so `0.84551240822557006` reads `0.84551240822557` and `1.2e20` reads `1.2E+20`), and
//! loose equality and ordering ([`loose_eq`], [`loose_cmp`]) that turn null and booleans into
//! numbers, compare a number with a string as numbers, and compare strings without regard to
//! case (every character upper-cased, except the dotless `ı`).

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

/// A value of the expression language.
#[derive(Clone, Debug, Default)]
pub enum Value {
    /// `null`, and what a missing property reads as.
    #[default]
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number (GitHub's numbers are doubles).
    Number(f64),
    /// A string.
    String(String),
    /// An array, shared: two arrays are `==` only when they are the same array.
    Array(Arc<Vec<Value>>),
    /// An object, shared: two objects are `==` only when they are the same object.
    Object(Arc<Object>),
}

/// An object: keys in the order they were added, looked up without regard to case.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Object {
    entries: Vec<(String, Value)>,
}

impl Object {
    /// An empty object.
    #[must_use]
    pub fn new() -> Self {
        Object::default()
    }

    /// Adds `key` unless a key equal to it without regard to case is already there (the first
    /// one wins, as in GitHub's dictionaries).
    pub fn insert(&mut self, key: impl Into<String>, value: Value) {
        let key = key.into();
        if self.get(&key).is_none() {
            self.entries.push((key, value));
        }
    }

    /// Adds `key`, replacing the value of a key equal to it without regard to case.
    pub fn set(&mut self, key: impl Into<String>, value: Value) {
        let key = key.into();
        match self.entries.iter_mut().find(|(k, _)| eq_ignore_case(k, &key)) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((key, value)),
        }
    }

    /// The value of `key`, matched without regard to case.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries.iter().find(|(k, _)| eq_ignore_case(k, key)).map(|(_, v)| v)
    }

    /// The keys and values in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The values in order.
    pub fn values(&self) -> impl Iterator<Item = &Value> {
        self.entries.iter().map(|(_, v)| v)
    }

    /// How many keys there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no keys.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<K: Into<String>> FromIterator<(K, Value)> for Object {
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(iter: I) -> Self {
        let mut object = Object::new();
        for (k, v) in iter {
            object.insert(k, v);
        }
        object
    }
}

/// Structural equality (contents, not identity): for tests and callers. The language's own `==`
/// is [`loose_eq`].
impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Number(a), Value::Number(b)) => a == b || (a.is_nan() && b.is_nan()),
            (Value::String(a), Value::String(b)) => a == b,
            (Value::Array(a), Value::Array(b)) => a == b,
            (Value::Object(a), Value::Object(b)) => a == b,
            _ => false,
        }
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<f64> for Value {
    fn from(n: f64) -> Self {
        Value::Number(n)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Self {
        Value::Array(Arc::new(items))
    }
}

impl From<Object> for Value {
    fn from(object: Object) -> Self {
        Value::Object(Arc::new(object))
    }
}

impl From<serde_json::Value> for Value {
    fn from(json: serde_json::Value) -> Self {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
            serde_json::Value::String(s) => Value::String(s),
            serde_json::Value::Array(items) => items.into_iter().map(Value::from).collect::<Vec<_>>().into(),
            serde_json::Value::Object(map) => {
                map.into_iter().map(|(k, v)| (k, Value::from(v))).collect::<Object>().into()
            }
        }
    }
}

/// The kind of a value, as GitHub names kinds in messages and in `format('{0}', x)` of arrays
/// and objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Null.
    Null,
    /// Boolean.
    Boolean,
    /// Number.
    Number,
    /// String.
    String,
    /// Array.
    Array,
    /// Object.
    Object,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Null => "Null",
            Kind::Boolean => "Boolean",
            Kind::Number => "Number",
            Kind::String => "String",
            Kind::Array => "Array",
            Kind::Object => "Object",
        })
    }
}

impl Value {
    /// The value's kind.
    #[must_use]
    pub fn kind(&self) -> Kind {
        match self {
            Value::Null => Kind::Null,
            Value::Bool(_) => Kind::Boolean,
            Value::Number(_) => Kind::Number,
            Value::String(_) => Kind::String,
            Value::Array(_) => Kind::Array,
            Value::Object(_) => Kind::Object,
        }
    }

    /// Whether the value is null, a boolean, a number or a string.
    #[must_use]
    pub fn is_primitive(&self) -> bool {
        !matches!(self, Value::Array(_) | Value::Object(_))
    }

    /// GitHub's truthiness: false are `null`, `false`, `0`, `-0`, `NaN` and `''`; every other
    /// value (arrays and objects included, even empty ones) is true.
    #[must_use]
    pub fn is_truthy(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Number(n) => !(*n == 0.0 || n.is_nan()),
            Value::String(s) => !s.is_empty(),
            Value::Array(_) | Value::Object(_) => true,
        }
    }

    /// GitHub's conversion to a number: null and false are 0, true is 1, strings are read by
    /// [`parse_number`], arrays and objects are NaN.
    #[must_use]
    pub fn to_number(&self) -> f64 {
        match self {
            Value::Null => 0.0,
            Value::Bool(b) => f64::from(u8::from(*b)),
            Value::Number(n) => *n,
            Value::String(s) => parse_number(s),
            Value::Array(_) | Value::Object(_) => f64::NAN,
        }
    }

    /// GitHub's conversion to a string: null is `''`, booleans `true`/`false`, numbers as
    /// [`format_number`], arrays `Array` and objects `Object`.
    #[must_use]
    pub fn to_display_string(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => format_number(*n),
            Value::String(s) => s.clone(),
            Value::Array(_) => "Array".to_owned(),
            Value::Object(_) => "Object".to_owned(),
        }
    }

    /// The string, if this is a string.
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The object, if this is an object.
    #[must_use]
    pub fn as_object(&self) -> Option<&Object> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    /// The array, if this is an array.
    #[must_use]
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// A property of an object (matched without regard to case); `None` for other kinds.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_object().and_then(|o| o.get(key))
    }

    /// The value as `toJSON` writes it: two-space indentation, `[]` and `{}` for empty ones.
    #[must_use]
    pub fn to_json_pretty(&self) -> String {
        let mut out = String::new();
        write_json(self, &mut out, Some(0));
        out
    }

    /// The value as compact JSON.
    #[must_use]
    pub fn to_json_compact(&self) -> String {
        let mut out = String::new();
        write_json(self, &mut out, None);
        out
    }
}

/// Writes JSON iteratively-safe for the depths values can have (values from `fromJSON` are at
/// most 128 deep; callers' contexts are their own).
fn write_json(value: &Value, out: &mut String, indent: Option<usize>) {
    let newline = |out: &mut String, level: usize| {
        out.push('\n');
        for _ in 0..level {
            out.push_str("  ");
        }
    };
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&json_number(*n)),
        Value::String(s) => write_json_string(s, out),
        Value::Array(items) if items.is_empty() => out.push_str("[]"),
        Value::Object(object) if object.is_empty() => out.push_str("{}"),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if let Some(level) = indent {
                    newline(out, level + 1);
                }
                write_json(item, out, indent.map(|l| l + 1));
            }
            if let Some(level) = indent {
                newline(out, level);
            }
            out.push(']');
        }
        Value::Object(object) => {
            out.push('{');
            for (i, (key, item)) in object.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if let Some(level) = indent {
                    newline(out, level + 1);
                }
                write_json_string(key, out);
                out.push(':');
                if indent.is_some() {
                    out.push(' ');
                }
                write_json(item, out, indent.map(|l| l + 1));
            }
            if let Some(level) = indent {
                newline(out, level);
            }
            out.push('}');
        }
    }
}

/// A number in JSON: integers without a fraction, others as [`format_number`] writes them
/// (NaN and the infinities as their names, as the runner's JSON writer does).
fn json_number(n: f64) -> String {
    format_number(n)
}

fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Reads a number as GitHub does: surrounding white space is ignored; empty (or all white
/// space) is 0; `Infinity` and `-Infinity`/`+Infinity`; `0x`, `0o` and `0b` prefixes (without a
/// sign); decimal digits with an optional sign, fraction and exponent. Anything else is NaN.
#[must_use]
pub fn parse_number(text: &str) -> f64 {
    let s = text.trim();
    if s.is_empty() {
        return 0.0;
    }
    for (prefix, radix) in [("0x", 16), ("0X", 16), ("0o", 8), ("0O", 8), ("0b", 2), ("0B", 2)] {
        if let Some(digits) = s.strip_prefix(prefix) {
            if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
                return f64::NAN;
            }
            return digits
                .chars()
                .fold(0.0, |acc, c| acc * f64::from(radix) + f64::from(c.to_digit(radix).unwrap_or(0)));
        }
    }
    let (negative, unsigned) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if unsigned == "Infinity" {
        return if negative { f64::NEG_INFINITY } else { f64::INFINITY };
    }
    if !is_decimal(unsigned) {
        return f64::NAN;
    }
    match unsigned.parse::<f64>() {
        Ok(n) if negative => -n,
        Ok(n) => n,
        Err(_) => f64::NAN,
    }
}

/// `digits [. digits] [e [+-] digits]` or `. digits [...]`, with at least one mantissa digit.
fn is_decimal(s: &str) -> bool {
    let bytes = s.as_bytes();
    let mut i = 0;
    let int_start = i;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        i += 1;
    }
    let mut digits = i - int_start;
    if i < bytes.len() && bytes[i] == b'.' {
        i += 1;
        let frac_start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        digits += i - frac_start;
    }
    if digits == 0 {
        return false;
    }
    if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
        i += 1;
        if i < bytes.len() && (bytes[i] == b'+' || bytes[i] == b'-') {
            i += 1;
        }
        let exp_start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i == exp_start {
            return false;
        }
    }
    i == bytes.len()
}

/// Writes a number as the runner does (.NET's `G15`, invariant culture): at most 15
/// significant digits without trailing zeros, `-0` as `0`, scientific notation (`1E+15`,
/// `1E-05`) when the exponent is -5 or below, or 15 or above, and `NaN`, `Infinity`, `-Infinity`.
#[must_use]
pub fn format_number(n: f64) -> String {
    if n.is_nan() {
        return "NaN".to_owned();
    }
    if n.is_infinite() {
        return if n > 0.0 { "Infinity".to_owned() } else { "-Infinity".to_owned() };
    }
    if n == 0.0 {
        return "0".to_owned();
    }
    // 15 significant digits in scientific form: d.dddddddddddddde±x
    let sci = format!("{:.14e}", n);
    let Some((mantissa, exponent)) = sci.split_once('e') else {
        return sci;
    };
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    let sign = if negative { "-" } else { "" };
    if !(-4..15).contains(&exponent) {
        let (first, rest) = digits.split_at(1);
        let fraction = if rest.is_empty() { String::new() } else { format!(".{rest}") };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        return format!("{sign}{first}{fraction}E{exp_sign}{:02}", exponent.abs());
    }
    let point = exponent + 1; // digits before the decimal point
    if point <= 0 {
        let zeros = "0".repeat(usize::try_from(-point).unwrap_or(0));
        return format!("{sign}0.{zeros}{digits}");
    }
    let point = usize::try_from(point).unwrap_or(0);
    if digits.len() <= point {
        let zeros = "0".repeat(point - digits.len());
        format!("{sign}{digits}{zeros}")
    } else {
        let (int, frac) = digits.split_at(point);
        format!("{sign}{int}.{frac}")
    }
}

/// A character as GitHub's case-insensitive comparisons see it: upper-cased when its upper
/// case is one character, except the dotless `ı`, which is kept.
fn fold(c: char) -> char {
    if c == 'ı' || c.is_ascii() {
        return c.to_ascii_uppercase();
    }
    let mut upper = c.to_uppercase();
    match (upper.next(), upper.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

/// A string folded for case-insensitive comparison (see [`fold`]).
pub(crate) fn fold_str(s: &str) -> String {
    s.chars().map(fold).collect()
}

/// Whether two strings are equal without regard to case, as GitHub compares them.
#[must_use]
pub fn eq_ignore_case(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.eq_ignore_ascii_case(b) || a.chars().map(fold).eq(b.chars().map(fold))
}

/// Orders two strings without regard to case, by UTF-16 code units of the folded strings.
fn cmp_ignore_case(a: &str, b: &str) -> Ordering {
    let mut buf_a = [0u16; 2];
    let mut buf_b = [0u16; 2];
    let units_a = a.chars().flat_map(|c| fold(c).encode_utf16(&mut buf_a).to_vec());
    let units_b = b.chars().flat_map(|c| fold(c).encode_utf16(&mut buf_b).to_vec());
    units_a.cmp(units_b)
}

/// Converts the operands of a comparison as GitHub does: null and booleans become numbers;
/// a number and a string are compared as numbers; otherwise kinds are kept.
fn coerce(left: &Value, right: &Value) -> (Value, Value) {
    let number = |v: &Value| Value::Number(v.to_number());
    match (left, right) {
        _ if left.kind() == right.kind() => (left.clone(), right.clone()),
        (Value::Number(_), Value::String(_)) => (left.clone(), number(right)),
        (Value::String(_), Value::Number(_)) => (number(left), right.clone()),
        (Value::Null | Value::Bool(_), _) => coerce(&number(left), right),
        (_, Value::Null | Value::Bool(_)) => coerce(left, &number(right)),
        _ => (left.clone(), right.clone()),
    }
}

/// GitHub's `==`: after converting the operands (null and booleans to numbers; a number and a
/// string as numbers), numbers by value (NaN equals nothing), strings without
/// regard to case, arrays and objects by identity; different kinds are not equal.
#[must_use]
pub fn loose_eq(left: &Value, right: &Value) -> bool {
    match coerce(left, right) {
        (Value::Null, Value::Null) => true,
        (Value::Number(a), Value::Number(b)) => a == b,
        (Value::String(a), Value::String(b)) => eq_ignore_case(&a, &b),
        (Value::Bool(a), Value::Bool(b)) => a == b,
        (Value::Array(a), Value::Array(b)) => Arc::ptr_eq(&a, &b),
        (Value::Object(a), Value::Object(b)) => Arc::ptr_eq(&a, &b),
        _ => false,
    }
}

/// GitHub's ordering for `<`, `>`, `<=`, `>=`: after converting as [`loose_eq`] does, numbers (none with NaN),
/// strings without regard to case, booleans (`false < true`); `None` where GitHub says every
/// comparison is false (different kinds, NaN, arrays, objects, nulls).
#[must_use]
pub fn loose_cmp(left: &Value, right: &Value) -> Option<Ordering> {
    match coerce(left, right) {
        (Value::Number(a), Value::Number(b)) => a.partial_cmp(&b),
        (Value::String(a), Value::String(b)) => Some(cmp_ignore_case(&a, &b)),
        (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(&b)),
        _ => None,
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Number(n) => serializer.serialize_f64(*n),
            Value::String(s) => serializer.serialize_str(s),
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items.iter() {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Object(object) => {
                let mut map = serializer.serialize_map(Some(object.len()))?;
                for (k, v) in object.iter() {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

/// Reads any JSON-like data, keeping the order of object keys.
impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        Value::deserialize(deserializer)
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    #[expect(clippy::cast_precision_loss, reason = "GitHub's numbers are doubles")]
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Value, E> {
        Ok(Value::Number(n as f64))
    }

    #[expect(clippy::cast_precision_loss, reason = "GitHub's numbers are doubles")]
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Value, E> {
        Ok(Value::Number(n as f64))
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Value, E> {
        Ok(Value::Number(n))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Value>()? {
            items.push(item);
        }
        Ok(items.into())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Object::new();
        while let Some((key, value)) = map.next_entry::<String, Value>()? {
            object.insert(key, value);
        }
        Ok(object.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_from_strings_as_github_does() {
        assert_eq!(parse_number(""), 0.0);
        assert_eq!(parse_number("   "), 0.0);
        assert_eq!(parse_number(" 123456.789 "), 123_456.789);
        assert_eq!(parse_number(" +1.2e2 "), 120.0);
        assert_eq!(parse_number("-1.2E-2"), -0.012);
        assert_eq!(parse_number(".5"), 0.5);
        assert_eq!(parse_number("5."), 5.0);
        assert_eq!(parse_number(" 0xff "), 255.0);
        assert_eq!(parse_number("0o10"), 8.0);
        assert_eq!(parse_number("0b101"), 5.0);
        assert_eq!(parse_number(" -Infinity "), f64::NEG_INFINITY);
        for nan in ["NaN", "abc", "-0xff", "0x", "1e", "e5", ".", "1.2.3", "Inf", "0x1p2", "1_000"] {
            assert!(parse_number(nan).is_nan(), "{nan} should be NaN");
        }
    }

    #[test]
    fn numbers_written_as_the_runner_writes_them() {
        let cases = [
            (0.0, "0"),
            (-0.0, "0"),
            (1.0, "1"),
            (-2.0, "-2"),
            (0.5, "0.5"),
            (123_456.789, "123456.789"),
            (parse_number("0.84551240822557006"), "0.84551240822557"),
            (1234.56, "1234.56"),
            (0.012, "0.012"),
            (1_234_567_890.0, "1234567890"),
            (12_345_678_901_234_567_890.0, "1.23456789012346E+19"),
            (1e15, "1E+15"),
            (123_456_789_012_345.0, "123456789012345"),
            (0.0001, "0.0001"),
            (0.000_01, "1E-05"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
        ];
        for (n, text) in cases {
            assert_eq!(format_number(n), text, "{n}");
        }
    }

    #[test]
    fn truthiness() {
        for falsy in [Value::Null, false.into(), 0.0.into(), (-0.0).into(), f64::NAN.into(), "".into()] {
            assert!(!falsy.is_truthy(), "{falsy:?}");
        }
        for truthy in [true.into(), 1.0.into(), "0".into(), "false".into(), Value::from(vec![]), Object::new().into()] {
            assert!(truthy.is_truthy(), "{truthy:?}");
        }
    }

    #[test]
    fn loose_equality_coerces_like_github() {
        assert!(loose_eq(&Value::Null, &0.0.into()));
        assert!(loose_eq(&Value::Null, &"".into()));
        assert!(loose_eq(&Value::Null, &"0".into()));
        assert!(!loose_eq(&Value::Null, &"null".into()));
        assert!(loose_eq(&true.into(), &" 1.0 ".into()));
        assert!(loose_eq(&"ABC".into(), &"abc".into()));
        assert!(!loose_eq(&f64::NAN.into(), &f64::NAN.into()));
        let object = Value::from(Object::new());
        assert!(loose_eq(&object, &object.clone()));
        assert!(!loose_eq(&object, &Object::new().into()));
        assert!(!loose_eq(&"Object".into(), &object));
    }

    #[test]
    fn ordering_folds_case_except_dotless_i() {
        assert_eq!(loose_cmp(&"a".into(), &"[".into()), Some(Ordering::Less));
        assert_eq!(loose_cmp(&"ς".into(), &"Σ".into()), Some(Ordering::Equal));
        assert_eq!(loose_cmp(&"ı".into(), &"I".into()), Some(Ordering::Greater));
        assert_eq!(loose_cmp(&false.into(), &true.into()), Some(Ordering::Less));
        assert_eq!(loose_cmp(&Object::new().into(), &2.0.into()), None);
    }

    #[test]
    fn objects_keep_order_and_ignore_case() {
        let value: Value = serde_json::from_str(r#"{"b": 1, "A": {"x": [true, null]}, "B": 3}"#).expect("json");
        assert_eq!(value.to_json_compact(), r#"{"b":1,"A":{"x":[true,null]}}"#);
        assert_eq!(value.get("a").and_then(|a| a.get("X")).map(Value::kind), Some(Kind::Array));
        assert_eq!(
            value.to_json_pretty(),
            "{\n  \"b\": 1,\n  \"A\": {\n    \"x\": [\n      true,\n      null\n    ]\n  }\n}"
        );
    }
}
