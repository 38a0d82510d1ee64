//! The dependency graph: unique stage and job names, `dependsOn` targets that exist, no cycles.
//!
//! Names compare without regard to case, as in Azure. A stage without `dependsOn` depends on the
//! stage before it, which takes part in cycle detection (a first stage that depends on the second
//! one is a cycle). Jobs have no implicit dependencies.

use slipway_diagnostics::{Diagnostic, Span, did_you_mean};
use slipway_yaml::Node;

use super::Validator;
use super::pipeline::stage_label;
use super::values::{same_name, scalar_text};

/// One stage or job as the graph sees it.
struct Vertex<'a> {
    /// Its name, when it has one.
    name: Option<&'a str>,
    /// Where the name is written.
    name_span: Span,
    /// The names it depends on, with where each is written, and whether it was written at all.
    depends_on: Vec<(&'a str, Span, bool)>,
}

/// Checks stage names and dependencies, and job names and dependencies in every stage.
pub(super) fn check_graph(validator: &mut Validator, root: &Node) {
    if let Some(stages) = root.get("stages").and_then(Node::as_sequence) {
        let items: Vec<&Node> = stages.iter().filter(|stage| is_item(stage)).collect();
        let mut vertices = Vec::new();
        let mut previous: Option<&str> = None;
        for stage in &items {
            let name = stage.get("stage").and_then(scalar_text).filter(|name| !name.is_empty());
            let name_span = stage.get("stage").map_or(stage.span, |node| node.span);
            let depends_on = match stage.entry("dependsOn") {
                Some((_, value)) if !value.is_null() => dependencies(value),
                _ => previous.map(|name| vec![(name, name_span, false)]).unwrap_or_default(),
            };
            vertices.push(Vertex { name, name_span, depends_on });
            previous = name;
        }
        check_vertices(validator, &vertices, &Scope::Stages);
        for (index, stage) in items.iter().enumerate() {
            if let Some(jobs) = stage.get("jobs").and_then(Node::as_sequence) {
                let label = stage_label(stage, index);
                check_jobs(validator, jobs, &label);
            }
        }
    } else if let Some(jobs) = root.get("jobs").or_else(|| root.get("phases")).and_then(Node::as_sequence) {
        check_jobs(validator, jobs, "the pipeline");
    }
}

/// Whether a list entry is a stage or job to check (mappings that are not leftover template references).
fn is_item(node: &Node) -> bool {
    node.as_mapping().is_some() && node.get("template").is_none()
}

fn check_jobs(validator: &mut Validator, jobs: &[Node], stage: &str) {
    let vertices: Vec<Vertex<'_>> = jobs
        .iter()
        .filter(|job| is_item(job))
        .map(|job| {
            let name_node = job.get("job").or_else(|| job.get("deployment")).or_else(|| job.get("phase"));
            let name = name_node.and_then(scalar_text).filter(|name| !name.is_empty());
            let depends_on = match job.entry("dependsOn") {
                Some((_, value)) if !value.is_null() => dependencies(value),
                _ => Vec::new(),
            };
            Vertex { name, name_span: name_node.map_or(job.span, |node| node.span), depends_on }
        })
        .collect();
    check_vertices(validator, &vertices, &Scope::Jobs(stage));
}

/// The names a `dependsOn` value lists.
fn dependencies(value: &Node) -> Vec<(&str, Span, bool)> {
    match value.as_sequence() {
        Some(items) => items
            .iter()
            .filter_map(|item| scalar_text(item).map(|name| (name.trim(), item.span, true)))
            .filter(|(name, _, _)| !name.is_empty())
            .collect(),
        None => scalar_text(value)
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(|name| vec![(name, value.span, true)])
            .unwrap_or_default(),
    }
}

/// Stages of the pipeline, or jobs of one stage.
enum Scope<'a> {
    Stages,
    Jobs(&'a str),
}

impl Scope<'_> {
    fn word(&self) -> &'static str {
        match self {
            Scope::Stages => "stage",
            Scope::Jobs(_) => "job",
        }
    }

    fn place(&self) -> String {
        match self {
            Scope::Stages => "the pipeline".to_owned(),
            Scope::Jobs(stage) => (*stage).to_owned(),
        }
    }
}

fn check_vertices(validator: &mut Validator, vertices: &[Vertex<'_>], scope: &Scope<'_>) {
    let word = scope.word();
    let place = scope.place();
    for (index, vertex) in vertices.iter().enumerate() {
        let Some(name) = vertex.name else {
            continue;
        };
        if vertices[..index].iter().any(|earlier| earlier.name.is_some_and(|earlier| same_name(earlier, name))) {
            let code = match scope {
                Scope::Stages => "G0001",
                Scope::Jobs(_) => "G0002",
            };
            validator.push(
                Diagnostic::error(
                    code,
                    format!("{word} name `{name}` is used more than once in {place}"),
                    Some(vertex.name_span),
                )
                .with_hint(format!("{word} names must be unique (ignoring case); rename one of them")),
            );
        }
    }
    let names: Vec<&str> = vertices.iter().filter_map(|vertex| vertex.name).collect();
    let mut edges: Vec<Vec<(usize, Span)>> = vec![Vec::new(); vertices.len()];
    for (index, vertex) in vertices.iter().enumerate() {
        for &(target, span, written) in &vertex.depends_on {
            match vertices.iter().position(|other| other.name.is_some_and(|other| same_name(other, target))) {
                Some(found) => edges[index].push((found, span)),
                None if written => {
                    let owner = vertex.name.map_or_else(|| format!("a {word}"), |name| format!("{word} `{name}`"));
                    let mut diagnostic = Diagnostic::error(
                        "G0003",
                        format!("{owner} depends on `{target}`, which is not a {word} in {place}"),
                        Some(span),
                    );
                    diagnostic = match did_you_mean(target, names.iter().copied()) {
                        Some(suggestion) => diagnostic.with_hint(format!("did you mean `{suggestion}`?")),
                        None if names.is_empty() => diagnostic,
                        None => diagnostic.with_hint(format!(
                            "the {word}s in {place} are {}",
                            names.iter().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(", ")
                        )),
                    };
                    validator.push(diagnostic);
                }
                None => {}
            }
        }
    }
    report_cycles(validator, vertices, &edges, word, &place);
}

/// Finds every dependency cycle (once each) and reports it with its path.
fn report_cycles(
    validator: &mut Validator,
    vertices: &[Vertex<'_>],
    edges: &[Vec<(usize, Span)>],
    word: &str,
    place: &str,
) {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    let mut marks = vec![Mark::New; vertices.len()];
    let mut reported: Vec<Vec<usize>> = Vec::new();
    for start in 0..vertices.len() {
        if marks[start] != Mark::New {
            continue;
        }
        // Iterative depth-first search: the path holds (vertex, next edge to follow).
        let mut path: Vec<(usize, usize)> = vec![(start, 0)];
        marks[start] = Mark::Active;
        while let Some(top) = path.last_mut() {
            let vertex = top.0;
            let Some(&(target, span)) = edges[vertex].get(top.1) else {
                marks[vertex] = Mark::Done;
                path.pop();
                continue;
            };
            top.1 += 1;
            match marks[target] {
                Mark::New => {
                    marks[target] = Mark::Active;
                    path.push((target, 0));
                }
                Mark::Active => {
                    let Some(from) = path.iter().position(|&(member, _)| member == target) else {
                        continue;
                    };
                    let members: Vec<usize> = path[from..].iter().map(|&(member, _)| member).collect();
                    let mut key = members.clone();
                    key.sort_unstable();
                    if reported.contains(&key) {
                        continue;
                    }
                    reported.push(key);
                    let name = |index: usize| vertices[index].name.unwrap_or("?");
                    let mut chain: Vec<&str> = members.iter().map(|&member| name(member)).collect();
                    chain.push(name(target));
                    let hint = if word == "stage" {
                        "remove one of these dependencies; a stage without `dependsOn` depends on the stage before it"
                    } else {
                        "remove one of these `dependsOn` entries"
                    };
                    validator.push(
                        Diagnostic::error(
                            "G0004",
                            format!("{word}s in {place} depend on each other in a cycle: {}", chain.join(" -> ")),
                            Some(span),
                        )
                        .with_hint(hint),
                    );
                }
                Mark::Done => {}
            }
        }
    }
}
