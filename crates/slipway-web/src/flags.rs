//! The feature flags of an environment on its page (`/environments/{name}`): the address
//! applications ask over OFREP, the document's revision and who changed it last, and each flag
//! with its key, state, type, variants (name → value, as compact JSON), default variant and
//! targeting (its JsonLogic rule, folded); contributors change one flag's default variant and
//! state there, over the revision the page was read at; when the environment has no flags, how
//! to import a flagd file from the command line.
//!
//! Every read and change goes through the functions the API uses ([`slipway_service::flags`]),
//! with the signed-in user as the caller, so roles (readers read, contributors change), the
//! checks of the document and the audit log are the same. A change made over a revision the
//! flags have since moved on from is refused by the service (409) and shown beside the flag's
//! form, with what was chosen kept, as the services section shows its refusals.

use axum::Form;
use axum::extract::rejection::{FormRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use slipway_api::{FlagSet, FlagSummary, SetFlag};
use slipway_service::AppState;
use slipway_service::flags as service;
use slipway_store::UserRole;

use super::environments::{Drafts, problem_note, refused, refused_page, time_of};
use super::{UiError, Viewer, csrf_field, url_encode};

/// The default-variant choice that stands for none: the application's own default. No variant
/// has this name (flagd documents with an empty variant name are refused).
const NO_VARIANT: &str = "";

/// The states a flag may be set to, as flagd writes them, and as the page says them.
const STATES: [(&str, &str); 2] = [("ENABLED", "enabled"), ("DISABLED", "disabled")];

/// What the flags section shows beyond the store: a refused form's words and what it held.
#[derive(Debug, Default)]
pub(crate) struct FlagDrafts {
    /// The flag whose form was refused, and the words.
    problem: Option<(String, String)>,
    /// The default variant chosen ([`NO_VARIANT`] for none).
    variant: String,
    /// The state chosen.
    state: String,
}

impl FlagDrafts {
    /// The form of `flag` holding `variant` and `state`, refused with `message`.
    fn refused(flag: &str, message: String, variant: String, state: String) -> Self {
        Self { problem: Some((flag.to_owned(), message)), variant, state }
    }

    /// Whether the refused form was `flag`'s.
    fn is(&self, flag: &str) -> bool {
        self.problem.as_ref().is_some_and(|(key, _)| key == flag)
    }

    fn problem(&self, flag: &str) -> Option<&str> {
        self.problem.as_ref().filter(|(key, _)| key == flag).map(|(_, message)| message.as_str())
    }
}

/// The id of a flag's row.
fn anchor(flag: &str) -> String {
    format!("flag-{}", url_encode(flag))
}

/// The path applications evaluate all of an environment's flags at over OFREP (one flag: the
/// same with `/KEY` after it).
#[must_use]
pub(crate) fn ofrep_path(environment: &str) -> String {
    format!("/api/v1/environments/{}/ofrep/v1/evaluate/flags", url_encode(environment))
}

/// A JSON value as one short line (maud escapes it where it is shown).
fn compact(value: &serde_json::Value) -> String {
    value.to_string()
}

/// A JSON value laid out over lines, for reading a rule.
fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

/// A flag's targeting rule as the document holds it, if it has one.
fn targeting<'a>(set: &'a FlagSet, flag: &FlagSummary) -> Option<&'a serde_json::Value> {
    set.document.get("flags")?.get(&flag.key)?.get("targeting")
}

/// The badge of a flag's state.
fn state_badge(state: &str) -> Markup {
    match state {
        "ENABLED" => html! { span.badge.s-ok { "enabled" } },
        "DISABLED" => html! { span.badge.s-skip { "disabled" } },
        other => html! { span.badge.s-skip { (other) } },
    }
}

/// The flags section of the environment page.
#[must_use]
pub(crate) fn flags_section(viewer: &Viewer, environment: &str, set: &FlagSet, drafts: &FlagDrafts) -> Markup {
    let contributor = viewer.user.role != UserRole::Reader;
    let ofrep = ofrep_path(environment);
    html! {
        section.panel #flags {
            h2 { "Flags" }
            p.meta {
                "Feature flags in flagd's format, evaluated for applications over OFREP (the OpenFeature Remote Evaluation Protocol) with a reader's token: "
                code.ofrep { (ofrep) } " evaluates them all, " code { (ofrep) "/KEY" } " one. "
                "An OFREP provider's base URL is this server's address followed by "
                code { "/api/v1/environments/" (url_encode(environment)) } "."
            }
            @if set.flags.is_empty() {
                p.empty {
                    "No flags yet. Import a flagd file with "
                    code.import { "slipway flags import " (environment) " FILE" } "."
                }
            } @else {
                p.muted.revision {
                    "Revision " (set.revision)
                    @if let Some(at) = set.updated_at {
                        " · changed " (time_of(at))
                        @if let Some(who) = &set.updated_by { " by " (who) }
                    }
                }
                table.list.flags {
                    thead { tr {
                        th { "Flag" } th { "State" } th { "Type" } th { "Variants" } th { "Default variant" } th { "Targeting" }
                        @if contributor { th { "Change" } }
                    } }
                    tbody {
                        @for flag in &set.flags {
                            (flag_row(viewer, environment, set, flag, drafts, contributor))
                        }
                    }
                }
            }
        }
    }
}

fn flag_row(
    viewer: &Viewer,
    environment: &str,
    set: &FlagSet,
    flag: &FlagSummary,
    drafts: &FlagDrafts,
    contributor: bool,
) -> Markup {
    let key = flag.key.as_str();
    let rule = targeting(set, flag).filter(|_| flag.targeted);
    html! {
        tr id=(anchor(key)) {
            td.flag-key { code { (key) } }
            td { (state_badge(&flag.state)) }
            td { (flag.kind) }
            td {
                ul.variants {
                    @for (name, value) in &flag.variants {
                        li { code.variant-name { (name) } " → " code.variant-value { (compact(value)) } }
                    }
                }
            }
            td.default-variant {
                @match &flag.default_variant {
                    Some(variant) => { code { (variant) } }
                    None => { span.muted { "none (the application's own default)" } }
                }
            }
            td.targeting {
                @match rule {
                    Some(rule) => {
                        details {
                            summary { "targeted" }
                            pre { code { (pretty(rule)) } }
                        }
                    }
                    None => { span.muted { "none" } }
                }
            }
            @if contributor {
                td { (flag_form(viewer, environment, set.revision, flag, drafts)) }
            }
        }
    }
}

/// A contributor's form that sets one flag's default variant and state over `revision`.
fn flag_form(viewer: &Viewer, environment: &str, revision: i64, flag: &FlagSummary, drafts: &FlagDrafts) -> Markup {
    let key = flag.key.as_str();
    let (variant, state) = if drafts.is(key) {
        (drafts.variant.clone(), drafts.state.clone())
    } else {
        (flag.default_variant.clone().unwrap_or_default(), flag.state.clone())
    };
    let action = format!("/environments/{}/flags/{}", url_encode(environment), url_encode(key));
    html! {
        (problem_note(drafts.problem(key)))
        form.inline.set-flag method="post" action=(action) {
            (csrf_field(viewer))
            input type="hidden" name="revision" value=(revision);
            label {
                "Default variant"
                select name="variant" {
                    @for name in flag.variants.keys() {
                        option value=(name) selected[*name == variant] { (name) }
                    }
                    option value=(NO_VARIANT) selected[variant == NO_VARIANT] { "none (the application's own default)" }
                }
            }
            label {
                "State"
                select name="state" {
                    @for (value, label) in STATES {
                        option value=(value) selected[state.eq_ignore_ascii_case(value)] { (label) }
                    }
                }
            }
            button type="submit" { "Save" }
        }
    }
}

/// The environment's flags as the viewer may read them, for its page.
///
/// # Errors
/// When the service layer refuses or the store fails.
pub(crate) async fn flag_set(state: &AppState, viewer: &Viewer, environment: &str) -> Result<FlagSet, UiError> {
    Ok(service::get(state, &viewer.caller(), environment).await?)
}

/// The form that sets one flag's default variant and state.
#[derive(Debug, Deserialize)]
pub(crate) struct FlagForm {
    #[serde(default)]
    csrf: String,
    /// The revision the page was read at.
    #[serde(default)]
    revision: String,
    /// A variant's name, or [`NO_VARIANT`] for none.
    #[serde(default)]
    variant: String,
    /// `ENABLED` or `DISABLED`.
    #[serde(default)]
    state: String,
}

/// A revision as the form carries it, or the words for the form.
fn revision(text: &str) -> Result<i64, String> {
    text.trim().parse::<i64>().ok().filter(|revision| *revision >= 0).ok_or_else(|| {
        format!("The form's revision, '{text}', is not a revision of the flags: reload the page and choose again.")
    })
}

/// Where a change of `flag` goes back to.
fn back_to(environment: &str, flag: &str) -> Response {
    Redirect::to(&format!("/environments/{}#{}", url_encode(environment), anchor(flag))).into_response()
}

/// `POST /environments/{name}/flags/{key}` (contributor): sets one flag's default variant and
/// state over the revision the page was read at, as `PATCH /api/v1/environments/{name}/flags/{key}`
/// does with a `revision`; a refusal (the flags moved on meanwhile: 409) shows the page again
/// with the service's words beside the flag's form.
pub(crate) async fn set_flag(
    State(state): State<AppState>,
    viewer: Viewer,
    path: Result<Path<(String, String)>, PathRejection>,
    form: Result<Form<FlagForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) = form?;
    viewer.check_csrf(&form.csrf)?;
    let Path((name, key)) = path?;
    viewer.require(UserRole::Contributor)?;
    let outcome = match revision(&form.revision) {
        Ok(revision) => {
            let variant = (form.variant != NO_VARIANT).then(|| form.variant.clone());
            let change = SetFlag {
                state: Some(form.state.trim().to_owned()),
                default_variant: Some(variant),
                revision: Some(revision),
            };
            match service::set(&state, &viewer.caller(), &name, &key, &change).await {
                Ok(_) => None,
                Err(error) => Some(refused(error)?),
            }
        }
        Err(message) => Some((StatusCode::BAD_REQUEST, message)),
    };
    match outcome {
        None => Ok(back_to(&name, &key)),
        Some((status, message)) => {
            let drafts = FlagDrafts::refused(&key, message, form.variant, form.state);
            refused_page(&state, &viewer, &name, status, &Drafts::with_flags(drafts)).await
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::extract::Query;
    use axum::http::header;
    use slipway_store::{SecretKey, Store, StoreOptions};

    use super::super::environments::{EnvironmentQuery, environment};
    use super::*;

    type TestResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

    /// The part of `body` from `start` up to `end` (or to its end).
    fn between<'a>(body: &'a str, start: &str, end: &str) -> &'a str {
        let from = body.find(start).map_or("", |at| &body[at..]);
        from.find(end).map_or(from, |at| &from[..at])
    }

    fn document() -> serde_json::Value {
        serde_json::json!({
            "$schema": "https://flagd.dev/schema/v0/flags.json",
            "flags": {
                "new-checkout": {
                    "state": "ENABLED",
                    "variants": {"on": true, "off": false},
                    "defaultVariant": "off",
                    "targeting": {"if": [{"ends_with": [{"var": "email"}, "@example.com"]}, "on", null]}
                },
                "banner": {
                    "state": "DISABLED",
                    "variants": {"plain": "<b>hi</b>", "loud": "\"HI\" & <i>bye</i>"},
                    "defaultVariant": "plain"
                },
                "limits": {
                    "state": "ENABLED",
                    "variants": {"small": {"max": 5, "note": "<script>x</script>"}, "big": {"max": 50}}
                }
            }
        })
    }

    /// A store with environment `prod` whose flags are [`document`] (revision 1, saved by a
    /// contributor through the service layer).
    async fn with_flags() -> TestResult<(tempfile::TempDir, AppState)> {
        let directory = tempfile::tempdir()?;
        let location = directory.path().to_str().ok_or("a temporary directory that is not UTF-8")?;
        let store = Store::open(location, StoreOptions::new(SecretKey::from_bytes([7; 32]))).await?;
        store.create_environment("prod", "", None).await?;
        store.create_environment("empty", "", None).await?;
        let state = AppState::new(store, directory.path().to_path_buf());
        let cora = Viewer::for_tests("cora", UserRole::Contributor);
        let saved = service::replace(&state, &cora.caller(), "prod", document(), Some(0)).await?;
        assert_eq!(saved.revision, 1);
        Ok((directory, state))
    }

    /// The environment page as `viewer` sees it: its status and body.
    async fn page_of(state: &AppState, viewer: &Viewer, name: &str) -> TestResult<(StatusCode, String)> {
        let query = Ok(Query(EnvironmentQuery::default()));
        let response = match environment(State(state.clone()), viewer.clone(), Ok(Path(name.to_owned())), query).await {
            Ok(response) => response,
            Err(error) => error.into_response(),
        };
        body_of(response).await
    }

    async fn body_of(response: Response) -> TestResult<(StatusCode, String)> {
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 24).await?;
        Ok((status, String::from_utf8(bytes.to_vec())?))
    }

    /// Posts the flag form as `viewer`: the answer.
    async fn post(
        state: &AppState,
        viewer: &Viewer,
        key: &str,
        fields: (&str, &str, &str, &str),
    ) -> TestResult<(StatusCode, String, String)> {
        let (csrf, revision, variant, flag_state) = fields;
        let form = FlagForm {
            csrf: csrf.to_owned(),
            revision: revision.to_owned(),
            variant: variant.to_owned(),
            state: flag_state.to_owned(),
        };
        let path = Ok(Path(("prod".to_owned(), key.to_owned())));
        let response = match set_flag(State(state.clone()), viewer.clone(), path, Ok(Form(form))).await {
            Ok(response) => response,
            Err(error) => error.into_response(),
        };
        let location = response
            .headers()
            .get(header::LOCATION)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let (status, body) = body_of(response).await?;
        Ok((status, location, body))
    }

    fn row<'a>(body: &'a str, key: &str) -> &'a str {
        between(body, &format!("<tr id=\"flag-{key}\">"), "</tr>")
    }

    #[tokio::test]
    async fn the_section_shows_a_stored_documents_flags_and_readers_get_no_forms() -> TestResult {
        let (_directory, state) = with_flags().await?;
        let rita = Viewer::for_tests("rita", UserRole::Reader);
        let (status, body) = page_of(&state, &rita, "prod").await?;
        assert_eq!(status, StatusCode::OK, "{body}");
        let flags = between(&body, "<section class=\"panel\" id=\"flags\">", "</section>");
        assert!(flags.contains("<h2>Flags</h2>"), "{body}");
        assert!(
            flags.contains("<code class=\"ofrep\">/api/v1/environments/prod/ofrep/v1/evaluate/flags</code>"),
            "{flags}"
        );
        assert!(flags.contains("Revision 1 · changed ") && flags.contains(" by cora"), "{flags}");
        assert!(!flags.contains("<form") && !flags.contains("<th>Change</th>"), "readers get no forms: {flags}");

        let checkout = row(flags, "new-checkout");
        assert!(checkout.contains("<span class=\"badge s-ok\">enabled</span>"), "{checkout}");
        assert!(checkout.contains("<td>boolean</td>"), "{checkout}");
        assert!(
            checkout.contains("<code class=\"variant-name\">on</code> → <code class=\"variant-value\">true</code>")
        );
        assert!(checkout.contains("<td class=\"default-variant\"><code>off</code></td>"), "{checkout}");
        let rule = between(checkout, "<details>", "</details>");
        assert!(rule.contains("<summary>targeted</summary>"), "{checkout}");
        assert!(rule.contains("&quot;ends_with&quot;") && rule.contains("&quot;@example.com&quot;"), "{rule}");

        let banner = row(flags, "banner");
        assert!(banner.contains("<span class=\"badge s-skip\">disabled</span>"), "{banner}");
        assert!(banner.contains("<code class=\"variant-value\">&quot;&lt;b&gt;hi&lt;/b&gt;&quot;</code>"), "{banner}");
        assert!(
            banner.contains("&quot;\\&quot;HI\\&quot; &amp; &lt;i&gt;bye&lt;/i&gt;&quot;"),
            "the string as JSON, escaped: {banner}"
        );
        assert!(banner.contains("<td class=\"targeting\"><span class=\"muted\">none</span></td>"), "{banner}");

        let limits = row(flags, "limits");
        assert!(limits.contains("<td>object</td>"), "{limits}");
        assert!(
            limits.contains("{&quot;max&quot;:5,&quot;note&quot;:&quot;&lt;script&gt;x&lt;/script&gt;&quot;}"),
            "an object compactly: {limits}"
        );
        assert!(limits.contains("none (the application's own default)"), "{limits}");
        assert!(!body.contains("<script>x") && !body.contains("<b>hi") && !body.contains("<i>bye"), "{body}");

        // A reader's post is refused, and changes nothing.
        let (status, _, refused) = post(&state, &rita, "banner", ("csrf", "1", "loud", "ENABLED")).await?;
        assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
        assert_eq!(service::get(&state, &rita.caller(), "prod").await?.revision, 1);
        Ok(())
    }

    #[tokio::test]
    async fn a_contributor_sees_a_form_per_flag_and_an_empty_environment_says_how_to_import() -> TestResult {
        let (_directory, state) = with_flags().await?;
        let cora = Viewer::for_tests("cora", UserRole::Contributor);
        let (_, body) = page_of(&state, &cora, "prod").await?;
        let flags = between(&body, "id=\"flags\"", "</section>");
        assert_eq!(flags.matches("<form").count(), 3, "{flags}");
        assert_eq!(flags.matches("name=\"csrf\"").count(), 3, "{flags}");
        let checkout = row(flags, "new-checkout");
        assert!(checkout.contains("action=\"/environments/prod/flags/new-checkout\""), "{checkout}");
        assert!(checkout.contains("<input type=\"hidden\" name=\"revision\" value=\"1\">"), "{checkout}");
        let variants = between(checkout, "<select name=\"variant\">", "</select>");
        assert!(variants.contains("<option value=\"off\" selected>off</option>"), "{variants}");
        assert!(variants.contains("<option value=\"on\">on</option>"), "{variants}");
        assert!(variants.contains("<option value=\"\">none"), "{variants}");
        let states = between(checkout, "<select name=\"state\">", "</select>");
        assert!(states.contains("<option value=\"ENABLED\" selected>enabled</option>"), "{states}");
        let limits = row(flags, "limits");
        assert!(limits.contains("<option value=\"\" selected>none"), "no default variant: {limits}");

        let (_, empty) = page_of(&state, &cora, "empty").await?;
        let flags = between(&empty, "id=\"flags\"", "</section>");
        assert!(
            flags.contains(
                "No flags yet. Import a flagd file with <code class=\"import\">slipway flags import empty FILE</code>."
            ),
            "{flags}"
        );
        assert!(flags.contains("/api/v1/environments/empty/ofrep/v1/evaluate/flags") && !flags.contains("<table"));
        Ok(())
    }

    #[tokio::test]
    async fn a_contributors_form_changes_the_default_variant_and_the_page_shows_it() -> TestResult {
        let (_directory, state) = with_flags().await?;
        let cora = Viewer::for_tests("cora", UserRole::Contributor);
        let (status, location, body) = post(&state, &cora, "new-checkout", ("csrf", "1", "on", "DISABLED")).await?;
        assert_eq!(
            (status, location.as_str()),
            (StatusCode::SEE_OTHER, "/environments/prod#flag-new-checkout"),
            "{body}"
        );
        let (_, page) = page_of(&state, &cora, "prod").await?;
        let checkout = row(&page, "new-checkout");
        assert!(checkout.contains("<td class=\"default-variant\"><code>on</code></td>"), "{checkout}");
        assert!(checkout.contains("<span class=\"badge s-skip\">disabled</span>"), "{checkout}");
        assert!(checkout.contains("name=\"revision\" value=\"2\""), "{checkout}");
        assert!(page.contains("Revision 2 · changed "), "{page}");
        let set = service::get(&state, &cora.caller(), "prod").await?;
        assert_eq!(set.document["flags"]["new-checkout"]["defaultVariant"], "on");
        assert_eq!(set.document["flags"]["new-checkout"]["state"], "DISABLED");
        let audit = state.store().list_audit(None, 10).await?;
        let entry = audit.iter().find(|entry| entry.action == "flags.set").ok_or("no audit entry")?;
        assert_eq!(entry.target.as_deref(), Some("prod/flags/new-checkout"));
        assert_eq!(entry.actor, "cora");

        // None: the application's own default; the document loses its default variant.
        let (status, _, body) = post(&state, &cora, "new-checkout", ("csrf", "2", "", "ENABLED")).await?;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        let set = service::get(&state, &cora.caller(), "prod").await?;
        assert_eq!(set.document["flags"]["new-checkout"].get("defaultVariant"), None);
        assert_eq!(set.revision, 3);
        Ok(())
    }

    #[tokio::test]
    async fn a_stale_revision_shows_the_conflict_beside_the_flags_form() -> TestResult {
        let (_directory, state) = with_flags().await?;
        let cora = Viewer::for_tests("cora", UserRole::Contributor);
        // Someone else changes the flags after the page was read at revision 1.
        let other = SetFlag { state: Some("DISABLED".into()), default_variant: None, revision: Some(1) };
        service::set(&state, &cora.caller(), "prod", "new-checkout", &other).await?;

        let (status, location, body) = post(&state, &cora, "new-checkout", ("csrf", "1", "on", "ENABLED")).await?;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert!(location.is_empty(), "{location}");
        let checkout = row(&body, "new-checkout");
        assert!(checkout.contains("<p class=\"problem\" role=\"alert\">"), "beside the form: {checkout}");
        assert!(checkout.contains("the flags are at revision 2, not 1"), "{checkout}");
        assert!(checkout.contains("<option value=\"on\" selected>on</option>"), "what was chosen is kept: {checkout}");
        assert!(checkout.contains("name=\"revision\" value=\"2\""), "the page now reads revision 2: {checkout}");
        assert!(checkout.contains("<span class=\"badge s-skip\">disabled</span>"), "the flags as they are: {checkout}");
        assert_eq!(body.matches("role=\"alert\"").count(), 1, "{body}");
        assert!(body.contains("id=\"current\""), "the whole page shows again: {body}");
        let set = service::get(&state, &cora.caller(), "prod").await?;
        assert_eq!((set.revision, set.document["flags"]["new-checkout"]["defaultVariant"].clone()), (2, "off".into()));

        // A revision that is no number, and an unknown variant, are refused beside the form too.
        let (status, _, body) = post(&state, &cora, "banner", ("csrf", "x<1>", "loud", "ENABLED")).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(row(&body, "banner").contains("The form's revision, 'x&lt;1&gt;', is not a revision"), "{body}");
        let (status, _, body) = post(&state, &cora, "banner", ("csrf", "2", "<odd>", "ENABLED")).await?;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(row(&body, "banner").contains("class=\"problem\""), "{body}");
        assert!(!body.contains("<odd>"), "{body}");
        // Without the session's token, or for a flag that is not there: no change.
        let (status, _, _) = post(&state, &cora, "banner", ("wrong", "2", "loud", "ENABLED")).await?;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _, _) = post(&state, &cora, "nope", ("csrf", "2", "on", "ENABLED")).await?;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(service::get(&state, &cora.caller(), "prod").await?.revision, 2);
        Ok(())
    }

    #[test]
    fn revisions_are_read_from_the_form() {
        assert_eq!(revision(" 7 "), Ok(7));
        assert!(revision("-1").is_err());
        assert!(revision("").is_err_and(|message| message.contains("reload the page")));
        assert_eq!(ofrep_path("a b"), "/api/v1/environments/a%20b/ofrep/v1/evaluate/flags");
        assert_eq!(anchor("a/b"), "flag-a%2Fb");
    }
}
