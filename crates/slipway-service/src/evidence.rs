//! Evidence bundles of deployments and runs (readers): everything that proves what a run built
//! and what a deployment shipped, gathered from the store and the run's artifacts, as one
//! gzip-compressed tar archive signed with the server's provenance key ring.
//!
//! [`bundle`] gathers, for a run or one of its deployments: the run and its jobs, the commits in
//! the change (the run's commit; for a deployment, the commits since the environment's previous
//! successful deployment as recorded when it was queued), the work items linked to the run, its
//! commits or its deployments, its checkpoints (approvals and checks with who decided and when),
//! its test results, its security (secret scans, vulnerabilities, policy, SBOMs, provenance
//! verdicts, `crate::security`), its artifacts' signed provenance envelopes, and the analysis
//! runs that judged its deployments. The archive is built on a blocking thread ([`build`], pure
//! but for signing): `index.html` (self-contained, every value HTML-escaped), `evidence.json`
//! (an [`api::evidence::Evidence`]), the attached files, the manifest (`SHA256  PATH` lines,
//! what `sha256sum -c` reads) and a DSSE envelope of the manifest signed with the key ring's
//! active key. See docs/evidence.md.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use sha2::{Digest as _, Sha256};
use slipway_api as api;
use slipway_api::evidence::{
    EVIDENCE_FORMAT, Evidence, EvidenceCommit, EvidenceCommits, EvidenceFile, MANIFEST_PATH, MANIFEST_PAYLOAD_TYPE,
    SIGNATURE_PATH,
};
use slipway_engine::blobs::BlobStore;
use slipway_store::{self as store, DeploymentId, NewWorkItemLink, RunId, UserRole};

use crate::AppState;
use crate::caller::Caller;
use crate::error::ServiceError;

/// The largest security report or SBOM attached; a larger one is named in `evidence.json` only.
const MAX_ATTACHED_BYTES: u64 = 64 * 1024 * 1024;

/// What a bundle is of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subject {
    /// A run, by id.
    Run(i64),
    /// A deployment, by its environment's name and its id.
    Deployment {
        /// The environment's name.
        environment: String,
        /// The deployment's id.
        id: i64,
    },
}

impl Subject {
    /// How the bundle names it: `run 42`, `deployment production/7`.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::Run(id) => format!("run {id}"),
            Self::Deployment { environment, id } => format!("deployment {environment}/{id}"),
        }
    }

    /// The bundle's file name: `evidence-run-42.tar.gz`, `evidence-production-7.tar.gz`.
    #[must_use]
    pub fn file_name(&self) -> String {
        format!("{}.tar.gz", self.directory())
    }

    /// The archive's top directory: `evidence-run-42`, `evidence-production-7`.
    fn directory(&self) -> String {
        match self {
            Self::Run(id) => format!("evidence-run-{id}"),
            Self::Deployment { environment, id } => format!("evidence-{}-{id}", safe_name(environment)),
        }
    }
}

/// A made bundle.
#[derive(Clone, Debug)]
pub struct Bundle {
    /// Its file name.
    pub file_name: String,
    /// The archive (gzip-compressed tar).
    pub bytes: Vec<u8>,
}

/// The evidence bundle of a run or deployment (reader).
///
/// # Errors
/// When the caller may not read, there is no such run, environment or deployment (404), the
/// key ring cannot sign, or the store fails.
pub async fn bundle(state: &AppState, caller: &Caller, subject: &Subject) -> Result<Bundle, ServiceError> {
    caller.require(UserRole::Reader)?;
    let evidence = gather(state, caller, subject).await?;
    let artifacts = state.store().artifacts_of_run(RunId(evidence.run.run.id)).await?;
    let data_dir = state.data_dir().to_path_buf();
    let (subject, file_name) = (subject.clone(), subject.file_name());
    let bytes = tokio::task::spawn_blocking(move || {
        let attachments = attachments(&BlobStore::new(&data_dir), &evidence, &artifacts);
        let ring = slipway_engine::provenance::key_ring(&data_dir).map_err(|error| error.to_string())?;
        build(&subject, evidence, attachments, &|manifest| {
            ring.sign_payload(MANIFEST_PAYLOAD_TYPE, manifest).to_json_line()
        })
    })
    .await
    .map_err(|error| ServiceError::Internal(error.to_string()))?
    .map_err(|error| ServiceError::Internal(format!("the evidence bundle cannot be made: {error}")))?;
    Ok(Bundle { file_name, bytes })
}

/// Everything `evidence.json` holds but its files.
async fn gather(state: &AppState, caller: &Caller, subject: &Subject) -> Result<Evidence, ServiceError> {
    let store = state.store();
    let environments: BTreeMap<i64, String> =
        store.list_environments().await?.into_iter().map(|found| (found.id.get(), found.name)).collect();
    let (run_id, deployment) = match subject {
        Subject::Run(id) => (RunId(*id), None),
        Subject::Deployment { environment, id } => {
            let found = crate::environments::find(state, environment).await?;
            let missing = || {
                ServiceError::NotFound(format!(
                    "environment '{}' has no deployment {id}; `slipway environments show {}` lists its deployments",
                    found.name, found.name
                ))
            };
            let deployment = store
                .deployment(DeploymentId(*id))
                .await
                .map_err(|error| if error.is_not_found() { missing() } else { error.into() })?;
            if deployment.environment != found.id {
                return Err(missing());
            }
            (deployment.run, Some(deployment))
        }
    };
    let run = store.run(run_id).await.map_err(|error| {
        if error.is_not_found() { ServiceError::NotFound(format!("no run {}", run_id.get())) } else { error.into() }
    })?;
    let pipeline = store.pipeline(run.pipeline).await?;
    let jobs = store.jobs_of_run(run.id).await?;
    let attempts = store.job_attempts_of_run(run.id).await?;
    let name_of = |found: &store::Deployment| environments.get(&found.environment.get()).cloned().unwrap_or_default();
    let deployments: Vec<store::Deployment> = match &deployment {
        Some(found) => vec![found.clone()],
        None => {
            let mut found = Vec::new();
            for job in &jobs {
                if let Some(deployment) = store.job_deployment(job.id).await? {
                    found.push(deployment);
                }
            }
            found
        }
    };
    let commits = commits(&run, deployment.as_ref(), &deployments, &name_of);
    let (work_items, work_items_note) = work_items(state, &run, &commits, &deployments).await?;
    let mut analysis = Vec::new();
    for id in deployments.iter().filter_map(|found| found.analysis_run) {
        match store.analysis_run(id).await {
            Ok(found) => {
                analysis.push(serde_json::to_value(slipway_delivery::room::analysis_state(&found)).unwrap_or_default())
            }
            Err(error) if error.is_not_found() => {}
            Err(error) => return Err(error.into()),
        }
    }
    let tests = store.test_runs(run.id).await?;
    let checkpoints = store.checkpoints_of_run(run.id).await?;
    let security = crate::security::run_security(state, caller, run.id).await?;
    let data_dir = state.data_dir().to_path_buf();
    let server = tokio::task::spawn_blocking(move || slipway_engine::provenance::builder_id(&data_dir))
        .await
        .unwrap_or_default();
    Ok(Evidence {
        format: EVIDENCE_FORMAT.to_owned(),
        subject: subject.describe(),
        generated_at: jiff::Timestamp::now().as_millisecond(),
        generated_by: caller.user.name.clone(),
        server,
        repository: pipeline.repository.clone(),
        run: crate::wire::run_detail(&run, &jobs, &attempts),
        deployment: deployment.as_ref().map(|found| crate::environments::deployment(found, &name_of(found))),
        deployments: if deployment.is_some() {
            Vec::new()
        } else {
            deployments.iter().map(|found| crate::environments::deployment(found, &name_of(found))).collect()
        },
        commits,
        work_items: work_items.iter().map(crate::work_items::work_item).collect(),
        work_items_note,
        checkpoints: checkpoints.iter().map(crate::environments::checkpoint).collect(),
        test_totals: crate::wire::test_totals(store.test_totals(run.id).await?),
        tests: tests.iter().map(crate::wire::test_results).collect(),
        security,
        analysis,
        files: Vec::new(),
    })
}

/// The commits in the change: a deployment's recorded changes (the commits since its
/// environment's previous successful deployment), else the run's commit (and its deployments').
fn commits(
    run: &store::Run,
    deployment: Option<&store::Deployment>,
    deployments: &[store::Deployment],
    name_of: &dyn Fn(&store::Deployment) -> String,
) -> EvidenceCommits {
    let own = run.commit.as_ref().map(|commit| EvidenceCommit {
        commit: commit.clone(),
        message: run.trigger_details.message.clone(),
        author: run.trigger_details.author.clone(),
        time: None,
    });
    let change = |change: &store::Change| EvidenceCommit {
        commit: change.commit.clone(),
        message: Some(change.message.clone()),
        author: Some(change.author.clone()),
        time: change.time.map(store::Timestamp::millis),
    };
    let mut listed: Vec<EvidenceCommit> = Vec::new();
    let (complete, note) = match deployment {
        Some(found) => match &found.changes {
            Some(changes) => {
                listed.extend(changes.iter().map(change));
                (
                    true,
                    format!(
                        "The commits since the previous successful deployment to environment '{}', as read from the \
                         repository's history with git when this deployment was queued, newest first.",
                        name_of(found)
                    ),
                )
            }
            None => (
                false,
                format!(
                    "Only the run's commit is listed: the commits since the previous successful deployment to \
                     environment '{}' could not be told when this deployment was queued (listing them needs the \
                     repository's history, read with git, and a previous successful deployment to compare with).",
                    name_of(found)
                ),
            ),
        },
        None => {
            for found in deployments {
                listed.extend(found.changes.iter().flatten().map(change));
            }
            (
                false,
                "A run's bundle lists the run's commit and the commits its deployments brought (as recorded when \
                 each was queued); a deployment's bundle (ENVIRONMENT/ID) lists all the commits since its \
                 environment's previous successful deployment."
                    .to_owned(),
            )
        }
    };
    if let Some(own) = own
        && !listed.iter().any(|commit| commit.commit.eq_ignore_ascii_case(&own.commit))
    {
        listed.insert(0, own);
    }
    let mut seen = BTreeSet::new();
    listed.retain(|commit| seen.insert(commit.commit.to_ascii_lowercase()));
    EvidenceCommits { commits: listed, complete, note }
}

/// The work items linked to the run, its commits or its deployments (or attributed to one of
/// them), oldest first, and how they were found.
async fn work_items(
    state: &AppState,
    run: &store::Run,
    commits: &EvidenceCommits,
    deployments: &[store::Deployment],
) -> Result<(Vec<store::WorkItem>, String), ServiceError> {
    let store = state.store();
    let mut targets = vec![NewWorkItemLink::run(run.id)];
    targets.extend(commits.commits.iter().map(|commit| NewWorkItemLink::commit(&commit.commit)));
    targets.extend(deployments.iter().map(|found| NewWorkItemLink::deployment(found.id)));
    let mut found: BTreeMap<i64, store::WorkItem> = BTreeMap::new();
    for target in &targets {
        for item in store.work_items_linked_to(target).await? {
            found.insert(item.id.get(), item);
        }
    }
    let note = format!(
        "Work items in every state linked to run {}, to the commits listed or to the deployments (or attributed to \
         one).",
        run.id.get()
    );
    Ok((found.into_values().collect(), note))
}

/// A file to attach: its path in the bundle, what it is, its bytes.
struct Attachment {
    path: String,
    description: String,
    bytes: Vec<u8>,
}

/// The files attached to the bundle: test results, security reports and SBOMs (from the
/// artifacts' blobs), provenance envelopes and analysis runs (blocking: reads blobs).
fn attachments(blobs: &BlobStore, evidence: &Evidence, artifacts: &[store::Artifact]) -> Vec<Attachment> {
    let mut files = Vec::new();
    for (index, tests) in evidence.tests.iter().enumerate() {
        files.push(Attachment {
            path: format!("tests/{}-{}-step{}.json", index + 1, safe_name(&tests.job), tests.step),
            description: format!("test results '{}' of job {}, step {}", tests.results.title, tests.job, tests.step),
            bytes: pretty(tests),
        });
    }
    for artifact in artifacts {
        if let Some(envelope) = &artifact.provenance {
            files.push(Attachment {
                path: format!("provenance/{}.intoto.jsonl", safe_name(&artifact.name)),
                description: format!(
                    "signed provenance of artifact '{}' (a DSSE envelope; `slipway verify` checks it)",
                    artifact.name
                ),
                bytes: format!("{}\n", serde_json::to_string(envelope).unwrap_or_default()).into_bytes(),
            });
        }
        let Ok(manifest) = serde_json::from_value::<slipway_events::ArtifactManifest>(artifact.manifest.clone()) else {
            continue;
        };
        for file in &manifest.files {
            let Some(kind) = slipway_security::summary::kind_of(&file.path) else { continue };
            let what = match kind {
                slipway_security::summary::ReportKind::Sarif => "security report (SARIF)",
                slipway_security::summary::ReportKind::Cyclonedx => "SBOM (CycloneDX)",
                slipway_security::summary::ReportKind::Spdx => "SBOM (SPDX)",
            };
            if file.size > MAX_ATTACHED_BYTES {
                tracing::warn!(artifact = %artifact.name, path = %file.path, size = file.size, "a report too large to attach to an evidence bundle");
                continue;
            }
            let Some(bytes) = blobs.path(&file.digest).and_then(|path| std::fs::read(path).ok()) else {
                tracing::warn!(artifact = %artifact.name, path = %file.path, "a report's blob is not kept: not attached to an evidence bundle");
                continue;
            };
            let path: Vec<String> = file.path.split('/').map(safe_name).collect();
            files.push(Attachment {
                path: format!("security/{}/{}", safe_name(&artifact.name), path.join("/")),
                description: format!("{what} {} of artifact '{}'", file.path, artifact.name),
                bytes,
            });
        }
    }
    for analysis in &evidence.analysis {
        let id = analysis.get("id").and_then(serde_json::Value::as_i64).unwrap_or_default();
        files.push(Attachment {
            path: format!("analysis/{id}.json"),
            description: format!("analysis run {id} of the deployment"),
            bytes: pretty(analysis),
        });
    }
    let mut seen = BTreeSet::new();
    files.retain(|file| seen.insert(file.path.clone()));
    files
}

/// A value as pretty JSON and a newline.
fn pretty(value: &impl serde::Serialize) -> Vec<u8> {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text.into_bytes()
}

/// A name made safe as one path component: `[A-Za-z0-9._-]`, others `_`, never `.` or `..`.
fn safe_name(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|character| if character.is_ascii_alphanumeric() || "._-".contains(character) { character } else { '_' })
        .collect();
    if safe.is_empty() || safe.chars().all(|character| character == '.') { format!("_{safe}") } else { safe }
}

/// The lowercase hex SHA-256 of `bytes`.
#[must_use]
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().fold(String::with_capacity(64), |mut text, byte| {
        let _ = write!(text, "{byte:02x}");
        text
    })
}

/// Builds the archive: the index page, `evidence.json`, the attachments, the manifest and its
/// signature (made by `sign`, a DSSE envelope of the manifest as JSON).
fn build(
    subject: &Subject,
    mut evidence: Evidence,
    attachments: Vec<Attachment>,
    sign: &dyn Fn(&[u8]) -> String,
) -> Result<Vec<u8>, String> {
    evidence.files = attachments
        .iter()
        .map(|file| EvidenceFile {
            path: file.path.clone(),
            description: file.description.clone(),
            sha256: sha256_hex(&file.bytes),
            size: file.bytes.len() as u64,
        })
        .collect();
    let mut files: Vec<(String, Vec<u8>)> = vec![
        ("index.html".to_owned(), index_html(&evidence).into_bytes()),
        ("evidence.json".to_owned(), pretty(&evidence)),
    ];
    files.extend(attachments.into_iter().map(|file| (file.path, file.bytes)));
    let manifest: String = files.iter().map(|(path, bytes)| format!("{}  {path}\n", sha256_hex(bytes))).collect();
    let signature = sign(manifest.as_bytes());
    files.push((MANIFEST_PATH.to_owned(), manifest.into_bytes()));
    files.push((SIGNATURE_PATH.to_owned(), signature.into_bytes()));

    let directory = subject.directory();
    let mtime = u64::try_from(evidence.generated_at / 1000).unwrap_or_default();
    let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut archive = tar::Builder::new(encoder);
    let mut folders = BTreeSet::new();
    for (path, _) in &files {
        let mut parent = Path::new(path).parent();
        while let Some(folder) = parent.filter(|folder| !folder.as_os_str().is_empty()) {
            folders.insert(folder.to_string_lossy().into_owned());
            parent = folder.parent();
        }
    }
    let folders =
        std::iter::once(directory.clone()).chain(folders.iter().map(|folder| format!("{directory}/{folder}")));
    for folder in folders {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Directory);
        header.set_mode(0o755);
        header.set_mtime(mtime);
        header.set_size(0);
        archive.append_data(&mut header, format!("{folder}/"), std::io::empty()).map_err(|error| error.to_string())?;
    }
    for (path, bytes) in &files {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mode(0o644);
        header.set_mtime(mtime);
        header.set_size(bytes.len() as u64);
        archive
            .append_data(&mut header, format!("{directory}/{path}"), bytes.as_slice())
            .map_err(|error| error.to_string())?;
    }
    let mut encoder = archive.into_inner().map_err(|error| error.to_string())?;
    encoder.flush().map_err(|error| error.to_string())?;
    encoder.finish().map_err(|error| error.to_string())
}

/// Text made safe in HTML (text and quoted attribute values).
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// A time (milliseconds since the Unix epoch) as people read it, in UTC.
fn when(millis: i64) -> String {
    jiff::Timestamp::from_millisecond(millis)
        .map(|time| time.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|_| millis.to_string())
}

fn when_or(millis: Option<i64>, otherwise: &str) -> String {
    millis.map_or_else(|| otherwise.to_owned(), when)
}

/// The styles of the index page (inline: the page stands alone).
const STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:64em;padding:0 1em;color:#1b1f24}\
h1{font-size:1.6em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #d0d7de;padding-bottom:.2em}\
table{border-collapse:collapse;width:100%;margin:.5em 0}th,td{text-align:left;padding:.25em .5em;border-bottom:1px solid #eaeef2;vertical-align:top}\
th{background:#f6f8fa}code{font-family:ui-monospace,monospace;font-size:.92em;word-break:break-all}.muted{color:#57606a}\
.ok{color:#1a7f37;font-weight:600}.bad{color:#cf222e;font-weight:600}dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:600}";

/// A class for a result or state.
fn tone(text: &str) -> &'static str {
    match text {
        "Succeeded" | "passed" | "approved" | "verified" | "Successful" | "promoted" => "ok",
        "Failed" | "failed" | "rejected" | "Canceled" | "canceled" | "timedOut" | "Error" | "rolledBack" => "bad",
        _ => "",
    }
}

/// One table: headings and rows of already-escaped cells.
fn table(out: &mut String, headings: &[&str], rows: &[Vec<String>]) {
    out.push_str("<table><thead><tr>");
    for heading in headings {
        let _ = write!(out, "<th>{}</th>", escape(heading));
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{cell}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
}

/// The readable index page: self-contained, every value escaped.
#[must_use]
pub fn index_html(evidence: &Evidence) -> String {
    let run = &evidence.run.run;
    let pipeline = &evidence.security.pipeline;
    let mut out = String::new();
    let title = format!("Evidence: {} ({pipeline} #{})", evidence.subject, run.run_number);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>",
        escape(&title)
    );
    let _ = write!(out, "<h1>{}</h1>", escape(&title));
    let result = run.result.map_or_else(|| run.status.to_string(), |result| result.to_string());
    let _ = write!(
        out,
        "<dl><dt>Subject</dt><dd>{}</dd><dt>Pipeline</dt><dd>{}</dd><dt>Repository</dt><dd><code>{}</code></dd>\
         <dt>Run</dt><dd>{} #{} (id {}): <span class=\"{}\">{}</span></dd><dt>Branch</dt><dd>{}</dd><dt>Commit</dt><dd><code>{}</code></dd>\
         <dt>Requested by</dt><dd>{}</dd><dt>Queued</dt><dd>{}</dd><dt>Finished</dt><dd>{}</dd>\
         <dt>Generated</dt><dd>{} by {} on {}</dd></dl>",
        escape(&evidence.subject),
        escape(pipeline),
        escape(&evidence.repository),
        escape(pipeline),
        escape(&run.run_number),
        run.id,
        tone(&result),
        escape(&result),
        escape(run.branch.as_deref().unwrap_or("-")),
        escape(run.commit.as_deref().unwrap_or("-")),
        escape(run.requested_by.as_deref().unwrap_or("-")),
        when(run.created_at),
        when_or(run.finished_at, "not finished"),
        when(evidence.generated_at),
        escape(&evidence.generated_by),
        escape(&evidence.server),
    );
    out.push_str(
        "<p class=\"muted\">This page is part of a signed evidence bundle: <code>MANIFEST.sha256</code> lists every \
         file's SHA-256 and <code>MANIFEST.sha256.dsse.json</code> is the server's signature of it. Check the whole \
         bundle with <code>slipway evidence verify FILE.tar.gz</code>.</p>",
    );

    let deployments: Vec<&api::Deployment> = evidence.deployment.iter().chain(&evidence.deployments).collect();
    out.push_str("<h2>Deployment</h2>");
    if deployments.is_empty() {
        out.push_str("<p class=\"muted\">The run deployed nothing.</p>");
    } else {
        let rows: Vec<Vec<String>> = deployments
            .iter()
            .map(|deployment| {
                let result = deployment.result.clone().unwrap_or_else(|| "deploying".to_owned());
                vec![
                    format!("{}/{}", escape(&deployment.environment), deployment.id),
                    escape(&format!(
                        "{} / {}{}",
                        deployment.stage,
                        deployment.job_name,
                        deployment.resource.as_ref().map(|resource| format!(" on {resource}")).unwrap_or_default()
                    )),
                    escape(&deployment.strategy),
                    escape(&deployment.triggered_by),
                    when(deployment.queued_at),
                    when_or(deployment.finished_at, "-"),
                    format!("<span class=\"{}\">{}</span>", tone(&result), escape(&result)),
                    escape(&format!(
                        "{}{}",
                        deployment.outcome.as_deref().unwrap_or("-"),
                        deployment.outcome_detail.as_ref().map(|detail| format!(": {detail}")).unwrap_or_default()
                    )),
                ]
            })
            .collect();
        table(
            &mut out,
            &["Deployment", "Stage / job", "Strategy", "Triggered by", "Queued", "Finished", "Result", "Outcome"],
            &rows,
        );
    }
    if !evidence.analysis.is_empty() {
        out.push_str("<h3>Analysis</h3>");
        let rows: Vec<Vec<String>> = evidence
            .analysis
            .iter()
            .map(|analysis| {
                let text =
                    |name: &str| analysis.get(name).and_then(serde_json::Value::as_str).unwrap_or("-").to_owned();
                let phase = text("phase");
                vec![
                    escape(&analysis.get("id").map(ToString::to_string).unwrap_or_default()),
                    format!("<span class=\"{}\">{}</span>", tone(&phase), escape(&phase)),
                    escape(&text("message")),
                ]
            })
            .collect();
        table(&mut out, &["Analysis run", "Phase", "Message"], &rows);
    }

    out.push_str("<h2>Changes</h2>");
    let _ = write!(out, "<p class=\"muted\">{}</p>", escape(&evidence.commits.note));
    let rows: Vec<Vec<String>> = evidence
        .commits
        .commits
        .iter()
        .map(|commit| {
            vec![
                format!("<code>{}</code>", escape(&commit.commit)),
                escape(commit.message.as_deref().unwrap_or("-")),
                escape(commit.author.as_deref().unwrap_or("-")),
                when_or(commit.time, "-"),
            ]
        })
        .collect();
    table(&mut out, &["Commit", "Subject", "Author", "Time"], &rows);

    out.push_str("<h2>Work items</h2>");
    let _ = write!(out, "<p class=\"muted\">{}</p>", escape(&evidence.work_items_note));
    if evidence.work_items.is_empty() {
        out.push_str("<p>None.</p>");
    } else {
        let rows: Vec<Vec<String>> = evidence
            .work_items
            .iter()
            .map(|item| {
                vec![
                    format!("#{}", item.id),
                    escape(&item.kind),
                    escape(&item.title),
                    escape(&item.state),
                    escape(item.assignee.as_deref().unwrap_or("-")),
                ]
            })
            .collect();
        table(&mut out, &["Id", "Kind", "Title", "State", "Assignee"], &rows);
    }

    out.push_str("<h2>Approvals and checks</h2>");
    if evidence.checkpoints.is_empty() {
        out.push_str("<p>No stage of the run waited for approvals or checks.</p>");
    }
    for checkpoint in &evidence.checkpoints {
        let _ = write!(
            out,
            "<h3>Stage {}: <span class=\"{}\">{}</span></h3><p class=\"muted\">opened {}, finished {}{}</p>",
            escape(&checkpoint.stage),
            tone(&checkpoint.state),
            escape(&checkpoint.state),
            when(checkpoint.created_at),
            when_or(checkpoint.finished_at, "-"),
            checkpoint.message.as_ref().map(|message| format!(": {}", escape(message))).unwrap_or_default(),
        );
        let rows: Vec<Vec<String>> = checkpoint
            .checks
            .iter()
            .map(|check| {
                let decisions: Vec<String> = check
                    .decisions
                    .iter()
                    .map(|decision| {
                        format!(
                            "<span class=\"{}\">{}</span> by <strong>{}</strong> at {}{}",
                            tone(&decision.status),
                            escape(&decision.status),
                            escape(&decision.user),
                            when(decision.decided_at),
                            Some(&decision.comment)
                                .filter(|comment| !comment.is_empty())
                                .map(|comment| format!(": “{}”", escape(comment)))
                                .unwrap_or_default()
                        )
                    })
                    .collect();
                vec![
                    escape(&check.kind),
                    escape(&format!("{} {}", check.resource_type, check.resource)),
                    format!("<span class=\"{}\">{}</span>", tone(&check.state), escape(&check.state)),
                    escape(check.message.as_deref().unwrap_or("-")),
                    when_or(check.finished_at, "-"),
                    if decisions.is_empty() { "-".to_owned() } else { decisions.join("<br>") },
                ]
            })
            .collect();
        table(&mut out, &["Check", "On", "State", "Message", "Finished", "Decisions (who, when)"], &rows);
    }

    out.push_str("<h2>Tests</h2>");
    let totals = &evidence.test_totals;
    let _ = write!(
        out,
        "<p>{} tests: <span class=\"ok\">{} passed</span>, <span class=\"{}\">{} failed</span>, {} skipped.</p>",
        totals.total,
        totals.passed,
        if totals.failed > 0 { "bad" } else { "" },
        totals.failed,
        totals.skipped
    );
    for tests in &evidence.tests {
        let results = &tests.results;
        let _ = write!(
            out,
            "<h3>{} <span class=\"muted\">(job {}, step {}, {})</span></h3>",
            escape(&results.title),
            escape(&tests.job),
            tests.step,
            escape(&results.format)
        );
        let rows: Vec<Vec<String>> = results
            .tests
            .iter()
            .map(|case| {
                let outcome = serde_json::to_value(case.outcome)
                    .ok()
                    .and_then(|value| value.as_str().map(str::to_owned))
                    .unwrap_or_default();
                vec![
                    escape(&case.name),
                    escape(case.suite.as_deref().unwrap_or("-")),
                    format!("<span class=\"{}\">{}</span>", tone(&outcome), escape(&outcome)),
                    format!("{} ms", case.duration_ms),
                    escape(case.message.as_deref().unwrap_or("")),
                ]
            })
            .collect();
        table(&mut out, &["Test", "Suite", "Outcome", "Duration", "Message"], &rows);
    }

    out.push_str("<h2>Security</h2>");
    let security = &evidence.security;
    let totals = &security.totals;
    let _ = write!(
        out,
        "<p>{} secrets, {} known vulnerabilities, {} policy findings, {} other findings; SBOM components: {}; \
         artifacts with verified provenance: {}, without: {}.</p>",
        totals.secrets,
        totals.vulnerabilities,
        totals.policy,
        totals.other,
        totals.components,
        totals.verified_artifacts,
        totals.unverified_artifacts
    );
    if !security.reports.is_empty() {
        let rows: Vec<Vec<String>> = security
            .reports
            .iter()
            .map(|report| {
                vec![
                    escape(&report.artifact),
                    format!("<code>{}</code>", escape(&report.path)),
                    escape(&report.category),
                    escape(report.tool.as_deref().unwrap_or("-")),
                    report.error.as_ref().map_or_else(
                        || {
                            report.components.map_or_else(
                                || format!("{} findings", report.findings_total),
                                |components| format!("{components} components"),
                            )
                        },
                        |error| format!("<span class=\"bad\">{}</span>", escape(error)),
                    ),
                ]
            })
            .collect();
        table(&mut out, &["Artifact", "Report", "Category", "Tool", "Found"], &rows);
    }
    if !security.artifacts.is_empty() {
        out.push_str("<h3>Provenance</h3>");
        let rows: Vec<Vec<String>> = security
            .artifacts
            .iter()
            .map(|artifact| {
                vec![
                    escape(&artifact.artifact),
                    format!("<span class=\"{}\">{}</span>", tone(&artifact.verdict), escape(&artifact.verdict)),
                    format!("<code>{}</code>", escape(artifact.key_id.as_deref().unwrap_or("-"))),
                    artifact.checks.iter().map(|check| escape(check)).collect::<Vec<_>>().join("<br>"),
                ]
            })
            .collect();
        table(&mut out, &["Artifact", "Verdict", "Key", "Checks"], &rows);
    }

    out.push_str("<h2>Jobs</h2>");
    let rows: Vec<Vec<String>> = evidence
        .run
        .jobs
        .iter()
        .map(|job| {
            let result = job.result.map_or_else(|| job.status.to_string(), |result| result.to_string());
            vec![
                escape(&job.stage),
                escape(&job.display_name),
                format!("<span class=\"{}\">{}</span>", tone(&result), escape(&result)),
                when_or(job.started_at, "-"),
                when_or(job.finished_at, "-"),
            ]
        })
        .collect();
    table(&mut out, &["Stage", "Job", "Result", "Started", "Finished"], &rows);

    out.push_str("<h2>Files</h2><p class=\"muted\">Besides this page, <code>evidence.json</code> (everything above, for machines), the manifest and its signature.</p>");
    let rows: Vec<Vec<String>> = evidence
        .files
        .iter()
        .map(|file| {
            vec![
                format!("<a href=\"{0}\"><code>{0}</code></a>", escape(&file.path)),
                escape(&file.description),
                file.size.to_string(),
                format!("<code>{}</code>", escape(&file.sha256)),
            ]
        })
        .collect();
    table(&mut out, &["File", "What", "Bytes", "SHA-256"], &rows);
    out.push_str("</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_in_the_index_page() {
        let mut evidence = Evidence { subject: "run 1".to_owned(), ..Evidence::default() };
        evidence.security.pipeline = "<script>alert('x')</script>".to_owned();
        evidence.work_items.push(api::WorkItem {
            id: 3,
            title: "a & b \"quoted\"".to_owned(),
            ..api::WorkItem::default()
        });
        let page = index_html(&evidence);
        assert!(!page.contains("<script>"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
        assert!(page.contains("a &amp; b &quot;quoted&quot;"));
    }

    #[test]
    fn names_are_made_safe_path_components() {
        assert_eq!(safe_name("drop"), "drop");
        assert_eq!(safe_name(".."), "_..");
        assert_eq!(safe_name("a/b c"), "a_b_c");
        assert_eq!(safe_name(""), "_");
    }

    #[test]
    fn the_archive_lists_every_file_in_its_signed_manifest() {
        let evidence = Evidence { subject: "run 7".to_owned(), generated_at: 1_700_000_000_000, ..Evidence::default() };
        let attachments = vec![Attachment {
            path: "tests/1-build-step2.json".to_owned(),
            description: "t".to_owned(),
            bytes: b"{}\n".to_vec(),
        }];
        let signed = std::cell::RefCell::new(Vec::new());
        let bytes = build(&Subject::Run(7), evidence, attachments, &|manifest| {
            signed.borrow_mut().extend_from_slice(manifest);
            "{\"signature\": true}\n".to_owned()
        })
        .unwrap_or_else(|error| panic!("{error}"));
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes.as_slice()));
        let mut files = BTreeMap::new();
        for entry in archive.entries().unwrap_or_else(|error| panic!("{error}")) {
            let mut entry = entry.unwrap_or_else(|error| panic!("{error}"));
            let path = entry.path().map(|path| path.display().to_string()).unwrap_or_default();
            let mut content = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut content).unwrap_or_else(|error| panic!("{error}"));
            files.insert(path, content);
        }
        let manifest = String::from_utf8(files["evidence-run-7/MANIFEST.sha256"].clone()).unwrap_or_default();
        assert_eq!(manifest.as_bytes(), signed.borrow().as_slice());
        let listed: Vec<&str> =
            manifest.lines().filter_map(|line| line.split_once("  ").map(|(_, path)| path)).collect();
        assert_eq!(listed, ["index.html", "evidence.json", "tests/1-build-step2.json"]);
        for line in manifest.lines() {
            let (digest, path) = line.split_once("  ").unwrap_or_default();
            assert_eq!(sha256_hex(&files[&format!("evidence-run-7/{path}")]), digest, "{path}");
        }
        assert_eq!(files["evidence-run-7/MANIFEST.sha256.dsse.json"], b"{\"signature\": true}\n");
    }
}
