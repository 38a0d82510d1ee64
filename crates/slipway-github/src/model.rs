//! The typed, normalized [`Workflow`]: what a valid workflow file says, in the shape a later
//! lowering to the neutral plan needs, with the [`Span`] of each part kept for its errors.
//!
//! Normalized: `on` in its string, list and mapping forms becomes one list of [`Trigger`]s;
//! `needs` and `runs-on` become lists; a step is either a `run` or a `uses` step. Values that
//! may hold expressions are kept as their text ([`Text`]); they are evaluated later, at run time.
//! Built from a tree the schema check passed, it reads what is there and skips what is not.

use slipway_diagnostics::Span;
use slipway_yaml::{Literal, Node, Value};

/// A scalar's text and where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Text {
    /// The text (a number or boolean as written; may hold `${{ }}`).
    pub value: String,
    /// Where it was written.
    pub span: Span,
}

/// A workflow file.
#[derive(Clone, Debug, PartialEq)]
pub struct Workflow {
    /// `name`.
    pub name: Option<Text>,
    /// `run-name`.
    pub run_name: Option<Text>,
    /// `on`, normalized: one entry per event.
    pub on: Vec<Trigger>,
    /// `env`, in order.
    pub env: Vec<(Text, Text)>,
    /// `defaults.run`.
    pub defaults: Option<RunDefaults>,
    /// `permissions`.
    pub permissions: Option<Permissions>,
    /// `concurrency`.
    pub concurrency: Option<Concurrency>,
    /// `jobs`, in order.
    pub jobs: Vec<Job>,
    /// Where the workflow's document is.
    pub span: Span,
}

/// One event of `on`, with its configuration (`branches`, `types`, `inputs`, `cron`, ...).
#[derive(Clone, Debug, PartialEq)]
pub struct Trigger {
    /// The event's name: `push`, `pull_request`, `schedule`, `workflow_dispatch`, ...
    pub event: Text,
    /// The configuration under it, if any (a mapping, or for `schedule` a sequence), as YAML.
    pub config: Option<Node>,
}

impl Trigger {
    /// The values of a filter list under the event (`branches`, `tags`, `paths`, `types`, their
    /// `-ignore` forms), a single string counting as a one-item list.
    #[must_use]
    pub fn filter(&self, key: &str) -> Option<Vec<Text>> {
        self.config.as_ref()?.get(key).map(texts)
    }

    /// `schedule`'s cron expressions.
    #[must_use]
    pub fn crons(&self) -> Vec<Text> {
        let Some(items) = self.config.as_ref().and_then(Node::as_sequence) else { return Vec::new() };
        items.iter().filter_map(|item| item.get("cron")).filter_map(text).collect()
    }
}

/// `defaults.run`.
#[derive(Clone, Debug, PartialEq)]
pub struct RunDefaults {
    /// `shell`.
    pub shell: Option<Text>,
    /// `working-directory`.
    pub working_directory: Option<Text>,
}

/// `permissions`: a shorthand (`read-all`, `write-all`, `{}`) or a level per scope.
#[derive(Clone, Debug, PartialEq)]
pub enum Permissions {
    /// `read-all` or `write-all`.
    Shorthand(Text),
    /// `scope: read|write|none` entries (an empty list: no permissions at all).
    Scopes(Vec<(Text, Text)>),
}

/// `concurrency`.
#[derive(Clone, Debug, PartialEq)]
pub struct Concurrency {
    /// `group` (or the string form).
    pub group: Text,
    /// `cancel-in-progress` (a boolean, or an expression's text).
    pub cancel_in_progress: Option<Text>,
}

/// A job.
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    /// The job's id (its key under `jobs`).
    pub id: Text,
    /// `name`.
    pub name: Option<Text>,
    /// `needs`, normalized to a list.
    pub needs: Vec<Text>,
    /// `if`.
    pub condition: Option<Text>,
    /// `strategy`.
    pub strategy: Option<Strategy>,
    /// `permissions`.
    pub permissions: Option<Permissions>,
    /// `concurrency`.
    pub concurrency: Option<Concurrency>,
    /// Steps or a reusable workflow.
    pub kind: JobKind,
    /// Where the job's mapping is.
    pub span: Span,
}

/// What a job runs.
#[derive(Clone, Debug, PartialEq)]
pub enum JobKind {
    /// A job of steps on a runner.
    Steps(Box<StepsJob>),
    /// A call of a reusable workflow (`uses:`).
    Workflow(WorkflowCall),
}

/// A job that runs steps.
#[derive(Clone, Debug, PartialEq)]
pub struct StepsJob {
    /// `runs-on`: labels (a string is a one-label list), or a group with labels.
    pub runs_on: RunsOn,
    /// `environment`.
    pub environment: Option<Environment>,
    /// `outputs`.
    pub outputs: Vec<(Text, Text)>,
    /// `env`.
    pub env: Vec<(Text, Text)>,
    /// `defaults.run`.
    pub defaults: Option<RunDefaults>,
    /// `timeout-minutes` (a number, or an expression's text).
    pub timeout_minutes: Option<Text>,
    /// `continue-on-error`.
    pub continue_on_error: Option<Text>,
    /// `container`, as YAML (lowering refuses it while no container engine is available).
    pub container: Option<Node>,
    /// `services`, as YAML.
    pub services: Option<Node>,
    /// `steps`.
    pub steps: Vec<Step>,
}

/// `runs-on`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct RunsOn {
    /// Labels every one of which the runner must have (or one expression's text).
    pub labels: Vec<Text>,
    /// A runner group.
    pub group: Option<Text>,
}

/// `environment`.
#[derive(Clone, Debug, PartialEq)]
pub struct Environment {
    /// The environment's name.
    pub name: Text,
    /// `url`.
    pub url: Option<Text>,
}

/// `strategy`.
#[derive(Clone, Debug, PartialEq)]
pub struct Strategy {
    /// `matrix`, as YAML (a mapping of vectors with `include`/`exclude`, or an expression).
    pub matrix: Option<Node>,
    /// `fail-fast`.
    pub fail_fast: Option<Text>,
    /// `max-parallel`.
    pub max_parallel: Option<Text>,
}

/// A call of a reusable workflow.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkflowCall {
    /// `uses`: `./.github/workflows/x.yml` or `owner/repo/.github/workflows/x.yml@ref`.
    pub uses: Text,
    /// `with`.
    pub with: Vec<(Text, Text)>,
    /// `secrets`: `inherit`, or named values.
    pub secrets: Option<Secrets>,
}

/// A reusable workflow call's `secrets`.
#[derive(Clone, Debug, PartialEq)]
pub enum Secrets {
    /// `secrets: inherit`.
    Inherit(Span),
    /// Named secrets.
    Named(Vec<(Text, Text)>),
}

/// A step.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// `id`.
    pub id: Option<Text>,
    /// `name`.
    pub name: Option<Text>,
    /// `if`.
    pub condition: Option<Text>,
    /// What it does.
    pub action: StepAction,
    /// `env`.
    pub env: Vec<(Text, Text)>,
    /// `continue-on-error`.
    pub continue_on_error: Option<Text>,
    /// `timeout-minutes`.
    pub timeout_minutes: Option<Text>,
    /// Where the step's mapping is.
    pub span: Span,
}

/// A step's `run` or `uses`.
#[derive(Clone, Debug, PartialEq)]
pub enum StepAction {
    /// `run`, with its `shell` and `working-directory`.
    Run {
        /// The script.
        run: Text,
        /// `shell`.
        shell: Option<Text>,
        /// `working-directory`.
        working_directory: Option<Text>,
    },
    /// `uses`, with its `with` inputs.
    Uses {
        /// The action reference.
        uses: Text,
        /// `with`.
        with: Vec<(Text, Text)>,
    },
}

fn text(node: &Node) -> Option<Text> {
    node.as_scalar().map(|scalar| Text { value: scalar.text.clone(), span: node.span })
}

fn texts(node: &Node) -> Vec<Text> {
    match &node.value {
        Value::Sequence(items) => items.iter().filter_map(text).collect(),
        Value::Scalar(_) if !node.is_null() => text(node).into_iter().collect(),
        _ => Vec::new(),
    }
}

fn pairs(node: Option<&Node>) -> Vec<(Text, Text)> {
    node.and_then(Node::as_mapping)
        .map(|entries| {
            entries
                .iter()
                .filter_map(|(key, value)| {
                    let value = text(value).unwrap_or_else(|| Text { value: String::new(), span: value.span });
                    Some((text(key)?, value))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn field(node: &Node, key: &str) -> Option<Text> {
    node.get(key).filter(|value| !value.is_null()).and_then(text)
}

fn defaults(node: &Node) -> Option<RunDefaults> {
    let run = node.get("defaults")?.get("run")?;
    Some(RunDefaults { shell: field(run, "shell"), working_directory: field(run, "working-directory") })
}

fn permissions(node: &Node) -> Option<Permissions> {
    let value = node.get("permissions")?;
    match &value.value {
        Value::Mapping(_) => Some(Permissions::Scopes(pairs(Some(value)))),
        Value::Scalar(_) => text(value).map(Permissions::Shorthand),
        Value::Sequence(_) => None,
    }
}

fn concurrency(node: &Node) -> Option<Concurrency> {
    let value = node.get("concurrency")?;
    match &value.value {
        Value::Mapping(_) => {
            Some(Concurrency { group: field(value, "group")?, cancel_in_progress: field(value, "cancel-in-progress") })
        }
        _ => Some(Concurrency { group: text(value)?, cancel_in_progress: None }),
    }
}

fn triggers(on: &Node) -> Vec<Trigger> {
    match &on.value {
        Value::Scalar(_) => text(on).map(|event| vec![Trigger { event, config: None }]).unwrap_or_default(),
        Value::Sequence(items) => items.iter().filter_map(text).map(|event| Trigger { event, config: None }).collect(),
        Value::Mapping(entries) => entries
            .iter()
            .filter_map(|(key, value)| {
                let config = (!value.is_null()).then(|| value.clone());
                Some(Trigger { event: text(key)?, config })
            })
            .collect(),
    }
}

fn step(node: &Node) -> Option<Step> {
    let action = if let Some(run) = field(node, "run") {
        StepAction::Run { run, shell: field(node, "shell"), working_directory: field(node, "working-directory") }
    } else {
        StepAction::Uses { uses: field(node, "uses")?, with: pairs(node.get("with")) }
    };
    Some(Step {
        id: field(node, "id"),
        name: field(node, "name"),
        condition: field(node, "if"),
        action,
        env: pairs(node.get("env")),
        continue_on_error: field(node, "continue-on-error"),
        timeout_minutes: field(node, "timeout-minutes"),
        span: node.span,
    })
}

fn job(key: &Node, node: &Node) -> Option<Job> {
    let kind = if let Some(uses) = field(node, "uses") {
        let secrets = node.get("secrets").map(|secrets| match secrets.as_str() {
            Some("inherit") => Secrets::Inherit(secrets.span),
            _ => Secrets::Named(pairs(Some(secrets))),
        });
        JobKind::Workflow(WorkflowCall { uses, with: pairs(node.get("with")), secrets })
    } else {
        let runs_on = match node.get("runs-on") {
            Some(value) if value.as_mapping().is_some() => {
                RunsOn { labels: value.get("labels").map(texts).unwrap_or_default(), group: field(value, "group") }
            }
            Some(value) => RunsOn { labels: texts(value), group: None },
            None => RunsOn::default(),
        };
        let environment = node.get("environment").and_then(|value| match &value.value {
            Value::Mapping(_) => Some(Environment { name: field(value, "name")?, url: field(value, "url") }),
            _ => Some(Environment { name: text(value)?, url: None }),
        });
        JobKind::Steps(Box::new(StepsJob {
            runs_on,
            environment,
            outputs: pairs(node.get("outputs")),
            env: pairs(node.get("env")),
            defaults: defaults(node),
            timeout_minutes: field(node, "timeout-minutes"),
            continue_on_error: field(node, "continue-on-error"),
            container: node.get("container").cloned(),
            services: node.get("services").cloned(),
            steps: node
                .get("steps")
                .and_then(Node::as_sequence)
                .map(|s| s.iter().filter_map(step).collect())
                .unwrap_or_default(),
        }))
    };
    let strategy = node.get("strategy").filter(|s| s.as_mapping().is_some()).map(|strategy| Strategy {
        matrix: strategy.get("matrix").cloned(),
        fail_fast: field(strategy, "fail-fast"),
        max_parallel: field(strategy, "max-parallel"),
    });
    Some(Job {
        id: text(key)?,
        name: field(node, "name"),
        needs: node.get("needs").map(texts).unwrap_or_default(),
        condition: field(node, "if"),
        strategy,
        permissions: permissions(node),
        concurrency: concurrency(node),
        kind,
        span: node.span,
    })
}

impl Workflow {
    /// Reads the model from a tree that passed the schema check.
    pub(crate) fn from_node(root: &Node) -> Workflow {
        Workflow {
            name: field(root, "name"),
            run_name: field(root, "run-name"),
            on: root.get("on").map(triggers).unwrap_or_default(),
            env: pairs(root.get("env")),
            defaults: defaults(root),
            permissions: permissions(root),
            concurrency: concurrency(root),
            jobs: root
                .get("jobs")
                .and_then(Node::as_mapping)
                .map(|jobs| jobs.iter().filter_map(|(key, value)| job(key, value)).collect())
                .unwrap_or_default(),
            span: root.span,
        }
    }

    /// The job with this id.
    #[must_use]
    pub fn job(&self, id: &str) -> Option<&Job> {
        self.jobs.iter().find(|job| job.id.value == id)
    }

    /// How many steps the workflow's jobs have (reusable workflow calls count for none).
    #[must_use]
    pub fn step_count(&self) -> usize {
        self.jobs
            .iter()
            .map(|job| match &job.kind {
                JobKind::Steps(steps) => steps.steps.len(),
                JobKind::Workflow(_) => 0,
            })
            .sum()
    }
}

/// Whether a plain scalar reads as `true` (for `continue-on-error` and the like).
#[must_use]
pub fn is_true(text: &Text) -> bool {
    matches!(slipway_yaml::core_schema(&text.value), Literal::Bool(true))
}
