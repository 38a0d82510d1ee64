//! Work items and incidents over the API and in the web UI.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use slipway_store::{ChangeKind, NewWorkItem, NewWorkItemLink, WorkItemKind};

use crate::signed_in as browser;
use crate::support::{TestResult, TestServer, create_user, on_both_databases, send};

fn ids(page: &Value) -> Vec<i64> {
    page["workItems"]
        .as_array()
        .map(|items| items.iter().filter_map(|item| item["id"].as_i64()).collect())
        .unwrap_or_default()
}

on_both_databases! {
    /// People open, list, change, comment on and link work items; readers only read; every
    /// mistake names its field; people's changes are audited and every change is recorded in
    /// the outbox.
    async fn work_items_over_the_api(database) {
        let directory = tempfile::tempdir()?;
        let server = TestServer::start_on(&directory.path().join("data"), database.as_deref(), 1).await?;
        let app = server.app();
        let admin = server.admin_token.clone().ok_or("no admin token")?;
        let alice = create_user(&app, &admin, "alice", "contributor").await?;
        let rita = create_user(&app, &admin, "rita", "reader").await?;
        let created = send(&app, Method::POST, "/api/v1/environments", Some(&admin), Some(json!({ "name": "Production" }))).await?;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);

        let empty = send(&app, Method::GET, "/api/v1/work-items", Some(&rita), None).await?;
        assert_eq!(empty.status, StatusCode::OK, "{}", empty.body);
        assert_eq!(empty.body, json!({ "workItems": [], "nextBefore": null }));
        let bug = json!({ "kind": "bug", "title": "Login fails", "severity": "high", "assignee": "alice",
            "description": "Since this morning", "links": [{ "kind": "commit", "target": "ABCDEF1234567" }] });
        let refused = send(&app, Method::POST, "/api/v1/work-items", Some(&rita), Some(bug.clone())).await?;
        refused.expect_problem(403);

        let opened = send(&app, Method::POST, "/api/v1/work-items", Some(&alice), Some(bug)).await?;
        assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.body);
        let item = &opened.body["workItem"];
        let bug_id = item["id"].as_i64().ok_or("no id")?;
        assert_eq!((item["kind"].as_str(), item["state"].as_str(), item["severity"].as_str()), (Some("bug"), Some("new"), Some("high")));
        assert_eq!((item["assignee"].as_str(), item["createdBy"].as_str(), item["occurrences"].as_i64()), (Some("alice"), Some("alice"), Some(1)));
        assert_eq!(opened.body["links"][0]["kind"], "commit");
        assert_eq!(opened.body["links"][0]["target"], "abcdef1234567");

        let incident = json!({ "kind": "Incident", "title": "Checkout is down", "environment": "production" });
        let opened = send(&app, Method::POST, "/api/v1/work-items", Some(&alice), Some(incident)).await?;
        assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.body);
        let incident_id = opened.body["workItem"]["id"].as_i64().ok_or("no id")?;
        assert_eq!(opened.body["workItem"]["environment"], "Production");

        // Mistakes, each naming its field.
        for (body, field) in [
            (json!({ "kind": "epic", "title": "x" }), "kind: 'epic'"),
            (json!({ "kind": "bug", "title": "  " }), "work item title"),
            (json!({ "kind": "bug", "title": "x", "severity": "urgent" }), "severity: 'urgent'"),
            (json!({ "kind": "bug", "title": "x", "assignee": "nobody" }), "assignee: there is no user 'nobody'"),
            (json!({ "kind": "bug", "title": "x", "environment": "staging" }), "environment: "),
            (json!({ "kind": "bug", "title": "x", "pipeline": 99 }), "pipeline: "),
            (json!({ "kind": "bug", "title": "x", "deployment": 99 }), "deployment: "),
            (json!({ "kind": "bug", "title": "x", "links": [{ "kind": "run", "target": "77" }] }), "link target: "),
            (json!({ "kind": "bug", "title": "x", "links": [{ "kind": "issue", "target": "7" }] }), "link kind: 'issue'"),
            (json!({ "kind": "bug", "title": "x", "links": [{ "kind": "commit", "target": "main" }] }), "not a commit id"),
            (json!({ "kind": "bug", "title": "x", "colour": "red" }), "colour"),
        ] {
            let answer = send(&app, Method::POST, "/api/v1/work-items", Some(&alice), Some(body.clone())).await?;
            let detail = answer.expect_problem(if field == "colour" { 422 } else { 400 });
            assert!(detail.contains(field), "{body}: {detail}");
        }

        // Lists and their filters.
        let all = send(&app, Method::GET, "/api/v1/work-items", Some(&rita), None).await?;
        assert_eq!(ids(&all.body), vec![incident_id, bug_id]);
        let incidents = send(&app, Method::GET, "/api/v1/work-items?kind=incident", Some(&rita), None).await?;
        assert_eq!(ids(&incidents.body), vec![incident_id]);
        let mine = send(&app, Method::GET, "/api/v1/work-items?assignee=alice&state=open", Some(&rita), None).await?;
        assert_eq!(ids(&mine.body), vec![bug_id]);
        let page = send(&app, Method::GET, "/api/v1/work-items?limit=1", Some(&rita), None).await?;
        assert_eq!((ids(&page.body), page.body["nextBefore"].as_i64()), (vec![incident_id], Some(incident_id)));
        let next = send(&app, Method::GET, &format!("/api/v1/work-items?limit=1&before={incident_id}"), Some(&rita), None).await?;
        assert_eq!(ids(&next.body), vec![bug_id]);
        let bad = send(&app, Method::GET, "/api/v1/work-items?state=finished", Some(&rita), None).await?;
        assert!(bad.expect_problem(400).contains("use new, active, resolved, closed, open or done"));
        let bad = send(&app, Method::GET, "/api/v1/work-items?limit=0", Some(&rita), None).await?;
        assert!(bad.expect_problem(400).contains("limit"));

        // Changes.
        let item_uri = format!("/api/v1/work-items/{bug_id}");
        let refused = send(&app, Method::PATCH, &item_uri, Some(&rita), Some(json!({ "state": "active" }))).await?;
        refused.expect_problem(403);
        let active = send(&app, Method::PATCH, &item_uri, Some(&alice), Some(json!({ "state": "active", "assignee": "", "severity": "" }))).await?;
        assert_eq!(active.status, StatusCode::OK, "{}", active.body);
        assert_eq!(active.body["workItem"]["state"], "active");
        assert_eq!(active.body["workItem"]["assignee"], Value::Null);
        assert_eq!(active.body["workItem"]["severity"], Value::Null);
        let nothing = send(&app, Method::PATCH, &item_uri, Some(&alice), Some(json!({}))).await?;
        assert!(nothing.expect_problem(400).contains("nothing to change"));
        let bad_state = send(&app, Method::PATCH, &item_uri, Some(&alice), Some(json!({ "state": "open" }))).await?;
        assert!(bad_state.expect_problem(400).contains("state: 'open'"));
        let resolved = send(&app, Method::PATCH, &item_uri, Some(&alice), Some(json!({ "state": "resolved", "resolution": "Fixed the session cookie" }))).await?;
        assert_eq!(resolved.body["workItem"]["state"], "resolved");
        assert_eq!(resolved.body["workItem"]["resolution"], "Fixed the session cookie");
        assert!(resolved.body["workItem"]["resolvedAt"].is_i64());
        let done = send(&app, Method::GET, "/api/v1/work-items?state=done", Some(&rita), None).await?;
        assert_eq!(ids(&done.body), vec![bug_id]);
        let missing = send(&app, Method::PATCH, "/api/v1/work-items/999", Some(&alice), Some(json!({ "state": "active" }))).await?;
        missing.expect_problem(404);

        // Comments and links.
        let comments = format!("{item_uri}/comments");
        let comment = send(&app, Method::POST, &comments, Some(&alice), Some(json!({ "text": "Verified on staging" }))).await?;
        assert_eq!(comment.status, StatusCode::CREATED, "{}", comment.body);
        assert_eq!((comment.body["author"].as_str(), comment.body["text"].as_str()), (Some("alice"), Some("Verified on staging")));
        send(&app, Method::POST, &comments, Some(&alice), Some(json!({ "text": " " }))).await?.expect_problem(400);
        send(&app, Method::POST, &comments, Some(&rita), Some(json!({ "text": "me too" }))).await?.expect_problem(403);
        send(&app, Method::POST, "/api/v1/work-items/999/comments", Some(&alice), Some(json!({ "text": "x" }))).await?.expect_problem(404);
        let links = format!("{item_uri}/links");
        let linked = send(&app, Method::POST, &links, Some(&alice), Some(json!({ "links": [{ "kind": "environment", "target": "PRODUCTION" }] }))).await?;
        assert_eq!(linked.status, StatusCode::OK, "{}", linked.body);
        let again = send(&app, Method::POST, &links, Some(&alice), Some(json!({ "links": [{ "kind": "environment", "target": "production" }] }))).await?;
        assert_eq!(again.body["links"].as_array().map(Vec::len), Some(2));
        assert_eq!(again.body["links"][1]["target"], "Production");
        send(&app, Method::POST, &links, Some(&alice), Some(json!({ "links": [] }))).await?.expect_problem(400);

        let shown = send(&app, Method::GET, &item_uri, Some(&rita), None).await?;
        assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
        assert_eq!(shown.body["comments"][0]["text"], "Verified on staging");
        send(&app, Method::GET, "/api/v1/work-items/999", Some(&rita), None).await?.expect_problem(404);
        send(&app, Method::GET, "/api/v1/work-items/0", Some(&rita), None).await?.expect_problem(404);
        send(&app, Method::GET, "/api/v1/work-items/abc", Some(&rita), None).await?.expect_problem(400);

        // What automation opens shows the same way, with its occurrences.
        let failure = NewWorkItem { dedup_key: Some("app/Build/Compile".into()), ..NewWorkItem::new(WorkItemKind::Bug, "app: Build fails", "system") };
        let (first, _) = server.state.store().open_or_bump_work_item(&failure, "Run 1 failed", &[NewWorkItemLink::environment("Production")]).await?;
        server.state.store().open_or_bump_work_item(&failure, "Run 2 failed", &[]).await?;
        let bumped = send(&app, Method::GET, &format!("/api/v1/work-items/{}", first.id), Some(&rita), None).await?;
        assert_eq!(bumped.body["workItem"]["occurrences"], 2);
        assert_eq!(bumped.body["workItem"]["dedupKey"], "app/Build/Compile");
        assert_eq!(bumped.body["comments"].as_array().map(Vec::len), Some(2));

        // The audit log has people's changes; the outbox has every change.
        let audit = server.state.store().list_audit(None, 1000).await?;
        let actions: Vec<&str> = audit.iter().map(|entry| entry.action.as_str()).filter(|action| action.starts_with("workItem.")).collect();
        let mut sorted = actions.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, vec!["workItem.comment", "workItem.create", "workItem.create", "workItem.link", "workItem.update", "workItem.update"], "{actions:?}");
        let kinds: Vec<ChangeKind> = server.state.store().changes_after(0, 1000).await?.into_iter().map(|change| change.kind).filter(|kind| matches!(kind, ChangeKind::WorkItemCreated | ChangeKind::WorkItemUpdated | ChangeKind::WorkItemResolved)).collect();
        assert_eq!(kinds, vec![
            ChangeKind::WorkItemCreated, ChangeKind::WorkItemCreated, ChangeKind::WorkItemUpdated, ChangeKind::WorkItemResolved,
            ChangeKind::WorkItemUpdated, ChangeKind::WorkItemUpdated, ChangeKind::WorkItemCreated, ChangeKind::WorkItemUpdated,
        ]);
        server.stop().await;
        Ok(())
    }
}

/// The list, the board and an item's page: a contributor opens an item, comments on it, links
/// it, moves it on the board and resolves it; incidents are marked and filtered; a reader sees
/// no forms; refused forms say why beside themselves; hostile text is escaped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_items_in_the_web_ui() -> TestResult {
    use browser::Browser;

    let directory = tempfile::tempdir()?;
    let server = TestServer::start(&directory.path().join("data"), 1).await?;
    let app = server.app();
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    let alice = create_user(&app, &admin, "alice", "contributor").await?;
    let rita = create_user(&app, &admin, "rita", "reader").await?;
    let created =
        send(&app, Method::POST, "/api/v1/environments", Some(&admin), Some(json!({ "name": "production" }))).await?;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);

    let mut browser = Browser::new(app.clone());
    let csrf = browser.sign_in("alice", &alice).await?;
    let empty = browser.get("/work-items").await?;
    assert!(empty.body.contains("No work items here."), "{}", empty.body);
    assert!(empty.body.contains("New work item"));

    // Open a bug; a refused form keeps what was typed and says why.
    let refused = browser
        .post("/work-items", &[("csrf", &csrf), ("kind", "bug"), ("title", "Kept title"), ("assignee", "nobody")])
        .await?;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.body.contains("assignee: there is no user &#x27;nobody&#x27;")
            || refused.body.contains("assignee: there is no user 'nobody'"),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("value=\"Kept title\""));
    let no_csrf = browser.post("/work-items", &[("csrf", "0000"), ("kind", "bug"), ("title", "x")]).await?;
    assert_eq!(no_csrf.status, StatusCode::FORBIDDEN);
    let opened = browser
        .post(
            "/work-items",
            &[
                ("csrf", &csrf),
                ("kind", "bug"),
                ("title", "<script>alert(1)</script> login"),
                ("severity", "high"),
                ("description", "Line one\nline two"),
            ],
        )
        .await?;
    assert_eq!(opened.status, StatusCode::SEE_OTHER, "{}", opened.body);
    let bug_page = opened.location.clone();
    let bug_id: i64 = bug_page.trim_start_matches("/work-items/").parse()?;
    let shown = browser.get(&bug_page).await?;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(shown.body.contains("&lt;script&gt;alert(1)&lt;/script&gt; login"));
    assert!(!shown.body.contains("<script>alert(1)"));
    assert!(shown.body.contains("Line one\nline two"));

    // Comment, link, change state and assignee.
    let commented = browser.post(&format!("{bug_page}/comments"), &[("csrf", &csrf), ("text", "Seen on main")]).await?;
    assert_eq!(
        (commented.status, commented.location.as_str()),
        (StatusCode::SEE_OTHER, format!("{bug_page}#comments").as_str())
    );
    let blank = browser.post(&format!("{bug_page}/comments"), &[("csrf", &csrf), ("text", "   ")]).await?;
    assert_eq!(blank.status, StatusCode::BAD_REQUEST);
    assert!(blank.body.contains("comment text"), "{}", blank.body);
    let linked = browser
        .post(&format!("{bug_page}/links"), &[("csrf", &csrf), ("kind", "environment"), ("target", "production")])
        .await?;
    assert_eq!(linked.status, StatusCode::SEE_OTHER, "{}", linked.body);
    let commit = browser
        .post(&format!("{bug_page}/links"), &[("csrf", &csrf), ("kind", "commit"), ("target", "0123456789abcdef")])
        .await?;
    assert_eq!(commit.status, StatusCode::SEE_OTHER, "{}", commit.body);
    let bad_link =
        browser.post(&format!("{bug_page}/links"), &[("csrf", &csrf), ("kind", "run"), ("target", "4242")]).await?;
    assert_eq!(bad_link.status, StatusCode::BAD_REQUEST);
    assert!(
        bad_link.body.contains("link target: run &#x27;4242&#x27;")
            || bad_link.body.contains("link target: run '4242'"),
        "{}",
        bad_link.body
    );
    let active = browser
        .post(
            &format!("{bug_page}/update"),
            &[
                ("csrf", &csrf),
                ("state", "active"),
                ("assignee", "alice"),
                ("severity", "critical"),
                ("resolution", ""),
            ],
        )
        .await?;
    assert_eq!(active.status, StatusCode::SEE_OTHER, "{}", active.body);
    let shown = browser.get(&bug_page).await?;
    assert!(shown.body.contains("Seen on main"));
    assert!(shown.body.contains("href=\"/environments/production\""), "{}", shown.body);
    assert!(shown.body.contains("title=\"0123456789abcdef\""));
    assert!(shown.body.contains("<dd>alice</dd>"), "{}", shown.body);
    assert!(shown.body.contains("badge wi-severity wi-critical"));

    // An incident, marked and filtered; automation's item with its occurrences.
    let incident = browser
        .post(
            "/work-items",
            &[("csrf", &csrf), ("kind", "incident"), ("title", "Checkout down"), ("environment", "production")],
        )
        .await?;
    assert_eq!(incident.status, StatusCode::SEE_OTHER, "{}", incident.body);
    let failure = NewWorkItem {
        dedup_key: Some("shop/Build/compile".into()),
        ..NewWorkItem::new(WorkItemKind::Bug, "shop: Build/compile fails", "system")
    };
    let (automatic, _) = server.state.store().open_or_bump_work_item(&failure, "Run 1 failed", &[]).await?;
    server.state.store().open_or_bump_work_item(&failure, "Run 2 failed", &[]).await?;
    let incidents = browser.get("/work-items?kind=incident").await?;
    assert!(incidents.body.contains("<h1>Incidents</h1>"), "{}", incidents.body);
    assert!(incidents.body.contains("Checkout down"));
    assert!(!incidents.body.contains("login</a>"));
    assert!(incidents.body.contains("badge wi-kind wi-incident"));
    let board = browser.get("/work-items/board").await?;
    assert_eq!(board.status, StatusCode::OK);
    for column in ["New", "Active", "Resolved", "Closed"] {
        assert!(board.body.contains(&format!("<h2>{column} ")), "{column}: {}", board.body);
    }
    let active_column = board
        .body
        .split("wi-column-active")
        .nth(1)
        .and_then(|rest| rest.split("wi-column-resolved").next())
        .ok_or("no active column")?;
    assert!(active_column.contains(&format!("href=\"/work-items/{bug_id}\"")), "{active_column}");
    assert!(board.body.contains("wi-card wi-incident"));
    assert!(board.body.contains("×2"));
    let automatic_page = browser.get(&format!("/work-items/{}", automatic.id)).await?;
    assert!(automatic_page.body.contains("Run 2 failed"));
    assert!(automatic_page.body.contains("<dd class=\"wi-occurrences\">2</dd>"), "{}", automatic_page.body);

    // Resolve: it leaves the open list for the done one.
    let resolved = browser
        .post(
            &format!("{bug_page}/update"),
            &[
                ("csrf", &csrf),
                ("state", "resolved"),
                ("assignee", "alice"),
                ("severity", "critical"),
                ("resolution", "Fixed in 0123456"),
            ],
        )
        .await?;
    assert_eq!(resolved.status, StatusCode::SEE_OTHER, "{}", resolved.body);
    let open = browser.get("/work-items").await?;
    assert!(!open.body.contains(&format!("href=\"/work-items/{bug_id}\"")));
    let done = browser.get("/work-items?state=done").await?;
    assert!(done.body.contains(&format!("href=\"/work-items/{bug_id}\"")));
    let shown = browser.get(&bug_page).await?;
    assert!(shown.body.contains("Fixed in 0123456"));

    // A reader reads, without forms; a missing item is a 404 page.
    let mut reader = Browser::new(app.clone());
    reader.sign_in("rita", &rita).await?;
    let read = reader.get(&bug_page).await?;
    assert_eq!(read.status, StatusCode::OK);
    assert!(!read.body.contains("Add comment") && !read.body.contains("Add link"));
    assert!(!reader.get("/work-items").await?.body.contains("New work item"));
    let missing = reader.get("/work-items/9999").await?;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    server.stop().await;
    Ok(())
}
