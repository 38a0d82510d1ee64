//! The router's overhead, measured in one run against a direct connection to the same upstream
//! and against nginx (Debian's, when installed, one worker process) proxying to it, the router on
//! one thread of its own: latency at a fixed 1,000
//! requests/s (p50, p99) and requests/s at saturation (32 concurrent keep-alive clients). The
//! load, the upstream and the proxies share this machine; the ratios are what to read.
//!
//! Run with `bench/router.sh` (or `cargo bench -p slipway-delivery --bench router`). Set
//! `ROUTER_BENCH_SECONDS` to measure longer (default 3 per figure).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use slipway_delivery::{Metrics, Router, Routes, Slot};
use tokio::net::TcpListener;

type Error = Box<dyn std::error::Error + Send + Sync>;

async fn upstream() -> Result<SocketAddr, Error> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|_request| async {
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"hello from the upstream\n"))))
                });
                let _ =
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    Ok(address)
}

/// nginx proxying to `upstream` with keep-alive connections, or `None` when it is not installed.
fn nginx(
    upstream: SocketAddr,
    directory: &std::path::Path,
) -> Result<Option<(std::process::Child, SocketAddr)>, Error> {
    let binary = ["/usr/sbin/nginx", "/usr/bin/nginx"].into_iter().find(|path| std::path::Path::new(path).exists());
    let Some(binary) = binary else { return Ok(None) };
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let dir = directory.display();
    let config = format!(
        "worker_processes 1;\ndaemon off;\npid {dir}/nginx.pid;\nerror_log {dir}/error.log;\n\
         events {{ worker_connections 4096; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {dir}/body;\n  proxy_temp_path {dir}/proxy;\n  \
         fastcgi_temp_path {dir}/fastcgi;\n  uwsgi_temp_path {dir}/uwsgi;\n  scgi_temp_path {dir}/scgi;\n  \
         upstream app {{ server {upstream}; keepalive 64; }}\n  \
         server {{ listen 127.0.0.1:{port}; location / {{ proxy_pass http://app; proxy_http_version 1.1; \
         proxy_set_header Connection \"\"; }} }}\n}}\n"
    );
    let path = directory.join("nginx.conf");
    std::fs::write(&path, config)?;
    let child = std::process::Command::new(binary)
        .arg("-c")
        .arg(&path)
        .arg("-p")
        .arg(directory)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let address: SocketAddr = format!("127.0.0.1:{port}").parse()?;
    for _ in 0..100 {
        if std::net::TcpStream::connect(address).is_ok() {
            return Ok(Some((child, address)));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err("nginx did not start".into())
}

fn client() -> Client<HttpConnector, Full<Bytes>> {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new()).pool_max_idle_per_host(256).build(connector)
}

async fn one(client: &Client<HttpConnector, Full<Bytes>>, target: SocketAddr) -> Result<(), Error> {
    let request = Request::get(format!("http://{target}/")).body(Full::new(Bytes::new()))?;
    let response = client.request(request).await?;
    if !response.status().is_success() {
        return Err(format!("status {}", response.status()).into());
    }
    response.into_body().collect().await?;
    Ok(())
}

/// Latencies (seconds) of requests sent at a fixed `rate` per second for `seconds`.
async fn fixed_rate(target: SocketAddr, rate: u32, seconds: u64) -> Result<(Vec<f64>, usize), Error> {
    let client = client();
    // Warm the pool.
    for _ in 0..50 {
        one(&client, target).await?;
    }
    let mut ticker = tokio::time::interval(Duration::from_secs(1) / rate);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let total = u64::from(rate) * seconds;
    let mut tasks = Vec::new();
    for _ in 0..total {
        ticker.tick().await;
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let started = Instant::now();
            one(&client, target).await.map(|()| started.elapsed().as_secs_f64())
        }));
    }
    let mut latencies = Vec::with_capacity(tasks.len());
    let mut errors = 0;
    for task in tasks {
        match task.await? {
            Ok(latency) => latencies.push(latency),
            Err(_) => errors += 1,
        }
    }
    latencies.sort_by(f64::total_cmp);
    Ok((latencies, errors))
}

/// Requests per second with `concurrency` clients sending back to back for `seconds`.
async fn saturation(target: SocketAddr, concurrency: usize, seconds: u64) -> Result<f64, Error> {
    let client = client();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let mut done = 0_u64;
            while Instant::now() < deadline {
                if one(&client, target).await.is_ok() {
                    done += 1;
                }
            }
            done
        }));
    }
    let mut done = 0;
    for task in tasks {
        done += task.await?;
    }
    #[expect(clippy::cast_precision_loss, reason = "a count of requests in a few seconds")]
    Ok(done as f64 / seconds as f64)
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "an index into a short list"
    )]
    let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn main() -> Result<(), Error> {
    let seconds: u64 = std::env::var("ROUTER_BENCH_SECONDS").ok().and_then(|text| text.parse().ok()).unwrap_or(3);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async move {
        let upstream = upstream().await?;
        let routes = Routes {
            service: "bench".into(),
            slots: vec![
                Slot { name: "stable".into(), upstream: format!("http://{upstream}"), weight: 90 },
                Slot { name: "canary".into(), upstream: format!("http://{upstream}"), weight: 10 },
            ],
        };
        // The router runs on a runtime of its own with one thread, as nginx runs one worker
        // process: the load and the upstream do not share its thread.
        let router = Router::new(routes, Arc::new(Metrics::new()))?;
        let (address_sender, address_receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
            let Ok(runtime) = runtime else { return };
            runtime.block_on(async move {
                let Ok(listener) = TcpListener::bind("127.0.0.1:0").await else { return };
                let _ = address_sender.send(listener.local_addr());
                let (_stop, stopped) = tokio::sync::watch::channel(false);
                slipway_delivery::serve(listener, router, stopped).await;
            });
        });
        let router_address = address_receiver.recv()??;
        let directory = tempfile::tempdir()?;
        let nginx = nginx(upstream, directory.path())?;
        let mut targets = vec![("direct", upstream), ("slipway router", router_address)];
        if let Some((_, address)) = &nginx {
            targets.push(("nginx", *address));
        } else {
            println!("nginx is not installed (apt-get install nginx-light): measured without it");
        }
        println!("{:<16} {:>10} {:>10} {:>8} {:>14}", "target", "p50 (ms)", "p99 (ms)", "errors", "req/s (sat.)");
        let mut results = Vec::new();
        for (name, address) in &targets {
            let (latencies, errors) = fixed_rate(*address, 1000, seconds).await?;
            let rate = saturation(*address, 32, seconds).await?;
            let (p50, p99) = (quantile(&latencies, 0.5) * 1000.0, quantile(&latencies, 0.99) * 1000.0);
            println!("{name:<16} {p50:>10.3} {p99:>10.3} {errors:>8} {rate:>14.0}");
            results.push((*name, p50, p99, rate));
        }
        let direct = results[0];
        let router = results[1];
        println!();
        println!(
            "router overhead at 1,000 req/s: p50 {:+.3} ms, p99 {:+.3} ms (goal: p99 under 1 ms)",
            router.1 - direct.1,
            router.2 - direct.2
        );
        println!("router throughput / direct: {:.2}", router.3 / direct.3);
        if let Some(nginx) = results.get(2) {
            println!(
                "router / nginx: p99 {:.2}x, throughput {:.2} (goal: >= 1)",
                router.2 / nginx.2,
                router.3 / nginx.3
            );
        }
        if let Some((mut child, _)) = nginx {
            let _ = child.kill();
            let _ = child.wait();
        }
        Ok::<_, Error>(())
    })
}
