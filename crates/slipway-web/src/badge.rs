//! Status badges: `GET /pipelines/{name}/badge.svg[?branch=B]`, an SVG image of the result of the
//! pipeline's latest completed run (on that branch), for READMEs and dashboards. Like Azure's
//! badges, they are served without signing in and say nothing but the result: a pipeline that does
//! not exist looks like one that never ran.

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use slipway_events::TaskResult;
use slipway_service::AppState;
use slipway_store::{RunFilter, RunStatus};

/// The query of a badge.
#[derive(Debug, Deserialize)]
pub(crate) struct BadgeQuery {
    /// Only runs of this branch (`main` or `refs/heads/main`).
    branch: Option<String>,
}

/// The message and colour of a badge for a result.
fn look(result: Option<TaskResult>) -> (&'static str, &'static str) {
    match result {
        Some(TaskResult::Succeeded) => ("succeeded", "#1f8a4c"),
        Some(TaskResult::SucceededWithIssues) => ("partially succeeded", "#b7791f"),
        Some(TaskResult::Failed) => ("failed", "#c62f2f"),
        Some(TaskResult::Canceled) => ("canceled", "#6b5aa6"),
        Some(TaskResult::Skipped) | None => ("never built", "#8a93a3"),
    }
}

/// The badge's SVG: `slipway | MESSAGE`, widths from the text (about 7 px a character).
pub(crate) fn svg(result: Option<TaskResult>) -> String {
    let (message, colour) = look(result);
    let label = "slipway";
    let text_width = |text: &str| 10 + 7 * i64::try_from(text.chars().count()).unwrap_or(40);
    let (left, right) = (text_width(label), text_width(message));
    let width = left + right;
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"20\" role=\"img\" aria-label=\"{label}: {message}\">\
<title>{label}: {message}</title>\
<rect width=\"{left}\" height=\"20\" fill=\"#555\"/><rect x=\"{left}\" width=\"{right}\" height=\"20\" fill=\"{colour}\"/>\
<g fill=\"#fff\" font-family=\"Verdana,DejaVu Sans,sans-serif\" font-size=\"11\" text-anchor=\"middle\">\
<text x=\"{}\" y=\"14\">{label}</text><text x=\"{}\" y=\"14\">{message}</text></g></svg>",
        left / 2,
        left + right / 2
    )
}

/// `GET /pipelines/{name}/badge.svg`.
pub(crate) async fn badge(
    State(state): State<AppState>,
    Path(name): Path<String>,
    query: Result<Query<BadgeQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let branch = query.ok().and_then(|Query(query)| query.branch).filter(|branch| !branch.trim().is_empty());
    let store = state.store();
    let result = match store.pipeline_by_name(&name).await {
        Ok(Some(pipeline)) => {
            let filter = RunFilter {
                pipeline: Some(pipeline.id),
                status: Some(RunStatus::Completed),
                branch: branch.as_deref().map(slipway_service::runs::full_branch),
                limit: 1,
                ..RunFilter::default()
            };
            match store.list_runs(&filter).await {
                Ok(runs) => runs.first().and_then(|run| run.result),
                Err(error) => {
                    tracing::warn!(%error, "reading the runs of a badge");
                    None
                }
            }
        }
        Ok(None) => None,
        Err(error) => {
            tracing::warn!(%error, "reading the pipeline of a badge");
            None
        }
    };
    ([(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "no-cache, max-age=0")], svg(result))
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn badges_say_the_result_and_nothing_else() {
        let passed = svg(Some(TaskResult::Succeeded));
        assert!(passed.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"132\""), "{passed}");
        assert!(passed.contains("<title>slipway: succeeded</title>") && passed.contains("#1f8a4c"), "{passed}");
        assert!(svg(Some(TaskResult::Failed)).contains("slipway: failed"));
        assert!(svg(None).contains("slipway: never built"));
        assert!(svg(Some(TaskResult::SucceededWithIssues)).contains("partially succeeded"));
    }
}
