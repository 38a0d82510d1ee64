//! The in-toto Statement v1 and its SLSA provenance v1 predicate, and the pure constructor that
//! makes one for a run's artifact from a [`ProvenanceInput`].
//!
//! Unknown fields are ignored when a statement is read (the in-toto parsing rules), so statements
//! from newer Slipway versions or other builders still parse; fields Slipway does not fill are
//! left out when one is written.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The statement's `_type`.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The predicate type of SLSA provenance v1 (it resolves to the latest 1.x).
pub const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";
/// Slipway's build type: a run of an Azure Pipelines YAML pipeline by a Slipway server, with
/// `externalParameters` `{repository, ref, pipeline{name, path}, parameters}`; the source commit
/// and the tasks used are the resolved dependencies (see `docs/provenance.md`).
pub const BUILD_TYPE: &str = "https://slipway.dev/buildtypes/azure-pipelines/v1";

/// The prefix of the resolved dependency that is the repository at its commit (SLSA's
/// convention: `git+<repository>@<ref>`, digest `gitCommit`).
const GIT_PREFIX: &str = "git+";

/// An in-toto Statement v1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    /// Always [`STATEMENT_TYPE`].
    #[serde(rename = "_type")]
    pub type_: String,
    /// The artifacts the statement is about, each with its digest.
    pub subject: Vec<ResourceDescriptor>,
    /// Always [`SLSA_PROVENANCE_V1`] for Slipway's statements.
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    /// The provenance.
    pub predicate: Provenance,
}

/// An in-toto ResourceDescriptor: a subject or a dependency (at least one of `uri`, `digest`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceDescriptor {
    /// A name for it (a subject's file path, a dependency's role).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Where it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// Its digests, algorithm to lowercase hex (`sha256`, `gitCommit`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub digest: BTreeMap<String, String>,
    /// Where it can be downloaded.
    #[serde(default, rename = "downloadLocation", skip_serializing_if = "Option::is_none")]
    pub download_location: Option<String>,
    /// Its media type.
    #[serde(default, rename = "mediaType", skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// Anything else about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Map<String, Value>>,
}

/// The SLSA provenance v1 predicate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// What the build was asked to do.
    #[serde(rename = "buildDefinition")]
    pub build_definition: BuildDefinition,
    /// Who did it, and when.
    #[serde(rename = "runDetails")]
    pub run_details: RunDetails,
}

/// SLSA's `buildDefinition`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BuildDefinition {
    /// How to read the parameters: [`BUILD_TYPE`] for Slipway.
    #[serde(rename = "buildType")]
    pub build_type: String,
    /// The parameters under the tenant's control.
    #[serde(rename = "externalParameters")]
    pub external_parameters: Map<String, Value>,
    /// The builder's own parameters (none so far from Slipway).
    #[serde(default, rename = "internalParameters", skip_serializing_if = "Option::is_none")]
    pub internal_parameters: Option<Map<String, Value>>,
    /// The inputs the build fetched: the source commit and the tasks.
    #[serde(default, rename = "resolvedDependencies", skip_serializing_if = "Vec::is_empty")]
    pub resolved_dependencies: Vec<ResourceDescriptor>,
}

/// SLSA's `runDetails`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunDetails {
    /// The builder: the Slipway server.
    pub builder: Builder,
    /// The run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BuildMetadata>,
    /// Other things the run made (none so far from Slipway).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub byproducts: Vec<ResourceDescriptor>,
}

/// SLSA's `builder`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Builder {
    /// The builder's identity: the server's URL.
    pub id: String,
    /// Versions of the builder's parts (`{"slipway": "0.1.0"}`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub version: BTreeMap<String, String>,
    /// What the builder itself runs on (none so far from Slipway).
    #[serde(default, rename = "builderDependencies", skip_serializing_if = "Vec::is_empty")]
    pub builder_dependencies: Vec<ResourceDescriptor>,
}

/// SLSA's `metadata`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BuildMetadata {
    /// The run's address.
    #[serde(default, rename = "invocationId", skip_serializing_if = "Option::is_none")]
    pub invocation_id: Option<String>,
    /// When the run started (`YYYY-MM-DDThh:mm:ssZ`).
    #[serde(default, rename = "startedOn", skip_serializing_if = "Option::is_none")]
    pub started_on: Option<String>,
    /// When the run finished.
    #[serde(default, rename = "finishedOn", skip_serializing_if = "Option::is_none")]
    pub finished_on: Option<String>,
}

impl Provenance {
    /// The builder's id.
    pub fn builder_id(&self) -> &str {
        &self.run_details.builder.id
    }

    /// The repository: `externalParameters.repository`, or else the `git+` dependency's URI
    /// without its `@ref`.
    pub fn repository(&self) -> Option<String> {
        if let Some(Value::String(repository)) = self.build_definition.external_parameters.get("repository") {
            return Some(repository.clone());
        }
        let uri = self.source()?.uri.as_deref()?.strip_prefix(GIT_PREFIX)?;
        Some(uri.rsplit_once('@').map_or(uri, |(repository, _)| repository).to_owned())
    }

    /// The source commit: the `gitCommit` digest of the `git+` dependency.
    pub fn commit(&self) -> Option<&str> {
        self.source()?.digest.get("gitCommit").map(String::as_str)
    }

    /// The resolved dependency that is the repository at its commit.
    fn source(&self) -> Option<&ResourceDescriptor> {
        self.build_definition.resolved_dependencies.iter().find(|dependency| {
            dependency.digest.contains_key("gitCommit")
                && dependency.uri.as_deref().is_some_and(|uri| uri.starts_with(GIT_PREFIX))
        })
    }
}

/// One file of an artifact: its name (path inside the artifact, `/`-separated, or the file's
/// name for a single file) and its SHA-256 digest in lowercase hex.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Subject {
    /// The name.
    pub name: String,
    /// The SHA-256 digest, 64 lowercase hex digits.
    pub sha256: String,
}

impl Subject {
    /// A subject from a name and a SHA-256 digest in hex, with or without a `sha256:` prefix
    /// (an artifact manifest's form); the digest is lowercased.
    ///
    /// # Errors
    ///
    /// When the name is empty or the digest is not 64 hex digits.
    pub fn new(name: impl Into<String>, sha256: &str) -> Result<Self, InputError> {
        let name = name.into();
        if name.is_empty() {
            return Err(InputError::EmptySubjectName);
        }
        let hex = sha256.strip_prefix("sha256:").unwrap_or(sha256);
        if hex.len() != 64 || !hex.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return Err(InputError::BadDigest { name, digest: sha256.to_owned() });
        }
        Ok(Self { name, sha256: hex.to_ascii_lowercase() })
    }
}

/// The pipeline a run ran.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PipelineRef {
    /// Its name on the server.
    pub name: String,
    /// Its YAML file's path in the repository.
    pub yaml_path: String,
}

/// A task a run used, by name and version (`Bash`, `3.201.1`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TaskUsed {
    /// The task's name.
    pub name: String,
    /// Its version.
    pub version: String,
}

/// What the server knows about a run and one artifact, for [`statement`].
#[derive(Clone, Debug, PartialEq)]
pub struct ProvenanceInput {
    /// The builder's id: the server's external URL (`https://slipway.example.com`).
    pub builder_id: String,
    /// The server's version (`runDetails.builder.version.slipway`).
    pub builder_version: String,
    /// The run's address (`https://slipway.example.com/pipelines/app/runs/42`).
    pub invocation_id: String,
    /// The pipeline.
    pub pipeline: PipelineRef,
    /// The repository's URI (`https://git.example.com/team/app`).
    pub repository: String,
    /// The ref the run was for (`refs/heads/main`).
    pub git_ref: String,
    /// The commit the run checked out: 40 (SHA-1) or 64 (SHA-256) hex digits.
    pub commit: String,
    /// The run's parameters (the pipeline's `parameters:` with their values).
    pub parameters: Map<String, Value>,
    /// The tasks the run's steps used.
    pub tasks: Vec<TaskUsed>,
    /// When the run started.
    pub started_on: jiff::Timestamp,
    /// When the run finished (or the artifact was published).
    pub finished_on: jiff::Timestamp,
    /// The artifact's files.
    pub subjects: Vec<Subject>,
}

/// Why a statement could not be made: the server's input is wrong.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InputError {
    /// A statement needs at least one subject.
    #[error("the artifact has no files: a statement needs at least one subject")]
    NoSubjects,
    /// A subject without a name.
    #[error("a subject has an empty name")]
    EmptySubjectName,
    /// Two subjects with one name.
    #[error("two subjects are named {0:?}")]
    DuplicateSubject(String),
    /// A digest that is not SHA-256 hex.
    #[error("subject {name:?}: {digest:?} is not a SHA-256 digest (64 hex digits)")]
    BadDigest {
        /// The subject.
        name: String,
        /// What was given.
        digest: String,
    },
    /// A commit that is not a full hex object id.
    #[error("commit {0:?} is not a full commit id (40 or 64 hex digits)")]
    BadCommit(String),
    /// A required text left empty.
    #[error("{0} is empty")]
    Empty(&'static str),
}

/// The statement for one artifact of a run: its subjects sorted by name, `externalParameters`
/// `{repository, ref, pipeline{name, path}, parameters}`, the repository at its commit and each
/// task as resolved dependencies, the server as the builder and the run as the invocation.
///
/// # Errors
///
/// When the input is not usable ([`InputError`]).
pub fn statement(input: &ProvenanceInput) -> Result<Statement, InputError> {
    for (what, value) in [
        ("builder_id", &input.builder_id),
        ("invocation_id", &input.invocation_id),
        ("repository", &input.repository),
        ("git_ref", &input.git_ref),
    ] {
        if value.trim().is_empty() {
            return Err(InputError::Empty(what));
        }
    }
    let commit = &input.commit;
    if !matches!(commit.len(), 40 | 64) || !commit.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return Err(InputError::BadCommit(commit.clone()));
    }
    if input.subjects.is_empty() {
        return Err(InputError::NoSubjects);
    }
    let mut subjects = Vec::with_capacity(input.subjects.len());
    let mut names = BTreeSet::new();
    for subject in &input.subjects {
        let checked = Subject::new(subject.name.clone(), &subject.sha256)?;
        if !names.insert(checked.name.clone()) {
            return Err(InputError::DuplicateSubject(checked.name));
        }
        subjects.push(checked);
    }
    subjects.sort();

    let mut external = Map::new();
    external.insert("repository".into(), Value::String(input.repository.clone()));
    external.insert("ref".into(), Value::String(input.git_ref.clone()));
    external
        .insert("pipeline".into(), serde_json::json!({"name": input.pipeline.name, "path": input.pipeline.yaml_path}));
    external.insert("parameters".into(), Value::Object(input.parameters.clone()));

    let mut dependencies = vec![ResourceDescriptor {
        name: Some("source".into()),
        uri: Some(format!("{GIT_PREFIX}{}@{}", input.repository, input.git_ref)),
        digest: BTreeMap::from([("gitCommit".into(), commit.to_ascii_lowercase())]),
        ..ResourceDescriptor::default()
    }];
    let tasks: BTreeSet<&TaskUsed> = input.tasks.iter().collect();
    dependencies.extend(tasks.into_iter().map(|task| ResourceDescriptor {
        name: Some(format!("task:{}", task.name)),
        uri: Some(format!("pkg:generic/slipway-tasks/{}@{}", task.name, task.version)),
        ..ResourceDescriptor::default()
    }));

    let mut version = BTreeMap::new();
    if !input.builder_version.is_empty() {
        version.insert("slipway".into(), input.builder_version.clone());
    }
    Ok(Statement {
        type_: STATEMENT_TYPE.into(),
        subject: subjects
            .into_iter()
            .map(|subject| ResourceDescriptor {
                name: Some(subject.name),
                digest: BTreeMap::from([("sha256".into(), subject.sha256)]),
                ..ResourceDescriptor::default()
            })
            .collect(),
        predicate_type: SLSA_PROVENANCE_V1.into(),
        predicate: Provenance {
            build_definition: BuildDefinition {
                build_type: BUILD_TYPE.into(),
                external_parameters: external,
                internal_parameters: None,
                resolved_dependencies: dependencies,
            },
            run_details: RunDetails {
                builder: Builder { id: input.builder_id.clone(), version, builder_dependencies: Vec::new() },
                metadata: Some(BuildMetadata {
                    invocation_id: Some(input.invocation_id.clone()),
                    started_on: Some(timestamp(input.started_on)),
                    finished_on: Some(timestamp(input.finished_on)),
                }),
                byproducts: Vec::new(),
            },
        },
    })
}

/// A time as SLSA writes it: UTC, to the second (`2026-12-07T08:00:00Z`).
fn timestamp(time: jiff::Timestamp) -> String {
    time.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A run's input with two files.
    pub(crate) fn input() -> ProvenanceInput {
        ProvenanceInput {
            builder_id: "https://slipway.example.com".into(),
            builder_version: "0.1.0".into(),
            invocation_id: "https://slipway.example.com/pipelines/app/runs/42".into(),
            pipeline: PipelineRef { name: "app".into(), yaml_path: "azure-pipelines.yml".into() },
            repository: "https://git.example.com/team/app".into(),
            git_ref: "refs/heads/main".into(),
            commit: "0123456789abcdef0123456789abcdef01234567".into(),
            parameters: serde_json::json!({"environment": "staging", "replicas": 2})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            tasks: vec![
                TaskUsed { name: "SlipwaySbom".into(), version: "1.0.0".into() },
                TaskUsed { name: "Bash".into(), version: "3.201.1".into() },
                TaskUsed { name: "Bash".into(), version: "3.201.1".into() },
            ],
            started_on: "2026-12-07T08:00:00.250Z".parse().unwrap_or_default(),
            finished_on: "2026-12-07T08:03:10Z".parse().unwrap_or_default(),
            subjects: vec![
                Subject::new("bin/app", &"b".repeat(64)).unwrap_or_else(|error| panic!("{error}")),
                Subject::new("README.md", &format!("sha256:{}", "A".repeat(64)))
                    .unwrap_or_else(|error| panic!("{error}")),
            ],
        }
    }

    #[test]
    fn a_statement_has_slsa_fields_in_a_fixed_order() {
        let statement = statement(&input()).unwrap_or_else(|error| panic!("{error}"));
        let json = serde_json::to_value(&statement).unwrap_or_default();
        assert_eq!(json["_type"], STATEMENT_TYPE);
        assert_eq!(json["predicateType"], SLSA_PROVENANCE_V1);
        assert_eq!(json["subject"][0]["name"], "README.md");
        assert_eq!(json["subject"][0]["digest"]["sha256"], "a".repeat(64));
        assert_eq!(json["subject"][1]["name"], "bin/app");
        let definition = &json["predicate"]["buildDefinition"];
        assert_eq!(definition["buildType"], BUILD_TYPE);
        assert_eq!(definition["externalParameters"]["ref"], "refs/heads/main");
        assert_eq!(definition["externalParameters"]["pipeline"]["path"], "azure-pipelines.yml");
        assert_eq!(definition["externalParameters"]["parameters"]["replicas"], 2);
        let dependencies = definition["resolvedDependencies"].as_array().cloned().unwrap_or_default();
        assert_eq!(dependencies.len(), 3, "the source and two distinct tasks: {dependencies:?}");
        assert_eq!(dependencies[0]["uri"], "git+https://git.example.com/team/app@refs/heads/main");
        assert_eq!(dependencies[0]["digest"]["gitCommit"], "0123456789abcdef0123456789abcdef01234567");
        assert_eq!(dependencies[1]["uri"], "pkg:generic/slipway-tasks/Bash@3.201.1");
        let run = &json["predicate"]["runDetails"];
        assert_eq!(run["builder"]["id"], "https://slipway.example.com");
        assert_eq!(run["builder"]["version"]["slipway"], "0.1.0");
        assert_eq!(run["metadata"]["startedOn"], "2026-12-07T08:00:00Z");
        assert_eq!(run["metadata"]["finishedOn"], "2026-12-07T08:03:10Z");
        assert_eq!(run["metadata"]["invocationId"], "https://slipway.example.com/pipelines/app/runs/42");
        assert_eq!(statement.predicate.commit(), Some("0123456789abcdef0123456789abcdef01234567"));
        assert_eq!(statement.predicate.repository().as_deref(), Some("https://git.example.com/team/app"));
        // The same input gives the same bytes.
        let again = serde_json::to_string(&super::statement(&input()).unwrap_or_else(|error| panic!("{error}")));
        assert_eq!(serde_json::to_string(&statement).ok(), again.ok());
    }

    #[test]
    fn bad_input_is_named() {
        let mut bad = input();
        bad.commit = "abc".into();
        assert_eq!(statement(&bad), Err(InputError::BadCommit("abc".into())));
        let mut bad = input();
        bad.subjects.clear();
        assert_eq!(statement(&bad), Err(InputError::NoSubjects));
        let mut bad = input();
        bad.subjects.push(bad.subjects[0].clone());
        assert_eq!(statement(&bad), Err(InputError::DuplicateSubject("bin/app".into())));
        assert!(matches!(Subject::new("x", "sha256:12"), Err(InputError::BadDigest { .. })));
        let mut bad = input();
        bad.builder_id = " ".into();
        assert_eq!(statement(&bad), Err(InputError::Empty("builder_id")));
    }

    /// A JSON Schema transcribed from SLSA's own CUE schema of provenance v1.1
    /// (slsa-framework/slsa `docs/spec/v1.1/schema/provenance.cue`) and the in-toto Statement
    /// v1 spec's required fields.
    #[test]
    fn a_statement_matches_the_slsa_schema() {
        let schema: Value = serde_json::from_str(include_str!("testdata/slsa-provenance-v1.schema.json"))
            .unwrap_or_else(|error| panic!("{error}"));
        let validator = jsonschema::validator_for(&schema).unwrap_or_else(|error| panic!("{error}"));
        let statement =
            serde_json::to_value(statement(&input()).unwrap_or_else(|error| panic!("{error}"))).unwrap_or_default();
        let errors: Vec<String> = validator.iter_errors(&statement).map(|error| error.to_string()).collect();
        assert!(errors.is_empty(), "{errors:#?}");
        let mut broken = statement.clone();
        broken["predicate"]["buildDefinition"].as_object_mut().map(|definition| definition.remove("buildType"));
        assert!(!validator.is_valid(&broken));
    }
}
