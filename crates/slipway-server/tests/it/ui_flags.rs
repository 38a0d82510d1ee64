//! The Flags section of the web UI's environment page through `oneshot`, with real sessions:
//! flags imported through the API shown to everyone, a contributor's form changing a flag over
//! the revision the page read, a stale revision's 409 shown beside the form, and readers given no
//! forms (and refused when they post one anyway).

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use serde_json::json;
use tower::ServiceExt as _;

use crate::support::{TestResult, TestServer, create_user, send};

/// An answer with its body as text.
struct Page {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Page {
    fn location(&self) -> &str {
        self.headers.get(header::LOCATION).and_then(|value| value.to_str().ok()).unwrap_or_default()
    }

    /// The value of the first hidden field `name`.
    fn hidden(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&marker)? + marker.len();
        let end = self.body[start..].find('"')? + start;
        Some(self.body[start..end].to_owned())
    }
}

/// A browser's view of the app: its cookies.
struct Browser {
    app: Router,
    cookies: Vec<(String, String)>,
}

impl Browser {
    async fn request(&mut self, method: Method, uri: &str, form: Option<&[(&str, &str)]>) -> TestResult<Page> {
        let mut request = Request::builder().method(method).uri(uri);
        if !self.cookies.is_empty() {
            let cookies: Vec<String> = self.cookies.iter().map(|(name, value)| format!("{name}={value}")).collect();
            request = request.header(header::COOKIE, cookies.join("; "));
        }
        let request = match form {
            Some(fields) => {
                let body = fields
                    .iter()
                    .map(|(key, value)| format!("{}={}", slipway_web::url_encode(key), slipway_web::url_encode(value)))
                    .collect::<Vec<_>>()
                    .join("&");
                request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded").body(Body::from(body))?
            }
            None => request.body(Body::empty())?,
        };
        let response = self.app.clone().oneshot(request).await?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await?.to_bytes();
        for cookie in headers.get_all(header::SET_COOKIE).iter().filter_map(|value| value.to_str().ok()) {
            let pair = cookie.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                self.cookies.retain(|(known, _)| known != name);
                if !value.is_empty() && !cookie.contains("Max-Age=0") {
                    self.cookies.push((name.to_owned(), value.to_owned()));
                }
            }
        }
        Ok(Page { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() })
    }

    async fn get(&mut self, uri: &str) -> TestResult<Page> {
        self.request(Method::GET, uri, None).await
    }

    async fn post(&mut self, uri: &str, fields: &[(&str, &str)]) -> TestResult<Page> {
        self.request(Method::POST, uri, Some(fields)).await
    }

    /// A browser signed in through the form as `user`, with its session's CSRF token.
    async fn signed_in(app: Router, user: &str, token: &str) -> TestResult<(Self, String)> {
        let mut browser = Self { app, cookies: Vec::new() };
        let form = browser.get("/login").await?;
        let csrf = form.hidden("csrf").ok_or("no csrf field on the sign-in form")?;
        let signed =
            browser.post("/login", &[("csrf", &csrf), ("next", "/"), ("user", user), ("token", token)]).await?;
        assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
        let home = browser.get("/").await?;
        let csrf = home.hidden("csrf").ok_or("no csrf field on the pipelines page")?;
        Ok((browser, csrf))
    }
}

/// The part of `body` from `start` up to `end` (or to its end).
fn between<'a>(body: &'a str, start: &str, end: &str) -> &'a str {
    let from = body.find(start).map_or("", |at| &body[at..]);
    from.get(start.len()..).and_then(|rest| rest.find(end)).map_or(from, |at| &from[..at + start.len()])
}

/// The flag form's fields that set a flag's default variant to `on` and enable it.
fn to_on<'a>(csrf: &'a str, revision: &'a str) -> [(&'a str, &'a str); 4] {
    [("csrf", csrf), ("revision", revision), ("variant", "on"), ("state", "ENABLED")]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flags_show_on_the_environment_page_and_contributors_change_them_over_their_revision() -> TestResult {
    let directory = tempfile::tempdir()?;
    let server = TestServer::start(&directory.path().join("data"), 0).await?;
    let app = server.app();
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    let cora_token = create_user(&app, &admin, "cora", "contributor").await?;
    let rita_token = create_user(&app, &admin, "rita", "reader").await?;
    let made = send(&app, Method::POST, "/api/v1/environments", Some(&admin), Some(json!({"name": "prod"}))).await?;
    assert_eq!(made.status, StatusCode::CREATED, "{:?}", made.body);
    let (mut cora, cora_csrf) = Browser::signed_in(server.app(), "cora", &cora_token).await?;
    let (mut rita, rita_csrf) = Browser::signed_in(server.app(), "rita", &rita_token).await?;

    // No flags yet: the page says how to import them.
    let page = rita.get("/environments/prod").await?;
    let flags = between(&page.body, "id=\"flags\"", "</section>");
    assert!(flags.contains("slipway flags import prod FILE"), "{}", page.body);
    assert!(flags.contains("/api/v1/environments/prod/ofrep/v1/evaluate/flags"), "{flags}");

    let document = json!({"flags": {
        "new-checkout": {
            "state": "ENABLED",
            "variants": {"on": true, "off": false},
            "defaultVariant": "off",
            "targeting": {"if": [{"ends_with": [{"var": "email"}, "@example.com"]}, "on", null]}
        },
        "banner": {"state": "DISABLED", "variants": {"plain": "<b>hi</b>", "loud": "HI"}, "defaultVariant": "plain"}
    }});
    let body = json!({"document": document, "revision": 0});
    let saved = send(&app, Method::PUT, "/api/v1/environments/prod/flags", Some(&cora_token), Some(body)).await?;
    assert_eq!(saved.status, StatusCode::OK, "{:?}", saved.body);

    // Everyone sees the flags; readers get no forms, and their posts are refused.
    let page = rita.get("/environments/prod").await?;
    assert_eq!(page.status, StatusCode::OK);
    let flags = between(&page.body, "id=\"flags\"", "</section>");
    let checkout = between(flags, "<tr id=\"flag-new-checkout\">", "</tr>");
    assert!(checkout.contains("<span class=\"badge s-ok\">enabled</span>"), "{checkout}");
    assert!(checkout.contains("<td class=\"default-variant\"><code>off</code></td>"), "{checkout}");
    assert!(checkout.contains("<summary>targeted</summary>") && checkout.contains("ends_with"), "{checkout}");
    assert!(flags.contains("&quot;&lt;b&gt;hi&lt;/b&gt;&quot;") && !page.body.contains("<b>hi"), "{flags}");
    assert!(!flags.contains("<form"), "readers get no forms: {flags}");
    let action = "/environments/prod/flags/new-checkout";
    assert_eq!(rita.post(action, &to_on(&rita_csrf, "1")).await?.status, StatusCode::FORBIDDEN);

    // A contributor's form changes the default variant over the page's revision.
    let page = cora.get("/environments/prod").await?;
    let checkout = between(&page.body, "<tr id=\"flag-new-checkout\">", "</tr>");
    assert!(checkout.contains(&format!("action=\"{action}\"")), "{checkout}");
    assert!(checkout.contains("name=\"revision\" value=\"1\""), "{checkout}");
    assert_eq!(cora.post(action, &to_on("not the token", "1")).await?.status, StatusCode::FORBIDDEN);
    let changed = cora.post(action, &to_on(&cora_csrf, "1")).await?;
    assert_eq!(
        (changed.status, changed.location()),
        (StatusCode::SEE_OTHER, "/environments/prod#flag-new-checkout"),
        "{}",
        changed.body
    );
    let page = cora.get("/environments/prod").await?;
    let checkout = between(&page.body, "<tr id=\"flag-new-checkout\">", "</tr>");
    assert!(checkout.contains("<td class=\"default-variant\"><code>on</code></td>"), "{checkout}");
    assert!(checkout.contains("name=\"revision\" value=\"2\""), "{checkout}");
    let evaluated = send(
        &app,
        Method::POST,
        "/api/v1/environments/prod/ofrep/v1/evaluate/flags/new-checkout",
        Some(&rita_token),
        Some(json!({"context": {"targetingKey": "u1"}})),
    )
    .await?;
    assert_eq!((evaluated.body["variant"].clone(), evaluated.body["value"].clone()), (json!("on"), json!(true)));

    // The same form posted again over revision 1 meets the service's 409, shown beside it.
    let stale = cora.post(action, &to_on(&cora_csrf, "1")).await?;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.body);
    let checkout = between(&stale.body, "<tr id=\"flag-new-checkout\">", "</tr>");
    assert!(checkout.contains("class=\"problem\" role=\"alert\""), "{checkout}");
    assert!(checkout.contains("the flags are at revision 2, not 1"), "{checkout}");
    let audit = server.state.store().list_audit(None, 20).await?;
    let sets: Vec<_> = audit.iter().filter(|entry| entry.action == "flags.set").collect();
    assert_eq!(sets.len(), 1, "{audit:?}");
    assert_eq!((sets[0].actor.as_str(), sets[0].target.as_deref()), ("cora", Some("prod/flags/new-checkout")));
    server.stop().await;
    Ok(())
}
