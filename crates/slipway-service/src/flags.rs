//! Environments' feature flags as people change and read them: who may (readers read and
//! evaluate; contributors change, as a pipeline's `SlipwayFeatureFlag` task does), what the audit
//! log records (each change with the revision it made), and every document checked as flagd
//! reads it, every mistake named, before it is saved.

use std::sync::Arc;

use slipway_api as api;
use slipway_delivery::flags::{ChangeError, FlagDocument, FlagEdit, FlagState, StoredFlags};
use slipway_store::UserRole;

use crate::AppState;
use crate::caller::Caller;
use crate::error::ServiceError;

impl From<ChangeError> for ServiceError {
    fn from(error: ChangeError) -> Self {
        match error {
            ChangeError::Invalid(errors) => {
                let count = errors.0.len();
                let noun = if count == 1 { "mistake" } else { "mistakes" };
                Self::Unprocessable(format!("the flag document has {count} {noun}:\n{errors}"))
            }
            stale @ ChangeError::Stale { .. } => Self::Conflict(stale.to_string()),
            ChangeError::Store(error) => error.into(),
        }
    }
}

/// An environment's flags as the API answers them.
#[must_use]
pub fn flag_set(environment: &str, stored: &StoredFlags) -> api::FlagSet {
    api::FlagSet {
        environment: environment.to_owned(),
        revision: stored.revision,
        updated_by: stored.record.as_ref().and_then(|record| record.updated_by.clone()),
        updated_at: stored.record.as_ref().map(|record| record.updated_at.millis()),
        document: stored.document.as_json().clone(),
        flags: stored
            .document
            .flags()
            .values()
            .map(|flag| api::FlagSummary {
                key: flag.key.clone(),
                state: flag.state.as_str().to_owned(),
                kind: flag.flag_type.as_str().to_owned(),
                variants: flag.variants.iter().map(|(name, value)| (name.clone(), value.clone())).collect(),
                default_variant: flag.default_variant.clone(),
                targeted: flag.targeting_source.is_some(),
            })
            .collect(),
    }
}

/// The flags of an environment as stored, read through the cache (reader). The OFREP endpoints
/// evaluate this document.
///
/// # Errors
/// When there is no such environment, or the store fails.
pub async fn stored(
    state: &AppState,
    caller: &Caller,
    environment: &str,
) -> Result<(String, StoredFlags), ServiceError> {
    caller.require(UserRole::Reader)?;
    let found = crate::environments::find(state, environment).await?;
    let stored = state.flag_cache().load(state.store(), found.id).await?;
    Ok((found.name, stored))
}

/// The flags of an environment (reader).
///
/// # Errors
/// When there is no such environment, or the store fails.
pub async fn get(state: &AppState, caller: &Caller, environment: &str) -> Result<api::FlagSet, ServiceError> {
    let (name, stored) = stored(state, caller, environment).await?;
    Ok(flag_set(&name, &stored))
}

/// The document an evaluation reads (reader), shared.
///
/// # Errors
/// As [`stored`].
pub async fn document(
    state: &AppState,
    caller: &Caller,
    environment: &str,
) -> Result<(i64, Arc<FlagDocument>), ServiceError> {
    let (_, stored) = stored(state, caller, environment).await?;
    Ok((stored.revision, stored.document))
}

/// What the audit log records of a change: its action, the flag (none: the whole document), and
/// details (the revision made is added).
struct Audit<'a> {
    action: &'a str,
    key: Option<&'a str>,
    details: serde_json::Value,
}

async fn change(
    state: &AppState,
    caller: &Caller,
    environment: &str,
    revision: Option<i64>,
    audit: Audit<'_>,
    edit: impl Fn(&FlagDocument) -> Result<FlagDocument, slipway_delivery::flags::DocumentErrors>,
) -> Result<api::FlagSet, ServiceError> {
    caller.require(UserRole::Contributor)?;
    let found = crate::environments::find(state, environment).await?;
    let saved = state.flag_cache().change(state.store(), found.id, revision, Some(&caller.user.name), edit).await?;
    let Audit { action, key, mut details } = audit;
    let target = match key {
        Some(key) => format!("{}/flags/{key}", found.name),
        None => format!("{}/flags", found.name),
    };
    if let Some(object) = details.as_object_mut() {
        object.insert("revision".to_owned(), saved.revision.into());
    }
    crate::audit::record(state, caller, action, target, details).await;
    Ok(flag_set(&found.name, &saved))
}

/// Replaces an environment's whole flag document (contributor), over `revision` if given.
///
/// # Errors
/// 422 naming every mistake of the document; 409 when it is at another revision.
pub async fn replace(
    state: &AppState,
    caller: &Caller,
    environment: &str,
    document: serde_json::Value,
    revision: Option<i64>,
) -> Result<api::FlagSet, ServiceError> {
    let checked = FlagDocument::from_value(document).and_then(FlagDocument::strict).map_err(ChangeError::Invalid)?;
    let keys: Vec<String> = checked.flags().keys().cloned().collect();
    let details = serde_json::json!({ "flags": keys });
    let audit = Audit { action: "flags.replace", key: None, details };
    change(state, caller, environment, revision, audit, |_| Ok(checked.clone())).await
}

/// Changes one flag's state and/or default variant (contributor), over `revision` if given.
///
/// # Errors
/// 404 for an unknown flag, 422 for an unknown variant or state, 409 when the document is at
/// another revision.
pub async fn set(
    state: &AppState,
    caller: &Caller,
    environment: &str,
    key: &str,
    change_to: &api::SetFlag,
) -> Result<api::FlagSet, ServiceError> {
    let flag_state = match change_to.state.as_deref() {
        None => None,
        Some(text) => Some(FlagState::parse(text).ok_or_else(|| {
            ServiceError::Unprocessable(format!("'{text}' is not a flag state: give ENABLED or DISABLED"))
        })?),
    };
    if flag_state.is_none() && change_to.default_variant.is_none() {
        return Err(ServiceError::bad_request("give a state, a defaultVariant, or both"));
    }
    let (_, current) = stored(state, caller, environment).await?;
    if current.document.flag(key).is_none() {
        return Err(ServiceError::NotFound(format!(
            "environment '{environment}' has no flag '{key}'; `slipway flags list {environment}` shows its flags"
        )));
    }
    let details = serde_json::json!({
        "state": flag_state.map(FlagState::as_str),
        "defaultVariant": change_to.default_variant,
    });
    let edit = FlagEdit::Set { state: flag_state, default_variant: change_to.default_variant.clone() };
    let audit = Audit { action: "flags.set", key: Some(key), details };
    change(state, caller, environment, change_to.revision, audit, |document| document.edit(key, edit.clone())).await
}

/// Adds or replaces one whole flag (contributor), over `revision` if given.
///
/// # Errors
/// 422 naming every mistake of the flag; 409 when the document is at another revision.
pub async fn put_flag(
    state: &AppState,
    caller: &Caller,
    environment: &str,
    key: &str,
    definition: serde_json::Value,
    revision: Option<i64>,
) -> Result<api::FlagSet, ServiceError> {
    let details = serde_json::json!({ "definition": definition });
    let edit = FlagEdit::Replace(definition);
    let audit = Audit { action: "flags.put", key: Some(key), details };
    change(state, caller, environment, revision, audit, |document| document.edit(key, edit.clone())).await
}

/// Removes one flag (contributor), over `revision` if given.
///
/// # Errors
/// 404 for an unknown flag, 409 when the document is at another revision.
pub async fn delete_flag(
    state: &AppState,
    caller: &Caller,
    environment: &str,
    key: &str,
    revision: Option<i64>,
) -> Result<api::FlagSet, ServiceError> {
    let (_, current) = stored(state, caller, environment).await?;
    if current.document.flag(key).is_none() {
        return Err(ServiceError::NotFound(format!("environment '{environment}' has no flag '{key}'")));
    }
    let audit = Audit { action: "flags.delete", key: Some(key), details: serde_json::json!({}) };
    change(state, caller, environment, revision, audit, |document| document.edit(key, FlagEdit::Remove)).await
}
