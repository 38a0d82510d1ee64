//! Built-in tasks: cache. `Cache@2` restores a directory from a local cache store when the step
//! runs and saves it in a post-job step, as Azure's pipeline caching does.
//!
//! The key is split into segments at `|` (and line breaks). A segment that looks like a path (it
//! has a `.` or a `/` and does not end with `.`, unless it is quoted) is a comma-separated list of
//! file patterns, `!` excluding, relative to `System.DefaultWorkingDirectory`; it stands for the
//! hash of the files it matches, computed as the agent's fingerprint does (each file's SHA-256,
//! in path order, with its path relative to `Pipeline.Workspace` and its length, hashed again and
//! written in base64). Other segments are kept as written. The resolved segments, joined by `|`,
//! name a cache entry.
//!
//! On an exact hit `cacheHitVar` is `true`; otherwise each restore key (one per line, resolved the
//! same way) is tried as a prefix of whole segments, newest entry first, giving `inexact`; with
//! nothing found it is `false`. The post-job step saves the directory under the key unless there
//! was an exact hit or an entry with that key exists by then; it runs only when the job has
//! succeeded so far.
//!
//! The store (`TaskHost::cache_directory`) holds one directory per entry, named by the SHA-256 of
//! its key, with the key, its creation time and the cached files (`data/`). Entries are written
//! to a temporary name and renamed into place, so a reader never sees half an entry.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::Builtin;
use crate::{InputSpec, Inputs, Outcome, SetVariable, TaskHost};

/// The tasks of this module.
pub static TASKS: &[Builtin] = &[Builtin {
    name: "Cache",
    id: "d53ccab4-555e-4494-9d06-11db043fb4a9",
    majors: &[2],
    inputs: cache_inputs,
    run: run_cache,
}];

fn cache_inputs(_major: u32) -> Vec<InputSpec> {
    vec![
        InputSpec::string("key").required(),
        InputSpec::path("path").required(),
        InputSpec::string("cacheHitVar"),
        InputSpec::lines("restoreKeys"),
    ]
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02X}")).collect()
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let value =
            chunk.iter().enumerate().fold(0_u32, |value, (index, &byte)| value | u32::from(byte) << (16 - 8 * index));
        for index in 0..4 {
            if index <= chunk.len() {
                let sextet = (value >> (18 - 6 * index)) & 0x3f;
                out.push(char::from(ALPHABET[sextet as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Whether a key segment names files, by the agent's rule.
fn is_path_segment(segment: &str) -> bool {
    if segment.len() >= 2 && segment.starts_with('"') && segment.ends_with('"') {
        return false;
    }
    if segment.contains('\0') {
        return false;
    }
    (segment.contains('.') || segment.contains('/')) && !segment.ends_with('.')
}

/// What is wrong with a cache key (the agent's words; a failed key lists them, `; `-separated).
#[derive(Debug, thiserror::Error)]
enum KeyProblem {
    /// No segments at all.
    #[error("The key is empty.")]
    Empty,
    /// `*` or `**` alone, which the agent reserves.
    #[error("`{0}` is a reserved key segment. For path glob, use `./{0}`.")]
    Reserved(&'static str),
    /// A segment starting with a quote.
    #[error("A key segment cannot start with a single-quote character`.")]
    SingleQuote,
    /// A segment starting with a backtick.
    #[error("A key segment cannot start with a backtick character`.")]
    Backtick,
    /// A file segment with exclusions only.
    #[error("No include rules specified.")]
    NoIncludeRules,
    /// A file a segment matched cannot be read.
    #[error("Could not read {}: {source}", file.display())]
    Read { file: PathBuf, source: std::io::Error },
    /// A file pattern matching nothing.
    #[error("No matching files found for pattern: {0}")]
    NoMatch(String),
    /// A file segment naming no file.
    #[error("File not found: {0}")]
    FileNotFound(String),
}

/// Every problem of a key, as the failure line lists them.
fn listed(problems: &[KeyProblem]) -> String {
    problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

/// Refuses the segments the agent reserves.
fn check_segment(segment: &str) -> Result<(), KeyProblem> {
    match segment {
        "*" => Err(KeyProblem::Reserved("*")),
        "**" => Err(KeyProblem::Reserved("**")),
        _ if segment.starts_with('\'') => Err(KeyProblem::SingleQuote),
        _ if segment.starts_with('`') => Err(KeyProblem::Backtick),
        _ => Ok(()),
    }
}

/// A file a path segment matched.
struct Matched {
    display: String,
    length: u64,
    hash: String,
}

fn hash_file(path: &Path) -> std::io::Result<(u64, String)> {
    use std::io::Read as _;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0_u8; 64 * 1024];
    let mut length = 0_u64;
    loop {
        let count = file.read(&mut buffer)?;
        if count == 0 {
            break;
        }
        hasher.update(&buffer[..count]);
        length += count as u64;
    }
    Ok((length, hex_upper(&hasher.finalize())))
}

/// The agent's `SHA256(path)=[length]HASH` summary of matched files, hashed and in base64.
fn fingerprint(matches: &[Matched]) -> String {
    let summary: String =
        matches.iter().map(|file| format!("\nSHA256({})=[{}]{}", file.display, file.length, file.hash)).collect();
    base64(&Sha256::digest(summary.as_bytes()))
}

/// A key after its file segments were hashed.
struct Resolved {
    segments: Vec<String>,
}

impl Resolved {
    fn text(&self) -> String {
        self.segments.join("|")
    }
}

/// Resolves a key (or restore key): every segment, logged as the agent logs it.
fn resolve_key(key: &str, host: &mut dyn TaskHost) -> Result<Resolved, Vec<KeyProblem>> {
    let segments: Vec<&str> = key.split(['|', '\n']).map(str::trim).filter(|segment| !segment.is_empty()).collect();
    if segments.is_empty() {
        return Err(vec![KeyProblem::Empty]);
    }
    let problems: Vec<KeyProblem> = segments.iter().filter_map(|segment| check_segment(segment).err()).collect();
    if !problems.is_empty() {
        return Err(problems);
    }
    let base = host.working_directory();
    let display_root = host.variable("Pipeline.Workspace").map_or_else(|| base.clone(), PathBuf::from);
    let width = segments.iter().map(|segment| segment.chars().count()).max().unwrap_or(0).min(50);
    let mut resolved = Vec::new();
    let mut problems = Vec::new();
    for segment in segments {
        if !is_path_segment(segment) {
            host.log(&format!(" - {segment:<width$} [string]"));
            resolved.push(segment.to_owned());
            continue;
        }
        let rules: Vec<&str> = segment.split(',').map(str::trim).filter(|rule| !rule.is_empty()).collect();
        let includes: Vec<String> =
            rules.iter().filter(|rule| !rule.starts_with('!')).map(|&rule| rule.to_owned()).collect();
        if includes.is_empty() {
            problems.push(KeyProblem::NoIncludeRules);
            continue;
        }
        let patterns: Vec<String> = includes
            .into_iter()
            .chain(rules.iter().filter(|rule| rule.starts_with('!')).map(|&rule| rule.to_owned()))
            .collect();
        let mut files: Vec<PathBuf> =
            crate::glob::find_match(&base, &patterns).into_iter().filter(|path| path.is_file()).collect();
        files.sort();
        let mut matches = Vec::new();
        for file in &files {
            match hash_file(file) {
                Ok((length, hash)) => {
                    let display = relative(file, &display_root);
                    matches.push(Matched { display, length, hash });
                }
                Err(source) => problems.push(KeyProblem::Read { file: file.clone(), source }),
            }
        }
        let is_pattern = segment.contains(['*', '?', '[', ']']) || matches.len() > 1;
        if is_pattern {
            host.log(&format!(" - {segment:<width$} [file pattern; matches: {}]", matches.len()));
            for file in &matches {
                host.log(&format!("   - {} --> {}", file.display, file.hash));
            }
        } else {
            let hash = matches.first().map_or_else(|| "(not found)".to_owned(), |file| format!("--> {}", file.hash));
            host.log(&format!(" - {segment:<width$} [file] {hash}"));
        }
        if matches.is_empty() {
            problems.push(if is_pattern {
                KeyProblem::NoMatch(segment.to_owned())
            } else {
                KeyProblem::FileNotFound(segment.to_owned())
            });
        }
        resolved.push(fingerprint(&matches));
    }
    if problems.is_empty() { Ok(Resolved { segments: resolved }) } else { Err(problems) }
}

/// `path` relative to `base`, with `..` where needed, as .NET's `Path.GetRelativePath` gives it.
fn relative(path: &Path, base: &Path) -> String {
    let path_parts: Vec<_> = path.components().collect();
    let base_parts: Vec<_> = base.components().collect();
    let common = path_parts.iter().zip(&base_parts).take_while(|(left, right)| left == right).count();
    if common == 0 {
        return path.display().to_string();
    }
    let mut parts: Vec<String> = vec!["..".to_owned(); base_parts.len() - common];
    parts.extend(path_parts[common..].iter().map(|part| part.as_os_str().to_string_lossy().into_owned()));
    parts.join("/")
}

/// The directory of the entry for a key.
fn entry_directory(store: &Path, key: &str) -> PathBuf {
    store.join("entries").join(hex_lower(&Sha256::digest(key.as_bytes())))
}

/// An entry of the store.
struct Entry {
    directory: PathBuf,
    key: String,
    created: u128,
}

fn entries(store: &Path) -> Vec<Entry> {
    let Ok(listing) = std::fs::read_dir(store.join("entries")) else { return Vec::new() };
    listing
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|directory| directory.join("data").exists())
        .filter_map(|directory| {
            let key = std::fs::read_to_string(directory.join("key")).ok()?;
            let created = std::fs::read_to_string(directory.join("created")).ok()?.trim().parse().ok()?;
            Some(Entry { directory, key, created })
        })
        .collect()
}

/// Copies a tree, keeping symbolic links as links. Returns how many files it copied.
fn copy_tree(source: &Path, target: &Path) -> std::io::Result<u64> {
    let metadata = std::fs::symlink_metadata(source)?;
    if metadata.file_type().is_symlink() {
        let link = std::fs::read_link(source)?;
        if std::fs::symlink_metadata(target).is_ok() {
            if target.is_dir() && !std::fs::symlink_metadata(target)?.file_type().is_symlink() {
                std::fs::remove_dir_all(target)?;
            } else {
                std::fs::remove_file(target)?;
            }
        }
        std::os::unix::fs::symlink(link, target)?;
        return Ok(1);
    }
    if metadata.is_dir() {
        std::fs::create_dir_all(target)?;
        let mut count = 0;
        for entry in std::fs::read_dir(source)? {
            let entry = entry?;
            count += copy_tree(&entry.path(), &target.join(entry.file_name()))?;
        }
        return Ok(count);
    }
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent)?;
    }
    if std::fs::symlink_metadata(target).is_ok_and(|existing| existing.file_type().is_symlink()) {
        std::fs::remove_file(target)?;
    }
    std::fs::copy(source, target)?;
    Ok(1)
}

fn now_nanos() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_nanos())
}

/// Saves `path` under `key` in the store, unless an entry with that key is there already.
fn save(store: &Path, key: &str, path: &Path, host: &mut dyn TaskHost) -> Outcome {
    let final_directory = entry_directory(store, key);
    if final_directory.join("data").exists() {
        host.log(&format!("Cache with fingerprint `{key}` already exists."));
        return Outcome::Succeeded;
    }
    if !path.exists() {
        host.warning(&format!("The path {} does not exist, so there is nothing to cache.", path.display()));
        return Outcome::Succeeded;
    }
    let staging = store.join("entries").join(format!(".saving-{}-{}", std::process::id(), now_nanos()));
    let written = (|| -> std::io::Result<u64> {
        std::fs::create_dir_all(&staging)?;
        let count = copy_tree(path, &staging.join("data"))?;
        std::fs::write(staging.join("key"), key)?;
        std::fs::write(staging.join("created"), now_nanos().to_string())?;
        Ok(count)
    })();
    let count = match written {
        Ok(count) => count,
        Err(error) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Outcome::failed(format!("Could not save the cache: {error}"));
        }
    };
    if std::fs::rename(&staging, &final_directory).is_err() {
        // Another job saved the same key first; its entry stands.
        let _ = std::fs::remove_dir_all(&staging);
        host.log(&format!("Cache with fingerprint `{key}` already exists."));
        return Outcome::Succeeded;
    }
    host.log(&format!("Saved {count} files of {} to the cache under `{key}`.", path.display()));
    host.log("Cache saved successfully.");
    Outcome::Succeeded
}

fn run_cache(_major: u32, inputs: &Inputs, host: &mut dyn TaskHost) -> Outcome {
    let path = host.working_directory().join(inputs.text("path"));
    let store = host.cache_directory();
    host.log("Resolving key:");
    let key = match resolve_key(inputs.text("key"), host) {
        Ok(key) => key,
        Err(problems) => return Outcome::Failed(listed(&problems)),
    };
    let key_text = key.text();
    host.log(&format!("Resolved to: {key_text}"));
    let mut restore_keys = Vec::new();
    for line in inputs.lines("restoreKeys") {
        host.log("Resolving restore key:");
        match resolve_key(&line, host) {
            Ok(resolved) => {
                host.log(&format!("Resolved to: {}", resolved.text()));
                restore_keys.push(resolved);
            }
            Err(problems) => return Outcome::Failed(listed(&problems)),
        }
    }

    let exact = entry_directory(&store, &key_text);
    let found = if exact.join("data").is_dir() {
        Some((exact, true))
    } else {
        let mut known = entries(&store);
        known.sort_by_key(|entry| std::cmp::Reverse(entry.created));
        restore_keys.iter().find_map(|restore| {
            known
                .iter()
                .find(|entry| {
                    let segments: Vec<&str> = entry.key.split('|').collect();
                    segments.len() >= restore.segments.len()
                        && restore.segments.iter().zip(&segments).all(|(wanted, have)| wanted == have)
                })
                .map(|entry| {
                    host.log(&format!("Restore key `{}` matched the entry `{}`.", restore.text(), entry.key));
                    (entry.directory.clone(), false)
                })
        })
    };
    let hit = match found {
        Some((directory, exact_hit)) => {
            if exact_hit {
                host.log(&format!("Entry found at fingerprint: `{key_text}`"));
            }
            match copy_tree(&directory.join("data"), &path) {
                Ok(count) => host.log(&format!("Restored {count} files to {}.", path.display())),
                Err(error) => {
                    return Outcome::failed(format!("Could not restore the cache to {}: {error}", path.display()));
                }
            }
            if exact_hit { "true" } else { "inexact" }
        }
        None => {
            host.log("There is a cache miss.");
            "false"
        }
    };
    if let Some(variable) = inputs.get("cacheHitVar") {
        host.set_variable(variable, hit, SetVariable::default());
    }
    let exact_hit = hit == "true";
    host.post_job(
        "Cache",
        Box::new(move |host: &mut dyn TaskHost| {
            if exact_hit {
                host.log(&format!("Skipping the save: there was a cache hit on the key `{key_text}`."));
                return Outcome::Succeeded;
            }
            let store = host.cache_directory();
            save(&store, &key_text, &path, host)
        }),
    );
    Outcome::Succeeded
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::FakeHost;

    fn given(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()
    }

    fn run(pairs: &[(&str, &str)], host: &mut FakeHost) -> Outcome {
        let inputs = Inputs::resolve(&cache_inputs(2), &given(pairs)).unwrap_or_else(|error| panic!("{error}"));
        run_cache(2, &inputs, host)
    }

    fn write(path: &Path, text: &str) {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|error| panic!("{error}"));
        }
        std::fs::write(path, text).unwrap_or_else(|error| panic!("{error}"));
    }

    fn hit_value(host: &FakeHost) -> Option<String> {
        host.set.iter().rev().find(|(name, _, _)| name == "hit").map(|(_, value, _)| value.clone())
    }

    #[test]
    fn base64_pads_like_the_standard() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn segments_that_look_like_paths_are_files() {
        assert!(is_path_segment("yarn.lock"));
        assert!(is_path_segment("**/package-lock.json"));
        assert!(is_path_segment("src/deps"));
        assert!(!is_path_segment("yarn"));
        assert!(!is_path_segment("\"v1.2\""));
        assert!(!is_path_segment("version."));
        assert!(check_segment("**").is_err());
        assert!(check_segment("'quoted'").is_err());
        assert_eq!(relative(Path::new("/a/b/c.txt"), Path::new("/a/x")), "../b/c.txt");
    }

    #[test]
    fn misses_then_saves_in_the_post_job_then_hits_exactly() {
        let directory = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        write(&directory.path().join("deps.lock"), "v1");
        write(&directory.path().join("deps/lib.txt"), "library");
        let inputs = [("key", "deps | \"$(Agent.OS)\" | deps.lock"), ("path", "deps"), ("cacheHitVar", "hit")];
        let mut host = FakeHost::new(directory.path());
        assert_eq!(run(&inputs, &mut host), Outcome::Succeeded);
        assert_eq!(hit_value(&host).as_deref(), Some("false"));
        assert!(host.log.iter().any(|line| line.contains("[file] -->")), "{:?}", host.log);
        assert_eq!(host.post_jobs.len(), 1);
        assert_eq!(host.run_post_jobs(), vec![Outcome::Succeeded]);
        assert!(host.log.contains(&"Cache saved successfully.".to_owned()), "{:?}", host.log);

        std::fs::remove_dir_all(directory.path().join("deps")).unwrap_or_else(|error| panic!("{error}"));
        let mut host = FakeHost::new(directory.path());
        assert_eq!(run(&inputs, &mut host), Outcome::Succeeded);
        assert_eq!(hit_value(&host).as_deref(), Some("true"));
        assert_eq!(std::fs::read_to_string(directory.path().join("deps/lib.txt")).ok().as_deref(), Some("library"));
        host.run_post_jobs();
        assert!(host.log.iter().any(|line| line.starts_with("Skipping the save")), "{:?}", host.log);
    }

    #[test]
    fn restore_keys_match_whole_segments_newest_first() {
        let directory = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        let store = directory.path().join(".cache-store");
        for (version, content) in [("1", "old"), ("2", "new")] {
            write(&directory.path().join("deps/lib.txt"), content);
            let mut host = FakeHost::new(directory.path());
            assert_eq!(
                save(&store, &format!("deps|Linux|{version}"), &directory.path().join("deps"), &mut host),
                Outcome::Succeeded
            );
        }
        std::fs::remove_dir_all(directory.path().join("deps")).unwrap_or_else(|error| panic!("{error}"));
        let mut host = FakeHost::new(directory.path());
        let outcome = run(
            &[
                ("key", "deps|Linux|3"),
                ("path", "deps"),
                ("cacheHitVar", "hit"),
                ("restoreKeys", "deps|Lin\ndeps | Linux"),
            ],
            &mut host,
        );
        assert_eq!(outcome, Outcome::Succeeded);
        assert_eq!(hit_value(&host).as_deref(), Some("inexact"));
        assert_eq!(std::fs::read_to_string(directory.path().join("deps/lib.txt")).ok().as_deref(), Some("new"));
    }

    #[test]
    fn file_segments_must_match_files() {
        let directory = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        let mut host = FakeHost::new(directory.path());
        let outcome = run(&[("key", "x | missing.lock | **/*.json"), ("path", "deps")], &mut host);
        assert_eq!(
            outcome,
            Outcome::failed("File not found: missing.lock; No matching files found for pattern: **/*.json")
        );
        let error = Inputs::resolve(&cache_inputs(2), &given(&[("key", "k")])).expect_err("path is required");
        assert_eq!(error.to_string(), "Input required: path");
    }

    #[test]
    fn file_hashes_depend_on_content_in_path_order() {
        let directory = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        write(&directory.path().join("a/x.lock"), "1");
        write(&directory.path().join("b/x.lock"), "2");
        let key = |host: &mut FakeHost| resolve_key("**/x.lock", host).map(|key| key.text()).unwrap_or_default();
        let mut host = FakeHost::new(directory.path());
        let first = key(&mut host);
        assert_eq!(first, key(&mut host), "stable");
        write(&directory.path().join("b/x.lock"), "3");
        assert_ne!(first, key(&mut host), "content counts");
    }
}
