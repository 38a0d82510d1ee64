//! OpenID Connect against a real provider (`oidc-provider` run with Node; see
//! `slipway_testing::oidc`): Slipway's discovery reads its endpoints and checks its issuer and
//! PKCE support, its published signing keys are read, and a misspelt issuer is refused saying
//! how to fix it; the authorization-code flow with PKCE runs through the provider's login and
//! consent pages, the code is exchanged for an ID token whose signature, issuer, audience, expiry
//! and nonce are checked, and the `groups` claim gives the role (or none); denied consent comes back
//! as `access_denied`, and a code used twice or a wrong nonce is refused. The web UI's sign-in
//! button and callback are not built yet.

use slipway_service::oidc::{OidcConfig, RoleMapping, split_values};
use slipway_testing::oidc::{CLIENT_ID, CLIENT_SECRET, oidc_provider_or_skip};

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
