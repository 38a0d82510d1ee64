//! Actions built into the runner, run natively and without a network: `actions/checkout` (the
//! run's source, as Azure's `checkout: self`), `actions/upload-artifact` and
//! `actions/download-artifact` (v3 and v4, on the run's artifact store), `actions/cache` (a
//! local cache store; `actions/cache/restore` and `actions/cache/save` too), the `setup-*`
//! actions of Node.js, Python, Go, Java and .NET and the Rust toolchain actions (the installed
//! tool, its version checked against the one asked for, put on `PATH`, with the outputs the real
//! action sets). Outputs, `PATH` and environment changes go through the step's own environment
//! files, as a real action's would.
//!
//! An action the action store holds under the exact reference written ([`super::store`]) runs
//! from the store instead, as do local actions (`./path`): composite actions ([`super::composite`])
//! and node actions ([`super::node`]). Anything else fails with a message naming it: Docker
//! actions (`docker://`, or `runs.using: docker`) need a container engine, and other actions need
//! to be in the action store (`slipway run --actions DIR`).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use slipway_events::{Event, LogKind, Severity, now_ms};
use slipway_plan::Step;

use super::store::Using;
use super::{Attempt, GithubJob, OutputState, PostStep, StepFiles};
use crate::local::copy_working_tree;

/// A `uses:` step about to run.
pub(super) struct Call<'s> {
    pub(super) step: &'s Step,
    pub(super) number: u32,
    /// The action as written.
    pub(super) action: &'s str,
    /// Its inputs, evaluated.
    pub(super) inputs: &'s [(String, String)],
    pub(super) environment: Vec<(String, String)>,
    pub(super) files: &'s StepFiles,
    /// The step's own `env`, evaluated (a composite action's steps get it).
    pub(super) step_env: &'s [(String, String)],
}

impl Call<'_> {
    fn input(&self, name: &str) -> Option<&str> {
        self.inputs
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
            .filter(|value| !value.trim().is_empty())
    }

    fn env(&self, name: &str) -> Option<&str> {
        self.environment.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }
}

/// What runs at the end of the job for an action.
pub(super) enum Post {
    /// `actions/cache`'s save.
    CacheSave { key: String, paths: Vec<String>, home: Option<String> },
    /// A node action's `post` script.
    Node(Box<super::node::NodePost>),
}

/// An action reference: `owner/repo[/path]@ref`.
struct Reference {
    /// `owner/repo[/path]` in lower case.
    name: String,
    /// The ref (`v4`, a SHA, a toolchain for `dtolnay/rust-toolchain`).
    reference: String,
}

fn reference(action: &str) -> Reference {
    let (name, reference) = action.split_once('@').unwrap_or((action, ""));
    Reference { name: name.trim_end_matches('/').to_ascii_lowercase(), reference: reference.to_owned() }
}

/// The actions built in (any ref), in lower case.
const BUILT_IN: &[&str] = &[
    "actions/checkout",
    "actions/upload-artifact",
    "actions/download-artifact",
    "actions/cache",
    "actions/cache/restore",
    "actions/cache/save",
    "actions/setup-node",
    "actions/setup-python",
    "actions/setup-go",
    "actions/setup-java",
    "actions/setup-dotnet",
    "dtolnay/rust-toolchain",
    "actions-rs/toolchain",
];

/// Whether Slipway has `action` (`owner/repo[/path]@ref`) built in.
pub(super) fn is_built_in(action: &str) -> bool {
    BUILT_IN.contains(&reference(action).name.as_str())
}

/// Whether `action` is `actions/checkout` (any version).
pub(super) fn is_checkout(action: &str) -> bool {
    reference(action).name == "actions/checkout"
}

/// The major version of a ref such as `v4`, `v4.1.2` (none for a SHA or a branch).
fn major(reference: &str) -> Option<u32> {
    reference.strip_prefix('v').and_then(|rest| rest.split('.').next()).and_then(|major| major.parse().ok())
}

/// Writes `name`/`value` pairs to an environment file in the heredoc form.
pub(super) fn append_pairs(path: &Path, pairs: &[(&str, String)]) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new().append(true).create(true).open(path)?;
    for (name, value) in pairs {
        let mut delimiter = "ghadelimiter_slipway".to_owned();
        while value.lines().any(|line| line == delimiter) {
            delimiter.push('_');
        }
        writeln!(file, "{name}<<{delimiter}\n{value}\n{delimiter}")?;
    }
    Ok(())
}

fn append_line(path: &Path, line: &str) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new().append(true).create(true).open(path)?;
    writeln!(file, "{line}")
}

/// `~` and relative paths of an action's input, from the workspace and `HOME`.
fn resolve(workspace: &Path, home: Option<&str>, path: &str) -> PathBuf {
    let path = path.trim();
    if let Some(rest) = path.strip_prefix("~/").or_else(|| (path == "~").then_some(""))
        && let Some(home) = home
    {
        return Path::new(home).join(rest);
    }
    let path = Path::new(path);
    if path.is_absolute() { path.to_path_buf() } else { workspace.join(path) }
}

/// Copies a file or a directory tree.
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<u64> {
    if from.is_file() {
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(from, to)?;
        return Ok(1);
    }
    std::fs::create_dir_all(to)?;
    let mut count = 0;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            count += copy_tree(&entry.path(), &target)?;
        } else if kind.is_symlink() {
            let link = std::fs::read_link(entry.path())?;
            let _ = std::fs::remove_file(&target);
            std::os::unix::fs::symlink(link, &target)?;
            count += 1;
        } else {
            std::fs::copy(entry.path(), &target)?;
            count += 1;
        }
    }
    Ok(count)
}

/// Whether a requested version (`20`, `20.x`, `3.11`, `>=18`, `^1.21`, `lts/*`, `stable`)
/// allows the installed one (`20.11.0`). Aliases that name no number are allowed.
pub(super) fn version_allows(requested: &str, installed: &str) -> bool {
    let requested = requested.trim().trim_start_matches('v');
    let installed = installed.trim().trim_start_matches('v');
    if matches!(requested, "" | "*" | "x" | "latest" | "lts/*" | "node" | "stable" | "current" | "lts")
        || requested.starts_with("lts/")
    {
        return true;
    }
    let numbers = |text: &str| -> Vec<Option<u64>> {
        text.split(['.', '-', '+'])
            .take(3)
            .map(|part| if matches!(part, "x" | "X" | "*") { None } else { part.parse().ok() })
            .collect()
    };
    let have: Vec<u64> = installed.split(['.', '-', '+', ' ']).take(3).filter_map(|part| part.parse().ok()).collect();
    let (operator, rest) = if let Some(rest) = requested.strip_prefix(">=") {
        (">=", rest)
    } else if let Some(rest) = requested.strip_prefix('^') {
        ("^", rest)
    } else if let Some(rest) = requested.strip_prefix('~') {
        ("~", rest)
    } else {
        ("", requested)
    };
    let want = numbers(rest.trim());
    if want.first().copied().flatten().is_none() {
        return false;
    }
    match operator {
        ">=" => {
            let want: Vec<u64> = want.iter().map(|part| part.unwrap_or(0)).collect();
            have >= want
        }
        "^" => {
            have.first() == want.first().copied().flatten().as_ref() && {
                let want: Vec<u64> = want.iter().map(|part| part.unwrap_or(0)).collect();
                have >= want
            }
        }
        "~" => {
            have.first() == want.first().copied().flatten().as_ref()
                && want.get(1).copied().flatten().is_none_or(|minor| have.get(1) == Some(&minor))
                && {
                    let want: Vec<u64> = want.iter().map(|part| part.unwrap_or(0)).collect();
                    have >= want
                }
        }
        _ => want.iter().enumerate().all(|(index, part)| part.is_none_or(|part| have.get(index) == Some(&part))),
    }
}

/// Runs `program args` with `PATH` from `path`; its standard output and error together.
fn tool_output(program: &Path, args: &[&str]) -> Option<String> {
    let output = std::process::Command::new(program).args(args).stdin(std::process::Stdio::null()).output().ok()?;
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    Some(text)
}

/// The first thing that reads like a version number in `text` (`1.21.5` of `go1.21.5`).
fn version_in(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index].is_ascii_digit() {
            let start = index;
            while index < bytes.len() && (bytes[index].is_ascii_digit() || bytes[index] == b'.') {
                index += 1;
            }
            let candidate = text[start..index].trim_end_matches('.');
            if candidate.contains('.') {
                return Some(candidate.to_owned());
            }
        }
        index += 1;
    }
    None
}

impl GithubJob<'_> {
    fn find_tool(&self, call: &Call<'_>, names: &[&str]) -> Option<PathBuf> {
        names.iter().find_map(|name| super::find_program(name, call.env("PATH")))
    }

    fn outputs(&self, call: &Call<'_>, pairs: &[(&str, String)]) -> Result<(), Attempt> {
        append_pairs(&call.files.output, pairs)
            .map_err(|error| self.fail(call.number, &format!("could not write the step's outputs: {error}")))
    }

    /// The action store's directory, when the run has one.
    pub(super) fn action_store(&self) -> Option<PathBuf> {
        self.request.run.actions_dir.clone()
    }

    /// Runs a `uses:` step.
    pub(super) fn uses(&mut self, call: Call<'_>, state: &mut OutputState) -> Attempt {
        let action = call.action.trim();
        if action.starts_with("docker://") {
            return self.fail(
                call.number,
                &format!(
                    "the action '{action}' runs in a Docker container, and no container engine is available to Slipway; run the tool with a `run:` step instead"
                ),
            );
        }
        if action.starts_with("./") || action.starts_with("../") {
            return self.local_action(&call, state);
        }
        let store = self.action_store();
        if let Some(dir) = store.as_deref().and_then(|store| super::store::find(store, action)) {
            if self.debug {
                let message = format!("'{action}' runs from the action store: {}", dir.display());
                self.log(Some(call.number), LogKind::Debug, &message);
            }
            return self.action_folder(&call, &dir, "the action", state);
        }
        let reference = reference(action);
        let tool = match reference.name.as_str() {
            "actions/setup-node" => Some("node"),
            "actions/setup-python" => Some("python"),
            "actions/setup-go" => Some("go"),
            "actions/setup-java" => Some("java"),
            _ => None,
        };
        let attempt = match reference.name.as_str() {
            "actions/checkout" => self.checkout(&call),
            "actions/upload-artifact" => self.upload_artifact(&call, major(&reference.reference).unwrap_or(4)),
            "actions/download-artifact" => self.download_artifact(&call, major(&reference.reference).unwrap_or(4)),
            "actions/cache" => self.cache(&call, true, true),
            "actions/cache/restore" => self.cache(&call, true, false),
            "actions/cache/save" => self.cache(&call, false, true),
            "actions/setup-node" => self.setup_node(&call),
            "actions/setup-python" => self.setup_python(&call),
            "actions/setup-go" => self.setup_go(&call),
            "actions/setup-java" => self.setup_java(&call),
            "actions/setup-dotnet" => self.setup_dotnet(&call),
            "dtolnay/rust-toolchain" => {
                let toolchain = call.input("toolchain").map_or_else(|| reference.reference.clone(), str::to_owned);
                self.setup_rust(&call, &toolchain)
            }
            "actions-rs/toolchain" => {
                let toolchain = call.input("toolchain").unwrap_or("stable").to_owned();
                self.setup_rust(&call, &toolchain)
            }
            _ => {
                let message = match &store {
                    Some(store) => format!(
                        "the action '{action}' is neither built in nor in the action store; put its repository there, so that {} exists",
                        super::store::expected_place(&store.display().to_string(), action)
                    ),
                    None => format!(
                        "the action '{action}' is not built in and no action store is configured; Slipway runs actions/checkout, actions/upload-artifact, actions/download-artifact, actions/cache, the actions/setup-* actions and the Rust toolchain actions natively, and other actions must be in an action store: run with `--actions DIR`, with the action's repository in {}",
                        super::store::expected_place("DIR", action)
                    ),
                };
                self.fail(call.number, &message)
            }
        };
        if let Some(tool) = tool
            && attempt.result.is_success()
            && let Err(failed) = self.setup_cache(&call, tool)
        {
            return failed;
        }
        attempt
    }

    fn local_action(&mut self, call: &Call<'_>, state: &mut OutputState) -> Attempt {
        let dir = self.workspace.join(call.action);
        if super::store::manifest(&dir).is_none() {
            return self.fail(
                call.number,
                &format!(
                    "the local action '{}' has no action.yml or action.yaml in {}; check it out first (actions/checkout) or fix the path",
                    call.action,
                    dir.display()
                ),
            );
        }
        self.action_folder(call, &dir, "the local action", state)
    }

    /// Runs the action whose `action.yml` is in `dir` (a local action or one of the store),
    /// as its `runs.using` says.
    fn action_folder(&mut self, call: &Call<'_>, dir: &Path, what: &str, state: &mut OutputState) -> Attempt {
        let metadata = match super::store::read_metadata(dir) {
            Ok(metadata) => metadata,
            Err(error) => return self.fail(call.number, &format!("{what} '{}': {error}", call.action)),
        };
        let message = match &metadata.using {
            Using::Docker => format!(
                "{what} '{}' runs in a Docker container (runs.using: docker), and no container engine is available to Slipway",
                call.action
            ),
            Using::Composite => return self.composite(call, dir, &metadata),
            Using::Node(using) => return self.node_action(call, dir, &metadata, &using.clone(), state),
            Using::Other(other) => format!(
                "{what} '{}' has `runs.using: {other}`, which Slipway cannot run (it runs composite and node actions)",
                call.action
            ),
        };
        self.fail(call.number, &message)
    }

    fn checkout(&mut self, call: &Call<'_>) -> Attempt {
        let number = call.number;
        let own =
            self.base.get("github").and_then(|github| github.get("repository")).map(|value| value.to_display_string());
        if let Some(repository) = call.input("repository")
            && own.as_deref().is_none_or(|own| !own.eq_ignore_ascii_case(repository))
        {
            return self.fail(
                number,
                &format!(
                    "actions/checkout of the repository '{repository}' is not supported: Slipway checks out the run's own source only"
                ),
            );
        }
        for ignored in ["fetch-depth", "ref", "submodules", "lfs", "sparse-checkout", "clean", "token", "ssh-key"] {
            if let Some(value) = call.input(ignored) {
                self.log(
                    Some(number),
                    LogKind::Output,
                    &format!("Note: `{ignored}: {value}` is ignored; the run's source is used as it is."),
                );
            }
        }
        let source = self.request.run.source_dir.clone();
        let target = match call.input("path") {
            Some(path) => self.workspace.join(path),
            None => self.workspace.clone(),
        };
        if target == source {
            self.log(Some(number), LogKind::Output, &format!("Using the repository in place: {}", source.display()));
            return Attempt::succeeded();
        }
        match copy_working_tree(&source, &target) {
            Ok(count) => {
                self.log(
                    Some(number),
                    LogKind::Output,
                    &format!("Copied {count} files of {} to {}", source.display(), target.display()),
                );
                Attempt::succeeded()
            }
            Err(error) => {
                self.fail(number, &format!("could not copy the working tree to {}: {error}", target.display()))
            }
        }
    }

    fn upload_artifact(&mut self, call: &Call<'_>, version: u32) -> Attempt {
        let number = call.number;
        let name = call.input("name").unwrap_or("artifact").trim().to_owned();
        let Some(path_text) = call.input("path") else {
            return self.fail(number, "Input required and not supplied: path");
        };
        if let Some(days) = call.input("retention-days") {
            self.log(
                Some(number),
                LogKind::Output,
                &format!("Note: retention-days {days} is noted; Slipway keeps a run's artifacts as long as the run."),
            );
        }
        let home = call.env("HOME").map(str::to_owned);
        let lines: Vec<&str> =
            path_text.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with('#')).collect();
        let mut includes = Vec::new();
        let mut excludes = Vec::new();
        for line in &lines {
            match line.strip_prefix('!') {
                Some(pattern) => {
                    excludes.push(resolve(&self.workspace, home.as_deref(), pattern).display().to_string())
                }
                None => includes.push(resolve(&self.workspace, home.as_deref(), line).display().to_string()),
            }
        }
        let excluded = |path: &Path| {
            let text = path.display().to_string();
            excludes.iter().any(|pattern| slipway_tasks::glob::Pattern::new(pattern).matches(&text))
        };
        let mut files: Vec<PathBuf> = Vec::new();
        let mut search_paths: Vec<PathBuf> = Vec::new();
        for include in &includes {
            let pattern = slipway_tasks::glob::Pattern::new(include);
            search_paths.push(pattern.literal_prefix());
            for found in slipway_tasks::glob::find_match(Path::new("/"), std::slice::from_ref(include)) {
                let candidates = if found.is_dir() {
                    slipway_tasks::glob::find(&found).into_iter().filter(|path| path.is_file()).collect()
                } else {
                    vec![found]
                };
                for file in candidates {
                    if !excluded(&file) && !files.contains(&file) {
                        files.push(file);
                    }
                }
            }
        }
        files.sort();
        if files.is_empty() {
            let message =
                format!("No files were found with the provided path: {path_text}. No artifacts will be uploaded.");
            return match call.input("if-no-files-found").unwrap_or("warn") {
                "error" => self.fail(number, &message),
                "ignore" => {
                    self.log(Some(number), LogKind::Output, &message);
                    Attempt::succeeded()
                }
                _ => {
                    self.issue(Some(number), Severity::Warning, &message);
                    Attempt::succeeded()
                }
            };
        }
        // The root is the deepest directory that holds every search path (a single file's
        // directory), as the artifact toolkit computes it.
        let mut root: Option<PathBuf> = None;
        for search in &search_paths {
            let search =
                if search.is_file() { search.parent().unwrap_or(search).to_path_buf() } else { search.clone() };
            root = Some(match root {
                None => search,
                Some(root) => {
                    let mut common = PathBuf::new();
                    for (a, b) in root.components().zip(search.components()) {
                        if a != b {
                            break;
                        }
                        common.push(a);
                    }
                    common
                }
            });
        }
        let root = root.unwrap_or_else(|| self.workspace.clone());
        let store = &self.request.run.artifacts;
        if version >= 4 && store.names().iter().any(|existing| existing == &name) {
            let overwrite = call.input("overwrite").is_some_and(|value| value.eq_ignore_ascii_case("true"));
            let message = if overwrite {
                format!(
                    "an artifact named '{name}' was already uploaded in this run, and Slipway cannot overwrite artifacts (overwrite: true); give it another name"
                )
            } else {
                "Failed to CreateArtifact: Received non-retryable error: Failed request: (409) Conflict: an artifact with this name already exists on the workflow run".to_owned()
            };
            return self.fail(number, &message);
        }
        self.log(
            Some(number),
            LogKind::Output,
            &format!("With the provided path, there will be {} files uploaded", files.len()),
        );
        let mut manifest = None;
        for file in &files {
            let relative = file.strip_prefix(&root).unwrap_or(file);
            let folder = relative.parent().map(|parent| parent.display().to_string()).filter(|text| !text.is_empty());
            match store.upload(&name, folder.as_deref(), file) {
                Ok(uploaded) => manifest = Some(uploaded),
                Err(error) => return self.fail(number, &format!("could not upload {}: {error}", file.display())),
            }
        }
        let Some(manifest) = manifest else { return Attempt::succeeded() };
        self.events.emit(Event::ArtifactPublished {
            time: now_ms(),
            job: self.job_id(),
            step: number,
            name: name.clone(),
            digest: manifest.digest(),
            files: manifest.files.len() as u64,
            bytes: manifest.bytes(),
        });
        self.log(Some(number), LogKind::Output, &format!("Artifact {name} has been successfully uploaded!"));
        if version >= 4 {
            let digest = manifest.digest();
            let id = store.names().iter().position(|existing| existing == &name).map_or(1, |index| index + 1);
            if let Err(attempt) = self.outputs(
                call,
                &[
                    ("artifact-id", id.to_string()),
                    ("artifact-url", String::new()),
                    ("artifact-digest", digest.trim_start_matches("sha256:").to_owned()),
                ],
            ) {
                return attempt;
            }
        }
        Attempt::succeeded()
    }

    fn download_artifact(&mut self, call: &Call<'_>, version: u32) -> Attempt {
        let number = call.number;
        let home = call.env("HOME").map(str::to_owned);
        let base = call
            .input("path")
            .map_or_else(|| self.workspace.clone(), |path| resolve(&self.workspace, home.as_deref(), path));
        let store = &self.request.run.artifacts;
        let merge = call.input("merge-multiple").is_some_and(|value| value.eq_ignore_ascii_case("true"));
        let targets: Vec<(String, PathBuf)> = match call.input("name") {
            Some(name) => {
                if !store.names().iter().any(|existing| existing == name) {
                    let message = if version >= 4 {
                        format!("Unable to download artifact(s): Artifact not found for name: {name}")
                    } else {
                        format!("Unable to find an artifact with the name: {name}")
                    };
                    return self.fail(number, &message);
                }
                vec![(name.to_owned(), base.clone())]
            }
            None => {
                let pattern = call.input("pattern").map(slipway_tasks::glob::Pattern::new);
                store
                    .names()
                    .into_iter()
                    .filter(|name| pattern.as_ref().is_none_or(|pattern| pattern.matches(name)))
                    .map(|name| {
                        let target = if merge { base.clone() } else { base.join(&name) };
                        (name, target)
                    })
                    .collect()
            }
        };
        for (name, target) in targets {
            match store.download(&name, &target, &[]) {
                Ok(manifest) => {
                    self.log(
                        Some(number),
                        LogKind::Output,
                        &format!(
                            "Downloaded artifact '{name}' ({} files) to {}",
                            manifest.files.len(),
                            target.display()
                        ),
                    );
                    self.events.emit(Event::ArtifactDownloaded {
                        time: now_ms(),
                        job: self.job_id(),
                        step: number,
                        name,
                        path: target.display().to_string(),
                    });
                }
                Err(error) => return self.fail(number, &error.to_string()),
            }
        }
        match self.outputs(call, &[("download-path", base.display().to_string())]) {
            Ok(()) => Attempt::succeeded(),
            Err(attempt) => attempt,
        }
    }

    fn cache_root(&self) -> PathBuf {
        self.request.run.cache_dir.join("github-actions")
    }

    fn cache_entry(&self, key: &str) -> PathBuf {
        use sha2::{Digest, Sha256};
        let digest: String = Sha256::digest(key.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect();
        self.cache_root().join(digest)
    }

    fn cache(&mut self, call: &Call<'_>, restore: bool, save: bool) -> Attempt {
        let number = call.number;
        let Some(key) = call.input("key").map(str::to_owned) else {
            return self.fail(number, "Input required and not supplied: key");
        };
        let Some(path_text) = call.input("path") else {
            return self.fail(number, "Input required and not supplied: path");
        };
        if key.len() > 512 || key.contains(',') {
            return self.fail(
                number,
                &format!("Key Validation Error: {key} cannot contain commas and must be at most 512 characters."),
            );
        }
        let paths: Vec<String> =
            path_text.lines().map(str::trim).filter(|line| !line.is_empty()).map(str::to_owned).collect();
        if !restore {
            return self.save_cache(number, &key, &paths, call.env("HOME"));
        }
        let restore_keys: Vec<String> = call
            .input("restore-keys")
            .map(|text| text.lines().map(str::trim).filter(|line| !line.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default();
        let matched = self.find_cache(&key, &restore_keys);
        let lookup_only = call.input("lookup-only").is_some_and(|value| value.eq_ignore_ascii_case("true"));
        let mut outputs: Vec<(&str, String)> = vec![("cache-primary-key", key.clone())];
        match &matched {
            Some((matched_key, entry)) => {
                if !lookup_only && let Err(attempt) = self.restore_entry(number, entry, &paths, call.env("HOME")) {
                    return attempt;
                }
                self.log(Some(number), LogKind::Output, &format!("Cache restored from key: {matched_key}"));
                outputs.push(("cache-hit", (matched_key == &key).to_string()));
                outputs.push(("cache-matched-key", matched_key.clone()));
            }
            None => {
                if call.input("fail-on-cache-miss").is_some_and(|value| value.eq_ignore_ascii_case("true")) {
                    return self.fail(
                        number,
                        &format!(
                            "Failed to restore cache entry. Exiting as fail-on-cache-miss is set. Input key: {key}"
                        ),
                    );
                }
                self.log(
                    Some(number),
                    LogKind::Output,
                    &format!(
                        "Cache not found for input keys: {}",
                        std::iter::once(key.clone()).chain(restore_keys).collect::<Vec<_>>().join(", ")
                    ),
                );
            }
        }
        if let Err(attempt) = self.outputs(call, &outputs) {
            return attempt;
        }
        let exact = matched.as_ref().is_some_and(|(matched_key, _)| matched_key == &key);
        if save {
            if exact {
                self.log(
                    Some(number),
                    LogKind::Debug,
                    "the cache was restored from its primary key, so it is not saved again",
                );
            }
            let display = format!("Post {}", self.display_of(call));
            self.post_steps.push(PostStep {
                display_name: display,
                only_on_success: true,
                condition: None,
                kind: Post::CacheSave {
                    key: if exact { String::new() } else { key },
                    paths,
                    home: call.env("HOME").map(str::to_owned),
                },
            });
        }
        Attempt::succeeded()
    }

    /// Copies a cache entry's files back to their paths.
    fn restore_entry(&self, number: u32, entry: &Path, paths: &[String], home: Option<&str>) -> Result<(), Attempt> {
        for (index, path) in paths.iter().enumerate() {
            let stored = entry.join("files").join(index.to_string());
            if !stored.exists() {
                continue;
            }
            let target = resolve(&self.workspace, home, path);
            if let Err(error) = copy_tree(&stored, &target) {
                return Err(self.fail(number, &format!("could not restore {}: {error}", target.display())));
            }
        }
        Ok(())
    }

    /// The package-manager cache of a `setup-*` action (`cache: npm`, `cache: pip`, Go's by
    /// default): the manager's directory, keyed by the hash of its lock files
    /// (`cache-dependency-path` or the manager's own), restored now and saved at the job's end;
    /// `cache-hit` says whether the key matched.
    fn setup_cache(&mut self, call: &Call<'_>, tool: &str) -> Result<(), Attempt> {
        let number = call.number;
        let manager = match tool {
            "go" => {
                if call.input("cache").is_some_and(|value| value.eq_ignore_ascii_case("false")) {
                    return Ok(());
                }
                "go".to_owned()
            }
            _ => match call.input("cache") {
                Some(manager) => manager.trim().to_ascii_lowercase(),
                None => return Ok(()),
            },
        };
        let (paths, patterns): (&[&str], &[&str]) = match (tool, manager.as_str()) {
            ("node", "npm") => (&["~/.npm"], &["**/package-lock.json", "**/npm-shrinkwrap.json"]),
            ("node", "yarn") => (&["~/.cache/yarn"], &["**/yarn.lock"]),
            ("node", "pnpm") => (&["~/.local/share/pnpm/store"], &["**/pnpm-lock.yaml"]),
            ("python", "pip") => (&["~/.cache/pip"], &["**/requirements.txt"]),
            ("python", "pipenv") => (&["~/.local/share/virtualenvs"], &["**/Pipfile.lock"]),
            ("python", "poetry") => (&["~/.cache/pypoetry"], &["**/poetry.lock"]),
            ("go", _) => (&["~/go/pkg/mod", "~/.cache/go-build"], &["**/go.sum"]),
            ("java", "maven") => (&["~/.m2/repository"], &["**/pom.xml"]),
            ("java", "gradle") => {
                (&["~/.gradle/caches", "~/.gradle/wrapper"], &["**/*.gradle*", "**/gradle-wrapper.properties"])
            }
            ("java", "sbt") => {
                (&["~/.ivy2/cache", "~/.sbt", "~/.cache/coursier"], &["**/*.sbt", "**/project/build.properties"])
            }
            _ => {
                return Err(
                    self.fail(number, &format!("Caching for '{manager}' is not supported by the setup-{tool} action"))
                );
            }
        };
        let patterns: Vec<String> = match call.input("cache-dependency-path") {
            Some(text) => text.lines().map(str::trim).filter(|line| !line.is_empty()).map(str::to_owned).collect(),
            None => patterns.iter().map(|&pattern| pattern.to_owned()).collect(),
        };
        let hash = super::hash::hash_files(&self.workspace, &patterns).map_err(|error| self.fail(number, &error))?;
        if hash.is_empty() {
            let message = format!(
                "Dependencies lock file is not found in {}. Supported file patterns: {}",
                self.workspace.display(),
                patterns.join(",")
            );
            if tool == "go" {
                self.issue(Some(number), Severity::Warning, &format!("Restore cache failed: {message}"));
                return Ok(());
            }
            return Err(self.fail(number, &message));
        }
        let key = format!("setup-{tool}-Linux-{manager}-{hash}");
        let paths: Vec<String> = paths.iter().map(|&path| path.to_owned()).collect();
        let home = call.env("HOME").map(str::to_owned);
        let matched = self.find_cache(&key, &[]);
        let hit = matched.is_some();
        if let Some((_, entry)) = &matched {
            self.restore_entry(number, entry, &paths, home.as_deref())?;
            self.log(Some(number), LogKind::Output, &format!("Cache restored from key: {key}"));
        } else {
            self.log(Some(number), LogKind::Output, &format!("{manager} cache is not found"));
        }
        self.outputs(call, &[("cache-hit", hit.to_string())])?;
        self.post_steps.push(PostStep {
            display_name: format!("Post {}", self.display_of(call)),
            only_on_success: true,
            condition: None,
            kind: Post::CacheSave { key: if hit { String::new() } else { key }, paths, home },
        });
        Ok(())
    }

    fn display_of(&self, call: &Call<'_>) -> String {
        call.step.display_name.clone().unwrap_or_else(|| format!("Run {}", call.action))
    }

    /// The entry for `key`, or the newest one whose key starts with a restore key (in order).
    fn find_cache(&self, key: &str, restore_keys: &[String]) -> Option<(String, PathBuf)> {
        let exact = self.cache_entry(key);
        if exact.join("key").is_file() {
            return Some((key.to_owned(), exact));
        }
        let entries: Vec<(String, PathBuf, std::time::SystemTime)> = std::fs::read_dir(self.cache_root())
            .ok()?
            .filter_map(Result::ok)
            .filter_map(|entry| {
                let path = entry.path();
                let key = std::fs::read_to_string(path.join("key")).ok()?;
                let time = std::fs::metadata(path.join("key")).and_then(|meta| meta.modified()).ok()?;
                Some((key, path, time))
            })
            .collect();
        for prefix in restore_keys {
            let newest =
                entries.iter().filter(|(key, _, _)| key.starts_with(prefix.as_str())).max_by_key(|(_, _, time)| *time);
            if let Some((key, path, _)) = newest {
                return Some((key.clone(), path.clone()));
            }
        }
        None
    }

    fn save_cache(&self, number: u32, key: &str, paths: &[String], home: Option<&str>) -> Attempt {
        if key.is_empty() {
            self.log(Some(number), LogKind::Output, "Cache hit occurred on the primary key, not saving cache.");
            return Attempt::succeeded();
        }
        let entry = self.cache_entry(key);
        if entry.join("key").is_file() {
            self.issue(
                Some(number),
                Severity::Warning,
                &format!(
                    "Failed to save: Unable to reserve cache with key {key}, another job may be creating this cache."
                ),
            );
            return Attempt::succeeded();
        }
        let sources: Vec<PathBuf> = paths.iter().map(|path| resolve(&self.workspace, home, path)).collect();
        if !sources.iter().any(|source| source.exists()) {
            self.issue(
                Some(number),
                Severity::Warning,
                "Path Validation Error: Path(s) specified in the action for caching do(es) not exist, hence no cache is being saved.",
            );
            return Attempt::succeeded();
        }
        let staging = self.cache_root().join(format!(".saving-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&staging);
        let mut count = 0;
        for (index, source) in sources.iter().enumerate() {
            if !source.exists() {
                continue;
            }
            match copy_tree(source, &staging.join("files").join(index.to_string())) {
                Ok(copied) => count += copied,
                Err(error) => {
                    let _ = std::fs::remove_dir_all(&staging);
                    self.issue(Some(number), Severity::Warning, &format!("Failed to save: {error}"));
                    return Attempt::succeeded();
                }
            }
        }
        let saved = std::fs::write(staging.join("key"), key).and_then(|()| std::fs::rename(&staging, &entry));
        match saved {
            Ok(()) => self.log(Some(number), LogKind::Output, &format!("Cache saved with key: {key} ({count} files)")),
            Err(error) => {
                let _ = std::fs::remove_dir_all(&staging);
                self.issue(Some(number), Severity::Warning, &format!("Failed to save: {error}"));
            }
        }
        Attempt::succeeded()
    }

    /// Runs what an action left for the end of the job.
    pub(super) fn run_post(&mut self, number: u32, post: &Post) -> Attempt {
        match post {
            Post::CacheSave { key, paths, home } => self.save_cache(number, key, paths, home.as_deref()),
            Post::Node(post) => self.node_post(number, post),
        }
    }

    /// Checks an installed tool against the version asked for and puts it on `PATH`.
    #[expect(clippy::too_many_arguments, reason = "one tool's facts")]
    fn setup_tool(
        &mut self,
        call: &Call<'_>,
        action: &str,
        tool: &str,
        programs: &[&str],
        version_args: &[&str],
        requested: Option<&str>,
        input: &str,
    ) -> Result<(PathBuf, String), Attempt> {
        let number = call.number;
        let Some(program) = self.find_tool(call, programs) else {
            return Err(self.fail(
                number,
                &format!(
                    "{action}: {tool} is not installed on this machine ({} not found on PATH); Slipway uses the installed tools and does not download them: install {tool}",
                    programs.join(" or ")
                ),
            ));
        };
        let output = tool_output(&program, version_args).unwrap_or_default();
        let Some(installed) = version_in(&output) else {
            return Err(self.fail(
                number,
                &format!("{action}: could not read the version of {} from `{}`", program.display(), output.trim()),
            ));
        };
        if let Some(requested) = requested {
            if !version_allows(requested, &installed) {
                return Err(self.fail(
                    number,
                    &format!(
                        "{action} asked for {tool} {requested}, and the {tool} on this machine ({}) is {installed}; Slipway uses the installed tools and does not download others: install {tool} {requested} or change `{input}`",
                        program.display()
                    ),
                ));
            }
            self.log(
                Some(number),
                LogKind::Output,
                &format!("Found {tool} {installed} at {} (asked for {requested})", program.display()),
            );
        } else {
            self.log(Some(number), LogKind::Output, &format!("Found {tool} {installed} at {}", program.display()));
        }
        if let Some(dir) = program.parent()
            && let Err(error) = append_line(&call.files.path, &dir.display().to_string())
        {
            return Err(self.fail(number, &format!("could not add {} to PATH: {error}", dir.display())));
        }
        Ok((program, installed))
    }

    /// A version written in a file (`node-version-file`, `python-version-file`, `go-version-file`).
    fn version_file(&self, call: &Call<'_>, input: &str) -> Result<Option<String>, Attempt> {
        let Some(file) = call.input(input) else { return Ok(None) };
        let path = self.workspace.join(file);
        let text = std::fs::read_to_string(&path).map_err(|error| {
            self.fail(call.number, &format!("The specified {input} '{}' could not be read: {error}", path.display()))
        })?;
        let version = if file.ends_with("go.mod") {
            text.lines().find_map(|line| line.trim().strip_prefix("go ")).map(|version| version.trim().to_owned())
        } else if file.ends_with("package.json") {
            serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|json| json.pointer("/engines/node").and_then(|value| value.as_str()).map(str::to_owned))
        } else {
            text.lines()
                .map(str::trim)
                .find(|line| !line.is_empty() && !line.starts_with('#'))
                .map(|line| line.trim_start_matches("nodejs ").trim_start_matches("python ").to_owned())
        };
        Ok(version)
    }

    fn setup_node(&mut self, call: &Call<'_>) -> Attempt {
        let requested = match call.input("node-version").map(str::to_owned) {
            Some(version) => Some(version),
            None => match self.version_file(call, "node-version-file") {
                Ok(version) => version,
                Err(attempt) => return attempt,
            },
        };
        match self.setup_tool(
            call,
            "actions/setup-node",
            "Node.js",
            &["node"],
            &["--version"],
            requested.as_deref(),
            "node-version",
        ) {
            Ok((_, installed)) => match self.outputs(call, &[("node-version", format!("v{installed}"))]) {
                Ok(()) => Attempt::succeeded(),
                Err(attempt) => attempt,
            },
            Err(attempt) => attempt,
        }
    }

    fn setup_python(&mut self, call: &Call<'_>) -> Attempt {
        let requested = match call.input("python-version").map(str::to_owned) {
            Some(version) => Some(version),
            None => match self.version_file(call, "python-version-file") {
                Ok(version) => version,
                Err(attempt) => return attempt,
            },
        };
        let (program, installed) = match self.setup_tool(
            call,
            "actions/setup-python",
            "Python",
            &["python3", "python"],
            &["--version"],
            requested.as_deref(),
            "python-version",
        ) {
            Ok(found) => found,
            Err(attempt) => return attempt,
        };
        // `python` must name it, as on GitHub's images (`shell: python`).
        let mut python = program.clone();
        if program.file_name().is_some_and(|name| name != "python") {
            let shims = self.dirs.temp.join("_python");
            let link = shims.join("python");
            let made = std::fs::create_dir_all(&shims).and_then(|()| {
                let _ = std::fs::remove_file(&link);
                std::os::unix::fs::symlink(&program, &link)
            });
            match made.and_then(|()| append_line(&call.files.path, &shims.display().to_string())) {
                Ok(()) => python = link,
                Err(error) => {
                    return self
                        .fail(call.number, &format!("could not make `python` name {}: {error}", program.display()));
                }
            }
        }
        let location = program.parent().and_then(Path::parent).map(|dir| dir.display().to_string()).unwrap_or_default();
        if let Err(error) =
            append_pairs(&call.files.env, &[("pythonLocation", location.clone()), ("Python_ROOT_DIR", location)])
        {
            return self.fail(call.number, &format!("could not set pythonLocation: {error}"));
        }
        match self.outputs(call, &[("python-version", installed), ("python-path", python.display().to_string())]) {
            Ok(()) => Attempt::succeeded(),
            Err(attempt) => attempt,
        }
    }

    fn setup_go(&mut self, call: &Call<'_>) -> Attempt {
        let requested = match call.input("go-version").map(str::to_owned) {
            Some(version) => Some(version),
            None => match self.version_file(call, "go-version-file") {
                Ok(version) => version,
                Err(attempt) => return attempt,
            },
        };
        match self.setup_tool(call, "actions/setup-go", "Go", &["go"], &["version"], requested.as_deref(), "go-version")
        {
            Ok((_, installed)) => match self.outputs(call, &[("go-version", installed)]) {
                Ok(()) => Attempt::succeeded(),
                Err(attempt) => attempt,
            },
            Err(attempt) => attempt,
        }
    }

    fn setup_java(&mut self, call: &Call<'_>) -> Attempt {
        let requested = call.input("java-version").map(str::to_owned);
        let distribution = call.input("distribution").unwrap_or("installed").to_owned();
        let (program, installed) = match self.setup_tool(
            call,
            "actions/setup-java",
            "Java",
            &["java"],
            &["-version"],
            requested.as_deref(),
            "java-version",
        ) {
            Ok(found) => found,
            Err(attempt) => return attempt,
        };
        let home = std::fs::canonicalize(&program)
            .ok()
            .and_then(|real| real.parent().and_then(Path::parent).map(Path::to_path_buf))
            .map(|dir| dir.display().to_string())
            .unwrap_or_default();
        if let Err(error) = append_pairs(&call.files.env, &[("JAVA_HOME", home.clone())]) {
            return self.fail(call.number, &format!("could not set JAVA_HOME: {error}"));
        }
        match self.outputs(call, &[("distribution", distribution), ("version", installed), ("path", home)]) {
            Ok(()) => Attempt::succeeded(),
            Err(attempt) => attempt,
        }
    }

    fn setup_dotnet(&mut self, call: &Call<'_>) -> Attempt {
        let requested =
            call.input("dotnet-version").map(|text| text.lines().next().unwrap_or_default().trim().to_owned());
        match self.setup_tool(
            call,
            "actions/setup-dotnet",
            ".NET",
            &["dotnet"],
            &["--version"],
            requested.as_deref(),
            "dotnet-version",
        ) {
            Ok((_, installed)) => match self.outputs(call, &[("dotnet-version", installed)]) {
                Ok(()) => Attempt::succeeded(),
                Err(attempt) => attempt,
            },
            Err(attempt) => attempt,
        }
    }

    fn setup_rust(&mut self, call: &Call<'_>, toolchain: &str) -> Attempt {
        let number = call.number;
        let toolchain = toolchain.trim();
        if toolchain.is_empty() {
            return self.fail(
                number,
                "dtolnay/rust-toolchain: 'toolchain' is a required input (or name it in the ref: dtolnay/rust-toolchain@stable)",
            );
        }
        for ignored in ["targets", "target", "components"] {
            if let Some(value) = call.input(ignored) {
                self.log(
                    Some(number),
                    LogKind::Output,
                    &format!("Note: `{ignored}: {value}` is not installed by Slipway; the installed toolchain is used as it is"),
                );
            }
        }
        let Some(rustc) = self.find_tool(call, &["rustc"]) else {
            return self.fail(
                number,
                "the Rust toolchain is not installed on this machine (rustc not found on PATH); Slipway uses the installed tools and does not download them: install Rust",
            );
        };
        let output = tool_output(&rustc, &["--version"]).unwrap_or_default();
        let Some(installed) = version_in(&output) else {
            return self
                .fail(number, &format!("could not read the version of {} from `{}`", rustc.display(), output.trim()));
        };
        let channel = if output.contains("nightly") {
            "nightly"
        } else if output.contains("beta") {
            "beta"
        } else {
            "stable"
        };
        let requested = toolchain.split('-').next().unwrap_or(toolchain);
        let fits = match requested {
            "stable" | "nightly" | "beta" => requested == channel,
            number => version_allows(number, &installed),
        };
        if !fits {
            return self.fail(
                number,
                &format!(
                    "the step asked for the Rust toolchain {toolchain}, and the rustc on this machine ({}) is {} ; Slipway uses the installed tools and does not download others: install {toolchain} or change `toolchain`",
                    rustc.display(),
                    output.trim()
                ),
            );
        }
        self.log(Some(number), LogKind::Output, &format!("Found {} at {}", output.trim(), rustc.display()));
        if let Some(dir) = rustc.parent()
            && let Err(error) = append_line(&call.files.path, &dir.display().to_string())
        {
            return self.fail(number, &format!("could not add {} to PATH: {error}", dir.display()));
        }
        let date: String = output
            .split(['(', ')', ' '])
            .find(|part| part.len() == 10 && part.chars().filter(|c| *c == '-').count() == 2)
            .unwrap_or_default()
            .replace('-', "");
        let env = [("CARGO_INCREMENTAL", "0".to_owned()), ("CARGO_TERM_COLOR", "always".to_owned())];
        if let Err(error) = append_pairs(&call.files.env, &env) {
            return self.fail(number, &format!("could not set the toolchain's environment: {error}"));
        }
        match self.outputs(call, &[("cachekey", date), ("name", toolchain.to_owned())]) {
            Ok(()) => Attempt::succeeded(),
            Err(attempt) => attempt,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_match_as_the_setup_actions_read_them() {
        assert!(version_allows("20", "20.11.0"));
        assert!(version_allows("20.x", "v20.11.0"));
        assert!(version_allows("20.11", "20.11.0"));
        assert!(!version_allows("18", "20.11.0"));
        assert!(!version_allows("3.12", "3.11.4"));
        assert!(version_allows("3.x", "3.11.4"));
        assert!(version_allows(">=18", "20.1.0"));
        assert!(!version_allows(">=21", "20.1.0"));
        assert!(version_allows("^1.21", "1.22.3"));
        assert!(!version_allows("~1.21", "1.22.3"));
        assert!(version_allows("lts/*", "20.1.0"));
        assert!(version_allows("stable", "1.75.0"));
        assert!(!version_allows("pypy3.10", "3.10.1"));
    }

    #[test]
    fn versions_are_read_from_tool_output() {
        assert_eq!(version_in("go version go1.21.5 linux/amd64").as_deref(), Some("1.21.5"));
        assert_eq!(version_in("Python 3.11.4").as_deref(), Some("3.11.4"));
        assert_eq!(version_in("openjdk version \"17.0.9\" 2023-10-17").as_deref(), Some("17.0.9"));
        assert_eq!(version_in("rustc 1.75.0 (82e1608df 2023-12-21)").as_deref(), Some("1.75.0"));
        assert_eq!(version_in("no digits"), None);
    }

    #[test]
    fn action_references() {
        let parsed = reference("Actions/Upload-Artifact@v4.3.1");
        assert_eq!(parsed.name, "actions/upload-artifact");
        assert_eq!(major(&parsed.reference), Some(4));
        assert_eq!(major("main"), None);
        assert!(is_checkout("actions/checkout@v4"));
        assert!(!is_checkout("actions/checkout-extra@v1"));
    }

    #[test]
    fn heredoc_outputs_never_contain_their_delimiter() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("out");
        append_pairs(&file, &[("a", "ghadelimiter_slipway\nx".to_owned()), ("b", "1".to_owned())])?;
        let pairs = super::super::files::parse_pairs(&std::fs::read_to_string(&file)?)?;
        assert_eq!(pairs, [("a".to_owned(), "ghadelimiter_slipway\nx".to_owned()), ("b".to_owned(), "1".to_owned())]);
        Ok(())
    }
}
