//! Test helpers for the file tasks: trees of real files, running a task by name with inputs as a
//! step gives them, and a host on which no outside program can be started.

use std::path::Path;

use crate::fake::FakeHost;
use crate::host::TaskHost;
use crate::{Inputs, InputsError, Outcome};

/// Writes files (`path`, `content`) below `root`; a path ending in `/` makes an empty folder.
pub(super) fn write_tree(root: &Path, files: &[(&str, &str)]) {
    for (path, content) in files {
        let full = root.join(path);
        if path.ends_with('/') {
            std::fs::create_dir_all(&full).expect("folder");
            continue;
        }
        std::fs::create_dir_all(full.parent().expect("parent")).expect("folder");
        std::fs::write(&full, content).expect("file");
    }
}

/// Everything below `root`, one line each, sorted: `path: content` for files, `path/` for
/// empty folders, `path -> target` for symbolic links.
pub(super) fn read_tree(root: &Path) -> String {
    let mut lines = Vec::new();
    for path in crate::glob::find(root) {
        let Ok(relative) = path.strip_prefix(root) else { continue };
        if relative.as_os_str().is_empty() {
            continue;
        }
        let name = relative.display().to_string();
        let metadata = std::fs::symlink_metadata(&path).expect("metadata");
        if metadata.file_type().is_symlink() {
            let target = std::fs::read_link(&path).expect("link");
            lines.push(format!("{name} -> {}", target.display()));
        } else if metadata.is_dir() {
            if std::fs::read_dir(&path).expect("folder").next().is_none() {
                lines.push(format!("{name}/"));
            }
        } else {
            lines.push(format!("{name}: {}", String::from_utf8_lossy(&std::fs::read(&path).expect("file"))));
        }
    }
    lines.sort();
    lines.join("\n")
}

fn given(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()
}

fn task(name: &str) -> &'static super::Builtin {
    super::TASKS.iter().find(|task| task.name == name).expect("a file task")
}

/// Resolves a step's inputs against a file task's.
pub(super) fn resolve(name: &str, pairs: &[(&str, &str)]) -> Result<Inputs, InputsError> {
    let task = task(name);
    Inputs::resolve(&(task.inputs)(task.majors[0]), &given(pairs))
}

/// Runs a file task with a step's inputs, which must be valid.
pub(super) fn run_task(name: &str, pairs: &[(&str, &str)], host: &mut dyn TaskHost) -> Outcome {
    let task = task(name);
    let inputs = resolve(name, pairs).expect("valid inputs");
    (task.run)(task.majors[0], &inputs, host)
}

/// The failure message of an outcome, with `root` written as `<root>`.
pub(super) fn failure(outcome: Outcome, root: &Path) -> String {
    match outcome {
        Outcome::Failed(message) => message.replace(&root.display().to_string(), "<root>"),
        other => panic!("expected a failure, got {other:?}"),
    }
}

/// The log, with `root` written as `<root>`.
pub(super) fn log(host: &FakeHost, root: &Path) -> String {
    host.log.join("\n").replace(&root.display().to_string(), "<root>")
}
