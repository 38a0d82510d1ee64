//! The server's in-process agents (`local-N`, holding leases as `local:N`): agents like the
//! remote ones, leasing from the store's queue with their capabilities and running what they
//! lease with the agent's runner ([`slipway_agent::runner::run_job`]); only their reports go to
//! the store directly instead of over HTTP, and their artifact store is the server's own. Each
//! job is confined (Linux Landlock, see [`slipway_agent::confine`]) away from the data
//! directory but for its own run's directory and the cache, unless the server was told
//! otherwise ([`LocalJobs::Unconfined`]); where the machine cannot confine jobs, there are no
//! in-process agents.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use slipway_agent::runner::{AgentIdentity, JobPlace, Uplink, UplinkError};
use slipway_events::TaskResult;
use slipway_protocol::{ArtifactManifest, Chunk, Completion, HeartbeatReply};
use slipway_runtime::CancelToken;
use slipway_runtime::artifacts::ArtifactStore;
use slipway_store::{AgentState, LeaseRequest, LeaseToken, NewAgent, RunId, Store, StoreError};
use tokio::sync::watch;

use crate::orchestrator::{EngineConfig, LOCAL_POOL, LocalJobs, Shared, run_directory};
use crate::{LogFailure as _, agents};

/// The server's offline OSV database in the data directory (kept by `slipway-service`'s `osv`):
/// in-process jobs read it in place, as `SlipwayVulnScan`'s `SLIPWAY_OSV_DB`, instead of a copy
/// in a tools directory.
pub const OSV_DIRECTORY: &str = "osv";

/// The variable `SlipwayVulnScan` takes its database from when no input names one.
const OSV_VARIABLE: &str = "SLIPWAY_OSV_DB";

/// The server's OSV database as its version's own directory (so that an import landing while a
/// job runs does not change what the job reads), when there is one.
fn server_osv_database(data_dir: &std::path::Path) -> Option<PathBuf> {
    let directory = std::fs::canonicalize(data_dir.join(OSV_DIRECTORY)).ok()?;
    directory.join("slipway-osv.json").is_file().then_some(directory)
}

/// What the server says when it runs no in-process agent because jobs cannot be confined.
pub const LOCAL_AGENTS_OFF: &str = "in-process agents are off: their jobs could read the server's data directory; \
     run `slipway agent` as another user on this or another machine, or pass --unconfined-local-agents if every pipeline here is trusted";

/// Whether this machine can confine in-process agents' jobs.
///
/// # Errors
/// Why not.
pub async fn confinable() -> Result<(), slipway_agent::confine::ConfineError> {
    tokio::task::spawn_blocking(slipway_agent::confine::Confinement::check_available)
        .await
        .unwrap_or_else(|error| Err(slipway_agent::confine::ConfineError::Unavailable(error.to_string())))
}

/// An in-process agent as registered in the store.
#[derive(Clone, Debug)]
pub(crate) struct LocalAgent {
    pub(crate) id: slipway_store::AgentId,
    name: String,
    capabilities: BTreeMap<String, String>,
}

/// Registers (or updates) the in-process agents `local-0` to `local-N-1` so that they show with
/// the remote ones and count for the jobs' "no agent can run this" check.
pub(crate) async fn register(store: &Store, config: &EngineConfig) -> Result<Vec<LocalAgent>, StoreError> {
    if config.workers == 0 {
        return Ok(Vec::new());
    }
    if config.local_jobs == LocalJobs::Confined
        && let Err(error) = confinable().await
    {
        tracing::error!(%error, "{LOCAL_AGENTS_OFF}");
        return Ok(Vec::new());
    }
    let existing: HashMap<String, slipway_store::Agent> =
        store.list_agents().await?.into_iter().map(|agent| (agent.name.clone(), agent)).collect();
    let base = {
        let extra = config.local_capabilities.clone();
        tokio::task::spawn_blocking(move || slipway_agent::capabilities::detect("local", &extra))
            .await
            .unwrap_or_default()
    };
    let mut registered = Vec::new();
    for slot in 0..config.workers {
        let name = format!("{}{slot}", agents::LOCAL_AGENT_PREFIX);
        let mut capabilities = base.clone();
        capabilities.insert(slipway_protocol::capability::NAME.to_owned(), name.clone());
        let version = slipway_protocol::SOFTWARE_VERSION;
        let agent = match existing.get(&name) {
            Some(agent) => store.update_agent(agent.id, &capabilities, version).await?,
            None => {
                let token = store.create_registration_token(Some("slipway serve"), None).await?;
                let new = NewAgent {
                    name: name.clone(),
                    pool: LOCAL_POOL.to_owned(),
                    capabilities: capabilities.clone(),
                    version: version.to_owned(),
                };
                match store.register_agent(&token.secret, &new).await? {
                    Some(issued) => issued.item,
                    None => continue,
                }
            }
        };
        let agent = store.agent_seen(agent.id, AgentState::Idle).await?;
        registered.push(LocalAgent { id: agent.id, name, capabilities: agent.capabilities });
    }
    Ok(registered)
}

/// One in-process agent: leases jobs of its pool and runs them until the engine stops.
pub(crate) async fn run(shared: Arc<Shared>, slot: usize, agent: LocalAgent, mut stop: watch::Receiver<bool>) {
    let holder = agents::LeaseHolder::Local(slot).to_string();
    let request = LeaseRequest {
        holder,
        pool: LOCAL_POOL.to_owned(),
        capabilities: agent.capabilities.clone(),
        duration: shared.config.lease_duration,
    };
    let identity =
        AgentIdentity { name: agent.name.clone(), id: agent.id.get(), work_folder: shared.config.data_dir.clone() };
    loop {
        if *stop.borrow() {
            return;
        }
        let notified = shared.hub.work.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        match shared.store.lease_job(&request).await {
            Ok(Some(lease)) => {
                run_local(&shared, &identity, lease).await;
                shared.wake.notify_one();
            }
            Ok(None) | Err(_) => {
                tokio::select! {
                    () = notified => {}
                    () = tokio::time::sleep(shared.config.poll_interval) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }
}

/// Runs a job an in-process agent leased, with the same runner as remote agents.
async fn run_local(shared: &Arc<Shared>, identity: &AgentIdentity, lease: slipway_store::Lease) {
    let store = &shared.store;
    let timing = shared.config.timing();
    let mut message = match agents::job_message(store, &lease, timing).await {
        Ok(message) => message,
        Err(error) => {
            complete_failed(store, &lease, &error.to_string()).await.log_failure("failing a job that could not start");
            return;
        }
    };
    let run = lease.job.run;
    let run_dir = run_directory(&shared.config.data_dir, run);
    let data_dir = &shared.config.data_dir;
    // The server's OSV database, read in place (read-only) unless the pipeline names its own.
    let osv = {
        let data_dir = data_dir.clone();
        tokio::task::spawn_blocking(move || server_osv_database(&data_dir)).await.ok().flatten()
    };
    if let Some(osv) = &osv
        && !message.work.variables.iter().any(|variable| variable.name.eq_ignore_ascii_case(OSV_VARIABLE))
    {
        message.work.variables.push(slipway_protocol::JobVariable {
            name: OSV_VARIABLE.to_owned(),
            value: osv.display().to_string(),
            secret: false,
            readonly: true,
        });
    }
    let cache_dir = data_dir.join("cache");
    let temp_dir = run_dir.join("tmp");
    // The output of the slot processes jobs start (they outlive the jobs and their runs).
    let slot_logs = data_dir.join("slots");
    if let Err(error) = tokio::fs::create_dir_all(&slot_logs).await {
        tracing::warn!(%error, "could not make the directory of slot processes' logs");
    }
    let (confinement, environment) = match shared.config.local_jobs {
        LocalJobs::Unconfined => (None, None),
        LocalJobs::Confined => {
            // The job may use its run's directory and the cache store; nothing else of the data
            // directory. Its temporary files go in the run's directory (the data directory's
            // parents are closed to new entries), and the server's own settings are not passed on.
            let open = [run_dir.clone(), cache_dir.clone(), temp_dir.clone(), slot_logs.clone()];
            let read_only: Vec<PathBuf> = osv.iter().cloned().collect();
            let made = {
                let data_dir = data_dir.clone();
                tokio::task::spawn_blocking(move || {
                    slipway_agent::confine::Confinement::new(&data_dir, &open)
                        .map(|confinement| confinement.with_read_only(read_only))
                })
                .await
                .map_err(|error| error.to_string())
                .and_then(|made| made.map_err(|error| error.to_string()))
            };
            match made {
                Ok(confinement) => {
                    let mut environment: Vec<(String, String)> =
                        std::env::vars().filter(|(name, _)| !name.starts_with("SLIPWAY_")).collect();
                    environment.retain(|(name, _)| name != "TMPDIR");
                    environment.push(("TMPDIR".to_owned(), temp_dir.display().to_string()));
                    (Some(confinement), Some(environment))
                }
                Err(error) => {
                    complete_failed(store, &lease, &error)
                        .await
                        .log_failure("failing a job that could not be confined");
                    return;
                }
            }
        }
    };
    let place = JobPlace {
        run_dir: run_dir.join("work"),
        source_dir: run_dir.join("source"),
        artifacts_dir: agents::run_artifact_dir(data_dir, run),
        cache_dir,
        minute: Duration::from_secs(60),
        confinement,
        environment,
        slots: Some((Arc::clone(&shared.slots), slot_logs)),
    };
    let cancel = CancelToken::new();
    shared.local_jobs().entry(run).or_default().push((lease.job.id, cancel.clone()));
    if store.run(run).await.is_ok_and(|run| run.cancel_requested) {
        cancel.cancel();
    }
    let uplink = Arc::new(LocalUplink {
        store: store.clone(),
        handle: tokio::runtime::Handle::current(),
        lease: lease.token.clone(),
        run,
        duration: timing.lease_duration,
        data_dir: shared.config.data_dir.clone(),
        delivery: Arc::clone(&shared.config.delivery),
    });
    let identity = identity.clone();
    let job = lease.job.id;
    let task_cancel = cancel.clone();
    let _ = tokio::task::spawn_blocking(move || {
        slipway_agent::runner::run_job(&message, &place, &identity, uplink, &task_cancel, &|| Ok(Vec::new()))
    })
    .await;
    let mut local = shared.local_jobs();
    if let Some(jobs) = local.get_mut(&run) {
        jobs.retain(|(id, _)| *id != job);
        if jobs.is_empty() {
            local.remove(&run);
        }
    }
}

/// Fails a leased job that could not be started, with the reason in its log.
async fn complete_failed(store: &Store, lease: &slipway_store::Lease, reason: &str) -> Result<(), StoreError> {
    tracing::warn!(job = lease.job.id.get(), reason, "an in-process job could not start");
    store.append_log_lines(lease.job.id, &[slipway_events::LogKind::Error.line(reason)]).await?;
    store.complete_job(&lease.token, TaskResult::Failed, Some(reason)).await?;
    Ok(())
}

/// The reports of a job an in-process agent runs, written to the store directly.
struct LocalUplink {
    store: Store,
    handle: tokio::runtime::Handle,
    lease: LeaseToken,
    run: RunId,
    duration: Duration,
    data_dir: PathBuf,
    delivery: Arc<dyn crate::hooks::DeliveryOperator>,
}

fn uplink_error(error: StoreError) -> UplinkError {
    if error.is_lease_lost() {
        UplinkError::LeaseLost(error.to_string())
    } else if matches!(error, StoreError::Database(_)) {
        UplinkError::Transient(error.to_string())
    } else {
        UplinkError::Refused(error.to_string())
    }
}

impl Uplink for LocalUplink {
    fn heartbeat(&self) -> Result<HeartbeatReply, UplinkError> {
        let beat = self.handle.block_on(self.store.renew_lease(&self.lease, self.duration)).map_err(uplink_error)?;
        Ok(HeartbeatReply {
            lease_remaining_ms: agents::millis(self.duration),
            cancel_requested: beat.cancel_requested,
        })
    }

    fn send_chunk(&self, chunk: &Chunk) -> Result<(), UplinkError> {
        self.handle
            .block_on(agents::store_chunk(&self.store, &self.lease, self.run, chunk.clone()))
            .map(|_| ())
            .map_err(uplink_error)
    }

    fn shares_artifact_store(&self) -> bool {
        true
    }

    fn download_blob(&self, _digest: &str, _store: &ArtifactStore) -> Result<(), UplinkError> {
        Err(UplinkError::Refused("in-process agents share the server's artifact store".into()))
    }

    fn missing_blobs(&self, _digests: &[String]) -> Result<Vec<String>, UplinkError> {
        Ok(Vec::new())
    }

    fn upload_blob(&self, _digest: &str, _store: &ArtifactStore) -> Result<(), UplinkError> {
        Ok(())
    }

    fn publish_artifact(&self, _manifest: &ArtifactManifest) -> Result<(), UplinkError> {
        // The run's local artifact store is the server's: what the job published there is recorded
        // and kept in the blob store.
        let root = agents::run_artifact_dir(&self.data_dir, self.run);
        let blobs = crate::blobs::BlobStore::new(&self.data_dir);
        self.handle
            .block_on(crate::artifacts::ingest_local_store(&self.store, &blobs, self.run, Some(self.lease.job), &root))
            .map(|_| ())
            .map_err(|error| UplinkError::Refused(error.to_string()))
    }

    fn complete(&self, completion: &Completion) -> Result<(), UplinkError> {
        self.handle.block_on(agents::complete(&self.store, &self.lease, completion)).map(|_| ()).map_err(uplink_error)
    }

    fn delivery(
        &self,
        request: &slipway_events::delivery::DeliveryRequest,
    ) -> Result<slipway_events::delivery::DeliveryAnswer, UplinkError> {
        let (store, lease, duration) = (self.store.clone(), self.lease.clone(), self.duration);
        let (delivery, request) = (Arc::clone(&self.delivery), request.clone());
        // On the runtime's threads, not this one: the job's thread is confined (Landlock), and
        // whatever threads the room's work would start from here (the blocking pool's, for files
        // and nginx) would be confined for good, and fail the server's own work later.
        let task = self.handle.spawn(async move {
            // Only the job that holds the lease may ask, as over HTTP.
            store.renew_lease(&lease, duration).await.map_err(uplink_error)?;
            let job = store.job(lease.job).await.map_err(uplink_error)?;
            delivery.operate(&job, request).await.map_err(|refusal| match refusal {
                crate::hooks::DeliveryRefusal::Store(error) => uplink_error(error),
                other => UplinkError::Refused(other.to_string()),
            })
        });
        self.handle
            .block_on(task)
            .map_err(|error| UplinkError::Transient(format!("the delivery room's task ended: {error}")))?
    }
}
