//! What this machine offers jobs: its capabilities, matched against Azure's `pool.demands`.
//!
//! Detected: `Agent.Name`, `Agent.Version`, `Agent.OS` (`Linux`, `Darwin`, `Windows_NT`),
//! `Agent.OSArchitecture` (`X64`, `ARM64`), `Agent.ComputerName`, and the tools of
//! [`slipway_protocol::capability::TOOLS`] found on the `PATH`, each named after the tool with its
//! version as value (its path when it tells no version). Capabilities the user gives
//! (`--capability KEY=VALUE`) are added last and win.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use slipway_protocol::capability;

/// The capability that makes an agent a virtual-machine resource of an environment.
pub use slipway_protocol::capability::ENVIRONMENT;
/// The capability that holds its tags there, separated by commas.
pub use slipway_protocol::capability::TAGS;

/// The flag each tool prints its version with.
fn version_argument(tool: &str) -> &'static str {
    match tool {
        "java" => "-version",
        "go" => "version",
        _ => "--version",
    }
}

/// Finds a program on `PATH`.
#[must_use]
pub fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|directory| directory.join(program)).find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).is_ok_and(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
}

/// The first version number (`1.2.3`, `v20.11.0`, `go1.22.1`) in a text.
#[must_use]
pub fn version_in(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at].is_ascii_digit()
            && (at == 0
                || !bytes[at - 1].is_ascii_alphanumeric()
                || bytes[at - 1] == b'v'
                || text[..at].ends_with("go"))
        {
            let start = at;
            while at < bytes.len() && (bytes[at].is_ascii_digit() || bytes[at] == b'.') {
                at += 1;
            }
            let candidate = text[start..at].trim_end_matches('.');
            if candidate.contains('.') {
                return Some(candidate.to_owned());
            }
        } else {
            at += 1;
        }
    }
    None
}

/// A tool's version as it prints it, if it runs.
fn tool_version(path: &Path, tool: &str) -> Option<String> {
    let output = Command::new(path)
        .arg(version_argument(tool))
        .stdin(Stdio::null())
        .env("DOTNET_CLI_TELEMETRY_OPTOUT", "1")
        .env("DOTNET_NOLOGO", "1")
        .output()
        .ok()?;
    let text = format!("{}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    version_in(&text)
}

/// The capabilities this machine has, for an agent named `name`, with `extra` (the user's) added.
#[must_use]
pub fn detect(name: &str, extra: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut capabilities = BTreeMap::new();
    capabilities.insert(capability::NAME.to_owned(), name.to_owned());
    capabilities.insert(capability::VERSION.to_owned(), slipway_protocol::SOFTWARE_VERSION.to_owned());
    capabilities.insert(capability::OS.to_owned(), slipway_protocol::azure_os_name(std::env::consts::OS).to_owned());
    capabilities.insert(
        capability::ARCHITECTURE.to_owned(),
        slipway_protocol::azure_architecture_name(std::env::consts::ARCH).to_owned(),
    );
    capabilities.insert(capability::COMPUTER_NAME.to_owned(), slipway_runtime::workspace::hostname());
    for tool in capability::TOOLS {
        if let Some(path) = find_on_path(tool) {
            let value = tool_version(&path, tool).unwrap_or_else(|| path.display().to_string());
            capabilities.insert((*tool).to_owned(), value);
        }
    }
    for (key, value) in extra {
        capabilities.insert(key.clone(), value.clone());
    }
    capabilities
}

/// Why a capability given by the user (`--capability KEY=VALUE`) was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CapabilityError {
    /// No `=`.
    #[error("'{0}' is not KEY=VALUE")]
    NotKeyValue(String),
    /// A key with other characters than letters, digits, `.`, `_` and `-` (or none).
    #[error("'{0}' is not a capability name: use letters, digits, '.', '_' and '-'")]
    BadName(String),
}

/// Reads a `KEY=VALUE` capability given by the user.
///
/// # Errors
/// A sentence for text that is not `KEY=VALUE` with a key of letters, digits, `.`, `_` and `-`.
pub fn parse_capability(text: &str) -> Result<(String, String), CapabilityError> {
    let Some((key, value)) = text.split_once('=') else {
        return Err(CapabilityError::NotKeyValue(text.to_owned()));
    };
    let key = key.trim();
    let valid =
        !key.is_empty() && key.chars().all(|character| character.is_ascii_alphanumeric() || "._-".contains(character));
    if !valid {
        return Err(CapabilityError::BadName(key.to_owned()));
    }
    Ok((key.to_owned(), value.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_found_in_what_tools_print() {
        assert_eq!(version_in("GNU bash, version 5.2.15(1)-release (x86_64-pc-linux-gnu)").as_deref(), Some("5.2.15"));
        assert_eq!(version_in("v20.11.0").as_deref(), Some("20.11.0"));
        assert_eq!(version_in("go version go1.22.1 linux/amd64").as_deref(), Some("1.22.1"));
        assert_eq!(version_in("Python 3.11.2").as_deref(), Some("3.11.2"));
        assert_eq!(version_in("openjdk version \"17.0.9\" 2023-10-17").as_deref(), Some("17.0.9"));
        assert_eq!(version_in("no digits"), None);
    }

    #[test]
    fn detected_capabilities_name_the_machine_and_keep_the_users() {
        let extra =
            BTreeMap::from([("gpu".to_owned(), "none".to_owned()), ("Agent.OS".to_owned(), "Custom".to_owned())]);
        let capabilities = detect("a1", &extra);
        assert_eq!(capabilities.get("Agent.Name").map(String::as_str), Some("a1"));
        assert_eq!(capabilities.get("gpu").map(String::as_str), Some("none"));
        assert_eq!(capabilities.get("Agent.OS").map(String::as_str), Some("Custom"));
        assert!(capabilities.contains_key("bash"), "{capabilities:?}");
    }

    #[test]
    fn user_capabilities_are_key_value() {
        assert_eq!(parse_capability("gpu=cuda12"), Ok(("gpu".into(), "cuda12".into())));
        assert_eq!(parse_capability("flag="), Ok(("flag".into(), String::new())));
        assert!(parse_capability("novalue").is_err());
        assert!(parse_capability("bad key=1").is_err());
    }
}
