//! The delivery room as deployment jobs reach it ([`DeliveryRoom`], the engine's
//! [`DeliveryOperator`]): a job's delivery tasks register slots, move traffic, swap, promote, roll
//! back and retire slots, and start and follow analysis runs, for the services of the job's own
//! environment only. Promotions and rollbacks are recorded on the job's deployment, with the
//! analysis run that decided them. Every change is applied to the service's router at once.

use std::sync::Arc;

use slipway_engine::hooks::{DeliveryOperator, DeliveryRefusal, OperatorFuture};
use slipway_events::delivery::{
    AnalysisState, DeliveryAnswer, DeliveryRequest, MeasurementState, MetricState, ServiceState, SlotState,
};
use slipway_store::{
    AnalysisRun, AnalysisRunId, Deployment, Environment, Job, NewAnalysisRun, Service, Store, StoreError,
};

use crate::host::RouterHost;
use crate::routing::{Routes, Slot};

/// The delivery room.
#[derive(Debug)]
pub struct DeliveryRoom {
    store: Store,
    /// The environments' flag documents, read once per revision.
    flags: crate::flags::FlagCache,
    routers: Arc<RouterHost>,
    analysis: Arc<crate::runner::AnalysisRunner>,
}

impl DeliveryRoom {
    /// The room over `store`, applying changes to `routers`, with the analysis runner measuring.
    #[must_use]
    pub fn new(store: Store, routers: Arc<RouterHost>, analysis: Arc<crate::runner::AnalysisRunner>) -> Arc<Self> {
        Arc::new(Self { store, flags: crate::flags::FlagCache::default(), routers, analysis })
    }

    async fn deployment(&self, job: &Job) -> Result<(Deployment, Environment), DeliveryRefusal> {
        let Some(deployment) = self.store.job_deployment(job.id).await? else {
            return Err(DeliveryRefusal::Forbidden(format!(
                "job {} is not a deployment job: only a `deployment:` job with an `environment:` may change the \
                 services of its environment",
                job.key
            )));
        };
        let environment = self.store.environment_by_id(deployment.environment).await?;
        Ok((deployment, environment))
    }

    async fn service(&self, environment: &Environment, name: &str) -> Result<Service, DeliveryRefusal> {
        self.store.service(environment.id, name).await.map_err(|error| {
            if error.is_not_found() {
                DeliveryRefusal::NotFound(format!(
                    "environment '{}' has no service '{name}'; create it first: slipway services create {} {name} \
                     --listen 127.0.0.1:PORT",
                    environment.name, environment.name
                ))
            } else {
                DeliveryRefusal::Store(error)
            }
        })
    }

    /// Stores the service's new slots (checked as the router would take them) and applies them.
    async fn change(
        &self,
        environment: &Environment,
        service: &Service,
        slots: Vec<(String, String, u32)>,
        remove: Vec<String>,
    ) -> Result<ServiceState, DeliveryRefusal> {
        let routes = Routes {
            service: service.name.clone(),
            slots: slots
                .iter()
                .map(|(name, upstream, weight)| Slot {
                    name: name.clone(),
                    upstream: upstream.clone(),
                    weight: *weight,
                })
                .collect(),
        };
        routes.validate().map_err(|error| DeliveryRefusal::Invalid(error.to_string()))?;
        let before: Vec<String> = service.slots.iter().map(|slot| slot.upstream.clone()).collect();
        let updated = self.store.set_slots(service.id, &slots, &remove).await?;
        if let Err(error) = self.routers.reload().await {
            tracing::warn!(%error, "could not apply a service's new slots to its router at once");
        }
        let mut state = service_state(environment, &updated);
        state.retired = before
            .into_iter()
            .filter(|upstream| !updated.slots.iter().any(|slot| &slot.upstream == upstream))
            .collect();
        state.retired.dedup();
        Ok(state)
    }

    async fn operate_on(&self, job: &Job, request: DeliveryRequest) -> Result<DeliveryAnswer, DeliveryRefusal> {
        let (deployment, environment) = self.deployment(job).await?;
        match request {
            DeliveryRequest::Chaos { id } | DeliveryRequest::StopChaos { id } => {
                if matches!(request, DeliveryRequest::StopChaos { .. }) {
                    self.analysis.stop_chaos(id);
                }
                let run = self.analysis.chaos(id).ok_or_else(|| {
                    DeliveryRefusal::NotFound(format!(
                        "no chaos experiment {id} on this server (a server restart ends experiments, and takes their \
                         faults away with them)"
                    ))
                })?;
                return Ok(DeliveryAnswer::Chaos(chaos_state(&run)));
            }
            DeliveryRequest::SetFlag { flag, variant, state } => {
                return self.set_flag(job, &environment, &flag, variant, state.as_deref()).await;
            }
            DeliveryRequest::Analysis { id } | DeliveryRequest::StopAnalysis { id } => {
                let run = self.analysis_of(&environment, id).await?;
                let run = if matches!(request, DeliveryRequest::StopAnalysis { .. }) {
                    self.analysis.terminate(run.id, "the step that started it was canceled").await?;
                    self.store.analysis_run(run.id).await?
                } else {
                    run
                };
                return Ok(DeliveryAnswer::Analysis(analysis_state(&run)));
            }
            _ => {}
        }
        let name = request.service().unwrap_or_default().to_owned();
        let service = self.service(&environment, &name).await?;
        let slots: Vec<(String, String, u32)> =
            service.slots.iter().map(|slot| (slot.name.clone(), slot.upstream.clone(), slot.weight)).collect();
        let find = |slot: &str| -> Result<usize, DeliveryRefusal> {
            slots.iter().position(|(name, _, _)| name == slot).ok_or_else(|| {
                let known: Vec<&str> = slots.iter().map(|(name, _, _)| name.as_str()).collect();
                DeliveryRefusal::NotFound(format!(
                    "service '{name}' has no slot '{slot}' (its slots: {})",
                    if known.is_empty() { "none".to_owned() } else { known.join(", ") }
                ))
            })
        };
        let state = match request {
            DeliveryRequest::Service { .. } => service_state(&environment, &service),
            DeliveryRequest::SetSlot { slot, upstream, weight, .. } => {
                let mut slots = slots;
                match slots.iter_mut().find(|(name, _, _)| *name == slot) {
                    Some(existing) => {
                        existing.1 = upstream;
                        existing.2 = weight.unwrap_or(existing.2);
                    }
                    None => slots.push((slot, upstream, weight.unwrap_or(0))),
                }
                self.change(&environment, &service, slots, Vec::new()).await?
            }
            DeliveryRequest::Route { slot, percent, .. } => {
                if percent > 100 {
                    return Err(DeliveryRefusal::Invalid(format!("a slot's share is 0 to 100 percent, not {percent}")));
                }
                let index = find(&slot)?;
                // The first version of a service has nothing beside it: it takes all the traffic,
                // as the first rollout of an Argo canary does.
                let percent = if slots.len() == 1 { 100 } else { percent };
                let mut slots = slots;
                let weights =
                    route_weights(&slots.iter().map(|(_, _, weight)| *weight).collect::<Vec<_>>(), index, percent);
                for (slot, weight) in slots.iter_mut().zip(weights) {
                    slot.2 = weight;
                }
                self.change(&environment, &service, slots, Vec::new()).await?
            }
            DeliveryRequest::Weights { weights, .. } => {
                if weights.is_empty() {
                    return Err(DeliveryRefusal::Invalid("give at least one slot's weight".into()));
                }
                let mut changes = Vec::new();
                for (name, weight) in &weights {
                    if *weight > 100 {
                        return Err(DeliveryRefusal::Invalid(format!(
                            "a slot's weight is 0 to 100, not {weight} (slot '{name}')"
                        )));
                    }
                    changes.push((find(name)?, *weight));
                }
                let mut slots = slots;
                for (index, weight) in changes {
                    slots[index].2 = weight;
                }
                self.change(&environment, &service, slots, Vec::new()).await?
            }
            DeliveryRequest::Swap { slot, with, .. } => {
                let (first, second) = (find(&slot)?, find(&with)?);
                let mut slots = slots;
                let (a, b) = (slots[first].2, slots[second].2);
                slots[first].2 = b;
                slots[second].2 = a;
                self.change(&environment, &service, slots, Vec::new()).await?
            }
            DeliveryRequest::Promote { slot, into, .. } => {
                if slot == into {
                    return Err(DeliveryRefusal::Invalid(format!("cannot promote slot '{slot}' into itself")));
                }
                let winner = find(&slot)?;
                let upstream = slots[winner].1.clone();
                let mut slots: Vec<(String, String, u32)> = slots
                    .into_iter()
                    .filter(|(name, _, _)| *name != slot && *name != into)
                    .map(|(name, upstream, _)| (name, upstream, 0))
                    .collect();
                slots.push((into.clone(), upstream.clone(), 100));
                let state = self.change(&environment, &service, slots, vec![slot.clone()]).await?;
                let analysis = self.last_analysis(job, &service).await?;
                let detail = format!(
                    "slot '{slot}' ({upstream}) promoted into '{into}' of service '{name}' with all the traffic{}",
                    analysis.as_ref().map(|run| format!("; analysis run {} {}", run.id, run.phase)).unwrap_or_default()
                );
                self.store
                    .set_deployment_outcome(deployment.job, "promoted", Some(&detail), analysis.map(|run| run.id))
                    .await?;
                state
            }
            DeliveryRequest::Rollback { slot, to, .. } => {
                let keeper = find(&to)?;
                let keep = slots[keeper].1.clone();
                let lost = slots.iter().find(|(name, _, _)| *name == slot).map(|(_, upstream, _)| upstream.clone());
                let slots: Vec<(String, String, u32)> = slots
                    .into_iter()
                    .filter(|(name, _, _)| *name != slot)
                    .map(|(name, upstream, _)| {
                        let weight = if name == to { 100 } else { 0 };
                        (name, upstream, weight)
                    })
                    .collect();
                let state = self.change(&environment, &service, slots, vec![slot.clone()]).await?;
                let analysis = self.last_analysis(job, &service).await?;
                let because = analysis
                    .as_ref()
                    .map(|run| {
                        format!(
                            "; analysis run {} {}{}",
                            run.id,
                            run.phase,
                            run.message.as_deref().map(|message| format!(": {message}")).unwrap_or_default()
                        )
                    })
                    .unwrap_or_default();
                let detail = format!(
                    "rolled back to slot '{to}' ({keep}) of service '{name}'{}{because}",
                    lost.map(|upstream| format!(", slot '{slot}' ({upstream}) retired")).unwrap_or_default()
                );
                self.store
                    .set_deployment_outcome(deployment.job, "rolledBack", Some(&detail), analysis.map(|run| run.id))
                    .await?;
                state
            }
            DeliveryRequest::Retire { slot, .. } => {
                let index = find(&slot)?;
                let others: u32 =
                    slots.iter().enumerate().filter(|(other, _)| *other != index).map(|(_, slot)| slot.2).sum();
                if slots[index].2 > 0 && others == 0 && slots.len() > 1 {
                    return Err(DeliveryRefusal::Conflict(format!(
                        "slot '{slot}' has all the traffic of service '{name}'; route it to another slot before \
                         retiring this one"
                    )));
                }
                let slots: Vec<(String, String, u32)> =
                    slots.into_iter().filter(|(name, _, _)| *name != slot).collect();
                self.change(&environment, &service, slots, vec![slot]).await?
            }
            DeliveryRequest::StartAnalysis { template_name, template, args, load, .. } => {
                let parsed = crate::analysis::parse_template(&template, &template_name, &args)
                    .map_err(|error| DeliveryRefusal::Invalid(error.to_string()))?;
                let parsed = crate::runner::bind_service(parsed, &service.name);
                let template = serde_json::to_value(&parsed)
                    .map_err(|error| DeliveryRefusal::Invalid(format!("the template cannot be kept: {error}")))?;
                let load = load
                    .map(|load| {
                        if load.rate == 0 || load.rate > 1000 || !load.path.starts_with('/') {
                            Err(DeliveryRefusal::Invalid(format!(
                                "synthetic load is 1 to 1000 requests per second to a path starting with '/', not {} \
                                 to '{}'",
                                load.rate, load.path
                            )))
                        } else {
                            serde_json::to_value(&load).map_err(|error| DeliveryRefusal::Invalid(error.to_string()))
                        }
                    })
                    .transpose()?;
                // The same request again (an agent retrying after a lost answer) is the run it
                // started: a job's steps run one after another, so it never runs two identical
                // analyses at once.
                let running = self.store.service_analysis_runs(service.id, 20).await?;
                if let Some(existing) = running.iter().find(|run| {
                    run.job == Some(job.id) && run.finished_at.is_none() && run.template == template && run.load == load
                }) {
                    return Ok(DeliveryAnswer::Analysis(analysis_state(existing)));
                }
                let run = self
                    .store
                    .create_analysis_run(&NewAnalysisRun {
                        service: service.id,
                        job: Some(job.id),
                        run: Some(job.run),
                        template_name,
                        template,
                        load,
                    })
                    .await?;
                self.analysis.wake();
                return Ok(DeliveryAnswer::Analysis(analysis_state(&run)));
            }
            DeliveryRequest::StartChaos { experiment_name, experiment, load, .. } => {
                let experiment = crate::chaos::read_experiment(&experiment, &experiment_name)
                    .map_err(|error| DeliveryRefusal::Invalid(error.to_string()))?;
                if service.provider == "nginx" {
                    return Err(DeliveryRefusal::Conflict(format!(
                        "service '{name}' is fronted by nginx: chaos experiments inject faults through Slipway's own \
                         router"
                    )));
                }
                if let Some(load) = &load
                    && (load.rate == 0 || load.rate > 1000 || !load.path.starts_with('/'))
                {
                    return Err(DeliveryRefusal::Invalid(format!(
                        "synthetic load is 1 to 1000 requests per second to a path starting with '/', not {} to '{}'",
                        load.rate, load.path
                    )));
                }
                let id = self.analysis.start_chaos(service, experiment, load);
                let run = self
                    .analysis
                    .chaos(id)
                    .ok_or_else(|| DeliveryRefusal::Conflict("the experiment vanished".into()))?;
                return Ok(DeliveryAnswer::Chaos(chaos_state(&run)));
            }
            DeliveryRequest::Analysis { .. }
            | DeliveryRequest::StopAnalysis { .. }
            | DeliveryRequest::Chaos { .. }
            | DeliveryRequest::StopChaos { .. }
            | DeliveryRequest::SetFlag { .. } => unreachable_request()?,
        };
        Ok(DeliveryAnswer::Service(state))
    }

    /// Sets a flag of the job's environment (its default variant and/or state), audited as the
    /// job's.
    async fn set_flag(
        &self,
        job: &Job,
        environment: &Environment,
        key: &str,
        variant: Option<String>,
        state: Option<&str>,
    ) -> Result<DeliveryAnswer, DeliveryRefusal> {
        let state = state
            .map(|text| {
                crate::flags::FlagState::parse(text).ok_or_else(|| {
                    DeliveryRefusal::Invalid(format!("'{text}' is not a flag state: give ENABLED or DISABLED"))
                })
            })
            .transpose()?;
        if state.is_none() && variant.is_none() {
            return Err(DeliveryRefusal::Invalid("give the flag's variant, its state, or both".into()));
        }
        let current = self.flags.load(&self.store, environment.id).await?;
        if current.document.flag(key).is_none() {
            return Err(DeliveryRefusal::NotFound(format!(
                "environment '{}' has no flag '{key}'; `slipway flags list {}` shows its flags",
                environment.name, environment.name
            )));
        }
        let actor = format!("job {} of run {}", job.key, job.run.get());
        let edit = crate::flags::FlagEdit::Set { state, default_variant: variant.clone().map(Some) };
        let changed = self
            .flags
            .change(&self.store, environment.id, None, Some(&actor), |document| document.edit(key, edit.clone()))
            .await
            .map_err(|error| match error {
                crate::flags::ChangeError::Invalid(errors) => DeliveryRefusal::Invalid(errors.to_string()),
                crate::flags::ChangeError::Stale { .. } => DeliveryRefusal::Conflict(error.to_string()),
                crate::flags::ChangeError::Store(error) => DeliveryRefusal::Store(error),
            })?;
        let entry = slipway_store::NewAuditEntry {
            actor,
            action: "flags.set".into(),
            target: Some(format!("{}/{key}", environment.name)),
            details: serde_json::json!({
                "state": state.map(crate::flags::FlagState::as_str),
                "defaultVariant": variant,
                "revision": changed.revision,
            }),
        };
        if let Err(error) = self.store.record_audit(&entry).await {
            tracing::error!(%error, "an audit entry of a pipeline's flag change was not recorded");
        }
        let flag = changed.document.flag(key);
        Ok(DeliveryAnswer::Flag(slipway_events::delivery::FlagState {
            environment: environment.name.clone(),
            flag: key.to_owned(),
            state: flag.map_or("ENABLED", |flag| flag.state.as_str()).to_owned(),
            default_variant: flag.and_then(|flag| flag.default_variant.clone()),
            revision: changed.revision,
        }))
    }

    async fn analysis_of(&self, environment: &Environment, id: i64) -> Result<AnalysisRun, DeliveryRefusal> {
        let missing =
            || DeliveryRefusal::NotFound(format!("no analysis run {id} in environment '{}'", environment.name));
        let run = self
            .store
            .analysis_run(AnalysisRunId(id))
            .await
            .map_err(|error| if error.is_not_found() { missing() } else { DeliveryRefusal::Store(error) })?;
        let services = self.store.services(Some(environment.id)).await?;
        if !services.iter().any(|service| service.id == run.service) {
            return Err(missing());
        }
        Ok(run)
    }

    /// The job's latest analysis run of the service, if it started one.
    async fn last_analysis(&self, job: &Job, service: &Service) -> Result<Option<AnalysisRun>, StoreError> {
        Ok(self.store.service_analysis_runs(service.id, 50).await?.into_iter().find(|run| run.job == Some(job.id)))
    }
}

/// Handled before the service is looked up.
fn unreachable_request() -> Result<ServiceState, DeliveryRefusal> {
    Err(DeliveryRefusal::Invalid("analysis and chaos requests name no service".into()))
}

impl DeliveryOperator for DeliveryRoom {
    fn operate<'a>(&'a self, job: &'a Job, request: DeliveryRequest) -> OperatorFuture<'a> {
        Box::pin(self.operate_on(job, request))
    }
}

/// The weights after giving `percent` to the slot at `index`: the others share the rest in
/// proportion to their weights (equally when none has any), rounded so that all add up to 100.
#[must_use]
pub fn route_weights(weights: &[u32], index: usize, percent: u32) -> Vec<u32> {
    let rest = 100 - percent.min(100);
    let others: Vec<usize> = (0..weights.len()).filter(|&other| other != index).collect();
    let total: u64 = others.iter().map(|&other| u64::from(weights[other])).sum();
    let mut result = vec![0_u32; weights.len()];
    if let Some(slot) = result.get_mut(index) {
        *slot = percent.min(100);
    }
    if others.is_empty() {
        return result;
    }
    // Largest remainders, so that the shares add up exactly.
    let mut shares: Vec<(usize, u64, u64)> = others
        .iter()
        .map(|&other| {
            let numerator = if total == 0 { u64::from(rest) } else { u64::from(rest) * u64::from(weights[other]) };
            let denominator = if total == 0 { others.len() as u64 } else { total };
            (other, numerator / denominator, numerator % denominator)
        })
        .collect();
    let given: u64 = shares.iter().map(|(_, share, _)| share).sum();
    let mut left = u64::from(rest) - given;
    shares.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    for (other, share, _) in &mut shares {
        if left > 0 {
            *share += 1;
            left -= 1;
        }
        result[*other] = u32::try_from(*share).unwrap_or(100);
    }
    result
}

fn service_state(environment: &Environment, service: &Service) -> ServiceState {
    ServiceState {
        environment: environment.name.clone(),
        service: service.name.clone(),
        listen: service.listen.clone(),
        slots: service
            .slots
            .iter()
            .map(|slot| SlotState { name: slot.name.clone(), upstream: slot.upstream.clone(), weight: slot.weight })
            .collect(),
        retired: Vec::new(),
    }
}

fn chaos_state(run: &crate::runner::ChaosRun) -> slipway_events::delivery::ChaosState {
    slipway_events::delivery::ChaosState {
        id: run.id,
        status: run.status.clone(),
        deviated: run.deviated,
        journal: run.journal.clone(),
    }
}

/// An analysis run as tasks and the API see it.
#[must_use]
pub fn analysis_state(run: &AnalysisRun) -> AnalysisState {
    let template: Option<crate::analysis::AnalysisTemplate> = serde_json::from_value(run.template.clone()).ok();
    let measurements = crate::runner::measurements_of(run);
    let metrics = template
        .map(|template| {
            template
                .metrics
                .iter()
                .map(|metric| {
                    let taken = measurements.get(&metric.name).cloned().unwrap_or_default();
                    MetricState {
                        name: metric.name.clone(),
                        phase: format!("{:?}", crate::analysis::metric_phase(metric, &taken)),
                        measurements: taken
                            .iter()
                            .map(|measurement| MeasurementState {
                                phase: format!("{:?}", measurement.phase),
                                value: measurement.value.clone(),
                                message: measurement.message.clone(),
                                finished_at: measurement.finished_at,
                            })
                            .collect(),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    AnalysisState { id: run.id.get(), phase: run.phase.clone(), message: run.message.clone(), metrics }
}

#[cfg(test)]
mod tests {
    use super::route_weights;

    #[test]
    fn routing_a_share_to_a_slot_splits_the_rest_by_weight() {
        assert_eq!(route_weights(&[100, 0], 1, 10), vec![90, 10]);
        assert_eq!(route_weights(&[90, 10], 1, 50), vec![50, 50]);
        assert_eq!(route_weights(&[0, 0, 0], 0, 10), vec![10, 45, 45]);
        assert_eq!(route_weights(&[1, 1, 1, 5], 3, 0), vec![34, 33, 33, 0]);
        assert_eq!(route_weights(&[70, 30], 0, 100), vec![100, 0]);
        assert_eq!(route_weights(&[5], 0, 100), vec![100]);
        for weights in [[3_u32, 7, 0], [0, 0, 1], [50, 25, 25]] {
            for percent in [0, 1, 33, 99, 100] {
                assert_eq!(route_weights(&weights, 2, percent).iter().sum::<u32>(), 100);
            }
        }
    }
}
