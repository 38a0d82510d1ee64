//! Keeping the server's offline OSV database in the agent's tools directory (`_tool/osv`, where
//! `SlipwayVulnScan` looks), so that vulnerability scans on this machine match against what the
//! server's admins imported.
//!
//! A job message names the server's version of the database (its archive's SHA-256). When the
//! copy here is of another version, the agent downloads the archive once (checked against the
//! digest as it streams), unpacks it into a directory beside the copy, and renames it into place;
//! the copy's version is kept in [`MARKER`] inside it, so it is replaced only when the server's
//! changed. A failed download or unpack leaves the old copy as it was and becomes a warning in the
//! job's log. A `_tool/osv` the server did not put there (no marker: a database made on this
//! machine with `slipway osv import`) is left alone.

use std::path::{Component, Path, PathBuf};

use sha2::Digest as _;
use slipway_protocol::OsvDatabaseRef;

/// The file inside the copy that says which version of the server's database it is.
pub const MARKER: &str = "slipway-osv-server.json";

/// The copy's directory in a tools directory.
const DIRECTORY: &str = "osv";

/// Where a sync takes an archive from: streams the archive of a digest into the sink it is given.
pub type Download<'a> = dyn Fn(&str, &mut Sink<'_>) -> Result<(), String> + 'a;

/// What a download writes into.
pub type Sink<'a> = dyn FnMut(&mut dyn std::io::Read) -> Result<(), String> + 'a;

/// What a sync did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Synced {
    /// The copy is of the server's version already.
    UpToDate,
    /// The copy was replaced by the server's version.
    Updated,
    /// The tools directory's `osv` was not made by the server and was left alone.
    NotOurs,
}

/// Brings the copy in `tools` to version `wanted` from the server `client` talks to, before a
/// job runs: a warning for the job's log when it could not.
#[must_use]
pub fn sync_for_job(client: &slipway_client::AgentClient, tools: &Path, wanted: &OsvDatabaseRef) -> Option<String> {
    let download = |digest: &str, sink: &mut Sink<'_>| {
        client.download_osv(digest, |reader| sink(reader)).map_err(|error| error.to_string())
    };
    let short: String = wanted.digest.chars().take(12).collect();
    match sync(tools, wanted, &download) {
        Ok(Synced::UpToDate | Synced::Updated) => None,
        Ok(Synced::NotOurs) => Some(format!(
            "{} was not made by the server: SlipwayVulnScan uses it, not the server's OSV database (version {short}); \
             remove it to use the server's",
            tools.join(DIRECTORY).display()
        )),
        Err(reason) => Some(match kept_version(&tools.join(DIRECTORY)) {
            Some(old) => format!(
                "the server's OSV database (version {short}) could not be brought to this agent ({reason}): \
                 SlipwayVulnScan uses the older copy (version {})",
                old.chars().take(12).collect::<String>()
            ),
            None => format!(
                "the server's OSV database (version {short}) could not be brought to this agent ({reason}): \
                 SlipwayVulnScan has no database here"
            ),
        }),
    }
}

/// The version kept in a copy.
#[derive(serde::Serialize, serde::Deserialize)]
struct Marker {
    digest: String,
}

/// Brings `tools/osv` to version `wanted`, downloading with `download` (which streams the archive
/// of a digest into the writer it is given).
///
/// # Errors
/// A sentence saying what failed; the old copy, if any, is as it was.
pub fn sync(tools: &Path, wanted: &OsvDatabaseRef, download: &Download<'_>) -> Result<Synced, String> {
    let target = tools.join(DIRECTORY);
    std::fs::create_dir_all(tools).map_err(|error| format!("{}: {error}", tools.display()))?;
    recover(tools, &target);
    match kept_version(&target) {
        Some(digest) if digest == wanted.digest => return Ok(Synced::UpToDate),
        None if target.exists() => return Ok(Synced::NotOurs),
        _ => {}
    }
    let id = std::process::id();
    let archive = tools.join(format!(".osv-download-{id}.tar.gz"));
    let unpacked = tools.join(format!(".osv-new-{id}"));
    let result = fetch_and_unpack(&archive, &unpacked, wanted, download).and_then(|()| swap(tools, &target, &unpacked));
    let _ = std::fs::remove_file(&archive);
    let _ = std::fs::remove_dir_all(&unpacked);
    result.map(|()| Synced::Updated)
}

/// The version of the copy at `target`, when the server put it there.
fn kept_version(target: &Path) -> Option<String> {
    let text = std::fs::read_to_string(target.join(MARKER)).ok()?;
    serde_json::from_str::<Marker>(&text).ok().map(|marker| marker.digest)
}

/// Puts back a copy moved aside by a sync that was stopped between its two renames, and removes
/// what stopped syncs left.
fn recover(tools: &Path, target: &Path) {
    let Ok(entries) = std::fs::read_dir(tools) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(".osv-old-") && !target.exists() {
            if let Err(error) = std::fs::rename(entry.path(), target) {
                tracing::warn!(from = %entry.path().display(), to = %target.display(), %error, "could not put back the OSV database a stopped sync moved aside");
            }
        } else if name.starts_with(".osv-") {
            let path = entry.path();
            let _ = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
        }
    }
}

/// Downloads the archive (checking its size and digest) and unpacks it into `unpacked`, with the
/// marker.
fn fetch_and_unpack(
    archive: &Path,
    unpacked: &Path,
    wanted: &OsvDatabaseRef,
    download: &Download<'_>,
) -> Result<(), String> {
    let mut write = |reader: &mut dyn std::io::Read| -> Result<(), String> {
        let mut file = std::fs::File::create(archive).map_err(|error| format!("{}: {error}", archive.display()))?;
        let mut hasher = sha2::Sha256::new();
        let mut buffer = vec![0_u8; 256 * 1024];
        let mut received = 0_u64;
        loop {
            let count = reader.read(&mut buffer).map_err(|error| format!("the download broke off: {error}"))?;
            if count == 0 {
                break;
            }
            received += count as u64;
            if received > wanted.bytes {
                return Err(format!("the server sent more than the {} bytes the job named", wanted.bytes));
            }
            hasher.update(&buffer[..count]);
            std::io::Write::write_all(&mut file, &buffer[..count])
                .map_err(|error| format!("{}: {error}", archive.display()))?;
        }
        let digest = format!("{:x}", hasher.finalize());
        if digest != wanted.digest {
            return Err(format!("the archive's SHA-256 is {digest}, not the {} the job named", wanted.digest));
        }
        file.sync_all().map_err(|error| format!("{}: {error}", archive.display()))
    };
    download(&wanted.digest, &mut write)?;
    let _ = std::fs::remove_dir_all(unpacked);
    std::fs::create_dir_all(unpacked).map_err(|error| format!("{}: {error}", unpacked.display()))?;
    let file = std::fs::File::open(archive).map_err(|error| format!("{}: {error}", archive.display()))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let entries = tar.entries().map_err(|error| format!("the archive cannot be read: {error}"))?;
    for entry in entries {
        let mut entry = entry.map_err(|error| format!("the archive cannot be read: {error}"))?;
        let path = entry.path().map_err(|error| format!("the archive names a bad path: {error}"))?.into_owned();
        if path.components().any(|part| !matches!(part, Component::Normal(_) | Component::CurDir)) {
            return Err(format!("the archive holds {}, which is not a plain relative path", path.display()));
        }
        let destination: PathBuf = unpacked.join(&path);
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            std::fs::create_dir_all(&destination).map_err(|error| format!("{}: {error}", destination.display()))?;
        } else if kind.is_file() {
            if let Some(parent) = destination.parent() {
                std::fs::create_dir_all(parent).map_err(|error| format!("{}: {error}", parent.display()))?;
            }
            let mut out =
                std::fs::File::create(&destination).map_err(|error| format!("{}: {error}", destination.display()))?;
            std::io::copy(&mut entry, &mut out).map_err(|error| format!("{}: {error}", destination.display()))?;
        } else {
            return Err(format!("the archive holds {}, which is not a file or directory", path.display()));
        }
    }
    if !unpacked.join("slipway-osv.json").is_file() {
        return Err("the archive holds no OSV database (no slipway-osv.json)".to_owned());
    }
    let marker = serde_json::to_string(&Marker { digest: wanted.digest.clone() }).unwrap_or_default();
    std::fs::write(unpacked.join(MARKER), marker).map_err(|error| format!("{}: {error}", unpacked.display()))
}

/// Replaces `target` with `unpacked`: the old copy is moved aside, the new one renamed into
/// place, the old one removed.
fn swap(tools: &Path, target: &Path, unpacked: &Path) -> Result<(), String> {
    let aside = tools.join(format!(".osv-old-{}", std::process::id()));
    let had_old = target.exists();
    if had_old {
        std::fs::rename(target, &aside).map_err(|error| format!("{}: {error}", target.display()))?;
    }
    if let Err(error) = std::fs::rename(unpacked, target) {
        if had_old && let Err(restore) = std::fs::rename(&aside, target) {
            tracing::warn!(from = %aside.display(), to = %target.display(), error = %restore, "could not put back the OSV database after a failed sync");
        }
        return Err(format!("{}: {error}", target.display()));
    }
    if had_old {
        let _ = std::fs::remove_dir_all(&aside);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tar.gz of a one-file database, and its digest.
    fn archive() -> (Vec<u8>, OsvDatabaseRef) {
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
        let meta = br#"{"format":1,"ecosystems":{}}"#;
        let mut header = tar::Header::new_gnu();
        header.set_size(meta.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        assert!(builder.append_data(&mut header, "slipway-osv.json", &meta[..]).is_ok());
        let bytes = builder.into_inner().and_then(flate2::write::GzEncoder::finish).unwrap_or_default();
        let digest = format!("{:x}", sha2::Sha256::digest(&bytes));
        let reference = OsvDatabaseRef { digest, bytes: bytes.len() as u64 };
        (bytes, reference)
    }

    fn tools() -> PathBuf {
        let path = std::env::temp_dir().join(format!(
            "slipway-osv-sync-{}-{}",
            std::process::id(),
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |time| time.as_nanos())
        ));
        let _ = std::fs::remove_dir_all(&path);
        path
    }

    #[test]
    fn downloads_once_per_version_and_keeps_the_old_copy_on_failure() {
        let tools = tools();
        let (bytes, reference) = archive();
        let downloads = std::cell::Cell::new(0);
        let serve = |_: &str, sink: &mut Sink<'_>| {
            downloads.set(downloads.get() + 1);
            sink(&mut &bytes[..])
        };
        assert_eq!(sync(&tools, &reference, &serve), Ok(Synced::Updated));
        assert_eq!(sync(&tools, &reference, &serve), Ok(Synced::UpToDate));
        assert_eq!(downloads.get(), 1);
        assert!(tools.join("osv/slipway-osv.json").is_file());

        // A newer version whose download is corrupted: the old copy stays.
        let newer = OsvDatabaseRef { digest: "0".repeat(64), bytes: reference.bytes };
        let error = sync(&tools, &newer, &serve).err().unwrap_or_default();
        assert!(error.contains("SHA-256"), "{error}");
        assert_eq!(kept_version(&tools.join("osv")), Some(reference.digest.clone()));
        let failing = |_: &str, _: &mut Sink<'_>| Err("the server could not be reached".to_owned());
        assert!(sync(&tools, &newer, &failing).is_err());
        assert!(tools.join("osv/slipway-osv.json").is_file());
        let leftovers: Vec<_> = std::fs::read_dir(&tools)
            .map(|entries| entries.flatten().map(|entry| entry.file_name()).collect())
            .unwrap_or_default();
        assert_eq!(leftovers, vec![std::ffi::OsString::from("osv")]);
        let _ = std::fs::remove_dir_all(&tools);
    }

    #[test]
    fn a_failed_fetch_is_a_warning_naming_the_copy_used() {
        let tools = tools();
        let reference = OsvDatabaseRef { digest: "1".repeat(64), bytes: 10 };
        // Nothing listens on port 9 of the loopback: the download fails at once.
        let client = slipway_client::AgentClient::new("http://127.0.0.1:9").ok();
        let warning = client.and_then(|client| sync_for_job(&client, &tools, &reference)).unwrap_or_default();
        assert!(
            warning.contains("could not be brought to this agent") && warning.contains("no database here"),
            "{warning}"
        );
        let _ = std::fs::remove_dir_all(&tools);
    }

    #[test]
    fn a_database_made_on_the_machine_is_left_alone() {
        let tools = tools();
        assert!(std::fs::create_dir_all(tools.join("osv")).is_ok());
        let (bytes, reference) = archive();
        let serve = |_: &str, sink: &mut Sink<'_>| sink(&mut &bytes[..]);
        assert_eq!(sync(&tools, &reference, &serve), Ok(Synced::NotOurs));
        assert!(!tools.join("osv").join(MARKER).exists());
        let _ = std::fs::remove_dir_all(&tools);
    }
}
