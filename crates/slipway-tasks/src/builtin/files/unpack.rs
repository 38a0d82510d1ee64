//! Writing archive entries into a destination folder without ever writing outside it.
//!
//! Every entry name is checked before anything is written: an absolute name, a name with a `..`
//! component, or (on the way to it) a symbolic link or a folder leading outside the destination
//! is refused with an error naming the entry (zip-slip). A symbolic link entry must point inside
//! the destination; a hard link entry must name another entry inside it. Folders are created one
//! component at a time, so that an existing link on the way is seen before it is followed.

use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use super::support::Failure;

/// What an unpacked entry is.
pub(super) enum EntryKind<'a> {
    /// A folder.
    Directory,
    /// A file and its content.
    File(&'a mut dyn Read),
    /// A symbolic link to a path (relative to the link's folder, or absolute).
    Symlink(PathBuf),
    /// A hard link to another entry of the archive (a path relative to the destination).
    HardLink(PathBuf),
}

/// Writes entries below a destination folder.
pub(super) struct Unpacker {
    /// The destination, canonical (symbolic links resolved).
    destination: PathBuf,
    /// Whether an existing file is replaced (otherwise it is kept, and the entry skipped).
    overwrite: bool,
    /// Entries written.
    pub(super) written: usize,
    /// Entries not written because a file was there already.
    pub(super) kept: Vec<PathBuf>,
    /// Entries of kinds that are not unpacked (devices, pipes), by name.
    pub(super) ignored: Vec<String>,
}

impl Unpacker {
    /// An unpacker into `destination`, which must exist.
    pub(super) fn new(destination: &Path, overwrite: bool) -> Result<Self, Failure> {
        let destination = std::fs::canonicalize(destination)
            .map_err(|error| format!("Cannot use the destination folder {}: {error}", destination.display()))?;
        Ok(Self { destination, overwrite, written: 0, kept: Vec::new(), ignored: Vec::new() })
    }

    /// Notes an entry that is not unpacked.
    pub(super) fn ignore(&mut self, name: &str) {
        self.ignored.push(name.to_owned());
    }

    /// Writes one entry. `mode` holds Unix permission bits, when the archive has them.
    pub(super) fn entry(
        &mut self,
        name: &Path,
        kind: EntryKind<'_>,
        mode: Option<u32>,
        modified: Option<SystemTime>,
    ) -> Result<(), Failure> {
        let Some(relative) = checked_relative(name)? else { return Ok(()) };
        let full = self.destination.join(&relative);
        let Some(parent) = full.parent() else { return Ok(()) };
        self.create_folders(parent, name)?;
        let existing = std::fs::symlink_metadata(&full).ok();

        if let EntryKind::Directory = kind {
            match existing {
                None => create_directory(&full)?,
                Some(metadata) if metadata.is_dir() => {}
                Some(metadata) if metadata.file_type().is_symlink() => {
                    self.check_inside(&full, name)?;
                }
                Some(_) if self.overwrite => {
                    std::fs::remove_file(&full).map_err(|error| write_failed(&full, &error))?;
                    create_directory(&full)?;
                }
                Some(_) => {
                    return Err(format!(
                        "Cannot extract the folder {}: a file is in the way at {}",
                        name.display(),
                        full.display()
                    ));
                }
            }
            set_mode(&full, mode.map(|mode| mode | 0o700));
            self.written += 1;
            return Ok(());
        }

        if let Some(metadata) = existing {
            if metadata.is_dir() {
                return Err(format!("Cannot extract {}: {} is a folder", name.display(), full.display()));
            }
            if !self.overwrite {
                self.kept.push(relative);
                return Ok(());
            }
            std::fs::remove_file(&full).map_err(|error| write_failed(&full, &error))?;
        }
        match kind {
            EntryKind::Directory => {}
            EntryKind::File(reader) => {
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&full)
                    .map_err(|error| write_failed(&full, &error))?;
                std::io::copy(reader, &mut file).map_err(|error| write_failed(&full, &error))?;
                if let Some(modified) = modified {
                    // Keeping the time is a courtesy; failing to is not an error.
                    if let Err(error) = file.set_modified(modified) {
                        tracing::warn!(path = %full.display(), %error, "could not keep the modification time of an extracted file");
                    }
                }
                drop(file);
                set_mode(&full, mode);
            }
            EntryKind::Symlink(target) => {
                let inside =
                    resolve_physically(parent, &target).is_some_and(|resolved| resolved.starts_with(&self.destination));
                if !inside {
                    return Err(format!(
                        "Refused archive entry {}: it is a symbolic link to {}, outside the destination folder",
                        name.display(),
                        target.display()
                    ));
                }
                make_symlink(&target, &full)?;
            }
            EntryKind::HardLink(target) => {
                let escapes = || {
                    format!(
                        "Refused archive entry {}: it is a hard link to {}, outside the destination folder",
                        name.display(),
                        target.display()
                    )
                };
                let target_relative = checked_relative(&target).map_err(|_| escapes())?.ok_or_else(escapes)?;
                let target_full = self.destination.join(target_relative);
                self.check_inside(&target_full, name).map_err(|_| escapes())?;
                if std::fs::hard_link(&target_full, &full).is_err() {
                    std::fs::copy(&target_full, &full).map_err(|error| write_failed(&full, &error))?;
                }
            }
        }
        self.written += 1;
        Ok(())
    }

    /// Creates the folders from the destination down to `folder`, refusing to go through
    /// anything that leads outside the destination.
    fn create_folders(&self, folder: &Path, name: &Path) -> Result<(), Failure> {
        let Ok(below) = folder.strip_prefix(&self.destination) else {
            return Err(outside(name));
        };
        let mut current = self.destination.clone();
        for component in below.components() {
            current.push(component);
            match std::fs::symlink_metadata(&current) {
                Ok(metadata) if metadata.file_type().is_symlink() => {
                    self.check_inside(&current, name)?;
                    if !std::fs::metadata(&current).is_ok_and(|metadata| metadata.is_dir()) {
                        return Err(format!(
                            "Cannot extract {}: {} is not a folder",
                            name.display(),
                            current.display()
                        ));
                    }
                }
                Ok(metadata) if metadata.is_dir() => {}
                Ok(_) => {
                    return Err(format!("Cannot extract {}: {} is not a folder", name.display(), current.display()));
                }
                Err(_) => create_directory(&current)?,
            }
        }
        Ok(())
    }

    /// Fails unless `path`, with its links resolved, is inside the destination.
    fn check_inside(&self, path: &Path, name: &Path) -> Result<(), Failure> {
        match std::fs::canonicalize(path) {
            Ok(real) if real.starts_with(&self.destination) => Ok(()),
            _ => Err(outside(name)),
        }
    }
}

/// Where `target`, a symbolic link's target, leads from the folder `start`: `..` goes up from
/// where the path really is, so links met on the way are followed. `None` for an absolute
/// target, or one that goes through a link that leads nowhere (it could lead anywhere later).
fn resolve_physically(start: &Path, target: &Path) -> Option<PathBuf> {
    let mut current = std::fs::canonicalize(start).ok()?;
    let text = target.to_string_lossy().replace('\\', "/");
    for component in Path::new(&text).components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                current.pop();
            }
            Component::Normal(part) => {
                current.push(part);
                if std::fs::symlink_metadata(&current).is_ok_and(|metadata| metadata.file_type().is_symlink()) {
                    current = std::fs::canonicalize(&current).ok()?;
                }
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(current)
}

/// An entry name as a relative path below the destination: `None` for the destination itself
/// (`./`); an error for an absolute name or one with a `..` component. Both `/` and `\` separate.
fn checked_relative(name: &Path) -> Result<Option<PathBuf>, Failure> {
    let text = name.to_string_lossy().replace('\\', "/");
    let has_drive = text.as_bytes().get(1) == Some(&b':') && text.as_bytes()[0].is_ascii_alphabetic();
    let mut relative = PathBuf::new();
    for component in Path::new(&text).components() {
        match component {
            Component::Normal(part) if !has_drive => relative.push(part),
            Component::CurDir => {}
            _ => return Err(outside(name)),
        }
    }
    Ok(if relative.as_os_str().is_empty() { None } else { Some(relative) })
}

fn outside(name: &Path) -> Failure {
    format!("Refused archive entry {}: it would be written outside the destination folder", name.display())
}

fn write_failed(path: &Path, error: &std::io::Error) -> Failure {
    format!("Cannot write {}: {error}", path.display())
}

fn create_directory(path: &Path) -> Result<(), Failure> {
    match std::fs::create_dir(path) {
        Err(error) if error.kind() != std::io::ErrorKind::AlreadyExists => Err(write_failed(path, &error)),
        _ => Ok(()),
    }
}

/// Applies Unix permission bits (without set-user-id and the like).
fn set_mode(path: &Path, mode: Option<u32>) {
    #[cfg(unix)]
    if let Some(mode) = mode {
        use std::os::unix::fs::PermissionsExt;
        // Permissions are a courtesy; failing to apply them is not an error.
        if let Err(error) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o777)) {
            tracing::warn!(path = %path.display(), %error, "could not apply the permissions of an extracted file");
        }
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
}

fn make_symlink(target: &Path, link: &Path) -> Result<(), Failure> {
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(target, link).map_err(|error| write_failed(link, &error))
    }
    #[cfg(not(unix))]
    {
        let _ = target;
        Err(format!("Cannot create the symbolic link {} on this system", link.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_stay_relative() {
        let relative = |name: &str| checked_relative(Path::new(name));
        assert_eq!(relative("a/./b"), Ok(Some(PathBuf::from("a/b"))));
        assert_eq!(relative("./"), Ok(None));
        assert_eq!(relative("a\\b"), Ok(Some(PathBuf::from("a/b"))));
        for hostile in ["../x", "a/../../x", "a/..", "/etc/passwd", "\\evil", "C:/x", "C:x", "a\\..\\..\\x"] {
            assert!(relative(hostile).is_err(), "{hostile}");
        }
    }
}
