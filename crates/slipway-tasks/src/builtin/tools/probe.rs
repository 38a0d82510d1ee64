//! What is installed on this machine, outside the agent's tool cache: the directories of the
//! `PATH`, the home directory and the standard install locations. Tests describe a machine of
//! their own with [`Machine`] so they never see the real one.
//!
//! Some versions can only be learned by running the tool (`python3.11 --version`); [`output`]
//! does that directly with `std::process::Command` (the host's `run` streams to the log and
//! returns only the exit code), with no input and a time limit.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a tool may take to print its version.
const VERSION_TIME_LIMIT: Duration = Duration::from_secs(10);

/// A machine as the tool tasks see it.
#[derive(Clone, Debug)]
pub(crate) struct Machine {
    /// The home directory (`~/.pyenv`, `~/.nvm`, `~/.dotnet`, `~/.dotnet/tools`).
    pub home: Option<PathBuf>,
    /// The directories of `PATH`, in order.
    pub path: Vec<PathBuf>,
    /// The machine's architecture in the tool cache's words (`x64`, `arm64`, `x86`).
    pub arch: &'static str,
    /// Directories that hold executables besides `PATH` (`/usr/local/bin`, `/usr/bin`).
    pub bin_dirs: Vec<PathBuf>,
    /// Directories holding one JDK per entry (`/usr/lib/jvm`).
    pub jvm_dirs: Vec<PathBuf>,
    /// Directories that may be a Go root, or hold Go roots named `go*` (`/usr/local/go`, `/usr/lib`).
    pub go_dirs: Vec<PathBuf>,
    /// Directories that may be a .NET root (`/usr/share/dotnet`).
    pub dotnet_roots: Vec<PathBuf>,
}

impl Machine {
    /// This machine.
    #[must_use]
    pub(crate) fn real() -> Self {
        let path = std::env::var_os("PATH").map(|path| std::env::split_paths(&path).collect()).unwrap_or_default();
        let home = std::env::var_os("HOME").filter(|home| !home.is_empty()).map(PathBuf::from);
        let mut dotnet_roots: Vec<PathBuf> = std::env::var_os("DOTNET_ROOT").map(PathBuf::from).into_iter().collect();
        dotnet_roots.extend(
            ["/usr/share/dotnet", "/usr/lib/dotnet", "/usr/lib64/dotnet", "/usr/local/share/dotnet", "/opt/dotnet"]
                .map(PathBuf::from),
        );
        Self {
            home,
            path,
            arch: machine_arch(),
            bin_dirs: ["/usr/local/bin", "/usr/bin", "/bin"].map(PathBuf::from).to_vec(),
            jvm_dirs: ["/usr/lib/jvm", "/usr/java", "/opt/java", "/usr/local/java"].map(PathBuf::from).to_vec(),
            go_dirs: ["/usr/local/go", "/usr/lib/go", "/usr/lib", "/opt/go"].map(PathBuf::from).to_vec(),
            dotnet_roots,
        }
    }

    /// `PATH` then the other executable directories, without duplicates.
    #[must_use]
    pub(crate) fn executable_dirs(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = Vec::new();
        for dir in self.path.iter().chain(&self.bin_dirs) {
            if !dir.as_os_str().is_empty() && !dirs.contains(dir) {
                dirs.push(dir.clone());
            }
        }
        dirs
    }

    /// The first executable named `name` on `PATH` (then the other executable directories).
    #[must_use]
    pub(crate) fn which(&self, name: &str) -> Option<PathBuf> {
        self.executable_dirs().into_iter().map(|dir| dir.join(name)).find(|candidate| is_executable(candidate))
    }

    /// A path below the home directory.
    #[must_use]
    pub(crate) fn home_join(&self, relative: &str) -> Option<PathBuf> {
        self.home.as_ref().map(|home| home.join(relative))
    }
}

/// This machine's architecture in the tool cache's words.
#[must_use]
pub(crate) fn machine_arch() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" => "arm64",
        "x86" => "x86",
        "arm" => "arm",
        _ => "x64",
    }
}

/// Whether `path` is a file with an execute bit.
#[must_use]
pub(crate) fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
}

/// The entries of a directory, sorted; nothing when it cannot be read.
#[must_use]
pub(crate) fn children(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|entry| entry.ok().map(|entry| entry.path())).collect())
        .unwrap_or_default();
    entries.sort();
    entries
}

/// The canonical form of a path (symbolic links resolved), or the path itself.
#[must_use]
pub(crate) fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// What `program arguments` prints (standard output, then standard error), when it starts, ends
/// within the time limit and exits with 0.
#[must_use]
pub(crate) fn output(program: &Path, arguments: &[&str]) -> Option<String> {
    let mut child = spawn(program, arguments)?;
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < VERSION_TIME_LIMIT => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    };
    let mut text = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        let _ = stdout.read_to_string(&mut text);
    }
    if let Some(mut stderr) = child.stderr.take() {
        let _ = stderr.read_to_string(&mut text);
    }
    status.success().then_some(text)
}

/// Starts the program, retrying briefly when another thread of this process still holds a
/// freshly written executable open (`ETXTBSY`).
fn spawn(program: &Path, arguments: &[&str]) -> Option<std::process::Child> {
    const TEXT_FILE_BUSY: i32 = 26;
    for _ in 0..50 {
        let result = Command::new(program)
            .args(arguments)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        match result {
            Ok(child) => return Some(child),
            Err(error) if error.raw_os_error() == Some(TEXT_FILE_BUSY) => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(_) => return None,
        }
    }
    None
}

#[cfg(test)]
pub(crate) mod testing {
    //! Fake machines for the tool tasks' tests.

    use super::Machine;
    use crate::fake::FakeHost;
    use std::path::{Path, PathBuf};

    /// A fake job on a fake machine below a temporary directory: the tool cache is `_tool`, the
    /// job's temporary directory `_temp`, its working directory `s`.
    pub(crate) struct World {
        /// The temporary directory.
        pub root: tempfile::TempDir,
        /// The job.
        pub host: FakeHost,
        /// The machine.
        pub machine: Machine,
    }

    impl World {
        /// A new world with nothing installed.
        pub(crate) fn new() -> Self {
            let root = tempfile::tempdir().expect("temporary directory");
            std::fs::create_dir_all(root.path().join("s")).expect("working directory");
            std::fs::create_dir_all(root.path().join("bin")).expect("PATH directory");
            let host = FakeHost::new(&root.path().join("s"))
                .with_variable("Agent.ToolsDirectory", &root.path().join("_tool").display().to_string())
                .with_variable("Agent.TempDirectory", &root.path().join("_temp").display().to_string());
            let machine = empty_machine(root.path());
            Self { root, host, machine }
        }

        /// A path below the root.
        pub(crate) fn path(&self, relative: &str) -> PathBuf {
            self.root.path().join(relative)
        }

        /// `text` with the root shown as `<root>`.
        pub(crate) fn shown(&self, text: &str) -> String {
            text.replace(&self.root.path().display().to_string(), "<root>")
        }

        /// The directories prepended to `PATH`, first first, with the root shown as `<root>`.
        pub(crate) fn path_shown(&self) -> Vec<String> {
            self.host.path.iter().map(|dir| self.shown(&dir.display().to_string())).collect()
        }

        /// The variables set, with the root shown as `<root>`.
        pub(crate) fn set_shown(&self) -> Vec<String> {
            self.host
                .set
                .iter()
                .map(|(name, value, options)| {
                    let output = if options.output { " (output)" } else { "" };
                    format!("{name}={}{output}", self.shown(value))
                })
                .collect()
        }
    }

    /// A machine with nothing installed, its home and standard directories below `root`.
    pub(crate) fn empty_machine(root: &Path) -> Machine {
        Machine {
            home: Some(root.join("home")),
            path: vec![root.join("bin")],
            arch: "x64",
            bin_dirs: Vec::new(),
            jvm_dirs: vec![root.join("usr/lib/jvm")],
            go_dirs: vec![root.join("usr/local/go"), root.join("usr/lib")],
            dotnet_roots: vec![root.join("usr/share/dotnet")],
        }
    }

    /// Writes an executable shell script.
    pub(crate) fn script(path: &Path, body: &str) -> PathBuf {
        use std::io::Write;
        use std::os::unix::fs::PermissionsExt;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("script directory");
        }
        let mut file = std::fs::File::create(path).expect("script");
        file.write_all(format!("#!/bin/sh\n{body}\n").as_bytes()).expect("script text");
        file.sync_all().expect("script written");
        drop(file);
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("script mode");
        path.to_path_buf()
    }

    /// Creates a file (and its directories).
    pub(crate) fn touch(path: &Path, text: &str) {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("directory");
        }
        std::fs::write(path, text).expect("file");
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    #[test]
    fn runs_a_program_and_reads_both_streams() {
        let root = tempfile::tempdir().expect("temporary directory");
        let program = script(&root.path().join("tool"), "echo out; echo err >&2");
        assert_eq!(output(&program, &[]).as_deref(), Some("out\nerr\n"));
        let failing = script(&root.path().join("failing"), "echo nope; exit 3");
        assert_eq!(output(&failing, &[]), None);
        assert_eq!(output(&root.path().join("missing"), &[]), None);
    }

    #[test]
    fn which_looks_on_path_then_the_other_directories() {
        let root = tempfile::tempdir().expect("temporary directory");
        let mut machine = empty_machine(root.path());
        machine.bin_dirs = vec![root.path().join("usr/bin")];
        script(&root.path().join("usr/bin/node"), "true");
        touch(&root.path().join("bin/node"), "not executable");
        assert_eq!(machine.which("node"), Some(root.path().join("usr/bin/node")));
        script(&root.path().join("bin/node"), "true");
        assert_eq!(machine.which("node"), Some(root.path().join("bin/node")));
        assert_eq!(machine.which("python9"), None);
    }
}
