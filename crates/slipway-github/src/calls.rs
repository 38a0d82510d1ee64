//! Reusable workflow calls checked against the workflows they call, as far as the caller gives
//! their text: the callee must itself be valid; `with` and `secrets` must name its
//! `on.workflow_call` inputs and secrets, and pass the required ones (unless `secrets:
//! inherit`); the `GITHUB_TOKEN` permissions its jobs request may not exceed what the calling
//! job allows (its own `permissions`, else its workflow's, else what its caller allowed, else the
//! default policy); calls may nest only so deep; and all the jobs together stay under the job
//! limit.

use slipway_diagnostics::{Diagnostic, FileId, Span};
use slipway_yaml::Node;

use crate::{Called, DefaultPermissions, Options, YAML, structure};

/// How many calls one check follows at most: calls fan out at every level (ten jobs calling ten
/// jobs ... nine levels down would be a billion), so the walk stops there. Real workflows make a
/// handful.
const MAX_CALLS_FOLLOWED: usize = 256;

/// The permission scopes, in the order GitHub lists them in its messages.
const SCOPES: [&str; 13] = [
    "actions",
    "checks",
    "contents",
    "deployments",
    "discussions",
    "issues",
    "packages",
    "pages",
    "pull-requests",
    "repository-projects",
    "statuses",
    "security-events",
    "id-token",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    None,
    Read,
    Write,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::None => "none",
            Level::Read => "read",
            Level::Write => "write",
        }
    }
}

type Grant = [Level; SCOPES.len()];

/// A `permissions` value as a level per scope (`None` when it is not one GitHub would accept;
/// the schema has said why).
fn grant(node: &Node) -> Option<Grant> {
    if let Some(entries) = node.as_mapping() {
        let mut grant = [Level::None; SCOPES.len()];
        for (key, value) in entries {
            let Some(index) = key.as_str().and_then(|key| SCOPES.iter().position(|scope| *scope == key)) else {
                continue;
            };
            grant[index] = match value.as_str()? {
                "write" => Level::Write,
                "read" => Level::Read,
                _ => Level::None,
            };
        }
        return Some(grant);
    }
    match node.as_str()? {
        "read-all" => Some([Level::Read; SCOPES.len()]),
        "write-all" => Some([Level::Write; SCOPES.len()]),
        _ => None,
    }
}

fn default_grant(policy: DefaultPermissions) -> Grant {
    match policy {
        DefaultPermissions::Permissive => [Level::Write; SCOPES.len()],
        DefaultPermissions::LimitedRead => {
            let mut grant = [Level::None; SCOPES.len()];
            for scope in ["contents", "packages"] {
                if let Some(index) = SCOPES.iter().position(|s| *s == scope) {
                    grant[index] = Level::Read;
                }
            }
            grant
        }
    }
}

/// `'checks: write'` and `'checks: read'` for the scopes `requested` exceeds, or `None`.
fn excess(requested: &Grant, allowed: &Grant) -> Option<(String, String)> {
    let over: Vec<usize> = (0..SCOPES.len()).filter(|i| requested[*i] > allowed[*i]).collect();
    if over.is_empty() {
        return None;
    }
    let list = |grant: &Grant| {
        over.iter().map(|i| format!("{}: {}", SCOPES[*i], grant[*i].name())).collect::<Vec<_>>().join(", ")
    };
    Some((list(requested), list(allowed)))
}

/// Checks every call in the workflow `root` (its calls' callees recursively).
pub(crate) fn check(root: &Node, options: &Options, called: &Called<'_>) -> Vec<Diagnostic> {
    let mut walk = Walk { options, called, out: Vec::new(), jobs: 0, depth_reported: false, followed: 0 };
    let allowed = root.get("permissions").and_then(grant).unwrap_or_else(|| default_grant(options.default_permissions));
    walk.workflow(root, &allowed, 0);
    if walk.jobs > options.max_jobs {
        walk.out.push(
            Diagnostic::error(
                "G0406",
                format!("The workflow may not contain more than {} jobs", options.max_jobs),
                None,
            )
            .with_note(format!("it has {} jobs, counting those of the reusable workflows it calls", walk.jobs)),
        );
    }
    walk.out
}

/// A job's call of a reusable workflow, and the called workflow's file.
struct Call<'n> {
    key: &'n Node,
    job: &'n Node,
    uses: &'n Node,
    reference: &'n str,
    file: FileId,
    text: &'n str,
}

struct Walk<'a> {
    options: &'a Options,
    called: &'a Called<'a>,
    out: Vec<Diagnostic>,
    jobs: usize,
    depth_reported: bool,
    /// Calls followed so far (see [`MAX_CALLS_FOLLOWED`]).
    followed: usize,
}

impl Walk<'_> {
    /// A workflow at `depth` calls (0: the file checked), whose jobs may have `allowed` when they
    /// set no permissions of their own.
    fn workflow(&mut self, root: &Node, allowed: &Grant, depth: usize) {
        let Some(jobs) = root.get("jobs").and_then(Node::as_mapping) else { return };
        self.jobs += jobs.len();
        for (key, job) in jobs {
            let Some(uses) = job.get("uses") else { continue };
            let Some(reference) = uses.as_str() else { continue };
            let job_allowed = job.get("permissions").and_then(grant).unwrap_or(*allowed);
            if depth + 1 > self.options.max_nested_calls {
                if !self.depth_reported {
                    self.depth_reported = true;
                    self.out.push(
                        Diagnostic::error(
                            "G0407",
                            format!("Nested reusable workflow depth exceeded {}.", self.options.max_nested_calls),
                            Some(uses.span),
                        )
                        .with_hint("call the innermost workflow's jobs from fewer levels of reusable workflows"),
                    );
                }
                continue;
            }
            if self.followed >= MAX_CALLS_FOLLOWED {
                return;
            }
            self.followed += 1;
            let Some((file, text)) = (self.called)(reference) else { continue };
            self.call(Call { key, job, uses, reference, file, text: &text }, &job_allowed, depth + 1);
        }
    }

    fn call(&mut self, call: Call<'_>, allowed: &Grant, depth: usize) {
        let Call { key, job, uses, reference, file, text } = call;
        let called = match slipway_yaml::load_with(text, file, YAML) {
            Ok(called) => called,
            Err(errors) => {
                let first = errors.first().map(|error| error.message.clone()).unwrap_or_default();
                self.out.push(Diagnostic::error(
                    "G0401",
                    format!("error from called workflow {reference}: {first}"),
                    Some(uses.span),
                ));
                return;
            }
        };
        let errors: Vec<Diagnostic> =
            structure(&called, text, self.options).into_iter().filter(Diagnostic::is_error).collect();
        if let Some(first) = errors.first() {
            let at = first.span.map(|span| format!(" (its line {}, column {})", span.start.line, span.start.column));
            self.out.push(Diagnostic::error(
                "G0401",
                format!("error from called workflow {reference}: {}{}", first.message, at.unwrap_or_default()),
                Some(uses.span),
            ));
            return;
        }
        self.inputs_and_secrets(job, uses, reference, &called);
        let workflow_grant = called.get("permissions").and_then(grant);
        if let Some(requested) = &workflow_grant
            && let Some((wants, may)) = excess(requested, allowed)
        {
            self.permission_error(key.span, format!(
                "Error calling workflow '{reference}'. The workflow '{reference}' is requesting '{wants}', but is only allowed '{may}'."
            ));
        }
        let inner_allowed = workflow_grant.unwrap_or(*allowed);
        if let Some(jobs) = called.get("jobs").and_then(Node::as_mapping) {
            for (inner_key, inner) in jobs {
                let Some(requested) = inner.get("permissions").and_then(grant) else { continue };
                if let Some((wants, may)) = excess(&requested, allowed) {
                    let name =
                        inner.get("name").and_then(Node::as_str).or_else(|| inner_key.as_str()).unwrap_or_default();
                    self.permission_error(key.span, format!(
                        "Error calling workflow '{reference}'. The nested job '{name}' is requesting '{wants}', but is only allowed '{may}'."
                    ));
                }
            }
        }
        self.workflow(&called, &inner_allowed, depth);
    }

    fn permission_error(&mut self, span: Span, message: String) {
        self.out.push(
            Diagnostic::error("G0408", message, Some(span))
                .with_hint("grant the calling job those permissions (`permissions:` on the job), or request fewer in the called workflow"),
        );
    }

    /// The job's `with` and `secrets` against the callee's `on.workflow_call`.
    fn inputs_and_secrets(&mut self, job: &Node, uses: &Node, reference: &str, called: &Node) {
        let call = called.get("on").and_then(|on| on.get("workflow_call"));
        let declared = |section: &str| -> Vec<(String, bool)> {
            call.and_then(|call| call.get(section))
                .and_then(Node::as_mapping)
                .map(|entries| {
                    entries
                        .iter()
                        .filter_map(|(key, value)| {
                            let required = value.get("required").and_then(Node::as_str) == Some("true");
                            Some((key.as_str()?.to_owned(), required))
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        // Each given name with its value's node (where GitHub reports a name the callee lacks).
        let given = |section: &str| -> Vec<(Span, String)> {
            job.get(section)
                .and_then(Node::as_mapping)
                .map(|entries| {
                    entries.iter().filter_map(|(key, value)| Some((value.span, key.as_str()?.to_owned()))).collect()
                })
                .unwrap_or_default()
        };
        let inputs = declared("inputs");
        let secrets = declared("secrets");
        let with = given("with");
        for (span, name) in &with {
            if !inputs.iter().any(|(declared, _)| declared.eq_ignore_ascii_case(name)) {
                self.out.push(
                    Diagnostic::error(
                        "G0402",
                        format!("Invalid input, {name} is not defined in the referenced workflow."),
                        Some(*span),
                    )
                    .with_hint(format!("{reference} takes: {}", names(&inputs))),
                );
            }
        }
        for (name, _) in inputs.iter().filter(|(_, required)| *required) {
            if !with.iter().any(|(_, given)| given.eq_ignore_ascii_case(name)) {
                self.out.push(Diagnostic::error(
                    "G0403",
                    format!("Input {name} is required, but not provided while calling."),
                    Some(uses.span),
                ));
            }
        }
        if job.get("secrets").and_then(Node::as_str) == Some("inherit") {
            return;
        }
        let passed = given("secrets");
        for (span, name) in &passed {
            if !secrets.iter().any(|(declared, _)| declared.eq_ignore_ascii_case(name)) {
                self.out.push(
                    Diagnostic::error(
                        "G0404",
                        format!("Invalid secret, {name} is not defined in the referenced workflow."),
                        Some(*span),
                    )
                    .with_hint(format!("{reference} takes: {}", names(&secrets))),
                );
            }
        }
        for (name, _) in secrets.iter().filter(|(_, required)| *required) {
            if !passed.iter().any(|(_, given)| given.eq_ignore_ascii_case(name)) {
                self.out.push(
                    Diagnostic::error(
                        "G0405",
                        format!("Secret {name} is required, but not provided while calling."),
                        Some(uses.span),
                    )
                    .with_hint("pass it under `secrets:`, or use `secrets: inherit`"),
                );
            }
        }
    }
}

fn names(declared: &[(String, bool)]) -> String {
    if declared.is_empty() {
        return "nothing".to_owned();
    }
    declared.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>().join(", ")
}
