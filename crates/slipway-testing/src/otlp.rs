//! An OTLP/HTTP trace receiver for tests that send traces to a real one: a small Python HTTP
//! server on a free loopback port that decodes each `POST /v1/traces` body (gzip-compressed or
//! not) with the official generated protobuf classes of the `opentelemetry-proto` PyPI package
//! (`ExportTraceServiceRequest`), answers as the OTLP specification says (200 with an
//! `ExportTraceServiceResponse`; 400 for a body that does not decode, 415 for another content
//! type, 404 for another path) and writes what it took as JSON lines. Killed on drop.
//!
//! The receiver itself is not a collector: its decoding is the official protobuf definitions'
//! and its HTTP handling is ours. [`collector_or_skip`] puts a real OpenTelemetry collector in
//! front of it: rotel (from the `rotel` PyPI package, which carries its binary; no registry this
//! project can reach ships the OpenTelemetry Collector or Jaeger with an OTLP receiver), which
//! receives OTLP and exports it, gzip-compressed, to the receiver. The Python that has both
//! packages is `$SLIPWAY_OTLP_PYTHON`, else `python3`; `.ci/run` makes a virtual environment with
//! them and sets `SLIPWAY_REQUIRE_OTLP=1`.

use std::path::PathBuf;
use std::time::Duration;

/// The receiver's program.
const RECEIVER: &str = r#"
import base64, gzip, json, os, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

out_path, port_path = sys.argv[1], sys.argv[2]


def value(any_value):
    kind = any_value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [value(item) for item in any_value.array_value.values]
    if kind == "kvlist_value":
        return attributes(any_value.kvlist_value.values)
    if kind == "bytes_value":
        return base64.b64encode(any_value.bytes_value).decode()
    return getattr(any_value, kind)


def attributes(pairs):
    return {pair.key: value(pair.value) for pair in pairs}


class Handler(BaseHTTPRequestHandler):
    def answer(self, status, body=b"", content_type="text/plain"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path != "/v1/traces":
            return self.answer(404, b"not found")
        if self.headers.get("Content-Type") != "application/x-protobuf":
            return self.answer(415, b"only application/x-protobuf is taken")
        request = trace_service_pb2.ExportTraceServiceRequest()
        try:
            # OTLP/HTTP allows a gzip-compressed body (Content-Encoding: gzip).
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            request.ParseFromString(body)
        except (DecodeError, OSError, EOFError) as error:
            return self.answer(400, str(error).encode())
        spans = []
        for resource_spans in request.resource_spans:
            resource = attributes(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    spans.append({
                        "traceId": span.trace_id.hex(),
                        "spanId": span.span_id.hex(),
                        "parentSpanId": span.parent_span_id.hex(),
                        "name": span.name,
                        "kind": span.kind,
                        "startTimeUnixNano": span.start_time_unix_nano,
                        "endTimeUnixNano": span.end_time_unix_nano,
                        "attributes": attributes(span.attributes),
                        "status": {"code": span.status.code, "message": span.status.message},
                        "scope": scope_spans.scope.name,
                        "resource": resource,
                    })
        headers = {name.lower(): content for name, content in self.headers.items()}
        with open(out_path, "a") as out:
            out.write(json.dumps({"headers": headers, "spans": spans}) + "\n")
        response = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
        self.answer(200, response, "application/x-protobuf")

    def log_message(self, *arguments):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_path + ".tmp", "w") as port_file:
    port_file.write(str(server.server_address[1]))
os.rename(port_path + ".tmp", port_path)
server.serve_forever()
"#;

/// An OTLP/HTTP receiver started for a test.
#[derive(Debug)]
pub struct TestOtlp {
    /// Its base address (`http://127.0.0.1:PORT`), as `OTEL_EXPORTER_OTLP_ENDPOINT` takes it.
    pub url: String,
    child: std::process::Child,
    directory: PathBuf,
}

impl Drop for TestOtlp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.directory);
    }
}

impl TestOtlp {
    /// Its traces endpoint (`http://127.0.0.1:PORT/v1/traces`).
    #[must_use]
    pub fn traces_url(&self) -> String {
        format!("{}/v1/traces", self.url)
    }

    /// Every export request it took so far, oldest first: `{"headers": {...}, "spans": [...]}`,
    /// each span with `traceId`, `spanId`, `parentSpanId` (hex), `name`, `kind` (OTLP's number:
    /// 1 internal, 2 server), `startTimeUnixNano`, `endTimeUnixNano`, `attributes` (key to
    /// value), `status` (`code`: 0 unset, 1 ok, 2 error; `message`), `scope` and `resource`.
    ///
    /// # Errors
    /// When what it wrote cannot be read.
    pub fn requests(&self) -> Result<Vec<serde_json::Value>, String> {
        let path = self.directory.join("requests.jsonl");
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(format!("{}: {error}", path.display())),
        };
        text.lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| serde_json::from_str(line).map_err(|error| format!("{}: {error}: {line}", path.display())))
            .collect()
    }

    /// Every span it took so far, in the order they came.
    ///
    /// # Errors
    /// When what it wrote cannot be read.
    pub fn spans(&self) -> Result<Vec<serde_json::Value>, String> {
        Ok(self
            .requests()?
            .into_iter()
            .flat_map(|request| request["spans"].as_array().cloned().unwrap_or_default())
            .collect())
    }
}

/// The Python that has `opentelemetry-proto`: `$SLIPWAY_OTLP_PYTHON`, else `python3`.
fn python() -> String {
    std::env::var("SLIPWAY_OTLP_PYTHON")
        .ok()
        .filter(|python| !python.trim().is_empty())
        .unwrap_or_else(|| "python3".into())
}

/// Starts the receiver, or `None` when the machine has no Python with `opentelemetry-proto`
/// (the test then says it is skipped, unless `SLIPWAY_REQUIRE_OTLP=1` makes that a failure).
/// Blocking: waits until it listens (at most 10 seconds).
///
/// # Errors
/// When it is there but does not start.
pub fn otlp_or_skip(test: &str) -> Result<Option<TestOtlp>, String> {
    let python = python();
    let found = std::process::Command::new(&python)
        .args(["-c", "from opentelemetry.proto.collector.trace.v1 import trace_service_pb2"])
        .output();
    let available = match found {
        Ok(output) if output.status.success() => Ok(()),
        Ok(_) => Err(format!(
            "{python} has no opentelemetry-proto (pip install opentelemetry-proto, or set SLIPWAY_OTLP_PYTHON to a Python that has it)"
        )),
        Err(error) => Err(format!("{python} cannot be run: {error}")),
    };
    if !crate::needed_or_skip(test, "OTLP", available) {
        return Ok(None);
    }
    let directory = std::env::temp_dir().join(format!(
        "slipway-otlp-{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_nanos())
    ));
    std::fs::create_dir_all(&directory).map_err(|error| format!("{}: {error}", directory.display()))?;
    let program = directory.join("receiver.py");
    std::fs::write(&program, RECEIVER).map_err(|error| format!("{}: {error}", program.display()))?;
    let port_path = directory.join("port");
    let child = std::process::Command::new(&python)
        .arg(&program)
        .arg(directory.join("requests.jsonl"))
        .arg(&port_path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .map_err(|error| format!("{python}: {error}"))?;
    let mut receiver = TestOtlp { url: String::new(), child, directory };
    for _ in 0..100 {
        if let Ok(port) = std::fs::read_to_string(&port_path)
            && let Ok(port) = port.trim().parse::<u16>()
        {
            receiver.url = format!("http://127.0.0.1:{port}");
            return Ok(Some(receiver));
        }
        if let Ok(Some(status)) = receiver.child.try_wait() {
            return Err(format!("the OTLP receiver exited at start ({status})"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err("the OTLP receiver did not listen in 10 seconds".into())
}

/// A real OpenTelemetry collector in front of a [`TestOtlp`]: rotel (streamfold's collector in
/// Rust, from the `rotel` PyPI package, which carries its `rotel-agent` binary), receiving OTLP
/// on loopback (HTTP and gRPC) and exporting what it takes over OTLP/HTTP to the receiver. What
/// the receiver then records went through a collector that decoded it, batched it and encoded it
/// again, so a sender's mistake the receiver would let through is refused here. Killed on drop.
#[derive(Debug)]
pub struct TestCollector {
    /// Its OTLP/HTTP base address (`http://127.0.0.1:PORT`).
    pub url: String,
    child: std::process::Child,
}

impl Drop for TestCollector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `rotel-agent` binary: `$SLIPWAY_ROTEL`, else the one the `rotel` package of the
/// receiver's Python carries.
fn rotel_agent() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("SLIPWAY_ROTEL").filter(|path| !path.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    let python = python();
    let found = std::process::Command::new(&python)
        .args(["-c", "import os, rotel; print(os.path.join(os.path.dirname(rotel.__file__), 'rotel-agent'))"])
        .output()
        .map_err(|error| format!("{python} cannot be run: {error}"))?;
    if !found.status.success() {
        return Err(format!(
            "{python} has no rotel package (pip install rotel==0.0.1a15, or set SLIPWAY_ROTEL to a rotel-agent binary)"
        ));
    }
    let path = PathBuf::from(String::from_utf8_lossy(&found.stdout).trim());
    if path.is_file() { Ok(path) } else { Err(format!("rotel's agent is not at {}", path.display())) }
}

/// A free port on loopback (bound and let go; another process could take it meanwhile).
fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|error| format!("no free port: {error}"))
}

/// Starts rotel in front of `receiver`, or `None` when the machine has no rotel (the test then
/// says it is skipped, unless `SLIPWAY_REQUIRE_OTLP=1` makes that a failure). Blocking: waits
/// until it listens (at most 10 seconds).
///
/// # Errors
/// When it is there but does not start.
pub fn collector_or_skip(test: &str, receiver: &TestOtlp) -> Result<Option<TestCollector>, String> {
    let agent = match rotel_agent() {
        Ok(agent) => agent,
        Err(reason) => {
            // Panics when the switch requires it; else says it is skipped.
            let _skipped = crate::needed_or_skip(test, "OTLP", Err(reason));
            return Ok(None);
        }
    };
    let (http, grpc) = (free_port()?, free_port()?);
    let child = std::process::Command::new(&agent)
        .arg("start")
        .args(["--otlp-http-endpoint", &format!("127.0.0.1:{http}")])
        .args(["--otlp-grpc-endpoint", &format!("127.0.0.1:{grpc}")])
        .args(["--otlp-receiver-metrics-disabled", "--otlp-receiver-logs-disabled"])
        .args(["--exporter", "otlp", "--otlp-exporter-protocol", "http"])
        .args(["--otlp-exporter-endpoint", &receiver.url])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .map_err(|error| format!("{}: {error}", agent.display()))?;
    let mut collector = TestCollector { url: format!("http://127.0.0.1:{http}"), child };
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", http)).is_ok() {
            return Ok(Some(collector));
        }
        if let Ok(Some(status)) = collector.child.try_wait() {
            return Err(format!("rotel exited at start ({status})"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err("rotel did not listen in 10 seconds".into())
}
