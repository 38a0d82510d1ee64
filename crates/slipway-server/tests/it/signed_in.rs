//! A signed-in browser over the router, for tests of web pages: its cookies, pages as text,
//! forms posted with the session's CSRF token.

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

use crate::support::TestResult;

/// An answer with its body as text.
pub struct Page {
    pub status: StatusCode,
    pub location: String,
    pub body: String,
}

impl Page {
    /// The value of the first hidden `csrf` field.
    pub fn csrf(&self) -> Option<String> {
        let start = self.body.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
        let end = self.body[start..].find('"')? + start;
        Some(self.body[start..end].to_owned())
    }
}

/// A browser's view of the app: its cookies.
pub struct Browser {
    app: Router,
    cookies: Vec<(String, String)>,
}

impl Browser {
    pub fn new(app: Router) -> Self {
        Self { app, cookies: Vec::new() }
    }

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
        let location = response
            .headers()
            .get(header::LOCATION)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        for cookie in response.headers().get_all(header::SET_COOKIE).iter().filter_map(|value| value.to_str().ok()) {
            let pair = cookie.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                self.cookies.retain(|(known, _)| known != name);
                if !value.is_empty() && !cookie.contains("Max-Age=0") {
                    self.cookies.push((name.to_owned(), value.to_owned()));
                }
            }
        }
        let bytes = response.into_body().collect().await?.to_bytes();
        Ok(Page { status, location, body: String::from_utf8_lossy(&bytes).into_owned() })
    }

    pub async fn get(&mut self, uri: &str) -> TestResult<Page> {
        self.request(Method::GET, uri, None).await
    }

    pub async fn post(&mut self, uri: &str, fields: &[(&str, &str)]) -> TestResult<Page> {
        self.request(Method::POST, uri, Some(fields)).await
    }

    /// Signs in through the form; gives the session's CSRF token.
    pub async fn sign_in(&mut self, user: &str, token: &str) -> TestResult<String> {
        let form = self.get("/login").await?;
        let csrf = form.csrf().ok_or("no csrf field on the sign-in form")?;
        let signed_in =
            self.post("/login", &[("csrf", &csrf), ("next", "/"), ("user", user), ("token", token)]).await?;
        assert_eq!(signed_in.status, StatusCode::SEE_OTHER, "{}", signed_in.body);
        let home = self.get("/").await?;
        assert_eq!(home.status, StatusCode::OK, "{}", home.body);
        Ok(home.csrf().ok_or("no csrf field on the pipelines page")?)
    }
}
