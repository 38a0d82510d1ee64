//! The OpenAPI document is generated from the routes and their wire types: every operation it
//! lists is served, every route is registered so that it is documented, and its schemas are the
//! wire types'.

use axum::http::{Method, StatusCode};
use serde_json::Value;

use crate::support::{TestResult, TestServer, send};

/// The methods an OpenAPI path item can hold.
const METHODS: [&str; 7] = ["get", "put", "post", "delete", "patch", "head", "options"];

/// Puts a sample value in each `{parameter}` of a documented path.
fn concrete(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').map_or(rest.len(), |end| start + end + 1);
        let name = &rest[start + 1..end - 1];
        out.push_str(match name {
            "id" | "job" => "1",
            "provider" => "github",
            "digest" => "sha256:0000000000000000000000000000000000000000000000000000000000000000",
            _ => "sample",
        });
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_is_served() -> TestResult {
    let directory = tempfile::tempdir()?;
    let server = TestServer::start(directory.path(), 0).await?;
    let app = server.app();
    let document = send(&app, Method::GET, "/api/v1/openapi.json", None, None).await?;
    assert_eq!(document.status, StatusCode::OK);
    assert_eq!(document.body["openapi"], "3.1.0");
    assert_eq!(document.body["servers"][0]["url"], "/api/v1");
    let paths = document.body["paths"].as_object().ok_or("no paths")?;
    let mut operations = 0;
    let mut operation_ids = std::collections::BTreeSet::new();
    for (path, item) in paths {
        for method in METHODS.iter().filter(|method| item.get(**method).is_some()) {
            operations += 1;
            let uri = format!("/api/v1{}", concrete(path));
            let method = Method::from_bytes(method.to_uppercase().as_bytes())?;
            // No credentials: a served route answers 200 (health), 401, 400 (the agent protocol's
            // header is missing) or its own 404 (no such pipeline), never "no such route" or 405.
            let answer = send(&app, method.clone(), &uri, None, None).await?;
            assert_ne!(answer.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path} is documented, not served");
            assert_ne!(
                answer.body["detail"], "there is no such API route",
                "{method} {path} is documented, not served"
            );
            let operation = &item[method.as_str().to_lowercase()];
            let id = operation["operationId"].as_str().ok_or("an operation without an id")?;
            assert!(operation_ids.insert(id.to_owned()), "two operations are named {id}");
            assert!(operation["responses"].as_object().is_some_and(|responses| !responses.is_empty()), "{path}");
            assert!(operation["description"].is_string() || operation["summary"].is_string(), "{method} {path}");
        }
    }
    assert!(operations >= 45, "only {operations} operations are documented");
    server.stop().await;
    Ok(())
}

#[test]
fn every_route_is_registered_with_its_documentation() -> TestResult {
    // A route added with axum's own `.route(...)` would be served without being documented; the
    // API's modules register every route through `route!`, which takes the path and methods from
    // the handler's path item (its one `.route(` is marked so).
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![source.join("lib.rs")];
    for entry in std::fs::read_dir(source.join("api"))? {
        files.push(entry?.path());
    }
    for file in files {
        let text = std::fs::read_to_string(&file)?;
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            let marked = text
                .lines()
                .nth(number.saturating_sub(1))
                .is_some_and(|previous| previous.contains("The one place a route is added by path: the handlers' own"));
            assert!(
                marked || (!code.contains(".route(") && !code.contains(".route_service(")),
                "{}:{}: a route added without its OpenAPI path item: register it with `route!`",
                file.display(),
                number + 1
            );
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schemas_are_the_wire_types() -> TestResult {
    let directory = tempfile::tempdir()?;
    let server = TestServer::start(directory.path(), 0).await?;
    let document = send(&server.app(), Method::GET, "/api/v1/openapi.json", None, None).await?;
    let schemas = &document.body["components"]["schemas"];
    let properties = |schema: &str| -> Vec<String> {
        schemas[schema]["properties"].as_object().map(|map| map.keys().cloned().collect()).unwrap_or_default()
    };
    assert_eq!(properties("Problem"), ["detail", "status", "title", "type"]);
    assert!(properties("Run").contains(&"runNumber".to_owned()), "{}", schemas["Run"]);
    assert!(properties("Pipeline").contains(&"queueStatus".to_owned()));
    assert_eq!(schemas["QueueStatus"]["enum"], serde_json::json!(["enabled", "disabled"]));
    assert!(properties("JobMessage").contains(&"lease".to_owned()), "the agent protocol's types are documented");
    // Every reference points at a schema or response the document has.
    let mut references = Vec::new();
    collect_references(&document.body, &mut references);
    assert!(!references.is_empty());
    for reference in references {
        let pointer = reference.trim_start_matches('#');
        assert!(document.body.pointer(pointer).is_some(), "{reference} is not in the document");
    }
    // A problem is answered as the document says.
    let problem = send(&server.app(), Method::GET, "/api/v1/runs/1", None, None).await?;
    assert_eq!(problem.headers["content-type"], "application/problem+json");
    let documented = &document.body["components"]["responses"]["Problem"]["content"];
    assert!(documented["application/problem+json"].is_object(), "{documented}");
    server.stop().await;
    Ok(())
}

fn collect_references(value: &Value, references: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                references.push(reference.clone());
            }
            map.values().for_each(|value| collect_references(value, references));
        }
        Value::Array(items) => items.iter().for_each(|value| collect_references(value, references)),
        _ => {}
    }
}
