//! Jobs: agent and server jobs, deployment jobs with their strategies and hooks, legacy phases,
//! and what they share (pools, legs, workspace, timeouts).

use slipway_plan::{
    Deployment, DeploymentStrategy, Environment, Hook, HookKind, Job, JobKind, Leg, Pool, WorkspaceClean,
};
use slipway_yaml::Node;

use super::{Lowerer, generated_names, is_item, name_list, text_of, variables};
use crate::validate::values::{azure_boolean, scalar_text, to_json, to_text, whole_number};

impl Lowerer {
    /// The jobs (or legacy phases) of a stage.
    pub(crate) fn jobs(&mut self, node: &Node, default_pool: Option<&Pool>) -> Vec<Job> {
        let items: Vec<&Node> = node.as_sequence().unwrap_or_default().iter().filter(|item| is_item(item)).collect();
        let names = generated_names(&items, &["job", "deployment", "phase"], "Job");
        items.into_iter().zip(names).map(|(item, name)| self.job(item, name, default_pool)).collect()
    }

    /// One job, phase or deployment, or the implicit job of a steps-only pipeline.
    pub(crate) fn job(&mut self, node: &Node, name: String, default_pool: Option<&Pool>) -> Job {
        let display_name = text_of(node.get("displayName"));
        let shown = display_name.clone().unwrap_or_else(|| name.clone());
        let queue = node.get("queue");
        let server = node.get("server").filter(|server| is_server_target(server));
        let pool_node = node.get("pool");
        let is_server_pool =
            pool_node.and_then(scalar_text).is_some_and(|pool| pool.trim().eq_ignore_ascii_case("server"));
        // Legacy targets carry the strategy and timeouts of phases.
        let target = queue.or(server).filter(|target| target.as_mapping().is_some());
        let setting = |key: &str| node.get(key).or_else(|| target.and_then(|target| target.get(key)));

        let kind = if node.get("deployment").is_some() {
            JobKind::Deployment(self.deployment(node))
        } else if server.is_some() || is_server_pool {
            JobKind::Server
        } else {
            JobKind::Agent
        };
        let pool = match kind {
            JobKind::Server => None,
            _ if is_server_pool => None,
            _ => pool_node.and_then(pool).or_else(|| queue.and_then(queue_pool)).or_else(|| default_pool.cloned()),
        };
        let (legs, max_parallel) = match node.get("strategy").filter(|_| node.get("deployment").is_none()) {
            Some(strategy) => {
                legs(strategy.get("matrix"), strategy.get("parallel"), strategy.get("maxParallel"), &shown)
            }
            None => match target {
                Some(target) => legacy_legs(target, &shown),
                None => (vec![plain_leg()], None),
            },
        };
        let steps = match kind {
            JobKind::Deployment(_) => Vec::new(),
            _ => self.steps(node.get("steps")),
        };
        Job {
            name,
            display_name,
            depends_on: node.get("dependsOn").map(name_list).unwrap_or_default(),
            condition: self.condition(node.get("condition")),
            continue_on_error: flag(node.get("continueOnError"), false),
            variables: variables(node.get("variables")),
            kind,
            legs,
            max_parallel,
            stop_on_failure: false,
            fail_fast: false,
            steps,
            pool,
            container: node.get("container").filter(|container| !container.is_null()).map(to_json).or_else(|| {
                queue.and_then(|queue| queue.get("container")).filter(|container| !container.is_null()).map(to_json)
            }),
            services: node.get("services").filter(|services| !services.is_null()).map(to_json),
            workspace_clean: setting("workspace")
                .and_then(|workspace| workspace.get("clean"))
                .and_then(workspace_clean),
            timeout_minutes: setting("timeoutInMinutes").and_then(minutes),
            cancel_timeout_minutes: setting("cancelTimeoutInMinutes").and_then(minutes),
            outputs: Vec::new(),
            env: Vec::new(),
            concurrency: None,
            permissions: Vec::new(),
            span: Some(node.span),
        }
    }

    fn deployment(&mut self, node: &Node) -> Deployment {
        let strategy_node = node.get("strategy");
        let chosen = strategy_node.and_then(Node::as_mapping).and_then(|entries| {
            entries.iter().find_map(|(key, value)| match scalar_text(key) {
                Some(name @ ("runOnce" | "rolling" | "canary")) => Some((name, value)),
                _ => None,
            })
        });
        let strategy = match chosen {
            Some(("rolling", value)) => DeploymentStrategy::Rolling { max_parallel: text_of(value.get("maxParallel")) },
            Some(("canary", value)) => DeploymentStrategy::Canary {
                increments: value
                    .get("increments")
                    .and_then(Node::as_sequence)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|increment| scalar_text(increment).and_then(whole_number))
                    .filter_map(|increment| u32::try_from(increment).ok())
                    .collect(),
            },
            _ => DeploymentStrategy::RunOnce,
        };
        let mut hooks = Vec::new();
        if let Some((_, lifecycle)) = chosen {
            for (key, value) in lifecycle.as_mapping().unwrap_or_default() {
                let kind = match scalar_text(key) {
                    Some("preDeploy") => HookKind::PreDeploy,
                    Some("deploy") => HookKind::Deploy,
                    Some("routeTraffic") => HookKind::RouteTraffic,
                    Some("postRouteTraffic") => HookKind::PostRouteTraffic,
                    Some("on") => {
                        for (outcome, hook) in value.as_mapping().unwrap_or_default() {
                            let kind = match scalar_text(outcome) {
                                Some("failure") => HookKind::OnFailure,
                                Some("success") => HookKind::OnSuccess,
                                _ => continue,
                            };
                            hooks.push(self.hook(kind, hook));
                        }
                        continue;
                    }
                    _ => continue,
                };
                hooks.push(self.hook(kind, value));
            }
        }
        Deployment { environment: node.get("environment").and_then(environment), strategy, hooks }
    }

    fn hook(&mut self, kind: HookKind, node: &Node) -> Hook {
        Hook { kind, pool: node.get("pool").and_then(pool), steps: self.steps(node.get("steps")) }
    }
}

/// Whether a legacy `server:` value makes a server job (`true`, or a mapping of settings).
fn is_server_target(node: &Node) -> bool {
    node.as_mapping().is_some() || scalar_text(node).and_then(azure_boolean).unwrap_or(false)
}

/// An Azure boolean, `default` when absent or only known at run time.
pub(crate) fn flag(node: Option<&Node>, default: bool) -> bool {
    node.and_then(scalar_text).and_then(azure_boolean).unwrap_or(default)
}

/// A whole number of minutes, `None` when absent, too large or only known at run time.
pub(crate) fn minutes(node: &Node) -> Option<u32> {
    scalar_text(node).and_then(whole_number).and_then(|minutes| u32::try_from(minutes).ok())
}

fn workspace_clean(node: &Node) -> Option<WorkspaceClean> {
    match scalar_text(node)?.trim().to_ascii_lowercase().as_str() {
        "outputs" => Some(WorkspaceClean::Outputs),
        "resources" => Some(WorkspaceClean::Resources),
        "all" => Some(WorkspaceClean::All),
        _ => None,
    }
}

/// A `pool`: a name, or a mapping with `name`, `vmImage` and `demands`.
pub(crate) fn pool(node: &Node) -> Option<Pool> {
    if let Some(name) = scalar_text(node) {
        let name = name.trim();
        return (!name.is_empty()).then(|| Pool { name: Some(name.to_owned()), image: None, demands: Vec::new() });
    }
    node.as_mapping()?;
    Some(Pool {
        name: text_of(node.get("name")),
        image: text_of(node.get("vmImage")),
        demands: node.get("demands").map(demands).unwrap_or_default(),
    })
}

/// The pool of a legacy `queue:`.
fn queue_pool(node: &Node) -> Option<Pool> {
    if scalar_text(node).is_some() {
        return pool(node);
    }
    node.as_mapping()?;
    Some(Pool {
        name: text_of(node.get("name")),
        image: None,
        demands: node.get("demands").map(demands).unwrap_or_default(),
    })
}

fn demands(node: &Node) -> Vec<String> {
    match node.as_sequence() {
        Some(items) => items.iter().map(to_text).filter(|demand| !demand.is_empty()).collect(),
        None => scalar_text(node).filter(|demand| !demand.is_empty()).map(str::to_owned).into_iter().collect(),
    }
}

/// `environment`: `name`, `name.resource`, or a mapping.
fn environment(node: &Node) -> Option<Environment> {
    if let Some(text) = scalar_text(node) {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        let (name, resource) = match text.split_once('.') {
            Some((name, resource)) => (name, Some(resource.to_owned())),
            None => (text, None),
        };
        return Some(Environment {
            name: name.to_owned(),
            resource_name: resource,
            resource_type: None,
            tags: Vec::new(),
        });
    }
    node.as_mapping()?;
    let tags = match node.get("tags") {
        Some(tags) => match tags.as_sequence() {
            Some(items) => items.iter().map(to_text).collect(),
            None => scalar_text(tags)
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|tag| !tag.is_empty())
                .map(str::to_owned)
                .collect(),
        },
        None => Vec::new(),
    };
    Some(Environment {
        name: text_of(node.get("name")).unwrap_or_default(),
        resource_name: text_of(node.get("resourceName")),
        resource_type: text_of(node.get("resourceType")),
        tags,
    })
}

/// The single leg of a job without a strategy.
fn plain_leg() -> Leg {
    Leg { name: None, display_name: None, variables: Vec::new(), target: None, matrix: None, continue_on_error: None }
}

/// Legs from a matrix or a `parallel` count, and the `maxParallel` limit.
fn legs(
    matrix: Option<&Node>,
    parallel: Option<&Node>,
    max_parallel: Option<&Node>,
    shown: &str,
) -> (Vec<Leg>, Option<u32>) {
    let limit = max_parallel.and_then(minutes).filter(|limit| *limit > 0);
    if let Some(entries) = matrix.and_then(Node::as_mapping) {
        let legs: Vec<Leg> = entries
            .iter()
            .filter_map(|(leg, values)| {
                let leg_name = scalar_text(leg)?;
                Some(Leg {
                    name: Some(leg_name.to_owned()),
                    display_name: Some(format!("{shown} {leg_name}")),
                    variables: values
                        .as_mapping()
                        .unwrap_or_default()
                        .iter()
                        .filter_map(|(key, value)| Some((scalar_text(key)?.to_owned(), to_text(value))))
                        .collect(),
                    target: None,
                    matrix: None,
                    continue_on_error: None,
                })
            })
            .collect();
        if !legs.is_empty() {
            return (legs, limit);
        }
    }
    if let Some(count) = parallel.and_then(minutes).filter(|count| *count > 1) {
        let total = count.to_string();
        let legs = (1..=count)
            .map(|position| Leg {
                name: Some(format!("job{position}")),
                display_name: Some(format!("{shown} {position}")),
                variables: vec![
                    ("System.JobPositionInPhase".to_owned(), position.to_string()),
                    ("System.TotalJobsInPhase".to_owned(), total.clone()),
                ],
                target: None,
                matrix: None,
                continue_on_error: None,
            })
            .collect();
        return (legs, None);
    }
    (vec![plain_leg()], limit)
}

/// Legs of a legacy phase: `matrix` with `parallel` as the limit, or `parallel` slices.
fn legacy_legs(target: &Node, shown: &str) -> (Vec<Leg>, Option<u32>) {
    match target.get("matrix") {
        Some(matrix) if matrix.as_mapping().is_some() => legs(Some(matrix), None, target.get("parallel"), shown),
        _ => legs(None, target.get("parallel"), None, shown),
    }
}
