//! The web UI through `oneshot`: sign-in and sessions, redirects when signed out, CSRF checks,
//! pages rendered with real runs, the live stream, admin pages, and hostile text escaped.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use serde_json::json;
use tower::ServiceExt as _;

use crate::support::{
    TWO_JOBS, TestResult, TestServer, create_user, deploys_to, make_repository, send, wait_for_checkpoint, wait_for_run,
};

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

    fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .map(str::to_owned)
            .collect()
    }

    /// The value of the first hidden `csrf` field.
    fn csrf(&self) -> Option<String> {
        let start = self.body.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
        let end = self.body[start..].find('"')? + start;
        Some(self.body[start..end].to_owned())
    }
}

/// A browser's view of the app: its cookies.
struct Client {
    app: Router,
    cookies: Vec<(String, String)>,
}

fn form_body(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(key, value)| format!("{}={}", slipway_web::url_encode(key), slipway_web::url_encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

impl Client {
    fn new(app: Router) -> Self {
        Self { app, cookies: Vec::new() }
    }

    async fn request(
        &mut self,
        method: Method,
        uri: &str,
        body: Option<String>,
        extra: &[(&str, &str)],
    ) -> TestResult<Page> {
        let mut request = Request::builder().method(method).uri(uri);
        if !self.cookies.is_empty() {
            let cookies: Vec<String> = self.cookies.iter().map(|(name, value)| format!("{name}={value}")).collect();
            request = request.header(header::COOKIE, cookies.join("; "));
        }
        for (name, value) in extra {
            request = request.header(*name, *value);
        }
        let request = match body {
            Some(body) => {
                request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded").body(Body::from(body))?
            }
            None => request.body(Body::empty())?,
        };
        let response = self.app.clone().oneshot(request).await?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await?.to_bytes();
        let page = Page { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() };
        for cookie in page.set_cookies() {
            let pair = cookie.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                self.cookies.retain(|(known, _)| known != name);
                if !value.is_empty() && !cookie.contains("Max-Age=0") {
                    self.cookies.push((name.to_owned(), value.to_owned()));
                }
            }
        }
        Ok(page)
    }

    async fn get(&mut self, uri: &str) -> TestResult<Page> {
        self.request(Method::GET, uri, None, &[]).await
    }

    async fn post(&mut self, uri: &str, fields: &[(&str, &str)]) -> TestResult<Page> {
        self.request(Method::POST, uri, Some(form_body(fields)), &[]).await
    }

    /// Signs in through the form; gives the session's CSRF token from the next page.
    async fn sign_in(&mut self, user: &str, token: &str) -> TestResult<String> {
        let form = self.get("/login").await?;
        assert_eq!(form.status, StatusCode::OK);
        let csrf = form.csrf().ok_or("no csrf field on the sign-in form")?;
        let signed_in =
            self.post("/login", &[("csrf", &csrf), ("next", "/"), ("user", user), ("token", token)]).await?;
        assert_eq!(signed_in.status, StatusCode::SEE_OTHER, "{}", signed_in.body);
        let home = self.get("/").await?;
        assert_eq!(home.status, StatusCode::OK, "{}", home.body);
        Ok(home.csrf().ok_or("no csrf field on the pipelines page")?)
    }
}

async fn admin_client(server: &TestServer) -> TestResult<(Client, String)> {
    let mut client = Client::new(server.app());
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    let csrf = client.sign_in("admin", &admin).await?;
    Ok((client, csrf))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_out_pages_redirect_to_sign_in() -> TestResult {
    let directory = tempfile::tempdir()?;
    let server = TestServer::start(directory.path(), 0).await?;
    let mut client = Client::new(server.app());
    for (path, next) in
        [("/", "%2F"), ("/runs/1?job=a.b", "%2Fruns%2F1%3Fjob%3Da.b"), ("/admin/users", "%2Fadmin%2Fusers")]
    {
        let page = client.get(path).await?;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(page.location(), format!("/login?next={next}"));
    }
    let posted = client.post("/pipelines", &[("name", "x"), ("repository", "/tmp")]).await?;
    assert_eq!(posted.status, StatusCode::SEE_OTHER);
    let login = client.get("/login").await?;
    assert_eq!(login.status, StatusCode::OK);
    assert!(login.body.contains("Sign in to Slipway"));
    let cookies = login.set_cookies();
    assert!(
        cookies.iter().any(|cookie| cookie.starts_with("slipway_login=")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax")),
        "{cookies:?}"
    );
    assert!(login.headers.get(header::CONTENT_SECURITY_POLICY).is_some());
    let css = client.get("/assets/app.css").await?;
    assert_eq!(css.status, StatusCode::OK);
    assert!(
        css.headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("text/css"))
    );
    assert_eq!(client.get("/assets/nope.js").await?.status, StatusCode::NOT_FOUND);
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_starts_a_session_and_sign_out_ends_it() -> TestResult {
    let directory = tempfile::tempdir()?;
    let server = TestServer::start(directory.path(), 0).await?;
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    let mut client = Client::new(server.app());
    let form = client.get("/login?next=%2Fadmin%2Fusers").await?;
    let csrf = form.csrf().ok_or("no csrf")?;
    assert!(form.body.contains("value=\"/admin/users\""), "{}", form.body);

    let wrong =
        client.post("/login", &[("csrf", &csrf), ("next", "/"), ("user", "admin"), ("token", "slw_wrong")]).await?;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("do not match"), "{}", wrong.body);
    let other_name =
        client.post("/login", &[("csrf", &csrf), ("next", "/"), ("user", "bob"), ("token", &admin)]).await?;
    assert_eq!(other_name.status, StatusCode::UNAUTHORIZED);
    let forged =
        client.post("/login", &[("csrf", "0000"), ("next", "/"), ("user", "admin"), ("token", &admin)]).await?;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(forged.body.contains("CSRF"), "{}", forged.body);

    let signed_in = client
        .post("/login", &[("csrf", &csrf), ("next", "https://evil.example/"), ("user", "admin"), ("token", &admin)])
        .await?;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    assert_eq!(signed_in.location(), "/", "a sign-in never sends the browser to another site");
    let session = signed_in
        .set_cookies()
        .into_iter()
        .find(|cookie| cookie.starts_with("slipway_session="))
        .ok_or("no session cookie")?;
    assert!(session.contains("; Path=/; HttpOnly; SameSite=Lax; Max-Age="), "{session}");
    assert!(!session.contains("Secure"), "plain http gets no Secure cookie: {session}");

    let home = client.get("/").await?;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("Pipelines") && home.body.contains("admin · admin"), "{}", home.body);
    // Signed in, the sign-in page sends the browser on.
    let again = client.get("/login?next=%2Fadmin%2Fusers").await?;
    assert_eq!((again.status, again.location()), (StatusCode::SEE_OTHER, "/admin/users"));

    let csrf = home.csrf().ok_or("no csrf")?;
    let refused = client.post("/logout", &[("csrf", "nope")]).await?;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let out = client.post("/logout", &[("csrf", &csrf)]).await?;
    assert_eq!((out.status, out.location()), (StatusCode::SEE_OTHER, "/login"));
    let after = client.get("/").await?;
    assert_eq!(after.status, StatusCode::SEE_OTHER, "the session ended");

    // Behind an https proxy the cookie is Secure.
    let mut proxied = Client::new(server.app());
    let form = proxied.request(Method::GET, "/login", None, &[("x-forwarded-proto", "https")]).await?;
    let csrf = form.csrf().ok_or("no csrf")?;
    let body = form_body(&[("csrf", &csrf), ("next", "/"), ("user", "admin"), ("token", &admin)]);
    let secure = proxied.request(Method::POST, "/login", Some(body), &[("x-forwarded-proto", "https")]).await?;
    assert!(
        secure
            .set_cookies()
            .iter()
            .any(|cookie| cookie.starts_with("slipway_session=") && cookie.ends_with("; Secure"))
    );
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn form_posts_without_the_csrf_token_are_refused() -> TestResult {
    let directory = tempfile::tempdir()?;
    let server = TestServer::start(directory.path(), 0).await?;
    let (mut client, csrf) = admin_client(&server).await?;
    for (path, fields) in [
        ("/pipelines", vec![("name", "x"), ("repository", "/tmp")]),
        ("/admin/users", vec![("name", "eve"), ("role", "admin")]),
        ("/users/1/tokens", vec![("name", "sneaky")]),
        ("/runs/1/cancel", vec![]),
    ] {
        let missing = client.post(path, &fields).await?;
        assert_eq!(missing.status, StatusCode::FORBIDDEN, "{path}: {}", missing.body);
        assert!(missing.body.contains("security token (CSRF)"), "{}", missing.body);
        let mut wrong = fields.clone();
        wrong.push(("csrf", "f00d"));
        assert_eq!(client.post(path, &wrong).await?.status, StatusCode::FORBIDDEN, "{path}");
    }
    assert!(server.state.store().user_by_name("eve").await?.is_none());
    assert!(server.state.store().pipeline_by_name("x").await?.is_none());

    // The API takes the session cookie: for reading as is, for changes only with the CSRF header.
    let read = client.get("/api/v1/pipelines").await?;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    let change = client.request(Method::POST, "/api/v1/runs/1/cancel", None, &[]).await?;
    assert_eq!(change.status, StatusCode::FORBIDDEN, "{}", change.body);
    assert!(change.body.contains("X-CSRF-Token"), "{}", change.body);
    let with_header = client.request(Method::POST, "/api/v1/runs/1/cancel", None, &[("x-csrf-token", &csrf)]).await?;
    assert_eq!(with_header.status, StatusCode::NOT_FOUND, "authenticated, and there is no run 1: {}", with_header.body);
    server.stop().await;
    Ok(())
}

const PIPELINE_WITH_PARAMETERS: &str = "\
parameters:
- name: greeting
  displayName: 'Greeting \"><script>alert(1)</script>'
  default: hello
- name: loud
  type: boolean
  default: false
- name: times
  type: number
  default: 1
- name: flavour
  values: [vanilla, '<b>bold</b>']
  default: vanilla
- name: targets
  type: object
  default: [linux]
trigger: none
stages:
- stage: Build
  jobs:
  - job: compile
    steps:
    - checkout: none
    - script: |
        echo '##[group]Setup'
        echo 'inside the group'
        echo '##[endgroup]'
        echo '<img src=x onerror=alert(1)>'
        printf '\\033[31mred text\\033[0m\\n'
        echo '${{ parameters.greeting }} ${{ parameters.loud }} ${{ parameters.times }} ${{ parameters.flavour }}'
        echo 'targets: ${{ join(', ', parameters.targets) }}'
      displayName: Say it
- stage: Test
  dependsOn: Build
  jobs:
  - job: unit
    steps:
    - checkout: none
    - script: echo testing
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_show_a_run_from_the_form_to_its_log() -> TestResult {
    let directory = tempfile::tempdir()?;
    let repository = directory.path().join("repository");
    make_repository(&repository, &[("azure-pipelines.yml", PIPELINE_WITH_PARAMETERS)])?;
    // A hostile commit message.
    let status = std::process::Command::new("git")
        .args([
            "-c",
            "user.name=T",
            "-c",
            "user.email=t@example.com",
            "commit",
            "--quiet",
            "--allow-empty",
            "-m",
            "<script>alert('commit')</script>",
        ])
        .current_dir(&repository)
        .status()?;
    assert!(status.success());
    let server = TestServer::start(&directory.path().join("data"), 2).await?;
    let (mut client, csrf) = admin_client(&server).await?;

    let created = client
        .post(
            "/pipelines",
            &[
                ("csrf", &csrf),
                ("name", "demo"),
                ("repository", &repository.display().to_string()),
                ("yaml_path", "azure-pipelines.yml"),
                ("default_branch", ""),
            ],
        )
        .await?;
    assert_eq!((created.status, created.location()), (StatusCode::SEE_OTHER, "/pipelines/demo"), "{}", created.body);
    let duplicate = client
        .post("/pipelines", &[("csrf", &csrf), ("name", "demo"), ("repository", &repository.display().to_string())])
        .await?;
    assert_eq!(duplicate.status, StatusCode::CONFLICT);

    // The run form is generated from the parameters, escaped.
    let form = client.get("/pipelines/demo/run").await?;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.body.contains("name=\"p.string.greeting\" value=\"hello\""), "{}", form.body);
    assert!(form.body.contains("Greeting &quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"), "{}", form.body);
    assert!(!form.body.contains("<script>alert(1)"), "{}", form.body);
    assert!(form.body.contains("type=\"checkbox\" name=\"p.boolean.loud\" value=\"true\""), "{}", form.body);
    assert!(form.body.contains("type=\"number\" step=\"any\" name=\"p.number.times\" value=\"1\""), "{}", form.body);
    assert!(form.body.contains("<option value=\"&lt;b&gt;bold&lt;/b&gt;\">"), "{}", form.body);
    assert!(form.body.contains("name=\"p.object.targets\" rows=\"4\">- linux</textarea>"), "{}", form.body);
    let missing_branch = client.get("/pipelines/demo/run?branch=nope").await?;
    assert!(missing_branch.body.contains("could not be read"), "{}", missing_branch.body);

    let bad_number =
        client.post("/pipelines/demo/run", &[("csrf", &csrf), ("branch", ""), ("p.number.times", "many")]).await?;
    assert_eq!(bad_number.status, StatusCode::BAD_REQUEST);
    let started = client
        .post(
            "/pipelines/demo/run",
            &[
                ("csrf", &csrf),
                ("branch", ""),
                ("p.string.greeting", "hi there"),
                ("p.boolean.loud", "false"),
                ("p.boolean.loud", "true"),
                ("p.number.times", "3"),
                ("p.string.flavour", "<b>bold</b>"),
                ("p.object.targets", "- linux\n- windows"),
            ],
        )
        .await?;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.body);
    let id: i64 = started.location().strip_prefix("/runs/").ok_or("not a run page")?.parse()?;
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    let run = wait_for_run(&server.app(), &admin, id).await?;
    assert_eq!(run["result"], "Succeeded", "{run}");
    assert_eq!(
        run["parameters"],
        json!({
            "greeting": "hi there", "loud": true, "times": 3, "flavour": "<b>bold</b>", "targets": "- linux\n- windows"
        })
    );
    assert_eq!(run["requestedBy"], "admin");

    let page = client.get(&format!("/runs/{id}")).await?;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let body = &page.body;
    assert!(body.contains("<svg class=\"graph\""), "{body}");
    assert!(body.contains(">Build<") && body.contains(">Test<"), "stage titles: {body}");
    assert!(body.contains("class=\"edge stage-edge\""), "{body}");
    assert!(body.contains("class=\"job s-ok"), "{body}");
    assert!(body.contains("Say it"), "the steps are listed: {body}");
    assert!(
        body.contains("&lt;script&gt;alert(&#39;commit&#39;)&lt;/script&gt;")
            || body.contains("&lt;script&gt;alert('commit')&lt;/script&gt;"),
        "{body}"
    );
    assert!(!body.contains("<script>alert"), "{body}");
    assert!(body.contains("data-job=\"Build.compile\""), "{body}");
    assert!(body.contains("href=\"/runs/") && body.contains("/log?job=Build.compile"), "{body}");
    assert!(body.contains(">Re-run<"), "{body}");
    assert!(
        body.contains("<dt>flavour</dt><dd><code>&lt;b&gt;bold&lt;/b&gt;</code></dd>"),
        "the parameters, escaped: {body}"
    );

    // The live stream of a completed run: the status, every line folded and escaped, the end.
    let live = client.get(&format!("/runs/{id}/live?job=Build.compile")).await?;
    assert_eq!(live.status, StatusCode::OK);
    assert!(
        live.headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("text/event-stream"))
    );
    let stream = &live.body;
    assert!(stream.contains("event: log") && stream.contains("event: status"), "{stream}");
    assert!(stream.trim_end().ends_with("data: {\"status\":\"completed\"}"), "{stream}");
    assert!(stream.contains(r#"["o","#) && stream.contains(r#""Setup"]"#), "a group opens: {stream}");
    assert!(stream.contains(r#"["c"]"#), "and closes: {stream}");
    assert!(stream.contains("&lt;img src=x onerror=alert(1)&gt;"), "{stream}");
    assert!(!stream.contains("<img src=x"), "{stream}");
    assert!(stream.contains(r#"<span class=\"a-f1\">red text</span>"#), "{stream}");
    assert!(stream.contains("hi there True 3 &lt;b&gt;bold&lt;/b&gt;"), "{stream}");
    assert!(stream.contains("targets: linux, windows"), "an object parameter from its YAML text: {stream}");
    // Without a job the stream picks one and says which.
    let picked = client.get(&format!("/runs/{id}/live")).await?;
    assert!(picked.body.starts_with("event: job\n"), "{}", picked.body);

    let raw = client.get(&format!("/runs/{id}/log?job=Build.compile")).await?;
    assert_eq!(raw.status, StatusCode::OK);
    assert!(raw.body.contains("##[group]Setup\ninside the group\n##[endgroup]\n"), "{}", raw.body);
    assert!(
        raw.headers
            .get(header::CONTENT_DISPOSITION)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.contains("attachment"))
    );
    assert_eq!(client.get(&format!("/runs/{id}/log?job=Nope.nope")).await?.status, StatusCode::NOT_FOUND);

    let pipeline = client.get("/pipelines/demo").await?;
    assert!(
        pipeline.body.contains(&format!("href=\"/runs/{id}\"")) && pipeline.body.contains("succeeded"),
        "{}",
        pipeline.body
    );
    assert!(pipeline.body.contains("manual") && pipeline.body.contains("main"), "{}", pipeline.body);
    let home = client.get("/").await?;
    assert!(home.body.contains("href=\"/pipelines/demo\"") && home.body.contains("succeeded"), "{}", home.body);

    // Re-run: a new run of the same commit, linked to the first.
    let csrf = page.csrf().ok_or("no csrf")?;
    let rerun = client.post(&format!("/runs/{id}/rerun"), &[("csrf", &csrf), ("failed_only", "false")]).await?;
    assert_eq!(rerun.status, StatusCode::SEE_OTHER, "{}", rerun.body);
    let again: i64 = rerun.location().strip_prefix("/runs/").ok_or("not a run page")?.parse()?;
    let second = wait_for_run(&server.app(), &admin, again).await?;
    assert_eq!(second["result"], "Succeeded", "{second}");
    assert_eq!(second["retryOf"], id);
    assert_eq!(second["commit"], run["commit"]);

    assert_eq!(client.get("/runs/999").await?.status, StatusCode::NOT_FOUND);
    assert_eq!(client.get("/runs/abc").await?.status, StatusCode::BAD_REQUEST);
    assert_eq!(client.get("/pipelines/nope").await?.status, StatusCode::NOT_FOUND);
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_run_is_cancelled_from_its_page_and_readers_see_no_buttons() -> TestResult {
    let directory = tempfile::tempdir()?;
    let repository = directory.path().join("repository");
    make_repository(&repository, &[("azure-pipelines.yml", TWO_JOBS)])?;
    let server = TestServer::start(&directory.path().join("data"), 0).await?;
    let app = server.app();
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    let reader = create_user(&app, &admin, "rita", "reader").await?;
    let pipeline = json!({ "name": "demo", "repository": repository.display().to_string() });
    send(&app, Method::POST, "/api/v1/pipelines", Some(&admin), Some(pipeline)).await?;
    let started = send(&app, Method::POST, "/api/v1/pipelines/demo/runs", Some(&admin), Some(json!({}))).await?;
    let id = started.body["id"].as_i64().ok_or("no run id")?;

    let mut looker = Client::new(server.app());
    looker.sign_in("rita", &reader).await?;
    let page = looker.get(&format!("/runs/{id}")).await?;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("queued") && !page.body.contains(">Cancel<"), "{}", page.body);
    let csrf = page.csrf().ok_or("no csrf")?;
    assert_eq!(looker.post(&format!("/runs/{id}/cancel"), &[("csrf", &csrf)]).await?.status, StatusCode::FORBIDDEN);
    assert_eq!(looker.get("/pipelines/demo/run").await?.status, StatusCode::FORBIDDEN);
    assert_eq!(looker.get("/admin/users").await?.status, StatusCode::FORBIDDEN);

    let (mut client, csrf) = admin_client(&server).await?;
    let page = client.get(&format!("/runs/{id}")).await?;
    assert!(page.body.contains(">Cancel<"), "{}", page.body);
    let cancelled = client.post(&format!("/runs/{id}/cancel"), &[("csrf", &csrf)]).await?;
    assert_eq!((cancelled.status, cancelled.location()), (StatusCode::SEE_OTHER, format!("/runs/{id}").as_str()));
    assert!(server.state.store().run(slipway_store::RunId(id)).await?.cancel_requested);
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_manage_users_and_tokens() -> TestResult {
    let directory = tempfile::tempdir()?;
    let server = TestServer::start(directory.path(), 0).await?;
    let (mut client, csrf) = admin_client(&server).await?;
    let bad = client.post("/admin/users", &[("csrf", &csrf), ("name", "<bad>"), ("role", "reader")]).await?;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let bad_role = client.post("/admin/users", &[("csrf", &csrf), ("name", "carl"), ("role", "king")]).await?;
    assert_eq!(bad_role.status, StatusCode::BAD_REQUEST);
    let created = client.post("/admin/users", &[("csrf", &csrf), ("name", "carl"), ("role", "reader")]).await?;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let start = created.body.find("<code id=\"new-token\">").ok_or("no token shown")? + "<code id=\"new-token\">".len();
    let token = created.body[start..].split('<').next().unwrap_or_default().to_owned();
    assert!(token.starts_with("slw_"), "{token}");
    let carl = server.state.store().user_by_name("carl").await?.ok_or("no carl")?;
    let users = client.get("/admin/users").await?;
    assert!(users.body.contains("carl") && !users.body.contains(&token), "a token is shown once");

    let promoted =
        client.post(&format!("/admin/users/{}/role", carl.id), &[("csrf", &csrf), ("role", "contributor")]).await?;
    assert_eq!(promoted.status, StatusCode::SEE_OTHER);
    assert_eq!(server.state.store().user(carl.id).await?.role, slipway_store::UserRole::Contributor);
    let own = client.post("/admin/users/1/role", &[("csrf", &csrf), ("role", "reader")]).await?;
    assert_eq!(own.status, StatusCode::CONFLICT);

    // Tokens: a hostile name is escaped; a new token is shown once; revoking ends it.
    let made = client
        .post(&format!("/users/{}/tokens", carl.id), &[("csrf", &csrf), ("name", "<i>ci</i>"), ("days", "30")])
        .await?;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    assert!(made.body.contains("&lt;i&gt;ci&lt;/i&gt;") && !made.body.contains("<i>ci"), "{}", made.body);
    let bad_days =
        client.post(&format!("/users/{}/tokens", carl.id), &[("csrf", &csrf), ("name", "x"), ("days", "-1")]).await?;
    assert_eq!(bad_days.status, StatusCode::BAD_REQUEST);
    let tokens = server.state.store().list_access_tokens(carl.id).await?;
    let first = tokens.iter().find(|found| found.name == "first token").ok_or("no first token")?;
    let revoked = client.post(&format!("/users/{}/tokens/{}/revoke", carl.id, first.id), &[("csrf", &csrf)]).await?;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    assert!(server.state.store().authenticate_token(&token).await?.is_none(), "the revoked token no longer works");
    assert_eq!(client.post("/users/1/tokens/99999/revoke", &[("csrf", &csrf)]).await?.status, StatusCode::NOT_FOUND);

    // A user sees their own tokens, not another's.
    let second = server.state.store().create_access_token(carl.id, "second", None).await?;
    let mut carl_client = Client::new(server.app());
    carl_client.sign_in("carl", &second.secret).await?;
    assert_eq!(carl_client.get(&format!("/users/{}/tokens", carl.id)).await?.status, StatusCode::OK);
    assert_eq!(carl_client.get("/users/1/tokens").await?.status, StatusCode::FORBIDDEN);
    // Revoking the token ends the sessions opened with it at once (issue 10), not in 7 days.
    let revoked =
        client.post(&format!("/users/{}/tokens/{}/revoke", carl.id, second.item.id), &[("csrf", &csrf)]).await?;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    let after = carl_client.get(&format!("/users/{}/tokens", carl.id)).await?;
    assert_eq!((after.status, after.location()), (StatusCode::SEE_OTHER, "/login?next=%2Fusers%2F2%2Ftokens"));
    // So does deleting the user.
    let third = server.state.store().create_access_token(carl.id, "third", None).await?;
    let mut carl_again = Client::new(server.app());
    carl_again.sign_in("carl", &third.secret).await?;
    assert!(server.state.store().delete_user(carl.id).await?);
    assert_eq!(carl_again.get("/").await?.status, StatusCode::SEE_OTHER);
    let audit = server.state.store().list_audit(None, 50).await?;
    assert!(audit.iter().any(|entry| entry.action == "token.revoke" && entry.actor == "admin"), "{audit:?}");
    server.stop().await;
    Ok(())
}

/// A server with a pipeline `demo` and signed-in clients for an admin, a contributor (`cora`)
/// and a reader (`rita`), each with their CSRF token.
struct Roles {
    server: TestServer,
    admin: (Client, String),
    contributor: (Client, String),
    reader: (Client, String),
    _directory: tempfile::TempDir,
}

async fn roles_with_pipeline(pipeline: &str, workers: usize) -> TestResult<Roles> {
    let directory = tempfile::tempdir()?;
    let repository = directory.path().join("repository");
    make_repository(&repository, &[("azure-pipelines.yml", pipeline)])?;
    let server = TestServer::start(&directory.path().join("data"), workers).await?;
    let app = server.app();
    let admin_token = server.admin_token.clone().ok_or("no admin token")?;
    let body = json!({ "name": "demo", "repository": repository.display().to_string() });
    let created = send(&app, Method::POST, "/api/v1/pipelines", Some(&admin_token), Some(body)).await?;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let contributor_token = create_user(&app, &admin_token, "cora", "contributor").await?;
    let reader_token = create_user(&app, &admin_token, "rita", "reader").await?;
    let admin = admin_client(&server).await?;
    let mut contributor = Client::new(server.app());
    let contributor_csrf = contributor.sign_in("cora", &contributor_token).await?;
    let mut reader = Client::new(server.app());
    let reader_csrf = reader.sign_in("rita", &reader_token).await?;
    Ok(Roles {
        server,
        admin,
        contributor: (contributor, contributor_csrf),
        reader: (reader, reader_csrf),
        _directory: directory,
    })
}

/// Checks that a page never shows `secret`, and gives its body.
fn without_secret(page: &Page, secret: &str) -> String {
    assert!(!page.body.contains(secret), "a secret value reached a page: {}", page.body);
    page.body.clone()
}

const SECRET_VALUE: &str = "s3cr3t-Value-9f1c";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipeline_variables_are_managed_from_their_page() -> TestResult {
    let Roles {
        server,
        admin: (mut admin, _),
        contributor: (mut cora, csrf),
        reader: (mut rita, rita_csrf),
        _directory,
    } = roles_with_pipeline(TWO_JOBS, 0).await?;
    let pipeline = cora.get("/pipelines/demo").await?;
    assert!(pipeline.body.contains("href=\"/pipelines/demo/variables\""), "{}", pipeline.body);
    let empty = cora.get("/pipelines/demo/variables").await?;
    assert_eq!(empty.status, StatusCode::OK, "{}", empty.body);
    assert!(empty.body.contains("No variables.") && empty.body.contains("Add or change a variable"), "{}", empty.body);

    // Forms without the session's CSRF token change nothing.
    let fields = [("name", "Plain"), ("value", "x")];
    assert_eq!(cora.post("/pipelines/demo/variables", &fields).await?.status, StatusCode::FORBIDDEN);
    let forged = cora.post("/pipelines/demo/variables", &[("csrf", "f00d"), ("name", "Plain"), ("value", "x")]).await?;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let others =
        cora.post("/pipelines/demo/variables", &[("csrf", &rita_csrf), ("name", "Plain"), ("value", "x")]).await?;
    assert_eq!(others.status, StatusCode::FORBIDDEN, "another session's token is refused");
    let pipeline_id = server.state.store().pipeline_by_name("demo").await?.ok_or("no pipeline")?.id;
    assert!(server.state.store().list_pipeline_variables(pipeline_id).await?.is_empty());

    // A contributor sets a plain and a secret variable.
    let plain = cora
        .post("/pipelines/demo/variables", &[("csrf", &csrf), ("name", "Plain"), ("value", "<b>shown</b>")])
        .await?;
    assert_eq!(
        (plain.status, plain.location()),
        (StatusCode::SEE_OTHER, "/pipelines/demo/variables"),
        "{}",
        plain.body
    );
    let secret = cora
        .post(
            "/pipelines/demo/variables",
            &[("csrf", &csrf), ("name", "Token"), ("value", SECRET_VALUE), ("secret", "true")],
        )
        .await?;
    assert_eq!(secret.status, StatusCode::SEE_OTHER, "{}", secret.body);
    without_secret(&secret, SECRET_VALUE);
    let listed = cora.get("/pipelines/demo/variables").await?;
    let body = without_secret(&listed, SECRET_VALUE);
    assert!(body.contains("<code class=\"value\">&lt;b&gt;shown&lt;/b&gt;</code>"), "escaped: {body}");
    assert!(!body.contains("<b>shown"), "{body}");
    assert!(body.contains("<code>Token</code>") && body.contains(">secret</span>"), "{body}");
    assert!(body.contains("placeholder=\"new secret value\""), "a secret's form starts empty: {body}");
    assert!(body.contains("action=\"/pipelines/demo/variables/Token/delete\""), "{body}");

    // A name in another case is the same variable; a secret changed stays unshown.
    let changed = cora
        .post(
            "/pipelines/demo/variables",
            &[("csrf", &csrf), ("name", "token"), ("value", "another-secret-7"), ("secret", "true")],
        )
        .await?;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.body);
    let values = server.state.store().pipeline_variable_values(pipeline_id).await?;
    assert!(values.iter().any(|value| value.name == "Token" && value.value == "another-secret-7" && value.is_secret));
    assert_eq!(values.len(), 2);
    without_secret(&cora.get("/pipelines/demo/variables").await?, "another-secret-7");

    // Bad names are refused with the API's message, escaped.
    let bad = cora.post("/pipelines/demo/variables", &[("csrf", &csrf), ("name", "<i>x</i>"), ("value", "v")]).await?;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert!(bad.body.contains("&lt;i&gt;x&lt;/i&gt;") && !bad.body.contains("<i>x"), "{}", bad.body);
    let reserved = cora.post("/pipelines/demo/variables", &[("csrf", &csrf), ("name", "Build.Reason")]).await?;
    assert!(reserved.status == StatusCode::BAD_REQUEST && reserved.body.contains("reserved"), "{}", reserved.body);
    let nowhere = cora.post("/pipelines/nope/variables", &[("csrf", &csrf), ("name", "a"), ("value", "v")]).await?;
    assert_eq!(nowhere.status, StatusCode::NOT_FOUND);

    // A reader sees the list without forms, and may change nothing.
    let seen = rita.get("/pipelines/demo/variables").await?;
    assert_eq!(seen.status, StatusCode::OK);
    let body = without_secret(&seen, "another-secret-7");
    assert!(body.contains("<code>Plain</code>") && !body.contains("Add or change") && !body.contains(">Delete<"));
    let refused =
        rita.post("/pipelines/demo/variables", &[("csrf", &rita_csrf), ("name", "Plain"), ("value", "y")]).await?;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let refused = rita.post("/pipelines/demo/variables/Plain/delete", &[("csrf", &rita_csrf)]).await?;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    // Deleting.
    assert_eq!(cora.post("/pipelines/demo/variables/Plain/delete", &[]).await?.status, StatusCode::FORBIDDEN);
    let deleted = cora.post("/pipelines/demo/variables/plain/delete", &[("csrf", &csrf)]).await?;
    assert_eq!((deleted.status, deleted.location()), (StatusCode::SEE_OTHER, "/pipelines/demo/variables"));
    let missing = cora.post("/pipelines/demo/variables/Plain/delete", &[("csrf", &csrf)]).await?;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(server.state.store().list_pipeline_variables(pipeline_id).await?.len(), 1);

    // The audit log has the same entries as the API writes, without values.
    let audit = server.state.store().list_audit(None, 50).await?;
    let actions: Vec<_> =
        audit.iter().filter(|entry| entry.actor == "cora").map(|entry| entry.action.as_str()).collect();
    assert!(actions.contains(&"pipeline.variable.set") && actions.contains(&"pipeline.variable.delete"), "{actions:?}");
    assert!(!format!("{audit:?}").contains(SECRET_VALUE));
    without_secret(&admin.get("/pipelines/demo/variables").await?, "another-secret-7");
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_library_manages_variable_groups_by_role() -> TestResult {
    let Roles {
        server,
        admin: (mut admin, admin_csrf),
        contributor: (mut cora, csrf),
        reader: (mut rita, rita_csrf),
        _directory,
    } = roles_with_pipeline(TWO_JOBS, 0).await?;
    let home = rita.get("/").await?;
    assert!(home.body.contains("href=\"/library\""), "the navigation links the Library: {}", home.body);
    let empty = admin.get("/library").await?;
    assert!(empty.body.contains("No variable groups.") && empty.body.contains("New variable group"), "{}", empty.body);

    // Only admins create groups, with a CSRF token and a valid name.
    let hostile = "<img src=x onerror=alert(1)>";
    let fields = [("name", "Shared settings"), ("description", hostile)];
    assert_eq!(admin.post("/library", &fields).await?.status, StatusCode::FORBIDDEN);
    let by_contributor = cora.post("/library", &[("csrf", &csrf), ("name", "Shared settings")]).await?;
    assert_eq!(by_contributor.status, StatusCode::FORBIDDEN);
    let bad = admin.post("/library", &[("csrf", &admin_csrf), ("name", "<b>bad</b>")]).await?;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("&lt;b&gt;bad&lt;/b&gt;") && !bad.body.contains("<b>bad"), "{}", bad.body);
    let created =
        admin.post("/library", &[("csrf", &admin_csrf), ("name", "Shared settings"), ("description", hostile)]).await?;
    assert_eq!((created.status, created.location()), (StatusCode::SEE_OTHER, "/library/Shared%20settings"));
    let taken = admin.post("/library", &[("csrf", &admin_csrf), ("name", "shared SETTINGS")]).await?;
    assert_eq!(taken.status, StatusCode::CONFLICT);

    // Contributors set and delete the group's variables.
    let action = "/library/Shared%20settings/variables";
    assert_eq!(cora.post(action, &[("name", "Key"), ("value", "v")]).await?.status, StatusCode::FORBIDDEN);
    let set =
        cora.post(action, &[("csrf", &csrf), ("name", "Key"), ("value", SECRET_VALUE), ("secret", "true")]).await?;
    assert_eq!((set.status, set.location()), (StatusCode::SEE_OTHER, "/library/Shared%20settings"), "{}", set.body);
    let set = cora.post(action, &[("csrf", &csrf), ("name", "Region"), ("value", "eu-<west>")]).await?;
    assert_eq!(set.status, StatusCode::SEE_OTHER);
    assert_eq!(
        rita.post(action, &[("csrf", &rita_csrf), ("name", "X"), ("value", "v")]).await?.status,
        StatusCode::FORBIDDEN
    );

    for (client, who) in [(&mut admin, "admin"), (&mut cora, "contributor"), (&mut rita, "reader")] {
        let library = client.get("/library").await?;
        assert_eq!(library.status, StatusCode::OK, "{who}");
        let body = without_secret(&library, SECRET_VALUE);
        assert!(body.contains("href=\"/library/Shared%20settings\""), "{who}: {body}");
        assert!(body.contains("&lt;img src=x onerror=alert(1)&gt;") && !body.contains("<img src=x"), "{who}: {body}");
        assert!(body.contains("2<span class=\"muted\"> (1 secret)</span>"), "{who}: {body}");
        let group = client.get("/library/Shared%20settings").await?;
        assert_eq!(group.status, StatusCode::OK, "{who}");
        let body = without_secret(&group, SECRET_VALUE);
        assert!(body.contains("eu-&lt;west&gt;") && !body.contains("eu-<west>"), "{who}: {body}");
        assert!(body.contains("<code>Key</code>") && body.contains(">secret</span>"), "{who}: {body}");
        assert_eq!(body.contains("Add or change a variable"), who != "reader", "{who}: {body}");
        assert_eq!(body.contains("Delete this group"), who == "admin", "{who}: {body}");
    }
    assert_eq!(rita.get("/library/nope").await?.status, StatusCode::NOT_FOUND);

    let deleted = cora.post("/library/Shared%20settings/variables/Region/delete", &[("csrf", &csrf)]).await?;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    let group = server.state.store().variable_group_by_name("Shared settings").await?.ok_or("no group")?;
    assert_eq!(group.variables.len(), 1);

    // Deleting the group: admins only, with its name typed again.
    let delete = "/library/Shared%20settings/delete";
    assert_eq!(
        cora.post(delete, &[("csrf", &csrf), ("confirm", "Shared settings")]).await?.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(admin.post(delete, &[("confirm", "Shared settings")]).await?.status, StatusCode::FORBIDDEN);
    let unconfirmed = admin.post(delete, &[("csrf", &admin_csrf), ("confirm", "Shared")]).await?;
    assert_eq!(unconfirmed.status, StatusCode::BAD_REQUEST);
    assert!(server.state.store().variable_group_by_name("Shared settings").await?.is_some());
    let gone = admin.post(delete, &[("csrf", &admin_csrf), ("confirm", "Shared settings")]).await?;
    assert_eq!((gone.status, gone.location()), (StatusCode::SEE_OTHER, "/library"));
    assert!(server.state.store().variable_group_by_name("Shared settings").await?.is_none());
    let audit = server.state.store().list_audit(None, 50).await?;
    for action in ["variable-group.create", "variable-group.variable.set", "variable-group.delete"] {
        assert!(audit.iter().any(|entry| entry.action == action), "{action}: {audit:?}");
    }
    server.stop().await;
    Ok(())
}

/// A pipeline numbered by `name:` whose second job fails until the file `MARKER` exists (its
/// first attempt makes it).
const FLAKY: &str = "\
name: ui-$(Rev:r)
trigger: none
jobs:
- job: build
  steps:
  - checkout: none
  - script: echo built
- job: flaky
  dependsOn: build
  steps:
  - checkout: none
  - script: |
      if [ -f 'MARKER' ]; then echo second time lucky; else touch 'MARKER'; echo failing once; exit 1; fi
    displayName: Fail once
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_are_rerun_whole_or_their_failed_jobs_in_place() -> TestResult {
    let marker = tempfile::tempdir()?;
    let pipeline = FLAKY.replace("MARKER", &marker.path().join("failed-once").display().to_string());
    let Roles { server, contributor: (mut cora, csrf), reader: (mut rita, rita_csrf), _directory, .. } =
        roles_with_pipeline(&pipeline, 2).await?;
    let app = server.app();
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    let started = send(&app, Method::POST, "/api/v1/pipelines/demo/runs", Some(&admin), Some(json!({}))).await?;
    let id = started.body["id"].as_i64().ok_or_else(|| format!("no run id: {}", started.body))?;
    let first = wait_for_run(&app, &admin, id).await?;
    assert_eq!((first["result"].as_str(), first["runNumber"].as_str()), (Some("Failed"), Some("ui-1")), "{first}");

    let page = cora.get(&format!("/runs/{id}")).await?;
    assert!(page.body.contains(">Re-run<") && page.body.contains(">Re-run failed jobs<"), "{}", page.body);
    assert!(!page.body.contains("attempt 2"), "{}", page.body);
    let seen = rita.get(&format!("/runs/{id}")).await?;
    assert!(!seen.body.contains(">Re-run<") && !seen.body.contains("Re-run failed jobs"), "{}", seen.body);
    let path = format!("/runs/{id}/rerun");
    assert_eq!(cora.post(&path, &[("failed_only", "true")]).await?.status, StatusCode::FORBIDDEN);
    assert_eq!(rita.post(&path, &[("csrf", &rita_csrf), ("failed_only", "true")]).await?.status, StatusCode::FORBIDDEN);
    assert_eq!(server.state.store().run(slipway_store::RunId(id)).await?.status, slipway_store::RunStatus::Completed);

    // The failed job runs again in place, as its second attempt; the job that succeeded does not.
    let in_place = cora.post(&path, &[("csrf", &csrf), ("failed_only", "true")]).await?;
    assert_eq!((in_place.status, in_place.location()), (StatusCode::SEE_OTHER, format!("/runs/{id}").as_str()));
    let again = wait_for_run(&app, &admin, id).await?;
    assert_eq!(again["result"], "Succeeded", "{again}");
    let page = cora.get(&format!("/runs/{id}")).await?;
    assert_eq!(page.body.matches("attempt 2").count(), 1, "only the flaky job ran again: {}", page.body);
    // The run page keeps the first attempt of the job that ran again.
    assert_eq!(page.body.matches("<ul class=\"attempts\">").count(), 1, "{}", page.body);
    assert!(page.body.contains("Attempt 1 <span class=\"badge s-fail\">"), "{}", page.body);
    assert!(page.body.contains(">Re-run<") && !page.body.contains("Re-run failed jobs"), "{}", page.body);
    let no_failed = cora.post(&path, &[("csrf", &csrf), ("failed_only", "true")]).await?;
    assert_eq!(no_failed.status, StatusCode::CONFLICT, "{}", no_failed.body);
    assert!(no_failed.body.contains("no failed or cancelled jobs"), "{}", no_failed.body);

    // The whole run again: a new run, numbered by `name:`, marked as a re-run.
    let whole = cora.post(&path, &[("csrf", &csrf), ("failed_only", "false")]).await?;
    assert_eq!(whole.status, StatusCode::SEE_OTHER, "{}", whole.body);
    let new_id: i64 = whole.location().strip_prefix("/runs/").ok_or("not a run page")?.parse()?;
    assert_ne!(new_id, id);
    let second = wait_for_run(&app, &admin, new_id).await?;
    assert_eq!((second["runNumber"].as_str(), second["retryOf"].as_i64()), (Some("ui-2"), Some(id)), "{second}");
    assert_eq!(second["requestedBy"], "cora");
    let page = cora.get(&format!("/runs/{new_id}")).await?;
    assert!(page.body.contains(&format!("re-run of <a href=\"/runs/{id}\">")), "{}", page.body);
    // The pipeline's page: its trend, its runs filtered by result, trigger and branch, its badge.
    let pipeline_page = rita.get("/pipelines/demo").await?;
    assert!(
        pipeline_page.body.contains("<span id=\"pass-rate\">2 of 2 succeeded</span> (100%)"),
        "{}",
        pipeline_page.body
    );
    assert_eq!(pipeline_page.body.matches("<rect class=\"s-ok\"").count(), 2, "{}", pipeline_page.body);
    let failed = rita.get("/pipelines/demo?result=Failed").await?;
    assert!(failed.body.contains("No runs match this filter."), "{}", failed.body);
    let manual = rita.get("/pipelines/demo?result=&trigger=manual&branch=").await?;
    assert_eq!(manual.body.matches("href=\"/runs/").count(), 2, "{}", manual.body);
    let scheduled = rita.get("/pipelines/demo?trigger=schedule").await?;
    assert!(scheduled.body.contains("No runs match this filter."), "{}", scheduled.body);
    let elsewhere = rita.get("/pipelines/demo?branch=feature/x").await?;
    assert!(elsewhere.body.contains("No runs match this filter."), "{}", elsewhere.body);
    let bad = rita.get("/pipelines/demo?result=Great").await?;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert!(
        bad.body.contains("is not a result a run can end with: use Succeeded, SucceededWithIssues, Failed or Canceled"),
        "{}",
        bad.body
    );
    let mut anonymous = Client::new(app.clone());
    let badge = anonymous.get("/pipelines/demo/badge.svg").await?;
    assert_eq!(badge.status, StatusCode::OK);
    assert_eq!(badge.headers.get("content-type").and_then(|value| value.to_str().ok()), Some("image/svg+xml"));
    assert!(badge.body.contains("<title>slipway: succeeded</title>"), "{}", badge.body);
    let branch_badge = anonymous.get("/pipelines/demo/badge.svg?branch=feature/x").await?;
    assert!(branch_badge.body.contains("slipway: never built"), "{}", branch_badge.body);
    let unknown = anonymous.get("/pipelines/secret-project/badge.svg").await?;
    assert_eq!(unknown.body, branch_badge.body, "a pipeline that does not exist looks like one that never ran");

    let audit = server.state.store().list_audit(None, 50).await?;
    for action in ["run.rerun", "run.rerun-failed"] {
        assert!(audit.iter().any(|entry| entry.action == action && entry.actor == "cora"), "{action}: {audit:?}");
    }
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_pages_are_html_for_browsers_and_problems_for_the_api() -> TestResult {
    let directory = tempfile::tempdir()?;
    let server = TestServer::start(directory.path(), 0).await?;
    let browser = [("accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")];
    let content_type = |page: &Page| {
        page.headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or_default().to_owned()
    };

    let mut stranger = Client::new(server.app());
    let page = stranger.request(Method::GET, "/no/such/page", None, &browser).await?;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(content_type(&page).starts_with("text/html"), "{}", content_type(&page));
    assert!(page.body.contains("404 Not Found") && page.body.contains("/no/such/page"), "{}", page.body);
    assert!(page.headers.get(header::CONTENT_SECURITY_POLICY).is_some());
    let hostile = stranger.request(Method::GET, "/%3Cscript%3Ealert(1)%3C/script%3E", None, &browser).await?;
    assert_eq!(hostile.status, StatusCode::NOT_FOUND);
    assert!(!hostile.body.contains("<script>alert"), "{}", hostile.body);

    // The API keeps its problems, whatever the request accepts; so does a client that wants JSON.
    for (path, accept) in [("/api/v1/nope", browser[0].1), ("/api/v1/nope", "*/*"), ("/nope", "application/json")] {
        let answer = stranger.request(Method::GET, path, None, &[("accept", accept)]).await?;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(content_type(&answer), "application/problem+json", "{path} {accept}");
        assert!(answer.body.contains("no such API route"), "{}", answer.body);
    }
    let plain = stranger.get("/nope").await?;
    assert_eq!(content_type(&plain), "application/problem+json", "no Accept header: a program");
    let method = send(&server.app(), Method::DELETE, "/api/v1/runs", None, None).await?;
    method.expect_problem(405);

    // Signed in, the page has the navigation; a form's address opened as a link is a 405 page.
    let (mut admin, _) = admin_client(&server).await?;
    let page = admin.request(Method::GET, "/pipelines/x/y/z", None, &browser).await?;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.body.contains("href=\"/library\"") && page.body.contains("Sign out"), "{}", page.body);
    let wrong = admin.request(Method::GET, "/logout", None, &browser).await?;
    assert_eq!(wrong.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(content_type(&wrong).starts_with("text/html") && wrong.body.contains("/logout does not take GET"));
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_set_retention_and_contributors_keep_runs() -> TestResult {
    let Roles {
        server,
        admin: (mut admin, admin_csrf),
        contributor: (mut cora, csrf),
        reader: (mut rita, rita_csrf),
        _directory,
    } = roles_with_pipeline(TWO_JOBS, 0).await?;
    let store = server.state.store().clone();

    // Retention: shown to everyone, changed by admins.
    let page = cora.get("/pipelines/demo").await?;
    assert!(page.body.contains("runs kept forever") && !page.body.contains("Save retention"), "{}", page.body);
    let page = admin.get("/pipelines/demo").await?;
    assert!(page.body.contains("Save retention"), "{}", page.body);
    let path = "/pipelines/demo/retention";
    assert_eq!(admin.post(path, &[("days", "30")]).await?.status, StatusCode::FORBIDDEN);
    assert_eq!(cora.post(path, &[("csrf", &csrf), ("days", "30")]).await?.status, StatusCode::FORBIDDEN);
    for (days, says) in [("0", "at least 1"), ("abc", "whole number"), ("-3", "whole number"), ("99999999", "at most")]
    {
        let refused = admin.post(path, &[("csrf", &admin_csrf), ("days", days), ("runs", "")]).await?;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{days}");
        assert!(refused.body.contains(says), "{days}: {}", refused.body);
    }
    let saved = admin.post(path, &[("csrf", &admin_csrf), ("days", "30"), ("runs", "")]).await?;
    assert_eq!((saved.status, saved.location()), (StatusCode::SEE_OTHER, "/pipelines/demo"), "{}", saved.body);
    let retention = store.pipeline_by_name("demo").await?.ok_or("no pipeline")?.retention;
    assert_eq!((retention.days, retention.runs), (Some(30), None));
    let page = rita.get("/pipelines/demo").await?;
    assert!(page.body.contains("runs kept 30 days"), "{}", page.body);
    admin.post(path, &[("csrf", &admin_csrf), ("days", " 7 "), ("runs", "10")]).await?;
    let page = admin.get("/pipelines/demo").await?;
    assert!(page.body.contains("runs kept 7 days, and the newest 10 runs"), "{}", page.body);
    assert!(page.body.contains("name=\"days\" min=\"1\" value=\"7\""), "{}", page.body);

    // Keep: a toggle for contributors, a badge for everyone.
    let app = server.app();
    let token = server.admin_token.clone().ok_or("no admin token")?;
    let started = send(&app, Method::POST, "/api/v1/pipelines/demo/runs", Some(&token), Some(json!({}))).await?;
    let id = started.body["id"].as_i64().ok_or("no run id")?;
    let run_page = format!("/runs/{id}");
    let keep = format!("/runs/{id}/keep");
    let page = cora.get(&run_page).await?;
    assert!(page.body.contains(">Keep<") && !page.body.contains(">kept<"), "{}", page.body);
    assert_eq!(cora.post(&keep, &[("keep", "true")]).await?.status, StatusCode::FORBIDDEN);
    assert_eq!(rita.post(&keep, &[("csrf", &rita_csrf), ("keep", "true")]).await?.status, StatusCode::FORBIDDEN);
    assert_eq!(cora.post(&keep, &[("csrf", &csrf), ("keep", "maybe")]).await?.status, StatusCode::BAD_REQUEST);
    assert!(!store.run(slipway_store::RunId(id)).await?.keep);
    let kept = cora.post(&keep, &[("csrf", &csrf), ("keep", "true")]).await?;
    assert_eq!((kept.status, kept.location()), (StatusCode::SEE_OTHER, run_page.as_str()));
    assert!(store.run(slipway_store::RunId(id)).await?.keep);
    let page = cora.get(&run_page).await?;
    assert!(page.body.contains(">Unkeep<") && page.body.contains(">kept<"), "{}", page.body);
    let seen = rita.get(&run_page).await?;
    assert!(seen.body.contains(">kept<") && !seen.body.contains("Unkeep"), "{}", seen.body);
    cora.post(&keep, &[("csrf", &csrf), ("keep", "false")]).await?;
    assert!(!store.run(slipway_store::RunId(id)).await?.keep);
    assert_eq!(cora.post("/runs/9999/keep", &[("csrf", &csrf), ("keep", "true")]).await?.status, StatusCode::NOT_FOUND);
    let audit = store.list_audit(None, 50).await?;
    assert!(audit.iter().any(|entry| entry.action == "pipeline.update" && entry.actor == "admin"), "{audit:?}");
    assert!(audit.iter().any(|entry| entry.action == "run.keep" && entry.actor == "cora"), "{audit:?}");
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_show_with_their_pool_state_and_job_and_admins_create_registration_tokens() -> TestResult {
    let Roles { server, admin: (mut admin, admin_csrf), reader: (mut rita, rita_csrf), _directory: _kept, .. } =
        roles_with_pipeline(TWO_JOBS, 0).await?;
    let store = server.state.store().clone();
    let capabilities = std::collections::BTreeMap::from([
        ("Agent.OS".to_owned(), "Linux".to_owned()),
        ("note".to_owned(), "<script>alert('capability')</script>".to_owned()),
    ]);
    let register = async |name: &str, pool: &str| -> TestResult<slipway_store::Agent> {
        let token = store.create_registration_token(Some("admin"), None).await?;
        let new = slipway_store::NewAgent {
            name: name.to_owned(),
            pool: pool.to_owned(),
            capabilities: capabilities.clone(),
            version: "9.8.7".to_owned(),
        };
        Ok(store.register_agent(&token.secret, &new).await?.ok_or("the registration token was refused")?.item)
    };
    let builder = register("builder-1", "default").await?;
    let hostile = register("<i>evil</i>", "gpu pool").await?;
    store.agent_seen(builder.id, slipway_store::AgentState::Idle).await?;
    store.agent_seen(hostile.id, slipway_store::AgentState::Offline).await?;

    // The run's first job, leased by builder-1.
    let admin_token = server.admin_token.clone().ok_or("no admin token")?;
    let started =
        send(&server.app(), Method::POST, "/api/v1/pipelines/demo/runs", Some(&admin_token), Some(json!({}))).await?;
    let run = started.body["id"].as_i64().ok_or_else(|| format!("no run id: {} {}", started.status, started.body))?;
    let request = slipway_store::LeaseRequest {
        holder: "agent:builder-1".to_owned(),
        pool: "default".to_owned(),
        capabilities: capabilities.clone(),
        duration: std::time::Duration::from_secs(600),
    };
    let mut lease = None;
    for _ in 0..100 {
        lease = store.lease_job(&request).await?;
        if lease.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(lease.is_some(), "the run's first job was never queued");

    let page = rita.get("/agents").await?;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let body = &page.body;
    assert!(body.contains("href=\"/agents\""), "the nav links the page: {body}");
    let row = body.split("<tr>").find(|row| row.contains("builder-1")).ok_or("no row for builder-1")?;
    assert!(row.contains("<td>default</td>") && row.contains("9.8.7"), "{row}");
    assert!(row.contains("<span class=\"badge s-run\">busy</span>"), "{row}");
    assert!(row.contains(&format!("href=\"/runs/{run}?job=")), "{row}");
    assert!(row.contains("<details>") && row.contains("Agent.OS"), "{row}");
    let row = body.split("<tr>").find(|row| row.contains("gpu pool")).ok_or("no row for the hostile agent")?;
    assert!(row.contains("&lt;i&gt;evil&lt;/i&gt;") && !row.contains("<i>evil"), "{row}");
    assert!(row.contains("<span class=\"badge s-skip\">offline</span>"), "{row}");
    assert!(!body.contains("<script>alert('capability')"), "{body}");
    assert!(body.contains("&lt;script&gt;alert"), "{body}");

    // A reader gets no token form and may not post one.
    assert!(!body.contains("/agents/registration-tokens"), "{body}");
    let refused = rita.post("/agents/registration-tokens", &[("csrf", &rita_csrf)]).await?;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);

    // The run page says which agent runs the job.
    let run_page = rita.get(&format!("/runs/{run}")).await?;
    assert!(run_page.body.contains("on builder-1"), "{}", run_page.body);

    // An admin's form: CSRF checked, the token shown once and good for one registration.
    let page = admin.get("/agents").await?;
    assert!(page.body.contains("action=\"/agents/registration-tokens\""), "{}", page.body);
    let forged = admin.post("/agents/registration-tokens", &[("csrf", "f00d")]).await?;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    let bad = admin.post("/agents/registration-tokens", &[("csrf", &admin_csrf), ("expires_in_hours", "0")]).await?;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    let created =
        admin.post("/agents/registration-tokens", &[("csrf", &admin_csrf), ("expires_in_hours", "2")]).await?;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let start = created.body.find("<code id=\"new-token\">").ok_or("no token shown")? + "<code id=\"new-token\">".len();
    let end = created.body[start..].find('<').ok_or("no token end")? + start;
    let token = &created.body[start..end];
    let new = slipway_store::NewAgent {
        name: "builder-2".to_owned(),
        pool: "default".to_owned(),
        capabilities: std::collections::BTreeMap::new(),
        version: "9.8.7".to_owned(),
    };
    assert!(store.register_agent(token, &new).await?.is_some(), "the shown token registers an agent");
    assert!(!admin.get("/agents").await?.body.contains(token), "the token is shown only once");

    // Pools with their settings: everyone sees them, admins change them (as PUT /api/v1/pools/NAME).
    let page = rita.get("/agents").await?;
    let pools = page.body.split("<section class=\"panel\" id=\"pools\">").nth(1).ok_or("no pools section")?;
    assert!(pools.contains("<td>default</td><td>2</td><td>the job fails</td>"), "{pools}");
    assert!(pools.contains("gpu pool") && !pools.contains("<i>evil</i>"), "{pools}");
    assert!(!pools.contains("action=\"/agents/pools/"), "readers get no form: {pools}");
    let settings = [
        ("csrf", admin_csrf.as_str()),
        ("on_agent_lost", "requeue"),
        ("vm_images", "ubuntu-latest: Agent.OS -equals Linux, docker\n"),
    ];
    let refused = rita
        .post("/agents/pools/default", &[("csrf", &rita_csrf), ("on_agent_lost", "requeue"), ("vm_images", "")])
        .await?;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    let forged = admin
        .post("/agents/pools/default", &[("csrf", "f00d"), ("on_agent_lost", "requeue"), ("vm_images", "")])
        .await?;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    let bad = admin
        .post(
            "/agents/pools/default",
            &[("csrf", &admin_csrf), ("on_agent_lost", "requeue"), ("vm_images", "ubuntu-latest")],
        )
        .await?;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert!(bad.body.contains("vmImages line 1: expected"), "{}", bad.body);
    let saved = admin.post("/agents/pools/default", &settings).await?;
    assert_eq!((saved.status, saved.location()), (StatusCode::SEE_OTHER, "/agents#pools"), "{}", saved.body);
    let page = admin.get("/agents").await?;
    assert!(page.body.contains("<td>default</td><td>2</td><td>the job runs again</td>"), "{}", page.body);
    assert!(page.body.contains("ubuntu-latest: Agent.OS -equals Linux, docker</textarea>"), "{}", page.body);
    let api = send(&server.app(), Method::GET, "/api/v1/pools", Some(&admin_token), None).await?;
    let default = api.body["pools"]
        .as_array()
        .and_then(|pools| pools.iter().find(|pool| pool["name"] == "default"))
        .ok_or("no default pool")?;
    assert_eq!(default["settings"]["onAgentLost"], "requeue", "{}", api.body);
    assert_eq!(
        default["settings"]["vmImages"]["ubuntu-latest"],
        json!(["Agent.OS -equals Linux", "docker"]),
        "{}",
        api.body
    );
    assert!(store.list_audit(None, 50).await?.iter().any(|entry| entry.action == "pool.set" && entry.actor == "admin"));
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_disable_enable_and_delete_a_pipeline_from_its_page() -> TestResult {
    let Roles { server, admin: (mut admin, admin_csrf), contributor: (mut cora, csrf), reader: _, _directory } =
        roles_with_pipeline(TWO_JOBS, 0).await?;
    let store = server.state.store().clone();
    let page = cora.get("/pipelines/demo").await?;
    assert!(!page.body.contains("Disable pipeline") && !page.body.contains("Delete pipeline"), "{}", page.body);
    assert!(page.body.contains("Triggers: not polled yet."), "{}", page.body);
    assert_eq!(
        cora.post("/pipelines/demo/queue-status", &[("csrf", &csrf), ("status", "disabled")]).await?.status,
        StatusCode::FORBIDDEN
    );
    let page = admin.get("/pipelines/demo").await?;
    assert!(page.body.contains("Disable pipeline") && page.body.contains("Delete pipeline"), "{}", page.body);

    let bad = admin.post("/pipelines/demo/queue-status", &[("csrf", &admin_csrf), ("status", "paused")]).await?;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let disabled = admin.post("/pipelines/demo/queue-status", &[("csrf", &admin_csrf), ("status", "disabled")]).await?;
    assert_eq!((disabled.status, disabled.location()), (StatusCode::SEE_OTHER, "/pipelines/demo"));
    let page = cora.get("/pipelines/demo").await?;
    assert!(page.body.contains("This pipeline is disabled"), "{}", page.body);
    let list = cora.get("/").await?;
    assert!(list.body.contains(">disabled<"), "{}", list.body);
    let form = cora.post("/pipelines/demo/run", &[("csrf", &csrf), ("branch", "")]).await?;
    assert_eq!(form.status, StatusCode::CONFLICT, "{}", form.body);
    assert!(form.body.contains("is disabled"), "{}", form.body);
    admin.post("/pipelines/demo/queue-status", &[("csrf", &admin_csrf), ("status", "enabled")]).await?;
    assert_eq!(
        store.pipeline_by_name("demo").await?.ok_or("no pipeline")?.queue_status,
        slipway_store::QueueStatus::Enabled
    );

    // What polling found shows on the page, escaped.
    let id = store.pipeline_by_name("demo").await?.ok_or("no pipeline")?.id;
    store.record_trigger_check(id, Some("git ls-remote failed: <b>gone</b>")).await?;
    let page = cora.get("/pipelines/demo").await?;
    assert!(page.body.contains("failed:") && page.body.contains("&lt;b&gt;gone&lt;/b&gt;"), "{}", page.body);
    assert!(cora.get("/").await?.body.contains("triggers failing"));

    let wrong = admin.post("/pipelines/demo/delete", &[("csrf", &admin_csrf), ("confirm", "dem")]).await?;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(wrong.body.contains("type its name"), "{}", wrong.body);
    assert_eq!(
        cora.post("/pipelines/demo/delete", &[("csrf", &csrf), ("confirm", "demo")]).await?.status,
        StatusCode::FORBIDDEN
    );
    let deleted = admin.post("/pipelines/demo/delete", &[("csrf", &admin_csrf), ("confirm", "demo")]).await?;
    assert_eq!((deleted.status, deleted.location()), (StatusCode::SEE_OTHER, "/"), "{}", deleted.body);
    assert!(store.pipeline_by_name("demo").await?.is_none());
    assert_eq!(admin.get("/pipelines/demo").await?.status, StatusCode::NOT_FOUND);
    server.stop().await;
    Ok(())
}

/// The part of `body` from `start` on (the whole body when `start` is not in it).
fn from<'a>(body: &'a str, start: &str) -> &'a str {
    body.find(start).map_or(body, |at| &body[at..])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn environments_show_deployments_and_checks_and_admins_manage_them() -> TestResult {
    let Roles { server, admin: (mut admin, admin_csrf), reader: (mut rita, rita_csrf), _directory, .. } =
        roles_with_pipeline(&deploys_to("production"), 2).await?;
    let app = server.app();
    let token = server.admin_token.clone().ok_or("no admin token")?;
    let home = rita.get("/").await?;
    assert!(home.body.contains("href=\"/environments\""), "the navigation links environments: {}", home.body);
    assert!(rita.get("/environments").await?.body.contains("No environments yet."));

    // A run deploys: the environment is made on first use, and the deployment recorded.
    let started = send(&app, Method::POST, "/api/v1/pipelines/demo/runs", Some(&token), Some(json!({}))).await?;
    let id = started.body["id"].as_i64().ok_or("no run id")?;
    let run = wait_for_run(&app, &token, id).await?;
    assert_eq!(run["result"], "Succeeded", "{run}");
    let commit = run["commit"].as_str().ok_or("no commit")?.to_owned();

    let list = rita.get("/environments").await?;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let row = list.body.split("<tr>").find(|row| row.contains("production")).ok_or("no row for production")?;
    assert!(row.contains("href=\"/environments/production\""), "{row}");
    assert!(row.contains(&format!("href=\"/runs/{id}\"")) && row.contains("demo #"), "{row}");
    assert!(row.contains("<span class=\"badge s-ok\">succeeded</span>"), "{row}");
    assert!(!list.body.contains("New environment"), "readers get no form: {}", list.body);

    let page = rita.get("/environments/production").await?;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let current = from(&page.body, "id=\"current\"");
    assert!(current.contains(&format!("href=\"/runs/{id}\"")), "what runs where: {current}");
    assert!(current.contains(&commit[..8]) && current.contains("<td>main</td>"), "{current}");
    assert!(current.contains("nothing before"), "{current}");
    let history = from(&page.body, "id=\"history\"");
    for cell in ["<td>demo</td>", "<td>Deploy</td>", "<td>ship</td>", "<td>runOnce</td>", "<td>admin</td>"] {
        assert!(history.contains(cell), "{cell}: {history}");
    }
    assert!(history.contains(&format!("title=\"{commit}\"")), "{history}");
    assert!(history.contains("<span class=\"badge s-ok\">succeeded</span>"), "{history}");
    assert!(page.body.contains("No checks: stages deploy here without waiting."), "{}", page.body);
    assert!(page.body.contains("by a deployment job's first use"), "{}", page.body);
    assert!(!page.body.contains("Add a check") && !page.body.contains("Delete environment"), "{}", page.body);

    // An admin adds checks through the form; the service's words show beside a refused one.
    let page = admin.get("/environments/production").await?;
    assert!(page.body.contains("id=\"add-check\"") && page.body.contains("Delete environment"), "{}", page.body);
    let action = "/environments/production/checks";
    let approval = [
        ("csrf", admin_csrf.as_str()),
        ("type", "approval"),
        ("approvers", "rita, <b>ana</b>"),
        ("min_required_approvers", "1"),
        ("requester_cannot_be_approver", "true"),
        ("instructions", "look at <script>alert(1)</script> first"),
        ("timeout_minutes", "120"),
    ];
    let missing = admin.post(action, &approval[1..]).await?;
    assert_eq!(missing.status, StatusCode::FORBIDDEN, "no CSRF token: {}", missing.body);
    let refused = rita.post(action, &[("csrf", &rita_csrf), ("type", "exclusiveLock")]).await?;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    for (fields, status, says) in [
        (vec![("type", "approval"), ("approvers", " ")], 422, "'approvers' must name at least one user"),
        (
            vec![("type", "approval"), ("approvers", "rita"), ("min_required_approvers", "2")],
            422,
            "'minRequiredApprovers' is 2",
        ),
        (vec![("type", "approval"), ("approvers", "rita"), ("timeout_minutes", "0")], 422, "'timeoutMinutes' is 0"),
        (vec![("type", "approval"), ("approvers", "rita"), ("timeout_minutes", "soon")], 400, "not 'soon'"),
        (vec![("type", "branchControl"), ("allowed_branches", " , ")], 422, "'allowedBranches' must name"),
        (
            vec![
                ("type", "businessHours"),
                ("time_zone", "Mars/Olympus"),
                ("start_time", "09:00"),
                ("end_time", "17:00"),
            ],
            422,
            "Mars/Olympus",
        ),
        (vec![("type", "json"), ("json_type", "<teleport>")], 422, "'&lt;teleport&gt;' is not a type of check"),
        (vec![("type", "json"), ("json_type", "approval"), ("json_settings", "{")], 400, "The settings are not JSON"),
        (
            vec![
                ("type", "json"),
                ("json_type", "approval"),
                ("json_settings", r#"{"approvers": ["rita"], "colour": 1}"#),
            ],
            422,
            "unknown field `colour`",
        ),
        (vec![("type", "json"), ("json_type", " ")], 400, "Name the check's type"),
        (vec![("type", "<teleport>")], 422, "'&lt;teleport&gt;' is not a type of check"),
    ] {
        let mut posted = vec![("csrf", admin_csrf.as_str())];
        posted.extend(fields.iter().copied());
        let answer = admin.post(action, &posted).await?;
        assert_eq!(answer.status.as_u16(), status, "{fields:?}: {}", answer.body);
        let shown = from(&answer.body, "Add a check");
        assert!(shown.contains("class=\"problem\" role=\"alert\"") && shown.contains(says), "{fields:?}: {shown}");
        assert!(answer.body.contains("id=\"current\""), "the whole page shows again: {}", answer.body);
    }
    let kept = admin
        .post(
            action,
            &[("csrf", &admin_csrf), ("type", "approval"), ("approvers", "rita"), ("timeout_minutes", "soon")],
        )
        .await?;
    assert!(kept.body.contains("name=\"approvers\" value=\"rita\""), "what was typed is kept: {}", kept.body);
    assert!(kept.body.contains("name=\"timeout_minutes\" min=\"1\" value=\"soon\""), "{}", kept.body);
    assert!(
        server
            .state
            .store()
            .list_checks(&slipway_store::ProtectedResource::Environment(
                server.state.store().environment("production").await?.id
            ))
            .await?
            .is_empty()
    );

    let added = admin.post(action, &approval).await?;
    assert_eq!(
        (added.status, added.location()),
        (StatusCode::SEE_OTHER, "/environments/production#checks"),
        "{}",
        added.body
    );
    let branches = admin
        .post(action, &[("csrf", &admin_csrf), ("type", "branchControl"), ("allowed_branches", "main, release/*")])
        .await?;
    assert_eq!(branches.status, StatusCode::SEE_OTHER, "{}", branches.body);
    let checks = send(&app, Method::GET, "/api/v1/environments/production/checks", Some(&token), None).await?;
    let listed = checks.body["checks"].as_array().ok_or("no checks")?;
    assert_eq!(listed.len(), 2, "{}", checks.body);
    assert_eq!(
        listed[0]["settings"],
        json!({"approvers": ["rita", "<b>ana</b>"], "minRequiredApprovers": 1, "requesterCannotBeApprover": true,
               "instructions": "look at <script>alert(1)</script> first"})
    );
    assert_eq!(listed[0]["timeoutMinutes"], 120);
    assert_eq!(listed[1]["settings"], json!({"allowedBranches": ["main", "release/*"]}));

    // Everyone sees the checks, readably and escaped; only admins get the delete buttons.
    let page = rita.get("/environments/production").await?;
    let shown = from(&page.body, "id=\"checks\"");
    assert!(
        shown.contains("Approvers: rita, &lt;b&gt;ana&lt;/b&gt;") && shown.contains("1 of 2 must approve"),
        "{shown}"
    );
    assert!(shown.contains("may not approve it") && shown.contains("2 hours"), "{shown}");
    assert!(shown.contains("look at &lt;script&gt;alert(1)&lt;/script&gt; first"), "{shown}");
    assert!(!page.body.contains("<script>alert(1)"), "{}", page.body);
    assert!(shown.contains("Allowed branches: <code>main</code>, <code>release/*</code>"), "{shown}");
    assert!(!shown.contains(">Delete<") && !shown.contains("add-check"), "{shown}");
    let first = listed[0]["id"].as_i64().ok_or("no check id")?;
    let delete = format!("/environments/production/checks/{first}/delete");
    assert_eq!(rita.post(&delete, &[("csrf", &rita_csrf)]).await?.status, StatusCode::FORBIDDEN);
    assert_eq!(admin.post(&delete, &[]).await?.status, StatusCode::FORBIDDEN, "no CSRF token");
    let page = admin.get("/environments/production").await?;
    assert!(page.body.contains(&format!("action=\"{delete}\"")), "{}", page.body);
    let deleted = admin.post(&delete, &[("csrf", &admin_csrf)]).await?;
    assert_eq!((deleted.status, deleted.location()), (StatusCode::SEE_OTHER, "/environments/production#checks"));
    assert_eq!(admin.post(&delete, &[("csrf", &admin_csrf)]).await?.status, StatusCode::NOT_FOUND);
    assert_eq!(
        admin.post("/environments/production/checks/abc/delete", &[("csrf", &admin_csrf)]).await?.status,
        StatusCode::BAD_REQUEST
    );
    let page = rita.get("/environments/production").await?;
    assert!(!page.body.contains("Approvers:") && page.body.contains("Allowed branches"), "{}", page.body);

    // Admins create, describe and rename environments; a taken name is refused on the page.
    assert_eq!(
        rita.post("/environments", &[("csrf", &rita_csrf), ("name", "staging")]).await?.status,
        StatusCode::FORBIDDEN
    );
    let created = admin
        .post(
            "/environments",
            &[("csrf", &admin_csrf), ("name", "staging"), ("description", "<i>before</i> production")],
        )
        .await?;
    assert_eq!(
        (created.status, created.location()),
        (StatusCode::SEE_OTHER, "/environments/staging"),
        "{}",
        created.body
    );
    let taken = admin.post("/environments", &[("csrf", &admin_csrf), ("name", "STAGING")]).await?;
    assert_eq!(taken.status, StatusCode::CONFLICT, "{}", taken.body);
    assert!(from(&taken.body, "New environment").contains("exists already"), "{}", taken.body);
    let page = rita.get("/environments/staging").await?;
    assert!(page.body.contains("&lt;i&gt;before&lt;/i&gt; production") && !page.body.contains("<i>before"));
    assert!(page.body.contains("No deployments yet.") && page.body.contains("Nothing has been deployed here"));
    let clash = admin
        .post("/environments/staging/update", &[("csrf", &admin_csrf), ("name", "Production"), ("description", "x")])
        .await?;
    assert_eq!(clash.status, StatusCode::CONFLICT, "{}", clash.body);
    assert!(from(&clash.body, "Name and description").contains("exists already"), "{}", clash.body);
    assert!(clash.body.contains("name=\"name\" required maxlength=\"256\" value=\"Production\""), "{}", clash.body);
    let renamed = admin
        .post("/environments/staging/update", &[("csrf", &admin_csrf), ("name", "qa"), ("description", "the QA one")])
        .await?;
    assert_eq!((renamed.status, renamed.location()), (StatusCode::SEE_OTHER, "/environments/qa"), "{}", renamed.body);
    assert!(admin.get("/environments/qa").await?.body.contains("the QA one"));
    assert_eq!(rita.get("/environments/staging").await?.status, StatusCode::NOT_FOUND);

    // Deleting asks for the name again (in any case).
    let wrong = admin.post("/environments/qa/delete", &[("csrf", &admin_csrf), ("confirm", "q")]).await?;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST, "{}", wrong.body);
    assert!(from(&wrong.body, "Delete this environment").contains("type its name, 'qa', to confirm"));
    assert_eq!(
        rita.post("/environments/qa/delete", &[("csrf", &rita_csrf), ("confirm", "qa")]).await?.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(admin.get("/environments/qa").await?.status, StatusCode::OK, "still there");
    let gone = admin.post("/environments/qa/delete", &[("csrf", &admin_csrf), ("confirm", " QA ")]).await?;
    assert_eq!((gone.status, gone.location()), (StatusCode::SEE_OTHER, "/environments"), "{}", gone.body);
    assert_eq!(admin.get("/environments/qa").await?.status, StatusCode::NOT_FOUND);
    assert_eq!(admin.get("/environments/production?before=x").await?.status, StatusCode::BAD_REQUEST);
    let older = admin.get(&format!("/environments/production?before={}", i64::MAX)).await?;
    assert!(older.body.contains(&format!("href=\"/runs/{id}\"")), "{}", older.body);

    let audit = server.state.store().list_audit(None, 50).await?;
    for action in ["check.add", "check.delete", "environment.create", "environment.update", "environment.delete"] {
        assert!(audit.iter().any(|entry| entry.action == action && entry.actor == "admin"), "{action}: {audit:?}");
    }
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_manage_the_checks_on_a_variable_group_and_an_agent_pool_from_their_pages() -> TestResult {
    let Roles { server, admin: (mut admin, admin_csrf), reader: (mut rita, rita_csrf), _directory, .. } =
        roles_with_pipeline(TWO_JOBS, 0).await?;
    let app = server.app();
    let token = server.admin_token.clone().ok_or("no admin token")?;
    let store = server.state.store().clone();
    let created = admin.post("/library", &[("csrf", &admin_csrf), ("name", "Shared settings")]).await?;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    // An agent serves the default pool, so the Agents page lists it.
    let registration = store.create_registration_token(Some("admin"), None).await?;
    let agent = slipway_store::NewAgent {
        name: "builder-1".to_owned(),
        pool: "default".to_owned(),
        capabilities: std::collections::BTreeMap::new(),
        version: "9.8.7".to_owned(),
    };
    assert!(store.register_agent(&registration.secret, &agent).await?.is_some());

    // Everyone sees the sections; readers get no forms.
    let group_page = "/library/Shared%20settings";
    let page = rita.get(group_page).await?;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let shown = from(&page.body, "id=\"checks\"");
    assert!(shown.contains("No checks: stages use this group without waiting."), "{shown}");
    assert!(!shown.contains("add-check") && !shown.contains("/checks"), "readers get no form: {shown}");
    let page = rita.get("/agents").await?;
    let shown = from(&page.body, "id=\"checks-default\"");
    assert!(shown.contains("Checks on pool default"), "{}", page.body);
    assert!(shown.contains("No checks: stages run their jobs in this pool without waiting."), "{shown}");
    assert!(!page.body.contains("add-check") && !page.body.contains("/checks"), "readers get no form: {}", page.body);
    assert!(
        page.body.contains("<a href=\"#checks-default\">none</a>"),
        "the pools table links the section: {}",
        page.body
    );

    // An admin gets the forms, posting to the group's and the pool's addresses.
    let group_action = "/library/Shared%20settings/checks";
    let pool_action = "/agents/pools/default/checks";
    let page = admin.get(group_page).await?;
    assert!(page.body.contains("id=\"add-check\""), "{}", page.body);
    assert!(page.body.contains(&format!("action=\"{group_action}\"")), "{}", page.body);
    let page = admin.get("/agents").await?;
    assert!(page.body.contains("id=\"add-check-default\""), "{}", page.body);
    assert!(page.body.contains(&format!("action=\"{pool_action}\"")), "{}", page.body);

    // Without the session's CSRF token, or by a reader: refused.
    let approval = [
        ("csrf", admin_csrf.as_str()),
        ("type", "approval"),
        ("approvers", "rita, <b>ana</b>"),
        ("instructions", "look at <script>alert(1)</script> first"),
        ("timeout_minutes", "60"),
    ];
    let branches = [("csrf", admin_csrf.as_str()), ("type", "branchControl"), ("allowed_branches", "main, release/*")];
    for action in [group_action, pool_action] {
        assert_eq!(admin.post(action, &approval[1..]).await?.status, StatusCode::FORBIDDEN, "{action}: no CSRF token");
        let forged = admin.post(action, &[("csrf", "f00d"), ("type", "exclusiveLock")]).await?;
        assert_eq!(forged.status, StatusCode::FORBIDDEN, "{action}");
        let refused = rita.post(action, &[("csrf", &rita_csrf), ("type", "exclusiveLock")]).await?;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{action}: {}", refused.body);
    }

    // Bad settings show the service's words beside the form, on the page it came from, with what
    // was typed kept.
    let bad = admin
        .post(
            group_action,
            &[("csrf", &admin_csrf), ("type", "approval"), ("approvers", " "), ("instructions", "<i>kept</i>")],
        )
        .await?;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    let shown = from(&bad.body, "Add a check");
    assert!(shown.contains("class=\"problem\" role=\"alert\""), "{shown}");
    assert!(shown.contains("'approvers' must name at least one user"), "{shown}");
    assert!(shown.contains("&lt;i&gt;kept&lt;/i&gt;</textarea>") && !bad.body.contains("<i>kept"), "{shown}");
    assert!(bad.body.contains("Delete this group"), "the whole group page shows again: {}", bad.body);
    let bad = admin
        .post(
            group_action,
            &[("csrf", &admin_csrf), ("type", "approval"), ("approvers", "rita"), ("timeout_minutes", "soon")],
        )
        .await?;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert!(from(&bad.body, "Add a check").contains("not 'soon'"), "{}", bad.body);
    assert!(bad.body.contains("name=\"approvers\" value=\"rita\""), "{}", bad.body);
    let bad = admin
        .post(pool_action, &[("csrf", &admin_csrf), ("type", "branchControl"), ("allowed_branches", " , ")])
        .await?;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    let shown = from(&bad.body, "id=\"checks-default\"");
    assert!(
        shown.contains("class=\"problem\" role=\"alert\"") && shown.contains("'allowedBranches' must name"),
        "{shown}"
    );
    assert!(shown.contains("name=\"allowed_branches\" value=\" , \""), "{shown}");
    assert!(bad.body.contains("builder-1"), "the whole Agents page shows again: {}", bad.body);
    let bad = admin.post(pool_action, &[("csrf", &admin_csrf), ("type", "<teleport>")]).await?;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body.contains("'&lt;teleport&gt;' is not a type of check") && !bad.body.contains("<teleport>"));
    // A pool the page does not list gets its section with the refusal.
    let unlisted =
        admin.post("/agents/pools/GPU/checks", &[("csrf", &admin_csrf), ("type", "json"), ("json_type", " ")]).await?;
    assert_eq!(unlisted.status, StatusCode::BAD_REQUEST, "{}", unlisted.body);
    assert!(from(&unlisted.body, "id=\"checks-gpu\"").contains("Name the check's type"), "{}", unlisted.body);
    // No such group is a page of its own; neither is a name no pool may have.
    let nowhere = admin.post("/library/nope/checks", &branches).await?;
    assert_eq!(nowhere.status, StatusCode::NOT_FOUND, "{}", nowhere.body);
    assert!(!nowhere.body.contains("Add a check"), "{}", nowhere.body);
    let invalid = admin.post("/agents/pools/%3Cb%3E/checks", &branches).await?;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST, "{}", invalid.body);
    assert!(invalid.body.contains("is not a pool name") && !invalid.body.contains("<b>"), "{}", invalid.body);
    let group_api = "/api/v1/variable-groups/Shared%20settings/checks";
    let pool_api = "/api/v1/pools/default/checks";
    for uri in [group_api, pool_api] {
        let listed = send(&app, Method::GET, uri, Some(&token), None).await?;
        assert_eq!(listed.body["checks"], json!([]), "{uri}: {}", listed.body);
    }

    // The admin adds an approval to the group and branch control to the pool.
    let added = admin.post(group_action, &approval).await?;
    assert_eq!(
        (added.status, added.location()),
        (StatusCode::SEE_OTHER, "/library/Shared%20settings#checks"),
        "{}",
        added.body
    );
    let added = admin.post(pool_action, &branches).await?;
    assert_eq!((added.status, added.location()), (StatusCode::SEE_OTHER, "/agents#checks-default"), "{}", added.body);
    let on_group = send(&app, Method::GET, group_api, Some(&token), None).await?;
    let listed = on_group.body["checks"].as_array().ok_or("no checks")?;
    assert_eq!(listed.len(), 1, "{}", on_group.body);
    assert_eq!((&listed[0]["resourceType"], &listed[0]["type"]), (&json!("variableGroup"), &json!("approval")));
    assert_eq!(listed[0]["settings"]["approvers"], json!(["rita", "<b>ana</b>"]), "{}", on_group.body);
    assert_eq!(listed[0]["timeoutMinutes"], 60);
    let group_check = listed[0]["id"].as_i64().ok_or("no check id")?;
    let on_pool = send(&app, Method::GET, pool_api, Some(&token), None).await?;
    let listed = on_pool.body["checks"].as_array().ok_or("no checks")?;
    assert_eq!(listed.len(), 1, "{}", on_pool.body);
    assert_eq!(listed[0]["resourceType"], "pool");
    assert_eq!(listed[0]["settings"], json!({"allowedBranches": ["main", "release/*"]}), "{}", on_pool.body);
    let pool_check = listed[0]["id"].as_i64().ok_or("no check id")?;

    // Everyone sees them, readably and escaped; only admins get the delete buttons.
    let page = rita.get(group_page).await?;
    let shown = from(&page.body, "id=\"checks\"");
    assert!(shown.contains("Approvers: rita, &lt;b&gt;ana&lt;/b&gt;") && shown.contains("1 hour"), "{shown}");
    assert!(shown.contains("look at &lt;script&gt;alert(1)&lt;/script&gt; first"), "{shown}");
    assert!(!page.body.contains("<script>alert(1)") && !shown.contains(">Delete<"), "{}", page.body);
    let page = rita.get("/agents").await?;
    let shown = from(&page.body, "id=\"checks-default\"");
    assert!(shown.contains("Allowed branches: <code>main</code>, <code>release/*</code>"), "{shown}");
    assert!(!shown.contains(">Delete<"), "{shown}");
    assert!(page.body.contains("<a href=\"#checks-default\">1 check</a>"), "{}", page.body);
    let group_delete = format!("{group_action}/{group_check}/delete");
    let pool_delete = format!("{pool_action}/{pool_check}/delete");
    for delete in [&group_delete, &pool_delete] {
        assert_eq!(rita.post(delete, &[("csrf", &rita_csrf)]).await?.status, StatusCode::FORBIDDEN, "{delete}");
        assert_eq!(admin.post(delete, &[]).await?.status, StatusCode::FORBIDDEN, "{delete}: no CSRF token");
    }
    assert!(admin.get(group_page).await?.body.contains(&format!("action=\"{group_delete}\"")));
    assert!(admin.get("/agents").await?.body.contains(&format!("action=\"{pool_delete}\"")));

    // The delete buttons remove them.
    let deleted = admin.post(&group_delete, &[("csrf", &admin_csrf)]).await?;
    assert_eq!((deleted.status, deleted.location()), (StatusCode::SEE_OTHER, "/library/Shared%20settings#checks"));
    let deleted = admin.post(&pool_delete, &[("csrf", &admin_csrf)]).await?;
    assert_eq!((deleted.status, deleted.location()), (StatusCode::SEE_OTHER, "/agents#checks-default"));
    for delete in [&group_delete, &pool_delete] {
        assert_eq!(admin.post(delete, &[("csrf", &admin_csrf)]).await?.status, StatusCode::NOT_FOUND, "{delete}");
    }
    assert_eq!(
        admin.post(&format!("{pool_action}/abc/delete"), &[("csrf", &admin_csrf)]).await?.status,
        StatusCode::BAD_REQUEST
    );
    for uri in [group_api, pool_api] {
        let listed = send(&app, Method::GET, uri, Some(&token), None).await?;
        assert_eq!(listed.body["checks"], json!([]), "{uri}: {}", listed.body);
    }
    assert!(rita.get(group_page).await?.body.contains("No checks: stages use this group without waiting."));
    assert!(rita.get("/agents").await?.body.contains("No checks: stages run their jobs in this pool without waiting."));

    let audit = store.list_audit(None, 50).await?;
    for (action, target) in [
        ("check.add", "variable group Shared settings"),
        ("check.delete", "variable group Shared settings"),
        ("check.add", "agent pool default"),
        ("check.delete", "agent pool default"),
    ] {
        assert!(
            audit.iter().any(|entry| entry.action == action
                && entry.actor == "admin"
                && entry.target.as_deref() == Some(target)),
            "{action} {target}: {audit:?}"
        );
    }
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_approval_is_decided_from_the_run_page_and_my_approvals() -> TestResult {
    let Roles { server, contributor: (mut cora, cora_csrf), reader: (mut rita, rita_csrf), _directory, .. } =
        roles_with_pipeline(&deploys_to("production"), 2).await?;
    let app = server.app();
    let token = server.admin_token.clone().ok_or("no admin token")?;
    let ana_token = create_user(&app, &token, "ana", "reader").await?;
    let mut ana = Client::new(server.app());
    let ana_csrf = ana.sign_in("ana", &ana_token).await?;
    let created =
        send(&app, Method::POST, "/api/v1/environments", Some(&token), Some(json!({"name": "production"}))).await?;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let check = json!({"type": "approval", "settings": {
        "approvers": ["cora", "ana"], "minRequiredApprovers": 1, "requesterCannotBeApprover": true,
        "instructions": "check the <b>dashboard</b> first"}});
    let added = send(&app, Method::POST, "/api/v1/environments/production/checks", Some(&token), Some(check)).await?;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);

    // cora starts a run from the form; its deployment stage waits for an approval.
    let started = cora.post("/pipelines/demo/run", &[("csrf", &cora_csrf), ("branch", "")]).await?;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.body);
    let id: i64 = started.location().strip_prefix("/runs/").ok_or("not a run page")?.parse()?;
    let waiting = |checkpoint: &serde_json::Value| {
        checkpoint["state"] == "waiting"
            && checkpoint["checks"][0]["message"].as_str().is_some_and(|message| message.contains("0 of 1 approvals"))
    };
    let checkpoint = wait_for_checkpoint(&app, &token, id, "Deploy", waiting).await?;
    let approval = checkpoint["checks"][0]["id"].as_i64().ok_or("no approval id")?;
    let action = format!("/approvals/{approval}");

    // The requester sees the panel, without the buttons, and why.
    let page = cora.get(&format!("/runs/{id}")).await?;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let panel = from(&page.body, "id=\"checkpoints\"");
    assert!(panel.contains("Stage Deploy") && panel.contains("<span class=\"badge s-wait\">waiting</span>"), "{panel}");
    assert!(
        panel.contains("Approval</strong> on environment <a href=\"/environments/production\">production</a>"),
        "{panel}"
    );
    assert!(
        panel.contains("<span class=\"badge s-wait\">pending</span>") && panel.contains("0 of 1 approvals"),
        "{panel}"
    );
    assert!(panel.contains("check the &lt;b&gt;dashboard&lt;/b&gt; first"), "{panel}");
    assert!(panel.contains("Approvers: cora, ana · 1 of 2 must approve"), "{panel}");
    assert!(panel.contains("No decisions yet."), "{panel}");
    assert!(!panel.contains(">Approve<") && !panel.contains(&format!("action=\"{action}\"")), "{panel}");
    assert!(panel.contains("You started this run"), "{panel}");
    assert!(page.body.contains("id=\"run-live\""), "the live part is still there: {}", page.body);
    // A reader who is no approver neither.
    let page = rita.get(&format!("/runs/{id}")).await?;
    let panel = from(&page.body, "id=\"checkpoints\"");
    assert!(!panel.contains(">Approve<") && panel.contains("Only its approvers may decide it."), "{panel}");
    // The approver gets the buttons, on the run page and on "My approvals".
    let page = ana.get(&format!("/runs/{id}")).await?;
    let panel = from(&page.body, "id=\"checkpoints\"");
    assert!(panel.contains(&format!("action=\"{action}\"")), "{panel}");
    assert!(panel.contains(">Approve<") && panel.contains(">Reject<") && panel.contains("name=\"comment\""), "{panel}");
    assert!(page.body.contains("href=\"/approvals\""), "the navigation links My approvals: {}", page.body);
    let mine = ana.get("/approvals").await?;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    assert!(mine.body.contains(&format!("href=\"/runs/{id}\"")) && mine.body.contains("demo #"), "{}", mine.body);
    assert!(mine.body.contains("stage Deploy") && mine.body.contains("href=\"/environments/production\""));
    assert!(mine.body.contains("Run started by cora") && mine.body.contains("check the &lt;b&gt;dashboard&lt;/b&gt;"));
    assert!(
        mine.body.contains("name=\"back\" value=\"approvals\"") && mine.body.contains(">Approve<"),
        "{}",
        mine.body
    );
    let none = cora.get("/approvals").await?;
    assert!(none.body.contains("Nothing waits for your approval.") && !none.body.contains(">Approve<"));

    // Refusals: no CSRF token, not an approver, the requester, no such status or approval.
    let missing = ana.post(&action, &[("status", "approved")]).await?;
    assert_eq!(missing.status, StatusCode::FORBIDDEN, "{}", missing.body);
    let stranger = rita.post(&action, &[("csrf", &rita_csrf), ("status", "approved")]).await?;
    assert_eq!(stranger.status, StatusCode::FORBIDDEN, "{}", stranger.body);
    assert!(stranger.body.contains("rita is not an approver"), "{}", stranger.body);
    let own = cora.post(&action, &[("csrf", &cora_csrf), ("status", "approved")]).await?;
    assert_eq!(own.status, StatusCode::FORBIDDEN, "{}", own.body);
    assert!(own.body.contains("cora started run"), "{}", own.body);
    let odd = ana.post(&action, &[("csrf", &ana_csrf), ("status", "maybe")]).await?;
    assert_eq!(odd.status, StatusCode::BAD_REQUEST, "{}", odd.body);
    assert_eq!(
        ana.post("/approvals/99999", &[("csrf", &ana_csrf), ("status", "approved")]).await?.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        ana.post("/approvals/abc", &[("csrf", &ana_csrf), ("status", "approved")]).await?.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(ana.get(&action).await?.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(server.state.store().run(slipway_store::RunId(id)).await?.status != slipway_store::RunStatus::Completed);

    // The approver approves from the run page: back to it, and the run goes on to the end.
    let approved = ana
        .post(&action, &[("csrf", &ana_csrf), ("status", "approved"), ("comment", "dashboards are <green>")])
        .await?;
    assert_eq!(
        (approved.status, approved.location()),
        (StatusCode::SEE_OTHER, format!("/runs/{id}#checkpoints").as_str()),
        "{}",
        approved.body
    );
    let finished = wait_for_run(&app, &token, id).await?;
    assert_eq!(finished["result"], "Succeeded", "{finished}");
    wait_for_checkpoint(&app, &token, id, "Deploy", |checkpoint| checkpoint["state"] == "passed").await?;
    let page = rita.get(&format!("/runs/{id}")).await?;
    let panel = from(&page.body, "id=\"checkpoints\"");
    assert!(panel.contains("<span class=\"badge s-ok\">passed</span>") && panel.contains("approved by ana"), "{panel}");
    assert!(panel.contains("<strong>ana</strong> <span class=\"badge s-ok\">approved</span>"), "{panel}");
    assert!(panel.contains("dashboards are &lt;green&gt;") && !panel.contains("<green>"), "{panel}");
    assert!(!panel.contains("<form"), "{panel}");
    let again = ana.post(&action, &[("csrf", &ana_csrf), ("status", "approved")]).await?;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    // The run page's live stream follows the run to its end as before.
    let live = rita.get(&format!("/runs/{id}/live")).await?;
    assert!(live.body.trim_end().ends_with("data: {\"status\":\"completed\"}"), "{}", live.body);
    // What the service recorded: the deployment, and the decision in the audit log.
    let environment = rita.get("/environments/production").await?;
    assert!(from(&environment.body, "id=\"current\"").contains(&format!("href=\"/runs/{id}\"")));
    let audit = server.state.store().list_audit(None, 50).await?;
    assert!(audit.iter().any(|entry| entry.action == "approval.approve" && entry.actor == "ana"), "{audit:?}");

    // A rejection from "My approvals" goes back there, and fails the stage with the comment.
    let second = cora.post("/pipelines/demo/run", &[("csrf", &cora_csrf), ("branch", "")]).await?;
    let second: i64 = second.location().strip_prefix("/runs/").ok_or("not a run page")?.parse()?;
    let checkpoint = wait_for_checkpoint(&app, &token, second, "Deploy", waiting).await?;
    let approval = checkpoint["checks"][0]["id"].as_i64().ok_or("no approval id")?;
    let rejected = ana
        .post(
            &format!("/approvals/{approval}"),
            &[("csrf", &ana_csrf), ("status", "rejected"), ("comment", "not today"), ("back", "approvals")],
        )
        .await?;
    assert_eq!((rejected.status, rejected.location()), (StatusCode::SEE_OTHER, "/approvals"), "{}", rejected.body);
    assert_eq!(wait_for_run(&app, &token, second).await?["result"], "Failed");
    let page = cora.get(&format!("/runs/{second}")).await?;
    let panel = from(&page.body, "id=\"checkpoints\"");
    assert!(panel.contains("<span class=\"badge s-fail\">failed</span>"), "{panel}");
    assert!(panel.contains("rejected by ana: not today"), "{panel}");
    assert!(ana.get("/approvals").await?.body.contains("Nothing waits for your approval."));

    // A deferred approval from the form: given now, in effect later; a bad time is refused.
    let third = cora.post("/pipelines/demo/run", &[("csrf", &cora_csrf), ("branch", "")]).await?;
    let third: i64 = third.location().strip_prefix("/runs/").ok_or("not a run page")?.parse()?;
    let checkpoint = wait_for_checkpoint(&app, &token, third, "Deploy", waiting).await?;
    let action = format!("/approvals/{}", checkpoint["checks"][0]["id"].as_i64().ok_or("no approval id")?);
    let bad = ana.post(&action, &[("csrf", &ana_csrf), ("status", "approved"), ("defer_until", "tomorrow")]).await?;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert!(bad.body.contains("YYYY-MM-DDTHH:MM"), "{}", bad.body);
    let deferred =
        ana.post(&action, &[("csrf", &ana_csrf), ("status", "approved"), ("defer_until", "2099-01-01T09:00")]).await?;
    assert_eq!(deferred.status, StatusCode::SEE_OTHER, "{}", deferred.body);
    let deferred = |checkpoint: &serde_json::Value| {
        checkpoint["checks"][0]["message"]
            .as_str()
            .is_some_and(|message| message.contains("1 deferred, not in effect yet"))
    };
    let checkpoint = wait_for_checkpoint(&app, &token, third, "Deploy", deferred).await?;
    assert_eq!(checkpoint["checks"][0]["decisions"][0]["effectiveAt"], 4_070_941_200_000_i64, "{checkpoint}");
    server.stop().await;
    Ok(())
}

/// An HTTP server on loopback that answers `name`, `/missing` with a 404 and `/fail` with a 500.
async fn version(name: &'static str) -> TestResult<std::net::SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let app = Router::new()
        .route("/missing", axum::routing::get(|| async { (StatusCode::NOT_FOUND, "no such thing") }))
        .route("/fail", axum::routing::get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "broken") }))
        .fallback(move || async move { name });
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(address)
}

/// GETs `path` through the router at `address` over plain TCP (no cookie); the status and body.
async fn through(address: &str, path: &str) -> TestResult<(u16, String)> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(address).await?;
    stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n").as_bytes()).await?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await?;
    let status = answer.get(9..12).and_then(|code| code.parse().ok()).unwrap_or(0);
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
    Ok((status, body))
}

/// The part of `body` from `start` up to `end` (or to its end).
fn between<'a>(body: &'a str, start: &str, end: &str) -> &'a str {
    let from = from(body, start);
    from.get(start.len()..).and_then(|rest| rest.find(end)).map_or(from, |at| &from[..at + start.len()])
}

/// A loopback address nothing listens on (a port the system gave and took back).
fn free_address() -> TestResult<String> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_are_created_weighed_swapped_and_deleted_from_the_environment_page() -> TestResult {
    let Roles {
        server,
        admin: (mut admin, admin_csrf),
        contributor: (mut cora, cora_csrf),
        reader: (mut rita, rita_csrf),
        _directory,
    } = roles_with_pipeline(TWO_JOBS, 0).await?;
    let app = server.app();
    let token = server.admin_token.clone().ok_or("no admin token")?;
    let made = send(&app, Method::POST, "/api/v1/environments", Some(&token), Some(json!({"name": "prod"}))).await?;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let (blue, green) = (version("blue v1").await?, version("green v2").await?);
    let page = rita.get("/environments/prod").await?;
    assert!(between(&page.body, "id=\"services\"", "</section>").contains("No services."), "{}", page.body);

    // An admin creates the service through the form; refusals show beside it, what was typed kept.
    let listen = free_address()?;
    let create = "/environments/prod/services";
    assert_eq!(
        cora.post(create, &[("csrf", &cora_csrf), ("name", "shop"), ("listen", &listen)]).await?.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(admin.post(create, &[("name", "shop"), ("listen", &listen)]).await?.status, StatusCode::FORBIDDEN);
    for (name, address, status, says) in [
        ("<b>shop</b>", listen.as_str(), 400, "'&lt;b&gt;shop&lt;/b&gt;' is not a service name"),
        ("shop", "localhost:80", 400, "'listen' is 'localhost:80'; give HOST:PORT"),
    ] {
        let refused = admin.post(create, &[("csrf", &admin_csrf), ("name", name), ("listen", address)]).await?;
        assert_eq!(refused.status.as_u16(), status, "{}", refused.body);
        let shown = from(&refused.body, "New service");
        assert!(shown.contains("class=\"problem\" role=\"alert\"") && shown.contains(says), "{shown}");
        assert!(refused.body.contains("id=\"current\""), "the whole page shows again: {}", refused.body);
        assert!(!refused.body.contains("<b>shop"), "{}", refused.body);
    }
    let kept = admin.post(create, &[("csrf", &admin_csrf), ("name", "<b>shop</b>"), ("listen", "x")]).await?;
    assert!(kept.body.contains("value=\"&lt;b&gt;shop&lt;/b&gt;\""), "what was typed is kept: {}", kept.body);
    let created = admin.post(create, &[("csrf", &admin_csrf), ("name", "shop"), ("listen", &listen)]).await?;
    assert_eq!(
        (created.status, created.location()),
        (StatusCode::SEE_OTHER, "/environments/prod#service-shop"),
        "{}",
        created.body
    );
    let taken = admin.post(create, &[("csrf", &admin_csrf), ("name", "shop2"), ("listen", &listen)]).await?;
    assert_eq!(taken.status, StatusCode::CONFLICT, "{}", taken.body);
    assert!(from(&taken.body, "New service").contains("another service listens on"), "{}", taken.body);

    // A contributor adds two slots; a bad upstream or weight is refused beside the slot form.
    let slots = "/environments/prod/services/shop/slots";
    let page = cora.get("/environments/prod").await?;
    let shop = between(&page.body, "id=\"service-shop\"", "</section>");
    assert!(shop.contains(&listen) && shop.contains("<span class=\"badge s-ok\">listening</span>"), "{shop}");
    assert!(shop.contains("No slots yet") && shop.contains(&format!("action=\"{slots}\"")), "{shop}");
    assert!(!shop.contains("Delete service"), "only admins delete services: {shop}");
    for (fields, status, says) in [
        (
            [("slot", "red"), ("upstream", "file:///etc/passwd"), ("weight", "1")],
            422,
            "slot 'red': 'file:///etc/passwd' is not an upstream the router can reach",
        ),
        ([("slot", "red"), ("upstream", "http://127.0.0.1:1"), ("weight", "lots")], 400, "not 'lots'"),
        ([("slot", "r<e>d"), ("upstream", "http://127.0.0.1:1"), ("weight", "1")], 422, "slot name 'r&lt;e&gt;d'"),
    ] {
        let mut posted = vec![("csrf", cora_csrf.as_str())];
        posted.extend(fields);
        let refused = cora.post(slots, &posted).await?;
        assert_eq!(refused.status.as_u16(), status, "{fields:?}: {}", refused.body);
        let shown = from(&refused.body, "Add or replace a slot");
        assert!(shown.contains("class=\"problem\" role=\"alert\"") && shown.contains(says), "{fields:?}: {shown}");
        assert!(shown.contains(&format!("value=\"{}\"", fields[1].1)), "the upstream is kept: {shown}");
    }
    for (slot, upstream, weight) in [("blue", blue, "100"), ("green", green, "0")] {
        let upstream = format!("http://{upstream}");
        let set = cora
            .post(slots, &[("csrf", &cora_csrf), ("slot", slot), ("upstream", &upstream), ("weight", weight)])
            .await?;
        assert_eq!(
            (set.status, set.location()),
            (StatusCode::SEE_OTHER, "/environments/prod#service-shop"),
            "{}",
            set.body
        );
    }
    assert_eq!(through(&listen, "/").await?, (200, "blue v1".to_owned()));

    // The weights set through the traffic form decide where requests go.
    let traffic = "/environments/prod/services/shop/traffic";
    let bad = cora.post(traffic, &[("csrf", &cora_csrf), ("weight.blue", "0"), ("weight.green", "-5")]).await?;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    let shown = from(&bad.body, "<h4>Traffic</h4>");
    assert!(shown.contains("The weight of slot 'green'") && shown.contains("not '-5'"), "{shown}");
    assert!(shown.contains("name=\"weight.green\"") && shown.contains("value=\"-5\""), "{shown}");
    let unknown = cora.post(traffic, &[("csrf", &cora_csrf), ("weight.red", "5")]).await?;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.body);
    assert!(unknown.body.contains("has no slot named 'red'"), "{}", unknown.body);
    let none = cora.post(traffic, &[("csrf", &cora_csrf)]).await?;
    assert_eq!(none.status, StatusCode::BAD_REQUEST, "{}", none.body);
    let set = cora.post(traffic, &[("csrf", &cora_csrf), ("weight.blue", "0"), ("weight.green", "100")]).await?;
    assert_eq!(
        (set.status, set.location()),
        (StatusCode::SEE_OTHER, "/environments/prod#service-shop"),
        "{}",
        set.body
    );
    for _ in 0..3 {
        assert_eq!(through(&listen, "/").await?, (200, "green v2".to_owned()));
    }
    assert_eq!(through(&listen, "/missing").await?.0, 404);
    assert_eq!(through(&listen, "/fail").await?.0, 500);

    // Everyone sees the slots, their share, requests and success rate; readers get no forms.
    let page = rita.get("/environments/prod").await?;
    let shop = between(&page.body, "id=\"service-shop\"", "</section>");
    assert!(!shop.contains("<form"), "readers get no forms: {shop}");
    assert!(!between(&page.body, "id=\"services\"", "id=\"checks\"").contains("<form"), "{}", page.body);
    let row =
        |name: &str| shop.split("<tr>").find(|row| row.contains(&format!(">{name}<"))).unwrap_or_default().to_owned();
    let green_row = row("green");
    assert!(green_row.contains(&format!("http://{green}")), "{green_row}");
    assert!(green_row.contains("100%") && green_row.contains("width=\"100\""), "{green_row}");
    assert!(green_row.contains(">5<span class=\"muted\"> (3 ok, 1 4xx, 1 5xx)"), "{green_row}");
    assert!(green_row.contains("<td class=\"num success\">75%</td>"), "{green_row}");
    let blue_row = row("blue");
    assert!(blue_row.contains(">1<span class=\"muted\"> (1 ok, 0 4xx, 0 5xx)"), "{blue_row}");
    assert!(blue_row.contains("<td class=\"num success\">100%</td>") && blue_row.contains(">0%<"), "{blue_row}");
    for (action, fields) in [
        (traffic, vec![("weight.blue", "100")]),
        (slots, vec![("slot", "x"), ("upstream", "http://127.0.0.1:1")]),
        ("/environments/prod/services/shop/swap", vec![("first", "blue"), ("second", "green")]),
        ("/environments/prod/services/shop/slots/blue/delete", vec![]),
        ("/environments/prod/services/shop/delete", vec![]),
        (create, vec![("name", "api"), ("listen", "127.0.0.1:9")]),
    ] {
        let mut posted = vec![("csrf", rita_csrf.as_str())];
        posted.extend(fields);
        let refused = rita.post(action, &posted).await?;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{action}: {}", refused.body);
    }
    assert_eq!(through(&listen, "/").await?, (200, "green v2".to_owned()), "nothing changed");

    // The swap form swaps the slots' versions: green (all the traffic) now runs blue's.
    let swap = "/environments/prod/services/shop/swap";
    let same = cora.post(swap, &[("csrf", &cora_csrf), ("first", "blue"), ("second", "BLUE")]).await?;
    assert_eq!(same.status, StatusCode::BAD_REQUEST, "{}", same.body);
    assert!(from(&same.body, "Swap two slots").contains("a swap needs two different slots"), "{}", same.body);
    let swapped = cora.post(swap, &[("csrf", &cora_csrf), ("first", "blue"), ("second", "green")]).await?;
    assert_eq!(swapped.status, StatusCode::SEE_OTHER, "{}", swapped.body);
    assert_eq!(through(&listen, "/").await?, (200, "blue v1".to_owned()));
    let shown = send(&app, Method::GET, "/api/v1/environments/prod/services/shop", Some(&token), None).await?;
    assert_eq!(shown.body["slots"][1]["name"], "green", "{}", shown.body);
    assert_eq!(shown.body["slots"][1]["upstream"], format!("http://{blue}"), "{}", shown.body);
    assert_eq!(shown.body["slots"][1]["weight"], 100, "{}", shown.body);

    // A contributor removes a slot.
    let removed = cora.post("/environments/prod/services/shop/slots/blue/delete", &[("csrf", &cora_csrf)]).await?;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.body);
    let page = cora.get("/environments/prod").await?;
    let shop = between(&page.body, "id=\"service-shop\"", "</section>");
    assert!(!shop.contains(">blue<") && shop.contains(">green<"), "{shop}");
    assert_eq!(
        cora.post("/environments/prod/services/shop/slots/blue/delete", &[("csrf", &cora_csrf)]).await?.status,
        StatusCode::NOT_FOUND
    );

    // A router that cannot listen says why.
    let held = std::net::TcpListener::bind("127.0.0.1:0")?;
    let held_address = held.local_addr()?.to_string();
    let created = admin.post(create, &[("csrf", &admin_csrf), ("name", "held"), ("listen", &held_address)]).await?;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let page = rita.get("/environments/prod").await?;
    let part = between(&page.body, "id=\"service-held\"", "</section>");
    assert!(part.contains("<span class=\"badge s-fail\">failed</span>"), "{part}");
    assert!(part.contains("class=\"router-message\""), "{part}");

    // An admin deletes the services; the router stops.
    let page = admin.get("/environments/prod").await?;
    assert!(page.body.contains("action=\"/environments/prod/services/shop/delete\""), "{}", page.body);
    for name in ["held", "shop"] {
        let deleted =
            admin.post(&format!("/environments/prod/services/{name}/delete"), &[("csrf", &admin_csrf)]).await?;
        assert_eq!((deleted.status, deleted.location()), (StatusCode::SEE_OTHER, "/environments/prod#services"));
    }
    drop(held);
    let mut closed = false;
    for _ in 0..50 {
        if tokio::net::TcpStream::connect(&listen).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(closed, "the router of a deleted service still listens");
    assert!(rita.get("/environments/prod").await?.body.contains("No services."));
    assert_eq!(
        admin.post("/environments/prod/services/shop/delete", &[("csrf", &admin_csrf)]).await?.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        admin
            .post("/environments/nope/services", &[("csrf", &admin_csrf), ("name", "x"), ("listen", "127.0.0.1:9")])
            .await?
            .status,
        StatusCode::NOT_FOUND
    );

    let audit = server.state.store().list_audit(None, 50).await?;
    for (action, actor) in [
        ("service.create", "admin"),
        ("service.slot.set", "cora"),
        ("service.traffic", "cora"),
        ("service.swap", "cora"),
        ("service.slot.delete", "cora"),
        ("service.delete", "admin"),
    ] {
        assert!(audit.iter().any(|entry| entry.action == action && entry.actor == actor), "{action}: {audit:?}");
    }
    server.stop().await;
    Ok(())
}
