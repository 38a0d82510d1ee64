//! A tiny HTTP service to deliver progressively, for tests, benches and the README's walkthrough
//! (`slipway demo-service`): it says which version it is, and can be told to fail a fraction of
//! its requests, to answer slowly, or to be unhealthy, so that a canary of it can be judged.
//!
//! - `GET /`: `200 {"version": "..."}`, after [`DemoOptions::latency`]; a fraction
//!   [`DemoOptions::error_rate`] of them is answered `500 {"error": "injected", "version": "..."}`
//!   instead;
//! - `GET /stats`: what `GET /` answered so far, `{"requests": N, "errors": N, "errorRate": F,
//!   "successRate": F}` (the rates `null` before the first request): the service's own metrics, for
//!   an analysis's `web` provider;
//! - `GET /healthz`: `200 ok`, or `503 unhealthy` when [`DemoOptions::healthy`] is false;
//! - `GET /version`: the version as text;
//! - any other path: 404; another method on these paths: 405.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// How the demo service behaves.
#[derive(Clone, Debug)]
pub struct DemoOptions {
    /// Where it listens.
    pub listen: SocketAddr,
    /// The version it says it is.
    pub version: String,
    /// The fraction (0 to 1) of `GET /` answered 500.
    pub error_rate: f64,
    /// Added to each answer of `GET /`.
    pub latency: Duration,
    /// `false`: `/healthz` answers 503.
    pub healthy: bool,
}

/// What every request needs, prepared once.
#[derive(Debug)]
struct Demo {
    options: DemoOptions,
    /// The answer of `GET /`.
    hello: Bytes,
    /// The answer of `GET /` when an error is injected.
    injected: Bytes,
    /// Requests to `GET /` so far.
    requests: std::sync::atomic::AtomicU64,
    /// Of which answered 500.
    errors: std::sync::atomic::AtomicU64,
}

impl Demo {
    fn new(options: DemoOptions) -> std::io::Result<Self> {
        if !(0.0..=1.0).contains(&options.error_rate) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("the error rate must be between 0 and 1, not {}", options.error_rate),
            ));
        }
        let hello = serde_json::json!({ "version": options.version }).to_string();
        let injected = serde_json::json!({ "error": "injected", "version": options.version }).to_string();
        Ok(Self {
            options,
            hello: Bytes::from(hello),
            injected: Bytes::from(injected),
            requests: std::sync::atomic::AtomicU64::new(0),
            errors: std::sync::atomic::AtomicU64::new(0),
        })
    }

    #[expect(clippy::cast_precision_loss, reason = "request counts are far below 2^52")]
    fn stats(&self) -> Bytes {
        let requests = self.requests.load(std::sync::atomic::Ordering::Relaxed);
        let errors = self.errors.load(std::sync::atomic::Ordering::Relaxed);
        let rate = |part: u64| (requests > 0).then(|| part as f64 / requests as f64);
        Bytes::from(
            serde_json::json!({
                "requests": requests,
                "errors": errors,
                "errorRate": rate(errors),
                "successRate": rate(requests - errors),
            })
            .to_string(),
        )
    }

    async fn answer(&self, request: &Request<Incoming>) -> Response<Full<Bytes>> {
        let path = request.uri().path();
        if !matches!(path, "/" | "/healthz" | "/version" | "/stats") {
            return text(StatusCode::NOT_FOUND, Bytes::from_static(b"not found"));
        }
        if request.method() != Method::GET && request.method() != Method::HEAD {
            let mut response = text(StatusCode::METHOD_NOT_ALLOWED, Bytes::from_static(b"method not allowed"));
            response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return response;
        }
        match path {
            "/healthz" if self.options.healthy => text(StatusCode::OK, Bytes::from_static(b"ok")),
            "/healthz" => text(StatusCode::SERVICE_UNAVAILABLE, Bytes::from_static(b"unhealthy")),
            "/version" => text(StatusCode::OK, Bytes::from(self.options.version.clone())),
            "/stats" => json(StatusCode::OK, self.stats()),
            _ => {
                if !self.options.latency.is_zero() {
                    tokio::time::sleep(self.options.latency).await;
                }
                self.requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if self.options.error_rate > 0.0 && fastrand::f64() < self.options.error_rate {
                    self.errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    json(StatusCode::INTERNAL_SERVER_ERROR, self.injected.clone())
                } else {
                    json(StatusCode::OK, self.hello.clone())
                }
            }
        }
    }
}

fn text(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    answer(status, "text/plain; charset=utf-8", body)
}

fn json(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    answer(status, "application/json", body)
}

fn answer(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Serves the demo service on [`DemoOptions::listen`] until `stop` turns true; then takes no new
/// connection, lets the open ones finish the request they are on, and returns when they have.
///
/// # Errors
/// When it cannot listen there, or the error rate is not between 0 and 1.
pub async fn serve(options: DemoOptions, stop: watch::Receiver<bool>) -> std::io::Result<()> {
    let demo = Arc::new(Demo::new(options)?);
    let listener = TcpListener::bind(demo.options.listen).await?;
    serve_demo(listener, demo, stop).await;
    Ok(())
}

/// [`serve`] on a listener already bound (its address is [`DemoOptions::listen`]'s stand-in).
///
/// # Errors
/// When the error rate is not between 0 and 1.
pub async fn serve_listener(
    listener: TcpListener,
    options: DemoOptions,
    stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let demo = Arc::new(Demo::new(options)?);
    serve_demo(listener, demo, stop).await;
    Ok(())
}

async fn serve_demo(listener: TcpListener, demo: Arc<Demo>, stop: watch::Receiver<bool>) {
    if let Ok(address) = listener.local_addr() {
        tracing::info!(%address, version = %demo.options.version, "demo service listening");
    }
    crate::serving::serve_connections(listener, stop, "demo service", move |_| {
        let demo = Arc::clone(&demo);
        hyper::service::service_fn(move |request| {
            let demo = Arc::clone(&demo);
            async move { Ok::<_, Infallible>(demo.answer(&request).await) }
        })
    })
    .await;
}

/// Serves the demo service on a runtime of its own (one thread) until SIGTERM or Ctrl-C, then
/// lets the requests in flight finish.
///
/// # Errors
/// When the runtime cannot be built, the signals cannot be listened for, or [`serve`] fails.
pub fn run_blocking(options: DemoOptions) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async move {
        let demo = Arc::new(Demo::new(options)?);
        let listener = TcpListener::bind(demo.options.listen).await?;
        let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        let (stop, stopped) = watch::channel(false);
        let serving = serve_demo(listener, demo, stopped);
        tokio::pin!(serving);
        tokio::select! {
            () = serving.as_mut() => return Ok(()),
            _ = terminate.recv() => tracing::info!("SIGTERM: the demo service stops"),
            _ = tokio::signal::ctrl_c() => tracing::info!("Ctrl-C: the demo service stops"),
        }
        let _ = stop.send(true);
        serving.await;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use http_body_util::{BodyExt as _, Empty};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;

    use super::*;

    fn options() -> DemoOptions {
        DemoOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            version: "1.2.\"3\"".to_owned(),
            error_rate: 0.0,
            latency: Duration::ZERO,
            healthy: true,
        }
    }

    /// The demo served on a port of its own; stops when the sender is dropped or sent `true`.
    async fn start(
        options: DemoOptions,
    ) -> (String, watch::Sender<bool>, tokio::task::JoinHandle<std::io::Result<()>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|error| panic!("{error}"));
        let address = listener.local_addr().unwrap_or_else(|error| panic!("{error}"));
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(serve_listener(listener, options, stopped));
        (format!("http://{address}"), stop, task)
    }

    async fn ask(method: Method, url: &str) -> (StatusCode, String, String) {
        let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
        let request = Request::builder().method(method).uri(url).body(Empty::new());
        let request = request.unwrap_or_else(|error| panic!("{error}"));
        let response = client.request(request).await.unwrap_or_else(|error| panic!("{url}: {error}"));
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = response.into_body().collect().await.unwrap_or_else(|error| panic!("{error}")).to_bytes();
        (status, content_type, String::from_utf8_lossy(&body).into_owned())
    }

    async fn get(url: &str) -> (StatusCode, String) {
        let (status, _, body) = ask(Method::GET, url).await;
        (status, body)
    }

    #[tokio::test]
    async fn answers_its_version_health_and_not_found() {
        let (url, stop, task) = start(options()).await;
        let (status, content_type, body) = ask(Method::GET, &format!("{url}/")).await;
        assert_eq!((status, content_type.as_str()), (StatusCode::OK, "application/json"));
        let answer: serde_json::Value = serde_json::from_str(&body).unwrap_or_else(|error| panic!("{error}: {body}"));
        assert_eq!(answer["version"], "1.2.\"3\"");
        assert!(answer.get("slot").is_none(), "{answer}");
        assert_eq!(get(&format!("{url}/healthz")).await, (StatusCode::OK, "ok".to_owned()));
        assert_eq!(get(&format!("{url}/version")).await, (StatusCode::OK, "1.2.\"3\"".to_owned()));
        assert_eq!(get(&format!("{url}/version?x=1")).await.0, StatusCode::OK);
        assert_eq!(get(&format!("{url}/nothing")).await.0, StatusCode::NOT_FOUND);
        let (status, stats) = get(&format!("{url}/stats")).await;
        let stats: serde_json::Value = serde_json::from_str(&stats).unwrap_or_else(|error| panic!("{error}: {stats}"));
        assert_eq!(status, StatusCode::OK);
        assert_eq!((stats["requests"].as_u64(), stats["errors"].as_u64()), (Some(1), Some(0)), "{stats}");
        assert_eq!(stats["successRate"], 1.0);
        assert_eq!(ask(Method::POST, &format!("{url}/")).await.0, StatusCode::METHOD_NOT_ALLOWED);
        let _ = stop.send(true);
        let ended = tokio::time::timeout(Duration::from_secs(5), task).await;
        assert!(matches!(ended, Ok(Ok(Ok(())))), "{ended:?}");
    }

    #[tokio::test]
    async fn an_unhealthy_demo_answers_503() {
        let (url, _stop, _task) = start(DemoOptions { healthy: false, ..options() }).await;
        assert_eq!(get(&format!("{url}/healthz")).await, (StatusCode::SERVICE_UNAVAILABLE, "unhealthy".to_owned()));
        assert_eq!(get(&format!("{url}/")).await.0, StatusCode::OK);
    }

    #[tokio::test]
    async fn errors_are_injected_at_the_rate_asked() {
        let (url, _stop, _task) = start(DemoOptions { error_rate: 1.0, ..options() }).await;
        let (status, body) = get(&format!("{url}/")).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body, r#"{"error":"injected","version":"1.2.\"3\""}"#);
        assert_eq!(get(&format!("{url}/healthz")).await.0, StatusCode::OK, "only / fails");
        let (url, _stop, _task) = start(DemoOptions { error_rate: 0.5, ..options() }).await;
        let mut failed = 0;
        for _ in 0..200 {
            if get(&format!("{url}/")).await.0 == StatusCode::INTERNAL_SERVER_ERROR {
                failed += 1;
            }
        }
        // 200 draws at one half: outside 60..=140 has a chance far below one in a million.
        assert!((60..=140).contains(&failed), "{failed} of 200 failed");
    }

    #[tokio::test]
    async fn latency_is_added_to_the_root_only() {
        let (url, _stop, _task) = start(DemoOptions { latency: Duration::from_millis(150), ..options() }).await;
        let started = std::time::Instant::now();
        assert_eq!(get(&format!("{url}/")).await.0, StatusCode::OK);
        assert!(started.elapsed() >= Duration::from_millis(150));
        let started = std::time::Instant::now();
        assert_eq!(get(&format!("{url}/healthz")).await.0, StatusCode::OK);
        assert!(started.elapsed() < Duration::from_millis(150));
    }

    #[tokio::test]
    async fn a_bad_error_rate_or_address_is_an_error() {
        let (_stop, stopped) = watch::channel(false);
        for rate in [-0.1, 1.5, f64::NAN] {
            let error = serve(DemoOptions { error_rate: rate, ..options() }, stopped.clone()).await;
            assert!(
                matches!(&error, Err(error) if error.kind() == std::io::ErrorKind::InvalidInput
                    && error.to_string().starts_with("the error rate must be between 0 and 1")),
                "{error:?}"
            );
        }
        let taken = TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|error| panic!("{error}"));
        let listen = taken.local_addr().unwrap_or_else(|error| panic!("{error}"));
        let error = serve(DemoOptions { listen, ..options() }, stopped).await;
        assert!(matches!(&error, Err(error) if error.kind() == std::io::ErrorKind::AddrInUse), "{error:?}");
    }

    #[test]
    fn a_demo_told_to_stop_before_it_starts_returns_at_once() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
        let runtime = runtime.unwrap_or_else(|error| panic!("{error}"));
        let (stop, stopped) = watch::channel(true);
        // Told to stop before it starts: it returns at once.
        let ended = runtime.block_on(serve(options(), stopped));
        assert!(ended.is_ok(), "{ended:?}");
        drop(stop);
    }
}
