//! The one place a run talks to the expression crate: conditions, `$[ ]` runtime variables,
//! `$(macro)` expansion and environment names (used by the scheduler here and by the runtime's
//! job runner for steps).

use std::borrow::Cow;
use std::cell::{OnceCell, RefCell};

use slipway_events::TaskResult;
use slipway_expr::status::{JobStatus, Scope};
use slipway_expr::{Object, Value};
use slipway_plan::{Condition, ConditionExpression, ParameterValue};

use crate::counters::Counters;
use crate::variables::Variables;

/// What status functions (`succeeded()`, `failed()`, ...) look at.
#[derive(Clone, Copy, Debug)]
pub enum Status<'a> {
    /// A step's condition: the job's status so far.
    Step {
        /// `Agent.JobStatus`.
        job_status: TaskResult,
        /// Whether the job was cancelled.
        canceled: bool,
    },
    /// A job's or stage's condition: the results of what it depends on.
    Dependencies {
        /// Name and result of every dependency.
        results: &'a [(String, TaskResult)],
        /// Whether the run was cancelled.
        canceled: bool,
    },
}

/// Everything an expression can see.
pub struct Context<'a> {
    /// `variables`.
    pub variables: &'a Variables,
    /// `dependencies`, as JSON (`{ "A": { "result": ..., "outputs": { ... } } }`).
    pub dependencies: Option<&'a serde_json::Value>,
    /// `stageDependencies`, as JSON (`{ "S": { "J": { "result": ..., "outputs": { ... } } } }`).
    pub stage_dependencies: Option<&'a serde_json::Value>,
    /// What status functions look at.
    pub status: Status<'a>,
    /// `counter()` state, where counters are allowed (runtime variable expressions).
    pub counters: Option<&'a RefCell<Counters>>,
    /// The run's parameters (GitHub's `inputs`).
    pub parameters: &'a [ParameterValue],
}

fn job_status(result: TaskResult) -> JobStatus {
    match result {
        TaskResult::Succeeded => JobStatus::Succeeded,
        TaskResult::SucceededWithIssues => JobStatus::SucceededWithIssues,
        TaskResult::Failed => JobStatus::Failed,
        TaskResult::Canceled => JobStatus::Canceled,
        TaskResult::Skipped => JobStatus::Skipped,
    }
}

fn from_json(value: &serde_json::Value) -> Value {
    Value::from_json(value)
}

struct Adapter<'a, 'b> {
    context: &'b Context<'a>,
    variables: OnceCell<Value>,
    dependencies: OnceCell<Value>,
    stage_dependencies: OnceCell<Value>,
    results: Vec<(String, JobStatus)>,
}

impl slipway_expr::Context for Adapter<'_, '_> {
    fn named_value(&self, name: &str) -> Option<Cow<'_, Value>> {
        if name.eq_ignore_ascii_case("variables") {
            let value = self.variables.get_or_init(|| {
                let mut object = Object::new();
                for variable in self.context.variables.iter() {
                    object.insert(variable.name.clone(), Value::String(variable.value.clone()));
                }
                Value::Object(object)
            });
            return Some(Cow::Borrowed(value));
        }
        if name.eq_ignore_ascii_case("dependencies") {
            let json = self.context.dependencies?;
            return Some(Cow::Borrowed(self.dependencies.get_or_init(|| from_json(json))));
        }
        if name.eq_ignore_ascii_case("stageDependencies") {
            let json = self.context.stage_dependencies?;
            return Some(Cow::Borrowed(self.stage_dependencies.get_or_init(|| from_json(json))));
        }
        None
    }

    fn call(&self, name: &str, arguments: &[Value]) -> Option<Result<Value, slipway_expr::EvalError>> {
        let scope = match self.context.status {
            Status::Step { job_status: status, canceled } => Scope::Step { job_status: job_status(status), canceled },
            Status::Dependencies { canceled, .. } => Scope::Dependencies { results: &self.results, canceled },
        };
        if name.eq_ignore_ascii_case("counter") {
            let Some(counters) = self.context.counters else {
                return Some(Err(slipway_expr::EvalError::new(
                    "counter() can only be used in the value of a variable",
                )));
            };
            let prefix = arguments.first().map(Value::to_display_string).unwrap_or_default();
            let seed = match arguments.get(1) {
                Some(Value::Number(number)) => *number,
                Some(other) => other.to_display_string().trim().parse().unwrap_or(0.0),
                None => 0.0,
            };
            #[expect(clippy::cast_possible_truncation, reason = "counter seeds are whole numbers; Azure truncates too")]
            let seed = seed as i64;
            let value = counters.borrow_mut().next(&prefix, seed);
            #[expect(clippy::cast_precision_loss, reason = "counters stay far below 2^53")]
            return Some(Ok(Value::Number(value as f64)));
        }
        slipway_expr::status::call(name, arguments, &scope)
    }
}

fn evaluate(expression: &slipway_expr::Expression, context: &Context<'_>) -> Result<Value, String> {
    let results = match context.status {
        Status::Dependencies { results, .. } => {
            results.iter().map(|(name, result)| (name.clone(), job_status(*result))).collect()
        }
        Status::Step { .. } => Vec::new(),
    };
    let adapter = Adapter {
        context,
        variables: OnceCell::new(),
        dependencies: OnceCell::new(),
        stage_dependencies: OnceCell::new(),
        results,
    };
    slipway_expr::evaluate(expression, &adapter).map_err(|error| error.to_string())
}

/// Evaluates a condition in its dialect's language; `None` is the default, `succeeded()`.
pub fn condition(condition: Option<&Condition>, context: &Context<'_>) -> Result<bool, String> {
    match condition.map(|condition| &condition.expression) {
        None => Ok(default_condition(context.status)),
        Some(ConditionExpression::Azure(expression)) => evaluate(expression, context).map(|value| value.is_truthy()),
        Some(ConditionExpression::Github(expression)) => {
            crate::github::condition(expression, &github_contexts(context))
        }
    }
}

/// What a GitHub `if` of a stage, job or step sees of `context`: `github`, `vars`, `inputs`,
/// `needs` (a job's dependencies) and the status its status functions look at.
fn github_contexts(context: &Context<'_>) -> crate::github::Contexts {
    use crate::github;
    let status = match context.status {
        Status::Step { job_status, canceled } => github::step_status(job_status, canceled),
        Status::Dependencies { results, canceled } => github::dependencies_status(results, canceled),
    };
    let mut contexts = github::Contexts::new(status);
    contexts.set("github", github::github_context(context.variables));
    contexts.set("vars", github::vars_context(context.variables));
    contexts.set("inputs", github::inputs_context(context.parameters));
    if let Some(dependencies) = context.dependencies {
        contexts.set("needs", github::needs_context(dependencies));
    }
    contexts
}

/// `succeeded()`: the default condition of every stage, job and step.
pub fn default_condition(status: Status<'_>) -> bool {
    match status {
        Status::Step { job_status, canceled } => !canceled && job_status.is_success(),
        Status::Dependencies { results, canceled } => {
            !canceled && results.iter().all(|(_, result)| result.is_success())
        }
    }
}

/// If `text` is a whole `$[ ... ]` runtime expression, its inner text.
pub fn runtime_expression(text: &str) -> Option<&str> {
    let trimmed = text.trim();
    trimmed.strip_prefix("$[")?.strip_suffix(']').map(str::trim)
}

/// Evaluates the text of a `$[ ]` expression to a string.
pub fn runtime_value(source: &str, context: &Context<'_>) -> Result<String, String> {
    let expression = slipway_expr::parse(source).map_err(|error| error.to_string())?;
    evaluate(&expression, context).map(|value| value.to_display_string())
}

/// Expands `$(name)` macros; unknown ones stay as written.
pub fn expand_macros(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    slipway_expr::macros::expand(text, lookup)
}

/// The environment variable name of a variable (`Build.SourcesDirectory` to `BUILD_SOURCESDIRECTORY`).
pub fn env_name(name: &str) -> String {
    slipway_expr::env_name(name)
}
