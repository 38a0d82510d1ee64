//! Running the real `slipway` binary and recording what it printed.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root")
}

/// A command running the `slipway` binary built for these tests, in `directory`.
pub fn slipway(directory: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_slipway"));
    command.current_dir(directory).env("NO_COLOR", "1").env_remove("SLIPWAY_SERVER");
    command
}

/// Runs a command and renders its whole transcript: exit code, stdout and stderr, with
/// machine-specific paths replaced by `[WORKSPACE]`.
pub fn transcript(command: &mut Command) -> String {
    let output = command.output().expect("slipway runs");
    let workspace = workspace().display().to_string();
    let clean = |bytes: &[u8]| String::from_utf8_lossy(bytes).replace(&workspace, "[WORKSPACE]");
    format!(
        "exit code: {}\n----- stdout -----\n{}----- stderr -----\n{}",
        output.status.code().map_or_else(|| "signal".to_owned(), |code| code.to_string()),
        clean(&output.stdout),
        clean(&output.stderr)
    )
}
