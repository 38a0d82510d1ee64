//! Slipway's neutral plan: what to run, in what order, under which conditions.
//!
//! Every front end (Azure Pipelines today, GitHub Actions next) lowers its YAML into a [`Plan`];
//! the scheduler walks the plan's graph, executors run its steps, the server stores it and ships
//! jobs from it to agents. Nothing here is shaped after one dialect: Azure's `dependsOn` and
//! GitHub's `needs` are both [`Job::depends_on`], Azure's matrix and `parallel` and GitHub's
//! matrix are all [`Leg`]s, and a condition keeps its parsed expression together with the dialect
//! it is written in. The plan is plain data (serde), so it can be printed with `slipway plan`,
//! stored and sent over the wire.

mod demand;
mod github;

use serde::{Deserialize, Serialize};
use slipway_diagnostics::Span;
use slipway_expr::Expression;

pub use demand::{Demand, DemandError};
pub use github::GithubExpression;

/// The version of the plan's JSON shape. Bumped on every incompatible change.
pub const PLAN_VERSION: u32 = 1;

/// A job's key, the one name of a leg in events, the store, the API and the UI: `STAGE.JOB`, or
/// `STAGE.JOB.LEG` for a leg of a matrix or parallel job. The only place the key is built.
#[must_use]
pub fn job_key(stage: &str, job: &str, leg: Option<&str>) -> String {
    match leg {
        Some(leg) => format!("{stage}.{job}.{leg}"),
        None => format!("{stage}.{job}"),
    }
}

/// Whether `key` (a [`job_key`]) is `job` (the key of a whole job, `STAGE.JOB`) or one of its
/// legs (`STAGE.JOB.LEG`).
#[must_use]
pub fn is_key_of_job(key: &str, job: &str) -> bool {
    key.strip_prefix(job).is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

/// A whole pipeline run's worth of work.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// [`PLAN_VERSION`] at the time the plan was made.
    pub version: u32,
    /// The front end the plan came from, which also fixes the expression dialect of its conditions.
    pub dialect: Dialect,
    /// The files the pipeline was read from; every [`Span`] in the plan indexes into this list.
    pub files: Vec<String>,
    /// The run-number format (Azure's `name:`), if the pipeline sets one.
    pub run_name: Option<String>,
    /// Whether the run name is appended to the commit message in the UI (Azure's `appendCommitMessageToRunName`).
    pub append_commit_message: Option<bool>,
    /// Parameters as resolved at expansion time, for the record.
    pub parameters: Vec<ParameterValue>,
    /// Pipeline-level variables.
    pub variables: Vec<Variable>,
    /// Stages in declaration order. A dialect without stages gets one implicit stage.
    pub stages: Vec<Stage>,
    /// Repositories and other resources the pipeline declares.
    pub resources: Resources,
    /// The templates the pipeline `extends:`, outermost first (for the required-template check).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extends: Vec<TemplateRef>,
    /// Environment variables every step gets (GitHub's workflow-level `env`), in order; values
    /// may hold expressions of the plan's dialect, evaluated when a step runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<(String, String)>,
}

/// The language a pipeline was written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Dialect {
    /// Azure Pipelines YAML.
    AzurePipelines,
    /// GitHub Actions workflows.
    GithubActions,
}

/// A parameter's final value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParameterValue {
    /// The parameter's name.
    pub name: String,
    /// Its value as JSON.
    pub value: serde_json::Value,
}

/// Declared resources.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Resources {
    /// Repositories other than the pipeline's own (`resources.repositories`).
    pub repositories: Vec<Repository>,
    /// Other pipelines whose artifacts or completion this pipeline uses (`resources.pipelines`).
    pub pipelines: Vec<PipelineResource>,
}

/// A template file: in the pipeline's own repository, or in a repository resource by alias.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateRef {
    /// The alias of the repository resource it is in; `None` for the pipeline's own.
    pub repository: Option<String>,
    /// Its path from that repository's root.
    pub path: String,
}

/// A repository resource.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Repository {
    /// The alias steps use to refer to it (`checkout: alias`).
    pub alias: String,
    /// `git`, `github`, `githubenterprise`, `bitbucket`.
    pub kind: Option<String>,
    /// Repository name, such as `org/repo`.
    pub name: Option<String>,
    /// Ref to check out.
    pub reference: Option<String>,
    /// Service connection name.
    pub endpoint: Option<String>,
}

/// A pipeline resource.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PipelineResource {
    /// The alias.
    pub alias: String,
    /// The source pipeline's name.
    pub source: Option<String>,
}

/// A stage: a group of jobs with dependencies on other stages.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stage {
    /// Unique name; what other stages depend on.
    pub name: String,
    /// Human-readable name.
    pub display_name: Option<String>,
    /// Stages that must finish first.
    pub depends_on: Vec<String>,
    /// When the stage runs; `None` means the dialect's default (`succeeded()`).
    pub condition: Option<Condition>,
    /// Stage-level variables.
    pub variables: Vec<Variable>,
    /// The jobs, in declaration order.
    pub jobs: Vec<Job>,
    /// How runs queue for an exclusive lock on a resource the stage uses (`sequential`, the
    /// default, or `runLatest`), from the stage's or the pipeline's `lockBehavior`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_behavior: Option<String>,
    /// Where the stage was declared.
    pub span: Option<Span>,
}

/// A job: steps run in order on one machine, possibly as several legs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// Unique name in its stage; what other jobs depend on.
    pub name: String,
    /// Human-readable name.
    pub display_name: Option<String>,
    /// Jobs in the same stage that must finish first.
    pub depends_on: Vec<String>,
    /// When the job runs; `None` means the dialect's default.
    pub condition: Option<Condition>,
    /// Whether a failure of this job leaves the run `SucceededWithIssues` instead of `Failed`.
    pub continue_on_error: bool,
    /// Job-level variables.
    pub variables: Vec<Variable>,
    /// What kind of job this is.
    pub kind: JobKind,
    /// Legs (matrix entries or parallel slices); a job without a strategy has exactly one leg.
    pub legs: Vec<Leg>,
    /// How many legs may run at once; `None` for no limit.
    pub max_parallel: Option<u32>,
    /// Whether a leg that fails stops the legs not started yet (a rolling deployment stops
    /// rolling at the first target that fails).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stop_on_failure: bool,
    /// Whether a failing leg cancels the others (GitHub's `fail-fast`; Azure never does).
    pub fail_fast: bool,
    /// The steps, for agent and server jobs. Deployment jobs keep theirs in hooks.
    pub steps: Vec<Step>,
    /// Where the job runs.
    pub pool: Option<Pool>,
    /// A container to run steps in.
    pub container: Option<serde_json::Value>,
    /// Service containers.
    pub services: Option<serde_json::Value>,
    /// What to clean before the job (`workspace.clean`).
    pub workspace_clean: Option<WorkspaceClean>,
    /// Minutes before the job is cancelled; `None` for the dialect's default.
    pub timeout_minutes: Option<u32>,
    /// Minutes that cleanup steps get after a cancel.
    pub cancel_timeout_minutes: Option<u32>,
    /// Job outputs (GitHub's `outputs:`), name to expression text.
    pub outputs: Vec<(String, String)>,
    /// Environment variables every step of the job gets (GitHub's job-level `env`), in order,
    /// over the plan's; values may hold expressions, evaluated when a step runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<(String, String)>,
    /// Runs of the same group that may not run at once (GitHub's `concurrency`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<Concurrency>,
    /// The token permissions the job asks for (GitHub's `permissions`: scope to `read`,
    /// `write` or `none`; `read-all`/`write-all` as one entry `*`), recorded with the run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permissions: Vec<(String, String)>,
    /// Where the job was declared.
    pub span: Option<Span>,
}

/// A concurrency group (GitHub's `concurrency`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Concurrency {
    /// The group's name; may hold expressions, evaluated when the run or job starts.
    pub group: String,
    /// Whether a new run cancels the one in progress in the group (`true`, `false` or an
    /// expression's text), instead of waiting for it.
    pub cancel_in_progress: String,
}

/// The kind of a job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "type")]
pub enum JobKind {
    /// Steps on an agent.
    Agent,
    /// Agentless (server) tasks.
    Server,
    /// A deployment to an environment, run through a strategy's lifecycle hooks.
    Deployment(Deployment),
}

/// A deployment job's environment and strategy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    /// The environment deployed to.
    pub environment: Option<Environment>,
    /// How the deployment rolls out.
    pub strategy: DeploymentStrategy,
    /// Lifecycle hooks, in the order they were declared.
    pub hooks: Vec<Hook>,
}

/// An environment reference.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    /// The environment's name.
    pub name: String,
    /// A resource inside the environment (`env.resource`), if any.
    pub resource_name: Option<String>,
    /// The resource's type (`VirtualMachine`, `Kubernetes`), if any.
    pub resource_type: Option<String>,
    /// Tags selecting resources.
    pub tags: Vec<String>,
}

/// A deployment strategy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "type")]
pub enum DeploymentStrategy {
    /// Every hook once.
    RunOnce,
    /// The hooks once per batch of targets; `max_parallel` is a count or a percentage (`"25%"`).
    Rolling {
        /// Targets per batch.
        max_parallel: Option<String>,
    },
    /// The hooks once per increment (percentages of traffic), then at 100.
    Canary {
        /// The increments, such as `[10, 20]`.
        increments: Vec<u32>,
    },
}

/// The lifecycle hooks of deployment jobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum HookKind {
    /// Before deploying: resources are initialised.
    PreDeploy,
    /// The deployment itself.
    Deploy,
    /// Traffic is routed to the new version.
    RouteTraffic,
    /// After traffic is routed: monitoring.
    PostRouteTraffic,
    /// Runs when a hook failed.
    OnFailure,
    /// Runs when every hook succeeded.
    OnSuccess,
}

/// A lifecycle hook's steps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hook {
    /// Which hook.
    pub kind: HookKind,
    /// A pool just for this hook.
    pub pool: Option<Pool>,
    /// The steps.
    pub steps: Vec<Step>,
}

/// One leg of a job: a matrix entry, a parallel slice, or the single run of a plain job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Leg {
    /// The leg's name (`linux` for a matrix entry, `job2` for a parallel slice); `None` for a plain job.
    pub name: Option<String>,
    /// The display name the dialect gives the leg.
    pub display_name: Option<String>,
    /// Variables the leg sets (the matrix entry's values, or the slice number).
    pub variables: Vec<(String, String)>,
    /// The one agent the leg must run on: a virtual-machine resource of the environment a
    /// deployment job deploys to (the server sets it when the stage is about to start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<LegTarget>,
    /// The leg's matrix entry as a value (GitHub's `matrix` context), where the dialect has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matrix: Option<serde_json::Value>,
    /// Whether a failure of this leg leaves the job succeeded with issues, where the leg says
    /// so itself (GitHub's `continue-on-error` written with `matrix`); `None` follows the job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continue_on_error: Option<bool>,
}

/// The agent a leg runs on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegTarget {
    /// The agent's name.
    pub agent: String,
    /// The pool it serves.
    pub pool: String,
}

/// Where a job runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pool {
    /// A named pool of agents.
    pub name: Option<String>,
    /// A hosted image label (`ubuntu-latest`).
    pub image: Option<String>,
    /// Capabilities an agent must have: `name` or `name -equals value`.
    pub demands: Vec<String>,
}

/// What `workspace.clean` removes before a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkspaceClean {
    /// Build outputs only.
    Outputs,
    /// Sources and outputs.
    Resources,
    /// The whole job directory.
    All,
}

/// A variable declared in the pipeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "type")]
pub enum Variable {
    /// A name and value. The value may hold `$(macro)` text or be a whole `$[ runtime ]` expression.
    Value {
        /// The name.
        name: String,
        /// The value.
        value: String,
        /// Whether later steps may not change it.
        readonly: bool,
    },
    /// A variable group (Azure's Library) to load at run time.
    Group {
        /// The group's name.
        name: String,
    },
}

/// A run-time condition, parsed, with its source text and dialect.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Condition {
    /// The text as written after template expansion.
    pub source: String,
    /// The parsed expression.
    pub expression: ConditionExpression,
    /// Where it was written.
    pub span: Option<Span>,
}

/// A condition's expression, in its dialect's language. It is stored as its source text
/// (`{"source": ...}` for Azure's, `{"github": ...}` for GitHub's) and parsed again when read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ConditionExpression {
    /// Azure Pipelines' expression language.
    Azure(Expression),
    /// GitHub Actions' expression language; GitHub's rules for an `if` apply (an expression
    /// without a status function means `success() && (...)`).
    Github(GithubExpression),
}

impl From<Expression> for ConditionExpression {
    fn from(expression: Expression) -> Self {
        Self::Azure(expression)
    }
}

impl From<GithubExpression> for ConditionExpression {
    fn from(expression: GithubExpression) -> Self {
        Self::Github(expression)
    }
}

/// One step of a job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Identifier for output variables (`steps.NAME` / `NAME.var`).
    pub name: Option<String>,
    /// Human-readable name; may hold `$(macros)`.
    pub display_name: Option<String>,
    /// What the step does.
    pub action: Action,
    /// When the step runs; `None` means the dialect's default.
    pub condition: Option<Condition>,
    /// Whether a failure leaves the job `SucceededWithIssues`.
    pub continue_on_error: bool,
    /// Whether the step runs at all.
    pub enabled: bool,
    /// Extra environment variables; values may hold `$(macros)`.
    pub env: Vec<(String, String)>,
    /// Where the step runs, if not the default working directory.
    pub working_directory: Option<String>,
    /// Minutes before the step is cancelled.
    pub timeout_minutes: Option<u32>,
    /// How many more times a failing step is tried.
    pub retry_count: u32,
    /// Whether anything written to stderr fails the step.
    pub fail_on_stderr: bool,
    /// Where the step was declared.
    pub span: Option<Span>,
}

/// What a step does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "type")]
pub enum Action {
    /// A script run by a shell.
    Script {
        /// Which shell.
        shell: Shell,
        /// The script text.
        script: String,
    },
    /// Check out a repository.
    Checkout {
        /// `self`, `none`, or a repository alias.
        repository: String,
        /// Other options (`clean`, `fetchDepth`, `path`, `submodules`, `lfs`, `persistCredentials`).
        options: Vec<(String, String)>,
    },
    /// Publish a pipeline artifact.
    Publish {
        /// Path to publish.
        path: String,
        /// Artifact name.
        artifact: Option<String>,
    },
    /// Download pipeline artifacts.
    Download {
        /// `current`, `none`, or a pipeline resource alias.
        source: String,
        /// Artifact name; `None` for all.
        artifact: Option<String>,
        /// Where to put the files.
        path: Option<String>,
        /// File patterns to download.
        patterns: Option<String>,
    },
    /// A task (`task: NAME@MAJOR`).
    Task {
        /// The task's name or id.
        name: String,
        /// The major version asked for.
        version: Option<String>,
        /// Inputs, as written.
        inputs: Vec<(String, String)>,
    },
    /// A script run by a command line that names its file (GitHub's `run:` with its `shell`).
    Run {
        /// The shell as written (`bash`, `sh`, `python`, `pwsh`, a template), or the default's name.
        shell: String,
        /// The command line: `{0}` stands for the script file's path (`bash -e {0}`).
        command: String,
        /// The script text; may hold expressions of the plan's dialect, evaluated when it runs.
        script: String,
    },
    /// An action (GitHub's `uses:`): `owner/repo@ref`, `owner/repo/path@ref`, `./path` or
    /// `docker://image`, with its inputs (`with:`).
    Uses {
        /// The action's reference as written.
        action: String,
        /// Inputs, as written; values may hold expressions.
        with: Vec<(String, String)>,
    },
    /// Another kind of step (`downloadBuild`, `getPackage`, `reviewApp`), kept as written.
    Other {
        /// The step's kind, its first key.
        kind: String,
        /// The step as JSON.
        definition: serde_json::Value,
    },
}

/// A shell for script steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Shell {
    /// The platform's default shell (`script:` in Azure: bash on Linux and macOS, cmd on Windows).
    Default,
    /// `bash`.
    Bash,
    /// PowerShell Core (`pwsh`).
    Pwsh,
    /// Windows PowerShell (`powershell`).
    PowerShell,
}

impl Plan {
    /// A plan of `stages` with nothing else set.
    #[must_use]
    pub fn new(dialect: Dialect, stages: Vec<Stage>) -> Self {
        Self {
            version: PLAN_VERSION,
            dialect,
            files: Vec::new(),
            run_name: None,
            append_commit_message: None,
            parameters: Vec::new(),
            variables: Vec::new(),
            stages,
            resources: Resources::default(),
            extends: Vec::new(),
            env: Vec::new(),
        }
    }
}

impl Stage {
    /// A stage named `name` holding `jobs`, with no dependencies and the default condition.
    #[must_use]
    pub fn new(name: impl Into<String>, jobs: Vec<Job>) -> Self {
        Self {
            name: name.into(),
            display_name: None,
            depends_on: Vec::new(),
            condition: None,
            variables: Vec::new(),
            jobs,
            lock_behavior: None,
            span: None,
        }
    }
}

impl Job {
    /// An agent job named `name` running `steps` once (one leg), with every setting at its default.
    #[must_use]
    pub fn new(name: impl Into<String>, steps: Vec<Step>) -> Self {
        Self {
            name: name.into(),
            display_name: None,
            depends_on: Vec::new(),
            condition: None,
            continue_on_error: false,
            variables: Vec::new(),
            kind: JobKind::Agent,
            legs: vec![Leg::single()],
            max_parallel: None,
            stop_on_failure: false,
            fail_fast: false,
            steps,
            pool: None,
            container: None,
            services: None,
            workspace_clean: None,
            timeout_minutes: None,
            cancel_timeout_minutes: None,
            outputs: Vec::new(),
            env: Vec::new(),
            concurrency: None,
            permissions: Vec::new(),
            span: None,
        }
    }
}

impl Leg {
    /// The one leg of a job without a strategy.
    #[must_use]
    pub fn single() -> Self {
        Self {
            name: None,
            display_name: None,
            variables: Vec::new(),
            target: None,
            matrix: None,
            continue_on_error: None,
        }
    }
}

impl Step {
    /// A step that does `action` with every setting at its default: enabled, no condition (the
    /// dialect's default), no retries, no timeout.
    #[must_use]
    pub fn new(action: Action) -> Self {
        Self {
            name: None,
            display_name: None,
            action,
            condition: None,
            continue_on_error: false,
            enabled: true,
            env: Vec::new(),
            working_directory: None,
            timeout_minutes: None,
            retry_count: 0,
            fail_on_stderr: false,
            span: None,
        }
    }
}

impl Plan {
    /// Every job with the name of its stage.
    pub fn jobs(&self) -> impl Iterator<Item = (&Stage, &Job)> {
        self.stages.iter().flat_map(|stage| stage.jobs.iter().map(move |job| (stage, job)))
    }
}

#[cfg(test)]
mod tests {
    use super::{is_key_of_job, job_key};

    #[test]
    fn a_job_key_names_the_stage_the_job_and_the_leg() {
        assert_eq!(job_key("Build", "test", None), "Build.test");
        assert_eq!(job_key("Build", "test", Some("linux")), "Build.test.linux");
        assert!(is_key_of_job("Build.test", "Build.test"));
        assert!(is_key_of_job("Build.test.linux", "Build.test"));
        assert!(!is_key_of_job("Build.tests", "Build.test"));
        assert!(!is_key_of_job("Builds.test", "Build.test"));
        assert!(!is_key_of_job("Build", "Build.test"));
    }
}
