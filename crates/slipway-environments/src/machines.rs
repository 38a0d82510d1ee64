//! Virtual-machine resources: agents registered into an environment (`slipway agent
//! --environment NAME --tag T`, kept as the capabilities `Slipway.Environment` and
//! `Slipway.Tags`), and placing a deployment job with `resourceType: VirtualMachine` on them, one
//! leg per machine, when its stage is about to start: `runOnce` on all at once, `rolling` in
//! batches of `maxParallel` (a count or a percentage), stopping at the first machine that fails.

use slipway_plan::{DeploymentStrategy, JobKind, Leg, LegTarget, Plan};
use slipway_protocol::capability;
use slipway_store::Agent;

/// What placing a stage's deployment jobs on machines gave.
#[derive(Debug, PartialEq)]
pub enum Placed {
    /// Nothing to place (no virtual-machine deployment job, or placed already).
    Unchanged,
    /// The plan with the jobs' legs placed on machines.
    Replan(Box<Plan>),
    /// A job has no machine to run on: why.
    NoResource(String),
}

/// Whether `agent` is a virtual-machine resource of `environment` with every one of `tags`.
#[must_use]
pub fn is_resource(agent: &Agent, environment: &str, tags: &[String]) -> bool {
    let Some(name) = agent.capabilities.get(capability::ENVIRONMENT) else { return false };
    if !name.trim().eq_ignore_ascii_case(environment.trim()) {
        return false;
    }
    let have: Vec<&str> = agent
        .capabilities
        .get(capability::TAGS)
        .map(|tags| tags.split(',').map(str::trim).collect())
        .unwrap_or_default();
    tags.iter().all(|tag| have.iter().any(|own| own.eq_ignore_ascii_case(tag.trim())))
}

/// The machines of `environment` (with all of `tags`), by name.
#[must_use]
pub fn resources<'a>(agents: &'a [Agent], environment: &str, tags: &[String]) -> Vec<&'a Agent> {
    let mut found: Vec<&Agent> = agents.iter().filter(|agent| is_resource(agent, environment, tags)).collect();
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found
}

/// How many machines a rolling deployment takes at once: `maxParallel` as a count or a
/// percentage of `targets` (at least one); one when not given.
#[must_use]
pub fn batch_size(max_parallel: Option<&str>, targets: usize) -> u32 {
    let Some(text) = max_parallel.map(str::trim).filter(|text| !text.is_empty()) else { return 1 };
    let count = match text.strip_suffix('%') {
        Some(percent) => percent.trim().parse::<usize>().map(|percent| (targets * percent).div_ceil(100)).unwrap_or(1),
        None => text.parse::<usize>().unwrap_or(1),
    };
    u32::try_from(count.clamp(1, targets.max(1))).unwrap_or(1)
}

/// Whether a stage has a deployment job to virtual machines not placed yet.
#[must_use]
pub fn wants_machines(stage: &slipway_plan::Stage) -> bool {
    stage.jobs.iter().any(|job| {
        matches!(&job.kind, JobKind::Deployment(deployment) if deployment.environment.as_ref().is_some_and(|environment| {
            environment.resource_type.as_deref().is_some_and(|kind| kind.eq_ignore_ascii_case("VirtualMachine"))
                || (environment.resource_type.is_none() && environment.resource_name.is_some())
        })) && job.legs.iter().all(|leg| leg.target.is_none())
    })
}

/// Places the virtual-machine deployment jobs of the stage at `stage` on `agents`.
#[must_use]
pub fn place(plan: &Plan, stage: usize, agents: &[Agent]) -> Placed {
    let Some(plan_stage) = plan.stages.get(stage) else { return Placed::Unchanged };
    let mut placed: Option<Plan> = None;
    for (index, job) in plan_stage.jobs.iter().enumerate() {
        let JobKind::Deployment(deployment) = &job.kind else { continue };
        let Some(environment) = &deployment.environment else { continue };
        let is_machine = environment.resource_type.as_deref().is_some_and(|kind| kind.eq_ignore_ascii_case("VirtualMachine"))
            // `environment: NAME.RESOURCE` naming one of its machines.
            || (environment.resource_type.is_none()
                && environment.resource_name.as_ref().is_some_and(|resource| {
                    resources(agents, &environment.name, &[]).iter().any(|agent| agent.name.eq_ignore_ascii_case(resource))
                }));
        if !is_machine {
            continue;
        }
        if job.legs.iter().any(|leg| leg.target.is_some()) {
            continue;
        }
        let mut targets = resources(agents, &environment.name, &environment.tags);
        if let Some(resource) = &environment.resource_name {
            targets.retain(|agent| agent.name.eq_ignore_ascii_case(resource));
        }
        if targets.is_empty() {
            let which = match (&environment.resource_name, environment.tags.is_empty()) {
                (Some(resource), _) => format!("named '{resource}'"),
                (None, false) => format!("with the tags {}", environment.tags.join(", ")),
                (None, true) => "at all".to_owned(),
            };
            let tags: String = environment.tags.iter().map(|tag| format!(" --tag {tag}")).collect();
            return Placed::NoResource(format!(
                "deployment job '{}' deploys to the virtual machines of environment '{}', and it has none {which}: \
                 register one with `slipway agent --environment {}{tags}`",
                job.name, environment.name, environment.name
            ));
        }
        let shown = job.display_name.clone().unwrap_or_else(|| job.name.clone());
        let count = targets.len();
        let new_plan = placed.get_or_insert_with(|| plan.clone());
        let Some(new_job) = new_plan.stages.get_mut(stage).and_then(|stage| stage.jobs.get_mut(index)) else {
            continue;
        };
        new_job.legs = targets
            .iter()
            .map(|agent| Leg {
                name: Some(agent.name.clone()),
                display_name: Some(format!("{shown} on {}", agent.name)),
                variables: vec![
                    ("Environment.ResourceName".to_owned(), agent.name.clone()),
                    ("Environment.ResourceId".to_owned(), agent.id.get().to_string()),
                    ("Environment.ResourceType".to_owned(), "VirtualMachine".to_owned()),
                ],
                target: Some(LegTarget { agent: agent.name.clone(), pool: agent.pool.clone() }),
                matrix: None,
                continue_on_error: None,
            })
            .collect();
        match &deployment.strategy {
            DeploymentStrategy::Rolling { max_parallel } => {
                new_job.max_parallel = Some(batch_size(max_parallel.as_deref(), count));
                new_job.stop_on_failure = true;
            }
            DeploymentStrategy::RunOnce | DeploymentStrategy::Canary { .. } => new_job.max_parallel = None,
        }
    }
    match placed {
        Some(plan) => Placed::Replan(Box::new(plan)),
        None => Placed::Unchanged,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use slipway_plan::{Deployment, Environment, Job, Stage};
    use slipway_store::{AgentId, AgentState, Timestamp};

    use super::*;

    fn agent(id: i64, name: &str, environment: &str, tags: &str) -> Agent {
        let mut capabilities = BTreeMap::new();
        capabilities.insert(capability::ENVIRONMENT.to_owned(), environment.to_owned());
        if !tags.is_empty() {
            capabilities.insert(capability::TAGS.to_owned(), tags.to_owned());
        }
        Agent {
            id: AgentId(id),
            name: name.into(),
            pool: "default".into(),
            capabilities,
            version: String::new(),
            state: AgentState::Idle,
            created_at: Timestamp(0),
            last_seen_at: None,
        }
    }

    fn vm_plan(strategy: DeploymentStrategy, tags: &[&str]) -> Plan {
        let mut job = Job::new("ship", Vec::new());
        job.kind = JobKind::Deployment(Deployment {
            environment: Some(Environment {
                name: "prod".into(),
                resource_name: None,
                resource_type: Some("virtualMachine".into()),
                tags: tags.iter().map(|&tag| tag.to_owned()).collect(),
            }),
            strategy,
            hooks: Vec::new(),
        });
        Plan::new(slipway_plan::Dialect::AzurePipelines, vec![Stage::new("Deploy", vec![job])])
    }

    #[test]
    fn a_rolling_job_gets_one_leg_per_tagged_machine_in_batches() {
        let agents = [
            agent(3, "web-2", "prod", "web,eu"),
            agent(1, "web-1", "PROD", "web"),
            agent(2, "db-1", "prod", "db"),
            agent(4, "web-9", "staging", "web"),
        ];
        let plan = vm_plan(DeploymentStrategy::Rolling { max_parallel: Some("50%".into()) }, &["web"]);
        let Placed::Replan(placed) = place(&plan, 0, &agents) else { panic!("not placed") };
        let job = &placed.stages[0].jobs[0];
        let names: Vec<&str> = job.legs.iter().filter_map(|leg| leg.name.as_deref()).collect();
        assert_eq!(names, ["web-1", "web-2"]);
        assert_eq!(job.legs[1].target, Some(LegTarget { agent: "web-2".into(), pool: "default".into() }));
        assert!(job.legs[1].variables.contains(&("Environment.ResourceName".into(), "web-2".into())));
        assert_eq!(job.max_parallel, Some(1));
        assert!(job.stop_on_failure);
        // Placed once: asked again, nothing changes.
        assert_eq!(place(&placed, 0, &agents), Placed::Unchanged);
        let none = vm_plan(DeploymentStrategy::RunOnce, &["gpu"]);
        assert_eq!(
            place(&none, 0, &agents),
            Placed::NoResource(
                "deployment job 'ship' deploys to the virtual machines of environment 'prod', and it has none with the \
                 tags gpu: register one with `slipway agent --environment prod --tag gpu`"
                    .into()
            )
        );
    }

    #[test]
    fn max_parallel_is_a_count_or_a_percentage_of_the_machines() {
        assert_eq!(batch_size(Some("2"), 5), 2);
        assert_eq!(batch_size(Some("50%"), 5), 3);
        assert_eq!(batch_size(Some("10%"), 3), 1);
        assert_eq!(batch_size(Some("9"), 3), 3);
        assert_eq!(batch_size(None, 4), 1);
    }
}
