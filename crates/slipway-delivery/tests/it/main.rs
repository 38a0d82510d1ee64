//! The router against real HTTP servers on loopback: weights, stickiness, a forced slot,
//! streaming bodies, an upgraded connection passed through, reconfiguration under load, errors,
//! and stopping with requests in flight.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use slipway_delivery::{Metrics, Router, Routes, Slot};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use tokio::sync::watch;

mod nginx;
mod parsers;

pub(crate) type TestResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// An upstream that answers every request with its name and the request's body, takes
/// `Upgrade: echo` (then echoes bytes), and sleeps `?sleep=MS` first when asked.
pub(crate) async fn upstream(name: &'static str) -> TestResult<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |mut request: Request<Incoming>| async move {
                    if let Some(ms) = request
                        .uri()
                        .query()
                        .and_then(|query| query.strip_prefix("sleep="))
                        .and_then(|ms| ms.parse().ok())
                    {
                        tokio::time::sleep(Duration::from_millis(ms)).await;
                    }
                    if request.headers().get("upgrade").is_some_and(|value| value == "echo") {
                        let upgrade = hyper::upgrade::on(&mut request);
                        tokio::spawn(async move {
                            if let Ok(upgraded) = upgrade.await {
                                let mut io = TokioIo::new(upgraded);
                                let mut buffer = [0_u8; 64];
                                while let Ok(read) = io.read(&mut buffer).await {
                                    if read == 0 || io.write_all(&buffer[..read]).await.is_err() {
                                        break;
                                    }
                                }
                            }
                        });
                        let response = Response::builder()
                            .status(StatusCode::SWITCHING_PROTOCOLS)
                            .header("connection", "upgrade")
                            .header("upgrade", "echo")
                            .body(Full::new(Bytes::new()))
                            .unwrap_or_default();
                        return Ok::<_, Infallible>(response);
                    }
                    let body = request.into_body().collect().await.map(|body| body.to_bytes()).unwrap_or_default();
                    let mut answer = name.as_bytes().to_vec();
                    answer.extend_from_slice(&body);
                    Ok(Response::new(Full::new(Bytes::from(answer))))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .with_upgrades()
                    .await;
            });
        }
    });
    Ok(address)
}

fn routes(slots: &[(&str, SocketAddr, u32)]) -> Routes {
    Routes {
        service: "shop".into(),
        slots: slots
            .iter()
            .map(|(name, address, weight)| Slot {
                name: (*name).into(),
                upstream: format!("http://{address}"),
                weight: *weight,
            })
            .collect(),
    }
}

/// A router serving on a free loopback port; its address and the switch that stops it.
async fn start(router: Arc<Router>) -> TestResult<(SocketAddr, watch::Sender<bool>, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(slipway_delivery::serve(listener, router, stopped));
    Ok((address, stop, task))
}

pub(crate) fn client() -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new()).build(HttpConnector::new())
}

/// GETs `path` from the router with extra headers; the status, the body, the served-by header
/// and a set cookie.
pub(crate) async fn get(
    client: &Client<HttpConnector, Full<Bytes>>,
    router: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> TestResult<(StatusCode, String, String, Option<String>)> {
    let mut request = Request::get(format!("http://{router}{path}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = client.request(request.body(Full::new(Bytes::new()))?).await?;
    let status = response.status();
    let served =
        response.headers().get("x-slipway-served-by").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let cookie = response.headers().get("set-cookie").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body = String::from_utf8(response.into_body().collect().await?.to_bytes().to_vec())?;
    Ok((status, body, served, cookie))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_follow_the_weights_stick_to_their_slot_and_can_be_forced() -> TestResult {
    let (stable, canary) = (upstream("stable").await?, upstream("canary").await?);
    let metrics = Arc::new(Metrics::new());
    let router = Router::new(routes(&[("stable", stable, 100), ("canary", canary, 0)]), Arc::clone(&metrics))?;
    let (address, _stop, _task) = start(Arc::clone(&router)).await?;
    let client = client();
    for _ in 0..20 {
        assert_eq!(get(&client, address, "/", &[]).await?.1, "stable");
    }
    // A forced slot is served at weight 0, without a cookie.
    let (status, body, served, cookie) = get(&client, address, "/", &[("x-slipway-slot", "canary")]).await?;
    assert_eq!((status, body.as_str(), served.as_str(), cookie), (StatusCode::OK, "canary", "canary", None));
    router.set_routes(routes(&[("stable", stable, 50), ("canary", canary, 50)]))?;
    let mut canaries = 0;
    for _ in 0..400 {
        let (_, body, _, cookie) = get(&client, address, "/", &[]).await?;
        assert_eq!(cookie, Some(format!("slipway-slot={body}; Path=/; HttpOnly; SameSite=Lax")));
        canaries += usize::from(body == "canary");
    }
    assert!((140..=260).contains(&canaries), "50/50 gave {canaries} of 400 to the canary");
    // A client with the cookie stays on its slot.
    for _ in 0..50 {
        let (_, body, _, cookie) = get(&client, address, "/", &[("cookie", "theme=dark; slipway-slot=canary")]).await?;
        assert_eq!((body.as_str(), cookie), ("canary", None));
    }
    let counts = metrics.counts("shop", "canary");
    assert_eq!(counts.total(), 1 + u64::try_from(canaries)? + 50);
    let text = metrics.text();
    assert!(text.contains("slipway_router_requests_total{service=\"shop\",slot=\"stable\",class=\"2xx\"}"), "{text}");
    assert!(text.contains("slipway_router_request_duration_seconds_bucket{"), "{text}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_stream_through_and_an_upgraded_connection_is_passed_on() -> TestResult {
    let stable = upstream("stable").await?;
    let router = Router::new(routes(&[("stable", stable, 1)]), Arc::new(Metrics::new()))?;
    let (address, _stop, _task) = start(router).await?;
    let body: Vec<u8> = (0..4 * 1024 * 1024).map(|index: usize| b"abcdefgh"[index % 8]).collect();
    let request = Request::post(format!("http://{address}/upload")).body(Full::new(Bytes::from(body.clone())))?;
    let response = client().request(request).await?;
    assert_eq!(response.status(), StatusCode::OK);
    let answer = response.into_body().collect().await?.to_bytes();
    assert_eq!(answer.len(), "stable".len() + body.len());
    assert!(answer.ends_with(&body));
    // An upgrade (as a WebSocket's handshake is) goes through, and bytes flow both ways after.
    let mut stream = tokio::net::TcpStream::connect(address).await?;
    stream.write_all(b"GET /socket HTTP/1.1\r\nHost: shop\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\n").await?;
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0_u8; 1];
        stream.read_exact(&mut byte).await?;
        head.push(byte[0]);
    }
    let head = String::from_utf8(head)?;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    for message in [&b"ping"[..], b"pong and more"] {
        stream.write_all(message).await?;
        let mut echoed = vec![0_u8; message.len()];
        stream.read_exact(&mut echoed).await?;
        assert_eq!(echoed, message);
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_request_fails_across_twenty_weight_changes_under_load() -> TestResult {
    let (stable, canary) = (upstream("stable").await?, upstream("canary").await?);
    let router = Router::new(routes(&[("stable", stable, 100), ("canary", canary, 0)]), Arc::new(Metrics::new()))?;
    let (address, _stop, _task) = start(Arc::clone(&router)).await?;
    let (done, finished) = watch::channel(false);
    let sent = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let mut load = Vec::new();
    for _ in 0..8 {
        let (finished, sent, failed) = (finished.clone(), Arc::clone(&sent), Arc::clone(&failed));
        load.push(tokio::spawn(async move {
            let client = client();
            while !*finished.borrow() {
                match get(&client, address, "/", &[]).await {
                    Ok((StatusCode::OK, body, _, _)) if body == "stable" || body == "canary" => {}
                    _ => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
                sent.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for step in 0..20_u32 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let canary_weight = (step * 5 + 5).min(100);
        router.set_routes(routes(&[("stable", stable, 100 - canary_weight), ("canary", canary, canary_weight)]))?;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let _ = done.send(true);
    for task in load {
        task.await?;
    }
    let (sent, failed) = (sent.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    assert!(sent > 200, "only {sent} requests were sent");
    assert_eq!(failed, 0, "{failed} of {sent} requests failed across the changes");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_slots_and_no_traffic_are_answered_clearly_and_bad_routes_refused() -> TestResult {
    let free = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let metrics = Arc::new(Metrics::new());
    let router = Router::new(routes(&[("stable", free, 1), ("canary", free, 0)]), Arc::clone(&metrics))?;
    let (address, _stop, _task) = start(Arc::clone(&router)).await?;
    let client = client();
    let (status, body, ..) = get(&client, address, "/", &[]).await?;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(body.starts_with("slot 'stable' of service 'shop' could not be reached: "), "{body}");
    assert_eq!(metrics.counts("shop", "stable").server_errors, 1);
    let (status, body, ..) = get(&client, address, "/", &[("x-slipway-slot", "green")]).await?;
    assert_eq!((status, body.as_str()), (StatusCode::SERVICE_UNAVAILABLE, "service 'shop' has no slot named 'green'"));
    router.set_routes(routes(&[("stable", free, 0)]))?;
    let (status, body, ..) = get(&client, address, "/", &[]).await?;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "no slot of service 'shop' takes traffic now (every weight is 0)")
    );
    let mut bad = routes(&[("stable", free, 1)]);
    bad.slots[0].upstream = "ftp://127.0.0.1:1".into();
    assert!(router.set_routes(bad).is_err());
    assert_eq!(router.routes().slots[0].weight, 0, "the old routes stay");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_takes_no_new_connection_and_lets_requests_in_flight_finish() -> TestResult {
    let stable = upstream("stable").await?;
    let router = Router::new(routes(&[("stable", stable, 1)]), Arc::new(Metrics::new()))?;
    let (address, stop, task) = start(router).await?;
    let slow = tokio::spawn(async move { get(&client(), address, "/?sleep=400", &[]).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.send(true)?;
    let (status, body, ..) = slow.await??;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "stable"));
    tokio::time::timeout(Duration::from_secs(5), task).await??;
    assert!(tokio::net::TcpStream::connect(address).await.is_err(), "a stopped router takes no connection");
    Ok(())
}
