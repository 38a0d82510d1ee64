//! `ArchiveFiles@2`: puts a folder (or one file) into a zip, tar (plain, gz, bz2 or xz), 7z or
//! wim archive.
//!
//! As Microsoft's task on Linux, where it runs `zip -r` or `tar` in the root's folder: with
//! `includeRootFolder` the entries start with the root's name, otherwise with the names inside
//! it (dot files included); zip follows symbolic links and stores what they point to, tar keeps
//! them as links; an existing archive is removed first (`replaceExistingArchive`, the default),
//! or else added to (zip entries of the same name are replaced; a tar is appended to, and only
//! an uncompressed one can be). zip and tar are written natively; 7z and wim are made by the
//! `7z` program, as Azure does, run through the host in the root's folder. The archive file
//! itself is never put into the archive. `quiet` silences zip's per-entry lines, `verbose` adds
//! tar's and 7z's.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::File;
use std::io::{BufWriter, Seek, Write};
use std::path::{Path, PathBuf};

use super::support::{
    Failure, absolute, civil_time, not_found, outcome, remove_any, run_program, value_or_expanded_default,
};
use crate::{CommandLine, InputKind, InputSpec, Inputs, Outcome, TaskHost};

/// `rootFolderOrFile`'s default.
const ROOT_DEFAULT: &str = "$(Build.BinariesDirectory)";
/// `archiveFile`'s default.
const ARCHIVE_DEFAULT: &str = "$(Build.ArtifactStagingDirectory)/$(Build.BuildId).zip";

/// The inputs of `ArchiveFiles@2`, as in its `task.json`.
pub(super) fn inputs(_major: u32) -> Vec<InputSpec> {
    vec![
        InputSpec::path("rootFolderOrFile").default(ROOT_DEFAULT).required(),
        InputSpec::boolean("includeRootFolder", true).required(),
        InputSpec::pick("archiveType", &["zip", "7z", "tar", "wim"]).default("zip").required(),
        // Older pipelines give numeric levels (the default was once `5`); the task maps anything
        // it does not know to `5`, so other values are allowed.
        InputSpec {
            kind: InputKind::PickList {
                options: ["ultra", "maximum", "normal", "fast", "fastest", "none"].map(str::to_owned).to_vec(),
                editable: true,
            },
            ..InputSpec::string("sevenZipCompression")
        }
        .default("normal")
        .visible("archiveType = 7z"),
        InputSpec::pick("tarCompression", &["gz", "bz2", "xz", "none"]).default("gz").visible("archiveType = tar"),
        InputSpec::path("archiveFile").default(ARCHIVE_DEFAULT).required(),
        InputSpec::boolean("replaceExistingArchive", true).required(),
        InputSpec::boolean("verbose", false),
        InputSpec::boolean("quiet", false),
    ]
}

/// Runs `ArchiveFiles@2`.
pub(super) fn run(_major: u32, inputs: &Inputs, host: &mut dyn TaskHost) -> Outcome {
    outcome(archive_files(inputs, host))
}

/// How the entries of a tar archive are compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TarCompression {
    None,
    Gzip,
    Bzip2,
    Xz,
}

/// What one run writes.
struct Plan<'a> {
    archive: &'a Path,
    /// The folder the entry names are relative to.
    base: PathBuf,
    /// The top-level names to put in (below `base`).
    names: Vec<OsString>,
    /// Whether the archive exists and is added to.
    add_to_existing: bool,
    verbose: bool,
    quiet: bool,
}

fn archive_files(inputs: &Inputs, host: &mut dyn TaskHost) -> Result<(), Failure> {
    let root = absolute(&value_or_expanded_default(inputs, "rootFolderOrFile", ROOT_DEFAULT, host), host);
    let include_root = inputs.boolean("includeRootFolder");
    let archive_type = inputs.text("archiveType").to_ascii_lowercase();
    let archive = absolute(&value_or_expanded_default(inputs, "archiveFile", ARCHIVE_DEFAULT, host), host);
    let replace = inputs.boolean("replaceExistingArchive");

    let root_metadata = std::fs::metadata(&root).map_err(|_| not_found("rootFolderOrFile", &root))?;
    let mut add_to_existing = false;
    if let Ok(metadata) = std::fs::symlink_metadata(&archive) {
        if metadata.is_dir() {
            return Err(format!("Specified archive file: {} already exists and is not a file.", archive.display()));
        }
        if replace {
            host.log(&format!("Removing existing archive file before creation: {}", archive.display()));
            remove_any(&archive).map_err(|error| {
                format!(
                    "Specified archive file: {} cannot be created because it cannot be accessed: {error}",
                    archive.display()
                )
            })?;
        } else {
            host.log(&format!("Archive file: {} already exists.  Attempting to add files to it.", archive.display()));
            add_to_existing = true;
        }
    }

    let (base, names) = top_level_names(&root, root_metadata.is_dir(), include_root)?;
    report_plan(&names, host);
    if let Some(folder) = archive.parent() {
        std::fs::create_dir_all(folder)
            .map_err(|error| format!("Unable to create directory '{}'. {error}", folder.display()))?;
    }
    let plan = Plan {
        archive: &archive,
        base,
        names,
        add_to_existing,
        verbose: inputs.boolean("verbose"),
        quiet: inputs.boolean("quiet"),
    };
    match archive_type.as_str() {
        "zip" => write_zip(&plan, host)?,
        "tar" => {
            let compression = match inputs.text("tarCompression").to_ascii_lowercase().as_str() {
                "none" => TarCompression::None,
                "bz2" => TarCompression::Bzip2,
                "xz" => TarCompression::Xz,
                _ => TarCompression::Gzip,
            };
            write_tar(&plan, compression, host)?;
        }
        "7z" | "wim" => run_seven_zip(&plan, &archive_type, inputs.text("sevenZipCompression"), host)?,
        other => return Err(format!("Unsupported archive type: {other}")),
    }
    host.log(&format!("Successfully created archive: {}", archive.display()));
    Ok(())
}

/// The folder the archive's names start from, and the names at the top: the root's own name
/// with `includeRootFolder`, else what the root folder holds (dot files too, sorted), or the
/// root file's name.
fn top_level_names(root: &Path, is_dir: bool, include_root: bool) -> Result<(PathBuf, Vec<OsString>), Failure> {
    let parent_and_name = || Some((root.parent()?.to_path_buf(), root.file_name()?.to_os_string()));
    if (include_root || !is_dir)
        && let Some((parent, name)) = parent_and_name()
    {
        return Ok((parent, vec![name]));
    }
    let entries = std::fs::read_dir(root).map_err(|error| format!("Cannot list {}: {error}", root.display()))?;
    let mut names: Vec<OsString> = entries.filter_map(|entry| entry.ok().map(|entry| entry.file_name())).collect();
    names.sort();
    Ok((root.to_path_buf(), names))
}

/// The task's plan lines: how many, then the first ten names.
fn report_plan(names: &[OsString], host: &mut dyn TaskHost) {
    host.log(&format!("Found {} files", names.len()));
    for (index, name) in names.iter().enumerate() {
        host.log(&format!("Archiving file: {}", name.to_string_lossy()));
        let remaining = names.len() - (index + 1);
        if index >= 9 && remaining > 0 {
            host.log(&format!("... {remaining} more ..."));
            break;
        }
    }
}

/// What an archive entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ItemKind {
    Directory,
    File,
    Symlink,
}

/// An entry to write: where it is, its name in the archive (`/`-separated), what it is.
struct Item {
    path: PathBuf,
    name: String,
    kind: ItemKind,
}

/// Every entry below the plan's top-level names, parents before children, each folder's
/// children sorted. With `follow_links` (zip), links are replaced by what they point to
/// (broken ones are skipped with a warning, loops are not entered); without, they are entries.
/// The archive file itself and special files (pipes, sockets, devices) are left out.
fn collect_items(plan: &Plan<'_>, follow_links: bool, host: &mut dyn TaskHost) -> Vec<Item> {
    let skip = std::fs::canonicalize(plan.archive).ok();
    let mut items = Vec::new();
    let mut ancestors = Vec::new();
    for name in &plan.names {
        let path = plan.base.join(name);
        visit(
            &path,
            name.to_string_lossy().into_owned(),
            follow_links,
            skip.as_deref(),
            &mut ancestors,
            &mut items,
            host,
        );
    }
    items
}

fn visit(
    path: &Path,
    name: String,
    follow_links: bool,
    skip: Option<&Path>,
    ancestors: &mut Vec<PathBuf>,
    items: &mut Vec<Item>,
    host: &mut dyn TaskHost,
) {
    let Ok(mut metadata) = std::fs::symlink_metadata(path) else {
        host.warning(&format!("name not matched: {name}"));
        return;
    };
    if metadata.file_type().is_symlink() {
        if !follow_links {
            items.push(Item { path: path.to_path_buf(), name, kind: ItemKind::Symlink });
            return;
        }
        match std::fs::metadata(path) {
            Ok(followed) => metadata = followed,
            Err(_) => {
                host.warning(&format!("name not matched: {name} (a broken symbolic link)"));
                return;
            }
        }
    }
    if metadata.is_dir() {
        let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        if ancestors.contains(&canonical) {
            host.warning(&format!("skipping {name}: a symbolic link loop"));
            return;
        }
        let mut children: Vec<OsString> = std::fs::read_dir(path)
            .map(|entries| entries.filter_map(|entry| entry.ok().map(|entry| entry.file_name())).collect())
            .unwrap_or_default();
        children.sort();
        items.push(Item { path: path.to_path_buf(), name: name.clone(), kind: ItemKind::Directory });
        ancestors.push(canonical);
        for child in children {
            let child_name = format!("{name}/{}", child.to_string_lossy());
            visit(&path.join(&child), child_name, follow_links, skip, ancestors, items, host);
        }
        ancestors.pop();
    } else if metadata.is_file() {
        if skip.is_some_and(|skip| std::fs::canonicalize(path).is_ok_and(|canonical| canonical == skip)) {
            return;
        }
        items.push(Item { path: path.to_path_buf(), name, kind: ItemKind::File });
    } else {
        host.warning(&format!("skipping {name}: not a regular file, folder or link"));
    }
}

/// Writes to a temporary file beside `archive` and moves it into place when `write` succeeds,
/// so a failure leaves no half-written archive.
fn write_beside(archive: &Path, write: impl FnOnce(File) -> std::io::Result<()>) -> Result<(), Failure> {
    let file_name = archive.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    let temporary = archive.with_file_name(format!(".{file_name}.{}.partial", std::process::id()));
    let failed = |error: &dyn std::fmt::Display| {
        let _ = std::fs::remove_file(&temporary);
        format!("Archive creation failed for archive file: {}: {error}", archive.display())
    };
    let file = File::create(&temporary).map_err(|error| failed(&error))?;
    write(file).map_err(|error| failed(&error))?;
    std::fs::rename(&temporary, archive).map_err(|error| failed(&error))
}

fn write_zip(plan: &Plan<'_>, host: &mut dyn TaskHost) -> Result<(), Failure> {
    use zip::write::SimpleFileOptions;

    let items = collect_items(plan, true, host);
    let existing = if plan.add_to_existing {
        let file = File::open(plan.archive).map_err(|error| {
            format!("Archive creation failed for archive file: {}: {error}", plan.archive.display())
        })?;
        Some(zip::ZipArchive::new(file).map_err(|error| {
            format!(
                "Archive creation failed for archive file: {}: the existing file is not a zip archive ({error})",
                plan.archive.display()
            )
        })?)
    } else {
        None
    };
    let mut lines = Vec::new();
    write_beside(plan.archive, |file| {
        let mut writer = zip::ZipWriter::new(BufWriter::new(file));
        if let Some(mut existing) = existing {
            let replaced: HashSet<String> = items
                .iter()
                .map(
                    |item| if item.kind == ItemKind::Directory { format!("{}/", item.name) } else { item.name.clone() },
                )
                .collect();
            for index in 0..existing.len() {
                let entry = existing.by_index_raw(index)?;
                if !replaced.contains(entry.name()) {
                    writer.raw_copy_file(entry)?;
                }
            }
        }
        for item in &items {
            let metadata = std::fs::metadata(&item.path)?;
            let mut options = SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated)
                .large_file(metadata.len() >= 0xFFFF_FFFF);
            if let Some(time) = metadata.modified().ok().and_then(zip_time) {
                options = options.last_modified_time(time);
            }
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                options = options.unix_permissions(metadata.permissions().mode() & 0o777);
            }
            if item.kind == ItemKind::Directory {
                writer.add_directory(format!("{}/", item.name), options)?;
            } else {
                writer.start_file(item.name.as_str(), options)?;
                std::io::copy(&mut File::open(&item.path)?, &mut writer)?;
            }
            lines.push(format!("  adding: {}{}", item.name, if item.kind == ItemKind::Directory { "/" } else { "" }));
        }
        writer.finish()?.flush()?;
        Ok(())
    })?;
    if !plan.quiet {
        for line in lines {
            host.log(&line);
        }
    }
    Ok(())
}

/// A file time as a zip time (zip cannot hold times before 1980; those are left out).
fn zip_time(time: std::time::SystemTime) -> Option<zip::DateTime> {
    let (year, month, day, hour, minute, second) = civil_time(time);
    let narrow = |value: u32| u8::try_from(value).ok();
    zip::DateTime::from_date_and_time(
        u16::try_from(year).ok()?,
        narrow(month)?,
        narrow(day)?,
        narrow(hour)?,
        narrow(minute)?,
        narrow(second)?,
    )
    .ok()
}

/// A compressing writer for tar.
enum Compressor<W: Write> {
    Plain(W),
    Gzip(flate2::write::GzEncoder<W>),
    Bzip2(bzip2::write::BzEncoder<W>),
    Xz(xz2::write::XzEncoder<W>),
}

impl<W: Write> Compressor<W> {
    fn new(inner: W, compression: TarCompression) -> Self {
        match compression {
            TarCompression::None => Self::Plain(inner),
            TarCompression::Gzip => Self::Gzip(flate2::write::GzEncoder::new(inner, flate2::Compression::default())),
            TarCompression::Bzip2 => Self::Bzip2(bzip2::write::BzEncoder::new(inner, bzip2::Compression::default())),
            TarCompression::Xz => Self::Xz(xz2::write::XzEncoder::new(inner, 6)),
        }
    }

    /// Ends the compressed stream and returns what it was written to.
    fn finish(self) -> std::io::Result<W> {
        match self {
            Self::Plain(inner) => Ok(inner),
            Self::Gzip(encoder) => encoder.finish(),
            Self::Bzip2(encoder) => encoder.finish(),
            Self::Xz(encoder) => encoder.finish(),
        }
    }
}

impl<W: Write> Write for Compressor<W> {
    fn write(&mut self, buffer: &[u8]) -> std::io::Result<usize> {
        match self {
            Self::Plain(inner) => inner.write(buffer),
            Self::Gzip(encoder) => encoder.write(buffer),
            Self::Bzip2(encoder) => encoder.write(buffer),
            Self::Xz(encoder) => encoder.write(buffer),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Self::Plain(inner) => inner.flush(),
            Self::Gzip(encoder) => encoder.flush(),
            Self::Bzip2(encoder) => encoder.flush(),
            Self::Xz(encoder) => encoder.flush(),
        }
    }
}

fn write_tar(plan: &Plan<'_>, compression: TarCompression, host: &mut dyn TaskHost) -> Result<(), Failure> {
    let items = collect_items(plan, false, host);
    if plan.add_to_existing {
        if compression != TarCompression::None {
            return Err(format!(
                "Cannot add files to the existing archive {}: only an uncompressed tar (tarCompression: none) can be \
                 added to. Set replaceExistingArchive: true to replace it.",
                plan.archive.display()
            ));
        }
        append_to_tar(plan.archive, &items)?;
    } else {
        write_beside(plan.archive, |file| {
            let mut builder = tar::Builder::new(Compressor::new(BufWriter::new(file), compression));
            append_items(&mut builder, &items)?;
            builder.into_inner()?.finish()?.flush()
        })?;
    }
    if plan.verbose {
        for item in &items {
            host.log(&item.name);
        }
    }
    Ok(())
}

/// Adds the items to a tar: links as links, with their modes, owners and times.
fn append_items<W: Write>(builder: &mut tar::Builder<W>, items: &[Item]) -> std::io::Result<()> {
    builder.follow_symlinks(false);
    builder.mode(tar::HeaderMode::Complete);
    for item in items {
        builder.append_path_with_name(&item.path, &item.name)?;
    }
    Ok(())
}

/// Appends to an uncompressed tar, as `tar -r`: the new entries replace its end marker.
fn append_to_tar(archive: &Path, items: &[Item]) -> Result<(), Failure> {
    let failed = |error: &dyn std::fmt::Display| {
        format!("Archive creation failed for archive file: {}: {error}", archive.display())
    };
    let mut file = std::fs::OpenOptions::new().read(true).write(true).open(archive).map_err(|error| failed(&error))?;
    let mut end = 0u64;
    {
        let mut reader = tar::Archive::new(&file);
        let entries = reader.entries().map_err(|error| failed(&error))?;
        for entry in entries {
            let entry = entry.map_err(|error| failed(&format!("the existing file is not a tar archive ({error})")))?;
            let size = entry.header().entry_size().map_err(|error| failed(&error))?;
            end = entry.raw_file_position() + size.div_ceil(512) * 512;
        }
    }
    file.set_len(end).map_err(|error| failed(&error))?;
    file.seek(std::io::SeekFrom::Start(end)).map_err(|error| failed(&error))?;
    let mut builder = tar::Builder::new(BufWriter::new(file));
    append_items(&mut builder, items).map_err(|error| failed(&error))?;
    builder.into_inner().and_then(|mut writer| writer.flush()).map_err(|error| failed(&error))
}

/// 7z and wim archives, made by the `7z` program as Azure's task makes them.
fn run_seven_zip(plan: &Plan<'_>, archive_type: &str, level: &str, host: &mut dyn TaskHost) -> Result<(), Failure> {
    let mut arguments = vec!["a".to_owned(), format!("-t{archive_type}")];
    if plan.verbose {
        arguments.push("-bb3".to_owned());
    }
    if archive_type == "7z" {
        let level = match level.to_ascii_lowercase().as_str() {
            "ultra" => "9",
            "maximum" => "7",
            "fast" => "3",
            "fastest" => "1",
            "none" => "0",
            _ => "5",
        };
        arguments.push(format!("-mx={level}"));
    }
    // `--` ends the switches, so names starting with `-` or `@` are names.
    arguments.push("--".to_owned());
    arguments.push(plan.archive.display().to_string());
    arguments.extend(plan.names.iter().map(|name| name.to_string_lossy().into_owned()));
    let command = CommandLine {
        program: "7z".to_owned(),
        arguments,
        working_directory: Some(plan.base.clone()),
        environment: Vec::new(),
    };
    let missing = format!(
        "archiveType: {archive_type} needs the 7z program (7-Zip), which could not be started. Install 7-Zip \
         (p7zip) on the agent, or use archiveType: zip (or tar), which Slipway writes itself"
    );
    let code = run_program(host, &command, &missing)?;
    if code != 0 {
        return Err(format!(
            "Archive creation failed for archive file: {} (7z exited with code {code})",
            plan.archive.display()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testing::{failure, log, read_tree, resolve, run_task, write_tree};
    use crate::Outcome;
    use crate::fake::FakeHost;

    fn zip_names(path: &std::path::Path) -> Vec<String> {
        let file = std::fs::File::open(path).expect("archive");
        let archive = zip::ZipArchive::new(file).expect("a zip");
        archive.file_names().map(str::to_owned).collect()
    }

    fn source_tree() -> tempfile::TempDir {
        let root = tempfile::tempdir().expect("temporary directory");
        write_tree(
            root.path(),
            &[("bin/app.dll", "app"), ("bin/.config", "dot"), ("bin/sub/lib.so", "lib"), ("bin/empty/", "")],
        );
        root
    }

    #[test]
    fn zip_with_the_root_folder_and_defaults_from_variables() {
        let root = source_tree();
        let mut host = FakeHost::new(root.path())
            .with_variable("Build.BinariesDirectory", &root.path().join("bin").display().to_string())
            .with_variable("Build.ArtifactStagingDirectory", &root.path().join("staging").display().to_string())
            .with_variable("Build.BuildId", "42");
        assert_eq!(run_task("ArchiveFiles", &[], &mut host), Outcome::Succeeded);
        let archive = root.path().join("staging/42.zip");
        insta::assert_snapshot!(zip_names(&archive).join("\n"), @r"
        bin/
        bin/.config
        bin/app.dll
        bin/empty/
        bin/sub/
        bin/sub/lib.so
        ");
        insta::assert_snapshot!(log(&host, root.path()), @r"
        Found 1 files
        Archiving file: bin
          adding: bin/
          adding: bin/.config
          adding: bin/app.dll
          adding: bin/empty/
          adding: bin/sub/
          adding: bin/sub/lib.so
        Successfully created archive: <root>/staging/42.zip
        ");
    }

    #[test]
    fn without_the_root_folder_names_start_inside_it_and_quiet_drops_entry_lines() {
        let root = source_tree();
        let mut host = FakeHost::new(root.path());
        let given = [
            ("rootFolderOrFile", "bin"),
            ("includeRootFolder", "false"),
            ("archiveFile", "out.zip"),
            ("quiet", "true"),
        ];
        assert_eq!(run_task("ArchiveFiles", &given, &mut host), Outcome::Succeeded);
        insta::assert_snapshot!(zip_names(&root.path().join("out.zip")).join("\n"), @r"
        .config
        app.dll
        empty/
        sub/
        sub/lib.so
        ");
        insta::assert_snapshot!(log(&host, root.path()), @r"
        Found 4 files
        Archiving file: .config
        Archiving file: app.dll
        Archiving file: empty
        Archiving file: sub
        Successfully created archive: <root>/out.zip
        ");
    }

    #[test]
    fn a_single_file_and_the_plan_stops_after_ten_names() {
        let root = tempfile::tempdir().expect("temporary directory");
        let files: Vec<(String, &str)> = (0..12).map(|index| (format!("many/f{index:02}"), "x")).collect();
        let files: Vec<(&str, &str)> = files.iter().map(|(name, content)| (name.as_str(), *content)).collect();
        write_tree(root.path(), &files);
        let mut host = FakeHost::new(root.path());
        let given = [("rootFolderOrFile", "many/f03"), ("archiveFile", "one.zip")];
        assert_eq!(run_task("ArchiveFiles", &given, &mut host), Outcome::Succeeded);
        assert_eq!(zip_names(&root.path().join("one.zip")), vec!["f03"]);
        let mut host = FakeHost::new(root.path());
        let given = [
            ("rootFolderOrFile", "many"),
            ("includeRootFolder", "false"),
            ("archiveFile", "all.zip"),
            ("quiet", "true"),
        ];
        assert_eq!(run_task("ArchiveFiles", &given, &mut host), Outcome::Succeeded);
        assert_eq!(host.log[10], "Archiving file: f09");
        assert_eq!(host.log[11], "... 2 more ...");
    }

    #[test]
    fn the_archive_is_not_put_into_itself_and_replace_off_adds_to_a_zip() {
        let root = source_tree();
        let mut host = FakeHost::new(root.path());
        let given = [
            ("rootFolderOrFile", "bin"),
            ("includeRootFolder", "false"),
            ("archiveFile", "bin/self.zip"),
            ("quiet", "true"),
        ];
        assert_eq!(run_task("ArchiveFiles", &given, &mut host), Outcome::Succeeded);
        assert!(!zip_names(&root.path().join("bin/self.zip")).contains(&"self.zip".to_owned()));
        write_tree(root.path(), &[("more/new.txt", "new"), ("more/app.dll", "changed")]);
        let given = [
            ("rootFolderOrFile", "more"),
            ("includeRootFolder", "false"),
            ("archiveFile", "bin/self.zip"),
            ("replaceExistingArchive", "false"),
        ];
        assert_eq!(run_task("ArchiveFiles", &given, &mut host), Outcome::Succeeded);
        let mut names = zip_names(&root.path().join("bin/self.zip"));
        names.sort();
        insta::assert_snapshot!(names.join("\n"), @r"
        .config
        app.dll
        empty/
        new.txt
        sub/
        sub/lib.so
        ");
        assert!(host.log.iter().any(|line| line.ends_with("self.zip already exists.  Attempting to add files to it.")));
        let out = root.path().join("out");
        std::fs::create_dir(&out).expect("folder");
        let mut host = FakeHost::new(root.path());
        let given = [("archiveFilePatterns", "bin/self.zip"), ("destinationFolder", "out")];
        assert_eq!(run_task("ExtractFiles", &given, &mut host), Outcome::Succeeded);
        assert_eq!(std::fs::read_to_string(out.join("app.dll")).expect("file"), "changed");
    }

    #[test]
    fn every_tar_compression_round_trips_through_extract_files() {
        for (compression, file) in [("gz", "a.tar.gz"), ("bz2", "a.tar.bz2"), ("xz", "a.txz"), ("none", "a.tar")] {
            let root = source_tree();
            #[cfg(unix)]
            std::os::unix::fs::symlink("app.dll", root.path().join("bin/link.dll")).expect("link");
            let mut host = FakeHost::new(root.path());
            let given = [
                ("archiveType", "tar"),
                ("tarCompression", compression),
                ("rootFolderOrFile", "bin"),
                ("archiveFile", file),
            ];
            assert_eq!(run_task("ArchiveFiles", &given, &mut host), Outcome::Succeeded, "{compression}");
            let given = [("archiveFilePatterns", file), ("destinationFolder", "out")];
            assert_eq!(run_task("ExtractFiles", &given, &mut host), Outcome::Succeeded, "{compression}");
            let expected = if cfg!(unix) {
                "bin/.config: dot\nbin/app.dll: app\nbin/empty/\nbin/link.dll -> app.dll\nbin/sub/lib.so: lib"
            } else {
                "bin/.config: dot\nbin/app.dll: app\nbin/empty/\nbin/sub/lib.so: lib"
            };
            assert_eq!(read_tree(&root.path().join("out")), expected, "{compression}");
        }
    }

    #[test]
    fn replace_off_appends_to_a_plain_tar_but_not_to_a_compressed_one() {
        let root = source_tree();
        write_tree(root.path(), &[("more/new.txt", "new")]);
        let mut host = FakeHost::new(root.path());
        let first =
            [("archiveType", "tar"), ("tarCompression", "none"), ("rootFolderOrFile", "bin"), ("archiveFile", "a.tar")];
        assert_eq!(run_task("ArchiveFiles", &first, &mut host), Outcome::Succeeded);
        let second = [
            ("archiveType", "tar"),
            ("tarCompression", "none"),
            ("rootFolderOrFile", "more"),
            ("archiveFile", "a.tar"),
            ("replaceExistingArchive", "false"),
        ];
        assert_eq!(run_task("ArchiveFiles", &second, &mut host), Outcome::Succeeded);
        let given = [("archiveFilePatterns", "a.tar"), ("destinationFolder", "out")];
        assert_eq!(run_task("ExtractFiles", &given, &mut host), Outcome::Succeeded);
        insta::assert_snapshot!(read_tree(&root.path().join("out")), @r"
        bin/.config: dot
        bin/app.dll: app
        bin/empty/
        bin/sub/lib.so: lib
        more/new.txt: new
        ");
        let gz = [("archiveType", "tar"), ("rootFolderOrFile", "bin"), ("archiveFile", "a.tgz")];
        assert_eq!(run_task("ArchiveFiles", &gz, &mut host), Outcome::Succeeded);
        let again = [
            ("archiveType", "tar"),
            ("rootFolderOrFile", "more"),
            ("archiveFile", "a.tgz"),
            ("replaceExistingArchive", "false"),
        ];
        insta::assert_snapshot!(failure(run_task("ArchiveFiles", &again, &mut host), root.path()), @"Cannot add files to the existing archive <root>/a.tgz: only an uncompressed tar (tarCompression: none) can be added to. Set replaceExistingArchive: true to replace it.");
    }

    #[test]
    fn seven_zip_and_wim_run_the_7z_program() {
        let root = source_tree();
        let mut host = FakeHost::new(root.path());
        let given = [
            ("archiveType", "7z"),
            ("sevenZipCompression", "ultra"),
            ("rootFolderOrFile", "bin"),
            ("archiveFile", "a.7z"),
        ];
        assert_eq!(run_task("ArchiveFiles", &given, &mut host), Outcome::Succeeded);
        let given = [
            ("archiveType", "wim"),
            ("rootFolderOrFile", "bin"),
            ("includeRootFolder", "false"),
            ("archiveFile", "a.wim"),
            ("verbose", "true"),
        ];
        assert_eq!(run_task("ArchiveFiles", &given, &mut host), Outcome::Succeeded);
        let given =
            [("archiveType", "7z"), ("sevenZipCompression", "5"), ("rootFolderOrFile", "bin"), ("archiveFile", "b.7z")];
        assert_eq!(run_task("ArchiveFiles", &given, &mut host), Outcome::Succeeded);
        let commands: Vec<String> = host
            .commands
            .iter()
            .map(|command| {
                let folder =
                    command.working_directory.as_deref().map(|folder| folder.display().to_string()).unwrap_or_default();
                format!("({folder}) {}", command.display()).replace(&root.path().display().to_string(), "<root>")
            })
            .collect();
        insta::assert_snapshot!(commands.join("\n"), @r"
        (<root>) 7z a -t7z -mx=9 -- <root>/a.7z bin
        (<root>/bin) 7z a -twim -bb3 -- <root>/a.wim .config app.dll empty sub
        (<root>) 7z a -t7z -mx=5 -- <root>/b.7z bin
        ");
        let mut host = FakeHost::new(root.path());
        host.exit_code = 2;
        let given = [("archiveType", "7z"), ("rootFolderOrFile", "bin"), ("archiveFile", "a.7z")];
        insta::assert_snapshot!(failure(run_task("ArchiveFiles", &given, &mut host), root.path()), @"Archive creation failed for archive file: <root>/a.7z (7z exited with code 2)");
        let mut host = FakeHost::new(root.path()).without_programs();
        insta::assert_snapshot!(failure(run_task("ArchiveFiles", &given, &mut host), root.path()), @"archiveType: 7z needs the 7z program (7-Zip), which could not be started. Install 7-Zip (p7zip) on the agent, or use archiveType: zip (or tar), which Slipway writes itself (7z: No such file or directory (os error 2))");
    }

    #[test]
    fn failures_have_the_task_messages() {
        let root = source_tree();
        let mut host = FakeHost::new(root.path());
        let given = [("rootFolderOrFile", "missing"), ("archiveFile", "a.zip")];
        insta::assert_snapshot!(failure(run_task("ArchiveFiles", &given, &mut host), root.path()), @"Not found rootFolderOrFile: <root>/missing");
        let given = [("rootFolderOrFile", "bin"), ("archiveFile", "bin/sub")];
        insta::assert_snapshot!(failure(run_task("ArchiveFiles", &given, &mut host), root.path()), @"Specified archive file: <root>/bin/sub already exists and is not a file.");
        write_tree(root.path(), &[("not-a.zip", "text")]);
        let given = [("rootFolderOrFile", "bin"), ("archiveFile", "not-a.zip"), ("replaceExistingArchive", "false")];
        let message = failure(run_task("ArchiveFiles", &given, &mut host), root.path());
        assert!(
            message.starts_with(
                "Archive creation failed for archive file: <root>/not-a.zip: the existing file is not a zip archive"
            ),
            "{message}"
        );
        let given = [("rootFolderOrFile", "bin"), ("archiveFile", "a.zip")];
        assert_eq!(run_task("ArchiveFiles", &given, &mut host), Outcome::Succeeded);
        assert!(!host.log.iter().any(|line| line.starts_with("Removing existing archive file before creation: ")));
        assert_eq!(run_task("ArchiveFiles", &given, &mut host), Outcome::Succeeded);
        assert!(host.log.iter().any(|line| line.starts_with("Removing existing archive file before creation: ")));
    }

    #[test]
    fn input_validation_errors() {
        let error =
            resolve("ArchiveFiles", &[("archiveType", "rar"), ("tarCompression", "lzma")]).expect_err("invalid");
        insta::assert_snapshot!(error.to_string(), @"Input archiveType has an invalid value 'rar'; expected one of: zip, 7z, tar, wim");
        let error =
            resolve("ArchiveFiles", &[("archiveType", "tar"), ("tarCompression", "lzma")]).expect_err("invalid");
        insta::assert_snapshot!(error.to_string(), @"Input tarCompression has an invalid value 'lzma'; expected one of: gz, bz2, xz, none");
        let inputs = resolve("ArchiveFiles", &[("archiveType", "7z"), ("tarCompression", "lzma")])
            .expect("tarCompression is hidden");
        assert_eq!(inputs.text("archiveFile"), "$(Build.ArtifactStagingDirectory)/$(Build.BuildId).zip");
    }
}
