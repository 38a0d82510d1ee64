//! Signed provenance as people read it (readers): an artifact's DSSE envelope as the server
//! signed it when the artifact was published, and each artifact's verdict (its signature checked
//! with the server's keys, its subjects against the artifact's files, its repository and commit
//! against the run's).

use slipway_api as api;
use slipway_store::{Artifact, Run, RunId, UserRole};

use crate::AppState;
use crate::caller::Caller;
use crate::error::ServiceError;

/// The signed provenance of artifact `name` of run `id` (reader).
///
/// # Errors
/// When the caller may not read, there is no such run or artifact, the artifact was not signed,
/// or the store fails.
pub async fn envelope(
    state: &AppState,
    caller: &Caller,
    id: RunId,
    name: &str,
) -> Result<serde_json::Value, ServiceError> {
    caller.require(UserRole::Reader)?;
    let store = state.store();
    let run = store.run(id).await?;
    let artifact = store
        .artifacts_of_run(run.id)
        .await?
        .into_iter()
        .find(|artifact| artifact.name == name)
        .ok_or_else(|| ServiceError::NotFound(format!("run {} has no artifact named '{name}'", run.id.get())))?;
    artifact.provenance.ok_or_else(|| {
        ServiceError::NotFound(format!(
            "artifact '{name}' of run {} has no signed provenance (it was published before the server signed artifacts)",
            run.id.get()
        ))
    })
}

/// The server's public provenance keys as the JSON document served at
/// `/.well-known/slipway/provenance-keys.json` (anyone may read them).
///
/// # Errors
/// When the key ring cannot be read.
pub async fn key_set(state: &AppState) -> Result<String, ServiceError> {
    let data_dir = state.data_dir().to_path_buf();
    tokio::task::spawn_blocking(move || slipway_engine::provenance::public_keys(&data_dir))
        .await
        .map_err(|error| ServiceError::Internal(error.to_string()))?
        .map(|keys| keys.to_json())
        .map_err(|error| ServiceError::Internal(error.to_string()))
}

/// Makes a new active signing key (admin); the old one is retired: it signs no more, and what it
/// signed still verifies. Recorded in the audit log.
///
/// # Errors
/// When the caller is not an admin, or the key ring cannot be written.
pub async fn rotate(state: &AppState, caller: &Caller) -> Result<String, ServiceError> {
    caller.require(UserRole::Admin)?;
    let data_dir = state.data_dir().to_path_buf();
    let (retired, active, document) = tokio::task::spawn_blocking(move || {
        let mut ring = slipway_engine::provenance::key_ring(&data_dir)?;
        let retired = ring.active_key_id().to_owned();
        ring.rotate()?;
        Ok::<_, slipway_engine::provenance::KeyRingError>((
            retired,
            ring.active_key_id().to_owned(),
            ring.key_set().to_json(),
        ))
    })
    .await
    .map_err(|error| ServiceError::Internal(error.to_string()))?
    .map_err(|error| ServiceError::Internal(error.to_string()))?;
    crate::audit::record(
        state,
        caller,
        "provenanceKey.rotate",
        "provenance-keys",
        serde_json::json!({"retired": retired, "active": active}),
    )
    .await;
    Ok(document)
}

/// Each of `artifacts`' provenance verdicts, checked with this server's keys against the run's
/// repository and commit (as the `verifyProvenance` check does).
pub(crate) async fn verdicts(
    state: &AppState,
    run: &Run,
    repository: &str,
    artifacts: &[Artifact],
) -> Vec<api::ArtifactProvenance> {
    let repository = repository.to_owned();
    let (data_dir, found, listed) = (state.data_dir().to_path_buf(), run.clone(), artifacts.to_vec());
    let verdicts = tokio::task::spawn_blocking(move || {
        slipway_environments::security_checks::verdicts(&data_dir, &found, &repository, &listed)
    })
    .await
    .unwrap_or_else(|error| Err(error.to_string()));
    let verdicts = match verdicts {
        Ok(verdicts) => verdicts,
        Err(reason) => {
            return artifacts
                .iter()
                .map(|artifact| api::ArtifactProvenance {
                    artifact: artifact.name.clone(),
                    verdict: "failed".to_owned(),
                    checks: vec![format!("the server's keys cannot be read: {reason}")],
                    ..api::ArtifactProvenance::default()
                })
                .collect();
        }
    };
    verdicts
        .into_iter()
        .zip(artifacts)
        .map(|(verdict, artifact)| api::ArtifactProvenance {
            provenance_url: artifact.provenance.as_ref().map(|_| {
                format!(
                    "/api/v1/runs/{}/artifacts/{}/provenance",
                    run.id.get(),
                    slipway_api::path_segment(&artifact.name)
                )
            }),
            verdict: if verdict.verified {
                "verified"
            } else if artifact.provenance.is_some() {
                "failed"
            } else {
                "missing"
            }
            .to_owned(),
            key_id: verdict.key_id,
            checks: verdict.checks,
            artifact: verdict.artifact,
        })
        .collect()
}
