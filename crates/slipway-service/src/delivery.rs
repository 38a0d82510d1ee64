//! Services in environments and their slots, as people and pipelines change and read them: who
//! may (readers read; admins create and delete services; contributors set slots and traffic, as
//! deployments do), what the audit log records, and the routers brought in step at once.

use slipway_api as api;
use slipway_delivery::host::{RouterState, metrics_label};
use slipway_delivery::metrics::Window;
use slipway_delivery::routing::{Routes, Slot};
use slipway_store::{self as store, UserRole};

use crate::AppState;
use crate::caller::Caller;
use crate::error::ServiceError;

fn service(state: &AppState, found: &store::Service, environment: &str) -> api::Service {
    let label = metrics_label(found);
    let (router, message) = match state.routers().and_then(|routers| routers.state(found.id)) {
        Some(RouterState::Listening(_)) => ("listening", None),
        Some(RouterState::Nginx) => ("applied", None),
        Some(RouterState::Failed(reason)) => ("failed", Some(reason)),
        None => ("starting", None),
    };
    api::Service {
        id: found.id.get(),
        environment: environment.to_owned(),
        name: found.name.clone(),
        listen: found.listen.clone(),
        provider: found.provider.clone(),
        router: router.to_owned(),
        message,
        slots: found
            .slots
            .iter()
            .map(|slot| {
                let counts =
                    state.routers().map(|routers| routers.metrics().counts(&label, &slot.name)).unwrap_or_default();
                api::ServiceSlot {
                    name: slot.name.clone(),
                    upstream: slot.upstream.clone(),
                    weight: slot.weight,
                    requests: api::SlotRequests {
                        ok: counts.ok,
                        client_errors: counts.client_errors,
                        server_errors: counts.server_errors,
                    },
                }
            })
            .collect(),
    }
}

async fn find(
    state: &AppState,
    environment_name: &str,
    name: &str,
) -> Result<(store::Environment, store::Service), ServiceError> {
    let found = crate::environments::find(state, environment_name).await?;
    let service = state.store().service(found.id, name).await.map_err(|error| match error {
        store::StoreError::NotFound { .. } => {
            ServiceError::NotFound(format!("environment '{}' has no service named '{name}'", found.name))
        }
        other => other.into(),
    })?;
    Ok((found, service))
}

/// Brings the routers in step (a failure is logged: the periodic reload tries again).
async fn reload(state: &AppState) {
    if let Some(routers) = state.routers()
        && let Err(error) = routers.reload().await
    {
        tracing::warn!(%error, "the routers could not be brought in step at once");
    }
}

/// Checks slots as the router would take them.
fn check_slots(service: &str, slots: &[(String, String, u32)]) -> Result<(), ServiceError> {
    let routes = Routes {
        service: service.to_owned(),
        slots: slots
            .iter()
            .map(|(name, upstream, weight)| Slot { name: name.clone(), upstream: upstream.clone(), weight: *weight })
            .collect(),
    };
    routes.validate().map_err(|error| ServiceError::Unprocessable(error.to_string()))
}

/// The services of an environment (reader).
///
/// # Errors
/// When there is no such environment.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    environment_name: &str,
) -> Result<Vec<api::Service>, ServiceError> {
    caller.require(UserRole::Reader)?;
    let found = crate::environments::find(state, environment_name).await?;
    Ok(state.store().services(Some(found.id)).await?.iter().map(|item| service(state, item, &found.name)).collect())
}

/// One service (reader).
///
/// # Errors
/// When there is no such environment or service.
pub async fn show(
    state: &AppState,
    caller: &Caller,
    environment_name: &str,
    name: &str,
) -> Result<api::Service, ServiceError> {
    caller.require(UserRole::Reader)?;
    let (found, item) = find(state, environment_name, name).await?;
    Ok(service(state, &item, &found.name))
}

/// What a service has done lately (reader): each of its slots' requests through the router over
/// the last `seconds` seconds, in the order of its slots (empty when nothing reached the slot, or
/// no router runs on this server), and its last `runs` analysis runs, newest first.
///
/// # Errors
/// When there is no such environment or service, or the store cannot be read.
pub async fn recent(
    state: &AppState,
    caller: &Caller,
    environment_name: &str,
    name: &str,
    seconds: u64,
    runs: i64,
) -> Result<(Vec<(String, Window)>, Vec<store::AnalysisRun>), ServiceError> {
    caller.require(UserRole::Reader)?;
    let (_, item) = find(state, environment_name, name).await?;
    let label = metrics_label(&item);
    let windows = item
        .slots
        .iter()
        .map(|slot| {
            let window = state
                .routers()
                .map(|routers| routers.metrics().window(&label, &slot.name, seconds))
                .unwrap_or_default();
            (slot.name.clone(), window)
        })
        .collect();
    let analyses = state.store().service_analysis_runs(item.id, runs).await?;
    Ok((windows, analyses))
}

/// Creates a service, its router listening on `listen` (admin; audited).
///
/// # Errors
/// When the caller is no admin, the name or address is not valid or taken.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    environment_name: &str,
    body: &api::CreateService,
) -> Result<api::Service, ServiceError> {
    caller.require(UserRole::Admin)?;
    let found = crate::environments::find(state, environment_name).await?;
    let name = body.name.trim();
    if name.is_empty() || name.len() > 100 || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
        return Err(ServiceError::bad_request(format!(
            "'{name}' is not a service name: use letters, digits, '-', '_' and '.'"
        )));
    }
    let listen: std::net::SocketAddr = body.listen.trim().parse().map_err(|_| {
        ServiceError::bad_request(format!(
            "'listen' is '{}'; give HOST:PORT with an IP address, such as 127.0.0.1:9000",
            body.listen
        ))
    })?;
    if listen.port() == 0 {
        return Err(ServiceError::bad_request("'listen' needs a port other than 0: the service keeps its address"));
    }
    let provider = match body.provider.as_deref().map(str::trim) {
        None | Some("" | "router") => "router",
        Some("nginx") if state.has_nginx() => "nginx",
        Some("nginx") => {
            return Err(ServiceError::Unprocessable(
                "this server has no nginx to give services to: start it with `slipway serve --nginx-config FILE \
                 --nginx-services DIR`, or leave 'provider' out for Slipway's own router"
                    .to_owned(),
            ));
        }
        Some(other) => {
            return Err(ServiceError::bad_request(format!(
                "'provider' is '{other}'; it must be 'router' (Slipway's, the default) or 'nginx'"
            )));
        }
    };
    let created = state
        .store()
        .create_service(found.id, name, &listen.to_string(), provider, Some(&caller.user.name))
        .await
        .map_err(|error| match error {
            store::StoreError::Conflict { .. } => ServiceError::Conflict(format!(
                "environment '{}' has a service named '{name}' already, or another service listens on {listen}",
                found.name
            )),
            other => other.into(),
        })?;
    crate::audit::record(
        state,
        caller,
        "service.create",
        format!("{}/{}", found.name, created.name),
        serde_json::json!({ "listen": created.listen, "provider": created.provider }),
    )
    .await;
    reload(state).await;
    Ok(service(state, &created, &found.name))
}

/// Deletes a service; its router stops (admin; audited).
///
/// # Errors
/// When the caller is no admin or there is no such service.
pub async fn delete(state: &AppState, caller: &Caller, environment_name: &str, name: &str) -> Result<(), ServiceError> {
    caller.require(UserRole::Admin)?;
    let (found, item) = find(state, environment_name, name).await?;
    state.store().delete_service(item.id).await?;
    crate::audit::record(
        state,
        caller,
        "service.delete",
        format!("{}/{}", found.name, item.name),
        serde_json::json!({}),
    )
    .await;
    reload(state).await;
    Ok(())
}

async fn change(
    state: &AppState,
    caller: &Caller,
    environment_name: &str,
    name: &str,
    action: &str,
    make: impl FnOnce(&store::Service) -> Result<(Vec<(String, String, u32)>, Vec<String>), ServiceError>,
) -> Result<api::Service, ServiceError> {
    caller.require(UserRole::Contributor)?;
    let (found, item) = find(state, environment_name, name).await?;
    let (set, remove) = make(&item)?;
    let mut after: Vec<(String, String, u32)> = item
        .slots
        .iter()
        .filter(|slot| !remove.contains(&slot.name) && !set.iter().any(|(name, _, _)| *name == slot.name))
        .map(|slot| (slot.name.clone(), slot.upstream.clone(), slot.weight))
        .collect();
    after.extend(set.iter().cloned());
    check_slots(&item.name, &after)?;
    let updated = state.store().set_slots(item.id, &set, &remove).await?;
    let details = serde_json::json!({
        "slots": updated.slots.iter().map(|slot| serde_json::json!({"name": slot.name, "upstream": slot.upstream, "weight": slot.weight})).collect::<Vec<_>>(),
    });
    crate::audit::record(state, caller, action, format!("{}/{}", found.name, item.name), details).await;
    reload(state).await;
    Ok(service(state, &updated, &found.name))
}

/// Adds or replaces a slot (contributor; audited).
///
/// # Errors
/// When the caller may not, there is no such service, or the slot is not valid.
pub async fn set_slot(
    state: &AppState,
    caller: &Caller,
    environment_name: &str,
    name: &str,
    slot: &str,
    body: &api::SetSlot,
) -> Result<api::Service, ServiceError> {
    let slot = slot.trim().to_owned();
    let upstream = body.upstream.trim().to_owned();
    let weight = body.weight;
    change(state, caller, environment_name, name, "service.slot.set", move |_| {
        Ok((vec![(slot, upstream, weight)], Vec::new()))
    })
    .await
}

/// Removes a slot (contributor; audited).
///
/// # Errors
/// When the caller may not, or there is no such service or slot.
pub async fn delete_slot(
    state: &AppState,
    caller: &Caller,
    environment_name: &str,
    name: &str,
    slot: &str,
) -> Result<api::Service, ServiceError> {
    change(state, caller, environment_name, name, "service.slot.delete", |item| {
        let found = item
            .slots
            .iter()
            .find(|known| known.name.eq_ignore_ascii_case(slot))
            .ok_or_else(|| ServiceError::NotFound(format!("service '{}' has no slot named '{slot}'", item.name)))?;
        Ok((Vec::new(), vec![found.name.clone()]))
    })
    .await
}

/// Sets the weights of some slots; the others keep theirs (contributor; audited).
///
/// # Errors
/// When the caller may not, or a slot named does not exist.
pub async fn set_traffic(
    state: &AppState,
    caller: &Caller,
    environment_name: &str,
    name: &str,
    body: &api::SetTraffic,
) -> Result<api::Service, ServiceError> {
    if body.weights.is_empty() {
        return Err(ServiceError::bad_request("'weights' names no slot; give the weights as {\"slot\": N}"));
    }
    change(state, caller, environment_name, name, "service.traffic", |item| {
        let mut set = Vec::new();
        for (slot, weight) in &body.weights {
            let found =
                item.slots.iter().find(|known| known.name.eq_ignore_ascii_case(slot)).ok_or_else(|| {
                    ServiceError::NotFound(format!("service '{}' has no slot named '{slot}'", item.name))
                })?;
            set.push((found.name.clone(), found.upstream.clone(), *weight));
        }
        Ok((set, Vec::new()))
    })
    .await
}

/// Swaps two slots' versions: each keeps its name and weight and takes the other's upstream
/// (contributor; audited).
///
/// # Errors
/// When the caller may not, or a slot does not exist.
pub async fn swap(
    state: &AppState,
    caller: &Caller,
    environment_name: &str,
    name: &str,
    body: &api::SwapSlots,
) -> Result<api::Service, ServiceError> {
    change(state, caller, environment_name, name, "service.swap", |item| {
        let slot = |wanted: &str| {
            item.slots
                .iter()
                .find(|known| known.name.eq_ignore_ascii_case(wanted))
                .ok_or_else(|| ServiceError::NotFound(format!("service '{}' has no slot named '{wanted}'", item.name)))
        };
        let (first, second) = (slot(&body.slots[0])?, slot(&body.slots[1])?);
        if first.name == second.name {
            return Err(ServiceError::bad_request("a swap needs two different slots"));
        }
        Ok((
            vec![
                (first.name.clone(), second.upstream.clone(), first.weight),
                (second.name.clone(), first.upstream.clone(), second.weight),
            ],
            Vec::new(),
        ))
    })
    .await
}

/// Every router's metrics in Prometheus's text format (reader).
///
/// # Errors
/// When the caller may not read.
pub fn metrics_text(state: &AppState, caller: &Caller) -> Result<String, ServiceError> {
    caller.require(UserRole::Reader)?;
    Ok(state.routers().map(|routers| routers.metrics().text()).unwrap_or_default())
}

/// An analysis run with its measurements (reader).
///
/// # Errors
/// When the caller may not, or there is no such run.
pub async fn analysis_run(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> Result<slipway_events::delivery::AnalysisState, ServiceError> {
    caller.require(UserRole::Reader)?;
    let run = state.store().analysis_run(store::AnalysisRunId(id)).await.map_err(|error| {
        if error.is_not_found() { ServiceError::NotFound(format!("no analysis run {id}")) } else { error.into() }
    })?;
    Ok(slipway_delivery::room::analysis_state(&run))
}

/// A person decides an inconclusive analysis run: it passes or fails, and the step waiting on it
/// goes on (contributor; audited). Argo pauses a rollout on an inconclusive analysis for this.
///
/// # Errors
/// When the caller may not, there is no such run, or it is not inconclusive.
pub async fn decide_analysis(
    state: &AppState,
    caller: &Caller,
    id: i64,
    pass: bool,
    comment: Option<&str>,
) -> Result<slipway_events::delivery::AnalysisState, ServiceError> {
    caller.require(UserRole::Contributor)?;
    let run = state.store().analysis_run(store::AnalysisRunId(id)).await.map_err(|error| {
        if error.is_not_found() { ServiceError::NotFound(format!("no analysis run {id}")) } else { error.into() }
    })?;
    let (phase, verb) = if pass { ("Successful", "passed") } else { ("Failed", "failed") };
    let comment = comment.map(str::trim).filter(|comment| !comment.is_empty());
    let message = format!(
        "inconclusive{}; {verb} by {}{}",
        run.message.as_deref().map(|message| format!(" ({message})")).unwrap_or_default(),
        caller.user.name,
        comment.map(|comment| format!(": {comment}")).unwrap_or_default()
    );
    if !state.store().decide_analysis_run(run.id, phase, &message).await? {
        return Err(ServiceError::Conflict(format!(
            "analysis run {id} is {}, not inconclusive: only an inconclusive run waits for a person's decision",
            run.phase
        )));
    }
    crate::audit::record(
        state,
        caller,
        "analysis.decide",
        format!("analysis run {id}"),
        serde_json::json!({"decision": if pass { "pass" } else { "fail" }, "comment": comment}),
    )
    .await;
    let decided = state.store().analysis_run(run.id).await?;
    Ok(slipway_delivery::room::analysis_state(&decided))
}
