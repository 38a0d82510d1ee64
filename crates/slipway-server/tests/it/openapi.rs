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

/// The README's text, read from the repository.
fn readme() -> TestResult<String> {
    Ok(std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))?)
}

/// Whether a README path (`/pipelines/NAME/webhook`, `/pipelines/{name}`) matches a documented
/// one: placeholders (`{name}`) and the README's capitalised stand-ins (`NAME`) match any segment.
fn matches_documented(readme_path: &str, documented: &str) -> bool {
    let placeholder = |segment: &str| {
        (segment.starts_with('{') && segment.ends_with('}'))
            || (!segment.is_empty() && segment.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
    };
    let ours: Vec<&str> = readme_path.split('/').collect();
    let theirs: Vec<&str> = documented.split('/').collect();
    ours.len() == theirs.len() && ours.iter().zip(&theirs).all(|(a, b)| a == b || placeholder(a) || placeholder(b))
}

/// Every API address the README gives (`METHOD /api/v1/...` and bare `/api/v1/...`) is in the
/// OpenAPI document, with that method; every web UI page it names is served (issue 11: the README
/// once gave a wrong address).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_address_the_readme_gives_exists() -> TestResult {
    let directory = tempfile::tempdir()?;
    let server = TestServer::start(directory.path(), 0).await?;
    let app = server.app();
    let document = send(&app, Method::GET, "/api/v1/openapi.json", None, None).await?;
    let paths = document.body["paths"].as_object().ok_or("no paths")?;
    let text = readme()?;
    let mut checked = 0;
    let ends = |c: char| c.is_whitespace() || "`)\"',;".contains(c);
    for (at, _) in text.match_indices("/api/v1/") {
        let path = &text[at + "/api/v1".len()..];
        let path = &path[..path.find(ends).unwrap_or(path.len())];
        let path = path.split('?').next().unwrap_or(path).trim_end_matches(['.', ':']);
        let before = text[..at].trim_end();
        let method = METHODS.iter().find(|method| {
            before.ends_with(&method.to_uppercase()) || before.ends_with(&format!("-X {}", method.to_uppercase()))
        });
        let found = paths.iter().any(|(documented, item)| {
            matches_documented(path, documented) && method.is_none_or(|method| item.get(*method).is_some())
        });
        assert!(found, "the README gives {} /api/v1{path}, which the API does not have", method.map_or("", |m| m));
        checked += 1;
    }
    assert!(checked >= 7, "only {checked} API addresses were found in the README");
    // The web UI's pages it names: served (a sign-in redirect counts), not "no such page".
    let mut pages = 0;
    for (at, _) in text.match_indices("(`/") {
        let path = &text[at + 2..];
        let path = &path[..path.find('`').unwrap_or(path.len())];
        if path.starts_with("/api") || path.starts_with("/proc") || path.starts_with("/tmp") {
            continue;
        }
        let concrete = path.replace("NAME", "example").replace("GROUP", "example");
        let answer = crate::support::send_raw(&app, Method::GET, &concrete, None, None, Vec::new()).await?;
        assert_ne!(answer.status, StatusCode::NOT_FOUND, "the README names the page {path}, which is not served");
        pages += 1;
    }
    assert!(pages >= 3, "only {pages} web pages were found in the README");
    // `METHOD /path` outside the API: a page of the web UI, served.
    for method in METHODS.map(str::to_uppercase) {
        for (at, _) in text.match_indices(&format!("{method} /")) {
            let path = &text[at + method.len() + 1..];
            let path = &path[..path.find(ends).unwrap_or(path.len())];
            if path.starts_with("/api/v1/") {
                continue;
            }
            let answer =
                crate::support::send_raw(&app, Method::from_bytes(method.as_bytes())?, path, None, None, Vec::new())
                    .await?;
            assert_ne!(answer.status, StatusCode::NOT_FOUND, "the README gives {method} {path}, which is not served");
        }
    }
    server.stop().await;
    Ok(())
}
