//! The router: a reverse proxy in front of one service that passes each request to the slot
//! [`choose`] picks, streaming bodies both ways, passing HTTP upgrades (WebSockets) through, and
//! measuring every request. Its routes change at once and atomically ([`Router::set_routes`]):
//! a request in flight keeps the slot it was given.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, combinators::BoxBody};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::metrics::Metrics;
use crate::routing::{ChosenBy, Routes, RoutesError, SLOT_COOKIE, SLOT_HEADER, choose, sticky_cookie};

/// A body the router sends.
pub type Body = BoxBody<Bytes, hyper::Error>;

/// The header a response carries to say which slot served it.
pub const SERVED_BY_HEADER: &str = "x-slipway-served-by";

/// Headers that belong to one connection, not passed on (RFC 9110, 7.6.1).
const HOP_BY_HOP: [&str; 7] =
    ["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"];

/// A request an injected fault aborts: its connection is closed without an answer.
#[derive(Debug)]
struct Aborted;

impl std::fmt::Display for Aborted {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("aborted by an injected fault")
    }
}

impl std::error::Error for Aborted {}

/// The router of one service.
#[derive(Debug)]
pub struct Router {
    table: RwLock<Arc<Table>>,
    /// Faults injected for chaos experiments (usually none).
    faults: RwLock<Arc<Vec<crate::faults::Fault>>>,
    client: Client<HttpConnector, Body>,
    metrics: Arc<Metrics>,
}

/// The routes with what each request needs of each slot prepared once.
#[derive(Debug)]
struct Table {
    routes: Arc<Routes>,
    /// Per slot, in the routes' order: its upstream without a trailing `/`, its metrics, its
    /// sticky cookie and its `x-slipway-served-by` value.
    slots: Vec<(String, crate::metrics::SlotMetrics, Option<HeaderValue>, Option<HeaderValue>)>,
}

impl Table {
    fn new(routes: Routes, metrics: &Metrics) -> Self {
        let slots = routes
            .slots
            .iter()
            .map(|slot| {
                let cookie =
                    HeaderValue::from_str(&format!("{SLOT_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax", slot.name)).ok();
                (
                    slot.upstream.trim().trim_end_matches('/').to_owned(),
                    metrics.slot(&routes.service, &slot.name),
                    cookie,
                    HeaderValue::from_str(&slot.name).ok(),
                )
            })
            .collect();
        Self { routes: Arc::new(routes), slots }
    }
}

fn text_response(status: StatusCode, text: String) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(text)).map_err(|never: Infallible| match never {}).boxed());
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

/// The upstream URI of a request to `path_and_query` at a slot's base URL (no trailing `/`).
fn upstream_uri(base: &str, path_and_query: &str) -> Result<Uri, hyper::http::uri::InvalidUri> {
    let mut text = String::with_capacity(base.len() + path_and_query.len());
    text.push_str(base);
    text.push_str(path_and_query);
    text.parse::<Uri>()
}

impl Router {
    /// A router over `routes`, recording into `metrics`.
    ///
    /// # Errors
    /// When the routes are not valid.
    pub fn new(routes: Routes, metrics: Arc<Metrics>) -> Result<Arc<Self>, RoutesError> {
        routes.validate()?;
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new()).build(connector);
        let table = Table::new(routes, &metrics);
        Ok(Arc::new(Self {
            table: RwLock::new(Arc::new(table)),
            faults: RwLock::new(Arc::new(Vec::new())),
            client,
            metrics,
        }))
    }

    /// The routes now.
    #[must_use]
    pub fn routes(&self) -> Arc<Routes> {
        Arc::clone(&self.table().routes)
    }

    fn table(&self) -> Arc<Table> {
        Arc::clone(&self.table.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Replaces the routes: requests from now on follow them; those in flight finish where they
    /// were sent.
    ///
    /// # Errors
    /// When they are not valid (the old ones stay).
    pub fn set_routes(&self, routes: Routes) -> Result<(), RoutesError> {
        routes.validate()?;
        let table = Arc::new(Table::new(routes, &self.metrics));
        *self.table.write().unwrap_or_else(PoisonError::into_inner) = table;
        Ok(())
    }

    /// Replaces the faults injected into requests (chaos experiments); each ends at its time.
    pub fn set_faults(&self, faults: Vec<crate::faults::Fault>) {
        *self.faults.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(faults);
    }

    /// The faults injected now.
    #[must_use]
    pub fn faults(&self) -> Arc<Vec<crate::faults::Fault>> {
        Arc::clone(&self.faults.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// The metrics it records into.
    #[must_use]
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Passes one request to its slot and gives the slot's answer (or the router's, when no slot
    /// takes it or the slot cannot be reached). An injected abort answers 502 here; [`serve`]
    /// closes the connection instead.
    pub async fn handle(&self, request: Request<Incoming>, client: Option<SocketAddr>) -> Response<Body> {
        match self.handle_or_abort(request, client).await {
            Ok(response) => response,
            Err(Aborted) => text_response(StatusCode::BAD_GATEWAY, "aborted by an injected fault".into()),
        }
    }

    async fn handle_or_abort(
        &self,
        mut request: Request<Incoming>,
        client: Option<SocketAddr>,
    ) -> Result<Response<Body>, Aborted> {
        let table = self.table();
        let routes = &table.routes;
        let forced = request.headers().get(SLOT_HEADER).and_then(|value| value.to_str().ok()).map(str::to_owned);
        let cookies: Vec<&str> =
            request.headers().get_all(header::COOKIE).iter().filter_map(|value| value.to_str().ok()).collect();
        let sticky = sticky_cookie(cookies).map(str::to_owned);
        let Some((index, chosen_by)) = choose(routes, forced.as_deref(), sticky.as_deref(), fastrand::u64(..)) else {
            let why = match forced {
                Some(name) => format!("service '{}' has no slot named '{name}'", routes.service),
                None => format!("no slot of service '{}' takes traffic now (every weight is 0)", routes.service),
            };
            return Ok(text_response(StatusCode::SERVICE_UNAVAILABLE, why));
        };
        let (Some(slot), Some((base, slot_metrics, cookie, served_by))) =
            (routes.slots.get(index), table.slots.get(index))
        else {
            return Ok(text_response(StatusCode::INTERNAL_SERVER_ERROR, "the router's table is inconsistent".into()));
        };
        let faults = self.faults();
        if !faults.is_empty() {
            let (latency, hit) = crate::faults::pick(&faults, &slot.name, Instant::now(), &mut || fastrand::f64());
            if !latency.is_zero() {
                tokio::time::sleep(latency).await;
            }
            match hit {
                Some(crate::faults::FaultKind::Error(status)) => {
                    slot_metrics.record(status, latency.as_secs_f64());
                    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                    return Ok(text_response(status, "an error injected by a chaos experiment".into()));
                }
                Some(crate::faults::FaultKind::Abort) => {
                    slot_metrics.record(502, latency.as_secs_f64());
                    return Err(Aborted);
                }
                Some(crate::faults::FaultKind::Latency(_)) | None => {}
            }
        }
        let path = request.uri().path_and_query().map_or("/", |path| path.as_str());
        let uri = match upstream_uri(base, path) {
            Ok(uri) => uri,
            Err(error) => {
                return Ok(text_response(
                    StatusCode::BAD_REQUEST,
                    format!("the request's path cannot be passed on: {error}"),
                ));
            }
        };
        let upgrade = request.headers().get(header::UPGRADE).cloned();
        let client_upgrade = upgrade.is_some().then(|| hyper::upgrade::on(&mut request));
        let (mut parts, body) = request.into_parts();
        strip_hop_by_hop(&mut parts.headers);
        if let Some(protocol) = &upgrade {
            parts.headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
            parts.headers.insert(header::UPGRADE, protocol.clone());
        }
        if let Some(address) = client {
            let forwarded = match parts.headers.get("x-forwarded-for").and_then(|value| value.to_str().ok()) {
                Some(earlier) => format!("{earlier}, {}", address.ip()),
                None => address.ip().to_string(),
            };
            if let Ok(value) = HeaderValue::from_str(&forwarded) {
                parts.headers.insert(HeaderName::from_static("x-forwarded-for"), value);
            }
        }
        parts.uri = uri;
        let upstream_request = Request::from_parts(parts, body.boxed());
        let started = Instant::now();
        let slot_name = slot.name.clone();
        let mut response = match self.client.request(upstream_request).await {
            Ok(response) => response,
            Err(error) => {
                let error = error_chain(&error);
                slot_metrics.record(502, started.elapsed().as_secs_f64());
                tracing::debug!(service = %routes.service, slot = %slot_name, %error, "a slot could not be reached");
                return Ok(text_response(
                    StatusCode::BAD_GATEWAY,
                    format!("slot '{slot_name}' of service '{}' could not be reached: {error}", routes.service),
                ));
            }
        };
        slot_metrics.record(response.status().as_u16(), started.elapsed().as_secs_f64());
        if response.status() == StatusCode::SWITCHING_PROTOCOLS
            && let Some(client_upgrade) = client_upgrade
        {
            let upstream_upgrade = hyper::upgrade::on(&mut response);
            tokio::spawn(async move {
                match (client_upgrade.await, upstream_upgrade.await) {
                    (Ok(client), Ok(upstream)) => {
                        let mut client = TokioIo::new(client);
                        let mut upstream = TokioIo::new(upstream);
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                    }
                    (client, upstream) => {
                        tracing::debug!(client = client.is_ok(), upstream = upstream.is_ok(), "an upgrade failed");
                    }
                }
            });
        }
        let (mut parts, body) = response.into_parts();
        if parts.status != StatusCode::SWITCHING_PROTOCOLS {
            strip_hop_by_hop(&mut parts.headers);
        }
        if let Some(value) = served_by {
            parts.headers.insert(HeaderName::from_static(SERVED_BY_HEADER), value.clone());
        }
        if chosen_by == ChosenBy::Weight
            && let Some(cookie) = cookie
        {
            parts.headers.append(header::SET_COOKIE, cookie.clone());
        }
        Ok(Response::from_parts(parts, body.boxed()))
    }
}

/// An error with its causes: `client error (Connect): tcp connect error: Connection refused`.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Removes the headers of one connection, and those the `Connection` header names.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Most requests name no header in `Connection` (or only `keep-alive`, `close`): nothing to
    // allocate for them.
    let named: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|name| !name.is_empty() && !HOP_BY_HOP.iter().any(|known| known.eq_ignore_ascii_case(name)))
        .filter(|name| !name.eq_ignore_ascii_case("close"))
        .map(str::to_ascii_lowercase)
        .collect();
    for name in HOP_BY_HOP {
        if headers.contains_key(name) {
            headers.remove(name);
        }
    }
    for name in named {
        headers.remove(name.as_str());
    }
}

/// Serves `router` on `listener` until `stop` turns true; then takes no new connection, lets the
/// open ones finish the request they are on, and returns when they have.
pub async fn serve(listener: TcpListener, router: Arc<Router>, stop: watch::Receiver<bool>) {
    crate::serving::serve_connections(listener, stop, "router", move |address| {
        let router = Arc::clone(&router);
        hyper::service::service_fn(move |request| {
            let router = Arc::clone(&router);
            async move { router.handle_or_abort(request, Some(address)).await }
        })
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_and_those_connection_names_are_removed() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONNECTION, HeaderValue::from_static("close, X-Trace-Hop"));
        headers.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        headers.insert("x-trace-hop", HeaderValue::from_static("1"));
        headers.insert("x-kept", HeaderValue::from_static("2"));
        headers.insert(header::TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
        strip_hop_by_hop(&mut headers);
        let left: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
        assert_eq!(left, ["x-kept"]);
    }
}
