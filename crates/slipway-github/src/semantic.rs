//! The checks GitHub's workflow parser makes beyond the schema: job and step identifiers (their
//! form, `__` reserved, step ids unique within a job), `needs` naming known jobs without a cycle,
//! `runs-on` groups, matrix vectors that hold values, container images, the format of a step's
//! `uses` and of a job's reusable-workflow `uses`, and `schedule` cron expressions.
//!
//! They run on the YAML tree after the schema check and look only at parts that have the
//! expected shape, so a mistake the schema already reported is not reported twice.

use std::collections::{HashMap, HashSet};

use slipway_diagnostics::Diagnostic;
use slipway_yaml::{Literal, Node};

/// A job's id, its key and the jobs it needs (with each name's node).
type JobNeeds<'n> = (&'n str, &'n Node, Vec<(&'n str, &'n Node)>);

/// Every semantic mistake in `root`.
pub(crate) fn check(root: &Node) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    if let Some(on) = root.get("on") {
        schedules(on, &mut diagnostics);
    }
    let Some(jobs) = root.get("jobs").and_then(Node::as_mapping) else { return diagnostics };
    let ids: Vec<(&Node, &str)> = jobs.iter().filter_map(|(key, _)| key.as_str().map(|id| (key, id))).collect();
    for (key, id) in &ids {
        // An empty id is the schema's mistake (a non-empty key is expected), reported there.
        if id.is_empty() || key.is_null() {
            continue;
        }
        if let Some(message) = identifier_mistake(id) {
            diagnostics.push(
                Diagnostic::error("G0301", message, Some(key.span))
                    .with_hint("rename the job, e.g. `build-linux`; other jobs' `needs` must name it the same way"),
            );
        }
    }
    let known: HashSet<String> = ids.iter().map(|(_, id)| id.to_ascii_lowercase()).collect();
    let mut graph: Vec<JobNeeds<'_>> = Vec::new();
    for (key, job) in jobs {
        let Some(id) = key.as_str() else { continue };
        let needs = needs_of(job);
        for (need, node) in &needs {
            if !known.contains(&need.to_ascii_lowercase()) {
                let hint = slipway_diagnostics::did_you_mean(need, ids.iter().map(|(_, id)| *id)).map_or_else(
                    || format!("jobs here: {}", ids.iter().map(|(_, id)| *id).collect::<Vec<_>>().join(", ")),
                    |close| format!("did you mean '{close}'?"),
                );
                diagnostics.push(
                    Diagnostic::error("G0302", format!("job '{id}' depends on unknown job '{need}'"), Some(node.span))
                        .with_hint(hint),
                );
            }
        }
        graph.push((id, key, needs));
        job_checks(id, job, &mut diagnostics);
    }
    cycles(&graph, &mut diagnostics);
    diagnostics
}

/// GitHub's rule for job and step ids: a letter or `_` first, then letters, digits, `_` and `-`,
/// under 100 characters; `__` first is reserved.
fn identifier_mistake(id: &str) -> Option<String> {
    let mut chars = id.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let rest_ok = id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !first_ok || !rest_ok || id.chars().count() >= 100 {
        return Some(format!(
            "The identifier '{id}' is invalid. IDs may only contain alphanumeric characters, '_', and '-'. IDs must \
             start with a letter or '_' and and must be less than 100 characters."
        ));
    }
    if id.starts_with("__") {
        return Some(format!("The identifier '{id}' is invalid. IDs starting with '__' are reserved."));
    }
    None
}

fn needs_of(job: &Node) -> Vec<(&str, &Node)> {
    match job.get("needs") {
        Some(node) => match node.as_sequence() {
            Some(items) => items.iter().filter_map(|item| item.as_str().map(|need| (need, item))).collect(),
            None => node.as_str().filter(|need| !need.is_empty()).map(|need| vec![(need, node)]).unwrap_or_default(),
        },
        None => Vec::new(),
    }
}

/// Reports each cycle of `needs` once, at the first job of it in the file.
fn cycles(graph: &[JobNeeds<'_>], diagnostics: &mut Vec<Diagnostic>) {
    let index: HashMap<String, usize> =
        graph.iter().enumerate().map(|(i, (id, ..))| (id.to_ascii_lowercase(), i)).collect();
    // 0 = unvisited, 1 = on the stack, 2 = done; iterative depth-first search.
    let mut state = vec![0u8; graph.len()];
    let mut reported: HashSet<usize> = HashSet::new();
    for start in 0..graph.len() {
        if state[start] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        state[start] = 1;
        while let Some((node, next)) = stack.last().copied() {
            let edges = &graph[node].2;
            if next < edges.len() {
                if let Some(last) = stack.last_mut() {
                    last.1 += 1;
                }
                let Some(&target) = index.get(&edges[next].0.to_ascii_lowercase()) else { continue };
                match state[target] {
                    0 => {
                        state[target] = 1;
                        stack.push((target, 0));
                    }
                    1 => {
                        let from = stack.iter().position(|(n, _)| *n == target).unwrap_or(0);
                        let members: Vec<usize> = stack[from..].iter().map(|(n, _)| *n).collect();
                        if members.iter().all(|m| !reported.contains(m)) {
                            reported.extend(members.iter().copied());
                            let mut names: Vec<&str> = members.iter().map(|m| graph[*m].0).collect();
                            names.push(graph[target].0);
                            let first = members.iter().copied().min().unwrap_or(target);
                            diagnostics.push(
                                Diagnostic::error(
                                    "G0303",
                                    format!("the jobs' needs form a cycle: {}", names.join(" -> ")),
                                    Some(graph[first].1.span),
                                )
                                .with_hint("remove one of these `needs` so that the jobs can run in some order"),
                            );
                        }
                    }
                    _ => {}
                }
            } else {
                state[node] = 2;
                stack.pop();
            }
        }
    }
}

fn job_checks(id: &str, job: &Node, diagnostics: &mut Vec<Diagnostic>) {
    if let Some(group) = job.get("runs-on").and_then(|runs_on| runs_on.get("group"))
        && let Some(name) = group.as_str()
        && !name.contains("${{")
        && let Some((prefix, rest)) = name.split_once('/')
    {
        let prefix_ok = ["org", "organization", "ent", "enterprise"].contains(&prefix.to_ascii_lowercase().as_str());
        if rest.is_empty() {
            diagnostics.push(
                Diagnostic::error("G0304", format!("Invalid runs-on group name '{name}'."), Some(group.span))
                    .with_hint("name the group after the prefix, e.g. `organization/my-group`"),
            );
        } else if !prefix_ok || rest.contains('/') {
            diagnostics.push(Diagnostic::error(
                "G0304",
                format!("Invalid runs-on group name '{name}'. Please use 'organization/' or 'enterprise/' prefix to target a single runner group."),
                Some(group.span),
            ));
        }
    }
    if let Some(matrix) = job.get("strategy").and_then(|strategy| strategy.get("matrix")).and_then(Node::as_mapping) {
        for (key, value) in matrix {
            let Some(name) = key.as_str() else { continue };
            if name == "include" || name == "exclude" {
                continue;
            }
            if value.as_sequence().is_some_and(<[Node]>::is_empty) {
                diagnostics.push(
                    Diagnostic::error(
                        "G0305",
                        format!("Matrix vector '{name}' does not contain any values"),
                        Some(value.span),
                    )
                    .with_hint("list at least one value, or remove the vector"),
                );
            }
        }
    }
    container_image(job.get("container"), diagnostics);
    if let Some(services) = job.get("services").and_then(Node::as_mapping) {
        for (_, service) in services {
            container_image(Some(service), diagnostics);
        }
    }
    if let Some(uses) = job.get("uses")
        && let Some(text) = uses.as_str()
        && !text.contains("${{")
        && !reusable_workflow_reference_ok(text)
    {
        diagnostics.push(
            Diagnostic::error(
                "G0306",
                format!("invalid reusable workflow reference '{text}' in job '{id}'"),
                Some(uses.span),
            )
            .with_hint("use `{owner}/{repo}/.github/workflows/{file}.yml@{ref}` or `./.github/workflows/{file}.yml`"),
        );
    }
    if let Some(steps) = job.get("steps").and_then(Node::as_sequence) {
        step_checks(steps, diagnostics);
    }
}

fn container_image(container: Option<&Node>, diagnostics: &mut Vec<Diagnostic>) {
    const KEYS: [&str; 8] = ["command", "credentials", "entrypoint", "env", "image", "options", "ports", "volumes"];
    let Some(container) = container else { return };
    let empty = match container.as_mapping() {
        // A mapping with an unknown key has had its error from the schema; GitHub stops there.
        Some(entries) => {
            entries.iter().all(|(key, _)| key.as_str().is_some_and(|key| KEYS.contains(&key)))
                && container.get("image").is_none()
        }
        None => false,
    };
    if empty {
        diagnostics.push(
            Diagnostic::error("G0307", "Container image cannot be empty", Some(container.span))
                .with_hint("name an image, e.g. `image: node:20`"),
        );
    }
}

fn step_checks(steps: &[Node], diagnostics: &mut Vec<Diagnostic>) {
    let mut seen: HashSet<String> = HashSet::new();
    for step in steps {
        if let Some(id_node) = step.get("id")
            && let Some(id) = id_node.as_str()
            && !id.contains("${{")
            && !id.is_empty()
        {
            if let Some(message) = identifier_mistake(id) {
                diagnostics.push(Diagnostic::error("G0308", message, Some(id_node.span)));
            } else if !seen.insert(id.to_ascii_lowercase()) {
                diagnostics.push(
                    Diagnostic::error(
                        "G0309",
                        format!("The identifier '{id}' may not be used more than once within the same scope."),
                        Some(id_node.span),
                    )
                    .with_hint("give each step of a job its own id"),
                );
            }
        }
        if let Some(uses) = step.get("uses")
            && let Some(text) = uses.as_str()
            && !text.is_empty()
            && !action_reference_ok(text)
        {
            diagnostics.push(
                Diagnostic::error(
                    "G0310",
                    format!("Expected format {{org}}/{{repo}}[/path]@ref. Actual '{text}'"),
                    Some(uses.span),
                )
                .with_hint("e.g. `actions/checkout@v4`, `./path/to/action` or `docker://alpine:3.20`"),
            );
        }
    }
}

/// `docker://...`, `./local`, or `{owner}/{repo}[/path]@{ref}`.
fn action_reference_ok(text: &str) -> bool {
    if text.starts_with("docker://") || text.starts_with("./") || text.starts_with(".\\") {
        return true;
    }
    let Some((name, reference)) = text.split_once('@') else { return false };
    let mut parts = name.split('/');
    let owner = parts.next().unwrap_or_default();
    let repo = parts.next().unwrap_or_default();
    !reference.is_empty() && !owner.is_empty() && !repo.is_empty()
}

/// `{owner}/{repo}/{path}@{ref}` or `./{path}` to a YAML file.
fn reusable_workflow_reference_ok(text: &str) -> bool {
    if let Some(local) = text.strip_prefix("./") {
        return !local.is_empty() && !local.contains('@');
    }
    let Some((name, reference)) = text.split_once('@') else { return false };
    let parts: Vec<&str> = name.split('/').collect();
    !reference.is_empty() && parts.len() >= 3 && parts.iter().all(|part| !part.is_empty())
}

/// `on.schedule[].cron`: five fields, each a `*`, a number in range, a range, a list or a step
/// (with month and day-of-week names).
fn schedules(on: &Node, diagnostics: &mut Vec<Diagnostic>) {
    let Some(schedule) = on.get("schedule").and_then(Node::as_sequence) else { return };
    for item in schedule {
        let Some(cron) = item.get("cron") else { continue };
        let Some(text) = cron.as_str() else { continue };
        if matches!(cron.as_scalar().map(slipway_yaml::Scalar::literal), Some(Literal::Null)) {
            continue;
        }
        if let Err(reason) = cron_ok(text) {
            diagnostics.push(
                Diagnostic::error("G0311", format!("invalid cron expression '{text}': {reason}"), Some(cron.span))
                    .with_hint("five fields: minute hour day-of-month month day-of-week, e.g. '30 5 * * 1-5' (UTC)"),
            );
        }
    }
}

pub(crate) fn cron_ok(text: &str) -> Result<(), String> {
    const FIELDS: [(&str, u32, u32); 5] =
        [("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7)];
    const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    let fields: Vec<&str> = text.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!("it has {} fields, not 5", fields.len()));
    }
    for (field, (name, min, max)) in fields.iter().zip(FIELDS) {
        let names: &[&str] = match name {
            "month" => &MONTHS,
            "day of week" => &DAYS,
            _ => &[],
        };
        let offset = if name == "month" { 1 } else { 0 };
        let value = |text: &str| -> Option<u32> {
            if let Ok(number) = text.parse::<u32>() {
                return (min..=max).contains(&number).then_some(number);
            }
            names
                .iter()
                .position(|n| n.eq_ignore_ascii_case(text))
                .and_then(|i| u32::try_from(i).ok())
                .map(|i| i + offset)
        };
        for part in field.split(',') {
            let (range, step) = match part.split_once('/') {
                Some((range, step)) => (range, Some(step)),
                None => (part, None),
            };
            if let Some(step) = step
                && step.parse::<u32>().map_or(true, |s| s == 0)
            {
                return Err(format!("the {name} field's step '{step}' is not a positive number"));
            }
            if range == "*" {
                continue;
            }
            let ok = match range.split_once('-') {
                Some((low, high)) => match (value(low), value(high)) {
                    (Some(low), Some(high)) => low <= high,
                    _ => false,
                },
                None => value(range).is_some(),
            };
            if !ok {
                return Err(format!("'{part}' is not a valid {name} ({min}-{max})"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cron_fields_are_checked() {
        assert!(cron_ok("0 */12 * * *").is_ok());
        assert!(cron_ok("30 5 * * 1-5").is_ok());
        assert!(cron_ok("0 0 1 JAN,jul SUN").is_ok());
        assert!(cron_ok("15,45 0-23/2 * * 0").is_ok());
        assert!(cron_ok("60 * * * *").is_err());
        assert!(cron_ok("* * * *").is_err());
        assert!(cron_ok("*/0 * * * *").is_err());
        assert!(cron_ok("5-1 * * * *").is_err());
    }

    #[test]
    fn references_are_checked() {
        assert!(action_reference_ok("actions/checkout@v4"));
        assert!(action_reference_ok("actions/aws/ec2@main"));
        assert!(action_reference_ok("docker://alpine:3.8"));
        assert!(action_reference_ok("./.github/actions/x"));
        assert!(!action_reference_ok("badrepo@invalid"));
        assert!(!action_reference_ok("$$docker://alpine"));
        assert!(reusable_workflow_reference_ok("o/r/.github/workflows/x.yml@v1"));
        assert!(reusable_workflow_reference_ok("./.github/workflows/x.yml"));
        assert!(!reusable_workflow_reference_ok("o/r@v1"));
    }

    #[test]
    fn identifiers_follow_githubs_rule() {
        assert!(identifier_mistake("build_1-a").is_none());
        assert!(identifier_mistake("_x").is_none());
        assert!(identifier_mistake("1x").is_some());
        assert!(identifier_mistake("__x").is_some_and(|m| m.contains("reserved")));
        assert!(identifier_mistake(&"a".repeat(100)).is_some());
    }
}
