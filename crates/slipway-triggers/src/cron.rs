//! Cron expressions as Azure Pipelines reads them in `schedules[].cron`.
//!
//! From "Configure schedules for pipelines" (*Cron syntax*): five space-delimited fields
//! `mm HH DD MM DW` — minutes 0–59, hours 0–23, days 1–31, months 1–12 (or English month names or
//! their first three letters), days of week 0–6 starting with Sunday (or English day names or their
//! first three letters). A field is `*`, a single value, a comma-delimited list, an inclusive range
//! `1-3`, or an interval `*/4` / `1-5/2`. Times are UTC; daylight saving time does not apply.
//!
//! The page defers to NCrontab's "Crontab Expression" for the rest, and NCrontab's behaviour is kept
//! where the page is silent: names match without regard to case (any prefix of at least three
//! letters of a name is accepted, the full name and the three-letter form among them), `5/15` means
//! `5-59/15`, a reversed range `5-1` is read as `1-5` (reported as a warning), and a time must match
//! the day of month *and* the day of week (not either, as in Vixie cron). A step of `0`, which
//! NCrontab silently reads as `1`, is an error here.
//!
//! [`CronSchedule::parse_github`] reads the same five fields as GitHub Actions reads `on.schedule`
//! (*Events that trigger workflows*, `schedule`: "POSIX cron syntax", UTC, minute 0–59, hour
//! 0–23, day of month 1–31, month 1–12 or `JAN`–`DEC`, day of week 0–6 or `SUN`–`SAT`; "GitHub
//! Actions does not support the non-standard syntax `@yearly`, `@monthly`, `@weekly`, `@daily`,
//! `@hourly`, and `@reboot`"). Where it differs from Azure's reading: names are the three-letter
//! ones only (as GitHub's workflow parser accepts them), `7` is also Sunday (as the workflow
//! checker of `slipway-github` and Vixie cron accept it), a reversed range is an error (GitHub's
//! parser refuses it), and when both the day of month and the day of week are restricted (neither
//! starts with `*`) a day matching *either* fires, as POSIX `crontab` specifies.

use std::fmt;

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// One of the five fields of a cron expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CronField {
    /// `mm`, 0 through 59.
    Minutes,
    /// `HH`, 0 through 23.
    Hours,
    /// `DD`, 1 through 31.
    Days,
    /// `MM`, 1 through 12 or month names.
    Months,
    /// `DW`, 0 through 6 (Sunday is 0) or day names.
    DaysOfWeek,
}

const FIELDS: [CronField; 5] =
    [CronField::Minutes, CronField::Hours, CronField::Days, CronField::Months, CronField::DaysOfWeek];

const MONTH_NAMES: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];
const DAY_NAMES: [&str; 7] = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];

impl CronField {
    /// The field's name as the documentation's table gives it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Minutes => "minutes",
            Self::Hours => "hours",
            Self::Days => "days",
            Self::Months => "months",
            Self::DaysOfWeek => "days of week",
        }
    }

    /// The field's position, 1 through 5.
    #[must_use]
    pub fn position(self) -> usize {
        match self {
            Self::Minutes => 1,
            Self::Hours => 2,
            Self::Days => 3,
            Self::Months => 4,
            Self::DaysOfWeek => 5,
        }
    }

    fn range(self) -> (u32, u32) {
        match self {
            Self::Minutes => (0, 59),
            Self::Hours => (0, 23),
            Self::Days => (1, 31),
            Self::Months => (1, 12),
            Self::DaysOfWeek => (0, 6),
        }
    }

    /// The range as a dialect reads it: POSIX `crontab` also takes 7 for Sunday.
    fn range_in(self, dialect: Dialect) -> (u32, u32) {
        match (self, dialect) {
            (Self::DaysOfWeek, Dialect::Posix) => (0, 7),
            _ => self.range(),
        }
    }

    fn accepted_in(self, dialect: Dialect) -> String {
        match (self, dialect) {
            (_, Dialect::Azure) => self.accepted(),
            (Self::Months, Dialect::Posix) => "1 through 12 or JAN through DEC".to_owned(),
            (Self::DaysOfWeek, Dialect::Posix) => "0 through 6 (0 is Sunday) or SUN through SAT".to_owned(),
            (_, Dialect::Posix) => {
                let (min, max) = self.range();
                format!("{min} through {max}")
            }
        }
    }

    fn names(self) -> Option<&'static [&'static str]> {
        match self {
            Self::Months => Some(&MONTH_NAMES),
            Self::DaysOfWeek => Some(&DAY_NAMES),
            _ => None,
        }
    }

    fn accepted(self) -> String {
        let (min, max) = self.range();
        match self {
            Self::Months => format!("{min} through {max}, an English month name or its first three letters"),
            Self::DaysOfWeek => {
                format!("{min} through {max} (0 is Sunday), an English day name or its first three letters")
            }
            _ => format!("{min} through {max}"),
        }
    }
}

impl fmt::Display for CronField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a cron expression was refused, and where: `offset` and `length` count characters from the
/// start of the expression, so a caller can point a diagnostic inside the YAML scalar.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CronError {
    /// What is wrong, naming the field and the offending text.
    pub message: String,
    /// The field the error is in, if it is in one.
    pub field: Option<CronField>,
    /// Characters from the start of the expression to the offending text.
    pub offset: usize,
    /// Length in characters of the offending text (at least 1).
    pub length: usize,
}

/// Something accepted, as NCrontab accepts it, that probably does not mean what was intended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CronWarning {
    /// What was accepted and how it is read.
    pub message: String,
    /// Characters from the start of the expression.
    pub offset: usize,
    /// Length in characters.
    pub length: usize,
}

/// A parsed cron expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CronSchedule {
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    days_of_week: u64,
    /// POSIX: both day fields are restricted, so a day matching either fires.
    either_day: bool,
    warnings: Vec<CronWarning>,
}

/// Whose reading of the five fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dialect {
    /// Azure Pipelines (NCrontab).
    Azure,
    /// GitHub Actions (POSIX `crontab`).
    Posix,
}

/// A token of the expression and the character offset it starts at.
#[derive(Clone, Copy)]
struct Token<'a> {
    text: &'a str,
    offset: usize,
}

impl Token<'_> {
    fn len(&self) -> usize {
        self.text.chars().count().max(1)
    }
}

/// Splits `text` on `separator` characters (`None`: whitespace), keeping character offsets.
fn tokens(text: &str, base: usize, separator: Option<char>) -> Vec<Token<'_>> {
    let is_separator = |c: char| match separator {
        Some(separator) => c == separator,
        None => c.is_whitespace(),
    };
    let mut out = Vec::new();
    let mut start: Option<(usize, usize)> = None;
    let mut chars = 0;
    for (byte, c) in text.char_indices() {
        if is_separator(c) {
            if let Some((start_byte, start_char)) = start.take() {
                out.push(Token { text: &text[start_byte..byte], offset: base + start_char });
            } else if separator.is_some() {
                out.push(Token { text: "", offset: base + chars });
            }
        } else if start.is_none() {
            start = Some((byte, chars));
        }
        chars += 1;
    }
    match start {
        Some((start_byte, start_char)) => out.push(Token { text: &text[start_byte..], offset: base + start_char }),
        None if separator.is_some() => out.push(Token { text: "", offset: base + chars }),
        None => {}
    }
    out
}

impl CronSchedule {
    /// Parses a five-field cron expression.
    ///
    /// # Errors
    ///
    /// A [`CronError`] naming the field and the offending text, with its character offset.
    pub fn parse(expression: &str) -> Result<Self, CronError> {
        Self::parse_in(expression, Dialect::Azure)
    }

    /// Parses a five-field cron expression as GitHub Actions reads `on.schedule[].cron` (see the
    /// module's documentation for how that differs from [`CronSchedule::parse`]).
    ///
    /// # Errors
    ///
    /// A [`CronError`] naming the field and the offending text, with its character offset.
    pub fn parse_github(expression: &str) -> Result<Self, CronError> {
        Self::parse_in(expression, Dialect::Posix)
    }

    fn parse_in(expression: &str, dialect: Dialect) -> Result<Self, CronError> {
        let parts = tokens(expression, 0, None);
        if parts.is_empty() {
            return Err(CronError {
                message: "the cron expression is empty: write 5 fields, `mm HH DD MM DW` (minutes, hours, days, \
                          months, days of week), such as `0 0 * * *` for midnight UTC every day"
                    .to_owned(),
                field: None,
                offset: 0,
                length: expression.chars().count().max(1),
            });
        }
        if parts.len() != FIELDS.len() {
            let (offset, length) = match parts.get(FIELDS.len()) {
                Some(extra) => (extra.offset, expression.chars().count() - extra.offset),
                None => (expression.chars().count(), 1),
            };
            return Err(CronError {
                message: format!(
                    "a cron expression has 5 fields, `mm HH DD MM DW` (minutes, hours, days, months, days of week), \
                     but `{}` has {}",
                    expression.trim(),
                    parts.len()
                ),
                field: None,
                offset,
                length: length.max(1),
            });
        }
        let mut warnings = Vec::new();
        let mut masks = [0_u64; 5];
        for ((part, field), mask) in parts.iter().zip(FIELDS).zip(masks.iter_mut()) {
            *mask = parse_field(*part, field, dialect, &mut warnings)?;
        }
        let [minutes, hours, days, months, mut days_of_week] = masks;
        if has(days_of_week, 7) {
            days_of_week = (days_of_week & !(1 << 7)) | 1;
        }
        let restricted = |part: &Token<'_>| !part.text.starts_with('*');
        let either_day = dialect == Dialect::Posix && restricted(&parts[2]) && restricted(&parts[4]);
        Ok(Self { minutes, hours, days, months, days_of_week, either_day, warnings })
    }

    /// Things accepted that probably do not mean what was intended (a reversed range).
    #[must_use]
    pub fn warnings(&self) -> &[CronWarning] {
        &self.warnings
    }

    /// Whether the schedule fires at `at` (UTC, to the minute; seconds are ignored).
    #[must_use]
    pub fn matches(&self, at: OffsetDateTime) -> bool {
        let at = at.to_offset(UtcOffset::UTC);
        has(self.minutes, u32::from(at.minute()))
            && has(self.hours, u32::from(at.hour()))
            && self.matches_date(at.date())
    }

    fn matches_date(&self, date: Date) -> bool {
        let day = has(self.days, u32::from(date.day()));
        let weekday = has(self.days_of_week, u32::from(date.weekday().number_days_from_sunday()));
        has(self.months, u32::from(u8::from(date.month())))
            && if self.either_day { day || weekday } else { day && weekday }
    }

    /// Whether some day of the calendar matches the day and month fields (`0 0 30 2 *` never fires).
    fn can_fire(&self) -> bool {
        if self.either_day && self.days_of_week != 0 {
            return self.months != 0;
        }
        (1..=12_u32).any(|month| has(self.months, month) && (1..=max_days(month)).any(|day| has(self.days, day)))
    }

    /// The first time strictly after `after` at which the schedule fires, in UTC; `None` if it never
    /// fires again (an impossible date such as February 30, or past the year 9999).
    #[must_use]
    pub fn next_after(&self, after: OffsetDateTime) -> Option<OffsetDateTime> {
        if !self.can_fire() {
            return None;
        }
        let after = after.to_offset(UtcOffset::UTC);
        let start = PrimitiveDateTime::new(after.date(), Time::from_hms(after.hour(), after.minute(), 0).ok()?)
            .checked_add(time::Duration::MINUTE)?;
        let (mut year, mut month) = (start.year(), u32::from(u8::from(start.month())));
        // Within 400 years the Gregorian calendar repeats, so every possible date has come round.
        for _ in 0..(400 * 12) {
            if has(self.months, month) {
                for day in 1..=days_in_month(year, month) {
                    let Some(date) = date(year, month, day) else { continue };
                    if date < start.date() || !self.matches_date(date) {
                        continue;
                    }
                    let from = if date == start.date() { (start.hour(), start.minute()) } else { (0, 0) };
                    if let Some((hour, minute)) = self.first_time_from(from) {
                        return Some(PrimitiveDateTime::new(date, Time::from_hms(hour, minute, 0).ok()?).assume_utc());
                    }
                }
            }
            (year, month) = if month == 12 { (year.checked_add(1)?, 1) } else { (year, month + 1) };
        }
        None
    }

    /// The last time at or before `at` at which the schedule fires, in UTC.
    #[must_use]
    pub fn last_at_or_before(&self, at: OffsetDateTime) -> Option<OffsetDateTime> {
        if !self.can_fire() {
            return None;
        }
        let at = at.to_offset(UtcOffset::UTC);
        let end = at.date();
        let (mut year, mut month) = (end.year(), u32::from(u8::from(end.month())));
        for _ in 0..(400 * 12) {
            if has(self.months, month) {
                for day in (1..=days_in_month(year, month)).rev() {
                    let Some(date) = date(year, month, day) else { continue };
                    if date > end || !self.matches_date(date) {
                        continue;
                    }
                    let until = if date == end { (at.hour(), at.minute()) } else { (23, 59) };
                    if let Some((hour, minute)) = self.last_time_until(until) {
                        return Some(PrimitiveDateTime::new(date, Time::from_hms(hour, minute, 0).ok()?).assume_utc());
                    }
                }
            }
            (year, month) = if month == 1 { (year.checked_sub(1)?, 12) } else { (year, month - 1) };
        }
        None
    }

    /// Whether the schedule is due at `now` given that it last fired (or was set up) at `since`:
    /// the latest fire time in `(since, now]`, or `None`. Missed fire times collapse into one run.
    #[must_use]
    pub fn due(&self, since: OffsetDateTime, now: OffsetDateTime) -> Option<OffsetDateTime> {
        self.last_at_or_before(now).filter(|&fire| fire > since)
    }

    fn first_time_from(&self, (hour, minute): (u8, u8)) -> Option<(u8, u8)> {
        (hour..24).filter(|&h| has(self.hours, u32::from(h))).find_map(|h| {
            let from = if h == hour { minute } else { 0 };
            (from..60).find(|&m| has(self.minutes, u32::from(m))).map(|m| (h, m))
        })
    }

    fn last_time_until(&self, (hour, minute): (u8, u8)) -> Option<(u8, u8)> {
        (0..=hour).rev().filter(|&h| has(self.hours, u32::from(h))).find_map(|h| {
            let until = if h == hour { minute } else { 59 };
            (0..=until).rev().find(|&m| has(self.minutes, u32::from(m))).map(|m| (h, m))
        })
    }
}

fn has(mask: u64, value: u32) -> bool {
    value < 64 && mask & (1 << value) != 0
}

fn date(year: i32, month: u32, day: u32) -> Option<Date> {
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    Date::from_calendar_date(year, month, u8::try_from(day).ok()?).ok()
}

fn max_days(month: u32) -> u32 {
    match month {
        2 => 29,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    if month == 2 && !leap { 28 } else { max_days(month) }
}

fn parse_field(
    part: Token<'_>,
    field: CronField,
    dialect: Dialect,
    warnings: &mut Vec<CronWarning>,
) -> Result<u64, CronError> {
    let mut mask = 0;
    for item in tokens(part.text, part.offset, Some(',')) {
        mask |= parse_item(item, field, dialect, warnings)?;
    }
    Ok(mask)
}

/// `{problem} in the {field} field (field N of 5): {advice}`.
fn error(field: CronField, token: Token<'_>, problem: String, advice: &str) -> CronError {
    CronError {
        message: format!("{problem} in the {} field (field {} of 5): {advice}", field.name(), field.position()),
        field: Some(field),
        offset: token.offset,
        length: token.len(),
    }
}

fn parse_item(
    item: Token<'_>,
    field: CronField,
    dialect: Dialect,
    warnings: &mut Vec<CronWarning>,
) -> Result<u64, CronError> {
    if item.text.is_empty() {
        return Err(error(field, item, "an empty value".to_owned(), "remove the stray comma"));
    }
    let (min, max) = field.range_in(dialect);
    let (range_text, step) = match item.text.split_once('/') {
        Some((range_text, step_text)) => {
            let step_offset = item.offset + range_text.chars().count() + 1;
            let step_token = Token { text: step_text, offset: step_offset };
            let step = match number(step_text) {
                Some(0) => {
                    return Err(error(
                        field,
                        step_token,
                        format!("`{}` has a step of 0", item.text),
                        "a step is at least 1",
                    ));
                }
                Some(step) => step,
                None => {
                    return Err(error(
                        field,
                        step_token,
                        format!("`{}` has no whole-number step after `/`", item.text),
                        "write a step of at least 1, as in `*/4`",
                    ));
                }
            };
            (Token { text: range_text, offset: item.offset }, Some(step))
        }
        None => (item, None),
    };
    let (first, last) = if range_text.text == "*" {
        (min, max)
    } else if let Some((from, to)) = range_text.text.split_once('-') {
        if from.is_empty() || to.is_empty() {
            return Err(error(
                field,
                range_text,
                format!("`{}` lacks a value on one side of `-`", range_text.text),
                &format!("use {}", field.accepted()),
            ));
        }
        let from_token = Token { text: from, offset: range_text.offset };
        let to_token = Token { text: to, offset: range_text.offset + from.chars().count() + 1 };
        let first = value(from_token, field, dialect)?;
        let last = value(to_token, field, dialect)?;
        if first > last && dialect == Dialect::Posix {
            return Err(error(
                field,
                range_text,
                format!("`{}` is a range that ends before it starts", range_text.text),
                "ranges do not wrap around: list the values instead (as in `SUN,THU-SAT`)",
            ));
        }
        if first > last {
            warnings.push(CronWarning {
                message: format!(
                    "`{}` in the {} field is read as {last} through {first}: ranges do not wrap around, so list \
                     the values instead (as in `Sun,Thu-Sat`)",
                    range_text.text,
                    field.name()
                ),
                offset: range_text.offset,
                length: range_text.len(),
            });
            (last, first)
        } else {
            (first, last)
        }
    } else {
        let single = value(range_text, field, dialect)?;
        // NCrontab: `5/15` runs from 5 to the end of the field's range.
        if step.is_some() { (single, max) } else { (single, single) }
    };
    let step = step.unwrap_or(1);
    let mut mask = 0_u64;
    let mut current = first;
    while current <= last {
        mask |= 1 << current;
        current = match current.checked_add(step) {
            Some(next) => next,
            None => break,
        };
    }
    Ok(mask)
}

fn number(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.parse::<u32>().unwrap_or(u32::MAX))
}

fn value(token: Token<'_>, field: CronField, dialect: Dialect) -> Result<u32, CronError> {
    let (min, max) = field.range_in(dialect);
    let advice = format!("use {}", field.accepted_in(dialect));
    if let Some(number) = number(token.text) {
        if number < min || number > max {
            return Err(error(field, token, format!("`{}` is out of range", token.text), &advice));
        }
        return Ok(number);
    }
    let lower = token.text.to_lowercase();
    let known = |name: &&str| match dialect {
        Dialect::Azure => name.starts_with(&lower),
        Dialect::Posix => name.get(..3) == Some(lower.as_str()),
    };
    if let Some(names) = field.names()
        && lower.chars().count() >= 3
        && let Some(index) = names.iter().position(known)
        && let Ok(index) = u32::try_from(index)
    {
        return Ok(min + index);
    }
    Err(error(field, token, format!("`{}` is not a valid value", token.text), &advice))
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn cron(text: &str) -> CronSchedule {
        CronSchedule::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn next(text: &str, after: OffsetDateTime) -> Option<OffsetDateTime> {
        cron(text).next_after(after)
    }

    fn err(text: &str) -> String {
        match CronSchedule::parse(text) {
            Ok(_) => panic!("{text} parsed"),
            Err(e) => format!("{} @{}+{}", e.message, e.offset, e.length),
        }
    }

    /// The examples table of "Configure schedules for pipelines" (*Cron syntax*): every expression in
    /// a row means the same schedule.
    #[test]
    fn documented_examples_are_equivalent() {
        let rows: &[&[&str]] = &[
            &["0 18 * * Mon,Wed,Fri", "0 18 * * 1,3,5", "0 18 * * 1-5/2"],
            &["0 0,6,12,18 * * *", "0 */6 * * *", "0 0-18/6 * * *"],
            &["0 9,15,21 * * *", "0 9-21/6 * * *"],
            &["30 21 * * Sun-Thu", "30 21 * * 0-4", "30 21 * * 0,1,2,3,4"],
            &["0 8 * * Mon-Fri", "0 8 * * 1-5", "0 8 * * 1,2,3,4,5"],
            &["0 5 * * Sun,Thu-Sat", "0 5 * * 0,4,5,6"],
            &["0 3 * * Sun", "0 3 * * 0", "0 3 * * sunday", "0 3 * * SUNDAY"],
            &["0 0 1 Jan,Dec *", "0 0 1 1,12 *", "0 0 1 january,DECEMBER *"],
        ];
        for row in rows {
            let first = cron(row[0]);
            for other in &row[1..] {
                let parsed = cron(other);
                assert_eq!(
                    (parsed.minutes, parsed.hours, parsed.days, parsed.months, parsed.days_of_week),
                    (first.minutes, first.hours, first.days, first.months, first.days_of_week),
                    "{other} vs {}",
                    row[0]
                );
            }
        }
    }

    #[test]
    fn documented_schedules_fire_when_the_page_says() {
        // "Daily midnight build": 0 0 * * *
        assert_eq!(next("0 0 * * *", datetime!(2024-03-05 13:10 UTC)), Some(datetime!(2024-03-06 0:00 UTC)));
        // "Weekly Sunday build": noon on Sundays. 2024-03-05 is a Tuesday.
        assert_eq!(next("0 12 * * 0", datetime!(2024-03-05 13:10 UTC)), Some(datetime!(2024-03-10 12:00 UTC)));
        // Every Monday, Wednesday and Friday at 6:00 PM.
        assert_eq!(next("0 18 * * 1-5/2", datetime!(2024-03-06 18:00 UTC)), Some(datetime!(2024-03-08 18:00 UTC)));
        // Every 6 hours starting at 9:00 AM.
        assert_eq!(next("0 9-21/6 * * *", datetime!(2024-03-05 21:00 UTC)), Some(datetime!(2024-03-06 9:00 UTC)));
    }

    #[test]
    fn next_is_strictly_after_and_ignores_seconds() {
        assert_eq!(next("* * * * *", datetime!(2024-01-01 0:00 UTC)), Some(datetime!(2024-01-01 0:01 UTC)));
        assert_eq!(next("* * * * *", datetime!(2024-01-01 0:00:59.9 UTC)), Some(datetime!(2024-01-01 0:01 UTC)));
        assert_eq!(next("30 * * * *", datetime!(2024-01-01 0:30 UTC)), Some(datetime!(2024-01-01 1:30 UTC)));
        // An instant in another offset is read in UTC.
        assert_eq!(next("0 0 * * *", datetime!(2024-01-01 23:30 -2)), Some(datetime!(2024-01-03 0:00 UTC)));
    }

    #[test]
    fn next_crosses_month_and_year_boundaries() {
        assert_eq!(next("0 0 1 * *", datetime!(2024-01-31 12:00 UTC)), Some(datetime!(2024-02-01 0:00 UTC)));
        assert_eq!(next("59 23 31 12 *", datetime!(2024-12-31 23:59 UTC)), Some(datetime!(2025-12-31 23:59 UTC)));
        assert_eq!(next("0 0 * * *", datetime!(2024-12-31 23:59 UTC)), Some(datetime!(2025-01-01 0:00 UTC)));
        // The 31st skips the months that have 30 days.
        assert_eq!(next("0 0 31 * *", datetime!(2024-03-31 0:00 UTC)), Some(datetime!(2024-05-31 0:00 UTC)));
        assert_eq!(next("15 10 * Feb *", datetime!(2024-02-29 10:15 UTC)), Some(datetime!(2025-02-01 10:15 UTC)));
    }

    #[test]
    fn leap_days() {
        assert_eq!(next("0 0 29 2 *", datetime!(2023-03-01 0:00 UTC)), Some(datetime!(2024-02-29 0:00 UTC)));
        assert_eq!(next("0 0 29 2 *", datetime!(2024-02-29 0:00 UTC)), Some(datetime!(2028-02-29 0:00 UTC)));
        // 2100 is not a leap year.
        assert_eq!(next("0 0 29 2 *", datetime!(2096-03-01 0:00 UTC)), Some(datetime!(2104-02-29 0:00 UTC)));
        // Day of month and day of week must both match: February 29th on a Monday.
        assert_eq!(next("0 0 29 2 Mon", datetime!(2024-03-01 0:00 UTC)), Some(datetime!(2044-02-29 0:00 UTC)));
        assert_eq!(next("0 0 30 2 *", datetime!(2024-01-01 0:00 UTC)), None);
        assert_eq!(next("0 0 31 4,6,9,11 *", datetime!(2024-01-01 0:00 UTC)), None);
    }

    #[test]
    fn day_of_month_and_day_of_week_both_apply() {
        // The 13th that is a Friday (NCrontab ANDs the two fields).
        assert_eq!(next("0 0 13 * Fri", datetime!(2024-01-01 0:00 UTC)), Some(datetime!(2024-09-13 0:00 UTC)));
    }

    #[test]
    fn last_and_due() {
        let nightly = cron("0 2 * * *");
        assert_eq!(nightly.last_at_or_before(datetime!(2024-03-05 2:00 UTC)), Some(datetime!(2024-03-05 2:00 UTC)));
        assert_eq!(nightly.last_at_or_before(datetime!(2024-03-05 1:59 UTC)), Some(datetime!(2024-03-04 2:00 UTC)));
        assert_eq!(nightly.last_at_or_before(datetime!(2024-01-01 1:00 UTC)), Some(datetime!(2023-12-31 2:00 UTC)));
        // Not due before 02:00, due at and after it, and not again once it fired.
        assert_eq!(nightly.due(datetime!(2024-03-04 2:00 UTC), datetime!(2024-03-05 1:59 UTC)), None);
        assert_eq!(
            nightly.due(datetime!(2024-03-04 2:00 UTC), datetime!(2024-03-05 2:00:30 UTC)),
            Some(datetime!(2024-03-05 2:00 UTC))
        );
        assert_eq!(nightly.due(datetime!(2024-03-05 2:00 UTC), datetime!(2024-03-05 9:00 UTC)), None);
        // Three missed nights are one run, at the latest fire time.
        assert_eq!(
            nightly.due(datetime!(2024-03-01 2:00 UTC), datetime!(2024-03-05 3:00 UTC)),
            Some(datetime!(2024-03-05 2:00 UTC))
        );
        assert_eq!(
            cron("0 0 29 2 *").last_at_or_before(datetime!(2025-06-01 0:00 UTC)),
            Some(datetime!(2024-02-29 0:00 UTC))
        );
        assert!(nightly.matches(datetime!(2024-03-05 2:00:42 UTC)));
        assert!(!nightly.matches(datetime!(2024-03-05 2:01 UTC)));
    }

    #[test]
    fn steps_on_a_single_value_run_to_the_end_of_the_field() {
        assert_eq!(cron("5/20 * * * *").minutes, (1 << 5) | (1 << 25) | (1 << 45));
    }

    #[test]
    fn reversed_ranges_are_read_as_ncrontab_reads_them_with_a_warning() {
        let schedule = cron("0 0 * * Fri-Mon");
        assert_eq!(schedule.days_of_week, 0b11_1110);
        insta::assert_debug_snapshot!(schedule.warnings(), @r#"
        [
            CronWarning {
                message: "`Fri-Mon` in the days of week field is read as 1 through 5: ranges do not wrap around, so list the values instead (as in `Sun,Thu-Sat`)",
                offset: 8,
                length: 7,
            },
        ]
        "#);
    }

    #[test]
    fn errors_name_the_field_and_the_position() {
        insta::assert_snapshot!(err("0 0 * *"), @"a cron expression has 5 fields, `mm HH DD MM DW` (minutes, hours, days, months, days of week), but `0 0 * *` has 4 @7+1");
        insta::assert_snapshot!(err("0 0 * * * *"), @"a cron expression has 5 fields, `mm HH DD MM DW` (minutes, hours, days, months, days of week), but `0 0 * * * *` has 6 @10+1");
        insta::assert_snapshot!(err(""), @"the cron expression is empty: write 5 fields, `mm HH DD MM DW` (minutes, hours, days, months, days of week), such as `0 0 * * *` for midnight UTC every day @0+1");
        insta::assert_snapshot!(err("60 0 * * *"), @"`60` is out of range in the minutes field (field 1 of 5): use 0 through 59 @0+2");
        insta::assert_snapshot!(err("0 24 * * *"), @"`24` is out of range in the hours field (field 2 of 5): use 0 through 23 @2+2");
        insta::assert_snapshot!(err("0 0 0 * *"), @"`0` is out of range in the days field (field 3 of 5): use 1 through 31 @4+1");
        insta::assert_snapshot!(err("0 0 * 13 *"), @"`13` is out of range in the months field (field 4 of 5): use 1 through 12, an English month name or its first three letters @6+2");
        insta::assert_snapshot!(err("0 0 * * 7"), @"`7` is out of range in the days of week field (field 5 of 5): use 0 through 6 (0 is Sunday), an English day name or its first three letters @8+1");
        insta::assert_snapshot!(err("0 0 * * Mo"), @"`Mo` is not a valid value in the days of week field (field 5 of 5): use 0 through 6 (0 is Sunday), an English day name or its first three letters @8+2");
        insta::assert_snapshot!(err("0 0 * Mon *"), @"`Mon` is not a valid value in the months field (field 4 of 5): use 1 through 12, an English month name or its first three letters @6+3");
        insta::assert_snapshot!(err("x 0 * * *"), @"`x` is not a valid value in the minutes field (field 1 of 5): use 0 through 59 @0+1");
        insta::assert_snapshot!(err("*/0 0 * * *"), @"`*/0` has a step of 0 in the minutes field (field 1 of 5): a step is at least 1 @2+1");
        insta::assert_snapshot!(err("0 */ * * *"), @"`*/` has no whole-number step after `/` in the hours field (field 2 of 5): write a step of at least 1, as in `*/4` @4+1");
        insta::assert_snapshot!(err("0 1,,2 * * *"), @"an empty value in the hours field (field 2 of 5): remove the stray comma @4+1");
        insta::assert_snapshot!(err("0 0 1- * *"), @"`1-` lacks a value on one side of `-` in the days field (field 3 of 5): use 1 through 31 @4+2");
        insta::assert_snapshot!(err("0 0 * * -1"), @"`-1` lacks a value on one side of `-` in the days of week field (field 5 of 5): use 0 through 6 (0 is Sunday), an English day name or its first three letters @8+2");
        insta::assert_snapshot!(err("0 0 99999999999 * *"), @"`99999999999` is out of range in the days field (field 3 of 5): use 1 through 31 @4+11");
        insta::assert_snapshot!(err("0 0 * * Mon-Frx"), @"`Frx` is not a valid value in the days of week field (field 5 of 5): use 0 through 6 (0 is Sunday), an English day name or its first three letters @12+3");
    }
}
