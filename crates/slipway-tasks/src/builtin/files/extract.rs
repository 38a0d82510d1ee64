//! `ExtractFiles@1`: extracts the archives that `archiveFilePatterns` find into
//! `destinationFolder`.
//!
//! As in Microsoft's task: a pattern without `*` or `?` names one archive, which must exist; one
//! with them searches below the folder part before its first wildcard (the working directory
//! when there is none) with minimatch's defaults (names starting with a dot only when the pattern
//! spells the dot; braces expanded); the destination is emptied first unless
//! `cleanDestinationFolder` is off; finding no archive is a warning, not a failure.
//!
//! zip (and jar, nupkg, ...), tar (plain, gz, bz2, xz) and single gz, bz2 or xz files are
//! recognized by their content and extracted natively, refusing entries that would land outside
//! the destination (zip-slip; see `unpack`). Other tar compressions are left to the `tar`
//! program, anything else (7z, rar, wim, ...) to `7z` (or `pathToSevenZipTool`), as Azure does;
//! those programs apply their own path checks. With `overwriteExistingFiles` off, files already in
//! the destination are kept, as `unzip` keeps them.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use super::support::{Failure, absolute, escape_glob, normalize, outcome, remove_any, run_program, unix_time};
use super::unpack::{EntryKind, Unpacker};
use crate::glob::{Pattern, expand_braces};
use crate::{CommandLine, InputSpec, Inputs, Outcome, TaskHost};

/// The inputs of `ExtractFiles@1`, as in its `task.json`.
pub(super) fn inputs(_major: u32) -> Vec<InputSpec> {
    vec![
        InputSpec::lines("archiveFilePatterns").default("**/*.zip").required(),
        InputSpec::path("destinationFolder").required(),
        InputSpec::boolean("cleanDestinationFolder", true).required(),
        InputSpec::boolean("overwriteExistingFiles", false).required(),
        InputSpec::string("pathToSevenZipTool"),
    ]
}

/// Runs `ExtractFiles@1`.
pub(super) fn run(_major: u32, inputs: &Inputs, host: &mut dyn TaskHost) -> Outcome {
    outcome(extract_files(inputs, host))
}

fn extract_files(inputs: &Inputs, host: &mut dyn TaskHost) -> Result<(), Failure> {
    let destination = absolute(inputs.text("destinationFolder"), host);
    let overwrite = inputs.boolean("overwriteExistingFiles");
    let seven_zip = inputs.get("pathToSevenZipTool").unwrap_or("7z").to_owned();
    let files = find_archives(&inputs.lines("archiveFilePatterns"), host)?;
    if files.is_empty() {
        host.warning("No archives were found using specified file patterns");
    }
    host.log(&format!("Found: {} files to extract:", files.len()));
    for file in &files {
        host.log(&file.display().to_string());
    }
    if inputs.boolean("cleanDestinationFolder") && std::fs::symlink_metadata(&destination).is_ok() {
        host.log(&format!("Cleaning destination folder before extraction: {}", destination.display()));
        remove_any(&destination).map_err(|error| format!("Failed rmRF: {}: {error}", destination.display()))?;
    }
    if !destination.exists() {
        host.log(&format!("Creating destination folder: {}", destination.display()));
        std::fs::create_dir_all(&destination)
            .map_err(|error| format!("Unable to create directory '{}'. {error}", destination.display()))?;
    }
    for file in &files {
        if host.is_canceled() {
            return Err("The operation was canceled.".to_owned());
        }
        match std::fs::metadata(file) {
            Err(_) => return Err(format!("Extraction failed for file: {} because it does not exist.", file.display())),
            Ok(metadata) if metadata.is_dir() => {
                return Err(format!("Extraction failed for file: {} because it is a directory.", file.display()));
            }
            Ok(_) => {}
        }
        extract_one(file, &destination, overwrite, &seven_zip, host)?;
    }
    host.log("Successfully extracted all files.");
    Ok(())
}

/// The archives the patterns name, in order, without duplicates.
fn find_archives(patterns: &[String], host: &mut dyn TaskHost) -> Result<Vec<PathBuf>, Failure> {
    let mut found: Vec<PathBuf> = Vec::new();
    let mut add = |path: PathBuf| {
        if !found.contains(&path) {
            found.push(path);
        }
    };
    for pattern in patterns {
        let normalized = normalize(Path::new(pattern)).display().to_string();
        let first_wildcard = normalized.find(['*', '?']);
        let Some(first_wildcard) = first_wildcard else {
            let file = make_absolute(&normalized, host);
            match std::fs::metadata(&file) {
                Ok(metadata) if metadata.is_file() => add(file),
                Ok(metadata) if metadata.is_dir() => {
                    return Err(format!(
                        "Specified archive: {} can not be extracted because it is a directory.",
                        file.display()
                    ));
                }
                Ok(_) => {
                    return Err(format!(
                        "Specified archive: {} can not be extracted because it is not a file.",
                        file.display()
                    ));
                }
                Err(error) => {
                    return Err(format!(
                        "Specified archive: {} can not be extracted because it can not be accessed: {error}",
                        file.display()
                    ));
                }
            }
            continue;
        };
        let (directory, search) = match normalized[..first_wildcard].rfind('/') {
            Some(separator) => (make_absolute(&normalized[..=separator], host), normalized[separator + 1..].to_owned()),
            None => {
                let working_directory = host.working_directory();
                host.log(&format!(
                    "No path specified for search pattern: {normalized} defaulting to: {}",
                    working_directory.display()
                ));
                (working_directory, normalized.clone())
            }
        };
        host.log(&format!("Searching for: {search} under directory: {}", directory.display()));
        match std::fs::metadata(&directory) {
            Err(_) => {
                return Err(format!(
                    "Search failed because the specified search directory: {} does not exist.",
                    directory.display()
                ));
            }
            Ok(metadata) if !metadata.is_dir() => {
                return Err(format!(
                    "Search failed because the specified search directory: {} is not a directory.",
                    directory.display()
                ));
            }
            Ok(_) => {}
        }
        let rooted = format!("{}/{search}", escape_glob(&directory).trim_end_matches('/'));
        let compiled: Vec<Pattern> =
            expand_braces(&rooted).iter().map(|pattern| Pattern::new(pattern).with_dot(false)).collect();
        for candidate in crate::glob::find(&directory) {
            let text = candidate.display().to_string();
            if compiled.iter().any(|pattern| pattern.matches(&text))
                && std::fs::metadata(&candidate).is_ok_and(|metadata| metadata.is_file())
            {
                add(candidate);
            }
        }
    }
    Ok(found)
}

/// A path made absolute against the working directory, logging it as the task does.
fn make_absolute(path: &str, host: &mut dyn TaskHost) -> PathBuf {
    if Path::new(path).is_absolute() {
        return normalize(Path::new(path));
    }
    let result = normalize(&host.working_directory().join(path));
    host.log(&format!("Relative file path: {path} resolving to: {}", result.display()));
    result
}

/// How a stream is compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Compression {
    None,
    Gzip,
    Bzip2,
    Xz,
}

/// What an archive file holds, as far as Slipway reads it itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Zip,
    Tar(Compression),
    /// One compressed file (`notes.txt.gz`).
    Single(Compression),
    /// Something for the `tar` or `7z` program.
    Other,
}

/// The task's list of tar names (GNU tar's suffixes).
fn is_tar_name(file: &Path) -> bool {
    let name = file.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    [
        ".tar",
        ".tar.gz",
        ".tgz",
        ".taz",
        ".tar.Z",
        ".taZ",
        ".tar.bz2",
        ".tz2",
        ".tbz2",
        ".tbz",
        ".tar.lz",
        ".tar.lzma",
        ".tlz",
        ".tar.lzo",
        ".tar.xz",
        ".txz",
    ]
    .iter()
    .any(|suffix| name.ends_with(suffix))
}

fn open_decompressed(file: &Path, compression: Compression) -> std::io::Result<Box<dyn Read>> {
    let reader = BufReader::new(File::open(file)?);
    Ok(match compression {
        Compression::None => Box::new(reader),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(reader)),
        Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(reader)),
        Compression::Xz => Box::new(xz2::read::XzDecoder::new_multi_decoder(reader)),
    })
}

/// Up to `limit` bytes from the start of a stream.
fn head(reader: &mut dyn Read, limit: u64) -> Vec<u8> {
    let mut bytes = Vec::new();
    // A short or unreadable stream only means the format is not recognized.
    let _ = reader.take(limit).read_to_end(&mut bytes);
    bytes
}

fn is_ustar(head: &[u8]) -> bool {
    head.get(257..262) == Some(b"ustar".as_slice())
}

/// Recognizes an archive by its first bytes (and, for tars, its name).
fn detect(file: &Path) -> std::io::Result<Format> {
    let raw = head(&mut File::open(file)?, 512);
    if [b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"].iter().any(|magic| raw.starts_with(magic.as_slice())) {
        return Ok(Format::Zip);
    }
    let compression = if raw.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if raw.starts_with(b"BZh") {
        Compression::Bzip2
    } else if raw.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Compression::Xz
    } else if is_ustar(&raw) || file.to_string_lossy().ends_with(".tar") {
        return Ok(Format::Tar(Compression::None));
    } else {
        return Ok(Format::Other);
    };
    let inner = head(&mut open_decompressed(file, compression)?, 512);
    Ok(if is_ustar(&inner) || is_tar_name(file) { Format::Tar(compression) } else { Format::Single(compression) })
}

fn extract_one(
    file: &Path,
    destination: &Path,
    overwrite: bool,
    seven_zip: &str,
    host: &mut dyn TaskHost,
) -> Result<(), Failure> {
    host.log(&format!("Extracting file: {}", file.display()));
    let failed = |error: &dyn std::fmt::Display| format!("Extraction failed for file: {}: {error}", file.display());
    let format = detect(file).map_err(|error| failed(&error))?;
    let mut unpacker = Unpacker::new(destination, overwrite)?;
    match format {
        Format::Zip => extract_zip(file, &mut unpacker).map_err(|error| failed(&error))?,
        Format::Tar(compression) => extract_tar(file, compression, &mut unpacker).map_err(|error| failed(&error))?,
        Format::Single(compression) => {
            let name = file.file_name().map(|name| Path::new(name).to_path_buf()).unwrap_or_default();
            let output = if name.extension().is_some() { name.with_extension("") } else { name.with_extension("out") };
            let modified = std::fs::metadata(file).and_then(|metadata| metadata.modified()).ok();
            let mut reader = open_decompressed(file, compression).map_err(|error| failed(&error))?;
            unpacker.entry(&output, EntryKind::File(&mut reader), None, modified).map_err(|error| failed(&error))?;
        }
        Format::Other => return run_extractor(file, destination, overwrite, seven_zip, host),
    }
    host.log(&format!("Extracted {} entries into {}", unpacker.written, destination.display()));
    if !unpacker.kept.is_empty() {
        host.log(&format!(
            "Kept {} files already in the destination folder (overwriteExistingFiles is false), such as {}",
            unpacker.kept.len(),
            unpacker.kept[0].display()
        ));
    }
    for name in &unpacker.ignored {
        host.warning(&format!("Skipped {name} in {}: devices and pipes are not extracted", file.display()));
    }
    Ok(())
}

/// The error of an archive entry, which names the entry already.
enum ReadError {
    Io(std::io::Error),
    Entry(Failure),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(error) => error.fmt(formatter),
            Self::Entry(message) => formatter.write_str(message),
        }
    }
}

impl From<std::io::Error> for ReadError {
    fn from(error: std::io::Error) -> Self {
        Self::Io(error)
    }
}

impl From<zip::result::ZipError> for ReadError {
    fn from(error: zip::result::ZipError) -> Self {
        Self::Io(error.into())
    }
}

fn extract_zip(file: &Path, unpacker: &mut Unpacker) -> Result<(), ReadError> {
    let mut archive = zip::ZipArchive::new(BufReader::new(File::open(file)?))?;
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index)?;
        let name = PathBuf::from(entry.name());
        let mode = entry.unix_mode();
        let modified = entry.last_modified().and_then(|time| {
            unix_time(
                i64::from(time.year()),
                u32::from(time.month()),
                u32::from(time.day()),
                u32::from(time.hour()),
                u32::from(time.minute()),
                u32::from(time.second()),
            )
        });
        let result = if entry.is_dir() {
            unpacker.entry(&name, EntryKind::Directory, mode, None)
        } else if entry.is_symlink() {
            let mut target = String::new();
            entry.read_to_string(&mut target)?;
            unpacker.entry(&name, EntryKind::Symlink(PathBuf::from(target)), None, None)
        } else {
            unpacker.entry(&name, EntryKind::File(&mut entry), mode, modified)
        };
        result.map_err(ReadError::Entry)?;
    }
    Ok(())
}

fn extract_tar(file: &Path, compression: Compression, unpacker: &mut Unpacker) -> Result<(), ReadError> {
    let mut archive = tar::Archive::new(open_decompressed(file, compression)?);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let name = entry.path()?.into_owned();
        let header = entry.header();
        let mode = header.mode().ok();
        let modified = header.mtime().ok().map(|seconds| UNIX_EPOCH + Duration::from_secs(seconds));
        let link = entry.link_name()?.map(std::borrow::Cow::into_owned);
        let result = match entry.header().entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                unpacker.entry(&name, EntryKind::File(&mut entry), mode, modified)
            }
            tar::EntryType::Directory => unpacker.entry(&name, EntryKind::Directory, mode, None),
            tar::EntryType::Symlink => unpacker.entry(&name, EntryKind::Symlink(link.unwrap_or_default()), None, None),
            tar::EntryType::Link => unpacker.entry(&name, EntryKind::HardLink(link.unwrap_or_default()), None, None),
            tar::EntryType::XGlobalHeader
            | tar::EntryType::XHeader
            | tar::EntryType::GNULongName
            | tar::EntryType::GNULongLink => Ok(()),
            _ => {
                unpacker.ignore(&name.display().to_string());
                Ok(())
            }
        };
        result.map_err(ReadError::Entry)?;
    }
    Ok(())
}

/// Archives Slipway does not read itself go to `tar` (tar names) or `7z`, as in Azure's task.
fn run_extractor(
    file: &Path,
    destination: &Path,
    overwrite: bool,
    seven_zip: &str,
    host: &mut dyn TaskHost,
) -> Result<(), Failure> {
    let file_text = file.display().to_string();
    let (command, missing) = if is_tar_name(file) {
        let mut arguments = vec!["-xvf".to_owned(), file_text.clone()];
        if !overwrite {
            arguments.push("--skip-old-files".to_owned());
        }
        arguments.extend(["-C".to_owned(), destination.display().to_string()]);
        let missing = format!(
            "Extracting {file_text} needs the tar program with this compression, which could not be started. Install \
             tar on the agent; tar archives compressed with gz, bz2 or xz are extracted without it"
        );
        (CommandLine::new("tar", arguments), missing)
    } else {
        let arguments = [
            if overwrite { "-aoa".to_owned() } else { "-aos".to_owned() },
            "x".to_owned(),
            format!("-o{}", destination.display()),
            file_text.clone(),
        ];
        let missing = format!(
            "Extracting {file_text} needs the 7z program (7-Zip), which could not be started. Install 7-Zip (p7zip) on \
             the agent or set pathToSevenZipTool; zip, tar (plain, gz, bz2, xz), gz, bz2 and xz files are extracted \
             without it"
        );
        (CommandLine::new(seven_zip, arguments), missing)
    };
    let code = run_program(host, &command, &missing)?;
    if code != 0 {
        return Err(format!("Extraction failed for file: {file_text} ({} exited with code {code})", command.program));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::path::Path;

    use super::super::testing::{failure, log, read_tree, resolve, run_task, write_tree};
    use crate::Outcome;
    use crate::fake::FakeHost;

    fn zip_with(path: &Path, entries: &[(&str, Option<&str>)]) {
        let mut writer = zip::ZipWriter::new(std::fs::File::create(path).expect("archive"));
        let options = zip::write::SimpleFileOptions::default();
        for (name, content) in entries {
            match content {
                Some(content) => {
                    writer.start_file(*name, options).expect("entry");
                    writer.write_all(content.as_bytes()).expect("content");
                }
                None => writer.add_directory(*name, options).expect("folder"),
            }
        }
        writer.finish().expect("finish");
    }

    /// A tar whose entries are written as given, hostile names included.
    fn raw_tar(path: &Path, entries: &[(&str, tar::EntryType, &str)]) {
        let mut builder = tar::Builder::new(std::fs::File::create(path).expect("archive"));
        for (name, kind, content_or_link) in entries {
            let mut header = tar::Header::new_gnu();
            let name_field = &mut header.as_old_mut().name;
            name_field[..name.len()].copy_from_slice(name.as_bytes());
            header.set_entry_type(*kind);
            header.set_mode(0o644);
            let data = if matches!(kind, tar::EntryType::Symlink | tar::EntryType::Link) {
                let link_field = &mut header.as_old_mut().linkname;
                link_field[..content_or_link.len()].copy_from_slice(content_or_link.as_bytes());
                ""
            } else {
                content_or_link
            };
            header.set_size(data.len() as u64);
            header.set_cksum();
            builder.append(&header, data.as_bytes()).expect("entry");
        }
        builder.finish().expect("finish");
    }

    #[test]
    fn default_patterns_find_zips_below_the_working_directory_but_not_in_dot_folders() {
        let root = tempfile::tempdir().expect("temporary directory");
        std::fs::create_dir_all(root.path().join("drop/deep")).expect("folder");
        std::fs::create_dir_all(root.path().join(".cache")).expect("folder");
        zip_with(
            &root.path().join("drop/deep/app.zip"),
            &[("app/", None), ("app/run.sh", Some("echo hi")), ("app/.env", Some("A=1"))],
        );
        zip_with(&root.path().join(".cache/old.zip"), &[("old.txt", Some("old"))]);
        write_tree(root.path(), &[("out/stale.txt", "stale")]);
        let mut host = FakeHost::new(root.path());
        assert_eq!(run_task("ExtractFiles", &[("destinationFolder", "out")], &mut host), Outcome::Succeeded);
        insta::assert_snapshot!(read_tree(&root.path().join("out")), @r"
        app/.env: A=1
        app/run.sh: echo hi
        ");
        insta::assert_snapshot!(log(&host, root.path()), @r"
        No path specified for search pattern: **/*.zip defaulting to: <root>
        Searching for: **/*.zip under directory: <root>
        Found: 1 files to extract:
        <root>/drop/deep/app.zip
        Cleaning destination folder before extraction: <root>/out
        Creating destination folder: <root>/out
        Extracting file: <root>/drop/deep/app.zip
        Extracted 3 entries into <root>/out
        Successfully extracted all files.
        ");
    }

    #[cfg(unix)]
    #[test]
    fn zip_keeps_unix_modes_and_times() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().expect("temporary directory");
        write_tree(root.path(), &[("bin/tool", "#!/bin/sh")]);
        let tool = root.path().join("bin/tool");
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).expect("mode");
        let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_600_000_000);
        std::fs::File::options().write(true).open(&tool).and_then(|file| file.set_modified(time)).expect("time");
        let mut host = FakeHost::new(root.path());
        assert_eq!(
            run_task("ArchiveFiles", &[("rootFolderOrFile", "bin"), ("archiveFile", "bin.zip")], &mut host),
            Outcome::Succeeded
        );
        let given = [("archiveFilePatterns", "*.zip"), ("destinationFolder", "out")];
        assert_eq!(run_task("ExtractFiles", &given, &mut host), Outcome::Succeeded);
        let extracted = root.path().join("out/bin/tool");
        let mode = std::fs::metadata(&extracted).expect("file").permissions().mode();
        assert_eq!(mode & 0o777, 0o755);
        assert_eq!(std::fs::metadata(&extracted).and_then(|metadata| metadata.modified()).expect("time"), time);
    }

    #[test]
    fn zip_slip_entries_are_refused() {
        let root = tempfile::tempdir().expect("temporary directory");
        std::fs::create_dir_all(root.path().join("work")).expect("folder");
        zip_with(&root.path().join("parent.zip"), &[("ok.txt", Some("ok")), ("../evil.txt", Some("evil"))]);
        zip_with(&root.path().join("absolute.zip"), &[("/tmp/slipway-evil.txt", Some("evil"))]);
        zip_with(&root.path().join("backslash.zip"), &[("..\\..\\evil.txt", Some("evil"))]);
        let mut writer = zip::ZipWriter::new(std::fs::File::create(root.path().join("link.zip")).expect("archive"));
        writer.add_symlink("link", "../..", zip::write::SimpleFileOptions::default()).expect("link");
        writer.finish().expect("finish");
        let mut host = FakeHost::new(&root.path().join("work"));
        let mut messages = Vec::new();
        for archive in ["parent.zip", "absolute.zip", "backslash.zip", "link.zip"] {
            let given = [("archiveFilePatterns", format!("../{archive}")), ("destinationFolder", "out".to_owned())];
            let given: Vec<(&str, &str)> = given.iter().map(|(name, value)| (*name, value.as_str())).collect();
            messages.push(failure(run_task("ExtractFiles", &given, &mut host), root.path()));
        }
        insta::assert_snapshot!(messages.join("\n"), @r"
        Extraction failed for file: <root>/parent.zip: Refused archive entry ../evil.txt: it would be written outside the destination folder
        Extraction failed for file: <root>/absolute.zip: Refused archive entry /tmp/slipway-evil.txt: it would be written outside the destination folder
        Extraction failed for file: <root>/backslash.zip: Refused archive entry ..\..\evil.txt: it would be written outside the destination folder
        Extraction failed for file: <root>/link.zip: Refused archive entry link: it is a symbolic link to ../.., outside the destination folder
        ");
        assert!(!root.path().join("evil.txt").exists());
        assert!(!Path::new("/tmp/slipway-evil.txt").exists());
    }

    #[cfg(unix)]
    #[test]
    fn tar_links_must_stay_inside_the_destination() {
        use tar::EntryType::{Directory, Link, Regular, Symlink};
        let root = tempfile::tempdir().expect("temporary directory");
        write_tree(root.path(), &[("secret.txt", "secret")]);
        let cases: [&[(&str, tar::EntryType, &str)]; 6] = [
            &[("../evil.txt", Regular, "evil")],
            &[("passwd", Symlink, "/etc/passwd")],
            &[("up", Symlink, "../..")],
            &[("hard", Link, "../secret.txt")],
            // A link to the destination deep down, then a link through it that climbs out.
            &[
                ("p/", Directory, ""),
                ("p/q/", Directory, ""),
                ("p/q/top", Symlink, "../.."),
                ("p/q/evil", Symlink, "top/../x"),
            ],
            // A link inside, then a file written through a link chain that stays inside.
            &[
                ("d/", Directory, ""),
                ("alias", Symlink, "d"),
                ("alias/f.txt", Regular, "through"),
                ("same", Link, "alias/f.txt"),
            ],
        ];
        let mut messages = Vec::new();
        for (index, entries) in cases.iter().enumerate() {
            let archive = root.path().join(format!("case{index}.tar"));
            raw_tar(&archive, entries);
            let mut host = FakeHost::new(root.path());
            let given =
                [("archiveFilePatterns", format!("case{index}.tar")), ("destinationFolder", format!("out{index}"))];
            let given: Vec<(&str, &str)> = given.iter().map(|(name, value)| (*name, value.as_str())).collect();
            match run_task("ExtractFiles", &given, &mut host) {
                Outcome::Succeeded => {
                    messages.push(format!("case{index}: ok\n{}", read_tree(&root.path().join(format!("out{index}")))))
                }
                outcome => messages.push(failure(outcome, root.path())),
            }
        }
        insta::assert_snapshot!(messages.join("\n"), @r"
        Extraction failed for file: <root>/case0.tar: Refused archive entry ../evil.txt: it would be written outside the destination folder
        Extraction failed for file: <root>/case1.tar: Refused archive entry passwd: it is a symbolic link to /etc/passwd, outside the destination folder
        Extraction failed for file: <root>/case2.tar: Refused archive entry up: it is a symbolic link to ../.., outside the destination folder
        Extraction failed for file: <root>/case3.tar: Refused archive entry hard: it is a hard link to ../secret.txt, outside the destination folder
        Extraction failed for file: <root>/case4.tar: Refused archive entry p/q/evil: it is a symbolic link to top/../x, outside the destination folder
        case5: ok
        alias -> d
        d/f.txt: through
        same: through
        ");
        assert!(!root.path().join("evil.txt").exists());
    }

    #[cfg(unix)]
    #[test]
    fn an_existing_link_in_the_destination_is_not_followed_out() {
        let root = tempfile::tempdir().expect("temporary directory");
        write_tree(root.path(), &[("outside/", ""), ("out/", "")]);
        std::os::unix::fs::symlink(root.path().join("outside"), root.path().join("out/escape")).expect("link");
        zip_with(&root.path().join("a.zip"), &[("escape/file.txt", Some("x"))]);
        let mut host = FakeHost::new(root.path());
        let given =
            [("archiveFilePatterns", "a.zip"), ("destinationFolder", "out"), ("cleanDestinationFolder", "false")];
        insta::assert_snapshot!(failure(run_task("ExtractFiles", &given, &mut host), root.path()), @"Extraction failed for file: <root>/a.zip: Refused archive entry escape/file.txt: it would be written outside the destination folder");
        assert_eq!(read_tree(&root.path().join("outside")), "");
    }

    #[test]
    fn existing_files_are_kept_unless_overwrite_is_on() {
        let root = tempfile::tempdir().expect("temporary directory");
        zip_with(&root.path().join("a.zip"), &[("a.txt", Some("new")), ("b.txt", Some("b"))]);
        write_tree(root.path(), &[("out/a.txt", "old")]);
        let mut host = FakeHost::new(root.path());
        let given =
            [("archiveFilePatterns", "a.zip"), ("destinationFolder", "out"), ("cleanDestinationFolder", "false")];
        assert_eq!(run_task("ExtractFiles", &given, &mut host), Outcome::Succeeded);
        insta::assert_snapshot!(read_tree(&root.path().join("out")), @r"
        a.txt: old
        b.txt: b
        ");
        assert!(log(&host, root.path()).contains(
            "Kept 1 files already in the destination folder (overwriteExistingFiles is false), such as a.txt"
        ));
        let given = [
            ("archiveFilePatterns", "a.zip"),
            ("destinationFolder", "out"),
            ("cleanDestinationFolder", "false"),
            ("overwriteExistingFiles", "true"),
        ];
        assert_eq!(run_task("ExtractFiles", &given, &mut host), Outcome::Succeeded);
        insta::assert_snapshot!(read_tree(&root.path().join("out")), @r"
        a.txt: new
        b.txt: b
        ");
    }

    #[test]
    fn a_single_compressed_file_is_decompressed() {
        let root = tempfile::tempdir().expect("temporary directory");
        let mut encoder = flate2::write::GzEncoder::new(
            std::fs::File::create(root.path().join("notes.txt.gz")).expect("file"),
            flate2::Compression::default(),
        );
        encoder.write_all(b"hello").expect("content");
        encoder.finish().expect("finish");
        let mut encoder =
            xz2::write::XzEncoder::new(std::fs::File::create(root.path().join("data.xz")).expect("file"), 6);
        encoder.write_all(b"xz data").expect("content");
        encoder.finish().expect("finish");
        let mut host = FakeHost::new(root.path());
        let given = [("archiveFilePatterns", "notes.txt.gz\n*.xz"), ("destinationFolder", "out")];
        assert_eq!(run_task("ExtractFiles", &given, &mut host), Outcome::Succeeded);
        insta::assert_snapshot!(read_tree(&root.path().join("out")), @r"
        data: xz data
        notes.txt: hello
        ");
    }

    #[test]
    fn other_formats_go_to_7z_or_tar() {
        let root = tempfile::tempdir().expect("temporary directory");
        write_tree(root.path(), &[("a.7z", "7z\u{bc}\u{af}'\u{1c}"), ("b.rar", "Rar!"), ("c.tar.lz", "LZIP")]);
        let mut host = FakeHost::new(root.path());
        let given = [("archiveFilePatterns", "a.7z\nc.tar.lz"), ("destinationFolder", "out")];
        assert_eq!(run_task("ExtractFiles", &given, &mut host), Outcome::Succeeded);
        let given = [
            ("archiveFilePatterns", "b.rar"),
            ("destinationFolder", "out"),
            ("overwriteExistingFiles", "true"),
            ("pathToSevenZipTool", "/opt/7zip/7zz"),
        ];
        assert_eq!(run_task("ExtractFiles", &given, &mut host), Outcome::Succeeded);
        let commands: Vec<String> = host
            .commands
            .iter()
            .map(|command| command.display().replace(&root.path().display().to_string(), "<root>"))
            .collect();
        insta::assert_snapshot!(commands.join("\n"), @r"
        7z -aos x -o<root>/out <root>/a.7z
        tar -xvf <root>/c.tar.lz --skip-old-files -C <root>/out
        /opt/7zip/7zz -aoa x -o<root>/out <root>/b.rar
        ");
        let mut host = FakeHost::new(root.path()).without_programs();
        let given = [("archiveFilePatterns", "a.7z"), ("destinationFolder", "out")];
        insta::assert_snapshot!(failure(run_task("ExtractFiles", &given, &mut host), root.path()), @"Extracting <root>/a.7z needs the 7z program (7-Zip), which could not be started. Install 7-Zip (p7zip) on the agent or set pathToSevenZipTool; zip, tar (plain, gz, bz2, xz), gz, bz2 and xz files are extracted without it (7z: No such file or directory (os error 2))");
        let mut host = FakeHost::new(root.path());
        host.exit_code = 2;
        insta::assert_snapshot!(failure(run_task("ExtractFiles", &given, &mut host), root.path()), @"Extraction failed for file: <root>/a.7z (7z exited with code 2)");
    }

    #[test]
    fn finding_archives_fails_with_the_task_messages() {
        let root = tempfile::tempdir().expect("temporary directory");
        write_tree(root.path(), &[("folder.zip/", ""), ("file", "x")]);
        let mut host = FakeHost::new(root.path());
        let mut messages = Vec::new();
        for pattern in ["missing.zip", "folder.zip", "nope/*.zip", "file/*.zip"] {
            let given = [("archiveFilePatterns", pattern), ("destinationFolder", "out")];
            messages.push(failure(run_task("ExtractFiles", &given, &mut host), root.path()));
        }
        insta::assert_snapshot!(messages.join("\n"), @r"
        Specified archive: <root>/missing.zip can not be extracted because it can not be accessed: No such file or directory (os error 2)
        Specified archive: <root>/folder.zip can not be extracted because it is a directory.
        Search failed because the specified search directory: <root>/nope does not exist.
        Search failed because the specified search directory: <root>/file is not a directory.
        ");
        let mut host = FakeHost::new(root.path());
        let given = [("archiveFilePatterns", "**/*.{tgz,zip}"), ("destinationFolder", "out")];
        assert_eq!(run_task("ExtractFiles", &given, &mut host), Outcome::Succeeded);
        assert_eq!(host.warnings, vec!["No archives were found using specified file patterns"]);
    }

    #[test]
    fn corrupt_archives_fail_clearly() {
        let root = tempfile::tempdir().expect("temporary directory");
        write_tree(root.path(), &[("bad.zip", "PK\u{3}\u{4}not really"), ("bad.tar.gz", "\u{1f}")]);
        std::fs::write(root.path().join("bad.tar.gz"), [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]).expect("file");
        let mut host = FakeHost::new(root.path());
        for pattern in ["bad.zip", "bad.tar.gz"] {
            let given = [("archiveFilePatterns", pattern), ("destinationFolder", "out")];
            let message = failure(run_task("ExtractFiles", &given, &mut host), root.path());
            assert!(message.starts_with(&format!("Extraction failed for file: <root>/{pattern}: ")), "{message}");
        }
    }

    #[test]
    fn input_validation_errors() {
        let error = resolve("ExtractFiles", &[]).expect_err("invalid");
        insta::assert_snapshot!(error.to_string(), @"Input required: destinationFolder");
        let inputs = resolve("ExtractFiles", &[("destinationFolder", "out")]).expect("valid");
        assert_eq!(inputs.lines("archiveFilePatterns"), vec!["**/*.zip"]);
        assert!(inputs.boolean("cleanDestinationFolder"));
        assert!(!inputs.boolean("overwriteExistingFiles"));
    }
}
