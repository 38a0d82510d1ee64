//! nginx (Debian's) as a service's router: the routes written as its configuration and applied
//! with a reload; weights, the forced slot, the sticky cookie, and reloads under load (at most
//! 0.5 % of requests failing: nginx closes idle keep-alive connections at a reload); a
//! configuration nginx refuses is taken back.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use slipway_delivery::nginx::Nginx;
use slipway_delivery::{Routes, Slot};

use crate::{TestResult, client, get, upstream};

struct Running {
    nginx: Nginx,
    child: std::process::Child,
    _directory: tempfile::TempDir,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start() -> TestResult<Option<Running>> {
    let binary =
        ["/usr/sbin/nginx", "/usr/bin/nginx"].into_iter().map(std::path::PathBuf::from).find(|path| path.exists());
    let available =
        binary.clone().map(|_| ()).ok_or_else(|| "nginx is not installed (apt-get install nginx-light)".to_owned());
    if !slipway_testing::needed_or_skip("the nginx router", "NGINX", available) {
        return Ok(None);
    }
    let binary = binary.ok_or("no nginx")?;
    let directory = tempfile::tempdir()?;
    let root = directory.path();
    std::fs::create_dir_all(root.join("services"))?;
    let dir = root.display();
    let main = format!(
        "worker_processes 1;\ndaemon off;\npid {dir}/nginx.pid;\nerror_log {dir}/error.log;\n\
         events {{ worker_connections 1024; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {dir}/body;\n  proxy_temp_path {dir}/proxy;\n  \
         fastcgi_temp_path {dir}/fastcgi;\n  uwsgi_temp_path {dir}/uwsgi;\n  scgi_temp_path {dir}/scgi;\n  \
         include {dir}/services/*.conf;\n}}\n"
    );
    std::fs::write(root.join("nginx.conf"), main)?;
    let nginx = Nginx {
        binary: binary.clone(),
        prefix: root.to_path_buf(),
        main_config: root.join("nginx.conf"),
        directory: root.join("services"),
    };
    let child = std::process::Command::new(&binary)
        .arg("-p")
        .arg(root)
        .arg("-c")
        .arg(root.join("nginx.conf"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    for _ in 0..100 {
        if root.join("nginx.pid").exists() {
            return Ok(Some(Running { nginx, child, _directory: directory }));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err("nginx did not start".into())
}

fn routes(stable: SocketAddr, canary: SocketAddr, weights: (u32, u32)) -> Routes {
    Routes {
        service: "shop".into(),
        slots: vec![
            Slot { name: "stable".into(), upstream: format!("http://{stable}"), weight: weights.0 },
            Slot { name: "canary".into(), upstream: format!("http://{canary}"), weight: weights.1 },
        ],
    }
}

async fn wait_for(address: SocketAddr) -> TestResult {
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(address).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("nginx does not listen on {address}").into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_routes_a_canary_as_the_router_does() -> TestResult {
    let Some(running) = start()? else { return Ok(()) };
    let (stable, canary) = (upstream("stable").await?, upstream("canary").await?);
    let listen: SocketAddr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    running.nginx.apply(&routes(stable, canary, (100, 0)), &listen.to_string(), "1")?;
    wait_for(listen).await?;
    let http = client();
    for _ in 0..10 {
        let (status, body, served, cookie) = get(&http, listen, "/", &[]).await?;
        assert_eq!((status.as_u16(), body.as_str(), served.as_str()), (200, "stable", "stable"));
        assert_eq!(cookie.as_deref(), Some("slipway-slot=stable; Path=/; HttpOnly; SameSite=Lax"));
    }
    let (_, body, _, cookie) = get(&http, listen, "/", &[("x-slipway-slot", "canary")]).await?;
    assert_eq!((body.as_str(), cookie), ("canary", None), "a forced slot is served at weight 0, without a cookie");
    running.nginx.apply(&routes(stable, canary, (50, 50)), &listen.to_string(), "1")?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut canaries = 0;
    for _ in 0..300 {
        canaries += usize::from(get(&http, listen, "/", &[]).await?.1 == "canary");
    }
    assert!((90..=210).contains(&canaries), "50/50 through nginx gave {canaries} of 300 to the canary");
    let (_, body, _, cookie) = get(&http, listen, "/", &[("cookie", "slipway-slot=canary")]).await?;
    assert_eq!((body.as_str(), cookie), ("canary", None), "the sticky cookie keeps a client on its slot");
    // A configuration nginx refuses is taken back; the service goes on as it was.
    let mut bad = routes(stable, canary, (0, 100));
    bad.slots[1].upstream = "http://127.0.0.1:99999".into();
    assert!(running.nginx.apply(&bad, &listen.to_string(), "1").is_err());
    assert_eq!(get(&http, listen, "/", &[("x-slipway-slot", "stable")]).await?.1, "stable");
    // Reloads under load: no request fails.
    let (done, finished) = tokio::sync::watch::channel(false);
    let failed = Arc::new(AtomicUsize::new(0));
    let sent = Arc::new(AtomicUsize::new(0));
    let mut load = Vec::new();
    for _ in 0..4 {
        let (finished, failed, sent) = (finished.clone(), Arc::clone(&failed), Arc::clone(&sent));
        load.push(tokio::spawn(async move {
            let http = client();
            while !*finished.borrow() {
                if !matches!(get(&http, listen, "/", &[]).await, Ok((status, _, _, _)) if status.is_success()) {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
                sent.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for step in 0..10_u32 {
        running.nginx.apply(&routes(stable, canary, (100 - step * 10, step * 10)), &listen.to_string(), "1")?;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = done.send(true);
    for task in load {
        task.await?;
    }
    // nginx closes its old workers' idle keep-alive connections at a reload, and a request sent
    // on one just then fails (Slipway's own router swaps routes without closing any): a few in
    // ten thousand, not more.
    let (failed, sent) = (failed.load(Ordering::Relaxed), sent.load(Ordering::Relaxed));
    assert!(sent > 1000 && failed * 200 <= sent, "{failed} of {sent} requests failed across 10 reloads");
    Ok(())
}
