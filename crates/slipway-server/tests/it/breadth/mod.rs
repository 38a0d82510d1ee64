//! The API's breadth: variables, variable groups and secrets; artifacts and test results;
//! re-runs; retention.

mod artifacts;
mod reruns;
mod retention;
mod variables;

use std::path::Path;
use std::sync::Mutex;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tower::ServiceExt as _;

use crate::support::{Answer, TestResult, make_repository, send};

/// Sends requests and keeps every response body, to search them all afterwards.
pub struct Recorder {
    app: Router,
    bodies: Mutex<Vec<(String, Vec<u8>)>>,
}

impl Recorder {
    pub fn new(app: Router) -> Self {
        Self { app, bodies: Mutex::new(Vec::new()) }
    }

    /// Sends a request with an optional JSON body; gives the answer, keeping the raw body.
    pub async fn send(&self, method: Method, uri: &str, token: &str, body: Option<Value>) -> TestResult<Answer> {
        let mut request = Request::builder().method(method).uri(uri).header("authorization", format!("Bearer {token}"));
        let body = match body {
            Some(body) => {
                request = request.header("content-type", "application/json");
                Body::from(serde_json::to_vec(&body)?)
            }
            None => Body::empty(),
        };
        let response = self.app.clone().oneshot(request.body(body)?).await?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await?.to_bytes().to_vec();
        let parsed = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        self.bodies.lock().map_err(|_| "poisoned")?.push((uri.to_owned(), bytes));
        Ok(Answer { status, headers, body: parsed })
    }

    /// How many bodies were kept.
    pub fn count(&self) -> usize {
        self.bodies.lock().map(|bodies| bodies.len()).unwrap_or_default()
    }

    /// Fails when any body kept holds `text`.
    pub fn assert_never_seen(&self, text: &str) {
        let bodies = self.bodies.lock().map(|bodies| bodies.clone()).unwrap_or_default();
        for (uri, body) in bodies {
            let haystack = String::from_utf8_lossy(&body);
            assert!(!haystack.contains(text), "the answer to {uri} shows a secret: {haystack}");
        }
    }
}

/// Creates a pipeline `name` over a new repository (in `directory/name`) with these files.
pub async fn pipeline_with_files(
    app: &Router,
    admin: &str,
    directory: &Path,
    name: &str,
    files: &[(&str, &str)],
) -> TestResult {
    let repository = directory.join(name);
    make_repository(&repository, files)?;
    let body = json!({ "name": name, "repository": repository.display().to_string() });
    let created = send(app, Method::POST, "/api/v1/pipelines", Some(admin), Some(body)).await?;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    Ok(())
}

/// Queues a run of `pipeline` with this body; gives its id.
pub async fn start_run(app: &Router, token: &str, pipeline: &str, body: Value) -> TestResult<i64> {
    let started =
        send(app, Method::POST, &format!("/api/v1/pipelines/{pipeline}/runs"), Some(token), Some(body)).await?;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
    Ok(started.body["id"].as_i64().ok_or("no run id")?)
}

/// Every job's log of a run, by job key.
pub async fn logs_by_job(app: &Router, token: &str, id: i64) -> TestResult<Vec<(String, String)>> {
    let logs = send(app, Method::GET, &format!("/api/v1/runs/{id}/logs"), Some(token), None).await?;
    assert_eq!(logs.status, StatusCode::OK, "{}", logs.body);
    Ok(logs.body["jobs"]
        .as_array()
        .ok_or("no jobs")?
        .iter()
        .map(|job| {
            (job["key"].as_str().unwrap_or_default().to_owned(), job["log"].as_str().unwrap_or_default().to_owned())
        })
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_has_these_routes() -> TestResult {
    let directory = tempfile::tempdir()?;
    let server = crate::support::TestServer::start(directory.path(), 0).await?;
    let document = send(&server.app(), Method::GET, "/api/v1/openapi.json", None, None).await?;
    for (path, methods) in [
        ("/pipelines/{name}", &["patch"][..]),
        ("/pipelines/{name}/variables", &["get"]),
        ("/pipelines/{name}/variables/{var}", &["put", "delete"]),
        ("/variable-groups", &["get", "post"]),
        ("/variable-groups/{group}", &["get", "delete"]),
        ("/variable-groups/{group}/variables/{var}", &["put", "delete"]),
        ("/runs/{id}/artifacts", &["get"]),
        ("/runs/{id}/artifacts/{name}", &["get", "put"]),
        ("/runs/{id}/tests", &["get"]),
        ("/runs/{id}/rerun", &["post"]),
        ("/runs/{id}/keep", &["post"]),
        ("/pipelines/{name}/runs", &["post"]),
    ] {
        for method in methods {
            assert!(document.body["paths"][path][method].is_object(), "{method} {path} is not documented");
        }
    }
    for schema in ["Variable", "SetVariable", "VariableGroup", "Retention", "Artifact", "RunTests", "Run", "Problem"] {
        assert!(document.body["components"]["schemas"][schema].is_object(), "no schema {schema}");
    }
    assert!(document.body["components"]["schemas"]["CreateRun"]["properties"]["variables"].is_object());
    server.stop().await;
    Ok(())
}
