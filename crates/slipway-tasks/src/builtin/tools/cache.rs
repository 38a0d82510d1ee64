//! The agent's tool cache (`$(Agent.ToolsDirectory)/<Tool>/<version>/<arch>`, complete when an
//! `<arch>.complete` file sits beside the directory, as the tool library writes it), what a tool
//! task found, and the message when nothing fits.

use std::path::{Path, PathBuf};

use super::version::Version;
use crate::TaskHost;

/// One installation of a tool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Installed {
    /// Its version.
    pub version: Version,
    /// Its architecture (`x64`, `x86`, `arm64`).
    pub arch: String,
    /// Where it is: the tool cache directory, a prefix, a JDK or a .NET root.
    pub location: PathBuf,
    /// Whether it came from the agent's tool cache.
    pub from_cache: bool,
}

impl Installed {
    /// One line of the "versions found" list.
    fn describe(&self) -> String {
        let place = if self.from_cache { "tool cache" } else { "machine" };
        format!("{} ({}), {place}: {}", self.version, self.arch, self.location.display())
    }
}

/// The agent's tool cache: `Agent.ToolsDirectory`, or the `AGENT_TOOLSDIRECTORY` environment
/// variable that hosted images set.
#[must_use]
pub(crate) fn tools_directory(host: &dyn TaskHost) -> Option<PathBuf> {
    host.variable("Agent.ToolsDirectory")
        .filter(|value| !value.is_empty())
        .or_else(|| std::env::var("AGENT_TOOLSDIRECTORY").ok().filter(|value| !value.is_empty()))
        .map(PathBuf::from)
}

/// The complete installations of `tool` in the tool cache (every architecture when `arch` is
/// `None`), as `findLocalToolVersions` lists them: version directories whose names are full
/// versions, holding an `<arch>` directory with an `<arch>.complete` file beside it.
#[must_use]
pub(crate) fn cached(tools: Option<&Path>, tool: &str, arch: Option<&str>) -> Vec<Installed> {
    let Some(tools) = tools else { return Vec::new() };
    let mut found = Vec::new();
    for version_dir in super::probe::children(&tools.join(tool)) {
        let Some(version) = version_dir.file_name().and_then(|name| name.to_str()).and_then(Version::parse) else {
            continue;
        };
        for arch_dir in super::probe::children(&version_dir) {
            let Some(name) = arch_dir.file_name().and_then(|name| name.to_str()) else { continue };
            if !arch_dir.is_dir() || arch.is_some_and(|arch| arch != name) {
                continue;
            }
            if version_dir.join(format!("{name}.complete")).is_file() {
                found.push(Installed {
                    version: version.clone(),
                    arch: name.to_owned(),
                    location: arch_dir.clone(),
                    from_cache: true,
                });
            }
        }
    }
    found
}

/// Sorts installations by version, then place, and drops repeated ones.
pub(crate) fn tidy(found: &mut Vec<Installed>) {
    found.sort_by(|a, b| a.version.cmp(&b.version).then_with(|| a.location.cmp(&b.location)));
    found.dedup_by(|a, b| a.location == b.location && a.version == b.version);
}

/// The failure when no installed version fits: names the version asked for, lists what was
/// found, and says how to provide one (`hint`).
#[must_use]
pub(crate) fn not_found(tool: &str, spec: &str, arch: &str, found: &[Installed], hint: &str) -> String {
    let mut message = format!(
        "{tool} version '{spec}' ({arch}) is not installed on this machine, and Slipway does not download tools."
    );
    if found.is_empty() {
        message.push_str(&format!("\nNo {tool} installation was found."));
    } else {
        message.push_str(&format!("\n{tool} versions found:"));
        for installed in found {
            message.push_str("\n  ");
            message.push_str(&installed.describe());
        }
    }
    message.push('\n');
    message.push_str(hint);
    message
}

/// The usual hint: install it, or put it in the tool cache.
#[must_use]
pub(crate) fn cache_hint(tool: &str, cache_name: &str, arch: &str, tools: Option<&Path>) -> String {
    let tools = tools.map_or_else(|| "$(Agent.ToolsDirectory)".to_owned(), |tools| tools.display().to_string());
    format!(
        "Install {tool} on this machine, or put it in the agent tool cache as {tools}/{cache_name}/<version>/{arch} \
         with an empty file {tools}/{cache_name}/<version>/{arch}.complete beside it."
    )
}

#[cfg(test)]
mod tests {
    use super::super::probe::testing::touch;
    use super::*;

    #[test]
    fn lists_complete_installations_only() {
        let root = tempfile::tempdir().expect("temporary directory");
        let tools = root.path();
        for (dir, complete) in [
            ("Python/3.11.4/x64", true),
            ("Python/3.11.4/x86", false),
            ("Python/3.12.1/x64", true),
            ("Python/3.12.1/arm64", true),
            ("Python/3.13/x64", true),
            ("Python/latest/x64", true),
        ] {
            std::fs::create_dir_all(tools.join(dir)).expect("directory");
            if complete {
                touch(&tools.join(format!("{dir}.complete")), "");
            }
        }
        let names = |found: Vec<Installed>| -> Vec<String> {
            found.iter().map(|installed| format!("{} {}", installed.version, installed.arch)).collect()
        };
        assert_eq!(names(cached(Some(tools), "Python", Some("x64"))), ["3.11.4 x64", "3.12.1 x64"]);
        assert_eq!(names(cached(Some(tools), "Python", None)), ["3.11.4 x64", "3.12.1 arm64", "3.12.1 x64"]);
        assert!(cached(None, "Python", None).is_empty());
        assert!(cached(Some(tools), "node", None).is_empty());
    }
}
