//! Sign-in with OpenID Connect: the configuration (`slipway serve --oidc-issuer ...`), the
//! mapping of a claim's values (for example the `groups` an identity provider puts in its ID
//! tokens) to Slipway's roles, the provider's discovery document
//! (`ISSUER/.well-known/openid-configuration`) and signing keys (its JWKS), and the checks of an ID
//! token (signature, asymmetric algorithm, `iss`, `aud`/`azp`, `exp`, `nonce`), with the
//! `jsonwebtoken` crate over `ring` (the TLS stack's own crypto).
//!
//! The authorization-code flow's steps are here too: the authorization request (random `state`,
//! `nonce` and PKCE `S256` verifier) and the code's exchange at the token endpoint
//! (`client_secret_basic`). The web UI's part (the sign-in button, the callback, the Slipway user
//! and session it opens) and `slipway serve`'s flags are not built yet, so nothing here is
//! reachable from a running server.

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
        let text = self.get_document(
            &url,
            &format!("could not be asked for {url}"),
            &format!("sent an unreadable answer from {url}"),
        )?;
        let discovery = serde_json::from_str::<Discovery>(&text).map_err(|error| {
            failed(format!("sent an answer from {url} that is not an OpenID Connect discovery document: {error}"))
        })?;
        discovery.check(&self.issuer).map_err(failed)?;
        Ok(discovery)
    }

    /// GETs a JSON document of at most `MAX_DOCUMENT` bytes from the provider (blocking);
    /// `unreachable` and `unreadable` say what failed, before the transport's error.
    fn get_document(&self, url: &str, unreachable: &str, unreadable: &str) -> Result<String, OidcError> {
        let failed = |detail: String| OidcError::Provider { issuer: self.issuer.clone(), detail };
        let agent: ureq::Agent = ureq::Agent::config_builder().timeout_global(Some(PROVIDER_TIMEOUT)).build().into();
        let mut response = agent
            .get(url)
            .header("accept", "application/json")
            .call()
            .map_err(|error| failed(format!("{unreachable}: {error}")))?;
        response
            .body_mut()
            .with_config()
            .limit(MAX_DOCUMENT)
            .read_to_string()
            .map_err(|error| failed(format!("{unreadable}: {error}")))
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

/// The claims of a checked ID token that Slipway uses.
#[derive(Clone, Debug, PartialEq)]
pub struct IdToken {
    /// The subject: who signed in, as the provider knows them (stable).
    pub subject: String,
    /// A name to show: `preferred_username`, else `email`, else the subject.
    pub name: String,
    /// All the token's claims (for the role claim).
    pub claims: serde_json::Map<String, serde_json::Value>,
}

/// The signing algorithms accepted for ID tokens: asymmetric ones only, so that the client's
/// secret never stands in for the provider's key.
const ALGORITHMS: [jsonwebtoken::Algorithm; 9] = [
    jsonwebtoken::Algorithm::RS256,
    jsonwebtoken::Algorithm::RS384,
    jsonwebtoken::Algorithm::RS512,
    jsonwebtoken::Algorithm::PS256,
    jsonwebtoken::Algorithm::PS384,
    jsonwebtoken::Algorithm::PS512,
    jsonwebtoken::Algorithm::ES256,
    jsonwebtoken::Algorithm::ES384,
    jsonwebtoken::Algorithm::EdDSA,
];

impl OidcConfig {
    /// Reads the provider's signing keys from the discovery document's `jwks_uri` (blocking).
    ///
    /// # Errors
    /// When they cannot be read or are not a JSON Web Key Set.
    pub fn fetch_keys(&self, discovery: &Discovery) -> Result<jsonwebtoken::jwk::JwkSet, OidcError> {
        let failed = |detail: String| OidcError::Provider { issuer: self.issuer.clone(), detail };
        let url = &discovery.jwks_uri;
        let text = self.get_document(
            url,
            &format!("could not be asked for its keys at {url}"),
            &format!("sent unreadable keys from {url}"),
        )?;
        serde_json::from_str(&text)
            .map_err(|error| failed(format!("sent keys from {url} that are not a JSON Web Key Set: {error}")))
    }

    /// Checks an ID token: its signature against one of `keys` (by its `kid`, or the only key),
    /// an asymmetric algorithm, `iss` equal to the issuer, `aud` containing the client ID (and
    /// `azp` naming it when there are several audiences), `exp` not passed (a minute's leeway),
    /// and `nonce` equal to the one sent with the sign-in.
    ///
    /// # Errors
    /// A [`OidcError::Provider`] saying which check failed.
    pub fn check_id_token(
        &self,
        token: &str,
        keys: &jsonwebtoken::jwk::JwkSet,
        nonce: &str,
    ) -> Result<IdToken, OidcError> {
        let failed = |detail: String| OidcError::Provider { issuer: self.issuer.clone(), detail };
        let header = jsonwebtoken::decode_header(token)
            .map_err(|error| failed(format!("sent an ID token that is not a JWT: {error}")))?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(failed(format!(
                "signed the ID token with {:?}, which Slipway does not accept: configure the client to sign ID \
                 tokens with RS256 or ES256",
                header.alg
            )));
        }
        let key = match &header.kid {
            Some(kid) => keys.find(kid),
            None if keys.keys.len() == 1 => keys.keys.first(),
            None => None,
        }
        .ok_or_else(|| {
            failed(format!(
                "signed the ID token with a key (kid {}) that is not among its published keys",
                header.kid.as_deref().unwrap_or("not given")
            ))
        })?;
        let key = jsonwebtoken::DecodingKey::from_jwk(key)
            .map_err(|error| failed(format!("publishes a key Slipway cannot use: {error}")))?;
        let mut validation = jsonwebtoken::Validation::new(header.alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.client_id]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let claims = jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(token, &key, &validation)
            .map_err(|error| failed(format!("sent an ID token that failed its checks: {error}")))?
            .claims;
        let several_audiences =
            claims.get("aud").and_then(serde_json::Value::as_array).is_some_and(|aud| aud.len() > 1);
        let azp = claims.get("azp").and_then(serde_json::Value::as_str);
        if (several_audiences || azp.is_some()) && azp != Some(self.client_id.as_str()) {
            return Err(failed(format!(
                "sent an ID token for another party (azp {}), not for the client {}",
                azp.unwrap_or("missing"),
                self.client_id
            )));
        }
        let given = claims.get("nonce").and_then(serde_json::Value::as_str).unwrap_or_default();
        if !same(given, nonce) {
            return Err(failed(
                "sent an ID token whose nonce is not the one of this sign-in (a replayed or foreign token): sign in \
                 again"
                    .to_owned(),
            ));
        }
        let text = |name: &str| claims.get(name).and_then(serde_json::Value::as_str).filter(|value| !value.is_empty());
        let subject =
            text("sub").map(str::to_owned).ok_or_else(|| failed("sent an ID token without a subject".into()))?;
        let name = text("preferred_username").or_else(|| text("email")).unwrap_or(&subject).to_owned();
        Ok(IdToken { subject, name, claims })
    }
}

/// Whether `given` equals `expected`, compared in time that does not depend on where they differ;
/// an empty `expected` matches nothing.
fn same(given: &str, expected: &str) -> bool {
    let (expected, given) = (expected.as_bytes(), given.as_bytes());
    if expected.is_empty() || expected.len() != given.len() {
        return false;
    }
    expected.iter().zip(given).fold(0_u8, |difference, (left, right)| difference | (left ^ right)) == 0
}

/// A sign-in begun: where to send the browser, and what to keep (in a short-lived cookie) to
/// check the provider's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthRequest {
    /// The provider's authorization URL with the request's parameters.
    pub url: String,
    /// The `state` the provider sends back with the code.
    pub state: String,
    /// The `nonce` the ID token must carry.
    pub nonce: String,
    /// The PKCE verifier, sent with the code.
    pub verifier: String,
}

/// Percent-encodes `text` for a URL's query or a form (all but RFC 3986's unreserved
/// characters), as the API encodes path segments.
fn encode(text: &str) -> String {
    slipway_api::path_segment(text)
}

/// The PKCE challenge of `verifier` (`S256`).
#[must_use]
pub fn pkce_challenge(verifier: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
}

/// What the token endpoint answers.
#[derive(Debug, Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    id_token: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

impl OidcConfig {
    /// Begins a sign-in: fresh random `state`, `nonce` and PKCE verifier, and the authorization
    /// URL asking for `openid profile email` and the role claim's scope when it is not a standard
    /// claim, coming back to `redirect_uri`.
    ///
    /// # Errors
    /// When the system gives no randomness.
    pub fn authorization_request(&self, discovery: &Discovery, redirect_uri: &str) -> Result<AuthRequest, OidcError> {
        let random =
            || slipway_engine::random_hex(32).map_err(|error| OidcError::Config(format!("no randomness: {error}")));
        let (state, nonce, verifier) = (random()?, random()?, random()?);
        let mut scope = "openid profile email".to_owned();
        if !["sub", "email", "preferred_username", "name"].contains(&self.roles.claim.as_str()) {
            scope.push(' ');
            scope.push_str(&self.roles.claim);
        }
        let separator = if discovery.authorization_endpoint.contains('?') { '&' } else { '?' };
        let url = format!(
            "{}{separator}response_type=code&client_id={}&redirect_uri={}&scope={}&state={state}&nonce={nonce}&\
             code_challenge={}&code_challenge_method=S256",
            discovery.authorization_endpoint,
            encode(&self.client_id),
            encode(redirect_uri),
            encode(&scope),
            pkce_challenge(&verifier),
        );
        Ok(AuthRequest { url, state, nonce, verifier })
    }

    /// Exchanges an authorization `code` for the ID token at the token endpoint (blocking),
    /// authenticating with the client's secret (`client_secret_basic`).
    ///
    /// # Errors
    /// When the provider cannot be reached or refuses the code (its `error` and
    /// `error_description` are in the message), or answers without an ID token.
    pub fn exchange_code(
        &self,
        discovery: &Discovery,
        code: &str,
        verifier: &str,
        redirect_uri: &str,
    ) -> Result<String, OidcError> {
        use base64::Engine as _;
        let failed = |detail: String| OidcError::Provider { issuer: self.issuer.clone(), detail };
        let url = &discovery.token_endpoint;
        let credentials = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            encode(&self.client_id),
            encode(&self.client_secret)
        ));
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(PROVIDER_TIMEOUT))
            .http_status_as_error(false)
            .build()
            .into();
        let mut response = agent
            .post(url)
            .header("authorization", &format!("Basic {credentials}"))
            .header("accept", "application/json")
            .send_form([
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("code_verifier", verifier),
            ])
            .map_err(|error| failed(format!("could not be asked for the ID token at {url}: {error}")))?;
        let status = response.status();
        let text = response
            .body_mut()
            .with_config()
            .limit(MAX_DOCUMENT)
            .read_to_string()
            .map_err(|error| failed(format!("sent an unreadable answer from {url}: {error}")))?;
        let answer = serde_json::from_str::<TokenAnswer>(&text)
            .map_err(|error| failed(format!("answered {status} at {url} with something else than JSON: {error}")))?;
        if let Some(error) = answer.error {
            let description = answer.error_description.map(|text| format!(" ({text})")).unwrap_or_default();
            return Err(failed(format!(
                "refused the sign-in's code: {error}{description}; check the client ID and secret, and that \
                 Slipway's callback URL is registered with the client"
            )));
        }
        answer.id_token.ok_or_else(|| failed(format!("answered {status} at {url} without an ID token")))
    }
}

#[cfg(test)]
pub(crate) mod tests {
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
    fn pkce_challenges_follow_rfc_7636() {
        // RFC 7636, appendix B.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
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

    /// A P-256 key pair for signing test tokens, and its public key as a JWK (the SSO tests use
    /// it too).
    pub(crate) fn signing_key(kid: &str) -> Option<(jsonwebtoken::EncodingKey, serde_json::Value)> {
        use base64::Engine as _;
        use ring::signature::KeyPair as _;
        let random = ring::rand::SystemRandom::new();
        let algorithm = &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING;
        let pkcs8 = ring::signature::EcdsaKeyPair::generate_pkcs8(algorithm, &random).ok()?;
        let pair = ring::signature::EcdsaKeyPair::from_pkcs8(algorithm, pkcs8.as_ref(), &random).ok()?;
        let point = pair.public_key().as_ref();
        let encode = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let (x, y) = (encode(point.get(1..33)?), encode(point.get(33..65)?));
        let jwk = serde_json::json!({ "kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "x": x, "y": y });
        Some((jsonwebtoken::EncodingKey::from_ec_der(pkcs8.as_ref()), jwk))
    }

    /// [`signing_key`] with its public key as a JWK set of one.
    fn signing_key_set(kid: &str) -> Option<(jsonwebtoken::EncodingKey, jsonwebtoken::jwk::JwkSet)> {
        let (key, jwk) = signing_key(kid)?;
        Some((key, serde_json::from_value(serde_json::json!({ "keys": [jwk] })).ok()?))
    }

    fn sign(key: &jsonwebtoken::EncodingKey, kid: &str, claims: &serde_json::Value) -> String {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, key).unwrap_or_default()
    }

    fn test_config() -> OidcConfig {
        OidcConfig {
            issuer: "https://id.example.com".into(),
            client_id: "slipway".into(),
            client_secret: "secret".into(),
            roles: mapping(),
        }
    }

    fn good_claims() -> serde_json::Value {
        let now = jsonwebtoken::get_current_timestamp();
        serde_json::json!({
            "iss": "https://id.example.com", "aud": "slipway", "sub": "u-42", "exp": now + 300, "iat": now,
            "nonce": "n0nce", "preferred_username": "ada", "email": "ada@example.com", "groups": ["ops"],
        })
    }

    fn with(mut claims: serde_json::Value, name: &str, value: serde_json::Value) -> serde_json::Value {
        if let Some(map) = claims.as_object_mut() {
            map.insert(name.to_owned(), value);
        }
        claims
    }

    #[test]
    fn a_good_id_token_gives_the_subject_name_and_role() {
        let Some((key, keys)) = signing_key_set("k1") else { panic!("ring could not make a P-256 key") };
        let config = test_config();
        let token = config.check_id_token(&sign(&key, "k1", &good_claims()), &keys, "n0nce");
        let token = token.unwrap_or_else(|error| panic!("{error}"));
        assert_eq!((token.subject.as_str(), token.name.as_str()), ("u-42", "ada"));
        assert_eq!(config.roles.role(&token.claims), Some(UserRole::Admin));
        let no_username = good_claims().as_object().cloned().map(|mut map| {
            map.remove("preferred_username");
            serde_json::Value::Object(map)
        });
        let token = config.check_id_token(&sign(&key, "k1", &no_username.unwrap_or_default()), &keys, "n0nce");
        assert_eq!(token.map(|token| token.name), Ok("ada@example.com".to_owned()));
    }

    #[test]
    fn id_tokens_failing_a_check_are_refused_saying_which() {
        let Some((key, keys)) = signing_key_set("k1") else { panic!("ring could not make a P-256 key") };
        let Some((other_key, _)) = signing_key_set("k1") else { panic!("ring could not make a P-256 key") };
        let config = test_config();
        let refused = |token: String, nonce: &str| {
            config.check_id_token(&token, &keys, nonce).err().map(|error| error.to_string()).unwrap_or_default()
        };
        let now = jsonwebtoken::get_current_timestamp();
        let cases = [
            (sign(&other_key, "k1", &good_claims()), "n0nce", "InvalidSignature"),
            (sign(&key, "k2", &good_claims()), "n0nce", "kid k2) that is not among"),
            (
                sign(&key, "k1", &with(good_claims(), "iss", "https://evil.example.com".into())),
                "n0nce",
                "InvalidIssuer",
            ),
            (sign(&key, "k1", &with(good_claims(), "aud", "someone-else".into())), "n0nce", "InvalidAudience"),
            (sign(&key, "k1", &with(good_claims(), "exp", (now - 3600).into())), "n0nce", "ExpiredSignature"),
            (sign(&key, "k1", &good_claims()), "other", "nonce is not the one of this sign-in"),
            (sign(&key, "k1", &good_claims()), "", "nonce is not the one of this sign-in"),
            (
                sign(&key, "k1", &with(good_claims(), "aud", serde_json::json!(["slipway", "x"]))),
                "n0nce",
                "azp missing",
            ),
            ("not.a.jwt".to_owned(), "n0nce", "not a JWT"),
        ];
        for (token, nonce, expected) in cases {
            let message = refused(token, nonce);
            assert!(message.contains(expected), "expected '{expected}' in: {message}");
        }
        let secret_signed = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &good_claims(),
            &jsonwebtoken::EncodingKey::from_secret(b"secret"),
        )
        .unwrap_or_default();
        assert!(refused(secret_signed, "n0nce").contains("does not accept"));
    }

    #[test]
    fn keys_are_read_from_the_jwks_uri() {
        let Some((_, keys)) = signing_key_set("k1") else { panic!("ring could not make a P-256 key") };
        let published = serde_json::to_string(&keys).unwrap_or_default();
        let url = serve(200, published);
        let discovery = Discovery {
            issuer: "https://id.example.com".into(),
            authorization_endpoint: format!("{url}/auth"),
            token_endpoint: format!("{url}/token"),
            jwks_uri: format!("{url}/jwks"),
            code_challenge_methods_supported: None,
            id_token_signing_alg_values_supported: Vec::new(),
        };
        assert_eq!(test_config().fetch_keys(&discovery), Ok(keys));
        let broken = Discovery { jwks_uri: serve(200, "[]".into()), ..discovery };
        let error = test_config().fetch_keys(&broken).err().map(|error| error.to_string()).unwrap_or_default();
        assert!(error.contains("not a JSON Web Key Set"), "{error}");
    }
}
