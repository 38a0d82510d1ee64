//! The security room's checks on environments, evaluated by the gate before a stage may start
//! (they read the run's artifacts, so they are the gate's, not [`crate::evaluate`]'s):
//!
//! - `verifyProvenance`: each of the run's artifacts (or those named) carries provenance signed
//!   by this server's keys, whose subjects are the artifact's files, built from the pipeline's
//!   repository at the run's commit by this server (`slipway_security::provenance::verify`);
//! - `policy`: Rego policies under conftest's conventions (`slipway_security::policy::evaluate`)
//!   judge the run, the stage, the environment, the run's artifacts (with their provenance
//!   verdicts) and the artifact files named as inputs (a Terraform plan's JSON, an SBOM); a
//!   `deny` or `violation` fails the check with its messages.
//!
//! Both decide at once (passed, or failed with the reasons): what they judge was published by
//! earlier stages and does not change while the stage waits.

use std::path::Path;

use serde_json::{Value as Json, json};
use slipway_engine::blobs::BlobStore;
use slipway_events::ArtifactManifest;
use slipway_security::policy::{self, GateOptions};
use slipway_security::provenance as prov;
use slipway_store::{Artifact, CheckRunState, Run, Store, StoreError};

use crate::checks::{InvalidSetting, PolicySettings, VerifyProvenanceSettings};
use crate::evaluate::Verdict;

/// The largest artifact file given to a policy as input.
const MAX_INPUT_BYTES: u64 = 32 << 20;

/// The options a policy check's settings give.
fn options(settings: &PolicySettings) -> GateOptions {
    GateOptions {
        namespaces: vec![settings.namespace.clone().unwrap_or_else(|| "main".to_owned())],
        fail_on_warn: settings.fail_on_warn,
        ..GateOptions::default()
    }
}

fn sources(settings: &PolicySettings) -> Vec<(String, String)> {
    settings.policies.iter().map(|policy| (policy.path.clone(), policy.rego.clone())).collect()
}

/// Checks a policy check's policies when the check is added: they must parse, and declare the
/// namespace.
///
/// # Errors
/// The policy's mistake at its `file:line:col`.
pub fn compile(settings: &PolicySettings) -> Result<(), InvalidSetting> {
    match policy::evaluate(&sources(settings), &json!({}), &options(settings)) {
        Ok(_) | Err(policy::PolicyError::Evaluation { .. }) => Ok(()),
        Err(error) => Err(InvalidSetting::Policy(error)),
    }
}

/// One artifact's provenance, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArtifactVerdict {
    /// The artifact.
    pub artifact: String,
    /// Whether every check passed.
    pub verified: bool,
    /// The key it was signed with, when it was.
    pub key_id: Option<String>,
    /// Each check's line (`signature: passed (...)`), or why there is nothing to check.
    pub checks: Vec<String>,
}

/// Checks `artifact`'s provenance with `keys`: signed by them, its subjects the artifact's files,
/// built by `builder` from `repository` at `commit`.
#[must_use]
pub fn verify_artifact(
    artifact: &Artifact,
    keys: &prov::KeySet,
    builder: &str,
    repository: &str,
    commit: Option<&str>,
) -> ArtifactVerdict {
    let failed = |reason: String| ArtifactVerdict {
        artifact: artifact.name.clone(),
        verified: false,
        key_id: None,
        checks: vec![reason],
    };
    let Some(envelope) = &artifact.provenance else {
        return failed("no signed provenance: it was published before the server signed artifacts".to_owned());
    };
    let manifest = match serde_json::from_value::<ArtifactManifest>(artifact.manifest.clone()) {
        Ok(manifest) => manifest,
        Err(error) => return failed(format!("its manifest cannot be read: {error}")),
    };
    let subjects = manifest.files.iter().map(|file| prov::Subject::new(file.path.clone(), &file.digest)).collect();
    let digests = match subjects {
        Ok(subjects) => prov::ArtifactDigests { kind: prov::ArtifactKind::Directory, subjects },
        Err(error) => return failed(format!("its manifest's digests cannot be read: {error}")),
    };
    let bytes = envelope.to_string();
    let attestation = match prov::parse_attestation(bytes.as_bytes()) {
        Ok(attestation) => attestation,
        Err(error) => return failed(format!("its envelope cannot be read: {error}")),
    };
    let expected = prov::Policy {
        builder_id: Some(builder.to_owned()),
        repository: Some(repository.to_owned()),
        commit: commit.map(str::to_owned),
    };
    let verification = match prov::verify(&attestation, keys, &digests, &expected) {
        Ok(verification) => verification,
        Err(error) => return failed(error.to_string()),
    };
    ArtifactVerdict {
        artifact: artifact.name.clone(),
        verified: verification.verified(),
        key_id: verification.keyid.clone(),
        checks: verification
            .checks
            .iter()
            .map(|check| {
                let status = match check.status {
                    prov::CheckStatus::Passed => "passed",
                    prov::CheckStatus::Failed => "FAILED",
                    prov::CheckStatus::Skipped => "skipped",
                };
                format!("{}: {status}: {}", check.check.name(), check.message)
            })
            .collect(),
    }
}

/// The provenance verdicts of `artifacts` of `run` (a pipeline's repository is `repository`),
/// with the keys of `data_dir`'s server.
///
/// # Errors
/// When the key ring cannot be read.
pub fn verdicts(
    data_dir: &Path,
    run: &Run,
    repository: &str,
    artifacts: &[Artifact],
) -> Result<Vec<ArtifactVerdict>, String> {
    let keys = slipway_engine::provenance::public_keys(data_dir).map_err(|error| error.to_string())?;
    let builder = slipway_engine::provenance::builder_id(data_dir);
    Ok(artifacts
        .iter()
        .map(|artifact| verify_artifact(artifact, &keys, &builder, repository, run.commit.as_deref()))
        .collect())
}

/// What a stage's security check is about.
pub(crate) struct Subject<'a> {
    pub(crate) store: &'a Store,
    pub(crate) data_dir: &'a Path,
    pub(crate) run: &'a Run,
    pub(crate) stage: &'a str,
    pub(crate) environment: &'a str,
}

impl Subject<'_> {
    async fn artifacts_and_verdicts(&self) -> Result<(String, Vec<Artifact>, Vec<ArtifactVerdict>), StoreError> {
        let pipeline = self.store.pipeline(self.run.pipeline).await?;
        let artifacts = self.store.artifacts_of_run(self.run.id).await?;
        let (data_dir, run, repository, listed) =
            (self.data_dir.to_path_buf(), self.run.clone(), pipeline.repository.clone(), artifacts.clone());
        let verdicts = tokio::task::spawn_blocking(move || verdicts(&data_dir, &run, &repository, &listed))
            .await
            .unwrap_or_else(|error| Err(error.to_string()));
        let verdicts = match verdicts {
            Ok(verdicts) => verdicts,
            Err(reason) => artifacts
                .iter()
                .map(|artifact| ArtifactVerdict {
                    artifact: artifact.name.clone(),
                    verified: false,
                    key_id: None,
                    checks: vec![format!("the server's keys cannot be read: {reason}")],
                })
                .collect(),
        };
        Ok((pipeline.name, artifacts, verdicts))
    }

    /// The `verifyProvenance` check.
    pub(crate) async fn verify_provenance(&self, settings: &VerifyProvenanceSettings) -> Result<Verdict, StoreError> {
        let (_, artifacts, verdicts) = self.artifacts_and_verdicts().await?;
        let fail = |message: String| Ok(Verdict::Ended(CheckRunState::Failed, message));
        let wanted: Vec<&ArtifactVerdict> = if settings.artifacts.is_empty() {
            verdicts.iter().collect()
        } else {
            let mut wanted = Vec::new();
            for name in &settings.artifacts {
                match verdicts.iter().find(|verdict| verdict.artifact == *name) {
                    Some(verdict) => wanted.push(verdict),
                    None => {
                        let published: Vec<&str> = artifacts.iter().map(|artifact| artifact.name.as_str()).collect();
                        return fail(format!(
                            "the run has published no artifact named '{name}' (it has: {})",
                            if published.is_empty() { "none".to_owned() } else { published.join(", ") }
                        ));
                    }
                }
            }
            wanted
        };
        if wanted.is_empty() {
            return fail("the run has published no artifact, so there is no provenance to verify".to_owned());
        }
        let failed: Vec<String> = wanted
            .iter()
            .filter(|verdict| !verdict.verified)
            .map(|verdict| format!("'{}': {}", verdict.artifact, verdict.checks.join("; ")))
            .collect();
        if failed.is_empty() {
            let names: Vec<&str> = wanted.iter().map(|verdict| verdict.artifact.as_str()).collect();
            Ok(Verdict::Passed(format!(
                "the provenance of {} verified (signed by this server, for this repository and commit)",
                names.join(", ")
            )))
        } else {
            fail(format!("provenance did not verify: {}", failed.join(" | ")))
        }
    }

    /// The `policy` check.
    pub(crate) async fn policy(&self, settings: &PolicySettings) -> Result<Verdict, StoreError> {
        let (pipeline, artifacts, verdicts) = self.artifacts_and_verdicts().await?;
        let fail = |message: String| Ok(Verdict::Ended(CheckRunState::Failed, message));
        let mut files = serde_json::Map::new();
        let blobs = BlobStore::new(self.data_dir);
        for input in &settings.inputs {
            let Some(artifact) = artifacts.iter().find(|artifact| artifact.name == input.artifact) else {
                return fail(format!(
                    "the run has published no artifact named '{}' (an input of the policy)",
                    input.artifact
                ));
            };
            let manifest = serde_json::from_value::<ArtifactManifest>(artifact.manifest.clone()).ok();
            let Some(file) =
                manifest.as_ref().and_then(|manifest| manifest.files.iter().find(|file| file.path == input.path))
            else {
                return fail(format!(
                    "artifact '{}' has no file '{}' (an input of the policy)",
                    input.artifact, input.path
                ));
            };
            if file.size > MAX_INPUT_BYTES {
                return fail(format!(
                    "'{}/{}' has {} bytes, more than the {MAX_INPUT_BYTES} a policy input may have",
                    input.artifact, input.path, file.size
                ));
            }
            let text = match blobs.path(&file.digest).map(std::fs::read_to_string) {
                Some(Ok(text)) => text,
                _ => {
                    return fail(format!("'{}/{}' cannot be read from the server's blobs", input.artifact, input.path));
                }
            };
            let name = format!("{}/{}", input.artifact, input.path);
            let format = policy::InputFormat::from_path(&input.path).unwrap_or(policy::InputFormat::Json);
            let parsed = policy::input::parse(&name, &text, format)
                .map_err(|error| error.to_string())
                .and_then(|value| serde_json::to_value(&value).map_err(|error| error.to_string()));
            match parsed {
                Ok(value) => {
                    files.insert(name, value);
                }
                Err(reason) => return fail(reason),
            }
        }
        let run = self.run;
        let document = json!({
            "run": {
                "id": run.id.get(),
                "pipeline": pipeline,
                "number": run.run_number,
                "branch": run.branch,
                "commit": run.commit,
                "requestedBy": run.requested_by,
                "trigger": run.trigger.as_str(),
                "parameters": run.parameters,
            },
            "stage": self.stage,
            "environment": {"name": self.environment},
            "artifacts": verdicts.iter().map(|verdict| {
                let artifact = artifacts.iter().find(|artifact| artifact.name == verdict.artifact);
                json!({
                    "name": verdict.artifact,
                    "files": artifact.map_or(0, |artifact| artifact.files),
                    "provenance": if verdict.verified { "verified" } else if artifact.is_some_and(|artifact| artifact.provenance.is_some()) { "failed" } else { "missing" },
                })
            }).collect::<Vec<Json>>(),
            "files": files,
        });
        let (policies, options) = (sources(settings), options(settings));
        let decided = tokio::task::spawn_blocking(move || {
            policy::evaluate(&policies, &document, &options).map_err(|error| error.to_string())
        })
        .await
        .unwrap_or_else(|error| Err(error.to_string()));
        match decided {
            Err(error) => fail(format!("the policies could not be evaluated: {error}")),
            Ok(decision) if decision.allowed => Ok(Verdict::Passed(format!(
                "the policies allow it ({} passed{})",
                decision.successes,
                if decision.warnings.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; warnings: {}",
                        decision.warnings.iter().map(|warning| warning.msg.as_str()).collect::<Vec<_>>().join("; ")
                    )
                }
            ))),
            Ok(decision) => {
                let mut reasons: Vec<&str> = decision.messages();
                if reasons.is_empty() {
                    reasons = decision.warnings.iter().map(|warning| warning.msg.as_str()).collect();
                }
                fail(format!("the policies deny it: {}", reasons.join("; ")))
            }
        }
    }
}
