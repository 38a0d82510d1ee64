//! Where templates come from: repository-relative locations, the file system the caller provides,
//! and Azure's rules for resolving a `template:` reference against the file that holds it.

use std::fmt;

/// A file in a repository: the pipeline's own (`repository: None`) or one named by an alias in
/// `resources.repositories`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Location {
    /// `None` for the pipeline's own repository (`self`), otherwise the alias.
    pub repository: Option<String>,
    /// Path from the repository root, `/`-separated, with no `.` or `..` segments.
    pub path: String,
}

impl Location {
    /// A file in the pipeline's own repository.
    #[must_use]
    pub fn local(path: impl Into<String>) -> Self {
        Self { repository: None, path: path.into() }
    }

    /// The directory part of the path (empty at the repository root).
    #[must_use]
    pub fn directory(&self) -> &str {
        self.path.rfind('/').map_or("", |index| &self.path[..index])
    }
}

impl fmt::Display for Location {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repository {
            None => write!(formatter, "{}", self.path),
            Some(alias) => write!(formatter, "{}@{alias}", self.path),
        }
    }
}

/// Why a file could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadError {
    /// No such file in that repository.
    NotFound,
    /// The repository alias has no local checkout (`--repo ALIAS=PATH` was not given).
    NoCheckout,
    /// The path leads out of its repository through a symbolic link (the file itself, or a
    /// directory on the way): pipeline files are only ever read from inside their repository.
    OutsideRepository,
    /// Anything else (permissions, not UTF-8), with a description.
    Other(String),
}

impl fmt::Display for ReadError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound => formatter.write_str("no such file"),
            Self::NoCheckout => formatter.write_str("the repository has no local checkout"),
            Self::OutsideRepository => formatter.write_str("the path leads outside its repository"),
            Self::Other(reason) => formatter.write_str(reason),
        }
    }
}

impl std::error::Error for ReadError {}

impl ReadError {
    /// The error for a failed read of a pipeline file (the caller did the I/O; this only sorts
    /// the failure): not found, a directory, or anything else with its description.
    #[must_use]
    pub fn from_io(error: &std::io::Error) -> Self {
        match error.kind() {
            std::io::ErrorKind::NotFound => Self::NotFound,
            std::io::ErrorKind::IsADirectory => Self::Other("it is a directory".to_owned()),
            _ => Self::Other(error.to_string()),
        }
    }

    /// A file's bytes as text: pipeline files must be UTF-8.
    ///
    /// # Errors
    /// [`ReadError::Other`] when the bytes are not UTF-8.
    pub fn text(bytes: Vec<u8>) -> Result<String, Self> {
        String::from_utf8(bytes).map_err(|_| Self::Other("the file is not UTF-8 text".to_owned()))
    }
}

/// Reads pipeline files. The CLI reads from disk; tests read from memory. The front end does no
/// other I/O.
pub trait FileSystem {
    /// Reads a file.
    ///
    /// # Errors
    /// [`ReadError`] when the file cannot be read.
    fn read(&self, location: &Location) -> Result<String, ReadError>;

    /// The name to show for a file in diagnostics (a path relative to where the user is).
    fn display_name(&self, location: &Location) -> String {
        location.to_string()
    }
}

/// An in-memory file system, for tests and for callers that already hold the text.
#[derive(Clone, Debug, Default)]
pub struct MemoryFileSystem {
    files: std::collections::HashMap<Location, String>,
}

impl MemoryFileSystem {
    /// An empty file system.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a file in the pipeline's own repository.
    pub fn insert(&mut self, path: impl Into<String>, text: impl Into<String>) {
        self.files.insert(Location::local(path), text.into());
    }

    /// Adds a file in another repository.
    pub fn insert_in(&mut self, alias: impl Into<String>, path: impl Into<String>, text: impl Into<String>) {
        self.files.insert(Location { repository: Some(alias.into()), path: path.into() }, text.into());
    }
}

impl FileSystem for MemoryFileSystem {
    fn read(&self, location: &Location) -> Result<String, ReadError> {
        if let Some(text) = self.files.get(location) {
            return Ok(text.clone());
        }
        let checked_out = location
            .repository
            .as_ref()
            .is_none_or(|alias| self.files.keys().any(|known| known.repository.as_ref() == Some(alias)));
        Err(if checked_out { ReadError::NotFound } else { ReadError::NoCheckout })
    }
}

/// A parsed `template:` reference: the path and the optional `@alias`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference<'a> {
    /// The path as written.
    pub path: &'a str,
    /// The alias after `@`, if any.
    pub alias: Option<&'a str>,
}

impl<'a> Reference<'a> {
    /// Splits `path@alias`.
    #[must_use]
    pub fn parse(text: &'a str) -> Self {
        let text = text.trim();
        match text.rsplit_once('@') {
            Some((path, alias)) if !alias.is_empty() && !alias.contains('/') => Self { path, alias: Some(alias) },
            _ => Self { path: text, alias: None },
        }
    }
}

/// Resolves a reference written in the file at `from`, as Azure does: a path starting with `/` is
/// from the root of the repository; a path with `@alias` is from the root of that repository
/// (`@self` is the pipeline's own); any other path is relative to the directory of `from`.
///
/// # Errors
/// A message when the path is empty or climbs above the repository root.
pub fn resolve(reference: &Reference<'_>, from: &Location) -> Result<Location, String> {
    // Azure accepts Windows separators: `\eng\steps.yml` is rooted like `/eng/steps.yml`.
    let path = reference.path.replace('\\', "/");
    let (repository, base) = match reference.alias {
        Some(alias) if alias.eq_ignore_ascii_case("self") => (None, ""),
        Some(alias) => (Some(alias.to_owned()), ""),
        None if path.starts_with('/') => (from.repository.clone(), ""),
        None => (from.repository.clone(), from.directory()),
    };
    let mut segments: Vec<&str> = base.split('/').filter(|segment| !segment.is_empty()).collect();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                if segments.pop().is_none() {
                    return Err(format!("the path `{}` goes above the root of the repository", reference.path));
                }
            }
            segment => segments.push(segment),
        }
    }
    if segments.is_empty() {
        return Err("the template path is empty".to_owned());
    }
    Ok(Location { repository, path: segments.join("/") })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(reference: &str, from: &Location) -> String {
        match resolve(&Reference::parse(reference), from) {
            Ok(location) => location.to_string(),
            Err(message) => format!("error: {message}"),
        }
    }

    #[test]
    fn resolves_like_azure() {
        let from = Location::local("ci/templates/build.yml");
        assert_eq!(resolved("steps.yml", &from), "ci/templates/steps.yml");
        assert_eq!(resolved("../common.yml", &from), "ci/common.yml");
        assert_eq!(resolved("/eng/x.yml", &from), "eng/x.yml");
        assert_eq!(resolved("eng/x.yml@self", &from), "eng/x.yml");
        assert_eq!(resolved("eng/x.yml@templates", &from), "eng/x.yml@templates");
        assert_eq!(
            resolved("../../../x.yml", &from),
            "error: the path `../../../x.yml` goes above the root of the repository"
        );
        let other = Location { repository: Some("templates".to_owned()), path: "jobs/build.yml".to_owned() };
        assert_eq!(resolved("steps.yml", &other), "jobs/steps.yml@templates");
        assert_eq!(resolved("/steps.yml", &other), "steps.yml@templates");
        assert_eq!(resolved("x.yml@self", &other), "x.yml");
        assert_eq!(resolved("\\eng\\common\\sbom.yml", &from), "eng/common/sbom.yml");
    }
}
