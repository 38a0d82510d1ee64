//! Environments' flag documents in the store: read (each revision read once, kept in a
//! [`FlagCache`]) and changed over the revision they were read at, so that two people (or a
//! person and a pipeline) changing flags at once cannot undo each other's change unseen. The one
//! place the API, the web UI and pipelines' `SlipwayFeatureFlag` task change flags through.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use slipway_store::{EnvironmentId, FlagDocumentRecord, Store, StoreError};

use super::{DocumentErrors, FlagDocument};

/// Why flags could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// The document the change makes is not valid (every mistake named).
    #[error("the flag document is not valid:\n{0}")]
    Invalid(DocumentErrors),
    /// The document is at another revision than the change was made over.
    #[error("the flags are at revision {current}, not {expected}: they changed meanwhile; read them again")]
    Stale {
        /// The revision the change was made over.
        expected: i64,
        /// The revision they are at.
        current: i64,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An environment's flags as stored: the document read, its revision (0 when none was ever
/// saved: an empty document) and the record (who and when), if any.
#[derive(Clone, Debug)]
pub struct StoredFlags {
    /// The document, read.
    pub document: Arc<FlagDocument>,
    /// Its revision.
    pub revision: i64,
    /// The stored record, if any.
    pub record: Option<FlagDocumentRecord>,
}

/// The documents read so far, by environment, each with the revision it was read at: a
/// revision is parsed (and its targeting compiled) once, not at every evaluation.
#[derive(Debug, Default)]
pub struct FlagCache {
    documents: Mutex<HashMap<EnvironmentId, (i64, Arc<FlagDocument>)>>,
}

impl FlagCache {
    /// The flags of an environment, read through the cache.
    ///
    /// # Errors
    /// When the store fails, or holds a document that cannot be read
    /// ([`StoreError::Corrupt`]: only valid ones are saved).
    pub async fn load(&self, store: &Store, environment: EnvironmentId) -> Result<StoredFlags, StoreError> {
        let record = store.flag_document(environment).await?;
        let revision = record.as_ref().map_or(0, |record| record.revision);
        let cached = self.documents.lock().ok().and_then(|documents| {
            documents.get(&environment).filter(|(at, _)| *at == revision).map(|(_, doc)| Arc::clone(doc))
        });
        let document = match cached {
            Some(document) => document,
            None => {
                let document = Arc::new(match &record {
                    Some(record) => FlagDocument::parse(&record.document).map_err(|errors| {
                        StoreError::Corrupt(format!("the flag document of environment {}: {errors}", environment.get()))
                    })?,
                    None => FlagDocument::empty(),
                });
                if let Ok(mut documents) = self.documents.lock() {
                    documents.insert(environment, (revision, Arc::clone(&document)));
                }
                document
            }
        };
        Ok(StoredFlags { document, revision, record })
    }

    /// Changes an environment's flags: `change` makes the new document from the current one,
    /// which is saved as the next revision. With `expected`, only over that revision; without,
    /// over the current one, read again and the change made again if someone saved meanwhile.
    ///
    /// # Errors
    /// [`ChangeError::Invalid`] from `change`, [`ChangeError::Stale`], [`ChangeError::Store`].
    pub async fn change(
        &self,
        store: &Store,
        environment: EnvironmentId,
        expected: Option<i64>,
        updated_by: Option<&str>,
        change: impl Fn(&FlagDocument) -> Result<FlagDocument, DocumentErrors>,
    ) -> Result<StoredFlags, ChangeError> {
        // Without an expected revision, a few tries against others saving at the same moment.
        for _ in 0..5 {
            let current = self.load(store, environment).await?;
            if let Some(expected) = expected
                && expected != current.revision
            {
                return Err(ChangeError::Stale { expected, current: current.revision });
            }
            let changed = change(&current.document).map_err(ChangeError::Invalid)?;
            let text = serde_json::to_string(changed.as_json())
                .map_err(|error| StoreError::Corrupt(format!("a flag document could not be written: {error}")))?;
            match store.save_flag_document(environment, &text, Some(current.revision), updated_by).await {
                Ok(record) => {
                    let document = Arc::new(changed);
                    if let Ok(mut documents) = self.documents.lock() {
                        documents.insert(environment, (record.revision, Arc::clone(&document)));
                    }
                    return Ok(StoredFlags { document, revision: record.revision, record: Some(record) });
                }
                Err(StoreError::InvalidState { .. }) if expected.is_none() => {}
                Err(StoreError::InvalidState { .. }) => {
                    let now = store.flag_document(environment).await?.map_or(0, |record| record.revision);
                    return Err(ChangeError::Stale { expected: current.revision, current: now });
                }
                Err(other) => return Err(other.into()),
            }
        }
        let now = store.flag_document(environment).await?.map_or(0, |record| record.revision);
        Err(ChangeError::Stale { expected: now, current: now })
    }
}
