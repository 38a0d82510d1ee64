//! OpenID Connect against a real provider (`oidc-provider` run with Node; see
//! `slipway_testing::oidc`): Slipway's discovery reads its endpoints and checks its issuer and
//! PKCE support, its published signing keys are read, and a misspelt issuer is refused saying
//! how to fix it. The web sign-in flow itself is not built yet.

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
