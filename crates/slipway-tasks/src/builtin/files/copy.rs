//! `CopyFiles@2`: copies the files (not folders) that match `Contents` below `SourceFolder`
//! into `TargetFolder`, keeping their relative paths unless `flattenFolders` is on.
//!
//! As in Microsoft's task: patterns are matched as `findMatch` does (dot files included, `!`
//! lines exclude, braces off); nothing happens to the target, not even cleaning it, when no file
//! matches; an existing target file is kept (and logged) unless `OverWrite` is on; a target path
//! that is a directory fails the task. Not implemented: following symbolic links to directories
//! while searching (the real task lists their contents; here they are left out), and the
//! Windows read-only attribute handling.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::support::{Failure, absolute, format_time, not_found, outcome, parse_count, remove_any};
use crate::{InputSpec, Inputs, Outcome, TaskHost};

/// The inputs of `CopyFiles@2`, as in its `task.json`.
pub(super) fn inputs(_major: u32) -> Vec<InputSpec> {
    vec![
        InputSpec::path("SourceFolder"),
        InputSpec::lines("Contents").default("**").required(),
        InputSpec::string("TargetFolder").required(),
        InputSpec::boolean("CleanTargetFolder", false),
        InputSpec::boolean("OverWrite", false),
        InputSpec::boolean("flattenFolders", false),
        InputSpec::boolean("preserveTimestamp", false),
        InputSpec::string("retryCount").default("0"),
        InputSpec::string("delayBetweenRetries").default("1000"),
        InputSpec::boolean("ignoreMakeDirErrors", false),
    ]
}

/// Runs `CopyFiles@2`.
pub(super) fn run(_major: u32, inputs: &Inputs, host: &mut dyn TaskHost) -> Outcome {
    outcome(copy_files(inputs, host))
}

/// The options of one copy.
struct Options {
    target: PathBuf,
    clean: bool,
    overwrite: bool,
    flatten: bool,
    preserve_timestamp: bool,
    retry_count: u64,
    delay_between_retries: Duration,
    ignore_make_dir_errors: bool,
}

fn copy_files(inputs: &Inputs, host: &mut dyn TaskHost) -> Result<(), Failure> {
    let contents = inputs.lines("Contents");
    let source = absolute(inputs.text("SourceFolder"), host);
    if !source.exists() {
        return Err(not_found("SourceFolder", &source));
    }
    let options = Options {
        target: absolute(inputs.text("TargetFolder"), host),
        clean: inputs.boolean("CleanTargetFolder"),
        overwrite: inputs.boolean("OverWrite"),
        flatten: inputs.boolean("flattenFolders"),
        preserve_timestamp: inputs.boolean("preserveTimestamp"),
        retry_count: parse_count(inputs.text("retryCount")),
        delay_between_retries: Duration::from_millis(parse_count(inputs.text("delayBetweenRetries"))),
        ignore_make_dir_errors: inputs.boolean("ignoreMakeDirErrors"),
    };

    // Only what lies below the source folder counts, as the task matches the list of the source
    // folder's contents (an absolute pattern elsewhere matches nothing).
    let matched_files: Vec<PathBuf> = crate::glob::find_match(&source, &contents)
        .into_iter()
        .filter(|path| path != &source && path.starts_with(&source))
        .filter(|path| !std::fs::metadata(path).is_ok_and(|metadata| metadata.is_dir()))
        .collect();
    host.log(&format!("found {} files", matched_files.len()));
    if matched_files.is_empty() {
        return Ok(());
    }
    if options.clean {
        clean_target_folder(&options.target, host)?;
    }
    make_directory(&options.target, options.ignore_make_dir_errors, host)?;
    let mut created_folders: BTreeSet<PathBuf> = BTreeSet::new();
    for file in &matched_files {
        if host.is_canceled() {
            return Err("The operation was canceled.".to_owned());
        }
        copy_one(file, &source, &options, &mut created_folders, host)?;
    }
    Ok(())
}

fn clean_target_folder(target: &Path, host: &mut dyn TaskHost) -> Result<(), Failure> {
    host.log(&format!("Cleaning target folder: {}", target.display()));
    let failed = |path: &Path, error: std::io::Error| format!("Failed rmRF: {}: {error}", path.display());
    match std::fs::metadata(target) {
        Ok(metadata) if metadata.is_dir() => {
            let entries = std::fs::read_dir(target).map_err(|error| failed(target, error))?;
            for entry in entries {
                let path = entry.map_err(|error| failed(target, error))?.path();
                remove_any(&path).map_err(|error| failed(&path, error))?;
            }
            Ok(())
        }
        Ok(_) => remove_any(target).map_err(|error| failed(target, error)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(failed(target, error)),
    }
}

/// `mkdir -p`, with the task's `ignoreMakeDirErrors` behaviour.
fn make_directory(folder: &Path, ignore_errors: bool, host: &mut dyn TaskHost) -> Result<(), Failure> {
    match std::fs::create_dir_all(folder) {
        Ok(()) => Ok(()),
        Err(error) if ignore_errors => {
            host.log(&format!(
                "Unable to create target folder ({}): {error}. Ignoring this as error since 'ignoreErrors' is true.",
                folder.display()
            ));
            Ok(())
        }
        Err(error) => Err(format!("Unable to create directory '{}'. {error}", folder.display())),
    }
}

fn copy_one(
    file: &Path,
    source: &Path,
    options: &Options,
    created_folders: &mut BTreeSet<PathBuf>,
    host: &mut dyn TaskHost,
) -> Result<(), Failure> {
    let relative = if options.flatten {
        file.file_name().map(PathBuf::from).unwrap_or_default()
    } else {
        file.strip_prefix(source).map(Path::to_path_buf).unwrap_or_default()
    };
    let target_path = options.target.join(&relative);
    if let Some(target_folder) = target_path.parent()
        && created_folders.insert(target_folder.to_path_buf())
    {
        make_directory(target_folder, options.ignore_make_dir_errors, host)?;
    }
    // With a clean target there is nothing to find there (the task skips this check).
    let existing = if options.clean {
        None
    } else {
        match std::fs::metadata(&target_path) {
            Ok(metadata) => Some(metadata),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
            Err(error) => return Err(format!("Failed to read {}: {error}", target_path.display())),
        }
    };
    if existing.as_ref().is_some_and(std::fs::Metadata::is_dir) {
        return Err(format!(
            "Unable to copy file {} to {}. The target path already exists as a directory.",
            file.display(),
            target_path.display()
        ));
    }
    if existing.is_some() && !options.overwrite {
        host.log(&format!("File {} already exist at {}", file.display(), target_path.display()));
        return Ok(());
    }
    if existing.is_some() && same_file(file, &target_path) {
        host.log(&format!("File {} is the target itself; it is left as it is.", file.display()));
        return Ok(());
    }
    host.log(&format!("Copying {} to {}", file.display(), target_path.display()));
    copy_with_retries(file, &target_path, options, host)?;
    if options.preserve_timestamp {
        preserve_timestamp(file, &target_path, host);
    }
    Ok(())
}

/// Whether two paths name the same file (copying a file onto itself would empty it).
fn same_file(one: &Path, other: &Path) -> bool {
    match (std::fs::canonicalize(one), std::fs::canonicalize(other)) {
        (Ok(one), Ok(other)) => one == other,
        _ => false,
    }
}

fn copy_with_retries(file: &Path, target: &Path, options: &Options, host: &mut dyn TaskHost) -> Result<(), Failure> {
    let mut attempts_left = options.retry_count;
    loop {
        match std::fs::copy(file, target) {
            Ok(_) => return Ok(()),
            Err(error) if attempts_left > 0 => {
                host.log(&format!("Error while copying the file ({error}). Attempts left: {attempts_left}"));
                attempts_left -= 1;
                std::thread::sleep(options.delay_between_retries);
            }
            Err(error) => {
                return Err(format!("Failed cp: {} to {}: {error}", file.display(), target.display()));
            }
        }
    }
}

fn preserve_timestamp(file: &Path, target: &Path, host: &mut dyn TaskHost) {
    let result = std::fs::metadata(file).and_then(|metadata| {
        let accessed = metadata.accessed()?;
        let modified = metadata.modified()?;
        let times = std::fs::FileTimes::new().set_accessed(accessed).set_modified(modified);
        std::fs::OpenOptions::new().write(true).open(target)?.set_times(times)?;
        Ok((accessed, modified))
    });
    match result {
        Ok((accessed, modified)) => host.log(&format!(
            "Timestamp preserved successfully - access time: {}, modified time: {}",
            format_time(accessed),
            format_time(modified)
        )),
        Err(error) => host.log(&format!("Problem preserving the timestamp: {error}")),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{failure, log, read_tree, resolve, run_task, write_tree};
    use crate::Outcome;
    use crate::fake::FakeHost;

    #[test]
    fn copies_matching_files_with_their_folders_dot_files_included() {
        let root = tempfile::tempdir().expect("temporary directory");
        write_tree(
            root.path(),
            &[
                ("src/a.txt", "a"),
                ("src/b.log", "b"),
                ("src/sub/c.txt", "c"),
                ("src/sub/.hidden.txt", "h"),
                ("src/node_modules/x.txt", "x"),
            ],
        );
        let mut host = FakeHost::new(root.path());
        let outcome = run_task(
            "CopyFiles",
            &[("SourceFolder", "src"), ("Contents", "**/*.txt\n!node_modules/**"), ("TargetFolder", "out")],
            &mut host,
        );
        assert_eq!(outcome, Outcome::Succeeded);
        insta::assert_snapshot!(read_tree(&root.path().join("out")), @r"
        a.txt: a
        sub/.hidden.txt: h
        sub/c.txt: c
        ");
        insta::assert_snapshot!(log(&host, root.path()), @r"
        found 3 files
        Copying <root>/src/a.txt to <root>/out/a.txt
        Copying <root>/src/sub/.hidden.txt to <root>/out/sub/.hidden.txt
        Copying <root>/src/sub/c.txt to <root>/out/sub/c.txt
        ");
    }

    #[test]
    fn defaults_copy_everything_below_the_working_directory() {
        let root = tempfile::tempdir().expect("temporary directory");
        write_tree(root.path(), &[("repo/a", "1"), ("repo/.git/HEAD", "ref"), ("repo/d/e", "2")]);
        let mut host = FakeHost::new(&root.path().join("repo"));
        let outcome = run_task("CopyFiles", &[("TargetFolder", "../staging")], &mut host);
        assert_eq!(outcome, Outcome::Succeeded);
        insta::assert_snapshot!(read_tree(&root.path().join("staging")), @r"
        .git/HEAD: ref
        a: 1
        d/e: 2
        ");
    }

    #[test]
    fn flatten_puts_every_file_in_the_target_and_keeps_the_first_of_a_name() {
        let root = tempfile::tempdir().expect("temporary directory");
        write_tree(
            root.path(),
            &[("src/one/same.txt", "first"), ("src/two/same.txt", "second"), ("src/two/x.txt", "x")],
        );
        let mut host = FakeHost::new(root.path());
        let outcome = run_task(
            "CopyFiles",
            &[("SourceFolder", "src"), ("TargetFolder", "out"), ("flattenFolders", "true")],
            &mut host,
        );
        assert_eq!(outcome, Outcome::Succeeded);
        insta::assert_snapshot!(read_tree(&root.path().join("out")), @r"
        same.txt: first
        x.txt: x
        ");
        assert!(log(&host, root.path()).contains("File <root>/src/two/same.txt already exist at <root>/out/same.txt"));
    }

    #[test]
    fn existing_files_are_kept_unless_overwrite_is_on() {
        let root = tempfile::tempdir().expect("temporary directory");
        write_tree(root.path(), &[("src/a.txt", "new"), ("out/a.txt", "old")]);
        let mut host = FakeHost::new(root.path());
        let given = [("SourceFolder", "src"), ("TargetFolder", "out")];
        assert_eq!(run_task("CopyFiles", &given, &mut host), Outcome::Succeeded);
        insta::assert_snapshot!(read_tree(&root.path().join("out")), @"a.txt: old");
        let given = [("SourceFolder", "src"), ("TargetFolder", "out"), ("OverWrite", "true")];
        assert_eq!(run_task("CopyFiles", &given, &mut host), Outcome::Succeeded);
        insta::assert_snapshot!(read_tree(&root.path().join("out")), @"a.txt: new");
    }

    #[test]
    fn clean_target_folder_empties_it_first_but_only_when_something_matched() {
        let root = tempfile::tempdir().expect("temporary directory");
        write_tree(root.path(), &[("src/a.txt", "a"), ("out/stale.txt", "s"), ("out/old/deep.txt", "d")]);
        let mut host = FakeHost::new(root.path());
        let given =
            [("SourceFolder", "src"), ("Contents", "*.none"), ("TargetFolder", "out"), ("CleanTargetFolder", "true")];
        assert_eq!(run_task("CopyFiles", &given, &mut host), Outcome::Succeeded);
        insta::assert_snapshot!(read_tree(&root.path().join("out")), @r"
        old/deep.txt: d
        stale.txt: s
        ");
        let given = [("SourceFolder", "src"), ("TargetFolder", "out"), ("CleanTargetFolder", "true")];
        assert_eq!(run_task("CopyFiles", &given, &mut host), Outcome::Succeeded);
        insta::assert_snapshot!(read_tree(&root.path().join("out")), @"a.txt: a");
        assert!(log(&host, root.path()).contains("Cleaning target folder: <root>/out"));
    }

    #[test]
    fn patterns_outside_the_source_folder_match_nothing() {
        let root = tempfile::tempdir().expect("temporary directory");
        write_tree(root.path(), &[("src/a.txt", "a"), ("elsewhere/b.txt", "b")]);
        let mut host = FakeHost::new(root.path());
        let outside = format!("{}/elsewhere/*.txt", root.path().display());
        let given = [("SourceFolder", "src"), ("Contents", outside.as_str()), ("TargetFolder", "out")];
        assert_eq!(run_task("CopyFiles", &given, &mut host), Outcome::Succeeded);
        assert_eq!(host.log, vec!["found 0 files"]);
        assert!(!root.path().join("out").exists());
    }

    #[test]
    fn preserve_timestamp_copies_the_modification_time() {
        let root = tempfile::tempdir().expect("temporary directory");
        write_tree(root.path(), &[("src/a.txt", "a")]);
        let old = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
        std::fs::File::options()
            .write(true)
            .open(root.path().join("src/a.txt"))
            .and_then(|file| file.set_modified(old))
            .expect("set time");
        let mut host = FakeHost::new(root.path());
        let given = [("SourceFolder", "src"), ("TargetFolder", "out"), ("preserveTimestamp", "true")];
        assert_eq!(run_task("CopyFiles", &given, &mut host), Outcome::Succeeded);
        let modified = std::fs::metadata(root.path().join("out/a.txt")).and_then(|m| m.modified()).expect("time");
        assert_eq!(modified, old);
        assert!(host.log.iter().any(|line| line.ends_with("modified time: 2001-09-09T01:46:40Z")));
    }

    #[test]
    fn failures_have_the_task_messages() {
        let root = tempfile::tempdir().expect("temporary directory");
        write_tree(root.path(), &[("src/a.txt", "a"), ("out/a.txt/inner", "dir")]);
        let mut host = FakeHost::new(root.path());
        let outcome = run_task("CopyFiles", &[("SourceFolder", "missing"), ("TargetFolder", "out")], &mut host);
        insta::assert_snapshot!(failure(outcome, root.path()), @"Not found SourceFolder: <root>/missing");
        let outcome = run_task("CopyFiles", &[("SourceFolder", "src"), ("TargetFolder", "out")], &mut host);
        insta::assert_snapshot!(failure(outcome, root.path()), @"Unable to copy file <root>/src/a.txt to <root>/out/a.txt. The target path already exists as a directory.");
    }

    #[test]
    fn input_validation_errors() {
        let error = resolve("CopyFiles", &[("SourceFolder", "src")]).expect_err("invalid");
        insta::assert_snapshot!(error.to_string(), @"Input required: TargetFolder");
    }
}
