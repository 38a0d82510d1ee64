//! What `DotNetCoreCLI@2` and `NuGetCommand@2` share: the package sources a restore uses (the
//! temporary `NuGet.config` the tasks write for "feeds I select here"), automatic package
//! versions for `pack`, and the failures for what needs a remote feed.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::CommandError;
use crate::{InputSpec, Inputs, TaskHost};

/// NuGet.org's V3 source, as the tasks add it for `includeNuGetOrg`.
const NUGET_ORG: (&str, &str) = ("NuGetOrg", "https://api.nuget.org/v3/index.json");

/// The configuration file a restore passes to NuGet, and whether the task wrote it.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct RestoreConfig {
    /// The file, when there is one.
    pub file: Option<PathBuf>,
    /// Whether it is a temporary file to remove after the restore.
    pub temporary: bool,
    /// Whether NuGet.org was included (for `INCLUDE_NUGETORG_BEHAVIOR`).
    pub includes_nuget_org: bool,
}

impl RestoreConfig {
    /// Removes the temporary file.
    pub(super) fn clean_up(&self) {
        if let (true, Some(file)) = (self.temporary, &self.file) {
            let _ = std::fs::remove_file(file);
        }
    }
}

/// Works out the sources of a restore from `selectOrConfig`, `feedRestore`, `includeNuGetOrg`
/// and `nugetConfigPath`, as the tasks do: "feeds I select here" writes a temporary
/// `NuGet.config` (in `$(Agent.BuildDirectory)/Nuget`) with the selected sources; "feeds in my
/// NuGet.config" uses the file given. `task` names the task in messages.
///
/// Service connections for the feeds of a `NuGet.config` (`externalFeedCredentials`) do not exist
/// in Slipway: the restore goes on without them, with a warning.
///
/// # Errors
/// When an Azure Artifacts feed is selected (it needs Azure DevOps), or the file cannot be written.
pub(super) fn restore_config(
    task: &str,
    inputs: &Inputs,
    host: &mut dyn TaskHost,
) -> Result<RestoreConfig, CommandError> {
    if inputs.text("selectOrConfig") == "config" {
        let file = inputs.path("nugetConfigPath", &host.working_directory());
        if let Some(endpoints) = inputs.get("externalEndpoints") {
            host.warning(&format!(
                "{task}: Slipway has no service connections, so the credentials of '{endpoints}' are not used; feeds \
                 of the NuGet.config that need them will fail (packageSourceCredentials in the file still apply)."
            ));
        }
        return Ok(RestoreConfig { file, temporary: false, includes_nuget_org: false });
    }
    if let Some(feed) = inputs.get("feedRestore") {
        return Err(CommandError::AzureArtifactsFeed { task: task.to_owned(), feed: feed.to_owned() });
    }
    let includes_nuget_org = inputs.boolean("includeNuGetOrg");
    let sources: Vec<(&str, &str)> = if includes_nuget_org { vec![NUGET_ORG] } else { Vec::new() };
    let directory = host
        .variable("Agent.BuildDirectory")
        .or_else(|| host.variable("Agent.TempDirectory"))
        .map_or_else(std::env::temp_dir, PathBuf::from)
        .join("Nuget");
    let build = host.variable("Build.BuildId").unwrap_or_default();
    let file = directory.join(format!("tempNuGet_{build}.config"));
    let mut text = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<configuration>\n  <packageSources>\n");
    for (key, value) in sources {
        text.push_str(&format!("    <add key=\"{key}\" value=\"{value}\" />\n"));
    }
    text.push_str("  </packageSources>\n</configuration>\n");
    match std::fs::create_dir_all(&directory).and_then(|()| std::fs::write(&file, text)) {
        Ok(()) => Ok(RestoreConfig { file: Some(file), temporary: true, includes_nuget_org }),
        Err(source) => Err(CommandError::WriteNuGetConfig { file, source }),
    }
}

/// What `INCLUDE_NUGETORG_BEHAVIOR` (`warn` or `fail`) makes of a restore that used NuGet.org.
pub(super) fn nuget_org_behavior(host: &dyn TaskHost, includes_nuget_org: bool) -> Option<crate::Outcome> {
    if !includes_nuget_org {
        return None;
    }
    match host.variable("INCLUDE_NUGETORG_BEHAVIOR")?.to_ascii_lowercase().as_str() {
        "warn" => Some(crate::Outcome::SucceededWithIssues(
            "IncludeNugetOrg is currently enabled for this task. To resolve this warning, edit your build task and \
             set 'includeNuGetOrg' to 'false' or deselect 'Use packages from NuGet.org'."
                .to_owned(),
        )),
        "fail" => Some(crate::Outcome::failed(
            "Packages failed to restore. Edit your build task and set 'includeNuGetOrg' to 'false' or deselect 'Use \
             packages from NuGet.org'.",
        )),
        _ => None,
    }
}

/// The failure of a `push`: it needs a NuGet server.
#[must_use]
pub(super) fn push_unsupported(task: &str, inputs: &Inputs) -> String {
    let target = if inputs.text("nuGetFeedType") == "external" {
        format!("the NuGet server of the service connection '{}'", inputs.text("externalEndpoint"))
    } else {
        format!("the Azure Artifacts feed '{}'", inputs.text("feedPublish"))
    };
    format!(
        "{task} push needs {target}, which Slipway cannot reach: it has no network and no service connections. Keep \
         the packages as a pipeline artifact instead (PublishPipelineArtifact@1)."
    )
}

/// The version `versioningScheme` gives packages, if any.
///
/// # Errors
/// The task's messages when the variable or build number has no version.
pub(super) fn pack_version(inputs: &Inputs, host: &dyn TaskHost, now: SystemTime) -> Result<Option<String>, String> {
    match inputs.text("versioningScheme") {
        "byPrereleaseNumber" => Ok(Some(format!(
            "{}.{}.{}-CI-{}",
            inputs.text("requestedMajorVersion"),
            inputs.text("requestedMinorVersion"),
            inputs.text("requestedPatchVersion"),
            utc_stamp(now)
        ))),
        "byEnvVar" => host
            .variable(inputs.text("versionEnvVar"))
            .filter(|value| !value.is_empty())
            .map(Some)
            .ok_or_else(|| "No value was found for the provided environment variable.".to_owned()),
        "byBuildNumber" => {
            if host.variable("System.HostType").is_some_and(|kind| kind.eq_ignore_ascii_case("release")) {
                return Err(
                    "Autoversion: Getting version number from build option is not supported in releases".to_owned()
                );
            }
            let number = host.variable("Build.BuildNumber").unwrap_or_default();
            version_in(&number).map(Some).ok_or_else(|| {
                "Could not find version number data in the following environment variable: BUILD_BUILDNUMBER. The \
                 value of the variable should contain a substring with the following formats: X.Y.Z or X.Y.Z.A where \
                 A, X, Y, and Z are positive integers."
                    .to_owned()
            })
        }
        _ => Ok(None),
    }
}

/// The first `X.Y.Z` or `X.Y.Z.A` in `text` (`/\d+\.\d+\.\d+(?:\.\d+)?/`).
fn version_in(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    for start in 0..chars.len() {
        if !chars[start].is_ascii_digit() || (start > 0 && chars[start - 1].is_ascii_digit()) {
            continue;
        }
        let mut index = start;
        let mut groups = 0;
        let mut end = None;
        loop {
            let digits = chars[index..].iter().take_while(|c| c.is_ascii_digit()).count();
            if digits == 0 {
                break;
            }
            index += digits;
            groups += 1;
            if groups >= 3 {
                end = Some(index);
            }
            if groups == 4 || chars.get(index) != Some(&'.') {
                break;
            }
            index += 1;
        }
        if let Some(end) = end {
            return Some(chars[start..end].iter().collect());
        }
    }
    None
}

/// `yyyyMMdd-HHmmss` in UTC, as the pack commands stamp prerelease versions.
#[must_use]
pub(super) fn utc_stamp(now: SystemTime) -> String {
    let seconds = now.duration_since(UNIX_EPOCH).map_or(0, |duration| duration.as_secs());
    let days = i64::try_from(seconds / 86_400).unwrap_or_default();
    let rest = seconds % 86_400;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}{month:02}{day:02}-{:02}{:02}{:02}", rest / 3600, rest % 3600 / 60, rest % 60)
}

/// The build properties for `pack`: `Configuration=...` (unless it is the unset
/// `$(BuildConfiguration)` default) and the `buildProperties` list.
#[must_use]
pub(super) fn pack_properties(inputs: &Inputs, host: &dyn TaskHost) -> Vec<String> {
    let mut properties = Vec::new();
    let configuration = host.expand(inputs.text("configurationToPack"));
    if !configuration.is_empty() && configuration != "$(BuildConfiguration)" {
        properties.push(format!("Configuration={configuration}"));
    }
    if let Some(extra) = inputs.get("buildProperties") {
        properties.extend(extra.split(';').map(str::to_owned));
    }
    properties
}

/// The files a `;`-separated pattern input matches below the working directory.
#[must_use]
pub(super) fn find_files(patterns: &str, root: &Path) -> Vec<PathBuf> {
    let patterns: Vec<String> = patterns.split(';').map(str::to_owned).collect();
    crate::glob::find_match(root, &patterns)
}

/// The versioning inputs of the packing commands (`DotNetCoreCLI pack`, `NuGetCommand pack`),
/// which the real tasks share.
pub(super) fn version_inputs() -> Vec<InputSpec> {
    vec![
        // The task puts this in a group shown for `pack` only; the rule says so here.
        InputSpec::string("versionEnvVar").required().visible("command = pack && versioningScheme = byEnvVar"),
        InputSpec::string("requestedMajorVersion")
            .alias(&["majorVersion"])
            .default("1")
            .required()
            .visible("versioningScheme = byPrereleaseNumber"),
        InputSpec::string("requestedMinorVersion")
            .alias(&["minorVersion"])
            .default("0")
            .required()
            .visible("versioningScheme = byPrereleaseNumber"),
        InputSpec::string("requestedPatchVersion")
            .alias(&["patchVersion"])
            .default("0")
            .required()
            .visible("versioningScheme = byPrereleaseNumber"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_and_build_number_versions() {
        assert_eq!(utc_stamp(UNIX_EPOCH + std::time::Duration::from_secs(1_709_251_199)), "20240229-235959");
        assert_eq!(utc_stamp(UNIX_EPOCH), "19700101-000000");
        assert_eq!(version_in("MyApp_2024.1.15.3"), Some("2024.1.15.3".to_owned()));
        assert_eq!(version_in("release 1.2.3-beta"), Some("1.2.3".to_owned()));
        assert_eq!(version_in("1.2.3.4.5"), Some("1.2.3.4".to_owned()));
        assert_eq!(version_in("20240115.3"), None);
        assert_eq!(version_in("v1.2 and 3.4.5"), Some("3.4.5".to_owned()));
    }
}
