//! OpenID Connect against a real provider (`oidc-provider` run with Node; see
//! `slipway_testing::oidc`): Slipway's discovery reads its endpoints and checks its issuer and
//! PKCE support, its published signing keys are read, and a misspelt issuer is refused saying
//! how to fix it; the authorization-code flow with PKCE runs through the provider's login and
//! consent pages, the code is exchanged for an ID token whose signature, issuer, audience, expiry
//! and nonce are checked, and the `groups` claim gives the role (or none); denied consent comes back
//! as `access_denied`, and a code used twice or a wrong nonce is refused.
//!
//! Then as a person signs in through the web UI: the server started with the provider (what
//! `slipway serve --oidc-*` does), the sign-in page's "Sign in with SSO" link, `/auth/oidc/start`
//! sending the browser to the provider, the provider's login and consent, and
//! `/auth/oidc/callback` opening a session; on SQLite and PostgreSQL.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt as _;
use slipway_service::oidc::{OidcConfig, RoleMapping, split_values};
use slipway_testing::oidc::{CLIENT_ID, CLIENT_SECRET, TestOidcProvider, oidc_provider_or_skip};
use tower::ServiceExt as _;

use crate::signed_in::{Browser, Page};
use crate::support::{TestResult, TestServer, on_both_databases};

fn configured(issuer: &str) -> Result<OidcConfig, slipway_service::oidc::OidcError> {
    let roles = RoleMapping { claim: "groups".into(), admin: split_values("ops"), ..RoleMapping::default() };
    OidcConfig::new(issuer, CLIENT_ID, CLIENT_SECRET, "client-secret", roles)
}

#[test]
fn discovery_and_keys_come_from_a_real_provider() -> Result<(), String> {
    let groups = serde_json::json!({ "ada": ["ops"] });
    let test = "discovery_and_keys_come_from_a_real_provider";
    let Some(provider) = oidc_provider_or_skip(test, "http://127.0.0.1:1/auth/oidc/callback", &groups)? else {
        return Ok(());
    };
    let config = configured(&provider.issuer).map_err(|error| error.to_string())?;
    let discovery = config.discover().map_err(|error| error.to_string())?;
    assert_eq!(discovery.issuer, provider.issuer);
    assert_eq!(discovery.authorization_endpoint, format!("{}/auth", provider.issuer));
    assert_eq!(discovery.token_endpoint, format!("{}/token", provider.issuer));
    assert!(discovery.code_challenge_methods_supported.is_some_and(|methods| methods.contains(&"S256".to_owned())));
    let keys = config.fetch_keys(&config.discover().map_err(|error| error.to_string())?);
    let keys = keys.map_err(|error| error.to_string())?;
    assert!(!keys.keys.is_empty(), "the provider published no signing key");
    assert!(keys.keys.iter().all(|key| key.common.key_id.is_some()), "keys without kid: {keys:?}");

    let misspelt = configured(&format!("{}/", provider.issuer)).map_err(|error| error.to_string())?;
    let error = misspelt.discover().err().map(|error| error.to_string()).unwrap_or_default();
    assert!(error.contains("give --oidc-issuer exactly as the provider's discovery document writes it"), "{error}");
    Ok(())
}

/// The value of `name` in the query of `url`.
fn query_value(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

#[test]
fn the_code_flow_runs_against_a_real_provider() -> Result<(), String> {
    let redirect = "http://127.0.0.1:1/auth/oidc/callback";
    let groups = serde_json::json!({ "ada": ["staff", "ops"], "bob": ["visitors"] });
    let Some(provider) = oidc_provider_or_skip("the_code_flow_runs_against_a_real_provider", redirect, &groups)? else {
        return Ok(());
    };
    let config = configured(&provider.issuer).map_err(|error| error.to_string())?;
    let discovery = config.discover().map_err(|error| error.to_string())?;
    let keys = config.fetch_keys(&discovery).map_err(|error| error.to_string())?;

    // Ada, in the ops group, signs in and is an admin.
    let request = config.authorization_request(&discovery, redirect).map_err(|error| error.to_string())?;
    assert!(
        request.url.contains("code_challenge_method=S256")
            && request.url.contains("scope=openid%20profile%20email%20groups")
    );
    let back = provider.sign_in(&request.url, "ada", true)?;
    assert!(back.starts_with(redirect), "{back}");
    assert_eq!(query_value(&back, "state").as_deref(), Some(request.state.as_str()), "{back}");
    let code = query_value(&back, "code").ok_or_else(|| format!("no code in {back}"))?;
    let id_token =
        config.exchange_code(&discovery, &code, &request.verifier, redirect).map_err(|error| error.to_string())?;
    let token = config.check_id_token(&id_token, &keys, &request.nonce).map_err(|error| error.to_string())?;
    assert_eq!((token.subject.as_str(), token.name.as_str()), ("ada", "ada"));
    assert_eq!(config.roles.role(&token.claims), Some(slipway_store::UserRole::Admin));
    // The same token with another sign-in's nonce is refused.
    let error = config.check_id_token(&id_token, &keys, &"0".repeat(64)).err().map(|error| error.to_string());
    assert!(error.is_some_and(|text| text.contains("nonce is not the one of this sign-in")));
    // The code cannot be used twice.
    let error =
        config.exchange_code(&discovery, &code, &request.verifier, redirect).err().map(|error| error.to_string());
    assert!(
        error.as_deref().is_some_and(|text| text.contains("refused the sign-in's code: invalid_grant")),
        "{error:?}"
    );

    // Bob's groups give no role.
    let request = config.authorization_request(&discovery, redirect).map_err(|error| error.to_string())?;
    let back = provider.sign_in(&request.url, "bob", true)?;
    let code = query_value(&back, "code").ok_or_else(|| format!("no code in {back}"))?;
    let id_token =
        config.exchange_code(&discovery, &code, &request.verifier, redirect).map_err(|error| error.to_string())?;
    let token = config.check_id_token(&id_token, &keys, &request.nonce).map_err(|error| error.to_string())?;
    assert_eq!(config.roles.role(&token.claims), None, "{:?}", token.claims);

    // A code sent with another sign-in's PKCE verifier is refused.
    let request = config.authorization_request(&discovery, redirect).map_err(|error| error.to_string())?;
    let back = provider.sign_in(&request.url, "ada", true)?;
    let code = query_value(&back, "code").ok_or_else(|| format!("no code in {back}"))?;
    let error = config.exchange_code(&discovery, &code, &"1".repeat(64), redirect).err().map(|error| error.to_string());
    assert!(error.as_deref().is_some_and(|text| text.contains("invalid_grant")), "{error:?}");

    // Denied consent comes back as access_denied with the sign-in's state.
    let request = config.authorization_request(&discovery, redirect).map_err(|error| error.to_string())?;
    let back = provider.sign_in(&request.url, "ada", false)?;
    assert_eq!(query_value(&back, "error").as_deref(), Some("access_denied"), "{back}");
    assert_eq!(query_value(&back, "state").as_deref(), Some(request.state.as_str()), "{back}");
    Ok(())
}

/// Where the test server says people reach it; the provider sends browsers back there.
const BASE: &str = "http://slipway.test";

/// Everything after the scheme and host of `url` (its path and query).
fn path_of(url: &str) -> String {
    url.strip_prefix(BASE).unwrap_or(url).to_owned()
}

/// Follows a sign-in with SSO from the sign-in page as a browser does: the SSO link, the
/// redirect to the provider, the provider's pages as `account` (consenting or not), and the
/// provider's redirect back to the callback; answers the callback's page.
async fn sso_sign_in(
    browser: &mut Browser,
    provider: &TestOidcProvider,
    account: &str,
    consent: bool,
) -> TestResult<Page> {
    let login = browser.get("/login?next=/agents").await?;
    assert!(login.body.contains("Sign in with SSO"), "{}", login.body);
    let link = "/auth/oidc/start?next=%2Fagents";
    assert!(login.body.contains(link), "{}", login.body);
    let started = browser.get(link).await?;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.body);
    assert!(started.location.starts_with(&format!("{}/auth?", provider.issuer)), "{}", started.location);
    let (provider_url, account) = (started.location.clone(), account.to_owned());
    let back = tokio::task::block_in_place(|| provider.sign_in(&provider_url, &account, consent))?;
    assert!(back.starts_with(&format!("{BASE}/auth/oidc/callback?")), "{back}");
    browser.get(&path_of(&back)).await
}

/// A GET with only `cookie` (name=value).
async fn get_with_cookie(server: &TestServer, uri: &str, cookie: &str) -> TestResult<(StatusCode, String)> {
    let request = Request::builder().uri(uri).header(header::COOKIE, cookie).body(Body::empty())?;
    let response = server.app().oneshot(request).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// The audit log's entries with `action`, newest first.
async fn audited(server: &TestServer, action: &str) -> TestResult<Vec<slipway_store::AuditEntry>> {
    let entries = server.state.store().list_audit(None, 500).await?;
    Ok(entries.into_iter().filter(|entry| entry.action == action).collect())
}

on_both_databases! {
    /// Signing in with SSO through the web UI: an `ops` member becomes an admin, with a session
    /// of its own; someone without a mapped group is refused with a page that says why; a
    /// provider account named `admin` is a user of its own, not the local admin; denied consent,
    /// a wrong state and an expired attempt are refused with pages that say so; disabling the
    /// user ends its session and refuses its next sign-in. Each sign-in and refusal is in the
    /// audit log.
    async fn signing_in_with_sso_through_the_web_ui(database) {
        let redirect = format!("{BASE}/auth/oidc/callback");
        let groups = serde_json::json!({ "ada": ["staff", "ops"], "bob": ["visitors"], "admin": ["staff"] });
        let test = "signing_in_with_sso_through_the_web_ui";
        let Some(provider) = oidc_provider_or_skip(test, &redirect, &groups)? else { return Ok(()) };
        let dir = tempfile::tempdir()?;
        let server = TestServer::start_on(dir.path(), database.as_deref(), 0).await?;
        let admin_token = server.admin_token.clone().ok_or("no admin token")?;

        // Without OIDC the sign-in page has no SSO button and the routes say it is not set up.
        let mut plain = Browser::new(server.app());
        let login = plain.get("/login").await?;
        assert!(!login.body.contains("Sign in with SSO"), "{}", login.body);
        let start = plain.get("/auth/oidc/start").await?;
        assert_eq!(start.status, StatusCode::NOT_FOUND);
        assert!(start.body.contains("started without --oidc-issuer"), "{}", start.body);

        let roles = RoleMapping {
            claim: "groups".into(),
            admin: split_values("ops"),
            reader: split_values("staff"),
            ..RoleMapping::default()
        };
        let config = OidcConfig::new(&provider.issuer, CLIENT_ID, CLIENT_SECRET, "client-secret", roles)?;
        let sso = slipway_server::connect_oidc(config, &format!("{BASE}/")).await?;
        assert_eq!(sso.redirect_uri(), redirect);
        server.state.set_sso(sso);

        // Ada, in ops, signs in and lands on the page she asked for, as an admin.
        let mut ada = Browser::new(server.app());
        let back = sso_sign_in(&mut ada, &provider, "ada", true).await?;
        assert_eq!((back.status, back.location.as_str()), (StatusCode::SEE_OTHER, "/agents"), "{}", back.body);
        let agents = ada.get("/agents").await?;
        assert_eq!(agents.status, StatusCode::OK, "{}", agents.body);
        assert!(agents.body.contains("ada"), "{}", agents.body);
        let users = ada.get("/admin/users").await?;
        assert_eq!(users.status, StatusCode::OK, "an ops member is not an admin: {}", users.body);
        let stored = server.state.store().external_user(&provider.issuer, "ada").await?.ok_or("no user for ada")?;
        assert_eq!((stored.name.as_str(), stored.role), ("ada", slipway_store::UserRole::Admin));
        assert!(server.state.store().list_access_tokens(stored.id).await?.is_empty(), "the SSO session needed a token");
        let signed_in = audited(&server, "user.sign_in.oidc").await?;
        let entry = signed_in.first().ok_or("the sign-in was not audited")?;
        assert_eq!((entry.actor.as_str(), entry.target.as_deref()), ("ada", Some("ada")));
        assert_eq!(entry.details["issuer"], provider.issuer.as_str());
        assert_eq!((&entry.details["subject"], &entry.details["role"]), (&serde_json::json!("ada"), &serde_json::json!("admin")));

        // Bob's groups give no role: a page says so, and no user is made.
        let mut bob = Browser::new(server.app());
        let refused = sso_sign_in(&mut bob, &provider, "bob", true).await?;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
        assert!(refused.body.contains("No Slipway role"), "{}", refused.body);
        assert!(refused.body.contains("no value of the claim &#39;groups&#39; that gives a Slipway role (it has visitors)")
            || refused.body.contains("no value of the claim 'groups' that gives a Slipway role (it has visitors)"), "{}", refused.body);
        assert!(server.state.store().external_user(&provider.issuer, "bob").await?.is_none());
        assert_eq!(bob.get("/agents").await?.status, StatusCode::SEE_OTHER, "bob got a session");
        let refusals = audited(&server, "user.sign_in.oidc_refused").await?;
        assert!(refusals.iter().any(|entry| entry.actor == "bob" && entry.details["reason"] == "no mapped role"), "{refusals:?}");

        // The provider's "admin" is a reader of its own, not the local admin.
        let mut impostor = Browser::new(server.app());
        let back = sso_sign_in(&mut impostor, &provider, "admin", true).await?;
        assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
        let external = server.state.store().external_user(&provider.issuer, "admin").await?.ok_or("no user")?;
        let local = server.state.store().user_by_name("admin").await?.ok_or("no local admin")?;
        assert_eq!((external.name.as_str(), external.role), ("admin-2", slipway_store::UserRole::Reader));
        assert_ne!(external.id, local.id);
        assert_eq!((local.role, local.external.clone()), (slipway_store::UserRole::Admin, None));
        assert_eq!(impostor.get("/admin/users").await?.status, StatusCode::FORBIDDEN, "the provider's admin is an admin");
        assert!(impostor.get("/agents").await?.body.contains("admin-2"));

        // Denied consent.
        let mut shy = Browser::new(server.app());
        let denied = sso_sign_in(&mut shy, &provider, "ada", false).await?;
        assert_eq!(denied.status, StatusCode::FORBIDDEN, "{}", denied.body);
        assert!(denied.body.contains("Sign-in cancelled") && denied.body.contains("access was denied"), "{}", denied.body);

        // A wrong state, and a callback without the attempt's cookie.
        let mut forger = Browser::new(server.app());
        let started = forger.get("/auth/oidc/start").await?;
        let location = started.location.clone();
        let back = tokio::task::block_in_place(|| provider.sign_in(&location, "ada", true))?;
        let state = back.split("state=").nth(1).map(|rest| rest.split('&').next().unwrap_or_default().to_owned()).ok_or("no state")?;
        let forged = path_of(&back).replace(&state, &"0".repeat(state.len()));
        let wrong = forger.get(&forged).await?;
        assert_eq!(wrong.status, StatusCode::BAD_REQUEST, "{}", wrong.body);
        assert!(wrong.body.contains("its state does not match"), "{}", wrong.body);
        let elsewhere = Browser::new(server.app()).get(&path_of(&back)).await?;
        assert_eq!(elsewhere.status, StatusCode::BAD_REQUEST, "{}", elsewhere.body);
        assert!(elsewhere.body.contains("not known to this browser"), "{}", elsewhere.body);

        // An attempt older than ten minutes.
        let sso = server.state.sso().ok_or("no sso")?;
        let (id, url) = sso.begin("/")?;
        let back = tokio::task::block_in_place(|| provider.sign_in(&url, "ada", true))?;
        sso.age_attempt_for_tests(&id, slipway_service::sso::ATTEMPT_LIFETIME + std::time::Duration::from_secs(1));
        let (status, body) = get_with_cookie(&server, &path_of(&back), &format!("slipway_oidc={id}")).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body.contains("Sign-in expired") && body.contains("longer than 10 minutes"), "{body}");
        let reasons: Vec<String> = audited(&server, "user.sign_in.oidc_refused").await?.iter()
            .map(|entry| entry.details["reason"].as_str().unwrap_or_default().to_owned()).collect();
        for reason in ["denied consent", "wrong state", "unknown attempt", "expired attempt", "no mapped role"] {
            assert!(reasons.iter().any(|given| given == reason), "{reason} not audited: {reasons:?}");
        }

        // The local admin disables ada: her session ends at once and she cannot sign in again
        // until enabled.
        let mut root = Browser::new(server.app());
        let csrf = root.sign_in("admin", &admin_token).await?;
        let users = root.get("/admin/users").await?;
        assert!(users.body.contains(&provider.issuer), "{}", users.body);
        let disable = format!("/admin/users/{}/disabled", stored.id.get());
        let done = root.post(&disable, &[("csrf", &csrf), ("disabled", "true")]).await?;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let after = ada.get("/agents").await?;
        assert_eq!(after.status, StatusCode::SEE_OTHER, "a disabled user's SSO session goes on");
        assert!(after.location.starts_with("/login"), "{}", after.location);
        let again = sso_sign_in(&mut ada, &provider, "ada", true).await?;
        assert_eq!(again.status, StatusCode::FORBIDDEN, "{}", again.body);
        assert!(again.body.contains("is disabled"), "{}", again.body);
        assert_eq!(audited(&server, "user.disable").await?.len(), 1);
        root.post(&disable, &[("csrf", &csrf), ("disabled", "false")]).await?;
        let back = sso_sign_in(&mut ada, &provider, "ada", true).await?;
        assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
        assert_eq!(ada.get("/agents").await?.status, StatusCode::OK);

        // Signing out ends the SSO session.
        let home = ada.get("/").await?;
        let csrf = home.csrf().ok_or("no csrf")?;
        assert_eq!(ada.post("/logout", &[("csrf", &csrf)]).await?.status, StatusCode::SEE_OTHER);
        assert_eq!(ada.get("/agents").await?.status, StatusCode::SEE_OTHER);
        server.stop().await;
        Ok(())
    }
}

#[tokio::test]
async fn a_provider_that_cannot_be_reached_stops_the_start_naming_the_flag() -> TestResult {
    let roles = RoleMapping { claim: "groups".into(), admin: split_values("ops"), ..RoleMapping::default() };
    let config = OidcConfig::new("http://127.0.0.1:9/realms/main", CLIENT_ID, CLIENT_SECRET, "client-secret", roles)?;
    let error = slipway_server::connect_oidc(config.clone(), BASE).await.err().map(|error| error.to_string());
    let error = error.unwrap_or_default();
    assert!(error.starts_with("--oidc-issuer: the OpenID Connect provider http://127.0.0.1:9/realms/main could not be asked for http://127.0.0.1:9/realms/main/.well-known/openid-configuration"), "{error}");
    let error = slipway_server::connect_oidc(config, "http://0.0.0.0:8080").await.err().map(|error| error.to_string());
    assert!(error.unwrap_or_default().contains("give --public-url"));
    Ok(())
}
