//! Azure's status-check functions: `succeeded`, `failed`, `succeededOrFailed`, `always`,
//! `canceled`, for the runtime and for tests.
//!
//! At step scope (conditions of steps) they look at the job's status so far, as the agent does:
//! `succeeded()` is `in(variables['Agent.JobStatus'], 'Succeeded', 'SucceededWithIssues')`,
//! `failed()` is `eq(variables['Agent.JobStatus'], 'Failed')`, `succeededOrFailed()` adds `Failed`
//! to `succeeded()`'s list; they take no arguments. At job and stage scope they look at the results
//! of the dependencies, or of the named ones: `succeeded()` needs all of them `Succeeded` or
//! `SucceededWithIssues` (a skipped dependency is not a success), `failed()` needs any `Failed`,
//! `succeededOrFailed()` needs all `Succeeded`, `SucceededWithIssues` or `Failed`. Everything but
//! `always()` and `canceled()` is false once the run is canceled.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::eval::EvalError;
use crate::functions::{MANY, check_arity};
use crate::value::{Value, eq_ignore_case};

/// The functions available at step scope, for [`crate::Allowed::host_functions`].
pub const STEP_FUNCTIONS: &[(&str, usize, usize)] =
    &[("always", 0, 0), ("canceled", 0, 0), ("failed", 0, 0), ("succeeded", 0, 0), ("succeededOrFailed", 0, 0)];

/// The functions available at job and stage scope, for [`crate::Allowed::host_functions`].
pub const DEPENDENCY_FUNCTIONS: &[(&str, usize, usize)] = &[
    ("always", 0, 0),
    ("canceled", 0, 0),
    ("failed", 0, MANY),
    ("succeeded", 0, MANY),
    ("succeededOrFailed", 0, MANY),
];

/// Where a condition is evaluated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope<'a> {
    /// A step's condition: the job's status so far (`Agent.JobStatus`).
    Step {
        /// The job's status so far.
        job_status: JobStatus,
        /// Whether the run has been canceled.
        canceled: bool,
    },
    /// A job's or stage's condition: the results of its dependencies.
    Dependencies {
        /// The name and result of each dependency (names match case-insensitively).
        results: &'a [(String, JobStatus)],
        /// Whether the run has been canceled.
        canceled: bool,
    },
}

/// The result of a job or stage (or the status of a job so far), as Azure spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum JobStatus {
    /// `Succeeded`
    Succeeded,
    /// `SucceededWithIssues`
    SucceededWithIssues,
    /// `Failed`
    Failed,
    /// `Canceled`
    Canceled,
    /// `Skipped`
    Skipped,
}

impl JobStatus {
    /// All statuses.
    pub const ALL: [JobStatus; 5] = [
        JobStatus::Succeeded,
        JobStatus::SucceededWithIssues,
        JobStatus::Failed,
        JobStatus::Canceled,
        JobStatus::Skipped,
    ];

    /// Azure's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Succeeded => "Succeeded",
            JobStatus::SucceededWithIssues => "SucceededWithIssues",
            JobStatus::Failed => "Failed",
            JobStatus::Canceled => "Canceled",
            JobStatus::Skipped => "Skipped",
        }
    }

    /// Parses Azure's spelling, ignoring case.
    pub fn parse(text: &str) -> Option<JobStatus> {
        JobStatus::ALL.into_iter().find(|s| s.as_str().eq_ignore_ascii_case(text.trim()))
    }

    fn is_success(self) -> bool {
        matches!(self, JobStatus::Succeeded | JobStatus::SucceededWithIssues)
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for text that is not a job status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a job status (expected Succeeded, SucceededWithIssues, Failed, Canceled or Skipped)")]
pub struct JobStatusParseError(pub String);

impl FromStr for JobStatus {
    type Err = JobStatusParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobStatus::parse(s).ok_or_else(|| JobStatusParseError(s.to_owned()))
    }
}

/// Which status function a name is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Check {
    Always,
    Canceled,
    Failed,
    Succeeded,
    SucceededOrFailed,
}

/// Evaluates a status function. `None` if `name` (any case) is not one of them.
pub fn call(name: &str, arguments: &[Value], scope: &Scope<'_>) -> Option<Result<Value, EvalError>> {
    let check = [
        ("always", Check::Always),
        ("canceled", Check::Canceled),
        ("failed", Check::Failed),
        ("succeeded", Check::Succeeded),
        ("succeededOrFailed", Check::SucceededOrFailed),
    ]
    .into_iter()
    .find(|(n, _)| n.eq_ignore_ascii_case(name))
    .map(|(_, c)| c)?;
    Some(evaluate(name, check, arguments, scope).map(Value::Bool))
}

fn evaluate(name: &str, check: Check, arguments: &[Value], scope: &Scope<'_>) -> Result<bool, EvalError> {
    let max = match (check, scope) {
        (Check::Always | Check::Canceled, _) | (_, Scope::Step { .. }) => 0,
        _ => MANY,
    };
    check_arity(name, 0, max, arguments.len()).map_err(EvalError::new)?;
    match *scope {
        Scope::Step { job_status, canceled } => {
            let canceled = canceled || job_status == JobStatus::Canceled;
            Ok(match check {
                Check::Always => true,
                Check::Canceled => canceled,
                Check::Succeeded => !canceled && job_status.is_success(),
                Check::Failed => !canceled && job_status == JobStatus::Failed,
                Check::SucceededOrFailed => !canceled && (job_status.is_success() || job_status == JobStatus::Failed),
            })
        }
        Scope::Dependencies { results, canceled } => {
            if check == Check::Always {
                return Ok(true);
            }
            if check == Check::Canceled {
                return Ok(canceled);
            }
            if canceled {
                return Ok(false);
            }
            let selected = select(results, arguments)?;
            Ok(match check {
                Check::Failed => selected.contains(&JobStatus::Failed),
                Check::Succeeded => selected.iter().all(|s| s.is_success()),
                _ => selected.iter().all(|s| s.is_success() || *s == JobStatus::Failed),
            })
        }
    }
}

/// The results of the named dependencies, or of all of them when no names are given.
fn select(results: &[(String, JobStatus)], names: &[Value]) -> Result<Vec<JobStatus>, EvalError> {
    if names.is_empty() {
        return Ok(results.iter().map(|(_, s)| *s).collect());
    }
    names
        .iter()
        .map(|name| {
            let name = name.to_string_strict()?;
            results
                .iter()
                .find(|(n, _)| eq_ignore_case(n, &name))
                .map(|(_, s)| *s)
                .ok_or_else(|| EvalError::new(format!("'{name}' is not a dependency of this job or stage")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use JobStatus::*;

    fn step(name: &str, job_status: JobStatus, canceled: bool) -> Option<bool> {
        match call(name, &[], &Scope::Step { job_status, canceled }) {
            Some(Ok(Value::Bool(b))) => Some(b),
            _ => None,
        }
    }

    #[test]
    fn step_scope_truth_table() {
        // (status, canceled) → (succeeded, failed, succeededOrFailed, always, canceled)
        let table = [
            (Succeeded, false, [true, false, true, true, false]),
            (SucceededWithIssues, false, [true, false, true, true, false]),
            (Failed, false, [false, true, true, true, false]),
            (Canceled, false, [false, false, false, true, true]),
            (Succeeded, true, [false, false, false, true, true]),
            (Failed, true, [false, false, false, true, true]),
        ];
        let names = ["succeeded", "failed", "succeededOrFailed", "always", "canceled"];
        for (status, canceled, expected) in table {
            for (name, want) in names.iter().zip(expected) {
                assert_eq!(step(name, status, canceled), Some(want), "{name}() with {status}, canceled={canceled}");
            }
        }
        assert_eq!(step("SUCCEEDED", Succeeded, false), Some(true));
        assert!(call("counter", &[], &Scope::Step { job_status: Succeeded, canceled: false }).is_none());
    }

    #[test]
    fn dependency_scope() {
        let results = vec![("A".to_owned(), Succeeded), ("B".to_owned(), Failed), ("C".to_owned(), Skipped)];
        let scope = Scope::Dependencies { results: &results, canceled: false };
        let run = |name: &str, args: &[&str]| -> Result<Value, String> {
            let args: Vec<Value> = args.iter().map(|a| Value::from(*a)).collect();
            call(name, &args, &scope).unwrap_or_else(|| Err(EvalError::new("none"))).map_err(|e| e.message)
        };
        assert_eq!(run("succeeded", &[]), Ok(Value::Bool(false)));
        assert_eq!(run("succeeded", &["a"]), Ok(Value::Bool(true)));
        assert_eq!(run("failed", &[]), Ok(Value::Bool(true)));
        assert_eq!(run("failed", &["A", "C"]), Ok(Value::Bool(false)));
        assert_eq!(run("succeededOrFailed", &["A", "B"]), Ok(Value::Bool(true)));
        assert_eq!(run("succeededOrFailed", &[]), Ok(Value::Bool(false)), "a skipped dependency");
        insta::assert_snapshot!(run("succeeded", &["D"]).err().unwrap_or_default(), @"'D' is not a dependency of this job or stage");
        insta::assert_snapshot!(run("always", &["A"]).err().unwrap_or_default(), @"Wrong number of arguments for function 'always': expected 0, got 1");
        let none: Vec<(String, JobStatus)> = Vec::new();
        let empty = Scope::Dependencies { results: &none, canceled: false };
        assert_eq!(call("succeeded", &[], &empty).and_then(Result::ok), Some(Value::Bool(true)));
        let canceled = Scope::Dependencies { results: &results, canceled: true };
        assert_eq!(call("succeeded", &[Value::from("A")], &canceled).and_then(Result::ok), Some(Value::Bool(false)));
        assert_eq!(call("canceled", &[], &canceled).and_then(Result::ok), Some(Value::Bool(true)));
        assert_eq!(call("always", &[], &canceled).and_then(Result::ok), Some(Value::Bool(true)));
    }

    #[test]
    fn step_scope_rejects_arguments() {
        let scope = Scope::Step { job_status: Succeeded, canceled: false };
        let err = call("succeeded", &[Value::from("A")], &scope).and_then(Result::err).map(|e| e.message);
        insta::assert_snapshot!(err.unwrap_or_default(), @"Wrong number of arguments for function 'succeeded': expected 0, got 1");
    }

    #[test]
    fn job_status_text() {
        for status in JobStatus::ALL {
            assert_eq!(status.to_string().parse::<JobStatus>(), Ok(status));
        }
        assert_eq!("succeededwithissues".parse::<JobStatus>(), Ok(SucceededWithIssues));
        assert!("Cancelled".parse::<JobStatus>().is_err());
    }
}
