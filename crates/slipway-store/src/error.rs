//! The store's errors.

use crate::model::JobId;

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The location given to [`crate::Store::open`] cannot be used.
    #[error("cannot open the store at '{location}': {reason}")]
    Open {
        /// The location as given (passwords in URLs are not repeated).
        location: String,
        /// Why.
        reason: String,
    },
    /// The database reported an error, or could not be reached.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// The database's schema cannot be brought up to date.
    #[error("migration {version} ({description}): {reason}")]
    Migration {
        /// The migration's version.
        version: i64,
        /// What it does.
        description: String,
        /// What is wrong.
        reason: String,
    },
    /// Something looked up does not exist.
    #[error("{entity} '{key}' does not exist")]
    NotFound {
        /// What kind of thing (`pipeline`, `run`, ...).
        entity: &'static str,
        /// Its id or name.
        key: String,
    },
    /// A name or key that must be unique is taken.
    #[error("{entity} '{key}' already exists")]
    Conflict {
        /// What kind of thing.
        entity: &'static str,
        /// The name or key.
        key: String,
    },
    /// A change that the entity's current state does not allow (finishing a run twice, queueing
    /// a job that is running).
    #[error("{entity} {id} is {state}: cannot {action}")]
    InvalidState {
        /// What kind of thing.
        entity: &'static str,
        /// Its id.
        id: i64,
        /// Its current state.
        state: String,
        /// What was attempted.
        action: &'static str,
    },
    /// The caller no longer holds the lease of a job: it expired and was taken back, or the job
    /// ended. The caller must stop working on the job.
    #[error("the lease on job {job} is not held (it expired, was reclaimed, or the job ended)")]
    LeaseLost {
        /// The job.
        job: JobId,
    },
    /// A log chunk came with a sequence number beyond the next one expected: an earlier chunk is
    /// missing. The writer must send the chunks in order.
    #[error("log chunk {sequence} of job {job} arrived before chunk {expected}")]
    LogChunkOutOfOrder {
        /// The job.
        job: JobId,
        /// The chunk's sequence number.
        sequence: i64,
        /// The sequence number expected next.
        expected: i64,
    },
    /// A log chunk was sent again with other lines than the first time.
    #[error("log chunk {sequence} of job {job} was already stored with different lines")]
    LogChunkMismatch {
        /// The job.
        job: JobId,
        /// The chunk's sequence number.
        sequence: i64,
    },
    /// The secret key given at open is not the key the stored secrets were encrypted with.
    #[error("the secret key does not match the one this store's secrets were encrypted with")]
    WrongSecretKey,
    /// A stored secret could not be decrypted although the key matched: the data is damaged.
    #[error("the secret value of {0} could not be decrypted: the stored data is damaged")]
    Decryption(String),
    /// An input was rejected before it reached the database.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// What was invalid.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// A stored value could not be read back (damaged data, or written by a newer version).
    #[error("stored data is damaged or unreadable: {0}")]
    Corrupt(String),
    /// The operating system's random number generator failed.
    #[error("no random numbers available: {0}")]
    Random(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        Self::Database(error)
    }
}

impl StoreError {
    /// Whether the error is a lost lease ([`StoreError::LeaseLost`]).
    #[must_use]
    pub fn is_lease_lost(&self) -> bool {
        matches!(self, Self::LeaseLost { .. })
    }

    /// Whether the error says that something does not exist ([`StoreError::NotFound`]).
    #[must_use]
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }

    /// Whether the error says that a unique name is taken ([`StoreError::Conflict`]).
    #[must_use]
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::Conflict { .. })
    }

    pub(crate) fn not_found(entity: &'static str, key: impl ToString) -> Self {
        Self::NotFound { entity, key: key.to_string() }
    }

    pub(crate) fn invalid(what: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid { what, reason: reason.into() }
    }

    pub(crate) fn corrupt(what: impl Into<String>) -> Self {
        Self::Corrupt(what.into())
    }
}

/// Turns a unique-constraint violation into [`StoreError::Conflict`], and any other error into
/// [`StoreError::Database`].
pub(crate) fn conflict_or<'key>(entity: &'static str, key: &'key str) -> impl FnOnce(sqlx::Error) -> StoreError + 'key {
    move |error| match &error {
        sqlx::Error::Database(database) if database.is_unique_violation() => {
            StoreError::Conflict { entity, key: key.to_owned() }
        }
        _ => StoreError::Database(error),
    }
}

/// The store's result type.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
