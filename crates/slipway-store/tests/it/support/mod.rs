//! What every conformance test uses: a fresh store on either backend, with a clock the test moves.

use std::sync::Arc;

use slipway_store::{
    ManualClock, NewJob, NewRun, Pipeline, PipelineSettings, RetentionPolicy, Run, SecretKey, Store, StoreOptions,
    Timestamp, TriggerKind,
};

/// What tests return: any error fails the test with its message.
pub type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// The start of every test's clock: 2025-11-21, a few hours after midnight.
pub const START: Timestamp = Timestamp(1_763_700_000_000);

/// The backends a conformance test runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// SQLite in a temporary directory.
    Sqlite,
    /// PostgreSQL: a database of its own on the test process's throwaway server.
    Postgres,
}

/// A store opened for one test, with what it takes to open it again.
pub struct TestStore {
    /// The store.
    pub store: Store,
    /// Its clock, which stands still until the test moves it.
    pub clock: Arc<ManualClock>,
    /// Where it is.
    pub location: String,
    /// Its secret key.
    pub key: SecretKey,
    /// Which backend.
    pub backend: Backend,
    /// The temporary directory of a SQLite store (removed when the test ends).
    _directory: Option<tempfile::TempDir>,
}

impl TestStore {
    /// Options for opening the store again: the same key and clock.
    pub fn options(&self) -> StoreOptions {
        StoreOptions::new(self.key.clone()).with_clock(self.clock.clone())
    }

    /// Opens the same database once more (as a restarted server would).
    pub async fn reopen(&self) -> Result<Store, slipway_store::StoreError> {
        Store::open(&self.location, self.options()).await
    }

    /// Moves the clock forward.
    pub fn advance(&self, milliseconds: i64) {
        self.clock.advance_millis(milliseconds);
    }

    /// A pipeline named `name` with a retention policy.
    pub async fn pipeline_with(
        &self,
        name: &str,
        retention: RetentionPolicy,
    ) -> Result<Pipeline, slipway_store::StoreError> {
        self.store
            .create_pipeline(&PipelineSettings {
                name: name.to_owned(),
                repository: format!("/srv/git/{name}"),
                yaml_path: "azure-pipelines.yml".to_owned(),
                default_branch: "main".to_owned(),
                retention,
                queue_status: slipway_store::QueueStatus::Enabled,
            })
            .await
    }

    /// A pipeline named `name` that keeps everything.
    pub async fn pipeline(&self, name: &str) -> Result<Pipeline, slipway_store::StoreError> {
        self.pipeline_with(name, RetentionPolicy::default()).await
    }

    /// A manual run of `pipeline` on `main`.
    pub async fn run(&self, pipeline: &Pipeline) -> Result<Run, slipway_store::StoreError> {
        let mut run = NewRun::new(pipeline.id, "1", TriggerKind::Manual);
        run.branch = Some("main".to_owned());
        self.store.create_run(&run).await
    }
}

/// A job of stage `Build` in pool `default`, ready or pending.
pub fn job(name: &str, ready: bool) -> NewJob {
    NewJob {
        stage: "Build".to_owned(),
        job: name.to_owned(),
        leg: None,
        display_name: name.to_owned(),
        pool: "default".to_owned(),
        demands: Vec::new(),
        ready,
    }
}

/// Opens a fresh store on `backend`: `None` (after saying why) when PostgreSQL is not available
/// and `SLIPWAY_REQUIRE_POSTGRES` is not `1`; a panic when it is required.
pub async fn open(backend: Backend, test: &str) -> Option<TestStore> {
    let clock = Arc::new(ManualClock::new(START));
    let key = SecretKey::from_bytes([7; 32]);
    let (location, directory) = match backend {
        Backend::Sqlite => match tempfile::tempdir() {
            Ok(directory) => (directory.path().display().to_string(), Some(directory)),
            Err(error) => panic!("no temporary directory: {error}"),
        },
        Backend::Postgres => (slipway_testing::postgres_or_skip(test).await?, None),
    };
    let options = StoreOptions::new(key.clone()).with_clock(clock.clone());
    match Store::open(&location, options).await {
        Ok(store) => Some(TestStore { store, clock, location, key, backend, _directory: directory }),
        Err(error) => panic!("cannot open the {backend:?} store at {location}: {error}"),
    }
}

/// Declares a conformance test: an async body taking a [`TestStore`], run once on SQLite and once
/// on PostgreSQL as `NAME::sqlite` and `NAME::postgres`.
macro_rules! conformance {
    ($(#[doc = $doc:literal])* async fn $name:ident($store:ident: TestStore) $body:block) => {
        $(#[doc = $doc])*
        mod $name {
            use super::*;

            async fn body($store: $crate::support::TestStore) -> $crate::support::TestResult $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() -> $crate::support::TestResult {
                let Some(store) = $crate::support::open($crate::support::Backend::Sqlite, stringify!($name)).await else {
                    return Ok(());
                };
                body(store).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() -> $crate::support::TestResult {
                let Some(store) = $crate::support::open($crate::support::Backend::Postgres, stringify!($name)).await else {
                    return Ok(());
                };
                body(store).await
            }
        }
    };
}

pub(crate) use conformance;
