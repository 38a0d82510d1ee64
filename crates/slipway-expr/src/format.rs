//! The `format` function, a port of Azure's `FormatNode`.
//!
//! `{N}` inserts argument N (0 to 255) converted to a string; `{{` and `}}` are literal braces;
//! `{N:specifiers}` formats a date and time with .NET custom specifiers (`yyyy`, `yy`, `MM`, `M`,
//! `dd`, `d`, `HH`, `H`, `mm`, `m`, `ss`, `s`, `f` to `fffffff`, `zzz`, `K`, `\x` for a literal `x`
//! and runs of spaces). The whole format string is checked before any argument is evaluated, and
//! only the arguments it references are evaluated.
//!
//! Azure applies specifiers only to its DateTime kind (e.g. `pipeline.startTime`); [`crate::Value`]
//! has no such kind, so a string in Azure's DateTime text form (`yyyy-MM-dd HH:mm:ss` with an
//! optional fraction and offset, `T` or space, `-` or `/`) takes its place. A string without an
//! offset is taken as UTC.

use std::borrow::Cow;

use crate::eval::{EvalError, Evaluator};
use crate::functions::Memory;
use crate::syntax::Expr;
use crate::value::Value;

enum Segment {
    Text(String),
    Arg { index: usize, specifiers: String },
}

fn invalid(format: &str) -> EvalError {
    EvalError::new(format!("The following format string is invalid: {format}"))
}

fn invalid_specifiers(specifiers: &str, kind: &str) -> EvalError {
    EvalError::new(format!("The format specifiers '{specifiers}' are not valid for objects of type '{kind}'"))
}

/// Evaluates `format(args[0], args[1..])`.
pub(crate) fn format<'a>(ev: &Evaluator<'a>, args: &'a [Expr]) -> Result<String, EvalError> {
    let Some((format_arg, values)) = args.split_first() else {
        return Err(EvalError::new("Missing function argument"));
    };
    let format = ev.eval_string(format_arg)?;
    let mut memory = Memory::new(ev.source);
    let segments = parse(&format, values.len(), &mut memory)?;

    let mut cache: Vec<Option<(Cow<'a, Value>, String)>> = values.iter().map(|_| None).collect();
    let mut out = String::new();
    for segment in segments {
        match segment {
            Segment::Text(text) => out.push_str(&text),
            Segment::Arg { index, specifiers } => {
                let slot = cache.get_mut(index).ok_or_else(|| invalid(&format))?;
                let (value, text) = match slot {
                    Some(cached) => cached,
                    None => {
                        let expr = values.get(index).ok_or_else(|| invalid(&format))?;
                        let value = ev.eval(expr)?;
                        let text = value.to_string_strict()?.into_owned();
                        slot.insert((value, text))
                    }
                };
                let piece = if specifiers.is_empty() {
                    Cow::Borrowed(text.as_str())
                } else {
                    let date = match &**value {
                        Value::String(s) => DateTime::parse(s),
                        _ => None,
                    };
                    let date = date.ok_or_else(|| invalid_specifiers(&specifiers, value.kind_name()))?;
                    Cow::Owned(date.format(&specifiers)?)
                };
                memory.add(&piece)?;
                out.push_str(&piece);
            }
        }
    }
    Ok(out)
}

/// Splits the format string into text and argument references, validating all of it.
fn parse(format: &str, arg_count: usize, memory: &mut Memory<'_>) -> Result<Vec<Segment>, EvalError> {
    let chars: Vec<char> = format.chars().collect();
    let at = |i: usize| chars.get(i).copied();
    let text =
        |from: usize, to: usize| -> String { chars.get(from..to).map(|s| s.iter().collect()).unwrap_or_default() };
    let find = |c: char, from: usize| chars.get(from..).and_then(|s| s.iter().position(|&x| x == c)).map(|p| p + from);
    let mut segments = Vec::new();
    let mut push_text = |segments: &mut Vec<Segment>, s: String| -> Result<(), EvalError> {
        if !s.is_empty() {
            memory.add(&s)?;
            segments.push(Segment::Text(s));
        }
        Ok(())
    };
    let mut start = 0;
    while start < chars.len() {
        let lbrace = find('{', start);
        let rbrace = find('}', start);
        match (lbrace, rbrace) {
            (Some(l), r) if r.is_none_or(|r| r > l) => {
                if at(l + 1) == Some('{') {
                    push_text(&mut segments, text(start, l + 1))?;
                    start = l + 2;
                    continue;
                }
                if r.is_none_or(|r| r <= l + 1) {
                    return Err(invalid(format));
                }
                // Argument index: one or more digits, 0..=255.
                let digits = chars.get(l + 1..).map_or(0, |s| s.iter().take_while(|c| c.is_ascii_digit()).count());
                let index: u8 = text(l + 1, l + 1 + digits).parse().map_err(|_| invalid(format))?;
                let (specifiers, close) = read_specifiers(&chars, l + 1 + digits).ok_or_else(|| invalid(format))?;
                if usize::from(index) >= arg_count {
                    return Err(EvalError::new(format!(
                        "The following format string references more arguments than were supplied: {format}"
                    )));
                }
                push_text(&mut segments, text(start, l))?;
                segments.push(Segment::Arg { index: usize::from(index), specifiers });
                start = close + 1;
            }
            (_, Some(r)) => {
                if at(r + 1) != Some('}') {
                    return Err(invalid(format));
                }
                push_text(&mut segments, text(start, r + 1))?;
                start = r + 2;
            }
            _ => {
                push_text(&mut segments, text(start, chars.len()))?;
                break;
            }
        }
    }
    Ok(segments)
}

/// After the argument index: `}` or `:specifiers}` (with `}}` standing for `}`). Returns the
/// specifiers and the position of the closing brace.
fn read_specifiers(chars: &[char], start: usize) -> Option<(String, usize)> {
    match chars.get(start)? {
        '}' => Some((String::new(), start)),
        ':' => {
            let mut out = String::new();
            let mut i = start + 1;
            while let Some(&c) = chars.get(i) {
                if c != '}' {
                    out.push(c);
                    i += 1;
                } else if chars.get(i + 1) == Some(&'}') {
                    out.push('}');
                    i += 2;
                } else {
                    return Some((out, i));
                }
            }
            None
        }
        _ => None,
    }
}

/// A date and time with a UTC offset (Azure's DateTimeOffset), to 100 ns ticks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DateTime {
    year: u32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    /// Fraction of a second in 100 ns units (0..10_000_000).
    ticks: u32,
    /// Offset from UTC in minutes.
    offset_minutes: i32,
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => 29,
        2 => 28,
        _ => 0,
    }
}

struct Reader<'s> {
    chars: &'s [char],
    index: usize,
}

impl Reader<'_> {
    fn digits(&mut self, min: usize, max: usize) -> Option<String> {
        let start = self.index;
        while self.chars.get(self.index).is_some_and(char::is_ascii_digit) {
            self.index += 1;
        }
        let len = self.index - start;
        if len < min || len > max {
            return None;
        }
        self.chars.get(start..self.index).map(|s| s.iter().collect())
    }

    fn number(&mut self, min: usize, max: usize) -> Option<u32> {
        self.digits(min, max)?.parse().ok()
    }

    fn separator(&mut self, allowed: &[char]) -> Option<char> {
        let c = *self.chars.get(self.index)?;
        self.index += 1;
        allowed.contains(&c).then_some(c)
    }
}

impl DateTime {
    /// Azure's `TryParseDateTime`: `yyyy-M-d H:m:s` (1 or 2 digits after the year, `-` or `/`
    /// between date parts, space or `T` before the time), an optional `.fffffff` fraction and an
    /// optional `Z` or `+hh:mm`/`-hh:mm` offset.
    pub(crate) fn parse(text: &str) -> Option<DateTime> {
        let chars: Vec<char> = text.trim().chars().collect();
        let mut r = Reader { chars: &chars, index: 0 };
        let year = r.number(4, 4)?;
        let date_separator = r.separator(&['-', '/'])?;
        let month = r.number(1, 2)?;
        r.separator(&[date_separator])?;
        let day = r.number(1, 2)?;
        r.separator(&[' ', 'T'])?;
        let hour = r.number(1, 2)?;
        r.separator(&[':'])?;
        let minute = r.number(1, 2)?;
        r.separator(&[':'])?;
        let second = r.number(1, 2)?;
        let mut ticks = 0;
        if chars.get(r.index) == Some(&'.') {
            r.index += 1;
            let fraction = r.digits(1, 7)?;
            ticks = format!("{fraction:0<7}").parse().ok()?;
        }
        let offset_minutes = if r.index >= chars.len() {
            0
        } else {
            let offset = match chars.get(r.index)? {
                'Z' => {
                    r.index += 1;
                    0
                }
                sign @ ('+' | '-') => {
                    let negative = *sign == '-';
                    r.index += 1;
                    let hours = r.number(1, 2)?;
                    r.separator(&[':'])?;
                    let minutes = r.number(1, 2)?;
                    let total = i32::try_from(hours * 60 + minutes).ok()?;
                    if negative { -total } else { total }
                }
                _ => return None,
            };
            if r.index < chars.len() {
                return None;
            }
            offset
        };
        let valid = (1..=9999).contains(&year)
            && (1..=12).contains(&month)
            && (1..=days_in_month(year, month)).contains(&day)
            && hour < 24
            && minute < 60
            && second < 60
            && offset_minutes.abs() <= 14 * 60;
        valid.then_some(DateTime { year, month, day, hour, minute, second, ticks, offset_minutes })
    }

    fn offset_text(&self) -> String {
        let sign = if self.offset_minutes < 0 { '-' } else { '+' };
        let abs = self.offset_minutes.unsigned_abs();
        format!("{sign}{:02}:{:02}", abs / 60, abs % 60)
    }

    /// Formats with .NET custom specifiers as Azure's `FormatDateTime` allows them.
    pub(crate) fn format(&self, specifiers: &str) -> Result<String, EvalError> {
        let error = || invalid_specifiers(specifiers, "DateTime");
        let chars: Vec<char> = specifiers.chars().collect();
        let mut out = String::new();
        let mut i = 0;
        while let Some(&c) = chars.get(i) {
            let start = i;
            i += 1;
            if c == '\\' {
                let escaped = chars.get(i).ok_or_else(error)?;
                out.push(*escaped);
                i += 1;
                continue;
            }
            while chars.get(i) == Some(&c) {
                i += 1;
            }
            let run = i - start;
            let fraction = format!("{:07}", self.ticks);
            match (c, run) {
                (' ', _) => out.extend(std::iter::repeat_n(' ', run)),
                ('y', 2) => out.push_str(&format!("{:02}", self.year % 100)),
                ('y', 4) => out.push_str(&format!("{:04}", self.year)),
                ('M', 1) => out.push_str(&self.month.to_string()),
                ('M', 2) => out.push_str(&format!("{:02}", self.month)),
                ('d', 1) => out.push_str(&self.day.to_string()),
                ('d', 2) => out.push_str(&format!("{:02}", self.day)),
                ('H', 1) => out.push_str(&self.hour.to_string()),
                ('H', 2) => out.push_str(&format!("{:02}", self.hour)),
                ('m', 1) => out.push_str(&self.minute.to_string()),
                ('m', 2) => out.push_str(&format!("{:02}", self.minute)),
                ('s', 1) => out.push_str(&self.second.to_string()),
                ('s', 2) => out.push_str(&format!("{:02}", self.second)),
                ('f', 1..=7) => out.push_str(fraction.get(..run).unwrap_or_default()),
                ('z', 3) | ('K', 1) => out.push_str(&self.offset_text()),
                _ => return Err(error()),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_times_parse_like_azure() {
        let d = DateTime::parse("2024-03-05 07:08:09+02:00");
        assert_eq!(
            d,
            Some(DateTime {
                year: 2024,
                month: 3,
                day: 5,
                hour: 7,
                minute: 8,
                second: 9,
                ticks: 0,
                offset_minutes: 120
            })
        );
        assert!(DateTime::parse("2024/3/5T7:8:9.25Z").is_some_and(|d| d.ticks == 2_500_000));
        assert!(DateTime::parse(" 2024-03-05 07:08:09 ").is_some());
        assert!(DateTime::parse("2024-02-30 00:00:00").is_none());
        assert!(DateTime::parse("2024-03/05 00:00:00").is_none());
        assert!(DateTime::parse("2024-03-05").is_none());
        assert!(DateTime::parse("2024-03-05 00:00:00+15:00").is_none());
        assert!(DateTime::parse("2024-03-05 00:00:00 +01:00").is_none());
        assert!(DateTime::parse("24-03-05 00:00:00").is_none());
    }

    #[test]
    fn date_time_specifiers() {
        let Some(d) = DateTime::parse("2024-03-05 07:08:09.1234567-05:30") else {
            panic!("test date did not parse");
        };
        let f = |s: &str| d.format(s).map_err(|e| e.message);
        assert_eq!(f("yyyyMMdd"), Ok("20240305".into()));
        assert_eq!(f("yy M d H m s"), Ok("24 3 5 7 8 9".into()));
        assert_eq!(f(r"yyyy\-MM\-dd HH\:mm\:ss"), Ok("2024-03-05 07:08:09".into()));
        assert_eq!(f("fff ffffff"), Ok("123 123456".into()));
        assert_eq!(f("zzz"), Ok("-05:30".into()));
        assert_eq!(f("K"), Ok("-05:30".into()));
        assert!(f("yyyy-MM-dd").is_err(), "unescaped '-' is not a specifier Azure allows");
        assert!(f("yyy").is_err());
        assert!(f("hh").is_err());
        assert!(f("ddd").is_err());
        assert!(f("\\").is_err());
    }
}
