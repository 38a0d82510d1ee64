//! Run numbers: Azure's `name:` formats (`$(Date:yyyyMMdd)$(Rev:.r)`, variables and the other
//! tokens), with the revision counted by the caller per distinct rest of the number.

use crate::variables::Variables;

/// A calendar date and time in UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateTime {
    /// Year.
    pub year: i64,
    /// Month, 1 to 12.
    pub month: u32,
    /// Day of month, 1 to 31.
    pub day: u32,
    /// Hours.
    pub hour: u32,
    /// Minutes.
    pub minute: u32,
    /// Seconds.
    pub second: u32,
    /// Day of the year, 1 to 366.
    pub day_of_year: u32,
}

impl DateTime {
    /// The UTC date and time of a Unix timestamp in seconds.
    #[must_use]
    pub fn from_unix(seconds: u64) -> Self {
        let days = i64::try_from(seconds / 86_400).unwrap_or(0);
        let rest = seconds % 86_400;
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
        let month = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
        let year = yoe + era * 400 + i64::from(month <= 2);
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        const BEFORE: [u32; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
        let day_of_year = BEFORE[(month - 1) as usize] + day + u32::from(leap && month > 2);
        Self {
            year,
            month,
            day,
            hour: u32::try_from(rest / 3600).unwrap_or(0),
            minute: u32::try_from(rest % 3600 / 60).unwrap_or(0),
            second: u32::try_from(rest % 60).unwrap_or(0),
            day_of_year,
        }
    }

    /// Formats with .NET-style tokens: `yyyy`, `yy`, `MM`, `M`, `dd`, `d`, `HH`, `mm`, `ss`.
    #[must_use]
    pub fn format(&self, pattern: &str) -> String {
        let mut out = String::new();
        let chars: Vec<char> = pattern.chars().collect();
        let mut at = 0;
        while at < chars.len() {
            let c = chars[at];
            let mut run = 1;
            while at + run < chars.len() && chars[at + run] == c {
                run += 1;
            }
            let text = match (c, run) {
                ('y', 4..) => format!("{:04}", self.year),
                ('y', _) => format!("{:02}", self.year % 100),
                ('M', 1) => self.month.to_string(),
                ('M', _) => format!("{:02}", self.month),
                ('d', 1) => self.day.to_string(),
                ('d', _) => format!("{:02}", self.day),
                ('H', 1) => self.hour.to_string(),
                ('H', _) => format!("{:02}", self.hour),
                ('m', 1) => self.minute.to_string(),
                ('m', _) => format!("{:02}", self.minute),
                ('s', 1) => self.second.to_string(),
                ('s', _) => format!("{:02}", self.second),
                _ => std::iter::repeat_n(c, run).collect(),
            };
            out.push_str(&text);
            at += run;
        }
        out
    }
}

/// The default run-number format when the pipeline has no `name:`.
pub const DEFAULT_RUN_NAME: &str = "$(Date:yyyyMMdd)$(Rev:.r)";

/// Formats a run number (Azure's `name:`). `revision` gives the `$(Rev:r)` value for the text
/// with the revision token left out (Azure counts revisions per distinct rest of the number).
pub fn format_run_number(
    format: &str,
    now: DateTime,
    variables: &Variables,
    revision: &mut dyn FnMut(&str) -> u32,
) -> String {
    let expand = |rev: Option<u32>| -> String {
        crate::expr::expand_macros(format, &|token| {
            let (name, argument) = match token.split_once(':') {
                Some((name, argument)) => (name.trim(), Some(argument)),
                None => (token.trim(), None),
            };
            let lower = name.to_ascii_lowercase();
            let value = match (lower.as_str(), argument) {
                ("date", Some(pattern)) => now.format(pattern),
                ("rev", Some(pattern)) => match rev {
                    // The width of the `r` run pads the number: `rr` gives 01.
                    Some(number) => {
                        let width = pattern.chars().filter(|&c| c == 'r').count();
                        let digits = format!("{number:0width$}");
                        pattern.replacen(&"r".repeat(width), &digits, 1)
                    }
                    None => "\u{0}".to_owned(),
                },
                ("dayofmonth", None) => now.day.to_string(),
                ("dayofyear", None) => now.day_of_year.to_string(),
                ("hours", None) => format!("{:02}", now.hour),
                ("minutes", None) => format!("{:02}", now.minute),
                ("seconds", None) => format!("{:02}", now.second),
                ("month", None) => format!("{:02}", now.month),
                ("year", Some(pattern)) => now.format(pattern),
                ("buildid", None) => variables.value("Build.BuildId").unwrap_or_default().to_owned(),
                ("sourcebranchname", None) => variables.value("Build.SourceBranchName").unwrap_or_default().to_owned(),
                ("teamproject", None) => variables.value("System.TeamProject").unwrap_or_default().to_owned(),
                ("builddefinitionname", None) => variables.value("Build.DefinitionName").unwrap_or_default().to_owned(),
                _ => return variables.value(token).map(str::to_owned),
            };
            Some(value)
        })
    };
    let key = expand(None);
    if !key.contains('\u{0}') {
        return key;
    }
    let number = revision(&key);
    expand(Some(number))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_unix_time_to_dates() {
        let date = DateTime::from_unix(1_709_251_199); // 2024-02-29 23:59:59 UTC
        assert_eq!((date.year, date.month, date.day, date.hour, date.minute, date.second), (2024, 2, 29, 23, 59, 59));
        assert_eq!(date.day_of_year, 60);
        assert_eq!(date.format("yyyyMMdd.HHmmss yy M d"), "20240229.235959 24 2 29");
        assert_eq!(DateTime::from_unix(0).format("yyyy-MM-dd"), "1970-01-01");
    }
}
