//! The server's sign-in with OpenID Connect as it runs: the provider found at start
//! ([`Sso::connect`]: its discovery document and signing keys, so that a wrong `--oidc-issuer`
//! stops the server at once), its signing keys kept and fetched again when an ID token names a
//! key the server does not know (at most once a minute, for key rotation), and the sign-ins in
//! progress kept on the server (their `state`, `nonce` and PKCE verifier, found again by the
//! random id of a short-lived cookie, for ten minutes).
//!
//! The web UI's routes (`/auth/oidc/start`, `/auth/oidc/callback`) call [`Sso::begin`], then
//! [`Sso::take_attempt`] and [`Sso::finish`]; [`sign_in`] turns the checked ID token into a
//! Slipway user (keyed by issuer and subject, never by name) and a session of its own, and
//! records it (or the refusal) in the audit log.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use slipway_store::{NewAuditEntry, StoreError, User};

use crate::AppState;
use crate::oidc::{Discovery, IdToken, OidcConfig, OidcError};

/// How long a sign-in may take between leaving for the provider and coming back.
pub const ATTEMPT_LIFETIME: Duration = Duration::from_secs(600);

/// The shortest time between two fetches of the provider's keys for unknown key ids.
pub const KEY_REFETCH_INTERVAL: Duration = Duration::from_secs(60);

/// The most sign-ins in progress kept at once (older ones are dropped first).
const MAX_ATTEMPTS: usize = 10_000;

/// The provider's signing keys as last fetched.
#[derive(Debug)]
struct KeyCache {
    keys: jsonwebtoken::jwk::JwkSet,
    fetched: Instant,
}

/// A sign-in in progress: what the provider's answer is checked against.
#[derive(Clone, Debug)]
pub struct Attempt {
    /// The `state` sent to the provider.
    pub state: String,
    /// The `nonce` the ID token must carry.
    pub nonce: String,
    /// The PKCE verifier.
    pub verifier: String,
    /// The local path to go to once signed in.
    pub next: String,
    /// When it began.
    begun: Instant,
}

/// What became of a sign-in's attempt cookie.
#[derive(Debug)]
pub enum AttemptLookup {
    /// The attempt, now used up.
    Found(Attempt),
    /// It is known but older than [`ATTEMPT_LIFETIME`].
    Expired,
    /// Nothing is known of it (another browser, a server restart, or used already).
    Unknown,
}

/// The OpenID Connect provider the server signs people in with.
#[derive(Debug)]
pub struct Sso {
    config: OidcConfig,
    discovery: Discovery,
    redirect_uri: String,
    keys: Mutex<KeyCache>,
    attempts: Mutex<HashMap<String, Attempt>>,
}

impl Sso {
    /// Finds the provider (its discovery document and keys) for sign-ins that come back to
    /// `redirect_uri` (blocking: call it off the async runtime).
    ///
    /// # Errors
    /// When the provider cannot be reached, is not the configured issuer, or publishes no usable
    /// keys.
    pub fn connect(config: OidcConfig, redirect_uri: String) -> Result<Self, OidcError> {
        let discovery = config.discover()?;
        let keys = config.fetch_keys(&discovery)?;
        if keys.keys.is_empty() {
            return Err(OidcError::Provider {
                issuer: config.issuer.clone(),
                detail: format!("publishes no signing key at {}", discovery.jwks_uri),
            });
        }
        Ok(Self {
            config,
            discovery,
            redirect_uri,
            keys: Mutex::new(KeyCache { keys, fetched: Instant::now() }),
            attempts: Mutex::new(HashMap::new()),
        })
    }

    /// The issuer.
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.config.issuer
    }

    /// Where the provider sends people back (`<base>/auth/oidc/callback`).
    #[must_use]
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &OidcConfig {
        &self.config
    }

    /// Begins a sign-in that goes to `next` afterwards: the attempt's id (for its cookie) and the
    /// provider's URL to send the browser to.
    ///
    /// # Errors
    /// When the system gives no randomness.
    pub fn begin(&self, next: &str) -> Result<(String, String), OidcError> {
        let request = self.config.authorization_request(&self.discovery, &self.redirect_uri)?;
        let id =
            slipway_engine::random_hex(32).map_err(|error| OidcError::Config(format!("no randomness: {error}")))?;
        let attempt = Attempt {
            state: request.state,
            nonce: request.nonce,
            verifier: request.verifier,
            next: next.to_owned(),
            begun: Instant::now(),
        };
        let mut attempts = self.attempts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Attempts long past their lifetime are forgotten; expired ones stay a while longer so
        // that their owners are told so.
        attempts.retain(|_, kept| kept.begun.elapsed() < ATTEMPT_LIFETIME * 6);
        if attempts.len() >= MAX_ATTEMPTS
            && let Some(oldest) = attempts.iter().min_by_key(|(_, kept)| kept.begun).map(|(key, _)| key.clone())
        {
            attempts.remove(&oldest);
        }
        attempts.insert(id.clone(), attempt);
        Ok((id, request.url))
    }

    /// The attempt of cookie value `id`, used up (a second callback with it finds nothing).
    #[must_use]
    pub fn take_attempt(&self, id: &str) -> AttemptLookup {
        let mut attempts = self.attempts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match attempts.remove(id) {
            Some(attempt) if attempt.begun.elapsed() < ATTEMPT_LIFETIME => AttemptLookup::Found(attempt),
            Some(_) => AttemptLookup::Expired,
            None => AttemptLookup::Unknown,
        }
    }

    /// Makes the attempt of `id` look `age` old (for tests of expiry).
    #[doc(hidden)]
    pub fn age_attempt_for_tests(&self, id: &str, age: Duration) {
        let mut attempts = self.attempts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(attempt) = attempts.get_mut(id)
            && let Some(begun) = Instant::now().checked_sub(age)
        {
            attempt.begun = begun;
        }
    }

    /// The keys to check `token` with: the kept ones, fetched again first when the token names
    /// a key they lack and the last fetch is at least [`KEY_REFETCH_INTERVAL`] old (blocking).
    fn keys_for(&self, token: &str) -> jsonwebtoken::jwk::JwkSet {
        let kid = jsonwebtoken::decode_header(token).ok().and_then(|header| header.kid);
        let mut cache = self.keys.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let unknown = kid.as_deref().is_some_and(|kid| cache.keys.find(kid).is_none());
        if unknown && cache.fetched.elapsed() >= KEY_REFETCH_INTERVAL {
            cache.fetched = Instant::now();
            match self.config.fetch_keys(&self.discovery) {
                Ok(keys) => {
                    tracing::info!(issuer = %self.config.issuer, keys = keys.keys.len(), "fetched the provider's signing keys again");
                    cache.keys = keys;
                }
                Err(error) => tracing::warn!(%error, "the provider's signing keys could not be fetched again"),
            }
        }
        cache.keys.clone()
    }

    /// When the provider's keys were last fetched.
    #[must_use]
    pub fn keys_fetched(&self) -> Instant {
        self.keys.lock().unwrap_or_else(std::sync::PoisonError::into_inner).fetched
    }

    /// Ends a sign-in: exchanges `code` with the attempt's verifier and checks the ID token
    /// (blocking).
    ///
    /// # Errors
    /// When the provider refuses the code or the ID token fails a check.
    pub fn finish(&self, attempt: &Attempt, code: &str) -> Result<IdToken, OidcError> {
        let token = self.config.exchange_code(&self.discovery, code, &attempt.verifier, &self.redirect_uri)?;
        let keys = self.keys_for(&token);
        self.config.check_id_token(&token, &keys, &attempt.nonce)
    }
}

/// Why a checked identity was not let in.
#[derive(Debug, thiserror::Error)]
pub enum SignInRefused {
    /// None of the role claim's values gives a role.
    #[error(
        "your account at {issuer} has no value of the claim '{claim}' that gives a Slipway role{values}; ask an \
         administrator to add you to one of the groups mapped to a role"
    )]
    NoRole {
        /// The issuer.
        issuer: String,
        /// The role claim.
        claim: String,
        /// The values it had, for the message.
        values: String,
    },
    /// The Slipway user of this identity is disabled.
    #[error("the Slipway user '{0}' is disabled; ask an administrator to enable it")]
    Disabled(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The values of the role claim, for messages.
fn claim_values(token: &IdToken, claim: &str) -> String {
    match token.claims.get(claim) {
        Some(serde_json::Value::String(value)) => format!(" (it has {value})"),
        Some(serde_json::Value::Array(values)) if !values.is_empty() => format!(
            " (it has {})",
            values
                .iter()
                .map(|value| value.as_str().map_or_else(|| value.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => " (the claim is missing or empty)".to_owned(),
    }
}

/// Records an OIDC sign-in (`user.sign_in.oidc`) or its refusal (`user.sign_in.oidc_refused`).
async fn audit(state: &AppState, actor: &str, action: &str, target: &str, details: serde_json::Value) {
    let entry =
        NewAuditEntry { actor: actor.to_owned(), action: action.to_owned(), target: Some(target.to_owned()), details };
    if let Err(error) = state.store().record_audit(&entry).await {
        tracing::error!(%error, action, "an audit entry was not recorded");
    }
}

/// Records a sign-in refused before an identity was known (denied consent, wrong state, a
/// failed check), with its reason.
pub async fn record_refusal(state: &AppState, issuer: &str, reason: &str) {
    let details = serde_json::json!({ "issuer": issuer, "reason": reason });
    audit(state, "anonymous", "user.sign_in.oidc_refused", issuer, details).await;
}

/// The Slipway user of a checked identity, with the role its claims give: the user of the
/// identity's (issuer, subject), created on first sign-in (its name from the token's name,
/// made unique: a provider account named `admin` becomes `admin-2`, never the local admin), its
/// role set to what the claims give now. Records the sign-in or its refusal.
///
/// # Errors
/// [`SignInRefused`] when the claims give no role or the user is disabled.
pub async fn sign_in(state: &AppState, sso: &Sso, token: &IdToken) -> Result<User, SignInRefused> {
    let issuer = sso.issuer();
    let Some(role) = sso.config().roles.role(&token.claims) else {
        let claim = sso.config().roles.claim.clone();
        let refused = SignInRefused::NoRole {
            issuer: issuer.to_owned(),
            claim: claim.clone(),
            values: claim_values(token, &claim),
        };
        let details = serde_json::json!({
            "issuer": issuer, "subject": token.subject, "reason": "no mapped role", "claim": claim,
            "values": token.claims.get(&claim),
        });
        audit(state, &token.name, "user.sign_in.oidc_refused", &token.name, details).await;
        return Err(refused);
    };
    let store = state.store();
    let user = match store.external_user(issuer, &token.subject).await? {
        Some(user) if user.role == role => user,
        Some(user) => {
            let changed = store.set_user_role(user.id, role).await?;
            let details = serde_json::json!({ "role": role, "from": user.role, "issuer": issuer });
            audit(state, &changed.name, "user.role.oidc", &changed.name, details).await;
            changed
        }
        None => {
            let user = store.create_external_user(issuer, &token.subject, &token.name, role).await?;
            let details = serde_json::json!({ "role": role, "issuer": issuer, "subject": token.subject });
            audit(state, &user.name, "user.create.oidc", &user.name, details).await;
            user
        }
    };
    if user.disabled_at.is_some() {
        let details =
            serde_json::json!({ "issuer": issuer, "subject": token.subject, "reason": "user disabled", "role": role });
        audit(state, &user.name, "user.sign_in.oidc_refused", &user.name, details).await;
        return Err(SignInRefused::Disabled(user.name));
    }
    let details = serde_json::json!({ "issuer": issuer, "subject": token.subject, "role": role });
    audit(state, &user.name, "user.sign_in.oidc", &user.name, details).await;
    Ok(user)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::oidc::tests::signing_key;
    use crate::oidc::{RoleMapping, split_values};

    /// A provider on a loopback port that serves its discovery document and the key set in
    /// `keys`, counting the key set's fetches.
    fn provider(keys: Arc<Mutex<serde_json::Value>>, fetches: Arc<AtomicUsize>) -> String {
        use std::io::{Read as _, Write as _};
        let Ok(listener) = std::net::TcpListener::bind("127.0.0.1:0") else { return "http://127.0.0.1:9".into() };
        let issuer = format!("http://{}", listener.local_addr().map(|address| address.to_string()).unwrap_or_default());
        let served = issuer.clone();
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                let mut request = [0_u8; 4096];
                let read = stream.read(&mut request).unwrap_or(0);
                let request = String::from_utf8_lossy(request.get(..read).unwrap_or_default()).into_owned();
                let body = if request.starts_with("GET /jwks ") {
                    fetches.fetch_add(1, Ordering::SeqCst);
                    keys.lock().map(|keys| keys.to_string()).unwrap_or_default()
                } else {
                    serde_json::json!({
                        "issuer": served, "authorization_endpoint": format!("{served}/auth"),
                        "token_endpoint": format!("{served}/token"), "jwks_uri": format!("{served}/jwks"),
                        "code_challenge_methods_supported": ["S256"],
                    })
                    .to_string()
                };
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes());
            }
        });
        issuer
    }

    fn token(key: &jsonwebtoken::EncodingKey, kid: &str, issuer: &str) -> String {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(kid.to_owned());
        let now = jsonwebtoken::get_current_timestamp();
        let claims = serde_json::json!({
            "iss": issuer, "aud": "slipway", "sub": "ada", "exp": now + 300, "nonce": "n0nce", "groups": ["ops"],
        });
        jsonwebtoken::encode(&header, &claims, key).unwrap_or_default()
    }

    #[test]
    fn keys_are_fetched_again_for_an_unknown_kid_at_most_once_a_minute() -> Result<(), String> {
        let (first, first_jwk) = signing_key("k1").ok_or("no key")?;
        let (second, second_jwk) = signing_key("k2").ok_or("no key")?;
        let (third, _) = signing_key("k3").ok_or("no key")?;
        let keys = Arc::new(Mutex::new(serde_json::json!({ "keys": [first_jwk] })));
        let fetches = Arc::new(AtomicUsize::new(0));
        let issuer = provider(Arc::clone(&keys), Arc::clone(&fetches));
        let roles = RoleMapping { claim: "groups".into(), admin: split_values("ops"), ..RoleMapping::default() };
        let config =
            OidcConfig::new(&issuer, "slipway", "secret", "secret-file", roles).map_err(|error| error.to_string())?;
        let sso =
            Sso::connect(config, "http://127.0.0.1:1/auth/oidc/callback".into()).map_err(|error| error.to_string())?;
        assert_eq!(fetches.load(Ordering::SeqCst), 1, "the keys are read at start");
        let check =
            |token: &str| sso.config.check_id_token(token, &sso.keys_for(token), "n0nce").map(|token| token.subject);

        assert_eq!(check(&token(&first, "k1", &issuer)), Ok("ada".to_owned()));
        assert_eq!(fetches.load(Ordering::SeqCst), 1, "a known kid made a fetch");

        // The provider rotates its key: within a minute of the last fetch, nothing is fetched.
        *keys.lock().map_err(|error| error.to_string())? = serde_json::json!({ "keys": [second_jwk] });
        let rotated = token(&second, "k2", &issuer);
        let refused = check(&rotated).err().map(|error| error.to_string()).unwrap_or_default();
        assert!(refused.contains("(kid k2) that is not among its published keys"), "{refused}");
        assert_eq!(fetches.load(Ordering::SeqCst), 1, "the keys were fetched again within a minute");

        // A minute later, the unknown kid fetches them again, once.
        if let Ok(mut cache) = sso.keys.lock()
            && let Some(earlier) = Instant::now().checked_sub(KEY_REFETCH_INTERVAL)
        {
            cache.fetched = earlier;
        }
        assert_eq!(check(&rotated), Ok("ada".to_owned()));
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
        assert!(check(&token(&third, "k3", &issuer)).is_err());
        assert_eq!(fetches.load(Ordering::SeqCst), 2, "a forged kid made the server fetch again at once");
        Ok(())
    }

    #[test]
    fn attempts_are_used_once_and_expire() -> Result<(), String> {
        let fetches = Arc::new(AtomicUsize::new(0));
        let (_, jwk) = signing_key("k1").ok_or("no key")?;
        let issuer = provider(Arc::new(Mutex::new(serde_json::json!({ "keys": [jwk] }))), fetches);
        let roles = RoleMapping { claim: "groups".into(), admin: split_values("ops"), ..RoleMapping::default() };
        let config =
            OidcConfig::new(&issuer, "slipway", "secret", "secret-file", roles).map_err(|error| error.to_string())?;
        let sso =
            Sso::connect(config, "http://127.0.0.1:1/auth/oidc/callback".into()).map_err(|error| error.to_string())?;
        let (id, url) = sso.begin("/runs/1").map_err(|error| error.to_string())?;
        assert!(
            url.starts_with(&format!("{issuer}/auth?"))
                && url.contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A1%2Fauth%2Foidc%2Fcallback"),
            "{url}"
        );
        match sso.take_attempt(&id) {
            AttemptLookup::Found(attempt) => {
                assert_eq!(attempt.next, "/runs/1");
                assert!(
                    url.contains(&format!("state={}", attempt.state))
                        && url.contains(&format!("nonce={}", attempt.nonce))
                );
            }
            other => return Err(format!("the attempt was not found: {other:?}")),
        }
        assert!(matches!(sso.take_attempt(&id), AttemptLookup::Unknown), "an attempt was used twice");
        let (old, _) = sso.begin("/").map_err(|error| error.to_string())?;
        sso.age_attempt_for_tests(&old, ATTEMPT_LIFETIME + Duration::from_secs(1));
        assert!(matches!(sso.take_attempt(&old), AttemptLookup::Expired));
        assert!(matches!(sso.take_attempt("nonsense"), AttemptLookup::Unknown));
        Ok(())
    }

    #[test]
    fn a_provider_without_keys_or_out_of_reach_is_refused_at_start() {
        let issuer = provider(Arc::new(Mutex::new(serde_json::json!({ "keys": [] }))), Arc::new(AtomicUsize::new(0)));
        let roles = RoleMapping { claim: "groups".into(), admin: split_values("ops"), ..RoleMapping::default() };
        let connect = |issuer: &str| {
            OidcConfig::new(issuer, "slipway", "secret", "secret-file", roles.clone())
                .and_then(|config| Sso::connect(config, "http://x/auth/oidc/callback".into()))
                .err()
                .map(|error| error.to_string())
                .unwrap_or_default()
        };
        assert!(connect(&issuer).contains("publishes no signing key"));
        assert!(
            connect("http://127.0.0.1:9")
                .contains("could not be asked for http://127.0.0.1:9/.well-known/openid-configuration")
        );
    }
}
