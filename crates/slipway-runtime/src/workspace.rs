//! Where jobs work on this machine: their directories and the variables that name them, and
//! the `Agent.*` variables of `slipway run`.

use std::path::{Path, PathBuf};

use slipway_driver::{Variable, Variables};

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

/// The `Agent.*` variables of a job run on this machine by `slipway run`, which works in
/// `work_dir` (agents set their own).
#[must_use]
pub fn agent_variables(work_dir: &Path) -> Vec<Variable> {
    let host = hostname();
    let work = work_dir.display().to_string();
    let architecture = match std::env::consts::ARCH {
        "aarch64" => "ARM64",
        "arm" => "ARM",
        "x86" => "X86",
        _ => "X64",
    };
    [
        ("Agent.OS", "Linux".to_owned()),
        ("Agent.OSArchitecture", architecture.to_owned()),
        ("Agent.Name", format!("slipway-{host}")),
        ("Agent.MachineName", host),
        ("Agent.Id", "1".to_owned()),
        ("Agent.Version", env!("CARGO_PKG_VERSION").to_owned()),
        ("Agent.WorkFolder", work.clone()),
        ("Agent.RootDirectory", work.clone()),
        ("Agent.ToolsDirectory", work_dir.join("_tool").display().to_string()),
        ("Agent.HomeDirectory", work),
        ("Agent.AcceptTeeEula", "False".to_owned()),
    ]
    .into_iter()
    .map(|(name, value)| Variable::readonly(name, value))
    .collect()
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
