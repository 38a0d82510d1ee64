//! Slipway's service layer: every change and query people make, with the rules that go with it
//! (who may, what is valid, what is recorded in the audit log), in one place that both the REST
//! API and the web UI call.
//!
//! - [`AppState`]: what every call works on: the engine's core (the store, the data directory,
//!   the notifications), the trigger service's state, and the server's settings.
//! - [`Caller`]: who asks, and what their role allows; [`ServiceError`]: what can go wrong,
//!   without HTTP (the API answers it as problem+json, the web UI as a page).
//! - [`pipelines`], [`runs`], [`variables`], [`users`], [`agents`], [`flags`]: the operations, each
//!   checking the caller's role and recording changes with [`audit`].

pub mod agents;
pub mod audit;
pub mod caller;
pub mod delivery;
pub mod environments;
pub mod error;
pub mod events;
pub mod evidence;
pub mod feeds;
pub mod flags;
pub mod insights;
pub mod notifications;
pub mod oidc;
pub mod osv;
pub mod pipelines;
pub mod provenance;
pub mod runs;
pub mod security;
pub mod sso;
pub mod team;
pub mod telemetry;
pub mod traces;
pub mod users;
pub mod variables;
pub mod wire;
pub mod work_items;

use std::path::PathBuf;
use std::sync::Arc;

use slipway_engine::Core;
use slipway_engine::checkout::CheckoutError;
use slipway_store::Store;
use slipway_triggering::Triggering;

pub use caller::Caller;
pub use error::ServiceError;

/// What the API's handlers share: the engine's [`Core`] (the store, the data directory, the
/// orchestrator's and agents' notifications; `AppState` dereferences to it) and what the API and
/// the web UI add. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    inner: Arc<StateInner>,
}

#[derive(Debug)]
struct StateInner {
    triggering: Triggering,
    stopping: tokio::sync::watch::Sender<bool>,
    secure_cookies: std::sync::atomic::AtomicBool,
    feeds: feeds::Feeds,
    /// The services' routers, once started.
    routers: std::sync::OnceLock<Arc<slipway_delivery::host::RouterHost>>,
    /// nginx, for services it fronts (`slipway serve --nginx-config`).
    nginx: std::sync::OnceLock<slipway_delivery::nginx::Nginx>,
    /// The delivery room deployment jobs reach (slots, traffic, analysis), once started.
    delivery: std::sync::OnceLock<Arc<slipway_delivery::room::DeliveryRoom>>,
    /// Environments' flag documents, each revision read once.
    flags: slipway_delivery::flags::FlagCache,
    /// The server's address as people reach it (`slipway serve --public-url`), when given.
    public_url: std::sync::OnceLock<String>,
    /// Where runs' traces are sent (`slipway serve --otlp-endpoint`, `OTEL_*`), when given.
    traces: std::sync::OnceLock<traces::TracesConfig>,
    /// The OpenID Connect provider people sign in with (`slipway serve --oidc-issuer`), when given.
    sso: std::sync::OnceLock<Arc<sso::Sso>>,
}

impl std::ops::Deref for AppState {
    type Target = Core;

    fn deref(&self) -> &Core {
        self.inner.triggering.core()
    }
}

impl AppState {
    /// Starts the engine with the delivery rooms' hooks (environments and their checks).
    ///
    /// # Errors
    /// When the store cannot be used.
    pub async fn start_engine(
        &self,
        mut config: slipway_engine::EngineConfig,
    ) -> Result<slipway_engine::Engine, slipway_store::StoreError> {
        config.hooks = slipway_environments::EnvironmentHooks::new(self.store().clone(), self.data_dir().to_path_buf());
        if self.inner.routers.get().is_none() {
            let host = slipway_delivery::host::RouterHost::start(self.store().clone(), self.inner.nginx.get().cloned())
                .await?;
            let _ = self.inner.routers.set(host);
        }
        if self.inner.delivery.get().is_none()
            && let Some(routers) = self.inner.routers.get()
        {
            let runner = slipway_delivery::runner::AnalysisRunner::start(self.store().clone(), Arc::clone(routers));
            let room = slipway_delivery::room::DeliveryRoom::new(self.store().clone(), Arc::clone(routers), runner);
            let _ = self.inner.delivery.set(room);
        }
        if let Some(room) = self.inner.delivery.get() {
            config.delivery = Arc::clone(room) as Arc<dyn slipway_engine::hooks::DeliveryOperator>;
        }
        self.core().start_engine(config).await
    }

    /// Gives the services that ask for it to this nginx (before the engine starts).
    pub fn set_nginx(&self, nginx: slipway_delivery::nginx::Nginx) {
        let _ = self.inner.nginx.set(nginx);
    }

    /// Whether services can ask for nginx.
    #[must_use]
    pub fn has_nginx(&self) -> bool {
        self.inner.nginx.get().is_some()
    }

    /// Stops the services' routers (requests in flight finish).
    pub async fn shutdown_routers(&self) {
        if let Some(routers) = self.routers() {
            routers.shutdown().await;
        }
    }

    /// The delivery room, as deployment jobs reach it (refusing everything until the engine
    /// started).
    #[must_use]
    pub fn delivery(&self) -> Arc<dyn slipway_engine::hooks::DeliveryOperator> {
        match self.inner.delivery.get() {
            Some(room) => Arc::clone(room) as Arc<dyn slipway_engine::hooks::DeliveryOperator>,
            None => Arc::new(slipway_engine::hooks::NoDelivery),
        }
    }

    /// The delivery room itself, when the engine was started.
    #[must_use]
    pub fn delivery_room(&self) -> Option<&Arc<slipway_delivery::room::DeliveryRoom>> {
        self.inner.delivery.get()
    }

    /// The services' routers, when the engine was started.
    #[must_use]
    pub fn routers(&self) -> Option<&Arc<slipway_delivery::host::RouterHost>> {
        self.inner.routers.get()
    }

    /// State over `store`, keeping run checkouts in `data_dir`.
    #[must_use]
    pub fn new(store: Store, data_dir: PathBuf) -> Self {
        let (stopping, _) = tokio::sync::watch::channel(false);
        Self {
            inner: Arc::new(StateInner {
                triggering: Triggering::new(Core::new(store, data_dir)),
                stopping,
                secure_cookies: std::sync::atomic::AtomicBool::new(false),
                feeds: feeds::Feeds::default(),
                routers: std::sync::OnceLock::new(),
                nginx: std::sync::OnceLock::new(),
                delivery: std::sync::OnceLock::new(),
                flags: slipway_delivery::flags::FlagCache::default(),
                public_url: std::sync::OnceLock::new(),
                traces: std::sync::OnceLock::new(),
                sso: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Environments' flag documents (see [`flags`]).
    #[must_use]
    pub fn flag_cache(&self) -> &slipway_delivery::flags::FlagCache {
        &self.inner.flags
    }

    /// The engine's parts.
    #[must_use]
    pub fn core(&self) -> &Core {
        self.inner.triggering.core()
    }

    /// What trigger work needs (the engine's parts and the trigger service's state).
    #[must_use]
    pub fn triggering(&self) -> &Triggering {
        &self.inner.triggering
    }

    /// Whether the web UI marks its cookies `Secure` whatever the request (`--secure-cookies`:
    /// the server is reached over https through a proxy that does not say so).
    #[must_use]
    pub fn secure_cookies(&self) -> bool {
        self.inner.secure_cookies.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Sets the server's address as people reach it (`--public-url`); the first setting stays.
    pub fn set_public_url(&self, url: String) {
        let _ = self.inner.public_url.set(url);
    }

    /// The server's address as people reach it, when it was given (`--public-url`).
    #[must_use]
    pub fn public_url(&self) -> Option<String> {
        self.inner.public_url.get().cloned()
    }

    /// Sets where runs' traces are sent (see [`traces`]); the first setting stays.
    pub fn set_traces(&self, config: traces::TracesConfig) {
        let _ = self.inner.traces.set(config);
    }

    /// Where runs' traces are sent, when it was given.
    #[must_use]
    pub fn traces(&self) -> Option<traces::TracesConfig> {
        self.inner.traces.get().cloned()
    }

    /// Sets the OpenID Connect provider people sign in with (see [`sso`]); the first setting
    /// stays.
    pub fn set_sso(&self, sso: sso::Sso) {
        let _ = self.inner.sso.set(Arc::new(sso));
    }

    /// The OpenID Connect provider people sign in with, when the server was given one.
    #[must_use]
    pub fn sso(&self) -> Option<Arc<sso::Sso>> {
        self.inner.sso.get().cloned()
    }

    /// Sets whether the web UI marks its cookies `Secure` whatever the request.
    pub fn set_secure_cookies(&self, secure: bool) {
        self.inner.secure_cookies.store(secure, std::sync::atomic::Ordering::Relaxed);
    }

    /// The live feeds of followed runs (see [`feeds`]).
    #[must_use]
    pub fn feeds(&self) -> &feeds::Feeds {
        &self.inner.feeds
    }

    /// Tells long-lived responses (log followers) that the server stops, so that they end and
    /// draining does not wait for them.
    pub fn begin_shutdown(&self) {
        self.inner.stopping.send_replace(true);
    }

    /// Whether the server is stopping, as a receiver to wait on.
    #[must_use]
    pub fn stopping(&self) -> tokio::sync::watch::Receiver<bool> {
        self.inner.stopping.subscribe()
    }

    /// What the trigger service shares: its configuration, per-pipeline locks and caches.
    #[must_use]
    pub fn triggers(&self) -> &slipway_triggering::Shared {
        self.inner.triggering.triggers()
    }
}

/// Checks a pipeline or user name: 1 to 100 letters, digits, `.`, `_` and `-`.
///
/// # Errors
/// A 400 naming the rule.
pub fn check_name(name: &str) -> Result<(), ServiceError> {
    let valid = !name.is_empty()
        && name.len() <= 100
        && name.chars().all(|character| character.is_ascii_alphanumeric() || "._-".contains(character));
    if valid {
        Ok(())
    } else {
        Err(ServiceError::bad_request(format!(
            "'{name}' is not a valid name: use 1 to 100 letters, digits, '.', '_' and '-'"
        )))
    }
}

pub(crate) fn invalid_input(error: CheckoutError) -> ServiceError {
    match error {
        CheckoutError::Invalid(detail) => ServiceError::bad_request(detail),
        CheckoutError::Io(error) => ServiceError::Internal(error.to_string()),
        other => ServiceError::Unprocessable(other.to_string()),
    }
}
