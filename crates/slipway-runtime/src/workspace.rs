//! Predefined variables, the run number (`name:` formats), and job directories.

use std::path::{Path, PathBuf};

use crate::variables::{Variable, Variables};

/// Facts about the repository and the machine, gathered at the edge (from `git`, the host).
#[derive(Clone, Debug, Default)]
pub struct RepositoryInfo {
    /// `Build.Repository.Name`.
    pub name: String,
    /// `Build.SourceBranch`, such as `refs/heads/main`.
    pub branch: String,
    /// `Build.SourceVersion`: the commit.
    pub commit: String,
    /// `Build.SourceVersionMessage`: the commit's subject.
    pub message: String,
    /// `Build.RequestedFor` and `Build.QueuedBy`.
    pub author: String,
    /// `Build.RequestedForEmail`.
    pub email: String,
    /// `Build.Repository.Uri`.
    pub uri: String,
}

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

/// The directories of one job, created on [`JobDirs::create`].
#[derive(Clone, Debug)]
pub struct JobDirs {
    /// `Pipeline.Workspace` and `Agent.BuildDirectory`.
    pub workspace: PathBuf,
    /// `Build.SourcesDirectory` when the repository is not used in place.
    pub sources: PathBuf,
    /// `Build.ArtifactStagingDirectory`.
    pub staging: PathBuf,
    /// `Build.BinariesDirectory`.
    pub binaries: PathBuf,
    /// `Common.TestResultsDirectory`.
    pub test_results: PathBuf,
    /// `Agent.TempDirectory`.
    pub temp: PathBuf,
}

impl JobDirs {
    /// The directories of job number `number` of the run in `run_dir`.
    #[must_use]
    pub fn new(run_dir: &Path, number: usize) -> Self {
        let workspace = run_dir.join("w").join(number.to_string());
        Self {
            sources: workspace.join("s"),
            staging: workspace.join("a"),
            binaries: workspace.join("b"),
            test_results: workspace.join("TestResults"),
            temp: run_dir.join("w").join("_temp").join(number.to_string()),
            workspace,
        }
    }

    /// Creates them.
    ///
    /// # Errors
    /// When a directory cannot be created.
    pub fn create(&self) -> std::io::Result<()> {
        for dir in [&self.sources, &self.staging, &self.binaries, &self.test_results, &self.temp] {
            std::fs::create_dir_all(dir)?;
        }
        Ok(())
    }
}

fn set(variables: &mut Variables, name: &str, value: impl Into<String>) {
    variables.force(Variable::readonly(name, value));
}

/// The run-wide predefined variables.
#[must_use]
pub fn run_variables(run_id: u64, pipeline: &str, repository: &RepositoryInfo, work_dir: &Path) -> Variables {
    let mut variables = Variables::new();
    let branch_name = repository.branch.rsplit('/').next().unwrap_or_default().to_owned();
    let host = hostname();
    let entries: Vec<(&str, String)> = vec![
        ("Build.BuildId", run_id.to_string()),
        ("Build.BuildUri", format!("vstfs:///Build/Build/{run_id}")),
        ("Build.DefinitionName", pipeline.to_owned()),
        ("Build.DefinitionVersion", "1".into()),
        ("Build.Reason", "Manual".into()),
        ("Build.QueuedBy", repository.author.clone()),
        ("Build.QueuedById", "00000000-0000-0000-0000-000000000000".into()),
        ("Build.RequestedFor", repository.author.clone()),
        ("Build.RequestedForEmail", repository.email.clone()),
        ("Build.RequestedForId", "00000000-0000-0000-0000-000000000000".into()),
        ("Build.SourceBranch", repository.branch.clone()),
        ("Build.SourceBranchName", branch_name),
        ("Build.SourceVersion", repository.commit.clone()),
        ("Build.SourceVersionMessage", repository.message.clone()),
        ("Build.Repository.Name", repository.name.clone()),
        ("Build.Repository.Provider", "Git".into()),
        ("Build.Repository.Uri", repository.uri.clone()),
        ("Build.Repository.ID", repository.name.clone()),
        ("Build.Repository.Clean", "false".into()),
        ("Build.ContainerId", run_id.to_string()),
        ("System.TeamProject", "local".into()),
        ("System.TeamProjectId", "00000000-0000-0000-0000-000000000000".into()),
        ("System.CollectionUri", "http://localhost/".into()),
        ("System.TeamFoundationCollectionUri", "http://localhost/".into()),
        ("System.TeamFoundationServerUri", "http://localhost/".into()),
        ("System.CollectionId", "00000000-0000-0000-0000-000000000000".into()),
        ("System.DefinitionId", "1".into()),
        ("System.DefinitionName", pipeline.to_owned()),
        ("System.HostType", "build".into()),
        ("System.PlanId", format!("00000000-0000-0000-0000-{run_id:012}")),
        ("System.TimelineId", format!("00000000-0000-0000-0000-{run_id:012}")),
        ("System.PullRequest.IsFork", "False".into()),
        ("System.ServerType", "Hosted".into()),
        ("System.IsScheduled", "False".into()),
        ("Agent.OS", "Linux".into()),
        (
            "Agent.OSArchitecture",
            match std::env::consts::ARCH {
                "aarch64" => "ARM64".into(),
                "arm" => "ARM".into(),
                "x86" => "X86".into(),
                _ => "X64".into(),
            },
        ),
        ("Agent.Name", format!("slipway-{host}")),
        ("Agent.MachineName", host),
        ("Agent.Id", "1".into()),
        ("Agent.Version", env!("CARGO_PKG_VERSION").into()),
        ("Agent.WorkFolder", work_dir.display().to_string()),
        ("Agent.RootDirectory", work_dir.display().to_string()),
        ("Agent.ToolsDirectory", work_dir.join("_tool").display().to_string()),
        ("Agent.HomeDirectory", work_dir.display().to_string()),
        ("Agent.AcceptTeeEula", "False".into()),
        ("TF_BUILD", "True".into()),
    ];
    for (name, value) in entries {
        set(&mut variables, name, value);
    }
    variables.force(Variable::new("System.Debug", "false"));
    variables
}

/// The per-job directory variables.
pub fn job_directory_variables(variables: &mut Variables, dirs: &JobDirs, sources: &Path) {
    let workspace = dirs.workspace.display().to_string();
    let sources = sources.display().to_string();
    let staging = dirs.staging.display().to_string();
    for (name, value) in [
        ("Pipeline.Workspace", workspace.clone()),
        ("Agent.BuildDirectory", workspace),
        ("Build.SourcesDirectory", sources.clone()),
        ("Build.Repository.LocalPath", sources.clone()),
        ("System.DefaultWorkingDirectory", sources),
        ("Build.ArtifactStagingDirectory", staging.clone()),
        ("Build.StagingDirectory", staging.clone()),
        ("System.ArtifactsDirectory", staging),
        ("Build.BinariesDirectory", dirs.binaries.display().to_string()),
        ("Common.TestResultsDirectory", dirs.test_results.display().to_string()),
        ("Agent.TempDirectory", dirs.temp.display().to_string()),
    ] {
        set(variables, name, value);
    }
}

/// This machine's name.
#[must_use]
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|name| name.trim().to_owned())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
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
