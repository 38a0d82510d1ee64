//! Keeping a job away from the files of the process that runs it.
//!
//! The server's in-process agents run jobs inside the server's own process, as its user: without
//! more, a step could read the server's data directory (the admin token, the secret key, the
//! database, other runs' workspaces) or write to it. A [`Confinement`] closes that with Linux's
//! Landlock: the thread that runs a job restricts itself before the job's first step, and every
//! process a step starts inherits the restriction. The data directory can then be neither read
//! nor written, except for what the job needs in it (its run's directory, the cache store); a
//! step that tries gets "Permission denied". Everything else on the machine stays as the
//! server's user sees it.
//!
//! Landlock grants access by paths rather than taking it away, so the rules say what is open:
//! everything beside the data directory and its parent directories (each of their other
//! entries, whole), the parent directories themselves for listing only, and the paths opened
//! inside the data directory. A consequence: a job cannot create new entries directly in a parent
//! directory of the data directory (say `/srv` for `/srv/slipway`), though it can inside their
//! other entries; so keep the data directory away from directories jobs write to, such as `/tmp`.
//! Symbolic links among those entries get no rule of their own: whatever they point at is
//! checked where it really is.
//!
//! Landlock also stops a confined process from tracing or reading the memory of processes outside
//! its domain, so a step cannot read the server's memory or environment through `/proc`. It needs
//! Linux 5.13 or later with Landlock enabled; [`Confinement::check_available`] says whether this
//! machine has it.

use std::path::{Component, Path, PathBuf};

use landlock::{
    ABI, Access, AccessFs, BitFlags, PathBeneath, PathFd, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus,
};

/// The newest Landlock version whose rights are asked for; older kernels enforce what they know
/// (at least the first version's, or the confinement fails).
const NEWEST_ABI: ABI = ABI::V5;

/// Why a job could not be confined.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfineError {
    /// This kernel cannot enforce it.
    #[error("this machine cannot confine jobs: {0}")]
    Unavailable(String),
    /// Setting it up failed.
    #[error("the job could not be confined: {0}")]
    Failed(String),
}

/// A directory a job may not use, with what it may use inside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Confinement {
    /// The directory closed to the job (canonical).
    protected: PathBuf,
    /// Inside it, what stays open (canonical, existing).
    open: Vec<PathBuf>,
    /// Inside it, what the job may read but not change (canonical, existing).
    read_only: Vec<PathBuf>,
}

impl Confinement {
    /// Closes `protected` (which must exist) to the job but for `open`, each of which is created
    /// when missing.
    ///
    /// # Errors
    /// [`ConfineError::Failed`] when a path cannot be created or resolved.
    pub fn new(protected: &Path, open: &[PathBuf]) -> Result<Self, ConfineError> {
        let resolve = |path: &Path| {
            std::fs::canonicalize(path).map_err(|error| ConfineError::Failed(format!("{}: {error}", path.display())))
        };
        let protected = resolve(protected)?;
        let mut opened = Vec::with_capacity(open.len());
        for path in open {
            std::fs::create_dir_all(path)
                .map_err(|error| ConfineError::Failed(format!("{}: {error}", path.display())))?;
            opened.push(resolve(path)?);
        }
        Ok(Self { protected, open: opened, read_only: Vec::new() })
    }

    /// The same confinement, with `paths` inside the protected directory open for reading only
    /// (the server's OSV database); paths that do not resolve are left closed.
    #[must_use]
    pub fn with_read_only(mut self, paths: Vec<PathBuf>) -> Self {
        self.read_only = paths.iter().filter_map(|path| std::fs::canonicalize(path).ok()).collect();
        self
    }

    /// The directory closed to the job.
    #[must_use]
    pub fn protected(&self) -> &Path {
        &self.protected
    }

    /// Whether this machine can confine jobs: tried on a throwaway thread.
    ///
    /// # Errors
    /// [`ConfineError::Unavailable`] saying why not.
    pub fn check_available() -> Result<(), ConfineError> {
        let probe = std::thread::Builder::new().name("landlock-probe".into()).spawn(|| {
            let status = Ruleset::default()
                .handle_access(AccessFs::from_all(ABI::V1))
                .and_then(|ruleset| ruleset.create())
                .and_then(|ruleset| ruleset.restrict_self())
                .map_err(|error| error.to_string())?;
            match status.ruleset {
                RulesetStatus::NotEnforced => Err("Landlock is not enabled in this kernel (Linux 5.13 or later, with `landlock` in its LSM list, is needed)".to_owned()),
                RulesetStatus::FullyEnforced | RulesetStatus::PartiallyEnforced => Ok(()),
            }
        });
        match probe.map_err(|error| ConfineError::Unavailable(error.to_string()))?.join() {
            Ok(result) => result.map_err(ConfineError::Unavailable),
            Err(_) => Err(ConfineError::Unavailable("the Landlock probe panicked".into())),
        }
    }

    /// Confines the calling thread, and every thread and process it starts from now on, for the
    /// rest of its life. Call it on a thread of the job's own.
    ///
    /// # Errors
    /// [`ConfineError::Unavailable`] when the kernel does not enforce it, [`ConfineError::Failed`]
    /// when the rules cannot be made.
    pub fn apply_to_this_thread(&self) -> Result<(), ConfineError> {
        let all = AccessFs::from_all(NEWEST_ABI);
        let failed = |error: &dyn std::fmt::Display| ConfineError::Failed(error.to_string());
        let mut ruleset = Ruleset::default()
            .handle_access(all)
            .and_then(|ruleset| ruleset.create())
            .map_err(|error| failed(&error))?
            .no_new_privs(true);
        for (path, access) in self.rules() {
            let Ok(fd) = PathFd::new(&path) else { continue };
            let access = if path.is_dir() { access } else { access & AccessFs::from_file(NEWEST_ABI) };
            ruleset = ruleset.add_rule(PathBeneath::new(fd, access)).map_err(|error| failed(&error))?;
        }
        let status = ruleset.restrict_self().map_err(|error| failed(&error))?;
        if status.ruleset == RulesetStatus::NotEnforced {
            return Err(ConfineError::Unavailable("Landlock is not enabled in this kernel".into()));
        }
        Ok(())
    }

    /// The paths the job may use, each with its rights: see the module documentation.
    fn rules(&self) -> Vec<(PathBuf, BitFlags<AccessFs>)> {
        let all = AccessFs::from_all(NEWEST_ABI);
        let mut rules = Vec::new();
        let mut parent = PathBuf::from("/");
        for component in self.protected.components() {
            let Component::Normal(name) = component else { continue };
            let next = parent.join(name);
            rules.push((parent.clone(), BitFlags::from(AccessFs::ReadDir)));
            if let Ok(entries) = std::fs::read_dir(&parent) {
                for entry in entries.flatten() {
                    let path = entry.path();
                    let is_link = entry.file_type().is_ok_and(|kind| kind.is_symlink());
                    if path != next && !is_link {
                        rules.push((path, all));
                    }
                }
            }
            parent = next;
        }
        rules.extend(self.open.iter().map(|path| (path.clone(), all)));
        let read = AccessFs::ReadFile | AccessFs::ReadDir;
        rules.extend(self.read_only.iter().map(|path| (path.clone(), read)));
        rules
    }
}

#[cfg(test)]
mod tests;
