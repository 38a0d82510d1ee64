//! Debian's Prometheus for tests that query a real one: a server on a free loopback port with
//! the configuration the test gives (scrape jobs, or none), ready when it says so. Killed on
//! drop.

use std::time::Duration;

/// A Prometheus started for a test.
#[derive(Debug)]
pub struct TestPrometheus {
    /// Its address (`http://127.0.0.1:PORT`).
    pub url: String,
    child: std::process::Child,
    _directory: TempDirectory,
}

/// A directory removed on drop.
#[derive(Debug)]
struct TempDirectory(std::path::PathBuf);

impl Drop for TempDirectory {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Drop for TestPrometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether `GET path` on 127.0.0.1:`port` answers 200.
fn ready(port: u16) -> bool {
    use std::io::{Read as _, Write as _};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream.write_all(b"GET /-/ready HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").is_err() {
        return false;
    }
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    answer.starts_with(b"HTTP/1.1 200")
}

/// Starts Prometheus with `configuration` (its `prometheus.yml`), or `None` when the machine has
/// none (the test then says it is skipped, unless `SLIPWAY_REQUIRE_PROMETHEUS=1` makes that a
/// failure). Blocking: waits until it is ready (at most 10 seconds).
///
/// # Errors
/// When it is there but does not start.
pub fn prometheus_or_skip(test: &str, configuration: &str) -> Result<Option<TestPrometheus>, String> {
    let found = std::process::Command::new("prometheus").arg("--version").output();
    let available = match found {
        Ok(output) if output.status.success() => Ok(()),
        _ => Err("the prometheus binary is not installed (apt-get install prometheus)".to_owned()),
    };
    if !crate::needed_or_skip(test, "PROMETHEUS", available) {
        return Ok(None);
    }
    let directory = std::env::temp_dir().join(format!(
        "slipway-prometheus-{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_nanos())
    ));
    std::fs::create_dir_all(&directory).map_err(|error| format!("{}: {error}", directory.display()))?;
    let directory = TempDirectory(directory);
    let config = directory.0.join("prometheus.yml");
    std::fs::write(&config, configuration).map_err(|error| format!("{}: {error}", config.display()))?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map_err(|error| error.to_string())?
        .port();
    let child = std::process::Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", directory.0.join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|error| format!("prometheus: {error}"))?;
    let prometheus = TestPrometheus { url: format!("http://127.0.0.1:{port}"), child, _directory: directory };
    for _ in 0..100 {
        if ready(port) {
            return Ok(Some(prometheus));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err("Prometheus did not become ready in 10 seconds".into())
}
