//! The routers of the server's services: one [`Router`] per service, listening on the service's
//! address, kept in step with the store ([`RouterHost::reload`], called after every change and
//! every few seconds for changes another server process made). A service whose address cannot
//! be bound says why and is tried again at the next reload.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use slipway_store::{Service, ServiceId, Store, StoreError};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::metrics::Metrics;
use crate::router::{Router, serve};
use crate::routing::{Routes, Slot};

/// Why faults cannot be injected into a service's router.
#[derive(Debug, thiserror::Error)]
pub enum NoRouter {
    /// nginx fronts the service (its name).
    #[error("service '{0}' is fronted by nginx: faults are injected by Slipway's own router")]
    Nginx(String),
    /// Slipway's router of the service (its name) does not run on this server.
    #[error("service '{0}' has no router running on this server")]
    NotRunning(String),
}

/// How often the host looks at the store without being asked.
const RELOAD_EVERY: Duration = Duration::from_secs(2);

/// Where a service's router is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouterState {
    /// Serving on this address.
    Listening(SocketAddr),
    /// nginx took the service's configuration.
    Nginx,
    /// Not serving: why (the address is taken, not valid, ...).
    Failed(String),
}

#[derive(Debug)]
struct Running {
    listen: String,
    /// For a service nginx fronts: the routes it was given last.
    applied: Option<Routes>,
    router: Option<Arc<Router>>,
    stop: Option<watch::Sender<bool>>,
    task: Option<tokio::task::JoinHandle<()>>,
    state: RouterState,
}

/// The routers of every service.
#[derive(Debug)]
pub struct RouterHost {
    store: Store,
    /// nginx, for the services it fronts, when the server has it.
    nginx: Option<crate::nginx::Nginx>,
    metrics: Arc<Metrics>,
    running: tokio::sync::Mutex<HashMap<ServiceId, Running>>,
    states: Mutex<HashMap<ServiceId, RouterState>>,
    /// Set by [`RouterHost::shutdown`]: nothing starts again.
    stopped: std::sync::atomic::AtomicBool,
}

/// The label a service's metrics carry: `environment-id/name`.
#[must_use]
pub fn metrics_label(service: &Service) -> String {
    format!("{}/{}", service.environment.get(), service.name)
}

fn routes_of(service: &Service) -> Routes {
    Routes {
        service: metrics_label(service),
        slots: service
            .slots
            .iter()
            .map(|slot| Slot { name: slot.name.clone(), upstream: slot.upstream.clone(), weight: slot.weight })
            .collect(),
    }
}

impl RouterHost {
    /// Starts the routers of every service in `store` (giving nginx the services it fronts, when
    /// `nginx` is set), and a task that keeps them in step.
    ///
    /// # Errors
    /// When the store cannot be read.
    pub async fn start(store: Store, nginx: Option<crate::nginx::Nginx>) -> Result<Arc<Self>, StoreError> {
        let host = Arc::new(Self {
            store,
            nginx,
            metrics: Arc::new(Metrics::new()),
            running: tokio::sync::Mutex::new(HashMap::new()),
            states: Mutex::new(HashMap::new()),
            stopped: std::sync::atomic::AtomicBool::new(false),
        });
        host.reload().await?;
        let weak = Arc::downgrade(&host);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(RELOAD_EVERY).await;
                let Some(host) = weak.upgrade() else { return };
                if host.stopped.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                if let Err(error) = host.reload().await {
                    tracing::warn!(%error, "the routers could not be brought in step with the store");
                }
            }
        });
        Ok(host)
    }

    /// The metrics of every router.
    #[must_use]
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Injects faults into a service's router (chaos experiments), replacing those it had.
    ///
    /// # Errors
    /// When the service has no router of Slipway's running here (nginx fronts it, or its address
    /// could not be bound): why.
    pub async fn set_faults(&self, service: &Service, faults: Vec<crate::faults::Fault>) -> Result<(), NoRouter> {
        let running = self.running.lock().await;
        match running.get(&service.id).and_then(|current| current.router.as_ref()) {
            Some(router) => {
                router.set_faults(faults);
                Ok(())
            }
            None if service.provider == "nginx" => Err(NoRouter::Nginx(service.name.clone())),
            None => Err(NoRouter::NotRunning(service.name.clone())),
        }
    }

    /// Where a service's router is (`None`: not taken up yet).
    #[must_use]
    pub fn state(&self, service: ServiceId) -> Option<RouterState> {
        self.states.lock().unwrap_or_else(PoisonError::into_inner).get(&service).cloned()
    }

    /// Brings the routers in step with the store: new services start, changed slots take effect
    /// at once, a moved address restarts its router, deleted services stop.
    ///
    /// # Errors
    /// When the store cannot be read.
    pub async fn reload(&self) -> Result<(), StoreError> {
        if self.stopped.load(std::sync::atomic::Ordering::SeqCst) {
            return Ok(());
        }
        let services = self.store.services(None).await?;
        let mut running = self.running.lock().await;
        if self.stopped.load(std::sync::atomic::Ordering::SeqCst) {
            return Ok(());
        }
        let wanted: Vec<ServiceId> = services.iter().map(|service| service.id).collect();
        for (id, gone) in running.iter_mut().filter(|(id, _)| !wanted.contains(id)) {
            if let Some(stop) = gone.stop.take() {
                let _ = stop.send(true);
            }
            if gone.applied.is_some()
                && let Some(nginx) = self.nginx.clone()
            {
                let key = id.get().to_string();
                let service = id.get();
                tokio::task::spawn_blocking(move || {
                    if let Err(error) = nginx.remove(&key) {
                        tracing::warn!(service, %error, "nginx kept a deleted service's configuration");
                    }
                });
            }
            self.states.lock().unwrap_or_else(PoisonError::into_inner).remove(id);
        }
        running.retain(|id, _| wanted.contains(id));
        for service in &services {
            let routes = routes_of(service);
            if service.provider == "nginx" {
                if let Some(stop) = running.get_mut(&service.id).and_then(|current| current.stop.take()) {
                    let _ = stop.send(true);
                }
                let state = self.apply_nginx(service, &routes, running.get(&service.id)).await;
                let applied = matches!(state, RouterState::Nginx).then(|| routes.clone());
                let previous = running.get(&service.id).and_then(|current| current.applied.clone());
                self.states.lock().unwrap_or_else(PoisonError::into_inner).insert(service.id, state.clone());
                running.insert(
                    service.id,
                    Running {
                        listen: service.listen.clone(),
                        applied: applied.or(previous),
                        router: None,
                        stop: None,
                        task: None,
                        state,
                    },
                );
                continue;
            }
            if let Some(current) = running.get_mut(&service.id)
                && current.listen == service.listen
                && let Some(router) = &current.router
            {
                if *router.routes() != routes
                    && let Err(error) = router.set_routes(routes)
                {
                    tracing::warn!(service = %service.name, %error, "a service's slots are not valid; its router keeps the last ones");
                }
                continue;
            }
            if let Some(mut old) = running.remove(&service.id)
                && let Some(stop) = old.stop.take()
            {
                let _ = stop.send(true);
            }
            let started = self.start_one(service, routes).await;
            self.states.lock().unwrap_or_else(PoisonError::into_inner).insert(service.id, started.state.clone());
            running.insert(service.id, started);
        }
        Ok(())
    }

    /// Gives nginx a service's configuration when it changed; where it is then.
    async fn apply_nginx(&self, service: &Service, routes: &Routes, current: Option<&Running>) -> RouterState {
        let Some(nginx) = &self.nginx else {
            return RouterState::Failed(
                "this server has no nginx to give the service to (slipway serve --nginx-config FILE --nginx-services DIR)"
                    .to_owned(),
            );
        };
        if let Some(current) = current
            && current.applied.as_ref() == Some(routes)
            && current.listen == service.listen
            && current.state == RouterState::Nginx
        {
            return RouterState::Nginx;
        }
        // nginx -t and the reload are processes to wait for: not on the runtime's threads.
        let (nginx, routes, listen, key) =
            (nginx.clone(), routes.clone(), service.listen.clone(), service.id.get().to_string());
        match tokio::task::spawn_blocking(move || nginx.apply(&routes, &listen, &key)).await {
            Ok(Ok(())) => RouterState::Nginx,
            Ok(Err(error)) => RouterState::Failed(error.to_string()),
            Err(error) => RouterState::Failed(format!("nginx could not be given the configuration: {error}")),
        }
    }

    async fn start_one(&self, service: &Service, routes: Routes) -> Running {
        let failed = |reason: String| Running {
            listen: service.listen.clone(),
            applied: None,
            router: None,
            stop: None,
            task: None,
            state: RouterState::Failed(reason),
        };
        let router = match Router::new(routes, Arc::clone(&self.metrics)) {
            Ok(router) => router,
            Err(error) => return failed(format!("its slots are not valid: {error}")),
        };
        let listener = match TcpListener::bind(service.listen.as_str()).await {
            Ok(listener) => listener,
            Err(error) => return failed(format!("cannot listen on {}: {error}", service.listen)),
        };
        let address = listener.local_addr().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(serve(listener, Arc::clone(&router), stopped));
        tracing::info!(service = %service.name, %address, "a service's router listens");
        Running {
            listen: service.listen.clone(),
            applied: None,
            router: Some(router),
            stop: Some(stop),
            task: Some(task),
            state: RouterState::Listening(address),
        }
    }

    /// Stops every router and waits (at most 10 seconds) for the requests in flight to finish
    /// and the addresses to be free.
    pub async fn shutdown(&self) {
        self.stopped.store(true, std::sync::atomic::Ordering::SeqCst);
        let mut running = self.running.lock().await;
        let mut tasks = Vec::new();
        for (_, mut router) in running.drain() {
            if let Some(stop) = router.stop.take() {
                let _ = stop.send(true);
            }
            tasks.extend(router.task.take());
        }
        for task in tasks {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
    }
}
