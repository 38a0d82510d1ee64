//! Notifications delivered to real receivers on loopback: an HTTP receiver (std::net, one
//! thread) that records every request and answers 500 to the first requests of a path as told,
//! and an SMTP sink that keeps every message. A run's events reach a signed webhook once after
//! two 500s, Slack as Block Kit, Teams as an Adaptive Card and an e-mail once; filters keep
//! others out; a test notification goes out on demand; mistakes are named; secrets never shown.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::signed_in as browser;
use crate::support::{TestResult, TestServer, create_user, make_repository, on_both_databases, send, wait_for_run};

/// A request an [`HttpReceiver`] got.
#[derive(Clone, Debug)]
struct Received {
    path: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

/// An HTTP receiver on loopback that records requests; the first `failures[path]` requests of a
/// path are answered 500, the others 200.
struct HttpReceiver {
    address: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl HttpReceiver {
    fn start(failures: &[(&str, usize)]) -> TestResult<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let address = format!("http://{}", listener.local_addr()?);
        let received = Arc::new(Mutex::new(Vec::new()));
        let failures: HashMap<String, usize> =
            failures.iter().map(|(path, count)| ((*path).to_owned(), *count)).collect();
        let kept = Arc::clone(&received);
        std::thread::spawn(move || {
            let mut failures = failures;
            for stream in listener.incoming().flatten() {
                let Ok(request) = read_request(&stream) else { continue };
                let fail = failures.get_mut(&request.path).is_some_and(|left| {
                    let fail = *left > 0;
                    *left = left.saturating_sub(1);
                    fail
                });
                if let Ok(mut requests) = kept.lock() {
                    requests.push(request);
                }
                let status = if fail { "500 Internal Server Error" } else { "200 OK" };
                let mut stream = stream;
                let _ = write!(stream, "HTTP/1.1 {status}\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
            }
        });
        Ok(Self { address, received })
    }

    fn requests(&self, path: &str) -> Vec<Received> {
        self.received
            .lock()
            .map(|requests| requests.iter().filter(|request| request.path == path).cloned().collect())
            .unwrap_or_default()
    }
}

fn read_request(stream: &TcpStream) -> TestResult<Received> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let path = line.split_whitespace().nth(1).unwrap_or_default().to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header)?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    let length: usize = headers.get("content-length").and_then(|length| length.parse().ok()).unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(Received { path, headers, body })
}

/// An SMTP sink on loopback keeping each message's data.
struct SmtpSink {
    port: u16,
    messages: Arc<Mutex<Vec<String>>>,
}

impl SmtpSink {
    fn start() -> TestResult<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&messages);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = serve_smtp(stream, &kept);
            }
        });
        Ok(Self { port, messages })
    }

    fn messages(&self) -> Vec<String> {
        self.messages.lock().map(|messages| messages.clone()).unwrap_or_default()
    }
}

fn serve_smtp(stream: TcpStream, messages: &Mutex<Vec<String>>) -> TestResult {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    writer.write_all(b"220 sink ESMTP\r\n")?;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_ascii_uppercase();
        if command.starts_with("EHLO") {
            writer.write_all(b"250-sink\r\n250 8BITMIME\r\n")?;
        } else if command == "DATA" {
            writer.write_all(b"354 go on\r\n")?;
            let mut data = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line)? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" {
                    break;
                }
                data.push_str(&line);
            }
            messages.lock().map_err(|_| "poisoned")?.push(data);
            writer.write_all(b"250 kept\r\n")?;
        } else if command == "QUIT" {
            writer.write_all(b"221 bye\r\n")?;
            return Ok(());
        } else {
            writer.write_all(b"250 ok\r\n")?;
        }
    }
}

const ONE_JOB: &str = "trigger: none\nsteps:\n- checkout: none\n- script: echo hello\n";

/// Asks for the delivery log until `done` says it is complete (at most 20 s).
async fn wait_for_deliveries(
    app: &axum::Router,
    token: &str,
    done: impl Fn(&[Value]) -> bool,
) -> TestResult<Vec<Value>> {
    let mut last = Vec::new();
    for _ in 0..80 {
        let answer = send(app, Method::GET, "/api/v1/notifications/deliveries", Some(token), None).await?;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        last = answer.body.as_array().cloned().unwrap_or_default();
        if done(&last) {
            return Ok(last);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Err(format!("the deliveries did not come: {last:?}").into())
}

async fn subscribe(app: &axum::Router, admin: &str, body: Value) -> TestResult<i64> {
    let answer = send(app, Method::POST, "/api/v1/notifications/subscriptions", Some(admin), Some(body)).await?;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    Ok(answer.body["id"].as_i64().ok_or("no id")?)
}

on_both_databases! {
    /// A run's finished event goes to a webhook (after two 500s, once, signed), Slack, Teams and
    /// e-mail; a subscription of another branch gets nothing; a test goes out on demand.
    async fn a_runs_events_reach_real_receivers_once(database) {
        let directory = tempfile::tempdir()?;
        let server = TestServer::start_on(&directory.path().join("data"), database.as_deref(), 2).await?;
        let app = server.app();
        let admin = server.admin_token.clone().ok_or("no admin token")?;
        let receiver = HttpReceiver::start(&[("/hook", 2)])?;
        let sink = SmtpSink::start()?;
        let base = receiver.address.clone();
        let finished = ["pipelinerun.finished"];
        let hook = subscribe(&app, &admin, json!({ "name": "hook", "kind": "webhook", "target": format!("{base}/hook"), "secret": "hook-key-123", "pipeline": "shop", "types": finished })).await?;
        let slack = subscribe(&app, &admin, json!({ "name": "slack", "kind": "slack", "target": format!("{base}/slack/T000/B000/XXXX"), "types": finished })).await?;
        subscribe(&app, &admin, json!({ "name": "teams", "kind": "teams", "target": format!("{base}/teams"), "types": finished, "results": ["success"] })).await?;
        subscribe(&app, &admin, json!({ "name": "mail", "kind": "email", "target": format!("smtp://127.0.0.1:{}/ops@example.com?from=ci@example.com", sink.port), "types": finished })).await?;
        subscribe(&app, &admin, json!({ "name": "other-branch", "kind": "webhook", "target": format!("{base}/other"), "branches": ["release"] })).await?;
        subscribe(&app, &admin, json!({ "name": "other-pipeline", "kind": "webhook", "target": format!("{base}/other"), "pipeline": "web" })).await?;

        let repository = directory.path().join("shop");
        make_repository(&repository, &[("azure-pipelines.yml", ONE_JOB)])?;
        let pipeline = json!({ "name": "shop", "repository": repository.display().to_string() });
        assert_eq!(send(&app, Method::POST, "/api/v1/pipelines", Some(&admin), Some(pipeline)).await?.status, StatusCode::CREATED);
        let started = send(&app, Method::POST, "/api/v1/pipelines/shop/runs", Some(&admin), Some(json!({}))).await?;
        let run = started.body["id"].as_i64().ok_or("no run id")?;
        assert_eq!(wait_for_run(&app, &admin, run).await?["result"], "Succeeded");
        let _stream = slipway_service::events::start(&server.state, "127.0.0.1:8080".parse()?);

        let deliveries = wait_for_deliveries(&app, &admin, |deliveries| {
            deliveries.len() == 4 && deliveries.iter().all(|delivery| delivery["state"] == "delivered")
        })
        .await?;
        let of_hook = deliveries.iter().find(|delivery| delivery["subscription"] == hook).ok_or("no hook delivery")?;
        assert_eq!(of_hook["attempts"], 3, "{of_hook}");
        assert_eq!(of_hook["responseStatus"], 200);
        assert_eq!(of_hook["lastError"], Value::Null);

        // The webhook: three requests of the same signed CloudEvent, the last one answered 200.
        let hooks = receiver.requests("/hook");
        assert_eq!(hooks.len(), 3);
        assert!(hooks.iter().all(|request| request.body == hooks[0].body));
        let last = &hooks[2];
        assert_eq!(last.headers.get("content-type").map(String::as_str), Some("application/cloudevents+json"));
        let expected = slipway_insights::notifications::render::signature(b"hook-key-123", &last.body);
        assert_eq!(last.headers.get("x-slipway-signature-256"), Some(&expected));
        let event: Value = serde_json::from_slice(&last.body)?;
        assert_eq!(event["type"], "dev.cdevents.pipelinerun.finished.0.3.0");
        assert_eq!(event["specversion"], "1.0");
        assert_eq!(event["data"]["subject"]["content"]["outcome"], "success");
        assert!(!String::from_utf8_lossy(&last.body).contains("hook-key-123"));

        // Slack: Block Kit with a header, fields, context and a button to the run.
        let slacks = receiver.requests("/slack/T000/B000/XXXX");
        assert_eq!(slacks.len(), 1);
        let message: Value = serde_json::from_slice(&slacks[0].body)?;
        let title = message["text"].as_str().unwrap_or_default().to_owned();
        assert!(title.starts_with("shop #") && title.ends_with(" succeeded"), "{title}");
        let blocks = message["blocks"].as_array().ok_or("no blocks")?;
        let kinds: Vec<&str> = blocks.iter().filter_map(|block| block["type"].as_str()).collect();
        assert_eq!(kinds, ["header", "section", "context", "actions"]);
        assert_eq!(blocks[0]["text"]["text"], title.as_str());
        assert_eq!(blocks[1]["fields"][0]["text"], "*Pipeline:*\nshop");
        assert_eq!(blocks[3]["elements"][0]["url"], format!("http://127.0.0.1:8080/runs/{run}"));

        // Teams: an Adaptive Card 1.4 with a fact set and a link.
        let teams = receiver.requests("/teams");
        assert_eq!(teams.len(), 1);
        let message: Value = serde_json::from_slice(&teams[0].body)?;
        assert_eq!(message["type"], "message");
        let card = &message["attachments"][0];
        assert_eq!(card["contentType"], "application/vnd.microsoft.card.adaptive");
        assert_eq!(card["content"]["type"], "AdaptiveCard");
        assert_eq!(card["content"]["version"], "1.4");
        assert_eq!(card["content"]["body"][1]["type"], "FactSet");
        assert_eq!(card["content"]["actions"][0]["type"], "Action.OpenUrl");

        // E-mail: one message.
        let messages = sink.messages();
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert!(messages[0].contains(&format!("Subject: [Slipway] {title}")), "{}", messages[0]);
        assert!(messages[0].contains("ops@example.com"));

        // Nothing for the other branch or pipeline, and nothing twice.
        assert!(receiver.requests("/other").is_empty());
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(receiver.requests("/hook").len(), 3);
        assert_eq!(sink.messages().len(), 1);

        // A test notification on demand.
        let tested = send(&app, Method::POST, &format!("/api/v1/notifications/subscriptions/{slack}/test"), Some(&admin), None).await?;
        assert_eq!(tested.status, StatusCode::ACCEPTED, "{}", tested.body);
        wait_for_deliveries(&app, &admin, |deliveries| deliveries.len() == 5 && deliveries.iter().all(|delivery| delivery["state"] == "delivered")).await?;
        let slacks = receiver.requests("/slack/T000/B000/XXXX");
        assert_eq!(slacks.len(), 2);
        let message: Value = serde_json::from_slice(&slacks[1].body)?;
        assert!(message["text"].as_str().unwrap_or_default().contains("Test notification of subscription 'slack'"), "{message}");

        // Secrets and URLs' paths masked.
        let listed = send(&app, Method::GET, "/api/v1/notifications/subscriptions", Some(&admin), None).await?;
        let text = listed.body.to_string();
        assert!(!text.contains("hook-key-123") && !text.contains("XXXX"), "{text}");
        assert_eq!(listed.body[0]["secret"], "***");
        assert_eq!(listed.body[1]["target"], format!("{base}/***"));
        let filtered = send(&app, Method::GET, &format!("/api/v1/notifications/deliveries?subscription={hook}&state=delivered"), Some(&admin), None).await?;
        assert_eq!(filtered.body.as_array().map(Vec::len), Some(1));
        server.stop().await;
        Ok(())
    }
}

on_both_databases! {
    /// A receiver that refuses (a 4xx) fails the delivery at once; one that never answers 2xx is
    /// given up after the attempts.
    async fn refusals_fail_at_once(database) {
        let directory = tempfile::tempdir()?;
        let server = TestServer::start_on(&directory.path().join("data"), database.as_deref(), 1).await?;
        let app = server.app();
        let admin = server.admin_token.clone().ok_or("no admin token")?;
        // A listener that answers 404 to everything.
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let address = listener.local_addr()?;
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                if read_request(&stream).is_ok() {
                    let mut stream = stream;
                    let _ = stream.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                }
            }
        });
        let id = subscribe(&app, &admin, json!({ "name": "gone", "kind": "webhook", "target": format!("http://{address}/gone") })).await?;
        let _stream = slipway_service::events::start(&server.state, "127.0.0.1:8080".parse()?);
        let tested = send(&app, Method::POST, &format!("/api/v1/notifications/subscriptions/{id}/test"), Some(&admin), None).await?;
        assert_eq!(tested.status, StatusCode::ACCEPTED);
        let deliveries = wait_for_deliveries(&app, &admin, |deliveries| deliveries.first().is_some_and(|delivery| delivery["state"] == "failed")).await?;
        assert_eq!(deliveries[0]["attempts"], 1);
        assert_eq!(deliveries[0]["responseStatus"], 404);
        assert_eq!(deliveries[0]["lastError"], "answered 404");
        server.stop().await;
        Ok(())
    }
}

on_both_databases! {
    /// Mistakes are named; readers read and may not subscribe; deleting works once.
    async fn mistakes_are_named_and_roles_kept(database) {
        let directory = tempfile::tempdir()?;
        let server = TestServer::start_on(&directory.path().join("data"), database.as_deref(), 1).await?;
        let app = server.app();
        let admin = server.admin_token.clone().ok_or("no admin token")?;
        let reader = create_user(&app, &admin, "rita", "reader").await?;
        let cases = [
            (json!({ "name": "x", "kind": "pager", "target": "https://example.com/" }), "kind"),
            (json!({ "name": "x", "kind": "slack", "target": "ftp://example.com/" }), "target"),
            (json!({ "name": "x", "kind": "slack", "target": "https:///nohost" }), "target"),
            (json!({ "name": "x", "kind": "email", "target": "ops@example.com" }), "target"),
            (json!({ "name": "x", "kind": "webhook", "target": "https://example.com/", "branches": [" "] }), "branches"),
            (json!({ "name": "x", "kind": "slack", "target": "https://example.com/", "secret": "k" }), "secret"),
            (json!({ "name": "x", "kind": "slack", "target": "https://example.com/", "pipeline": "a", "environment": "b" }), "environment"),
            (json!({ "name": " ", "kind": "slack", "target": "https://example.com/" }), "name"),
        ];
        for (body, field) in cases {
            let answer = send(&app, Method::POST, "/api/v1/notifications/subscriptions", Some(&admin), Some(body.clone())).await?;
            let detail = answer.expect_problem(400);
            assert!(detail.contains(field), "{body}: {detail}");
        }
        let body = json!({ "name": "ok", "kind": "slack", "target": "https://example.com/a" });
        let refused = send(&app, Method::POST, "/api/v1/notifications/subscriptions", Some(&reader), Some(body.clone())).await?;
        refused.expect_problem(403);
        let id = subscribe(&app, &admin, body.clone()).await?;
        send(&app, Method::POST, "/api/v1/notifications/subscriptions", Some(&admin), Some(body)).await?.expect_problem(409);
        let read = send(&app, Method::GET, &format!("/api/v1/notifications/subscriptions/{id}"), Some(&reader), None).await?;
        assert_eq!(read.status, StatusCode::OK);
        assert_eq!(read.body["target"], "https://example.com/***");
        send(&app, Method::GET, "/api/v1/notifications/deliveries?state=lost", Some(&reader), None).await?.expect_problem(400);
        send(&app, Method::DELETE, &format!("/api/v1/notifications/subscriptions/{id}"), Some(&reader), None).await?.expect_problem(403);
        let deleted = send(&app, Method::DELETE, &format!("/api/v1/notifications/subscriptions/{id}"), Some(&admin), None).await?;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT);
        send(&app, Method::DELETE, &format!("/api/v1/notifications/subscriptions/{id}"), Some(&admin), None).await?.expect_problem(404);
        server.stop().await;
        Ok(())
    }
}

/// The page: an admin subscribes (a refused form says why, what was typed kept), sends a test and
/// removes; secrets and URL paths are masked; a reader sees no forms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_in_the_web_ui() -> TestResult {
    let directory = tempfile::tempdir()?;
    let server = TestServer::start(directory.path(), 0).await?;
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    let reader = create_user(&server.app(), &admin, "rita", "reader").await?;
    let mut browser = browser::Browser::new(server.app());
    let csrf = browser.sign_in("admin", &admin).await?;
    let page = browser.get("/notifications").await?;
    assert!(page.body.contains("No subscriptions yet.") && page.body.contains("New subscription"), "{}", page.body);

    let refused = browser
        .post(
            "/notifications",
            &[("csrf", &csrf), ("name", "ops"), ("kind", "webhook"), ("target", "ftp://example.com/x")],
        )
        .await?;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.body.contains("target: a webhook target must be an http:// or https:// URL"), "{}", refused.body);
    assert!(refused.body.contains("value=\"ftp://example.com/x\""), "{}", refused.body);

    let fields = [
        ("csrf", csrf.as_str()),
        ("name", "ops"),
        ("kind", "webhook"),
        ("target", "https://hooks.example.com/private/path"),
        ("secret", "web-key-77"),
        ("types", "pipelinerun.finished, slipway-approval.created"),
        ("results", "failure"),
    ];
    let created = browser.post("/notifications", &fields).await?;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    assert_eq!(created.location, "/notifications");
    let page = browser.get("/notifications").await?;
    assert!(page.body.contains("https://hooks.example.com/***") && page.body.contains("***"), "{}", page.body);
    assert!(!page.body.contains("web-key-77") && !page.body.contains("private/path"), "{}", page.body);
    assert!(page.body.contains("types: pipelinerun.finished, slipway-approval.created"), "{}", page.body);
    let id =
        server.state.store().list_subscriptions().await?.first().map(|subscription| subscription.id.0).ok_or("none")?;

    let tested = browser.post(&format!("/notifications/{id}/test"), &[("csrf", &csrf)]).await?;
    assert_eq!(tested.status, StatusCode::SEE_OTHER, "{}", tested.body);
    let page = browser.get("/notifications").await?;
    assert!(page.body.contains("slipway-notification.test"), "{}", page.body);
    let forged = browser.post(&format!("/notifications/{id}/delete"), &[("csrf", "forged")]).await?;
    assert_ne!(forged.status, StatusCode::SEE_OTHER);

    let mut reading = browser::Browser::new(server.app());
    reading.sign_in("rita", &reader).await?;
    let page = reading.get("/notifications").await?;
    assert!(
        page.body.contains("ops") && !page.body.contains("New subscription") && !page.body.contains("Remove"),
        "{}",
        page.body
    );

    let removed = browser.post(&format!("/notifications/{id}/delete"), &[("csrf", &csrf)]).await?;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.body);
    assert!(browser.get("/notifications").await?.body.contains("No subscriptions yet."));
    server.stop().await;
    Ok(())
}

/// An approval waiting on someone is announced to the environment's subscribers: who must
/// approve, the instructions, and a button to the approval.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approvals_waiting_are_announced_with_a_link() -> TestResult {
    let directory = tempfile::tempdir()?;
    let server = TestServer::start(&directory.path().join("data"), 2).await?;
    let app = server.app();
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    create_user(&app, &admin, "ana", "contributor").await?;
    let receiver = HttpReceiver::start(&[])?;
    let environment = json!({ "name": "production" });
    let created = send(&app, Method::POST, "/api/v1/environments", Some(&admin), Some(environment)).await?;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let check = json!({ "type": "approval", "settings": { "approvers": ["ana"], "instructions": "Check the canary" } });
    let added = send(&app, Method::POST, "/api/v1/environments/production/checks", Some(&admin), Some(check)).await?;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    let target = format!("{}/slack", receiver.address);
    let body = json!({ "name": "approvals", "kind": "slack", "target": target, "environment": "production", "types": ["slipway-approval.created"] });
    subscribe(&app, &admin, body).await?;
    let _stream = slipway_service::events::start(&server.state, "127.0.0.1:8080".parse()?);

    let repository = directory.path().join("shop");
    make_repository(&repository, &[("azure-pipelines.yml", &crate::support::deploys_to("production"))])?;
    let pipeline = json!({ "name": "shop", "repository": repository.display().to_string() });
    assert_eq!(
        send(&app, Method::POST, "/api/v1/pipelines", Some(&admin), Some(pipeline)).await?.status,
        StatusCode::CREATED
    );
    let started = send(&app, Method::POST, "/api/v1/pipelines/shop/runs", Some(&admin), Some(json!({}))).await?;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);

    wait_for_deliveries(&app, &admin, |deliveries| deliveries.iter().any(|delivery| delivery["state"] == "delivered"))
        .await?;
    let requests = receiver.requests("/slack");
    assert_eq!(requests.len(), 1);
    let message: Value = serde_json::from_slice(&requests[0].body)?;
    let text = message["text"].as_str().unwrap_or_default();
    assert!(text.starts_with("Approval waiting for production #"), "{message}");
    let fields = message["blocks"][1]["fields"].to_string();
    assert!(fields.contains("*Approvers:*\\nana") && fields.contains("*Instructions:*\\nCheck the canary"), "{fields}");
    let button = &message["blocks"][3]["elements"][0];
    assert_eq!(button["text"]["text"], "Review approval");
    assert!(
        button["url"].as_str().is_some_and(|url| url.starts_with("http://127.0.0.1:8080/approvals#approval-")),
        "{button}"
    );
    server.stop().await;
    Ok(())
}

/// A server restarted over the same data sends nothing again: the cursor and the deliveries'
/// states are in the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_sends_nothing_twice() -> TestResult {
    let directory = tempfile::tempdir()?;
    let data = directory.path().join("data");
    let server = TestServer::start(&data, 2).await?;
    let app = server.app();
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    let receiver = HttpReceiver::start(&[])?;
    let target = format!("{}/hook", receiver.address);
    subscribe(&app, &admin, json!({ "name": "hook", "kind": "webhook", "target": target, "types": ["pipelinerun."] }))
        .await?;
    let repository = directory.path().join("shop");
    make_repository(&repository, &[("azure-pipelines.yml", ONE_JOB)])?;
    let pipeline = json!({ "name": "shop", "repository": repository.display().to_string() });
    assert_eq!(
        send(&app, Method::POST, "/api/v1/pipelines", Some(&admin), Some(pipeline)).await?.status,
        StatusCode::CREATED
    );
    let started = send(&app, Method::POST, "/api/v1/pipelines/shop/runs", Some(&admin), Some(json!({}))).await?;
    let run = started.body["id"].as_i64().ok_or("no run id")?;
    wait_for_run(&app, &admin, run).await?;
    let stream = slipway_service::events::start(&server.state, "127.0.0.1:8080".parse()?);
    // queued, started, finished.
    let done = |deliveries: &[Value]| {
        deliveries.len() == 3 && deliveries.iter().all(|delivery| delivery["state"] == "delivered")
    };
    wait_for_deliveries(&app, &admin, done).await?;
    server.stop().await;
    stream.abort();
    assert_eq!(receiver.requests("/hook").len(), 3);

    let server = TestServer::start(&data, 0).await?;
    let app = server.app();
    let _stream = slipway_service::events::start(&server.state, "127.0.0.1:8080".parse()?);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let deliveries = wait_for_deliveries(&app, &admin, done).await?;
    assert_eq!(deliveries.len(), 3);
    assert_eq!(receiver.requests("/hook").len(), 3);
    server.stop().await;
    Ok(())
}
