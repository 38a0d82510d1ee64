//! Running the real `slipway` binary and recording what it printed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

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

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A scratch repository holding a copy of a fixture pipeline as `azure-pipelines.yml` (so
/// `checkout: self` in place touches nothing of ours), a work directory that its runs share (so
/// counters and the cache store persist between them), and an empty user configuration
/// directory. Removed on drop.
pub struct Scratch {
    pub dir: PathBuf,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Scratch {
    /// A repository with `pipeline` as its `azure-pipelines.yml` and an `input.txt`.
    pub fn new(pipeline: &Path) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "slipway-test-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let scratch = Self { dir };
        std::fs::create_dir_all(scratch.dir.join("config")).unwrap_or_else(|error| panic!("{error}"));
        scratch.copy(pipeline, "azure-pipelines.yml");
        scratch.write("input.txt", "input from the repository\n");
        scratch
    }

    /// A repository with the pipeline `tests/it/fixtures/run/NAME`.
    pub fn run_fixture(name: &str) -> Self {
        Self::new(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/run").join(name))
    }

    /// The repository.
    pub fn repo(&self) -> PathBuf {
        self.dir.join("repo")
    }

    /// Copies `source` to `target` in the repository.
    pub fn copy(&self, source: &Path, target: &str) {
        let target = self.repo().join(target);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|error| panic!("{error}"));
        }
        std::fs::copy(source, &target).unwrap_or_else(|error| panic!("{}: {error}", source.display()));
    }

    /// Writes `text` to `path` in the repository.
    pub fn write(&self, path: &str, text: &str) {
        let path = self.repo().join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|error| panic!("{error}"));
        }
        std::fs::write(path, text).unwrap_or_else(|error| panic!("{error}"));
    }

    /// `slipway run ARGS` in the repository, with the scratch work and configuration directories.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_slipway"));
        command
            .arg("run")
            .args(args)
            .current_dir(self.repo())
            .env("SLIPWAY_WORK_DIR", self.dir.join("work"))
            .env("SLIPWAY_KILL_GRACE_MS", "300")
            .env("XDG_CONFIG_HOME", self.dir.join("config"))
            .env("NO_COLOR", "1");
        command
    }

    /// Runs `slipway run ARGS`.
    pub fn run(&self, args: &[&str]) -> Outcome {
        self.run_env(args, &[])
    }

    /// Runs `slipway run ARGS` with extra environment variables.
    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Outcome {
        let mut command = self.command(args);
        for (name, value) in env {
            command.env(name, value);
        }
        let output = command.output().unwrap_or_else(|error| panic!("{error}"));
        Outcome {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// What a run printed and how it ended.
#[derive(Debug)]
pub struct Outcome {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// Whether stdout holds `text`.
    pub fn has(&self, text: &str) -> bool {
        self.stdout.contains(text)
    }

    /// Asserts stdout holds each of `texts`.
    #[track_caller]
    pub fn expect(&self, texts: &[&str]) {
        for text in texts {
            assert!(self.has(text), "missing {text:?} in:\n{}\n{}", self.stdout, self.stderr);
        }
    }

    /// Asserts stdout holds none of `texts`.
    #[track_caller]
    pub fn refuse(&self, texts: &[&str]) {
        for text in texts {
            assert!(!self.has(text), "unexpected {text:?} in:\n{}", self.stdout);
        }
    }
}

/// Runs `git` in `directory` with a fixed identity, failing the test when it fails.
/// Runs `command`: whether it succeeded, and its standard output then standard error.
pub fn output(command: &mut Command) -> (bool, String) {
    let output = command.output().unwrap_or_else(|error| panic!("{error}"));
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

pub fn git(directory: &Path, arguments: &[&str]) {
    let status = Command::new("git")
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "init.defaultBranch=main"])
        .args(arguments)
        .current_dir(directory)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap_or_else(|error| panic!("git: {error}"));
    assert!(status.success(), "git {arguments:?} failed in {}", directory.display());
}

/// Makes a git repository in `directory` with one commit on `main` holding `files` (path, text).
pub fn make_repository(directory: &Path, files: &[(&str, &str)]) {
    std::fs::create_dir_all(directory).unwrap_or_else(|error| panic!("{error}"));
    git(directory, &["init", "--quiet", "-b", "main"]);
    for (path, text) in files {
        let path = directory.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|error| panic!("{error}"));
        }
        std::fs::write(path, text).unwrap_or_else(|error| panic!("{error}"));
    }
    git(directory, &["add", "."]);
    git(directory, &["commit", "--quiet", "-m", "the pipelines"]);
}

/// The text of the fixture `tests/it/fixtures/server/NAME`.
pub fn server_fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/server").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// A `slipway serve` process over a scratch data directory, listening on a free port of
/// 127.0.0.1, with a scratch home for client commands. Stopped (SIGTERM, so it drains) and
/// removed on drop.
pub struct Server {
    child: std::process::Child,
    /// The scratch directory: `data/` for the server, `home/` and `config/` for clients.
    pub dir: PathBuf,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The first admin token.
    pub token: String,
    output: std::sync::Arc<std::sync::Mutex<String>>,
    cwd: PathBuf,
    arguments: Vec<String>,
}

impl Server {
    /// A server started from a directory outside any git repository.
    pub fn start() -> Self {
        let dir = scratch_directory("server");
        std::fs::create_dir_all(dir.join("cwd")).unwrap_or_else(|error| panic!("{error}"));
        Self::start_at(dir.clone(), &dir.join("cwd"), &[])
    }

    /// A server over the scratch directory `dir`, started in `cwd` with extra `serve` arguments.
    pub fn start_at(dir: PathBuf, cwd: &Path, arguments: &[&str]) -> Self {
        use std::io::BufRead as _;
        let mut child = Command::new(env!("CARGO_BIN_EXE_slipway"))
            .arg("serve")
            .arg("--data-dir")
            .arg(dir.join("data"))
            .args(["--listen", "127.0.0.1:0", "--workers", "2"])
            .args(arguments)
            .current_dir(cwd)
            .env("NO_COLOR", "1")
            .env("SLIPWAY_KILL_GRACE_MS", "300")
            .env("XDG_CONFIG_HOME", dir.join("server-config"))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("slipway serve: {error}"));
        let output = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let (lines, listening) = std::sync::mpsc::channel::<String>();
        for stream in [
            child.stdout.take().map(|out| Box::new(out) as Box<dyn std::io::Read + Send>),
            child.stderr.take().map(|err| Box::new(err) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let (output, lines) = (std::sync::Arc::clone(&output), lines.clone());
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(stream).lines().map_while(Result::ok) {
                    if let Ok(mut output) = output.lock() {
                        output.push_str(&line);
                        output.push('\n');
                    }
                    let _ = lines.send(line);
                }
            });
        }
        let url = loop {
            match listening.recv_timeout(std::time::Duration::from_secs(60)) {
                Ok(line) => {
                    if let Some(address) = line.strip_prefix("Slipway is listening on ") {
                        let address = address.split_whitespace().next().unwrap_or_default();
                        break address.trim_end_matches('/').trim_end_matches("/api/v1").to_owned();
                    }
                }
                Err(error) => {
                    let _ = child.kill();
                    let output = output.lock().map(|output| output.clone()).unwrap_or_default();
                    panic!("the server did not say where it listens ({error}):\n{output}");
                }
            }
        };
        let token = std::fs::read_to_string(dir.join("data/admin-token"))
            .map(|token| token.trim().to_owned())
            .unwrap_or_default();
        for directory in ["home", "config"] {
            std::fs::create_dir_all(dir.join(directory)).unwrap_or_else(|error| panic!("{error}"));
        }
        let arguments = arguments.iter().map(|argument| (*argument).to_owned()).collect();
        Self { child, dir, url, token, output, cwd: cwd.to_path_buf(), arguments }
    }

    /// Stops the server (SIGTERM: it drains) and starts it again over the same directories.
    pub fn restart(mut self) -> Self {
        self.stop();
        let arguments: Vec<&str> = self.arguments.iter().map(String::as_str).collect();
        let next = Self::start_at(self.dir.clone(), &self.cwd, &arguments);
        // The old value's drop must not remove the directories the new server uses.
        std::mem::forget(self);
        next
    }

    /// Kills the server with SIGKILL: it has no chance to stop anything.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn stop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::time::Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// What the server printed so far.
    pub fn output(&self) -> String {
        self.output.lock().map(|output| output.clone()).unwrap_or_default()
    }

    /// Waits (at most a minute) until the server printed `text`; gives all it printed.
    pub fn wait_for_output(&self, text: &str) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let output = self.output();
            if output.contains(text) {
                return output;
            }
            assert!(std::time::Instant::now() < deadline, "the server did not print {text:?}:\n{output}");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// `slipway ARGS` as a client: in the scratch directory, with its own home and configuration
    /// directory, no `SLIPWAY_*` variables and no standard input. No server or token is given.
    pub fn slipway(&self, arguments: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_slipway"));
        command
            .args(arguments)
            .current_dir(&self.dir)
            .env("NO_COLOR", "1")
            .env("HOME", self.dir.join("home"))
            .env("XDG_CONFIG_HOME", self.dir.join("config"))
            .env_remove("SLIPWAY_SERVER")
            .env_remove("SLIPWAY_TOKEN")
            .stdin(std::process::Stdio::null());
        command
    }

    /// `slipway ARGS --server URL --token ADMIN_TOKEN`.
    pub fn admin(&self, arguments: &[&str]) -> Command {
        let mut command = self.slipway(arguments);
        command.args(["--server", &self.url, "--token", &self.token]);
        command
    }

    /// Runs a command and renders its transcript with this server's address, tokens, scratch
    /// paths, commits and times replaced by placeholders.
    pub fn transcript(&self, command: &mut Command) -> String {
        let text = transcript(command).replace(&self.dir.display().to_string(), "[scratch]");
        Self::clean(&text)
    }

    /// Replaces what changes from run to run in `text`.
    pub fn clean(text: &str) -> String {
        let replacements = [
            (r"127\.0\.0\.1:\d+", "127.0.0.1:[port]"),
            (r"slw_[A-Za-z0-9_\-]+", "[token]"),
            (r"\b[0-9a-f]{40}\b", "[commit]"),
            // Run numbers of the default format, `$(Date:yyyyMMdd)$(Rev:.r)`, keeping their width.
            (r"\b20\d{6}(\.\d+)\b", "YYYYMMDD$1"),
            (r"\b\d+(\.\d+)?(ms|s)\b", "[time]"),
            (r"\b\d+m\d\ds\b", "[time]"),
            (r"\S*bash --noprofile --norc \S+", "bash --noprofile --norc [script]"),
        ];
        scrub(text, &replacements)
    }

    /// Runs `command` and adds its transcript (as [`Server::transcript`] renders it, then with
    /// `extra`'s patterns replaced), titled `$ title`, to `transcripts`.
    pub fn record(&self, transcripts: &mut Vec<String>, title: &str, command: &mut Command, extra: &[(&str, &str)]) {
        transcripts.push(format!("$ {title}\n{}", scrub(&self.transcript(command), extra)));
    }
}

/// `text` with each pattern's matches replaced, in order.
pub fn scrub(text: &str, replacements: &[(&str, &str)]) -> String {
    replacements.iter().fold(text.to_owned(), |text, (pattern, replacement)| {
        regex::Regex::new(pattern).map(|pattern| pattern.replace_all(&text, *replacement).into_owned()).unwrap_or(text)
    })
}

/// Runs `command`: its exit code (-1 when a signal ended it) and what it printed, standard output
/// then standard error.
pub fn status(command: &mut Command) -> (i32, String) {
    let output = command.output().unwrap_or_else(|error| panic!("{error}"));
    (
        output.status.code().unwrap_or(-1),
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr)),
    )
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A new scratch directory path (not created) in the temporary directory.
pub fn scratch_directory(kind: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "slipway-{kind}-test-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// How many live (not zombie) processes have `marker` in their command line.
pub fn processes_with(marker: &str) -> usize {
    std::fs::read_dir("/proc")
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|entry| {
                    std::fs::read_to_string(entry.path().join("stat"))
                        .ok()
                        .and_then(|stat| stat.rsplit_once(')').map(|(_, rest)| rest.trim_start().starts_with('Z')))
                        == Some(false)
                })
                .filter_map(|entry| std::fs::read(entry.path().join("cmdline")).ok())
                .filter(|cmdline| String::from_utf8_lossy(cmdline).contains(marker))
                .count()
        })
        .unwrap_or(0)
}

/// Waits (at most ten seconds) until no live process has `marker` in its command line; how many
/// are left.
pub fn wait_processes_gone(marker: &str) -> usize {
    let started = Instant::now();
    loop {
        let left = processes_with(marker);
        if left == 0 || started.elapsed() > Duration::from_secs(10) {
            return left;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
