//! Slipway's server: the REST API under `/api/v1`, the orchestrator that moves runs on, and the
//! worker slots that run their jobs, over a [`slipway_store::Store`].
//!
//! - [`router`] builds the API (an [`axum::Router`]); every error is one [`ApiError`] answered as
//!   `application/problem+json`. Callers authenticate with personal access tokens
//!   (`Authorization: Bearer slw_...`); readers read, contributors run and cancel, admins create
//!   pipelines and users.
//! - [`Engine`] runs the orchestrator task and the worker slots (see [`engine`]).
//! - [`triggering::TriggerService`] starts runs from pushes (polling), webhooks, schedules and
//!   completed runs (see [`triggering`]); every run, whatever starts it, is made by
//!   [`launch::launch`].
//! - [`open`] prepares a data directory (the store's secret key, the SQLite database, the first
//!   admin and their one-time token) and [`serve`] runs the whole server until SIGTERM or SIGINT,
//!   then drains.

pub mod api;
mod auth;
mod error;

use std::io::Write as _;
use std::net::SocketAddr;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use slipway_store::{SecretKey, Store, StoreError, StoreOptions, UserRole};

pub use error::ApiError;
pub use slipway_engine::agents::AgentTiming;
pub use slipway_engine::{Core, Engine, EngineConfig, LocalJobs, random_hex};
pub use slipway_service::AppState;
pub use slipway_service::oidc;
pub use slipway_service::traces::{TracesConfig, TracesConfigError};
pub use slipway_triggering::Triggering;

/// The largest request body the API reads.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// The file in the data directory that holds the store's secret key (hex, mode 0600).
pub const SECRET_KEY_FILE: &str = "secret.key";

/// The file in the data directory that the first admin token is written to (mode 0600).
pub const ADMIN_TOKEN_FILE: &str = "admin-token";

/// The file in the data directory that says a first start has not finished yet: until it has
/// (the server listened), each start is a first start again and shows the admin token.
pub const FIRST_START_FILE: &str = "first-start";

/// The whole HTTP server: the API under `/api/v1` (see [`api`]) and the web UI.
pub fn router(state: AppState) -> Router {
    let routes = api::served().method_not_allowed_fallback(api::method_not_allowed);
    Router::new()
        .nest("/api/v1", routes)
        .merge(slipway_web::routes())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// The fallback for paths no route has: the web UI's page for a browser (a request that accepts
/// `text/html`) outside the API, else the API's problem (`/api/...` always).
async fn not_found(
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
    viewer: Option<slipway_web::Viewer>,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let path = uri.path();
    if path == "/api" || path.starts_with("/api/") || !slipway_web::accepts_html(&headers) {
        return api::not_found().await.into_response();
    }
    slipway_web::not_found_page(&uri, viewer.as_ref()).await
}

/// What can stop the server from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A file in the data directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The secret key file is damaged.
    #[error("{path} does not hold a secret key: {reason}")]
    SecretKey {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The address to listen on could not be bound.
    #[error(
        "cannot listen on {address}: {source} (is another server running there? choose another address with --listen)"
    )]
    Listen {
        /// The address.
        address: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The provenance key ring cannot be used.
    #[error("the provenance key ring: {0}")]
    Provenance(#[from] slipway_engine::provenance::KeyRingError),
    /// The OpenID Connect provider (`--oidc-issuer`) cannot be used.
    #[error("--oidc-issuer: {0}")]
    Oidc(String),
}

/// Finds the OpenID Connect provider of `config` for a server people reach at `base`
/// (`--public-url`, else `http://` and the address it listens on), whose sign-ins come back to
/// `<base>/auth/oidc/callback`.
///
/// # Errors
/// [`ServeError::Oidc`] when the provider cannot be reached or is not the configured issuer, or
/// `base` is an address people cannot reach (0.0.0.0 without `--public-url`).
pub async fn connect_oidc(
    config: slipway_service::oidc::OidcConfig,
    base: &str,
) -> Result<slipway_service::sso::Sso, ServeError> {
    let base = base.trim_end_matches('/');
    if base.contains("://0.0.0.0") || base.contains("://[::]") {
        return Err(ServeError::Oidc(format!(
            "the server listens on {base}, which a browser coming back from the provider cannot reach: give \
             --public-url with the address people use (the provider must allow <public-url>/auth/oidc/callback)"
        )));
    }
    let redirect = format!("{base}/auth/oidc/callback");
    let issuer = config.issuer.clone();
    let connected = tokio::task::spawn_blocking(move || slipway_service::sso::Sso::connect(config, redirect))
        .await
        .map_err(|error| ServeError::Oidc(format!("the provider {issuer} could not be asked: {error}")))?;
    connected.map_err(|error| ServeError::Oidc(error.to_string()))
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> ServeError + '_ {
    move |source| ServeError::Io { path: path.to_path_buf(), source }
}

/// Writes a new file readable by its owner only; fails if it exists.
fn write_private(path: &Path, text: &str) -> Result<(), ServeError> {
    let mut file =
        std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(io_error(path))?;
    file.write_all(text.as_bytes()).and_then(|()| file.sync_all()).map_err(io_error(path))
}

/// Reads the store's secret key from the data directory, creating it on first start.
///
/// # Errors
/// When the file cannot be read or written, or is damaged.
pub fn load_or_create_secret_key(data_dir: &Path) -> Result<SecretKey, ServeError> {
    let path = data_dir.join(SECRET_KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => SecretKey::from_hex(text.trim())
            .map_err(|error| ServeError::SecretKey { path: path.clone(), reason: error.to_string() }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let key = SecretKey::generate()?;
            write_private(&path, &format!("{}\n", key.to_hex()))?;
            Ok(key)
        }
        Err(source) => Err(ServeError::Io { path, source }),
    }
}

/// A data directory opened for serving.
#[derive(Debug)]
pub struct Opened {
    /// The API's state over the opened store.
    pub state: AppState,
    /// On first start, the admin token that was created (also written to [`ADMIN_TOKEN_FILE`]):
    /// the caller shows it once.
    pub admin_token: Option<String>,
}

/// Opens a data directory (created if needed): the secret key, the store (`database`, or SQLite
/// in the data directory), and on first start (no users) an `admin` user with a one-time token.
///
/// # Errors
/// When the directory, the key or the store cannot be used.
pub async fn open(data_dir: &Path, database: Option<&str>) -> Result<Opened, ServeError> {
    open_with_clock(data_dir, database, std::sync::Arc::new(slipway_store::SystemClock)).await
}

/// [`open`] with the store's times from `clock` (tests move time on with a
/// [`slipway_store::ShiftedClock`]).
///
/// # Errors
/// When the directory, the key or the store cannot be used.
pub async fn open_with_clock(
    data_dir: &Path,
    database: Option<&str>,
    clock: std::sync::Arc<dyn slipway_store::Clock>,
) -> Result<Opened, ServeError> {
    std::fs::create_dir_all(data_dir).map_err(io_error(data_dir))?;
    let data_dir = std::fs::canonicalize(data_dir).map_err(io_error(data_dir))?;
    let key = load_or_create_secret_key(&data_dir)?;
    // The keys that sign what runs publish, made on first use.
    slipway_engine::provenance::prepare(&data_dir, None)?;
    let location = match database {
        Some(url) => url.to_owned(),
        None => data_dir.join(slipway_store::SQLITE_FILE_NAME).display().to_string(),
    };
    let store = Store::open(&location, StoreOptions::new(key).with_clock(clock)).await?;
    let pending = data_dir.join(FIRST_START_FILE);
    let token_path = data_dir.join(ADMIN_TOKEN_FILE);
    let mut admin_token = None;
    if store.list_users().await?.is_empty() {
        // The marker first, so that a start that fails from here on is a first start again.
        let _ = std::fs::remove_file(&pending);
        write_private(&pending, "the first start has not finished: the next start shows the admin token again\n")?;
        let user = store.create_user("admin", UserRole::Admin).await?;
        let token = store.create_access_token(user.id, "first admin token", None).await?;
        let _ = std::fs::remove_file(&token_path);
        write_private(&token_path, &format!("{}\n", token.secret))?;
        admin_token = Some(token.secret);
    } else if pending.exists() {
        // An earlier first start failed after making the admin: this start is the first one.
        match std::fs::read_to_string(&token_path) {
            Ok(token) if !token.trim().is_empty() => admin_token = Some(token.trim().to_owned()),
            // It failed before the token was kept: the admin gets a new one.
            _ => {
                if let Some(user) = store.user_by_name("admin").await? {
                    let token = store.create_access_token(user.id, "first admin token", None).await?;
                    let _ = std::fs::remove_file(&token_path);
                    write_private(&token_path, &format!("{}\n", token.secret))?;
                    admin_token = Some(token.secret);
                }
            }
        }
    }
    Ok(Opened { state: AppState::new(store, data_dir), admin_token })
}

/// Marks the first start as finished: later starts do not show the admin token again.
///
/// # Errors
/// When the marker cannot be removed.
pub fn first_start_finished(data_dir: &Path) -> Result<(), ServeError> {
    let pending = data_dir.join(FIRST_START_FILE);
    match std::fs::remove_file(&pending) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            Err(ServeError::Io { path: pending, source: error })
        }
        _ => Ok(()),
    }
}

/// Listens for SIGTERM and SIGINT from now on; the future ends when one comes.
fn termination(listen: SocketAddr) -> Result<impl Future<Output = ()>, ServeError> {
    use tokio::signal::unix::{SignalKind, signal};
    let signal_error = |source| ServeError::Io { path: PathBuf::from(listen.to_string()), source };
    let mut terminate = signal(SignalKind::terminate()).map_err(signal_error)?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(signal_error)?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
    })
}

/// Serves `state` on `listen` with `config` until SIGTERM or SIGINT, then drains: stops accepting
/// connections, finishes the requests in progress, stops the trigger service, lets running jobs
/// finish (their logs and results are stored), and closes the store. The trigger service runs
/// with the configuration in `state` ([`triggering::Shared::configure`]). `on_listening` is told
/// the address it listens on.
///
/// # Errors
/// When the store fails at start, or serving fails.
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    config: EngineConfig,
    on_listening: impl FnOnce(SocketAddr),
) -> Result<(), ServeError> {
    let bound = listener.local_addr().map_err(|source| ServeError::Io { path: PathBuf::from("listener"), source })?;
    let stop_signal = termination(bound)?;
    let engine = state.start_engine(config).await?;
    let triggers = slipway_triggering::TriggerService::start(state.triggering());
    let cleanup = slipway_engine::retention::spawn(state.core().clone(), state.stopping());
    let stream = slipway_service::events::start(&state, bound);
    on_listening(bound);
    let signalled = {
        let state = state.clone();
        async move {
            stop_signal.await;
            state.begin_shutdown();
        }
    };
    let served = axum::serve(listener, router(state.clone())).with_graceful_shutdown(signalled).await;
    triggers.shutdown().await;
    cleanup.abort();
    let _ = cleanup.await;
    stream.abort();
    let _ = stream.await;
    engine.shutdown().await;
    state.shutdown_routers().await;
    state.store().close().await;
    served.map_err(|source| ServeError::Io { path: PathBuf::from(bound.to_string()), source })
}

/// What [`run`] needs: the options of `slipway serve`.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// The data directory (created if needed).
    pub data_dir: PathBuf,
    /// The address to listen on.
    pub listen: SocketAddr,
    /// A database URL; SQLite in the data directory when `None`.
    pub database: Option<String>,
    /// In-process agents (`--local-agents`); the number of cores when `None`, 0 to only coordinate.
    pub workers: Option<usize>,
    /// How often repositories are polled for pushes; [`slipway_triggering::DEFAULT_POLL_INTERVAL`] when
    /// `None`, no polling when zero.
    pub poll_interval: Option<std::time::Duration>,
    /// Mark the web UI's cookies `Secure` whatever the request.
    pub secure_cookies: bool,
    /// Timing of leases, heartbeats and long polls; the defaults when `None` (tests shorten them).
    pub timing: Option<slipway_engine::agents::AgentTiming>,
    /// Whether in-process agents confine their jobs (the default) or not.
    pub local_jobs: LocalJobs,
    /// nginx, for services that ask for it (`--nginx-config`).
    pub nginx: Option<slipway_delivery::nginx::Nginx>,
    /// The server's address as people and agents reach it (`--public-url`): the builder's id in
    /// the provenance it signs; `http://` and the address it listens on when `None`.
    pub public_url: Option<String>,
    /// Where runs' traces are sent over OTLP (`--otlp-endpoint`, `OTEL_*`); none when `None`.
    pub traces: Option<slipway_service::traces::TracesConfig>,
    /// Sign-in with OpenID Connect (`--oidc-issuer` and the other `--oidc-*` flags); none when
    /// `None`.
    pub oidc: Option<slipway_service::oidc::OidcConfig>,
}

/// What [`run`] tells its caller as it goes, for it to show.
#[derive(Clone, Debug)]
pub enum Notice {
    /// First start: the admin token, shown this once, and the file it was written to.
    AdminToken {
        /// The token.
        token: String,
        /// The file.
        path: PathBuf,
    },
    /// The server listens.
    Listening(SocketAddr),
    /// The server stopped after a stop signal: it drained (running jobs finished).
    Stopped,
    /// The server runs no in-process agent: this machine cannot confine their jobs; why.
    LocalAgentsOff(String),
}

/// Runs the server on a runtime of its own until SIGTERM or SIGINT, then drains (see [`serve`]).
///
/// # Errors
/// When the data directory, the store or the address cannot be used.
pub fn run(options: &ServeOptions, notify: &mut (dyn FnMut(Notice) + Send)) -> Result<(), ServeError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("slipway-server")
        .build()
        .map_err(|source| ServeError::Io { path: options.data_dir.clone(), source })?;
    runtime.block_on(async {
        // The address first: a start that cannot listen makes nothing (no data directory, no
        // admin, no token shown and lost).
        let listener = tokio::net::TcpListener::bind(options.listen)
            .await
            .map_err(|source| ServeError::Listen { address: options.listen, source })?;
        let bound =
            listener.local_addr().map_err(|source| ServeError::Io { path: PathBuf::from("listener"), source })?;
        let builder = options.public_url.clone().unwrap_or_else(|| format!("http://{bound}"));
        // The provider next, for the same reason: a wrong --oidc-issuer stops a first start
        // before anything is made.
        let sso = match options.oidc.clone() {
            Some(config) => Some(connect_oidc(config, &builder).await?),
            None => None,
        };
        let opened = open(&options.data_dir, options.database.as_deref()).await?;
        if let Some(sso) = sso {
            tracing::info!(issuer = sso.issuer(), redirect_uri = sso.redirect_uri(), "sign-in with OpenID Connect");
            opened.state.set_sso(sso);
        }
        slipway_engine::provenance::prepare(opened.state.data_dir(), Some(&builder))?;
        opened.state.set_secure_cookies(options.secure_cookies);
        if let Some(url) = &options.public_url {
            opened.state.set_public_url(url.clone());
        }
        if let Some(nginx) = options.nginx.clone() {
            opened.state.set_nginx(nginx);
        }
        if let Some(traces) = options.traces.clone() {
            opened.state.set_traces(traces);
        }
        if let Some(token) = opened.admin_token {
            notify(Notice::AdminToken { token, path: opened.state.data_dir().join(ADMIN_TOKEN_FILE) });
        }
        let mut config = EngineConfig::new(opened.state.data_dir().to_path_buf());
        if let Some(workers) = options.workers {
            config.workers = workers;
        }
        config.local_jobs = options.local_jobs;
        if config.workers > 0
            && config.local_jobs == LocalJobs::Confined
            && let Err(error) = slipway_engine::local_agents::confinable().await
        {
            notify(Notice::LocalAgentsOff(format!("{error}; {}", slipway_engine::local_agents::LOCAL_AGENTS_OFF)));
        }
        let mut triggers = slipway_triggering::TriggerConfig::default();
        if let Some(interval) = options.poll_interval {
            triggers.poll_interval = Some(interval).filter(|interval| !interval.is_zero());
        }
        opened.state.triggers().configure(triggers);
        if let Some(timing) = options.timing {
            config.lease_duration = timing.lease_duration;
            config.heartbeat_interval = timing.heartbeat_interval;
            config.long_poll = timing.long_poll;
            config.kill_grace = timing.kill_grace;
        }
        let data_dir = opened.state.data_dir().to_path_buf();
        let served = serve(opened.state, listener, config, |address| {
            notify(Notice::Listening(address));
            if let Err(error) = first_start_finished(&data_dir) {
                tracing::warn!(%error, "the first start could not be marked as finished");
            }
        })
        .await;
        if served.is_ok() {
            notify(Notice::Stopped);
        }
        served
    })
}
