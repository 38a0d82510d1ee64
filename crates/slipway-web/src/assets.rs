//! The UI's own stylesheet and script, built into the binary and served under `/assets/` with a
//! version in their URL so that browsers may keep them.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::UiError;

/// The stylesheet.
pub(crate) const CSS: &str = include_str!("app.css");

/// The script: live updates of the run page, the log's groups, line links and search.
pub(crate) const JS: &str = include_str!("app.js");

/// A short hash of both files, for their URLs.
static VERSION: LazyLock<String> = LazyLock::new(|| {
    // FNV-1a: enough to tell versions apart.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in CSS.bytes().chain(JS.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
});

/// The stylesheet's URL.
#[must_use]
pub(crate) fn css_url() -> String {
    format!("/assets/app.css?v={}", *VERSION)
}

/// The script's URL.
#[must_use]
pub(crate) fn js_url() -> String {
    format!("/assets/app.js?v={}", *VERSION)
}

/// `GET /assets/{file}`: no sign-in needed.
///
/// # Errors
/// A 404 for any other file.
pub(crate) async fn asset(Path(file): Path<String>) -> Result<Response, UiError> {
    let (content_type, body) = match file.as_str() {
        "app.css" => ("text/css; charset=utf-8", CSS),
        "app.js" => ("text/javascript; charset=utf-8", JS),
        _ => return Err(UiError::not_found(format!("There is no asset '{file}'."))),
    };
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable")),
        ],
        body,
    )
        .into_response())
}
