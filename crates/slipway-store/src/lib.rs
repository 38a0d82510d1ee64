//! Slipway's server storage: everything the server keeps, behind one interface with two backends.
//!
//! [`Store::open`] takes a path (or a `sqlite:` URL) for an embedded SQLite database, the default,
//! or a `postgres://` URL for PostgreSQL; both hold the same data with the same behaviour, and one
//! conformance test suite runs against both. The store keeps pipelines and their trigger state,
//! runs with their plan, jobs and the job queue that workers (in-process slots, remote agents)
//! lease jobs from, steps, logs, run events, artifact records, test results and coverage, variable
//! groups and secrets (encrypted at rest), users, tokens, sessions, agents and the audit log, and
//! applies retention.
//!
//! Durability: every change is one transaction, committed before the call returns. SQLite runs in
//! WAL mode with `synchronous = FULL` (every commit is fsync'd) through a single writer connection
//! (so writers queue instead of failing with "database is locked") and a pool of read-only
//! connections; PostgreSQL commits durably by default. The schema is created and upgraded by
//! migrations embedded in the crate and applied at open, each recorded with a checksum.
//!
//! State changes that must not happen twice are compare-and-set updates: a queued job is leased by
//! exactly one worker (`FOR UPDATE SKIP LOCKED` on PostgreSQL; the single writer on SQLite), a
//! lease is only renewed or completed by its holder, a trigger creates its run in the same
//! transaction that records it, and a log chunk sent twice is stored once. Times come from the
//! store's [`Clock`], not the database server.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use slipway_events::{Coverage, Event, TaskResult, TestRun};
use slipway_plan::Plan;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

mod backend;
mod clock;
mod crypto;
mod error;
mod migrations;
mod model;

pub use clock::{Clock, ManualClock, SystemClock};
pub use crypto::SecretKey;
pub use error::{Result, StoreError};
pub use model::*;

/// The name of the SQLite database file that [`Store::open`] uses inside a directory.
pub const SQLITE_FILE_NAME: &str = "slipway.db";

/// The schema version this build migrates a database to (its newest migration).
pub const SCHEMA_VERSION: i64 = 6;

/// How many lines [`Store::read_whole_log`] reads at a time.
pub const WHOLE_LOG_PAGE: i64 = 10_000;

/// How to open a store.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// The key secret values are encrypted with. It must stay the same for the life of the data:
    /// opening a store with another key fails with [`StoreError::WrongSecretKey`].
    pub secret_key: SecretKey,
    /// Where times come from.
    pub clock: Arc<dyn Clock>,
    /// Connections to PostgreSQL, or read-only connections to SQLite (which also has one writer).
    pub max_connections: u32,
    /// How long a call waits for a free connection (and SQLite for a lock held by another process).
    pub acquire_timeout: Duration,
}

impl StoreOptions {
    /// Options with this key, the system clock, 8 connections and a 30-second wait.
    #[must_use]
    pub fn new(secret_key: SecretKey) -> Self {
        Self { secret_key, clock: Arc::new(SystemClock), max_connections: 8, acquire_timeout: Duration::from_secs(30) }
    }

    /// The same options with another clock.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

/// What the backends share: the key and the clock.
#[derive(Debug)]
pub(crate) struct Context {
    key: SecretKey,
    clock: Arc<dyn Clock>,
}

impl Context {
    fn now(&self) -> Timestamp {
        self.clock.now()
    }
}

/// The connections of one backend: one pool for writing and one for reading (the same pool on
/// PostgreSQL).
#[derive(Debug)]
pub(crate) struct Pools<D: sqlx::Database> {
    writer: sqlx::Pool<D>,
    reader: sqlx::Pool<D>,
}

#[derive(Debug)]
enum Backend {
    Sqlite(Pools<sqlx::Sqlite>),
    Postgres(Pools<sqlx::Postgres>),
}

#[derive(Debug)]
struct Inner {
    backend: Backend,
    context: Context,
}

/// Calls backend function `module::function` (of `src/backend/module.rs`) on the store's backend,
/// with its pools, its context and the arguments.
macro_rules! dispatch {
    ($store:ident, $module:ident :: $function:ident ( $($argument:expr),* $(,)? )) => {
        match &$store.inner.backend {
            Backend::Sqlite(pools) => {
                backend::sqlite::$module::$function(pools, &$store.inner.context, $($argument),*).await
            }
            Backend::Postgres(pools) => {
                backend::postgres::$module::$function(pools, &$store.inner.context, $($argument),*).await
            }
        }
    };
}

/// Which database a location names.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Location {
    Sqlite(PathBuf),
    Postgres(String),
}

fn parse_location(location: &str) -> Result<Location> {
    let open_error = |reason: &str| StoreError::Open { location: location.to_owned(), reason: reason.to_owned() };
    if location.starts_with("postgres://") || location.starts_with("postgresql://") {
        return Ok(Location::Postgres(location.to_owned()));
    }
    let path = location.strip_prefix("sqlite://").or_else(|| location.strip_prefix("sqlite:")).unwrap_or(location);
    if path.is_empty() || path == ":memory:" || path.contains("mode=memory") {
        return Err(open_error("a file or directory is needed (in-memory databases are not kept)"));
    }
    if path.contains('?') {
        return Err(open_error("SQLite options in the URL are not supported: the store sets its own"));
    }
    let path = Path::new(path);
    if path.is_dir() {
        return Ok(Location::Sqlite(path.join(SQLITE_FILE_NAME)));
    }
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() && !parent.is_dir() => {
            Err(open_error("its directory does not exist"))
        }
        _ => Ok(Location::Sqlite(path.to_owned())),
    }
}

/// A location with any password in it replaced, for error messages.
fn redacted(location: &str) -> String {
    match (location.find("://"), location.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let user_info = &location[scheme_end + 3..at];
            let user = user_info.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &location[..scheme_end + 3], &location[at..])
        }
        _ => location.to_owned(),
    }
}

/// The server's storage. Cheap to clone: clones share the connections.
#[derive(Clone, Debug)]
pub struct Store {
    inner: Arc<Inner>,
}

impl Store {
    /// Opens (creating if needed) the store at `location` and brings its schema up to date:
    /// a `postgres://` or `postgresql://` URL for PostgreSQL; otherwise a SQLite database file, a
    /// `sqlite:` URL of one, or an existing directory to keep [`SQLITE_FILE_NAME`] in.
    ///
    /// # Errors
    /// When the location is unusable, the database cannot be reached or migrated (such as when a
    /// newer Slipway migrated it), or the secret key is not the one the store was created with.
    pub async fn open(location: &str, options: StoreOptions) -> Result<Self> {
        let context = Context { key: options.secret_key.clone(), clock: options.clock.clone() };
        let open_error = |reason: String| StoreError::Open { location: redacted(location), reason };
        let backend = match parse_location(location)? {
            Location::Sqlite(path) => {
                let connect = SqliteConnectOptions::new()
                    .filename(&path)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
                    .foreign_keys(true)
                    .busy_timeout(options.acquire_timeout);
                let writer = SqlitePoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .acquire_timeout(options.acquire_timeout)
                    .connect_with(connect.clone().create_if_missing(true))
                    .await
                    .map_err(|error| open_error(error.to_string()))?;
                backend::sqlite::schema::migrate(&writer).await?;
                let reader = SqlitePoolOptions::new()
                    .max_connections(options.max_connections.max(1))
                    .acquire_timeout(options.acquire_timeout)
                    .connect_with(connect.read_only(true))
                    .await
                    .map_err(|error| open_error(error.to_string()))?;
                Backend::Sqlite(Pools { writer, reader })
            }
            Location::Postgres(url) => {
                let connect = PgConnectOptions::from_str(&url)
                    .map_err(|error| open_error(format!("not a PostgreSQL URL: {error}")))?;
                let pool = PgPoolOptions::new()
                    .max_connections(options.max_connections.max(2))
                    .acquire_timeout(options.acquire_timeout)
                    .connect_with(connect)
                    .await
                    .map_err(|error| open_error(error.to_string()))?;
                backend::postgres::schema::migrate(&pool).await?;
                Backend::Postgres(Pools { writer: pool.clone(), reader: pool })
            }
        };
        let store = Self { inner: Arc::new(Inner { backend, context }) };
        dispatch!(store, schema::check_secret_key())?;
        Ok(store)
    }

    /// `sqlite` or `postgres`.
    #[must_use]
    pub fn backend_name(&self) -> &'static str {
        match self.inner.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// The current time on the store's clock.
    #[must_use]
    pub fn now(&self) -> Timestamp {
        self.inner.context.now()
    }

    /// The newest migration applied to the database.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn schema_version(&self) -> Result<i64> {
        dispatch!(self, schema::schema_version())
    }

    /// Waits for calls in progress and closes every connection (on SQLite, the last one to close
    /// checkpoints the WAL). Other clones of the store cannot be used afterwards. Dropping the
    /// store without closing loses nothing either: every change was committed when its call returned.
    pub async fn close(&self) {
        match &self.inner.backend {
            Backend::Sqlite(pools) => {
                pools.reader.close().await;
                pools.writer.close().await;
            }
            Backend::Postgres(pools) => pools.writer.close().await,
        }
    }

    // ----- pipelines -----

    /// Creates a pipeline.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the name is taken; [`StoreError::Invalid`] for an empty name.
    pub async fn create_pipeline(&self, settings: &PipelineSettings) -> Result<Pipeline> {
        dispatch!(self, pipelines::create_pipeline(settings))
    }

    /// Changes a pipeline's settings (its name too).
    ///
    /// # Errors
    /// [`StoreError::NotFound`], or [`StoreError::Conflict`] when the new name is taken.
    pub async fn update_pipeline(&self, pipeline: PipelineId, settings: &PipelineSettings) -> Result<Pipeline> {
        dispatch!(self, pipelines::update_pipeline(pipeline, settings))
    }

    /// Records what a pipeline's triggers found when they read its repository now: `None` when
    /// all went well, else what went wrong.
    ///
    /// # Errors
    /// When the database cannot be written.
    pub async fn record_trigger_check(&self, pipeline: PipelineId, error: Option<&str>) -> Result<()> {
        dispatch!(self, pipelines::record_trigger_check(pipeline, error))
    }

    /// A pipeline by id.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is none.
    pub async fn pipeline(&self, pipeline: PipelineId) -> Result<Pipeline> {
        dispatch!(self, pipelines::pipeline(pipeline))
    }

    /// A pipeline by name.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn pipeline_by_name(&self, name: &str) -> Result<Option<Pipeline>> {
        dispatch!(self, pipelines::pipeline_by_name(name))
    }

    /// Every pipeline, by name.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn list_pipelines(&self) -> Result<Vec<Pipeline>> {
        dispatch!(self, pipelines::list_pipelines())
    }

    /// Deletes a pipeline with all its runs and everything they hold.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is none.
    pub async fn delete_pipeline(&self, pipeline: PipelineId) -> Result<RetentionReport> {
        dispatch!(self, pipelines::delete_pipeline(pipeline))
    }

    /// The last commit seen on each branch of a pipeline.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn branch_heads(&self, pipeline: PipelineId) -> Result<Vec<BranchHead>> {
        dispatch!(self, pipelines::branch_heads(pipeline))
    }

    /// Records the last commit seen on a branch without creating a run (such as when a pipeline
    /// is created, so that only later pushes trigger it). To trigger, use
    /// [`Store::create_triggered_run`] with [`TriggerGuard::BranchHead`].
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown pipeline.
    pub async fn set_branch_head(&self, pipeline: PipelineId, branch: &str, commit: &str) -> Result<()> {
        dispatch!(self, pipelines::set_branch_head(pipeline, branch, commit))
    }

    /// When each schedule of a pipeline last fired.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn schedule_fires(&self, pipeline: PipelineId) -> Result<Vec<ScheduleFire>> {
        dispatch!(self, pipelines::schedule_fires(pipeline))
    }

    /// Records that a schedule fired for `fire_time` without creating a run (the schedule decided
    /// not to run: nothing changed, or a scheduled run is in progress), so that the same fire time
    /// is not decided again. Whether it was recorded: `false` when it already fired for that time
    /// or a later one.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown pipeline.
    pub async fn record_schedule_fire(
        &self,
        pipeline: PipelineId,
        schedule: &str,
        fire_time: Timestamp,
    ) -> Result<bool> {
        dispatch!(self, pipelines::record_schedule_fire(pipeline, schedule, fire_time))
    }

    /// Sets (or with `None` removes) the secret that webhook deliveries for a pipeline must prove;
    /// it is stored encrypted.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown pipeline; [`StoreError::Invalid`] for an empty secret.
    pub async fn set_webhook_secret(&self, pipeline: PipelineId, secret: Option<&str>) -> Result<()> {
        dispatch!(self, pipelines::set_webhook_secret(pipeline, secret))
    }

    /// A pipeline's webhook secret, decrypted, if one is set.
    ///
    /// # Errors
    /// [`StoreError::Decryption`] when the stored secret is damaged.
    pub async fn webhook_secret(&self, pipeline: PipelineId) -> Result<Option<String>> {
        dispatch!(self, pipelines::webhook_secret(pipeline))
    }

    /// The next `$(Rev:r)` for a run-number prefix (the run number with `$(Rev:r)` left out):
    /// 1 the first time, then 2, 3, ... Atomic: concurrent callers get different numbers.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown pipeline.
    pub async fn next_revision(&self, pipeline: PipelineId, prefix: &str) -> Result<i64> {
        dispatch!(self, pipelines::next_counter_value(pipeline, "revision", prefix, 1))
    }

    /// The `counter(prefix, seed)` values a run was given.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn run_counters(&self, run: RunId) -> Result<BTreeMap<String, i64>> {
        dispatch!(self, pipelines::run_counters(run))
    }

    /// Gives a run the next value of each of Azure's `counter(prefix, seed)` in `requests`, once:
    /// `seed` for a prefix its pipeline never used, one more than the pipeline's last value
    /// otherwise; a prefix the run was given a value for keeps it. Atomic; gives all the run's
    /// counter values.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown run.
    pub async fn allocate_run_counters(&self, run: RunId, requests: &[(String, i64)]) -> Result<BTreeMap<String, i64>> {
        dispatch!(self, pipelines::allocate_run_counters(run, requests))
    }

    // ----- pipeline variables -----

    /// Sets a pipeline variable; a secret one is encrypted.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown pipeline; [`StoreError::Invalid`] for an empty name.
    pub async fn set_pipeline_variable(
        &self,
        pipeline: PipelineId,
        name: &str,
        value: &str,
        is_secret: bool,
    ) -> Result<()> {
        dispatch!(self, variables::set_variable(VariableScope::Pipeline, pipeline.0, name, value, is_secret))
    }

    /// Deletes a pipeline variable; whether there was one.
    ///
    /// # Errors
    /// When the database cannot be written.
    pub async fn delete_pipeline_variable(&self, pipeline: PipelineId, name: &str) -> Result<bool> {
        dispatch!(self, variables::delete_variable(VariableScope::Pipeline, pipeline.0, name))
    }

    /// A pipeline's variables for the API: secret values left out.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn list_pipeline_variables(&self, pipeline: PipelineId) -> Result<Vec<ListedVariable>> {
        dispatch!(self, variables::list_variables(VariableScope::Pipeline, pipeline.0))
    }

    /// A pipeline's variables with their values, secrets decrypted, for a run.
    ///
    /// # Errors
    /// [`StoreError::Decryption`] when a stored secret is damaged.
    pub async fn pipeline_variable_values(&self, pipeline: PipelineId) -> Result<Vec<VariableValue>> {
        dispatch!(self, variables::variable_values(VariableScope::Pipeline, pipeline.0))
    }

    // ----- runs -----

    /// Creates a run (status `queued`) with a new, never reused id.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown pipeline or `retry_of`/`upstream_run` run.
    pub async fn create_run(&self, run: &NewRun) -> Result<Run> {
        let created: Option<Run> = dispatch!(self, runs::create_run(run, None))?;
        created.ok_or_else(|| StoreError::corrupt("a run without a trigger guard was not created"))
    }

    /// Creates a run for a trigger only if the guard holds, in the same transaction that records
    /// the trigger: `None` when the trigger was already handled (the branch head moved on, the
    /// schedule already fired for that time).
    ///
    /// # Errors
    /// As [`Store::create_run`].
    pub async fn create_triggered_run(&self, run: &NewRun, guard: &TriggerGuard) -> Result<Option<Run>> {
        dispatch!(self, runs::create_run(run, Some(guard)))
    }

    /// A run by id.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is none.
    pub async fn run(&self, run: RunId) -> Result<Run> {
        dispatch!(self, runs::run(run))
    }

    /// A run's plan, when it has one.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown run; [`StoreError::Corrupt`] when the stored plan
    /// cannot be read.
    pub async fn run_plan(&self, run: RunId) -> Result<Option<Plan>> {
        dispatch!(self, runs::run_plan(run))
    }

    /// Stores a run's plan (replacing any).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown run.
    pub async fn set_run_plan(&self, run: RunId, plan: &Plan) -> Result<()> {
        dispatch!(self, runs::set_run_plan(run, plan))
    }

    /// Changes a run's number (`build.updatebuildnumber`, or a format using `$(Build.BuildId)`).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown run.
    pub async fn set_run_number(&self, run: RunId, run_number: &str) -> Result<()> {
        dispatch!(self, runs::set_run_number(run, run_number))
    }

    /// Sets whether retention must keep a run.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown run.
    pub async fn set_run_keep(&self, run: RunId, keep: bool) -> Result<()> {
        dispatch!(self, runs::set_run_keep(run, keep))
    }

    /// Runs matching a filter, newest first; page with [`RunFilter::before`].
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<Run>> {
        dispatch!(self, runs::list_runs(filter))
    }

    /// The newest run of each pipeline that has one.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn latest_runs(&self) -> Result<Vec<Run>> {
        dispatch!(self, runs::latest_runs())
    }

    /// The newest run of a pipeline that succeeded (or succeeded with issues), on a branch if given.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn latest_successful_run(&self, pipeline: PipelineId, branch: Option<&str>) -> Result<Option<Run>> {
        dispatch!(self, runs::latest_successful_run(pipeline, branch))
    }

    /// Marks a run as running (its first job started); does nothing to a running run.
    ///
    /// # Errors
    /// [`StoreError::InvalidState`] for a completed run.
    pub async fn start_run(&self, run: RunId) -> Result<Run> {
        dispatch!(self, runs::start_run(run))
    }

    /// Completes a run with its result.
    ///
    /// # Errors
    /// [`StoreError::InvalidState`] when it already completed.
    pub async fn finish_run(&self, run: RunId, result: TaskResult) -> Result<Run> {
        dispatch!(self, runs::finish_run(run, result))
    }

    /// Asks a run to cancel: sets its flag (which lease holders see on their next heartbeat) and
    /// completes its pending and queued jobs as `Canceled`, in one transaction. Does nothing to a
    /// completed run.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown run.
    pub async fn request_cancel(&self, run: RunId) -> Result<Run> {
        dispatch!(self, runs::request_cancel(run))
    }

    /// Deletes a run and everything it holds, whatever retention says.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown run; [`StoreError::InvalidState`] for a run that has
    /// not completed.
    pub async fn delete_run(&self, run: RunId) -> Result<RetentionReport> {
        dispatch!(self, runs::delete_run(run))
    }

    /// Puts a completed run back in the queue to run these of its jobs again, as Azure's "re-run
    /// failed jobs" does, in one transaction: each job becomes `pending` with its result, message,
    /// lease, steps and output variables cleared, keeping its log (the new attempt's lines follow
    /// the earlier ones) and its attempt count (its next lease is the next attempt); the run
    /// becomes `queued` with no result and no cancel request. The run's other jobs keep their
    /// results and output variables, for the orchestrator to feed to the scheduler again. With
    /// no jobs named, the run is only put back in the queue (its jobs that never started, such as
    /// those of a run cancelled early, are started then).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown run or a job of another run;
    /// [`StoreError::InvalidState`] when the run or a job has not completed.
    pub async fn rerun_jobs(&self, run: RunId, jobs: &[JobId]) -> Result<Run> {
        dispatch!(self, runs::rerun_jobs(run, jobs))
    }

    // ----- jobs and the queue -----

    /// Adds jobs to a run, `queued` when [`NewJob::ready`], else `pending`.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when a job with the same key exists in the run.
    pub async fn add_jobs(&self, run: RunId, jobs: &[NewJob]) -> Result<Vec<Job>> {
        dispatch!(self, jobs::add_jobs(run, jobs))
    }

    /// Adds jobs to a run that are ready now, each with its spec (what any worker needs to run
    /// it, sealed with the store's key), queued in the same transaction, so that no worker can
    /// lease a job before its spec is there. Jobs of a run being cancelled end as cancelled.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when a job with the same key exists in the run.
    pub async fn add_ready_jobs(&self, run: RunId, jobs: &[(NewJob, Vec<u8>)]) -> Result<Vec<Job>> {
        dispatch!(self, jobs::add_ready_jobs(run, jobs))
    }

    /// Stores a pending (or queued) job's spec and queues it, in one transaction.
    ///
    /// # Errors
    /// [`StoreError::InvalidState`] for a running or completed job.
    pub async fn queue_job_with_spec(&self, job: JobId, spec: &[u8]) -> Result<Job> {
        dispatch!(self, jobs::queue_job_with_spec(job, spec))
    }

    /// A job's spec, decrypted, if it has one.
    ///
    /// # Errors
    /// [`StoreError::Decryption`] when the stored spec is damaged.
    pub async fn job_spec(&self, job: JobId) -> Result<Option<Vec<u8>>> {
        dispatch!(self, jobs::job_spec(job))
    }

    /// Every running (leased) job, by id.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn running_jobs(&self) -> Result<Vec<Job>> {
        dispatch!(self, jobs::running_jobs())
    }

    /// A job by id.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is none.
    pub async fn job(&self, job: JobId) -> Result<Job> {
        dispatch!(self, jobs::job(job))
    }

    /// A run's jobs, in the order they were added.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn jobs_of_run(&self, run: RunId) -> Result<Vec<Job>> {
        dispatch!(self, jobs::jobs_of_run(run))
    }

    /// Jobs waiting in the queue, oldest first, of one pool or all.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn queued_jobs(&self, pool: Option<&str>) -> Result<Vec<Job>> {
        dispatch!(self, jobs::queued_jobs(pool))
    }

    /// Puts a pending job in the queue (its dependencies finished).
    ///
    /// # Errors
    /// [`StoreError::InvalidState`] unless the job is pending (or already queued, which is fine).
    pub async fn queue_job(&self, job: JobId) -> Result<Job> {
        dispatch!(self, jobs::queue_job(job))
    }

    /// Completes a job that is not running (pending or queued): skipped, or cancelled before it ran.
    ///
    /// # Errors
    /// [`StoreError::InvalidState`] for a running or completed job.
    pub async fn finish_job_unleased(&self, job: JobId, result: TaskResult, message: Option<&str>) -> Result<Job> {
        dispatch!(self, jobs::finish_job_unleased(job, result, message))
    }

    /// Sets the message shown with a job (such as why it waits: no agent can take it).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown job.
    pub async fn set_job_message(&self, job: JobId, message: Option<&str>) -> Result<()> {
        dispatch!(self, jobs::set_job_message(job, message))
    }

    /// Leases the oldest queued job of the worker's pool whose demands its capabilities meet:
    /// the job becomes `running`, held by `request.holder` until the lease expires unless renewed.
    /// `None` when no job matches. A job is never leased to two workers at once.
    ///
    /// # Errors
    /// When the database cannot be used.
    pub async fn lease_job(&self, request: &LeaseRequest) -> Result<Option<Lease>> {
        dispatch!(self, queue::lease_job(request))
    }

    /// Renews a lease for `duration` from now (the worker's heartbeat), and tells whether the run
    /// was asked to cancel. A lease that expired but was not yet reclaimed can still be renewed.
    ///
    /// # Errors
    /// [`StoreError::LeaseLost`] when the caller no longer holds the lease: it must stop the job.
    pub async fn renew_lease(&self, lease: &LeaseToken, duration: Duration) -> Result<Heartbeat> {
        dispatch!(self, queue::renew_lease(lease, duration))
    }

    /// Completes a leased job with its result. Repeating the same completion (a retried request)
    /// returns the job unchanged.
    ///
    /// # Errors
    /// [`StoreError::LeaseLost`] when the caller does not hold the lease.
    pub async fn complete_job(&self, lease: &LeaseToken, result: TaskResult, message: Option<&str>) -> Result<Job> {
        dispatch!(self, queue::complete_job(lease, result, message))
    }

    /// Takes back leases (expired ones, or those of a holder that is gone) and, for each job,
    /// does what `decide` says: fail it with a reason (its unfinished steps too) or put it back in
    /// the queue. Each job is handled in its own transaction and only if its lease is still the
    /// one that was found, so a lease renewed meanwhile is left alone.
    ///
    /// # Errors
    /// When the database cannot be used.
    pub async fn reclaim_leases(
        &self,
        which: &Reclaim,
        decide: impl Fn(&Job) -> ReclaimAction + Send + Sync,
    ) -> Result<Vec<ReclaimedLease>> {
        dispatch!(self, queue::reclaim_leases(which, &decide))
    }

    /// Records a step of a leased job (insert or replace by its number).
    ///
    /// # Errors
    /// [`StoreError::LeaseLost`] when the caller does not hold the lease.
    pub async fn record_step(&self, lease: &LeaseToken, step: &Step) -> Result<()> {
        dispatch!(self, logs::record_step(lease, step))
    }

    /// A job's steps by number.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn steps_of_job(&self, job: JobId) -> Result<Vec<Step>> {
        dispatch!(self, logs::steps_of_job(job))
    }

    /// The steps of all jobs of a run, by job and number.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn steps_of_run(&self, run: RunId) -> Result<Vec<(JobId, Step)>> {
        dispatch!(self, logs::steps_of_run(run))
    }

    /// Sets output variables of a leased job (`isOutput=true`), replacing those of the same name;
    /// secret ones are encrypted.
    ///
    /// # Errors
    /// [`StoreError::LeaseLost`] when the caller does not hold the lease.
    pub async fn set_job_outputs(&self, lease: &LeaseToken, outputs: &[VariableValue]) -> Result<()> {
        dispatch!(self, variables::set_job_outputs(lease, outputs))
    }

    /// A job's output variables, secrets decrypted, for the jobs that depend on it.
    ///
    /// # Errors
    /// [`StoreError::Decryption`] when a stored secret is damaged.
    pub async fn job_output_values(&self, job: JobId) -> Result<Vec<VariableValue>> {
        dispatch!(self, variables::variable_values(VariableScope::Job, job.0))
    }

    /// A job's output variables for the API: secret values left out.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn list_job_outputs(&self, job: JobId) -> Result<Vec<ListedVariable>> {
        dispatch!(self, variables::list_variables(VariableScope::Job, job.0))
    }

    // ----- logs -----

    /// Appends a chunk of log lines sent by the lease holder. Chunks are numbered from 0 for each
    /// lease and must come in order; a chunk already stored (a retried upload) is not stored again.
    ///
    /// # Errors
    /// [`StoreError::LogChunkOutOfOrder`] when an earlier chunk is missing;
    /// [`StoreError::LogChunkMismatch`] when the chunk was stored with other lines;
    /// [`StoreError::LeaseLost`] when the caller does not hold the lease.
    pub async fn append_log_chunk(&self, lease: &LeaseToken, sequence: i64, lines: &[String]) -> Result<ChunkOutcome> {
        dispatch!(self, logs::append_log_chunk(lease, sequence, lines))
    }

    /// Stores what a lease holder sends about its job in one transaction: the chunk's log lines,
    /// its events (appended to the run's), its steps, test results and coverage. Chunks are
    /// numbered from 0 for each lease and must come in order; a chunk stored before (a retried
    /// upload, recognised by its number and lines) changes nothing.
    ///
    /// # Errors
    /// As [`Store::append_log_chunk`].
    pub async fn append_job_chunk(&self, lease: &LeaseToken, chunk: &JobChunk) -> Result<ChunkOutcome> {
        dispatch!(self, logs::append_job_chunk(lease, chunk))
    }

    /// Appends lines the server writes itself to a job's log, in any state of the job; returns the
    /// number of the first one.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown job.
    pub async fn append_log_lines(&self, job: JobId, lines: &[String]) -> Result<i64> {
        dispatch!(self, logs::append_log_lines(job, lines))
    }

    /// Up to `max_lines` lines of a job's log from line `from_line` (counting from 0), for live
    /// following: read again from [`LogSlice::next_line`].
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown job.
    pub async fn read_log(&self, job: JobId, from_line: i64, max_lines: i64) -> Result<LogSlice> {
        dispatch!(self, logs::read_log(job, from_line, max_lines))
    }

    /// A job's whole log as stored so far, one line per `\n`-ended line, read in pages of
    /// [`WHOLE_LOG_PAGE`] lines.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown job.
    pub async fn read_whole_log(&self, job: JobId) -> Result<String> {
        let mut text = String::new();
        let mut from = 0;
        loop {
            let slice = self.read_log(job, from, WHOLE_LOG_PAGE).await?;
            for line in &slice.lines {
                text.push_str(line);
                text.push('\n');
            }
            if slice.lines.is_empty() || slice.next_line <= from {
                return Ok(text);
            }
            from = slice.next_line;
        }
    }

    // ----- events -----

    /// Appends events to a run's record; returns the sequence number of the first (from 1).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown run.
    pub async fn append_events(&self, run: RunId, events: &[Event]) -> Result<i64> {
        dispatch!(self, logs::append_events(run, events))
    }

    /// Up to `limit` events of a run with a sequence number above `after` (0 for all), in order.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn read_events(&self, run: RunId, after: i64, limit: i64) -> Result<Vec<StoredEvent>> {
        dispatch!(self, logs::read_events(run, after, limit))
    }

    // ----- artifacts, test results, coverage -----

    /// Records an artifact of a run, replacing one of the same name (`artifact.upload` adding files).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown run or job.
    pub async fn record_artifact(&self, artifact: &NewArtifact) -> Result<Artifact> {
        dispatch!(self, artifacts::record_artifact(artifact))
    }

    /// A run's artifacts by name.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn artifacts_of_run(&self, run: RunId) -> Result<Vec<Artifact>> {
        dispatch!(self, artifacts::artifacts_of_run(run))
    }

    /// Whether any artifact references a blob.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn is_blob_referenced(&self, digest: &str) -> Result<bool> {
        dispatch!(self, artifacts::is_blob_referenced(digest))
    }

    /// Records test results a step published.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown run.
    pub async fn add_test_run(&self, run: RunId, job: &str, step: i64, results: &TestRun) -> Result<()> {
        dispatch!(self, artifacts::add_test_run(run, job, step, results))
    }

    /// A run's test results in the order they were published.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn test_runs(&self, run: RunId) -> Result<Vec<StoredTestRun>> {
        dispatch!(self, artifacts::test_runs(run))
    }

    /// The totals of a run's test results.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn test_totals(&self, run: RunId) -> Result<TestTotals> {
        dispatch!(self, artifacts::test_totals(run))
    }

    /// Records a coverage summary a step published.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown run.
    pub async fn add_coverage(&self, run: RunId, job: &str, step: i64, coverage: &Coverage) -> Result<()> {
        dispatch!(self, artifacts::add_coverage(run, job, step, coverage))
    }

    /// A run's coverage summaries in the order they were published.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn coverage_summaries(&self, run: RunId) -> Result<Vec<StoredCoverage>> {
        dispatch!(self, artifacts::coverage_summaries(run))
    }

    // ----- variable groups -----

    /// Creates an empty variable group.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the name is taken.
    pub async fn create_variable_group(&self, name: &str, description: &str) -> Result<VariableGroup> {
        dispatch!(self, variables::create_variable_group(name, description))
    }

    /// Renames a variable group or changes its description.
    ///
    /// # Errors
    /// [`StoreError::NotFound`]; [`StoreError::Conflict`] when the name is taken.
    pub async fn update_variable_group(&self, group: VariableGroupId, name: &str, description: &str) -> Result<()> {
        dispatch!(self, variables::update_variable_group(group, name, description))
    }

    /// Deletes a variable group with its variables; whether there was one.
    ///
    /// # Errors
    /// When the database cannot be written.
    pub async fn delete_variable_group(&self, group: VariableGroupId) -> Result<bool> {
        dispatch!(self, variables::delete_variable_group(group))
    }

    /// Every variable group with its variables, secret values left out.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn list_variable_groups(&self) -> Result<Vec<VariableGroup>> {
        dispatch!(self, variables::list_variable_groups())
    }

    /// A variable group by name with its variables, secret values left out.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn variable_group_by_name(&self, name: &str) -> Result<Option<VariableGroup>> {
        dispatch!(self, variables::variable_group_by_name(name))
    }

    /// Sets a variable of a group; a secret one is encrypted.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown group; [`StoreError::Invalid`] for an empty name.
    pub async fn set_group_variable(
        &self,
        group: VariableGroupId,
        name: &str,
        value: &str,
        is_secret: bool,
    ) -> Result<()> {
        dispatch!(self, variables::set_variable(VariableScope::Group, group.0, name, value, is_secret))
    }

    /// Deletes a variable of a group; whether there was one.
    ///
    /// # Errors
    /// When the database cannot be written.
    pub async fn delete_group_variable(&self, group: VariableGroupId, name: &str) -> Result<bool> {
        dispatch!(self, variables::delete_variable(VariableScope::Group, group.0, name))
    }

    /// A group's variables with their values, secrets decrypted, for a job that names the group.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown group; [`StoreError::Decryption`] for damaged data.
    pub async fn group_variable_values(&self, group_name: &str) -> Result<Vec<VariableValue>> {
        dispatch!(self, variables::group_variable_values(group_name))
    }

    // ----- users, tokens, sessions -----

    /// Creates a user.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the name is taken.
    pub async fn create_user(&self, name: &str, role: UserRole) -> Result<User> {
        dispatch!(self, auth::create_user(name, role))
    }

    /// A user by id.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is none.
    pub async fn user(&self, user: UserId) -> Result<User> {
        dispatch!(self, auth::user(user))
    }

    /// A user by name.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn user_by_name(&self, name: &str) -> Result<Option<User>> {
        dispatch!(self, auth::user_by_name(name))
    }

    /// Every user, by name.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn list_users(&self) -> Result<Vec<User>> {
        dispatch!(self, auth::list_users())
    }

    /// Changes a user's role.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown user.
    pub async fn set_user_role(&self, user: UserId, role: UserRole) -> Result<User> {
        dispatch!(self, auth::set_user_role(user, role))
    }

    /// Deletes a user with their tokens and sessions; whether there was one.
    ///
    /// # Errors
    /// When the database cannot be written.
    pub async fn delete_user(&self, user: UserId) -> Result<bool> {
        dispatch!(self, auth::delete_user(user))
    }

    /// Creates a personal access token; its secret is returned this once and stored only hashed.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown user.
    pub async fn create_access_token(
        &self,
        user: UserId,
        name: &str,
        expires_at: Option<Timestamp>,
    ) -> Result<Issued<AccessToken>> {
        dispatch!(self, auth::create_access_token(user, name, expires_at))
    }

    /// A user's tokens (never their secrets).
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn list_access_tokens(&self, user: UserId) -> Result<Vec<AccessToken>> {
        dispatch!(self, auth::list_access_tokens(user))
    }

    /// Revokes a token, ending the browser sessions opened with it; whether it was active.
    ///
    /// # Errors
    /// When the database cannot be written.
    pub async fn revoke_access_token(&self, token: AccessTokenId) -> Result<bool> {
        dispatch!(self, auth::revoke_access_token(token))
    }

    /// The user and token a token secret belongs to, if it is valid (known, not revoked, not
    /// expired); records its use.
    ///
    /// # Errors
    /// When the database cannot be used.
    pub async fn authenticate_token(&self, secret: &str) -> Result<Option<(User, AccessToken)>> {
        dispatch!(self, auth::authenticate_token(secret))
    }

    /// Starts a browser session of the user who signed in with `token`, lasting `duration` but
    /// never longer than the token: it ends when the token is revoked or expires. Its id is
    /// returned this once and stored hashed.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown token; [`StoreError::Invalid`] for one that is
    /// revoked or expired.
    pub async fn create_session(&self, token: AccessTokenId, duration: Duration) -> Result<Issued<Session>> {
        dispatch!(self, auth::create_session(token, duration))
    }

    /// The user and session a session id belongs to, if it has not expired and its token is
    /// still valid.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn session(&self, secret: &str) -> Result<Option<(User, Session)>> {
        dispatch!(self, auth::session(secret))
    }

    /// Ends a session (sign-out); whether there was one.
    ///
    /// # Errors
    /// When the database cannot be written.
    pub async fn delete_session(&self, secret: &str) -> Result<bool> {
        dispatch!(self, auth::delete_session(secret))
    }

    /// Deletes expired sessions; how many.
    ///
    /// # Errors
    /// When the database cannot be written.
    pub async fn delete_expired_sessions(&self) -> Result<u64> {
        dispatch!(self, auth::delete_expired_sessions())
    }

    // ----- agents -----

    /// Creates a one-time token that registers an agent; its secret is returned this once.
    ///
    /// # Errors
    /// When the database cannot be written.
    pub async fn create_registration_token(
        &self,
        created_by: Option<&str>,
        expires_at: Option<Timestamp>,
    ) -> Result<Issued<RegistrationToken>> {
        dispatch!(self, agents::create_registration_token(created_by, expires_at))
    }

    /// Registration tokens, newest first (never their secrets).
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn list_registration_tokens(&self) -> Result<Vec<RegistrationToken>> {
        dispatch!(self, agents::list_registration_tokens())
    }

    /// Turns a registration token into an agent with its own credential (returned this once):
    /// `None` when the token is unknown, used or expired. The token is used up only if the agent is
    /// created.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when an agent of that name exists.
    pub async fn register_agent(&self, registration_secret: &str, agent: &NewAgent) -> Result<Option<Issued<Agent>>> {
        dispatch!(self, agents::register_agent(registration_secret, agent))
    }

    /// The agent an agent credential belongs to.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn authenticate_agent(&self, secret: &str) -> Result<Option<Agent>> {
        dispatch!(self, agents::authenticate_agent(secret))
    }

    /// Records that an agent was heard from, and its state.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown agent.
    pub async fn agent_seen(&self, agent: AgentId, state: AgentState) -> Result<Agent> {
        dispatch!(self, agents::agent_seen(agent, state))
    }

    /// Updates an agent's capabilities and version (it sends them when it starts).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown agent.
    pub async fn update_agent(
        &self,
        agent: AgentId,
        capabilities: &std::collections::BTreeMap<String, String>,
        version: &str,
    ) -> Result<Agent> {
        dispatch!(self, agents::update_agent(agent, capabilities, version))
    }

    /// Marks agents not heard from for `silence` as offline; returns them.
    ///
    /// # Errors
    /// When the database cannot be written.
    pub async fn mark_silent_agents_offline(&self, silence: Duration) -> Result<Vec<Agent>> {
        dispatch!(self, agents::mark_silent_agents_offline(silence))
    }

    /// Every agent, by name.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn list_agents(&self) -> Result<Vec<Agent>> {
        dispatch!(self, agents::list_agents())
    }

    /// Deletes an agent (its credential stops working); whether there was one.
    ///
    /// # Errors
    /// When the database cannot be written.
    pub async fn delete_agent(&self, agent: AgentId) -> Result<bool> {
        dispatch!(self, agents::delete_agent(agent))
    }

    // ----- agent pools -----

    /// Sets an agent pool's settings.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for an empty name.
    pub async fn set_pool_settings(&self, name: &str, settings: &PoolSettings) -> Result<PoolRecord> {
        dispatch!(self, queue::set_pool_settings(name, settings))
    }

    /// Every pool that has settings, by name.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn list_pool_settings(&self) -> Result<Vec<PoolRecord>> {
        dispatch!(self, queue::list_pool_settings())
    }

    // ----- audit log -----

    /// Records an audit log entry, timed now.
    ///
    /// # Errors
    /// When the database cannot be written.
    pub async fn record_audit(&self, entry: &NewAuditEntry) -> Result<AuditEntry> {
        dispatch!(self, audit::record_audit(entry))
    }

    /// Audit log entries, newest first, with an id below `before` if given; at most `limit`.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn list_audit(&self, before: Option<AuditEntryId>, limit: i64) -> Result<Vec<AuditEntry>> {
        dispatch!(self, audit::list_audit(before, limit))
    }

    // ----- retention -----

    /// Deletes the completed runs that their pipelines' [`RetentionPolicy`] no longer keeps, never
    /// one that must stay: runs marked keep, the newest successful run of each branch of each
    /// pipeline, and any run that a kept run needs (the run it re-runs, its upstream run),
    /// followed transitively. Runs are deleted in small transactions so that other writers are
    /// not held up; returns what was deleted and the blobs no longer referenced.
    ///
    /// # Errors
    /// When the database cannot be used; runs deleted before the error stay deleted.
    pub async fn apply_retention(&self) -> Result<RetentionReport> {
        dispatch!(self, retention::apply_retention())
    }
}

/// Which variables a call is about: a group's, a pipeline's, or a job's outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum VariableScope {
    Group,
    Pipeline,
    Job,
}

impl VariableScope {
    fn name(self) -> &'static str {
        match self {
            Self::Group => "group",
            Self::Pipeline => "pipeline",
            Self::Job => "job",
        }
    }

    /// The associated data a secret value is sealed with: where it belongs.
    fn seal_context(self, owner: i64, name: &str) -> String {
        format!("slipway/v1/{}/{owner}/{name}", self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_pick_the_backend() -> Result<()> {
        let directory = std::env::temp_dir();
        assert_eq!(parse_location("postgres://u:p@h/d")?, Location::Postgres("postgres://u:p@h/d".into()));
        assert_eq!(parse_location("postgresql://h/d")?, Location::Postgres("postgresql://h/d".into()));
        let as_text = directory.display().to_string();
        assert_eq!(parse_location(&as_text)?, Location::Sqlite(directory.join(SQLITE_FILE_NAME)));
        assert_eq!(parse_location(&format!("sqlite://{as_text}/x.db"))?, Location::Sqlite(directory.join("x.db")));
        assert!(parse_location(":memory:").is_err());
        assert!(parse_location("/no/such/directory/x.db").is_err());
        Ok(())
    }

    /// The server spawns store calls on tokio's threads, so their futures must be `Send` (sqlx's
    /// `RawSql::execute` once made `open`'s not).
    #[test]
    fn opening_can_be_spawned() {
        fn assert_send<T: Send>(_: &T) {}
        let open = Store::open("unused", StoreOptions::new(SecretKey::from_bytes([0; 32])));
        assert_send(&open);
    }

    #[test]
    fn passwords_do_not_appear_in_errors() {
        assert_eq!(redacted("postgres://slipway:hunter2@db:5432/ci"), "postgres://slipway:***@db:5432/ci");
        assert_eq!(redacted("/var/lib/slipway"), "/var/lib/slipway");
    }
}
