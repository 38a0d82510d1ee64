//! Evaluation: an [`Expr`] and a [`Context`] into a [`Value`].
//!
//! `&&` and `||` return an operand (the first falsy, or truthy, one, else the last), `!` a
//! boolean, comparisons booleans by [`loose_eq`] and [`loose_cmp`]. Indexing follows GitHub:
//! a property or index that is not there is `null`; `.*` and `[*]` make a filtered array (an
//! array's items or an object's values), and every index applied to a filtered array is applied
//! to each of its items, keeping what is found (`needs.*.result`). Arrays take an index that
//! reads as a number (floored; `'1'`, `true` and `null` work); objects take a primitive as a
//! string (`foo[1]` is `foo['1']`).
//!
//! Status functions ask the [`Context`]: `always()` is true; `cancelled()` is whether the job
//! was cancelled; `success()` and `failure()` look at the job's status, or, inside a composite
//! action, at the action's own steps ([`Context::composite_action_status`]), as the runner does.
//!
//! The strings that function arguments and results hold at once are bounded
//! ([`MAX_MEMORY`]), as GitHub bounds them, so `format` and `toJSON` cannot build huge strings.

use std::cmp::Ordering;
use std::sync::Arc;

use crate::functions;
use crate::syntax::{CompareOp, Expr, ExprKind, Index, MAX_DEPTH};
use crate::value::{Object, Value, loose_cmp, loose_eq};

/// The most bytes of strings a function's arguments and result may hold at once (GitHub's
/// 1 MiB, counted as UTF-16).
pub const MAX_MEMORY: usize = 1024 * 1024;

/// A job's (or a composite action's) status, as the status functions see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum JobStatus {
    /// Everything so far succeeded (also: nothing ran yet).
    #[default]
    Success,
    /// Something failed.
    Failure,
    /// The run was cancelled.
    Cancelled,
    /// For a job's own `if`: a job it needs was skipped and none failed, so that neither
    /// `success()` nor `failure()` holds (GitHub skips such a job unless its `if` says otherwise).
    Skipped,
}

/// What an expression is evaluated against: the named contexts and the host's functions.
pub trait Context {
    /// The context `name` (`github`, `matrix`, ...), always given in lower case (names are
    /// case-insensitive); `None` reads as `null`.
    fn get(&self, name: &str) -> Option<Value>;

    /// The job's status, for `success()`, `failure()` and `cancelled()`. For a job's own `if`,
    /// the status of the jobs it needs. (The schema lets a job's `if` pass arguments to
    /// `success()` and `failure()`; they are evaluated and otherwise ignored.)
    fn status(&self) -> JobStatus {
        JobStatus::Success
    }

    /// Inside a composite action, the status of the action's own steps so far: `success()`
    /// and `failure()` then look at it instead of the job's ([`Context::status`]), while
    /// `cancelled()` still looks at the job. `None` (the default) outside composite actions.
    fn composite_action_status(&self) -> Option<JobStatus> {
        None
    }

    /// `hashFiles(patterns...)`: the SHA-256 of the files that match, in the workspace, or `''`
    /// when none do. The default has no files to hash and says so.
    ///
    /// # Errors
    ///
    /// A message for the expression's error (a pattern outside the workspace, an unreadable
    /// file, no workspace here).
    fn hash_files(&self, patterns: &[String]) -> Result<String, String> {
        let _ = patterns;
        Err("hashFiles is not available here: there is no workspace to hash files in".to_owned())
    }
}

/// A context of named values in an object (keys matched without regard to case), with the job
/// succeeding and no files to hash: for tests and for places that need only data.
impl Context for Object {
    fn get(&self, name: &str) -> Option<Value> {
        Object::get(self, name).cloned()
    }
}

/// An evaluation error, with the byte offset of the node that failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct EvalError {
    /// What went wrong.
    pub message: String,
    /// Byte offset in the expression text of the node that failed.
    pub offset: usize,
}

/// Evaluates `expr` against `context`.
///
/// # Errors
///
/// An [`EvalError`] when a function fails (`fromJSON` of text that is not JSON, a bad `format`
/// string, `hashFiles` failing, a `case` condition that is not a boolean), when strings grow
/// beyond [`MAX_MEMORY`], or for a tree built by hand that calls an unknown function or nests
/// too deep.
pub fn evaluate(expr: &Expr, context: &dyn Context) -> Result<Value, EvalError> {
    Evaluator { context, depth: 0 }.eval(expr).map(|e| e.value)
}

/// Evaluates a step's or job's `if` as GitHub does: when it calls no status function it means
/// `success() && (condition)`; then the result's truthiness.
///
/// # Errors
///
/// As [`evaluate`].
pub fn evaluate_condition(expr: &Expr, context: &dyn Context) -> Result<bool, EvalError> {
    if !expr.has_status_function() && !success(context) {
        return Ok(false);
    }
    evaluate(expr, context).map(|v| v.is_truthy())
}

fn success(context: &dyn Context) -> bool {
    context.composite_action_status().unwrap_or_else(|| context.status()) == JobStatus::Success
}

fn failure(context: &dyn Context) -> bool {
    context.composite_action_status().unwrap_or_else(|| context.status()) == JobStatus::Failure
}

/// A value, and whether it is a filtered array (made by `*`), to which further indexes apply
/// item by item.
struct Evaluated {
    value: Value,
    filtered: bool,
}

impl From<Value> for Evaluated {
    fn from(value: Value) -> Self {
        Evaluated { value, filtered: false }
    }
}

/// The bytes a value holds for [`MAX_MEMORY`]: strings as UTF-16 plus a small overhead.
fn size_of(value: &Value) -> usize {
    match value {
        Value::String(s) => 2 * s.len() + 32,
        _ => 32,
    }
}

struct Evaluator<'c> {
    context: &'c dyn Context,
    depth: usize,
}

impl Evaluator<'_> {
    fn error(message: impl Into<String>, expr: &Expr) -> EvalError {
        EvalError { message: message.into(), offset: expr.offset }
    }

    fn eval(&mut self, expr: &Expr) -> Result<Evaluated, EvalError> {
        // The parser bounds depth; this bounds trees built by hand.
        self.depth += 1;
        if self.depth > 4 * MAX_DEPTH {
            return Err(Self::error(format!("Exceeded max expression depth {MAX_DEPTH}"), expr));
        }
        let result = self.eval_node(expr);
        self.depth -= 1;
        result
    }

    fn eval_node(&mut self, expr: &Expr) -> Result<Evaluated, EvalError> {
        Ok(match &expr.kind {
            ExprKind::Literal(value) => value.clone().into(),
            ExprKind::Context(name) => self.context.get(&name.to_ascii_lowercase()).unwrap_or_default().into(),
            ExprKind::Not(operand) => Value::Bool(!self.eval(operand)?.value.is_truthy()).into(),
            ExprKind::And(operands) | ExprKind::Or(operands) => {
                let and = matches!(expr.kind, ExprKind::And(_));
                let mut last = Evaluated::from(Value::Null);
                for operand in operands {
                    last = self.eval(operand)?;
                    if last.value.is_truthy() != and {
                        break;
                    }
                }
                last
            }
            ExprKind::Compare { op, left, right } => {
                let left = self.eval(left)?.value;
                let right = self.eval(right)?.value;
                let equal = || loose_eq(&left, &right);
                let order = || loose_cmp(&left, &right);
                Value::Bool(match op {
                    CompareOp::Eq => equal(),
                    CompareOp::Ne => !equal(),
                    CompareOp::Lt => order() == Some(Ordering::Less),
                    CompareOp::Gt => order() == Some(Ordering::Greater),
                    CompareOp::Le => equal() || order() == Some(Ordering::Less),
                    CompareOp::Ge => equal() || order() == Some(Ordering::Greater),
                })
                .into()
            }
            ExprKind::Index { target, index } => self.index(target, index)?,
            ExprKind::Call { name, args } => self.call(expr, name, args)?,
        })
    }

    fn index(&mut self, target: &Expr, index: &Index) -> Result<Evaluated, EvalError> {
        let key = match index {
            Index::Star => Key { star: true, text: None, number: None },
            Index::Property(name) => Key::of(&Value::String(name.clone())),
            Index::Expr(index) => Key::of(&self.eval(index)?.value),
        };
        let target = self.eval(target)?;
        if target.filtered {
            let mut found = Vec::new();
            if let Value::Array(items) = &target.value {
                for item in items.iter() {
                    match item {
                        Value::Object(object) if key.star => found.extend(object.values().cloned()),
                        Value::Array(inner) if key.star => found.extend(inner.iter().cloned()),
                        Value::Object(object) => found.extend(key.text.as_deref().and_then(|k| object.get(k)).cloned()),
                        Value::Array(inner) => found.extend(key.number.and_then(|i| inner.get(i)).cloned()),
                        _ => {}
                    }
                }
            }
            return Ok(Evaluated { value: found.into(), filtered: true });
        }
        let filtered = |items: Vec<Value>| Evaluated { value: Value::Array(Arc::new(items)), filtered: true };
        Ok(match &target.value {
            Value::Array(items) if key.star => filtered(items.to_vec()),
            Value::Object(object) if key.star => filtered(object.values().cloned().collect()),
            _ if key.star => filtered(Vec::new()),
            Value::Array(items) => key.number.and_then(|i| items.get(i)).cloned().unwrap_or_default().into(),
            Value::Object(object) => {
                key.text.as_deref().and_then(|k| object.get(k)).cloned().unwrap_or_default().into()
            }
            _ => Value::Null.into(),
        })
    }

    fn call(&mut self, expr: &Expr, name: &str, args: &[Expr]) -> Result<Evaluated, EvalError> {
        let mut values = Vec::with_capacity(args.len());
        let mut held = 0usize;
        let mut filtered = Vec::with_capacity(args.len());
        for arg in args {
            let evaluated = self.eval(arg)?;
            held += size_of(&evaluated.value);
            if held > MAX_MEMORY {
                return Err(Self::error(functions::MEMORY, arg));
            }
            filtered.push(evaluated.filtered);
            values.push(evaluated.value);
        }
        let arg = |i: usize| values.get(i).cloned().unwrap_or_default();
        let text = |i: usize| values.get(i).map(Value::to_display_string).unwrap_or_default();
        let lower = name.to_ascii_lowercase();
        let value = match lower.as_str() {
            "contains" => Value::Bool(functions::contains(&arg(0), &arg(1))),
            "startswith" => Value::Bool(functions::affix(&arg(0), &arg(1), true)),
            "endswith" => Value::Bool(functions::affix(&arg(0), &arg(1), false)),
            "format" => {
                let rest = values.get(1..).unwrap_or_default();
                Value::String(functions::format(&text(0), rest, MAX_MEMORY / 2).map_err(|m| Self::error(m, expr))?)
            }
            "join" => Value::String(
                functions::join(&arg(0), values.get(1), MAX_MEMORY / 2).map_err(|m| Self::error(m, expr))?,
            ),
            "tojson" => Value::String(arg(0).to_json_pretty()),
            "fromjson" => functions::from_json(&text(0)).map_err(|m| Self::error(m, expr))?,
            "case" => return self.case(expr, values, &filtered),
            "always" => Value::Bool(true),
            "cancelled" => Value::Bool(self.context.status() == JobStatus::Cancelled),
            "success" => Value::Bool(success(self.context)),
            "failure" => Value::Bool(failure(self.context)),
            "hashfiles" => {
                let patterns: Vec<String> = values.iter().map(Value::to_display_string).collect();
                Value::String(self.context.hash_files(&patterns).map_err(|m| Self::error(m, expr))?)
            }
            _ => return Err(Self::error(format!("Unrecognized function: '{name}'"), expr)),
        };
        if held + size_of(&value) > MAX_MEMORY {
            return Err(Self::error(functions::MEMORY, expr));
        }
        Ok(value.into())
    }

    /// `case(condition, value, ..., default)`: the value after the first true condition, else
    /// the default; conditions must be booleans.
    fn case(&self, expr: &Expr, values: Vec<Value>, filtered: &[bool]) -> Result<Evaluated, EvalError> {
        let last = values.len().saturating_sub(1);
        let mut chosen = last;
        for i in (0..last).step_by(2) {
            match values.get(i) {
                Some(Value::Bool(true)) => {
                    chosen = i + 1;
                    break;
                }
                Some(Value::Bool(false)) => {}
                _ => return Err(Self::error("case predicate must evaluate to a boolean value", expr)),
            }
        }
        let is_filtered = filtered.get(chosen).copied().unwrap_or(false);
        let value = values.into_iter().nth(chosen).unwrap_or_default();
        Ok(Evaluated { value, filtered: is_filtered })
    }
}

/// An index as GitHub reads it: `*`, a property name (primitives as strings) and an array
/// position (numbers at or above 0, floored).
struct Key {
    star: bool,
    text: Option<String>,
    number: Option<usize>,
}

impl Key {
    fn of(value: &Value) -> Key {
        let text = value.is_primitive().then(|| value.to_display_string());
        let n = value.to_number();
        let number = (n.is_finite() && n >= 0.0).then(|| {
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "finite, at least 0, floored; beyond usize saturates"
            )]
            let i = n.floor() as usize;
            i
        });
        Key { star: false, text, number }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;

    struct Job {
        contexts: Object,
        status: JobStatus,
        action: Option<JobStatus>,
    }

    impl Context for Job {
        fn get(&self, name: &str) -> Option<Value> {
            self.contexts.get(name).cloned()
        }
        fn status(&self) -> JobStatus {
            self.status
        }
        fn composite_action_status(&self) -> Option<JobStatus> {
            self.action
        }
    }

    fn job(status: JobStatus, action: Option<JobStatus>) -> Job {
        let contexts: Value =
            serde_json::from_str(r#"{"needs": {"a": {"result": "success"}, "b": {"result": "failure"}}}"#)
                .expect("json");
        let contexts = contexts.as_object().cloned().unwrap_or_default();
        Job { contexts, status, action }
    }

    fn eval(text: &str, context: &dyn Context) -> Result<Value, EvalError> {
        evaluate(&parse(text).expect("parses"), context)
    }

    #[test]
    fn status_functions_follow_the_job() {
        for (status, expected) in [
            (JobStatus::Success, [true, false, false, true]),
            (JobStatus::Failure, [false, true, false, true]),
            (JobStatus::Cancelled, [false, false, true, true]),
        ] {
            let context = job(status, None);
            let got = ["success()", "failure()", "cancelled()", "always()"]
                .map(|f| eval(f, &context).expect("evaluates").is_truthy());
            assert_eq!(got, expected, "{status:?}");
        }
    }

    #[test]
    fn composite_actions_scope_success_and_failure_to_their_steps() {
        // The runner's rule: job failed, the action's own steps succeeded.
        let context = job(JobStatus::Failure, Some(JobStatus::Success));
        assert_eq!(eval("success()", &context), Ok(Value::Bool(true)));
        assert_eq!(eval("failure()", &context), Ok(Value::Bool(false)));
        let context = job(JobStatus::Cancelled, Some(JobStatus::Failure));
        assert_eq!(eval("failure()", &context), Ok(Value::Bool(true)));
        assert_eq!(eval("cancelled()", &context), Ok(Value::Bool(true)));
    }

    #[test]
    fn conditions_without_status_functions_need_success() {
        let failed = job(JobStatus::Failure, None);
        let condition =
            |text: &str, context: &Job| evaluate_condition(&parse(text).expect("parses"), context).expect("evaluates");
        assert!(!condition("true", &failed));
        assert!(condition("failure() && true", &failed));
        assert!(condition("always()", &failed));
        assert!(condition("contains(needs.*.result, 'FAILURE')", &job(JobStatus::Success, None)));
    }

    #[test]
    fn evaluation_errors() {
        let context = Object::new();
        insta::assert_snapshot!(eval("fromJSON('{')", &context).expect_err("json"), @"Error parsing fromJson: EOF while parsing an object at line 1 column 1");
        insta::assert_snapshot!(eval("hashFiles('**/x')", &context).expect_err("hash"), @"hashFiles is not available here: there is no workspace to hash files in");
        insta::assert_snapshot!(eval("case(1, 2, 3)", &context).expect_err("case"), @"case predicate must evaluate to a boolean value");
        let big = eval(
            "format('{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}', format('{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}', format('{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}', format('{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}', format('{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}', format('{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}', 'abc'))))))",
            &context,
        );
        insta::assert_snapshot!(big.expect_err("memory"), @"The maximum allowed memory size was exceeded");
        let manual = Expr { kind: ExprKind::Call { name: "nope".into(), args: vec![] }, offset: 0 };
        insta::assert_snapshot!(evaluate(&manual, &context).expect_err("unknown"), @"Unrecognized function: 'nope'");
    }

    #[test]
    fn operators_return_operands() {
        let context = Object::new();
        assert_eq!(eval("'' || 'fallback'", &context), Ok("fallback".into()));
        assert_eq!(eval("0 && 'x'", &context), Ok(0.0.into()));
        assert_eq!(eval("case(false, 'a', true, 'b', 'c')", &context), Ok("b".into()));
    }
}
