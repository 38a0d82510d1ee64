//! A pipeline's files, read from a repository on disk without ever leaving it.
//!
//! Whoever can commit to a repository decides what its pipeline file and templates are, and git
//! lets them commit a symbolic link to anywhere (`azure-pipelines.yml -> /srv/slipway/admin-token`).
//! A front end that followed it would read a file of the machine that loads the pipeline and quote
//! it back in its diagnostics. [`RepositoryFiles`] is the front ends' [`FileSystem`] over checkouts
//! on disk (the server's run checkouts, `slipway run`, `validate`, `expand` and `plan`): every path
//! is resolved with its symbolic links and read only when it still lies inside its repository;
//! otherwise the read fails with [`ReadError::OutsideRepository`]. Links that stay inside the
//! repository work as git users expect.
//!
//! The check resolves the path before opening it. Nothing else writes to a checkout while a
//! pipeline loads from it, so the path cannot change between the two.
//!
//! [`contained`] is how the edges (the CLI, the server) run the front end over such files: on a
//! thread of its own with a generous stack, a panic turned into an error, so that no pipeline
//! can take down the process that loads it.

use std::path::{Component, Path, PathBuf};

use slipway_azure::{FileSystem, Location, ReadError};

/// A repository's directory on disk, and where it really is once its links are resolved.
#[derive(Clone, Debug)]
struct Root {
    given: PathBuf,
    canonical: Result<PathBuf, ReadError>,
}

impl Root {
    fn new(given: PathBuf) -> Self {
        let canonical = std::fs::canonicalize(&given).map_err(|error| ReadError::from_io(&error));
        Self { given, canonical }
    }
}

/// Reads pipeline files from checkouts on disk: the pipeline's own repository, and others by
/// their `resources.repositories` alias. Nothing outside them is ever read.
#[derive(Clone, Debug)]
pub struct RepositoryFiles {
    own: Root,
    others: Vec<(String, Root)>,
    current_directory: Option<PathBuf>,
}

impl RepositoryFiles {
    /// Files of the pipeline's own repository, checked out at `root`.
    #[must_use]
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { own: Root::new(root.into()), others: Vec::new(), current_directory: None }
    }

    /// Adds the checkout of the repository named `alias` in `resources.repositories`.
    #[must_use]
    pub fn with_repository(mut self, alias: impl Into<String>, root: impl Into<PathBuf>) -> Self {
        self.others.push((alias.into(), Root::new(root.into())));
        self
    }

    /// Shows files in diagnostics relative to `directory` (where the user is) when they lie
    /// below it.
    #[must_use]
    pub fn shown_relative_to(mut self, directory: impl Into<PathBuf>) -> Self {
        self.current_directory = Some(directory.into());
        self
    }

    fn root(&self, location: &Location) -> Option<&Root> {
        match &location.repository {
            None => Some(&self.own),
            Some(alias) => self.others.iter().find(|(known, _)| known == alias).map(|(_, root)| root),
        }
    }

    /// Where a location is on disk, before links are resolved; `None` for an alias with no
    /// checkout.
    #[must_use]
    pub fn path_of(&self, location: &Location) -> Option<PathBuf> {
        self.root(location).map(|root| root.given.join(&location.path))
    }
}

impl FileSystem for RepositoryFiles {
    fn read(&self, location: &Location) -> Result<String, ReadError> {
        let root = self.root(location).ok_or(ReadError::NoCheckout)?;
        let canonical = root.canonical.clone()?;
        read_inside(&canonical, &location.path).and_then(ReadError::text)
    }

    fn display_name(&self, location: &Location) -> String {
        match (self.path_of(location), &self.current_directory) {
            (Some(path), Some(current)) => {
                path.strip_prefix(current).map(Path::to_path_buf).unwrap_or(path).display().to_string()
            }
            _ => location.to_string(),
        }
    }
}

/// Reads the file at `relative` (a `/`-separated path) inside the directory `root`, which must
/// be canonical ([`std::fs::canonicalize`]). The path's symbolic links are resolved first: one
/// that leads outside `root`, like a `..` in `relative` or an absolute `relative`, is refused.
///
/// # Errors
/// [`ReadError::OutsideRepository`] when the path leaves `root`; [`ReadError::NotFound`] when
/// there is no such file (a dangling link included); [`ReadError::Other`] for a directory or
/// any other failure.
pub fn read_inside(root: &Path, relative: &str) -> Result<Vec<u8>, ReadError> {
    let relative = Path::new(relative);
    if relative.components().any(|component| !matches!(component, Component::Normal(_) | Component::CurDir)) {
        return Err(ReadError::OutsideRepository);
    }
    let resolved = std::fs::canonicalize(root.join(relative)).map_err(|error| ReadError::from_io(&error))?;
    if !resolved.starts_with(root) {
        return Err(ReadError::OutsideRepository);
    }
    std::fs::read(&resolved).map_err(|error| ReadError::from_io(&error))
}

/// The stack of the thread [`contained`] work runs on. Pipelines are bounded in how deep they
/// nest ([`slipway_azure::MAX_EXPANDED_NESTING`]), so this is a wide margin; the memory is only
/// reserved, not used.
const CONTAINED_STACK: usize = 64 * 1024 * 1024;

/// Work on a pipeline that panicked: the bug is ours, the pipeline is what to look at.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("loading the pipeline failed inside Slipway ({0}); this is a bug, please report it with the pipeline")]
pub struct Panicked(pub String);

/// Runs `work` (loading, expanding or compiling a pipeline) on a thread of its own with a large
/// stack, and gives its panic back as an error instead of ending the process.
///
/// # Errors
/// [`Panicked`] when `work` panicked, or its thread could not be started.
pub fn contained<T: Send>(work: impl FnOnce() -> T + Send) -> Result<T, Panicked> {
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new()
            .name("pipeline".into())
            .stack_size(CONTAINED_STACK)
            .spawn_scoped(scope, work)
            .map_err(|error| Panicked(format!("no thread to load it on: {error}")))?;
        thread.join().map_err(|payload| {
            let message = payload
                .downcast_ref::<&str>()
                .map(|text| (*text).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".to_owned());
            Panicked(message)
        })
    })
}

#[cfg(test)]
mod tests;
