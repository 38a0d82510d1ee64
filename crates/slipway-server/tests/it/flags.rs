//! Feature flags through the API: a flagd document saved (every mistake named, 422), read with
//! its revision, one flag changed, concurrent changes refused (409), who may, the audit log; and
//! applications asking over OFREP (single and bulk, with ETag), answered in OFREP's shapes.

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tower::ServiceExt as _;

use crate::support::{TestResult, TestServer, create_user, on_both_databases, send};

/// A request with extra headers and a raw body; the status, the headers and the JSON body.
async fn request(
    app: &Router,
    method: Method,
    uri: &str,
    token: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> TestResult<(StatusCode, axum::http::HeaderMap, Value)> {
    let mut builder = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let response = app.clone().oneshot(builder.body(Body::from(body.to_owned()))?).await?;
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await?.to_bytes();
    Ok((status, headers, serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
}

fn document() -> Value {
    json!({
        "$schema": "https://flagd.dev/schema/v0/flags.json",
        "metadata": {"flagSetId": "shop"},
        "flags": {
            "new-checkout": {
                "state": "ENABLED",
                "variants": {"on": true, "off": false},
                "defaultVariant": "off",
                "targeting": {"if": [{"ends_with": [{"var": "email"}, "@example.com"]}, "on", null]},
                "metadata": {"owner": "payments"}
            },
            "banner-color": {
                "state": "ENABLED",
                "variants": {"red": "#f00", "blue": "#00f"},
                "defaultVariant": "red",
                "targeting": {"fractional": [["red", 50], ["blue", 50]]}
            },
            "legacy-search": {"state": "DISABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"},
            "code-default": {"state": "ENABLED", "variants": {"a": 1, "b": 2}}
        }
    })
}

on_both_databases! {
    /// Flags are saved whole or one at a time over the revision they were read at, checked as
    /// flagd reads them, refused to readers, and recorded in the audit log.
    async fn flags_are_saved_checked_and_changed_over_their_revision(database) {
        let directory = tempfile::tempdir()?;
        let server = TestServer::start_on(&directory.path().join("data"), database.as_deref(), 0).await?;
        let app = server.app();
        let admin = server.admin_token.clone().ok_or("no admin token")?;
        let carl = create_user(&app, &admin, "carl", "contributor").await?;
        let rita = create_user(&app, &admin, "rita", "reader").await?;
        send(&app, Method::POST, "/api/v1/environments", Some(&admin), Some(json!({"name": "production"}))).await?;
        let uri = "/api/v1/environments/production/flags";

        // Before any change: an empty document at revision 0.
        let (status, headers, empty) = request(&app, Method::GET, uri, &rita, &[], "").await?;
        assert_eq!(status, StatusCode::OK, "{empty}");
        assert_eq!((empty["revision"].clone(), empty["flags"].clone()), (json!(0), json!([])));
        assert_eq!(headers.get("etag").and_then(|tag| tag.to_str().ok()), Some("\"0\""));

        // A document with mistakes: each named by its JSON pointer, nothing saved.
        let wrong = json!({"flags": {
            "a": {"state": "ON", "variants": {"x": true, "y": "no"}},
            "b": {"state": "ENABLED", "variants": {"v": 1}, "defaultVariant": "w", "targeting": {"if": [{"$ref": "nope"}, "v", null]}}
        }});
        let (status, _, problem) = request(&app, Method::PUT, uri, &carl, &[], &json!({"document": wrong}).to_string()).await?;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(detail.starts_with("the flag document has 3 mistakes:\n"), "{detail}");
        for expected in [
            "/flags/a/state: must be \"ENABLED\" or \"DISABLED\", not \"ON\"",
            "/flags/a/variants/y: is a string but variant \"x\" is a boolean",
            "/flags/b/defaultVariant: names no variant: \"w\"",
        ] {
            assert!(detail.contains(expected), "{expected} in {detail}");
        }
        let (_, _, targeting) = request(&app, Method::PUT, uri, &carl, &[],
            &json!({"document": {"flags": {"b": {"state": "ENABLED", "variants": {"v": 1}, "targeting": {"if": [{"$ref": "nope"}, "v", null]}}}}}).to_string()).await?;
        assert!(targeting["detail"].as_str().unwrap_or_default().contains("/flags/b/targeting/if/0: `$ref` names no evaluator: \"nope\""), "{targeting}");

        // Readers may not change flags; contributors may.
        let body = json!({"document": document(), "revision": 0}).to_string();
        let (status, _, _) = request(&app, Method::PUT, uri, &rita, &[], &body).await?;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, headers, saved) = request(&app, Method::PUT, uri, &carl, &[], &body).await?;
        assert_eq!(status, StatusCode::OK, "{saved}");
        assert_eq!((saved["revision"].clone(), saved["updatedBy"].clone()), (json!(1), json!("carl")));
        assert_eq!(headers.get("etag").and_then(|tag| tag.to_str().ok()), Some("\"1\""));
        let keys: Vec<&str> = saved["flags"].as_array().ok_or("flags")?.iter().filter_map(|flag| flag["key"].as_str()).collect();
        assert_eq!(keys, ["banner-color", "code-default", "legacy-search", "new-checkout"]);
        assert_eq!(saved["flags"][3], json!({
            "key": "new-checkout", "state": "ENABLED", "type": "boolean", "variants": {"on": true, "off": false},
            "defaultVariant": "off", "targeted": true
        }));
        assert_eq!(saved["document"], document());

        // Saving over revision 0 again is a conflict: the document moved on.
        let (status, _, stale) = request(&app, Method::PUT, uri, &carl, &[], &body).await?;
        assert_eq!(status, StatusCode::CONFLICT, "{stale}");
        assert!(stale["detail"].as_str().unwrap_or_default().contains("at revision 1, not 0"), "{stale}");

        // One flag: its default variant and state, over If-Match.
        let flag = format!("{uri}/new-checkout");
        let patch = json!({"defaultVariant": "on", "state": "disabled"}).to_string();
        let (status, _, stale) = request(&app, Method::PATCH, &flag, &carl, &[("if-match", "\"0\"")], &patch).await?;
        assert_eq!(status, StatusCode::CONFLICT, "{stale}");
        let (status, _, changed) = request(&app, Method::PATCH, &flag, &carl, &[("if-match", "\"1\"")], &patch).await?;
        assert_eq!(status, StatusCode::OK, "{changed}");
        assert_eq!(changed["revision"], 2);
        assert_eq!(changed["document"]["flags"]["new-checkout"]["defaultVariant"], "on");
        assert_eq!(changed["document"]["flags"]["new-checkout"]["state"], "DISABLED");
        let (status, _, unknown) = request(&app, Method::PATCH, &flag, &carl, &[], &json!({"defaultVariant": "maybe"}).to_string()).await?;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{unknown}");
        assert!(unknown["detail"].as_str().unwrap_or_default().contains("/flags/new-checkout/defaultVariant: names no variant: \"maybe\""));
        let (status, _, _) = request(&app, Method::PATCH, &format!("{uri}/nope"), &carl, &[], &json!({"state": "ENABLED"}).to_string()).await?;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _, _) = request(&app, Method::PATCH, &flag, &carl, &[("if-match", "\"2\"")], &json!({"revision": 1, "state": "ENABLED"}).to_string()).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST, "If-Match and revision disagree");

        // A whole flag added, then removed.
        let (status, _, added) = request(&app, Method::PUT, &format!("{uri}/dark-mode"), &carl, &[],
            &json!({"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off"}).to_string()).await?;
        assert_eq!((status, added["revision"].clone()), (StatusCode::OK, json!(3)), "{added}");
        let (status, _, removed) = request(&app, Method::DELETE, &format!("{uri}/dark-mode"), &carl, &[], "").await?;
        assert_eq!(status, StatusCode::OK, "{removed}");
        assert!(removed["document"]["flags"].get("dark-mode").is_none());

        // The audit log has each change with the revision it made.
        let audit = server.state.store().list_audit(None, 20).await?;
        let flags: Vec<(String, String, Value)> = audit
            .iter()
            .filter(|entry| entry.action.starts_with("flags."))
            .map(|entry| (entry.actor.clone(), entry.action.clone(), entry.details["revision"].clone()))
            .collect();
        assert_eq!(flags, [
            ("carl".to_owned(), "flags.delete".to_owned(), json!(4)),
            ("carl".to_owned(), "flags.put".to_owned(), json!(3)),
            ("carl".to_owned(), "flags.set".to_owned(), json!(2)),
            ("carl".to_owned(), "flags.replace".to_owned(), json!(1)),
        ]);
        let set = audit.iter().find(|entry| entry.action == "flags.set").ok_or("no flags.set")?;
        assert_eq!(set.target.as_deref(), Some("production/flags/new-checkout"));
        assert_eq!((set.details["state"].clone(), set.details["defaultVariant"].clone()), (json!("DISABLED"), json!("on")));
        server.stop().await;
        Ok(())
    }
}

on_both_databases! {
    /// Applications ask over OFREP under the environment's path: one flag, or all of them with
    /// an ETag that a repeated request names to get a 304; answers and failures in OFREP's shapes.
    async fn applications_evaluate_flags_over_ofrep(database) {
        let directory = tempfile::tempdir()?;
        let server = TestServer::start_on(&directory.path().join("data"), database.as_deref(), 0).await?;
        let app = server.app();
        let admin = server.admin_token.clone().ok_or("no admin token")?;
        let reader = create_user(&app, &admin, "shop-app", "reader").await?;
        send(&app, Method::POST, "/api/v1/environments", Some(&admin), Some(json!({"name": "production"}))).await?;
        let saved = send(&app, Method::PUT, "/api/v1/environments/production/flags", Some(&admin),
            Some(json!({"document": document()}))).await?;
        assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
        let ofrep = "/api/v1/environments/production/ofrep/v1/evaluate/flags";
        let evaluate = |key: &str, context: Value| {
            let app = app.clone();
            let reader = reader.clone();
            let uri = format!("{ofrep}/{key}");
            async move { request(&app, Method::POST, &uri, &reader, &[], &json!({"context": context}).to_string()).await }
        };

        let (status, _, matched) = evaluate("new-checkout", json!({"targetingKey": "u1", "email": "ann@example.com"})).await?;
        assert_eq!(status, StatusCode::OK, "{matched}");
        assert_eq!(matched, json!({"key": "new-checkout", "value": true, "reason": "TARGETING_MATCH", "variant": "on",
            "metadata": {"flagSetId": "shop", "owner": "payments"}}));
        let (_, _, default) = evaluate("new-checkout", json!({"targetingKey": "u2", "email": "bob@elsewhere.org"})).await?;
        assert_eq!((default["value"].clone(), default["reason"].clone(), default["variant"].clone()), (json!(false), json!("DEFAULT"), json!("off")));
        // fractional: sticky for a targeting key; without one, the default variant.
        let (_, _, first) = evaluate("banner-color", json!({"targetingKey": "user-7"})).await?;
        let (_, _, again) = evaluate("banner-color", json!({"targetingKey": "user-7"})).await?;
        assert_eq!((first["reason"].clone(), first["variant"].clone()), (json!("TARGETING_MATCH"), again["variant"].clone()));
        let (_, _, keyless) = evaluate("banner-color", json!({})).await?;
        assert_eq!((keyless["reason"].clone(), keyless["variant"].clone()), (json!("DEFAULT"), json!("red")));
        // Disabled, and no default variant: no value, the application's own default.
        let (status, _, disabled) = evaluate("legacy-search", json!({})).await?;
        assert_eq!((status, disabled), (StatusCode::OK, json!({"key": "legacy-search", "reason": "DISABLED", "metadata": {"flagSetId": "shop"}})));
        let (_, _, code_default) = evaluate("code-default", json!({})).await?;
        assert_eq!(code_default, json!({"key": "code-default", "reason": "DEFAULT", "metadata": {"flagSetId": "shop"}}));
        // Failures: an unknown flag (404), a context that is not an object (400).
        let (status, _, missing) = evaluate("nope", json!({})).await?;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!((missing["key"].clone(), missing["errorCode"].clone()), (json!("nope"), json!("FLAG_NOT_FOUND")));
        let (status, _, invalid) = evaluate("new-checkout", json!("a string")).await?;
        assert_eq!((status, invalid["errorCode"].clone()), (StatusCode::BAD_REQUEST, json!("INVALID_CONTEXT")), "{invalid}");
        let (status, _, unreadable) = request(&app, Method::POST, &format!("{ofrep}/new-checkout"), &reader, &[], "{not json").await?;
        assert_eq!((status, unreadable["errorCode"].clone()), (StatusCode::BAD_REQUEST, json!("INVALID_CONTEXT")));
        // No token: 401; an unknown environment: 404.
        let anonymous = app.clone().oneshot(Request::builder().method(Method::POST).uri(format!("{ofrep}/new-checkout")).body(Body::from("{}"))?).await?;
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
        let (status, _, _) = request(&app, Method::POST, "/api/v1/environments/nowhere/ofrep/v1/evaluate/flags/x", &reader, &[], "{}").await?;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // Bulk: every flag, failures in place, the ETag honoured.
        let context = json!({"context": {"targetingKey": "u1", "email": "ann@example.com"}}).to_string();
        let (status, headers, bulk) = request(&app, Method::POST, ofrep, &reader, &[], &context).await?;
        assert_eq!(status, StatusCode::OK, "{bulk}");
        assert_eq!(bulk["metadata"], json!({"flagSetId": "shop"}));
        let reasons: Vec<(&str, &str)> = bulk["flags"].as_array().ok_or("flags")?.iter()
            .map(|flag| (flag["key"].as_str().unwrap_or_default(), flag["reason"].as_str().unwrap_or_default())).collect();
        assert_eq!(reasons, [("banner-color", "TARGETING_MATCH"), ("code-default", "DEFAULT"), ("legacy-search", "DISABLED"), ("new-checkout", "TARGETING_MATCH")]);
        let etag = headers.get("etag").and_then(|tag| tag.to_str().ok()).ok_or("no ETag")?.to_owned();
        assert!(etag.starts_with("\"1-"), "{etag}");
        let (status, _, none) = request(&app, Method::POST, ofrep, &reader, &[("if-none-match", &etag)], &context).await?;
        assert_eq!((status, none), (StatusCode::NOT_MODIFIED, Value::Null));
        // Another context's answer differs, and so does its ETag.
        let other = json!({"context": {"targetingKey": "u1", "email": "bob@elsewhere.org"}}).to_string();
        let (status, headers, _) = request(&app, Method::POST, ofrep, &reader, &[("if-none-match", &etag)], &other).await?;
        assert_eq!(status, StatusCode::OK);
        assert_ne!(headers.get("etag").and_then(|tag| tag.to_str().ok()), Some(etag.as_str()));
        // A change: the same context's answer is new.
        let patched = send(&app, Method::PATCH, "/api/v1/environments/production/flags/legacy-search", Some(&admin),
            Some(json!({"state": "ENABLED"}))).await?;
        assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
        let (status, _, after) = request(&app, Method::POST, ofrep, &reader, &[("if-none-match", &etag)], &context).await?;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(after["flags"][2], json!({"key": "legacy-search", "value": true, "reason": "STATIC", "variant": "on", "metadata": {"flagSetId": "shop"}}));
        server.stop().await;
        Ok(())
    }
}
