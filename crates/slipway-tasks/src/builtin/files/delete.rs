//! `DeleteFiles@1`: deletes the files and folders below `SourceFolder` that match `Contents`.
//!
//! As in Microsoft's task: each line is joined to the source folder (so a leading `/` does not
//! leave it, and a `!` line is a name, not an exclusion) and matched with minimatch's options of
//! that task: braces expanded, and names starting with a dot matched only when
//! `RemoveDotFiles` is on or the pattern spells the dot. Matches are deleted longest path first;
//! a failure is reported and the others still deleted, then the task fails with "Couldn't delete
//! one or more files". `RemoveSourceFolder` removes the source folder when only folders are
//! left in it. Differences: the source folder itself is never matched by `Contents` (deleting
//! it is `RemoveSourceFolder`'s job), symbolic links to folders are deleted as links and not
//! searched, and the count of deleted items is logged.

use std::path::{Path, PathBuf};

use super::support::{Failure, absolute, escape_glob, normalize, outcome, remove_any};
use crate::glob::{Pattern, expand_braces};
use crate::{InputSpec, Inputs, Outcome, TaskHost};

/// The inputs of `DeleteFiles@1`, as in its `task.json`.
pub(super) fn inputs(_major: u32) -> Vec<InputSpec> {
    vec![
        InputSpec::path("SourceFolder"),
        InputSpec::lines("Contents").default("myFileShare").required(),
        InputSpec::boolean("RemoveSourceFolder", false),
        InputSpec::boolean("RemoveDotFiles", false),
    ]
}

/// Runs `DeleteFiles@1`.
pub(super) fn run(_major: u32, inputs: &Inputs, host: &mut dyn TaskHost) -> Outcome {
    outcome(delete_files(inputs, host))
}

fn delete_files(inputs: &Inputs, host: &mut dyn TaskHost) -> Result<(), Failure> {
    let source = absolute(inputs.text("SourceFolder"), host);
    let lines = inputs.lines("Contents");
    if lines.is_empty() {
        return Ok(());
    }
    let found = crate::glob::find(&source);
    if found.is_empty() {
        host.log("No files to delete.");
        return Ok(());
    }
    let dot = inputs.boolean("RemoveDotFiles");
    let patterns: Vec<Pattern> = lines
        .iter()
        .flat_map(|line| expand_braces(&rooted_pattern(&source, line)))
        .map(|pattern| Pattern::new(&pattern).with_dot(dot))
        .collect();
    let mut matches: Vec<&PathBuf> = found
        .iter()
        .filter(|path| **path != source)
        .filter(|path| {
            let text = path.display().to_string();
            patterns.iter().any(|pattern| pattern.matches(&text))
        })
        .collect();
    // Longest first, so that files go before the folders holding them.
    matches.sort_by_key(|path| std::cmp::Reverse(path.as_os_str().len()));

    let mut error_happened = false;
    let mut deleted = 0usize;
    for path in &matches {
        if host.is_canceled() {
            return Err("The operation was canceled.".to_owned());
        }
        match remove_any(path) {
            Ok(()) => deleted += 1,
            Err(error) => {
                host.error(&format!("Failed rmRF: {}: {error}", path.display()));
                error_happened = true;
            }
        }
    }
    host.log(&format!("Deleted {deleted} matching files and folders below {}", source.display()));

    if inputs.boolean("RemoveSourceFolder") && !error_happened {
        let only_folders_left = crate::glob::find(&source)
            .iter()
            .all(|path| std::fs::metadata(path).is_ok_and(|metadata| metadata.is_dir()));
        if only_folders_left {
            match remove_any(&source) {
                Ok(()) => host.log(&format!("Removed the source folder {}", source.display())),
                Err(error) => {
                    host.error(&format!("Failed rmRF: {}: {error}", source.display()));
                    error_happened = true;
                }
            }
        }
    }
    if error_happened { Err("Couldn't delete one or more files".to_owned()) } else { Ok(()) }
}

/// A `Contents` line joined to the source folder as Node's `path.join` does (`..` resolved,
/// `.` dropped), with the source folder's own glob characters escaped.
fn rooted_pattern(source: &Path, line: &str) -> String {
    let joined = normalize(&source.join(line.trim().trim_start_matches('/')));
    match joined.strip_prefix(source) {
        Ok(rest) if rest.as_os_str().is_empty() => escape_glob(source),
        Ok(rest) => format!("{}/{}", escape_glob(source).trim_end_matches('/'), rest.display()),
        Err(_) => joined.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{log, read_tree, resolve, run_task, write_tree};
    use crate::Outcome;
    use crate::fake::FakeHost;

    fn tree() -> tempfile::TempDir {
        let root = tempfile::tempdir().expect("temporary directory");
        write_tree(
            root.path(),
            &[
                ("src/A/test.txt", "1"),
                ("src/A/A/test2.txt", "2"),
                ("src/B/test4.txt", "4"),
                ("src/C/keep.txt", "k"),
                ("src/.env", "dot"),
                ("src/D/.sample.txt", "dot"),
                ("src/some/one", "1"),
                ("src/some/two", "2"),
                ("src/some/three", "3"),
                ("src/pkg.vsix", "v"),
                ("outside/test.txt", "o"),
            ],
        );
        root
    }

    #[test]
    fn deletes_folders_and_files_matching_each_line() {
        let root = tree();
        let mut host = FakeHost::new(root.path());
        let outcome = run_task(
            "DeleteFiles",
            &[("SourceFolder", "src"), ("Contents", "A\nB/*.txt\nsome/{one,three}")],
            &mut host,
        );
        assert_eq!(outcome, Outcome::Succeeded);
        insta::assert_snapshot!(read_tree(&root.path().join("src")), @r"
        .env: dot
        B/
        C/keep.txt: k
        D/.sample.txt: dot
        pkg.vsix: v
        some/two: 2
        ");
        insta::assert_snapshot!(log(&host, root.path()), @"Deleted 4 matching files and folders below <root>/src");
    }

    #[test]
    fn dot_files_are_deleted_only_with_remove_dot_files_or_a_spelled_dot() {
        let root = tree();
        let mut host = FakeHost::new(root.path());
        let given = [("SourceFolder", "src"), ("Contents", "/**/*.txt")];
        assert_eq!(run_task("DeleteFiles", &given, &mut host), Outcome::Succeeded);
        insta::assert_snapshot!(read_tree(&root.path().join("src")), @r"
        .env: dot
        A/A/
        B/
        C/
        D/.sample.txt: dot
        pkg.vsix: v
        some/one: 1
        some/three: 3
        some/two: 2
        ");
        let given = [("SourceFolder", "src"), ("Contents", ".*")];
        assert_eq!(run_task("DeleteFiles", &given, &mut host), Outcome::Succeeded);
        assert!(!root.path().join("src/.env").exists());
        let given = [("SourceFolder", "src"), ("Contents", "**/*.txt"), ("RemoveDotFiles", "true")];
        assert_eq!(run_task("DeleteFiles", &given, &mut host), Outcome::Succeeded);
        assert!(!root.path().join("src/D/.sample.txt").exists());
    }

    #[test]
    fn extended_globs_and_the_outside_of_the_source_folder() {
        let root = tree();
        let mut host = FakeHost::new(root.path());
        let given = [("SourceFolder", "src"), ("Contents", "!(*.vsix)\n../outside/*")];
        assert_eq!(run_task("DeleteFiles", &given, &mut host), Outcome::Succeeded);
        insta::assert_snapshot!(read_tree(&root.path().join("src")), @r"
        .env: dot
        pkg.vsix: v
        ");
        assert!(root.path().join("outside/test.txt").exists());
    }

    #[test]
    fn remove_source_folder_removes_it_when_only_folders_are_left() {
        let root = tree();
        let mut host = FakeHost::new(root.path());
        let given = [("SourceFolder", "src"), ("Contents", "**/*"), ("RemoveSourceFolder", "true")];
        assert_eq!(run_task("DeleteFiles", &given, &mut host), Outcome::Succeeded);
        assert!(root.path().join("src/.env").exists(), "a dot file is left, so the folder stays");
        let given =
            [("SourceFolder", "src"), ("Contents", "*"), ("RemoveSourceFolder", "true"), ("RemoveDotFiles", "true")];
        assert_eq!(run_task("DeleteFiles", &given, &mut host), Outcome::Succeeded);
        assert!(!root.path().join("src").exists());
        assert!(root.path().join("outside/test.txt").exists());
    }

    #[test]
    fn a_missing_source_folder_has_nothing_to_delete() {
        let root = tempfile::tempdir().expect("temporary directory");
        let mut host = FakeHost::new(root.path());
        assert_eq!(
            run_task("DeleteFiles", &[("SourceFolder", "nope"), ("Contents", "**")], &mut host),
            Outcome::Succeeded
        );
        assert_eq!(host.log, vec!["No files to delete."]);
    }

    #[test]
    fn the_default_contents_and_working_directory() {
        let root = tempfile::tempdir().expect("temporary directory");
        write_tree(root.path(), &[("myFileShare/x", "x"), ("other", "o")]);
        let mut host = FakeHost::new(root.path());
        assert_eq!(run_task("DeleteFiles", &[], &mut host), Outcome::Succeeded);
        insta::assert_snapshot!(read_tree(root.path()), @"other: o");
        let inputs = resolve("DeleteFiles", &[("Contents", "  ")]).expect("the default fills in");
        assert_eq!(inputs.lines("Contents"), vec!["myFileShare"]);
    }

    #[cfg(unix)]
    #[test]
    fn failures_are_reported_and_the_rest_still_deleted() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().expect("temporary directory");
        write_tree(root.path(), &[("src/locked/a.txt", "a"), ("src/b.txt", "b")]);
        let locked = root.path().join("src/locked");
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o500)).expect("permissions");
        if std::fs::remove_file(locked.join("a.txt")).is_ok() {
            return; // running as root: permissions do not stop deletion
        }
        let mut host = FakeHost::new(root.path());
        let outcome = run_task("DeleteFiles", &[("SourceFolder", "src"), ("Contents", "**/*.txt")], &mut host);
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o700)).expect("permissions");
        assert_eq!(outcome, Outcome::Failed("Couldn't delete one or more files".to_owned()));
        assert!(!root.path().join("src/b.txt").exists());
        assert_eq!(host.errors.len(), 1);
        assert!(host.errors[0].starts_with("Failed rmRF: "), "{:?}", host.errors);
    }
}
