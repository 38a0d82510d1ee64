//! Signing what runs publish: every artifact the engine records gets an in-toto statement with a
//! SLSA provenance v1 predicate (`slipway_security::provenance`), in a DSSE envelope signed with
//! the server's active key, stored with the artifact in one transaction.
//!
//! The keys are a [`KeyRing`] in `DATA_DIR/provenance-keys/` (made when the data directory is
//! opened, [`prepare`]); the builder's id (the server's address, `slipway serve --public-url` or
//! the address it listens on) is in `DATA_DIR/provenance-keys/builder` so that whatever records an
//! artifact (the API's upload, an agent's publish, an in-process agent) signs as the same
//! builder. An artifact that cannot be signed (no key ring, a run without a commit, an artifact
//! without files) is recorded without provenance, and the reason is logged: signing never loses
//! an artifact.

use std::path::{Path, PathBuf};

use slipway_events::ArtifactManifest;
use slipway_security::provenance as prov;
pub use slipway_security::provenance::{KeyRing, KeyRingError, KeySet, WELL_KNOWN_KEYS_PATH};
use slipway_store::{RunId, Store};

/// The key ring's directory under the data directory.
pub const KEYS_DIRECTORY: &str = "provenance-keys";

/// The file in the key ring's directory that names the builder.
const BUILDER_FILE: &str = "builder";

/// The builder's id when no server wrote one (a server put together in a test, not by
/// `slipway serve`).
pub const DEFAULT_BUILDER: &str = "urn:slipway:server";

/// The key ring's directory for `data_dir`.
#[must_use]
pub fn keys_directory(data_dir: &Path) -> PathBuf {
    data_dir.join(KEYS_DIRECTORY)
}

/// Opens (making on first use) the key ring of `data_dir`.
///
/// # Errors
/// When its files cannot be read or written.
pub fn key_ring(data_dir: &Path) -> Result<KeyRing, KeyRingError> {
    KeyRing::open(keys_directory(data_dir))
}

/// The public keys of `data_dir`'s key ring, read only (for verifying and serving them).
///
/// # Errors
/// When the key set cannot be read.
pub fn public_keys(data_dir: &Path) -> Result<KeySet, KeyRingError> {
    KeyRing::public_keys(&keys_directory(data_dir))
}

/// Makes the key ring of `data_dir` if it has none, and names the builder (`builder`, the
/// server's address) that signs from now on.
///
/// # Errors
/// When the key ring or the builder's file cannot be written.
pub fn prepare(data_dir: &Path, builder: Option<&str>) -> Result<KeyRing, KeyRingError> {
    let ring = key_ring(data_dir)?;
    if let Some(builder) = builder {
        let file = keys_directory(data_dir).join(BUILDER_FILE);
        let temporary = file.with_extension("tmp");
        let written = std::fs::write(&temporary, builder.trim_end_matches('/'))
            .and_then(|()| std::fs::File::open(&temporary).and_then(|opened| opened.sync_all()))
            .and_then(|()| std::fs::rename(&temporary, &file));
        written.map_err(|source| KeyRingError::Io { path: file, source })?;
    }
    Ok(ring)
}

/// The builder's id that `data_dir`'s server signs as.
#[must_use]
pub fn builder_id(data_dir: &Path) -> String {
    std::fs::read_to_string(keys_directory(data_dir).join(BUILDER_FILE))
        .ok()
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty())
        .unwrap_or_else(|| DEFAULT_BUILDER.to_owned())
}

/// The address of run `run` under `builder`.
#[must_use]
pub fn invocation_id(builder: &str, run: RunId) -> String {
    format!("{}/runs/{}", builder.trim_end_matches('/'), run.get())
}

/// The tasks a plan's steps use (agent jobs' steps and deployment jobs' hooks), each once.
fn tasks_used(plan: &slipway_plan::Plan) -> Vec<prov::TaskUsed> {
    let mut tasks: Vec<prov::TaskUsed> = Vec::new();
    for job in plan.stages.iter().flat_map(|stage| &stage.jobs) {
        let hooks: Vec<&slipway_plan::Step> = match &job.kind {
            slipway_plan::JobKind::Deployment(deployment) => {
                deployment.hooks.iter().flat_map(|hook| &hook.steps).collect()
            }
            _ => Vec::new(),
        };
        for step in job.steps.iter().chain(hooks) {
            if let slipway_plan::Action::Task { name, version, .. } = &step.action {
                let task = prov::TaskUsed { name: name.clone(), version: version.clone().unwrap_or_default() };
                if !tasks.contains(&task) {
                    tasks.push(task);
                }
            }
        }
    }
    tasks.sort();
    tasks
}

/// Signs `manifest`, an artifact of `run`, with the key ring in `data_dir`: the DSSE envelope as
/// JSON, or why it cannot be signed.
///
/// # Errors
/// A sentence saying why (logged by the caller; the artifact is recorded without provenance).
pub async fn sign(
    store: &Store,
    data_dir: &Path,
    run: RunId,
    manifest: &ArtifactManifest,
) -> Result<serde_json::Value, String> {
    if !keys_directory(data_dir).is_dir() {
        return Err("the server has no provenance key ring".to_owned());
    }
    let found = store.run(run).await.map_err(|error| error.to_string())?;
    let pipeline = store.pipeline(found.pipeline).await.map_err(|error| error.to_string())?;
    let plan = store.run_plan(run).await.map_err(|error| error.to_string())?;
    let commit = found.commit.clone().ok_or("the run has no commit")?;
    let builder = builder_id(data_dir);
    let subjects = manifest
        .files
        .iter()
        .map(|file| prov::Subject::new(file.path.clone(), &file.digest))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| error.to_string())?;
    let now = store.now().millis();
    let timestamp = |millis: i64| jiff::Timestamp::from_millisecond(millis).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let input = prov::ProvenanceInput {
        builder_id: builder.clone(),
        builder_version: env!("CARGO_PKG_VERSION").to_owned(),
        invocation_id: invocation_id(&builder, run),
        pipeline: prov::PipelineRef { name: pipeline.name, yaml_path: pipeline.yaml_path },
        repository: pipeline.repository,
        git_ref: found.branch.as_deref().map_or_else(
            || commit.clone(),
            |branch| {
                if branch.starts_with("refs/") { branch.to_owned() } else { format!("refs/heads/{branch}") }
            },
        ),
        commit,
        parameters: found.parameters.as_object().cloned().unwrap_or_default(),
        tasks: plan.as_ref().map(tasks_used).unwrap_or_default(),
        started_on: timestamp(found.started_at.map_or(found.created_at.millis(), |at| at.millis())),
        finished_on: timestamp(now),
        subjects,
    };
    let statement = prov::statement::statement(&input).map_err(|error| error.to_string())?;
    let data_dir = data_dir.to_path_buf();
    let envelope = tokio::task::spawn_blocking(move || key_ring(&data_dir)?.sign(&statement))
        .await
        .map_err(|error| error.to_string())?
        .map_err(|error| error.to_string())?;
    serde_json::to_value(&envelope).map_err(|error| error.to_string())
}
