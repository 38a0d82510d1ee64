//! Runtime values and Azure's conversions between them.
//!
//! The rules follow the "Type casting" section of the Azure Pipelines expression docs and the
//! reference implementation (`EvaluationResult` in `DistributedTask.Expressions`): numbers are .NET
//! decimals printed with the format `0.#######`, booleans print as `True`/`False`, strings compare
//! ordinal ignore-case, versions parse with `System.Version.TryParse`.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::eval::EvalError;

/// The largest magnitude a .NET `decimal` can hold (`79228162514264337593543950335`); Azure numbers
/// are decimals, so text beyond it does not convert to a number.
const DECIMAL_MAX: f64 = 79_228_162_514_264_337_593_543_950_335.0;

/// A value produced or consumed by an expression.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum Value {
    /// Null: what a dictionary miss returns (`variables['noSuch']`).
    #[default]
    Null,
    /// A boolean.
    Bool(bool),
    /// A number (Azure uses .NET `decimal`; this is its `f64` approximation).
    Number(f64),
    /// A string.
    String(String),
    /// A version such as `1.2.3`.
    Version(Version),
    /// An array (a parameter of type object holding a sequence, `split` results, filtered arrays).
    Array(Vec<Value>),
    /// An object (a mapping; keys are looked up case-insensitively).
    Object(Object),
}

impl Value {
    /// Azure's conversion of a value to text, as inserted by `${{ }}` into a larger string and as
    /// stored by `$[ ]` into a variable: Null is `""`, booleans are `True`/`False`, numbers use
    /// .NET's `0.#######` format (no exponent, at most seven decimals), versions print their 2 to 4
    /// components, and arrays and objects print their kind (`Array`, `Object`).
    pub fn to_display_string(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Bool(b) => bool_text(*b).to_owned(),
            Value::Number(n) => format_number(*n),
            Value::String(s) => s.clone(),
            Value::Version(v) => v.to_string(),
            Value::Array(_) => "Array".to_owned(),
            Value::Object(_) => "Object".to_owned(),
        }
    }

    /// Azure's conversion to Boolean: Null, `0`, `''` and `False` are false; every other value
    /// (including the string `'false'`, versions, arrays and objects) is true.
    pub fn is_truthy(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Number(n) => *n != 0.0,
            Value::String(s) => !s.is_empty(),
            Value::Version(_) | Value::Array(_) | Value::Object(_) => true,
        }
    }

    /// Converts to JSON. Versions become strings; integral numbers become JSON integers;
    /// non-finite numbers become `null`.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => number_to_json(*n),
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::Version(v) => serde_json::Value::String(v.to_string()),
            Value::Array(items) => serde_json::Value::Array(items.iter().map(Value::to_json).collect()),
            Value::Object(object) => {
                serde_json::Value::Object(object.iter().map(|(k, v)| (k.to_owned(), v.to_json())).collect())
            }
        }
    }

    /// Converts from JSON. Strings stay strings (a string that looks like a version is not a
    /// version: only literals such as `1.2.3` in an expression are).
    pub fn from_json(json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => n.as_f64().map_or(Value::Null, Value::Number),
            serde_json::Value::String(s) => Value::String(s.clone()),
            serde_json::Value::Array(items) => Value::Array(items.iter().map(Value::from_json).collect()),
            serde_json::Value::Object(map) => {
                Value::Object(map.iter().map(|(k, v)| (k.clone(), Value::from_json(v))).collect())
            }
        }
    }

    /// Azure's name for the kind of the value, as used in error messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Null => "Null",
            Value::Bool(_) => "Boolean",
            Value::Number(_) => "Number",
            Value::String(_) => "String",
            Value::Version(_) => "Version",
            Value::Array(_) => "Array",
            Value::Object(_) => "Object",
        }
    }

    /// `TryConvertToNumber`: Null is 0, booleans are 0/1, strings parse with the invariant culture
    /// (leading/trailing white space, a leading sign, `,` thousands separators and a `.` decimal
    /// point; `''` is 0). Versions, arrays and objects do not convert.
    pub(crate) fn try_to_number(&self) -> Option<f64> {
        match self {
            Value::Null => Some(0.0),
            Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
            Value::Number(n) => Some(*n),
            Value::String(s) if s.is_empty() => Some(0.0),
            Value::String(s) => parse_decimal(s, NumberStyle::Loose),
            Value::Version(_) | Value::Array(_) | Value::Object(_) => None,
        }
    }

    /// `TryConvertToString`: everything but arrays and objects converts.
    pub(crate) fn try_to_string(&self) -> Option<Cow<'_, str>> {
        match self {
            Value::String(s) => Some(Cow::Borrowed(s)),
            Value::Array(_) | Value::Object(_) => None,
            other => Some(Cow::Owned(other.to_display_string())),
        }
    }

    /// `TryConvertToVersion`: strings and numbers go through `Version.TryParse`.
    pub(crate) fn try_to_version(&self) -> Option<Version> {
        match self {
            Value::Version(v) => Some(*v),
            Value::String(s) => Version::parse(s),
            Value::Number(n) => Version::parse(&format_number(*n)),
            Value::Null | Value::Bool(_) | Value::Array(_) | Value::Object(_) => None,
        }
    }

    /// `TryConvertToNull`: Null and the empty string convert to Null.
    pub(crate) fn is_null_like(&self) -> bool {
        match self {
            Value::Null => true,
            Value::String(s) => s.is_empty(),
            _ => false,
        }
    }

    /// `ConvertToNumber`: like [`Value::try_to_number`] but a failure is an error.
    pub(crate) fn to_number(&self) -> Result<f64, EvalError> {
        self.try_to_number().ok_or_else(|| cast_error(self, "Number"))
    }

    /// `ConvertToString`: like [`Value::try_to_string`] but a failure is an error.
    pub(crate) fn to_string_strict(&self) -> Result<Cow<'_, str>, EvalError> {
        self.try_to_string().ok_or_else(|| cast_error(self, "String"))
    }

    /// `ConvertToVersion`: like [`Value::try_to_version`] but a failure is an error.
    pub(crate) fn to_version(&self) -> Result<Version, EvalError> {
        self.try_to_version().ok_or_else(|| cast_error(self, "Version"))
    }

    /// How Azure shows a value inside a message (`ExpressionUtil.FormatValue`): strings quoted with
    /// `'` (doubled inside), versions prefixed with `v`, arrays/objects/null by their kind.
    pub(crate) fn format_for_message(&self) -> String {
        match self {
            Value::Null | Value::Array(_) | Value::Object(_) => self.kind_name().to_owned(),
            Value::Bool(b) => bool_text(*b).to_owned(),
            Value::Number(n) => format_number(*n),
            Value::String(s) => format!("'{}'", s.replace('\'', "''")),
            Value::Version(v) => format!("v{v}"),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_display_string())
    }
}

impl From<bool> for Value {
    fn from(value: bool) -> Self {
        Value::Bool(value)
    }
}

impl From<f64> for Value {
    fn from(value: f64) -> Self {
        Value::Number(value)
    }
}

impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Value::String(value.to_owned())
    }
}

impl From<String> for Value {
    fn from(value: String) -> Self {
        Value::String(value)
    }
}

impl From<Version> for Value {
    fn from(value: Version) -> Self {
        Value::Version(value)
    }
}

impl From<Vec<Value>> for Value {
    fn from(value: Vec<Value>) -> Self {
        Value::Array(value)
    }
}

impl From<Object> for Value {
    fn from(value: Object) -> Self {
        Value::Object(value)
    }
}

/// The error Azure raises when a required conversion fails (`TypeCastException`).
pub(crate) fn cast_error(value: &Value, to: &str) -> EvalError {
    EvalError::new(format!(
        "Unable to convert from {} to {}. Value: {}",
        value.kind_name(),
        to,
        value.format_for_message()
    ))
}

fn bool_text(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

fn number_to_json(n: f64) -> serde_json::Value {
    const EXACT_INT: f64 = 9_007_199_254_740_992.0; // 2^53
    if n.is_finite() && n.fract() == 0.0 && n.abs() < EXACT_INT {
        #[expect(clippy::cast_possible_truncation, reason = "integral and below 2^53, so exact")]
        let i = n as i64;
        serde_json::Value::from(i)
    } else {
        serde_json::Number::from_f64(n).map_or(serde_json::Value::Null, serde_json::Value::Number)
    }
}

/// An ordered mapping from string keys to values. Keys are compared ordinal ignore-case, as Azure's
/// variables, parameters and dependencies dictionaries are; the order of insertion is kept. An index
/// of the folded keys makes inserting and finding a key independent of the object's size.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(from = "ObjectEntries", into = "ObjectEntries")]
pub struct Object {
    entries: Vec<(String, Value)>,
    /// The position in `entries` of each key, folded as [`eq_ignore_case`] compares them.
    index: HashMap<String, usize>,
}

/// How an [`Object`] is written: its entries (the index is made again when read).
#[derive(Clone, Serialize, Deserialize)]
struct ObjectEntries {
    entries: Vec<(String, Value)>,
}

impl From<ObjectEntries> for Object {
    fn from(written: ObjectEntries) -> Self {
        written.entries.into_iter().collect()
    }
}

impl From<Object> for ObjectEntries {
    fn from(object: Object) -> Self {
        ObjectEntries { entries: object.entries }
    }
}

impl PartialEq for Object {
    fn eq(&self, other: &Self) -> bool {
        self.entries == other.entries
    }
}

impl Object {
    /// An empty object.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` to `value`. A key that matches case-insensitively is replaced in place (taking
    /// the new spelling); the previous value is returned.
    pub fn insert(&mut self, key: impl Into<String>, value: Value) -> Option<Value> {
        let key = key.into();
        match self.index.entry(fold(&key)) {
            std::collections::hash_map::Entry::Occupied(found) => {
                let entry = &mut self.entries[*found.get()];
                entry.0 = key;
                Some(std::mem::replace(&mut entry.1, value))
            }
            std::collections::hash_map::Entry::Vacant(vacant) => {
                vacant.insert(self.entries.len());
                self.entries.push((key, value));
                None
            }
        }
    }

    /// The value of `key`, matched case-insensitively.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.index.get(&fold(key)).map(|&position| &self.entries[position].1)
    }

    /// Removes `key` (matched case-insensitively) and returns its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let position = self.index.remove(&fold(key))?;
        let (_, value) = self.entries.remove(position);
        for later in self.index.values_mut() {
            if *later > position {
                *later -= 1;
            }
        }
        Some(value)
    }

    /// The entries in insertion order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Value)> + '_ {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The values in insertion order.
    pub fn values(&self) -> impl ExactSizeIterator<Item = &Value> + '_ {
        self.entries.iter().map(|(_, v)| v)
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
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

impl IntoIterator for Object {
    type Item = (String, Value);
    type IntoIter = std::vec::IntoIter<(String, Value)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

/// A version number with 2 to 4 non-negative components, like .NET's `System.Version`. Missing
/// components sort before present ones (`1.2` < `1.2.0`), as in .NET.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Version {
    major: u32,
    minor: u32,
    build: Option<u32>,
    revision: Option<u32>,
}

impl Version {
    /// A two-component version `major.minor`. Components above `i32::MAX` are clamped to it.
    pub fn new(major: u32, minor: u32) -> Self {
        Version { major: clamp_component(major), minor: clamp_component(minor), build: None, revision: None }
    }

    /// A version from 2 to 4 components; `None` for any other count or a component above
    /// `i32::MAX` (the range of `System.Version`).
    pub fn from_parts(parts: &[u32]) -> Option<Self> {
        let max = i32::MAX.unsigned_abs();
        if parts.iter().any(|&p| p > max) {
            return None;
        }
        match *parts {
            [major, minor] => Some(Version { major, minor, build: None, revision: None }),
            [major, minor, build] => Some(Version { major, minor, build: Some(build), revision: None }),
            [major, minor, build, revision] => {
                Some(Version { major, minor, build: Some(build), revision: Some(revision) })
            }
            _ => None,
        }
    }

    /// `System.Version.TryParse`: 2 to 4 `.`-separated components, each an invariant-culture
    /// integer (surrounding white space and a sign allowed) from 0 to `i32::MAX`.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = [0_u32; 4];
        let mut count = 0_usize;
        for piece in text.split('.') {
            let slot = parts.get_mut(count)?;
            *slot = parse_version_component(piece)?;
            count += 1;
        }
        Self::from_parts(parts.get(..count)?)
    }

    /// The major component.
    pub fn major(&self) -> u32 {
        self.major
    }

    /// The minor component.
    pub fn minor(&self) -> u32 {
        self.minor
    }

    /// The build component, if present.
    pub fn build(&self) -> Option<u32> {
        self.build
    }

    /// The revision component, if present.
    pub fn revision(&self) -> Option<u32> {
        self.revision
    }
}

fn clamp_component(c: u32) -> u32 {
    c.min(i32::MAX.unsigned_abs())
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)?;
        if let Some(build) = self.build {
            write!(f, ".{build}")?;
            if let Some(revision) = self.revision {
                write!(f, ".{revision}")?;
            }
        }
        Ok(())
    }
}

/// The error for text that is not a version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a version (expected 2 to 4 numeric components such as 1.2.3)")]
pub struct VersionParseError(pub String);

impl FromStr for Version {
    type Err = VersionParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Version::parse(s).ok_or_else(|| VersionParseError(s.to_owned()))
    }
}

impl TryFrom<String> for Version {
    type Error = VersionParseError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Version> for String {
    fn from(value: Version) -> Self {
        value.to_string()
    }
}

/// .NET's white space for number parsing (`NumberStyles.AllowLeadingWhite`): space and U+0009..U+000D.
fn is_dotnet_number_white(c: char) -> bool {
    c == ' ' || ('\t'..='\r').contains(&c)
}

/// `int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture)` restricted to values
/// from 0 to `i32::MAX`.
fn parse_version_component(piece: &str) -> Option<u32> {
    let trimmed = piece.trim_end_matches('\0').trim_matches(is_dotnet_number_white);
    let (negative, digits) = match trimmed.as_bytes().first() {
        Some(b'-') => (true, trimmed.get(1..)?),
        Some(b'+') => (false, trimmed.get(1..)?),
        _ => (false, trimmed),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut value: u64 = 0;
    for b in digits.bytes() {
        value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
        if value > u64::from(i32::MAX.unsigned_abs()) + 1 {
            return None;
        }
    }
    if negative {
        // "-0" is 0; any other negative number is rejected by Version.
        return (value == 0).then_some(0);
    }
    u32::try_from(value).ok().filter(|&v| v <= i32::MAX.unsigned_abs())
}

/// Which .NET `NumberStyles` a number is parsed with.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumberStyle {
    /// A literal in an expression: `AllowLeadingSign | AllowDecimalPoint`.
    Literal,
    /// A string converted to a number: `Integer | AllowDecimalPoint | AllowThousands`.
    Loose,
}

/// `decimal.TryParse` with the invariant culture and the given style. Exponents, `NaN` and
/// `Infinity` are never accepted; values beyond the range of `decimal` fail.
pub(crate) fn parse_decimal(text: &str, style: NumberStyle) -> Option<f64> {
    let loose = style == NumberStyle::Loose;
    let mut rest = text.trim_end_matches('\0');
    if loose {
        rest = rest.trim_matches(is_dotnet_number_white);
    }
    let mut chars = rest.chars().peekable();
    let mut negative = false;
    if let Some(&c) = chars.peek()
        && (c == '-' || c == '+')
    {
        negative = c == '-';
        chars.next();
    }
    let mut int_digits = String::new();
    let mut frac_digits = String::new();
    let mut seen_point = false;
    for c in chars {
        if c.is_ascii_digit() {
            if seen_point {
                frac_digits.push(c);
            } else {
                int_digits.push(c);
            }
        } else if c == '.' && !seen_point {
            seen_point = true;
        } else if c == ',' && loose && !seen_point && !int_digits.is_empty() {
            // Group separators are accepted anywhere after the first digit of the integer part.
        } else {
            return None;
        }
    }
    if int_digits.is_empty() && frac_digits.is_empty() {
        return None;
    }
    let normalized = format!(
        "{}{}.{}",
        if negative { "-" } else { "" },
        if int_digits.is_empty() { "0" } else { &int_digits },
        if frac_digits.is_empty() { "0" } else { &frac_digits }
    );
    let value: f64 = normalized.parse().ok()?;
    (value.is_finite() && value.abs() <= DECIMAL_MAX).then_some(value)
}

/// Formats a number the way Azure does: `decimal.ToString("0.#######", InvariantCulture)`, i.e. no
/// exponent, no thousands separator, at most seven decimals rounded half away from zero.
pub(crate) fn format_number(n: f64) -> String {
    if n.is_nan() {
        return "NaN".to_owned();
    }
    if n.is_infinite() {
        return if n > 0.0 { "Infinity".to_owned() } else { "-Infinity".to_owned() };
    }
    // Rust's Display prints the shortest text that round-trips, without an exponent; those digits
    // are the decimal the number stands for.
    let text = format!("{}", n.abs());
    let (int_part, frac_part) = text.split_once('.').unwrap_or((text.as_str(), ""));
    let mut int_digits: Vec<u8> = int_part.bytes().map(|b| b.wrapping_sub(b'0')).collect();
    let mut frac: Vec<u8> = frac_part.bytes().map(|b| b.wrapping_sub(b'0')).collect();
    if frac.len() > 7 {
        let round_up = frac.get(7).is_some_and(|&d| d >= 5);
        frac.truncate(7);
        if round_up {
            let mut carry = true;
            for d in frac.iter_mut().rev().chain(int_digits.iter_mut().rev()) {
                if !carry {
                    break;
                }
                if *d == 9 {
                    *d = 0;
                } else {
                    *d += 1;
                    carry = false;
                }
            }
            if carry {
                int_digits.insert(0, 1);
            }
        }
    }
    while frac.last() == Some(&0) {
        frac.pop();
    }
    let mut out = String::new();
    let is_zero = int_digits.iter().all(|&d| d == 0) && frac.is_empty();
    if n.is_sign_negative() && !is_zero {
        out.push('-');
    }
    // Drop leading zeros of the integer part but keep at least one digit.
    let first_nonzero = int_digits.iter().position(|&d| d != 0).unwrap_or(int_digits.len().saturating_sub(1));
    for d in int_digits.iter().skip(first_nonzero) {
        out.push(char::from_digit(u32::from(*d), 10).unwrap_or('0'));
    }
    if out.is_empty() || out == "-" {
        out.push('0');
    }
    if !frac.is_empty() {
        out.push('.');
        for d in &frac {
            out.push(char::from_digit(u32::from(*d), 10).unwrap_or('0'));
        }
    }
    out
}

/// Simple (one character to one character) upper-case mapping, as .NET's `ToUpperInvariant`
/// applies per character; characters whose upper case is several characters stay as they are.
pub(crate) fn upper_char(c: char) -> char {
    let mut upper = c.to_uppercase();
    match (upper.next(), upper.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

/// Simple lower-case mapping, as .NET's `ToLowerInvariant` applies per character.
pub(crate) fn lower_char(c: char) -> char {
    if c == '\u{130}' {
        // Capital I with dot above: the simple mapping is plain 'i'.
        return 'i';
    }
    let mut lower = c.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

/// The string with every character mapped through [`upper_char`]: the key for ordinal
/// ignore-case comparisons.
pub(crate) fn fold(s: &str) -> String {
    s.chars().map(upper_char).collect()
}

/// `string.Equals(a, b, StringComparison.OrdinalIgnoreCase)`.
pub(crate) fn eq_ignore_case(a: &str, b: &str) -> bool {
    a == b || a.chars().map(upper_char).eq(b.chars().map(upper_char))
}

/// `string.Compare(a, b, StringComparison.OrdinalIgnoreCase)`: compares the upper-cased UTF-16
/// code units.
pub(crate) fn cmp_ignore_case(a: &str, b: &str) -> Ordering {
    let units = |s: &str| -> Vec<u16> {
        let mut out = Vec::with_capacity(s.len());
        let mut buffer = [0_u16; 2];
        for c in s.chars() {
            out.extend_from_slice(upper_char(c).encode_utf16(&mut buffer));
        }
        out
    };
    units(a).cmp(&units(b))
}

/// Azure's `Equals`: the right value is converted to the left value's kind; a failed conversion is
/// "not equal". Strings compare ordinal ignore-case. Arrays and objects are equal only to an array
/// or object of the same content (Azure compares object identity, which has no counterpart here).
pub(crate) fn equals(left: &Value, right: &Value) -> bool {
    match left {
        Value::Bool(b) => *b == right.is_truthy(),
        Value::Number(n) => right.try_to_number().is_some_and(|r| *n == r),
        Value::Version(v) => right.try_to_version().is_some_and(|r| *v == r),
        Value::String(s) => right.try_to_string().is_some_and(|r| eq_ignore_case(s, &r)),
        Value::Array(_) | Value::Object(_) => left == right,
        Value::Null => right.is_null_like(),
    }
}

/// Azure's `CompareTo` (used by `gt`, `ge`, `lt`, `le`): the right value is converted to the left
/// value's kind (Null, arrays and objects on the left are first converted to a number); a failed
/// conversion is an error.
pub(crate) fn compare(left: &Value, right: &Value) -> Result<Ordering, EvalError> {
    Ok(match left {
        Value::Bool(b) => b.cmp(&right.is_truthy()),
        Value::Number(n) => cmp_f64(*n, right.to_number()?),
        Value::String(s) => cmp_ignore_case(s, &right.to_string_strict()?),
        Value::Version(v) => v.cmp(&right.to_version()?),
        Value::Null | Value::Array(_) | Value::Object(_) => cmp_f64(left.to_number()?, right.to_number()?),
    })
}

fn cmp_f64(a: f64, b: f64) -> Ordering {
    a.partial_cmp(&b).unwrap_or(Ordering::Equal)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys are found ignoring case through the index, whatever the size, and the index follows
    /// replacements and removals.
    #[test]
    fn objects_find_keys_ignoring_case_at_any_size() {
        let mut object: Object = (0..10_000).map(|index| (format!("Var{index}"), Value::from(index as f64))).collect();
        assert_eq!(object.len(), 10_000);
        assert_eq!(object.get("VAR9999"), Some(&Value::from(9999.0)));
        assert_eq!(object.insert("var5", Value::from("five")), Some(Value::from(5.0)));
        assert_eq!(object.iter().nth(5), Some(("var5", &Value::from("five"))), "replaced in place, new spelling");
        assert_eq!(object.remove("VAR0"), Some(Value::from(0.0)));
        assert_eq!(object.get("var1"), Some(&Value::from(1.0)));
        assert_eq!(object.get("VAR9999"), Some(&Value::from(9999.0)));
        assert_eq!(object.get("var0"), None);
        assert_eq!(object.insert("var0", Value::Null), None);
        assert_eq!(object.iter().last(), Some(("var0", &Value::Null)));
        let written = serde_json::to_string(&object).unwrap_or_default();
        let read: Object = serde_json::from_str(&written).unwrap_or_default();
        assert_eq!(read, object);
        assert_eq!(read.get("VAR42"), Some(&Value::from(42.0)));
    }

    #[test]
    fn numbers_format_like_dotnet_decimal() {
        let cases = [
            (1.0, "1"),
            (1.5, "1.5"),
            (-1.2, "-1.2"),
            (0.0, "0"),
            (-0.0, "0"),
            (100.0, "100"),
            (1e20, "100000000000000000000"),
            (1.0 / 3.0, "0.3333333"),
            (2.0 / 3.0, "0.6666667"),
            (0.00000005, "0.0000001"),
            (0.00000004, "0"),
            (-0.00000004, "0"),
            (9.99999999, "10"),
            (123456.123456789, "123456.1234568"),
            (0.1, "0.1"),
        ];
        for (n, expected) in cases {
            assert_eq!(format_number(n), expected, "formatting {n}");
        }
    }

    #[test]
    fn string_to_number_uses_invariant_culture_rules() {
        let ok = [
            ("1", 1.0),
            (" 12 ", 12.0),
            ("-1.5", -1.5),
            ("+3", 3.0),
            ("1,000", 1000.0),
            ("1,0,0", 100.0),
            (".5", 0.5),
            ("5.", 5.0),
            ("\t7\n", 7.0),
        ];
        for (s, n) in ok {
            assert_eq!(Value::from(s).try_to_number(), Some(n), "{s:?}");
        }
        for s in ["abc", "1e5", ",5", "1.2.3", "-", ".", "NaN", "Infinity", "1 2", "- 1", "(1)", "1-"] {
            assert_eq!(Value::from(s).try_to_number(), None, "{s:?}");
        }
        assert_eq!(Value::from("").try_to_number(), Some(0.0));
        assert_eq!(Value::from("1e30").try_to_number(), None);
        assert_eq!(Value::from("99999999999999999999999999999").try_to_number(), None);
    }

    #[test]
    fn literal_numbers_are_stricter() {
        assert_eq!(parse_decimal("-1.2", NumberStyle::Literal), Some(-1.2));
        assert_eq!(parse_decimal(".5", NumberStyle::Literal), Some(0.5));
        assert_eq!(parse_decimal("1,000", NumberStyle::Literal), None);
        assert_eq!(parse_decimal(" 1", NumberStyle::Literal), None);
    }

    #[test]
    fn versions_parse_like_system_version() {
        let v = |s: &str| Version::parse(s).map(|v| v.to_string());
        assert_eq!(v("1.2"), Some("1.2".into()));
        assert_eq!(v("1.2.3"), Some("1.2.3".into()));
        assert_eq!(v("1.2.3.4"), Some("1.2.3.4".into()));
        assert_eq!(v(" 1 . 02 "), Some("1.2".into()));
        assert_eq!(v("+1.-0"), Some("1.0".into()));
        assert_eq!(v("1"), None);
        assert_eq!(v("1.2.3.4.5"), None);
        assert_eq!(v("1.-2"), None);
        assert_eq!(v("1..2"), None);
        assert_eq!(v("1.2147483648"), None);
        assert_eq!(v("1.2147483647"), Some("1.2147483647".into()));
        assert_eq!(v("a.b"), None);
        assert_eq!(v(""), None);
    }

    #[test]
    fn versions_compare_per_component_with_missing_first() {
        let v = |s: &str| Version::parse(s).unwrap_or_else(|| Version::new(0, 0));
        assert!(v("1.2.3") < v("1.10.0"));
        assert!(v("1.2") < v("1.2.0"));
        assert!(v("2.0") > v("1.99.99.99"));
        assert_ne!(v("1.2"), v("1.2.0"));
        assert_eq!(Version::from_parts(&[1]), None);
        assert_eq!(Version::from_parts(&[1, 2, 3]).map(|v| v.build()), Some(Some(3)));
    }

    #[test]
    fn version_serde_is_a_string() {
        let v = Version::parse("1.2.3").unwrap_or_else(|| Version::new(0, 0));
        let json = serde_json::to_string(&v).unwrap_or_default();
        assert_eq!(json, "\"1.2.3\"");
        let back: Result<Version, _> = serde_json::from_str(&json);
        assert_eq!(back.ok(), Some(v));
        let bad: Result<Version, _> = serde_json::from_str("\"1\"");
        assert!(bad.is_err());
    }

    #[test]
    fn display_strings() {
        assert_eq!(Value::Null.to_display_string(), "");
        assert_eq!(Value::Bool(true).to_display_string(), "True");
        assert_eq!(Value::Bool(false).to_display_string(), "False");
        assert_eq!(Value::Number(1.0).to_display_string(), "1");
        assert_eq!(Value::from("x").to_display_string(), "x");
        assert_eq!(Value::Array(vec![]).to_display_string(), "Array");
        assert_eq!(Value::Object(Object::new()).to_display_string(), "Object");
    }

    #[test]
    fn truthiness() {
        assert!(!Value::Null.is_truthy());
        assert!(!Value::from("").is_truthy());
        assert!(Value::from("false").is_truthy());
        assert!(!Value::Number(0.0).is_truthy());
        assert!(Value::Number(-1.0).is_truthy());
        assert!(Value::Array(vec![]).is_truthy());
        assert!(Value::Version(Version::new(0, 0)).is_truthy());
    }

    #[test]
    fn json_round_trip() {
        let json = serde_json::json!({"a": [1, 2.5, "x", null, true], "b": {"c": {}}});
        let value = Value::from_json(&json);
        assert_eq!(value.to_json(), json);
        assert_eq!(value.kind_name(), "Object");
    }

    #[test]
    fn object_keys_are_case_insensitive_and_ordered() {
        let mut o = Object::new();
        o.insert("Build.Reason", Value::from("a"));
        o.insert("other", Value::from("b"));
        assert_eq!(o.insert("build.reason", Value::from("c")), Some(Value::from("a")));
        assert_eq!(o.len(), 2);
        assert_eq!(o.get("BUILD.REASON"), Some(&Value::from("c")));
        assert_eq!(o.iter().map(|(k, _)| k).collect::<Vec<_>>(), ["build.reason", "other"]);
        assert_eq!(o.remove("OTHER"), Some(Value::from("b")));
        assert!(!o.is_empty());
    }

    #[test]
    fn ignore_case_comparisons() {
        assert!(eq_ignore_case("abc", "ABC"));
        assert!(eq_ignore_case("straße", "STRAßE"));
        assert!(!eq_ignore_case("ß", "SS"));
        assert_eq!(cmp_ignore_case("a", "B"), Ordering::Less);
        assert_eq!(cmp_ignore_case("b", "A"), Ordering::Greater);
        // Upper-cased code units: '_' (U+005F) sorts after 'A' (U+0041).
        assert_eq!(cmp_ignore_case("_", "a"), Ordering::Greater);
    }

    #[test]
    fn coercion_table() {
        let s = |x: &str| Value::from(x);
        // Equality converts the right side to the left side's kind.
        assert!(equals(&Value::Number(1.0), &s("1")));
        assert!(equals(&Value::Number(1.0), &Value::Bool(true)));
        assert!(equals(&Value::Number(0.0), &Value::Null));
        assert!(!equals(&Value::Number(1.0), &s("abc")));
        assert!(equals(&s("True"), &Value::Bool(true)));
        assert!(equals(&s("1.5"), &Value::Number(1.5)));
        assert!(equals(&Value::Bool(true), &s("false")));
        assert!(equals(&Value::Bool(false), &s("")));
        assert!(equals(&Value::Null, &s("")));
        assert!(!equals(&Value::Null, &Value::Number(0.0)));
        assert!(!equals(&s("x"), &Value::Array(vec![])));
        let v123 = Value::Version(Version::from_parts(&[1, 2, 3]).unwrap_or_else(|| Version::new(0, 0)));
        assert!(equals(&v123, &s("1.2.3")));
        assert!(!equals(&v123, &Value::Bool(true)));
        assert!(equals(&Value::Version(Version::new(1, 5)), &Value::Number(1.5)));
        assert!(equals(&Value::Array(vec![s("a")]), &Value::Array(vec![s("a")])));
        // Ordering errors when the conversion fails.
        assert_eq!(compare(&Value::Bool(false), &Value::Bool(true)).ok(), Some(Ordering::Less));
        assert_eq!(compare(&Value::Null, &Value::Number(1.0)).ok(), Some(Ordering::Less));
        assert!(compare(&Value::Number(1.0), &s("abc")).is_err());
        assert!(compare(&Value::Array(vec![]), &Value::Number(1.0)).is_err());
        assert!(compare(&s("a"), &Value::Object(Object::new())).is_err());
        assert!(compare(&v123, &Value::Number(1.0)).is_err());
    }
}
