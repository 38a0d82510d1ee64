//! Sign-in with OpenID Connect: the configuration (`slipway serve --oidc-issuer ...`), the
//! mapping of a claim's values (for example the `groups` an identity provider puts in its ID
//! tokens) to Slipway's roles, and the provider's discovery document
//! (`ISSUER/.well-known/openid-configuration`).
//!
//! This is the first part of the feature: the web UI's authorization-code flow (the sign-in
//! button, the callback, the ID token's checks) is not built yet, so nothing here is reachable
//! from `slipway serve`.

use std::time::Duration;

use serde::Deserialize;
use slipway_store::UserRole;

/// How long a request to the provider may take.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest discovery document read.
const MAX_DOCUMENT: u64 = 1024 * 1024;

/// What went wrong with the OIDC configuration or the provider.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OidcError {
    /// The configuration is not usable.
    #[error("the OpenID Connect configuration is not usable: {0}")]
    Config(String),
    /// The provider could not be reached or answered something else than expected.
    #[error("the OpenID Connect provider {issuer} {detail}")]
    Provider {
        /// The issuer's URL.
        issuer: String,
        /// What happened.
        detail: String,
    },
}

/// Which values of the role claim give which role. The highest role that one of the claim's values
/// gives wins.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoleMapping {
    /// The claim of the ID token (or the user info) that carries the values, e.g. `groups`.
    pub claim: String,
    /// Values that make an admin.
    pub admin: Vec<String>,
    /// Values that make a contributor.
    pub contributor: Vec<String>,
    /// Values that make a reader.
    pub reader: Vec<String>,
}

impl RoleMapping {
    /// The role the claims give, or `None` when the claim is missing or none of its values is
    /// mapped. The claim may be a string or an array of strings (other values are ignored).
    #[must_use]
    pub fn role(&self, claims: &serde_json::Map<String, serde_json::Value>) -> Option<UserRole> {
        let values: Vec<&str> = match claims.get(&self.claim)? {
            serde_json::Value::String(value) => vec![value.as_str()],
            serde_json::Value::Array(values) => values.iter().filter_map(serde_json::Value::as_str).collect(),
            _ => return None,
        };
        let has = |mapped: &[String]| values.iter().any(|value| mapped.iter().any(|wanted| wanted == value));
        if has(&self.admin) {
            Some(UserRole::Admin)
        } else if has(&self.contributor) {
            Some(UserRole::Contributor)
        } else if has(&self.reader) {
            Some(UserRole::Reader)
        } else {
            None
        }
    }
}

/// The sign-in with OpenID Connect that the server offers.
#[derive(Clone, PartialEq, Eq)]
pub struct OidcConfig {
    /// The issuer's URL, exactly as the provider writes it in its tokens' `iss` (no trailing `/`
    /// is added or removed).
    pub issuer: String,
    /// The client's ID at the provider.
    pub client_id: String,
    /// The client's secret.
    pub client_secret: String,
    /// How claims give roles.
    pub roles: RoleMapping,
}

impl std::fmt::Debug for OidcConfig {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("OidcConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<hidden>")
            .field("roles", &self.roles)
            .finish()
    }
}

/// Splits a comma-separated list of claim values (`--oidc-admin-values a,b`), dropping empty
/// items and the spaces around each.
#[must_use]
pub fn split_values(list: &str) -> Vec<String> {
    list.split(',').map(str::trim).filter(|value| !value.is_empty()).map(str::to_owned).collect()
}

impl OidcConfig {
    /// A configuration from the server's settings; `client_secret` is the content of the secret's
    /// file (`secret_file` names it in errors), trimmed.
    ///
    /// # Errors
    /// When the issuer is not an http(s) URL, the client ID or secret is empty, the claim's name is
    /// empty, or no value gives any role.
    pub fn new(
        issuer: &str,
        client_id: &str,
        client_secret: &str,
        secret_file: &str,
        roles: RoleMapping,
    ) -> Result<Self, OidcError> {
        let issuer = issuer.trim();
        let scheme_ok = issuer.starts_with("https://") || issuer.starts_with("http://");
        if !scheme_ok || issuer.contains(['?', '#']) || issuer.chars().any(char::is_whitespace) {
            return Err(OidcError::Config(format!(
                "the issuer '{issuer}' is not an http(s) URL without query or fragment: give the issuer's URL as \
                 the provider shows it (e.g. https://login.example.com/realms/main)"
            )));
        }
        if client_id.trim().is_empty() {
            return Err(OidcError::Config("the client ID is empty: give the ID the provider gave Slipway".into()));
        }
        if client_secret.trim().is_empty() {
            return Err(OidcError::Config(format!(
                "the client secret file {secret_file} is empty: write the client's secret into it"
            )));
        }
        if roles.claim.trim().is_empty() {
            return Err(OidcError::Config("the role claim's name is empty: name a claim, e.g. groups".into()));
        }
        if roles.admin.is_empty() && roles.contributor.is_empty() && roles.reader.is_empty() {
            return Err(OidcError::Config(format!(
                "no value of the claim '{}' gives a role, so nobody could sign in: give at least one of \
                 --oidc-admin-values, --oidc-contributor-values, --oidc-reader-values",
                roles.claim
            )));
        }
        Ok(Self {
            issuer: issuer.to_owned(),
            client_id: client_id.trim().to_owned(),
            client_secret: client_secret.trim().to_owned(),
            roles,
        })
    }

    /// The discovery document's URL.
    #[must_use]
    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer.trim_end_matches('/'))
    }

    /// Reads the provider's discovery document (blocking: call it off the async runtime).
    ///
    /// # Errors
    /// When the provider cannot be reached, answers something else than a discovery document, or
    /// names another issuer than the configured one.
    pub fn discover(&self) -> Result<Discovery, OidcError> {
        let failed = |detail: String| OidcError::Provider { issuer: self.issuer.clone(), detail };
        let url = self.discovery_url();
        let agent: ureq::Agent = ureq::Agent::config_builder().timeout_global(Some(PROVIDER_TIMEOUT)).build().into();
        let mut response = agent
            .get(&url)
            .header("accept", "application/json")
            .call()
            .map_err(|error| failed(format!("could not be asked for {url}: {error}")))?;
        let text = response
            .body_mut()
            .with_config()
            .limit(MAX_DOCUMENT)
            .read_to_string()
            .map_err(|error| failed(format!("sent an unreadable answer from {url}: {error}")))?;
        let discovery = serde_json::from_str::<Discovery>(&text).map_err(|error| {
            failed(format!("sent an answer from {url} that is not an OpenID Connect discovery document: {error}"))
        })?;
        discovery.check(&self.issuer).map_err(failed)?;
        Ok(discovery)
    }
}

/// What the provider's discovery document says (the parts Slipway uses).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Discovery {
    /// The issuer, which must equal the configured one.
    pub issuer: String,
    /// Where to send the browser to sign in.
    pub authorization_endpoint: String,
    /// Where to exchange the code.
    pub token_endpoint: String,
    /// The provider's signing keys.
    pub jwks_uri: String,
    /// The PKCE methods the provider supports, when it says.
    #[serde(default)]
    pub code_challenge_methods_supported: Option<Vec<String>>,
    /// The ID tokens' signing algorithms.
    #[serde(default)]
    pub id_token_signing_alg_values_supported: Vec<String>,
}

impl Discovery {
    /// Checks that the document is for `issuer` and can be used: its endpoints are http(s), and
    /// PKCE with `S256` is supported when the provider lists its methods.
    fn check(&self, issuer: &str) -> Result<(), String> {
        if self.issuer != issuer {
            return Err(format!(
                "says its issuer is '{}', not '{issuer}': give --oidc-issuer exactly as the provider's discovery \
                 document writes it",
                self.issuer
            ));
        }
        for (name, url) in [
            ("authorization_endpoint", &self.authorization_endpoint),
            ("token_endpoint", &self.token_endpoint),
            ("jwks_uri", &self.jwks_uri),
        ] {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(format!("gives '{url}' as its {name}, which is not an http(s) URL"));
            }
        }
        if let Some(methods) = &self.code_challenge_methods_supported
            && !methods.iter().any(|method| method == "S256")
        {
            return Err(format!(
                "does not support PKCE with S256 (it lists {}): enable S256 for the client at the provider",
                methods.join(", ")
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping() -> RoleMapping {
        RoleMapping {
            claim: "groups".into(),
            admin: split_values("ops, platform"),
            contributor: split_values("dev"),
            reader: split_values("staff,"),
        }
    }

    fn claims(value: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
        match value {
            serde_json::Value::Object(map) => map,
            _ => serde_json::Map::new(),
        }
    }

    #[test]
    fn values_are_split_and_trimmed() {
        assert_eq!(split_values(" a, b ,,c "), ["a", "b", "c"]);
        assert!(split_values(" , ").is_empty());
    }

    #[test]
    fn the_highest_mapped_role_wins() {
        let roles = mapping();
        let role = |value| roles.role(&claims(value));
        assert_eq!(role(serde_json::json!({ "groups": ["staff", "platform"] })), Some(UserRole::Admin));
        assert_eq!(role(serde_json::json!({ "groups": ["staff", "dev"] })), Some(UserRole::Contributor));
        assert_eq!(role(serde_json::json!({ "groups": "staff" })), Some(UserRole::Reader));
        assert_eq!(role(serde_json::json!({ "groups": ["other", 7] })), None);
        assert_eq!(role(serde_json::json!({ "groups": 7 })), None);
        assert_eq!(role(serde_json::json!({ "roles": ["ops"] })), None);
    }

    #[test]
    fn configurations_that_cannot_work_are_refused_with_the_fix() {
        let config = |issuer: &str, secret: &str, roles: RoleMapping| {
            OidcConfig::new(issuer, "slipway", secret, "/etc/slipway/oidc-secret", roles)
        };
        let good = config(" https://id.example.com/realms/main ", "s3cret\n", mapping());
        assert_eq!(good.as_ref().map(|config| config.client_secret.as_str()), Ok("s3cret"));
        assert_eq!(
            good.map(|config| config.discovery_url()),
            Ok("https://id.example.com/realms/main/.well-known/openid-configuration".to_owned())
        );
        let message = |result: Result<OidcConfig, OidcError>| result.err().map(|error| error.to_string());
        assert!(message(config("id.example.com", "s", mapping())).is_some_and(|text| text.contains("http(s) URL")));
        assert!(
            message(config("https://id.example.com", " ", mapping()))
                .is_some_and(|text| text.contains("/etc/slipway/oidc-secret is empty"))
        );
        let unmapped = RoleMapping { claim: "groups".into(), ..RoleMapping::default() };
        assert!(
            message(config("https://id.example.com", "s", unmapped))
                .is_some_and(|text| text.contains("--oidc-admin-values"))
        );
        let secret = config("https://id.example.com", "s3cret", mapping()).map(|config| format!("{config:?}"));
        assert!(secret.is_ok_and(|text| !text.contains("s3cret") && text.contains("<hidden>")));
    }

    /// Serves `body` with `status` to one request on a loopback port; answers the server's URL.
    fn serve(status: u16, body: String) -> String {
        serve_self(status, |_| body)
    }

    fn document(issuer: &str, methods: &str) -> String {
        format!(
            r#"{{"issuer":"{issuer}","authorization_endpoint":"{issuer}/auth","token_endpoint":"{issuer}/token",
                "jwks_uri":"{issuer}/jwks","code_challenge_methods_supported":{methods},
                "id_token_signing_alg_values_supported":["RS256"]}}"#
        )
    }

    fn discover(issuer: &str) -> Result<Discovery, OidcError> {
        OidcConfig::new(issuer, "slipway", "secret", "secret-file", mapping())?.discover()
    }

    #[test]
    fn discovery_reads_the_providers_endpoints() {
        let issuer = serve_self(200, |issuer| document(issuer, r#"["plain","S256"]"#));
        let discovery = discover(&issuer);
        assert_eq!(discovery.as_ref().map(|found| found.token_endpoint.clone()), Ok(format!("{issuer}/token")));
        assert_eq!(discovery.map(|found| found.jwks_uri), Ok(format!("{issuer}/jwks")));
    }

    #[test]
    fn discovery_refuses_another_issuer_missing_pkce_and_bad_answers() {
        let other = serve(200, document("https://elsewhere.example.com", r#"["S256"]"#));
        let error = discover(&other).err().map(|error| error.to_string()).unwrap_or_default();
        assert!(error.contains("says its issuer is 'https://elsewhere.example.com'"), "{error}");

        let plain = serve_self(200, |issuer| document(issuer, r#"["plain"]"#));
        let error = discover(&plain).err().map(|error| error.to_string()).unwrap_or_default();
        assert!(error.contains("does not support PKCE with S256"), "{error}");

        let missing = serve(404, "{}".into());
        let error = discover(&missing).err().map(|error| error.to_string()).unwrap_or_default();
        assert!(error.contains("could not be asked for") && error.contains("404"), "{error}");

        let garbage = serve(200, r#"{"issuer":"x"}"#.into());
        let error = discover(&garbage).err().map(|error| error.to_string()).unwrap_or_default();
        assert!(error.contains("not an OpenID Connect discovery document"), "{error}");
    }

    /// Like [`serve`], with a body that may name the server's own URL.
    fn serve_self(status: u16, body: impl FnOnce(&str) -> String) -> String {
        use std::io::{Read as _, Write as _};
        let Ok(listener) = std::net::TcpListener::bind("127.0.0.1:0") else { return "http://127.0.0.1:9".into() };
        let issuer = format!("http://{}", listener.local_addr().map(|address| address.to_string()).unwrap_or_default());
        let body = body(&issuer);
        std::thread::spawn(move || {
            if let Some(Ok(mut stream)) = listener.incoming().next() {
                let mut request = [0_u8; 4096];
                let _ = stream.read(&mut request);
                let answer = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: \
                     close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes());
            }
        });
        issuer
    }
}
