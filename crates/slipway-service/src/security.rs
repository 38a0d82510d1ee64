//! Security as people read it (readers): what a run's published security reports say (secret
//! scans, vulnerabilities, policy results and SBOMs, read back out of its artifacts with
//! `slipway_security::summary`), and whether each of its artifacts carries valid signed
//! provenance from this server; and a pipeline's: the newest completed run that has any.

use slipway_api as api;
use slipway_engine::blobs::BlobStore;
use slipway_insights::automation::{
    SecurityFinding as AutomationFinding, SecurityReader, SecurityReport as AutomationReport,
};
use slipway_security::summary::{self, Category, ReportKind};
use slipway_store::{Artifact, Run, RunFilter, RunId, RunStatus, UserRole};

use crate::AppState;
use crate::caller::Caller;
use crate::error::ServiceError;

/// How many completed runs of a pipeline are looked through for the newest with security results.
const RUNS_LOOKED_AT: u32 = 20;

/// The security of run `id` (reader).
///
/// # Errors
/// When the caller may not read, there is no such run, or the store fails.
pub async fn run_security(state: &AppState, caller: &Caller, id: RunId) -> Result<api::RunSecurity, ServiceError> {
    caller.require(UserRole::Reader)?;
    let run = state.store().run(id).await?;
    security_of(state, &run).await
}

/// The security of the newest completed run of pipeline `name` that published artifacts (its
/// reports are files of them) (reader).
///
/// # Errors
/// When the caller may not read, there is no such pipeline, or the store fails.
pub async fn pipeline_security(
    state: &AppState,
    caller: &Caller,
    name: &str,
) -> Result<api::PipelineSecurity, ServiceError> {
    caller.require(UserRole::Reader)?;
    let store = state.store();
    let pipeline = store
        .pipeline_by_name(name)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("no pipeline named '{name}'")))?;
    let filter = RunFilter {
        pipeline: Some(pipeline.id),
        status: Some(RunStatus::Completed),
        limit: RUNS_LOOKED_AT,
        ..RunFilter::default()
    };
    // Reports are files of artifacts: the newest run with artifacts is the one, read once.
    for run in store.list_runs(&filter).await? {
        if !store.artifacts_of_run(run.id).await?.is_empty() {
            let security = security_of(state, &run).await?;
            return Ok(api::PipelineSecurity { pipeline: pipeline.name, latest: Some(security) });
        }
    }
    Ok(api::PipelineSecurity { pipeline: pipeline.name, latest: None })
}

/// What `run`'s artifacts say.
async fn security_of(state: &AppState, run: &Run) -> Result<api::RunSecurity, ServiceError> {
    let store = state.store();
    let pipeline = store.pipeline(run.pipeline).await?;
    let artifacts = store.artifacts_of_run(run.id).await?;
    let blobs = BlobStore::new(state.data_dir());
    let provenance = crate::provenance::verdicts(state, run, &pipeline.repository, &artifacts).await;
    let reports = tokio::task::spawn_blocking(move || reports(&blobs, &artifacts))
        .await
        .map_err(|error| ServiceError::Internal(error.to_string()))?;
    let mut totals = api::SecurityTotals::default();
    for report in &reports {
        match report.category.as_str() {
            "secrets" => totals.secrets += report.findings_total,
            "vulnerabilities" => totals.vulnerabilities += report.findings_total,
            "policy" => totals.policy += report.findings_total,
            _ => totals.other += report.findings_total,
        }
        totals.components = totals.components.max(report.components.unwrap_or(0));
    }
    totals.verified_artifacts = provenance.iter().filter(|verdict| verdict.verdict == "verified").count();
    totals.unverified_artifacts = provenance.len() - totals.verified_artifacts;
    Ok(api::RunSecurity {
        run: run.id.get(),
        pipeline: pipeline.name,
        run_number: run.run_number.clone(),
        totals,
        reports,
        artifacts: provenance,
    })
}

/// The reader the work-item automation reads runs' security reports with: the reports in their
/// artifacts' files, as the Security tab reads them (those that cannot be read are left out).
pub(crate) fn automation_reader(state: &AppState) -> SecurityReader {
    let blobs = BlobStore::new(state.data_dir());
    SecurityReader::new(move |artifacts| {
        reports(&blobs, artifacts)
            .into_iter()
            .filter(|report| report.error.is_none())
            .map(|report| AutomationReport {
                complete: report.findings.len() >= report.findings_total,
                category: report.category,
                tool: report.tool,
                findings: report
                    .findings
                    .into_iter()
                    .map(|finding| AutomationFinding {
                        rule: finding.rule,
                        level: finding.level,
                        message: finding.message,
                        location: finding.location,
                    })
                    .collect(),
            })
            .collect()
    })
}

/// The reports in `artifacts`' files, read from the blob store (blocking).
fn reports(blobs: &BlobStore, artifacts: &[Artifact]) -> Vec<api::SecurityReport> {
    let mut found = Vec::new();
    for artifact in artifacts {
        let Ok(manifest) = serde_json::from_value::<slipway_events::ArtifactManifest>(artifact.manifest.clone()) else {
            continue;
        };
        for file in &manifest.files {
            let Some(kind) = summary::kind_of(&file.path) else { continue };
            let failed = |error: String| api::SecurityReport {
                artifact: artifact.name.clone(),
                path: file.path.clone(),
                kind: kind_name(kind).to_owned(),
                category: "other".to_owned(),
                error: Some(error),
                ..api::SecurityReport::default()
            };
            if file.size > summary::MAX_REPORT_BYTES {
                found.push(failed(format!(
                    "not read: it has {} bytes, more than the {} read",
                    file.size,
                    summary::MAX_REPORT_BYTES
                )));
                continue;
            }
            let text = match blobs.path(&file.digest).map(std::fs::read_to_string) {
                Some(Ok(text)) => text,
                Some(Err(error)) => {
                    found.push(failed(format!("cannot be read: {error}")));
                    continue;
                }
                None => {
                    found.push(failed("its blob is not kept".to_owned()));
                    continue;
                }
            };
            match summary::read(&file.path, kind, &text) {
                Ok(report) => found.push(api::SecurityReport {
                    artifact: artifact.name.clone(),
                    path: report.path,
                    kind: kind_name(kind).to_owned(),
                    category: category_name(report.category).to_owned(),
                    tool: report.tool,
                    findings_total: report.findings_total,
                    findings: report
                        .findings
                        .into_iter()
                        .map(|finding| api::SecurityFinding {
                            rule: finding.rule,
                            level: finding.level,
                            message: finding.message,
                            location: finding.location,
                        })
                        .collect(),
                    components: report.components,
                    error: None,
                }),
                Err(error) => found.push(failed(error.to_string())),
            }
        }
    }
    found
}

fn kind_name(kind: ReportKind) -> &'static str {
    match kind {
        ReportKind::Sarif => "sarif",
        ReportKind::Cyclonedx => "cyclonedx",
        ReportKind::Spdx => "spdx",
    }
}

fn category_name(category: Category) -> &'static str {
    match category {
        Category::Secrets => "secrets",
        Category::Vulnerabilities => "vulnerabilities",
        Category::Policy => "policy",
        Category::Other => "other",
    }
}
