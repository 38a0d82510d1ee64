//! Checking a delivery's credentials, in constant time.

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{AzureReposAuth, Headers, Provider, Secret, WebhookConfig, WebhookError};

const GITHUB_HEADER: &str = "X-Hub-Signature-256";
const GITHUB_FORMAT: &str = "`sha256=` followed by the hex HMAC-SHA256 of the body";
const GITEA_FORMAT: &str = "the bare hex HMAC-SHA256 of the body";
const GITLAB_HEADER: &str = "X-Gitlab-Token";

pub(super) fn verify(config: &WebhookConfig, headers: &Headers, body: &[u8]) -> Result<(), WebhookError> {
    match config {
        WebhookConfig::GitHub { secret } => {
            let key = key(secret, Provider::GitHub)?;
            let value = headers.get(GITHUB_HEADER)?.ok_or_else(|| WebhookError::MissingCredentials {
                header: format!("`{GITHUB_HEADER}`"),
                hint: "set a secret on the GitHub webhook",
            })?;
            let hex = match value.split_once('=') {
                Some(("sha256", hex)) => hex,
                Some((prefix, _)) => {
                    return Err(WebhookError::WrongAlgorithm {
                        header: GITHUB_HEADER,
                        expected: GITHUB_FORMAT,
                        prefix: format!("{prefix}="),
                    });
                }
                None => {
                    return Err(WebhookError::MalformedSignature {
                        header: GITHUB_HEADER,
                        expected: GITHUB_FORMAT,
                        problem: "the `sha256=` prefix is missing",
                    });
                }
            };
            check_hmac(GITHUB_HEADER, GITHUB_FORMAT, key, body, hex)
        }
        WebhookConfig::Gitea { secret } => {
            let key = key(secret, Provider::Gitea)?;
            // Forgejo sends both headers; its own is authoritative when present.
            let (header, value) = match headers.get("X-Forgejo-Signature")? {
                Some(value) => ("X-Forgejo-Signature", value),
                None => match headers.get("X-Gitea-Signature")? {
                    Some(value) => ("X-Gitea-Signature", value),
                    None => {
                        return Err(WebhookError::MissingCredentials {
                            header: "`X-Forgejo-Signature` or `X-Gitea-Signature`".to_owned(),
                            hint: "set a secret on the Gitea or Forgejo webhook",
                        });
                    }
                },
            };
            if let Some((prefix, _)) = value.split_once('=') {
                return Err(WebhookError::WrongAlgorithm {
                    header,
                    expected: GITEA_FORMAT,
                    prefix: format!("{prefix}="),
                });
            }
            check_hmac(header, GITEA_FORMAT, key, body, value)
        }
        WebhookConfig::GitLab { token } => {
            let expected = key(token, Provider::GitLab)?;
            let value = headers.get(GITLAB_HEADER)?.ok_or_else(|| WebhookError::MissingCredentials {
                header: format!("`{GITLAB_HEADER}`"),
                hint: "set a secret token on the GitLab webhook",
            })?;
            if same(value.as_bytes(), expected) {
                Ok(())
            } else {
                Err(WebhookError::TokenMismatch { header: GITLAB_HEADER.to_owned() })
            }
        }
        WebhookConfig::AzureRepos(AzureReposAuth::Header { name, value: expected }) => {
            let expected = key(expected, Provider::AzureRepos)?;
            let value = headers.get(name)?.ok_or_else(|| WebhookError::MissingCredentials {
                header: format!("`{name}`"),
                hint: "add it under \"HTTP headers\" on the Azure Repos service hook",
            })?;
            if same(value.trim().as_bytes(), expected) {
                Ok(())
            } else {
                Err(WebhookError::TokenMismatch { header: name.clone() })
            }
        }
        WebhookConfig::AzureRepos(AzureReposAuth::Basic { username, password }) => {
            let password = key(password, Provider::AzureRepos)?;
            let value = headers.get("Authorization")?.ok_or_else(|| WebhookError::MissingCredentials {
                header: "`Authorization`".to_owned(),
                hint: "set basic authentication on the Azure Repos service hook",
            })?;
            let (scheme, encoded) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
            if !scheme.eq_ignore_ascii_case("basic") {
                return Err(WebhookError::MalformedBasicAuth { problem: "the scheme is not `Basic`" });
            }
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .map_err(|_| WebhookError::MalformedBasicAuth { problem: "the credentials are not valid base64" })?;
            let colon = decoded.iter().position(|&b| b == b':').ok_or(WebhookError::MalformedBasicAuth {
                problem: "the credentials have no `:` between user and password",
            })?;
            let (user, rest) = decoded.split_at(colon);
            let pass = rest.get(1..).unwrap_or_default();
            // Both comparisons always run, so timing does not tell which one failed.
            let user_ok = same(user, username.as_bytes());
            let pass_ok = same(pass, password);
            if user_ok & pass_ok { Ok(()) } else { Err(WebhookError::CredentialsMismatch) }
        }
    }
}

/// The secret's bytes, refusing an empty secret: with it nothing can be verified.
fn key(secret: &Secret, provider: Provider) -> Result<&[u8], WebhookError> {
    let bytes = secret.expose().as_bytes();
    if bytes.is_empty() { Err(WebhookError::NoSecretConfigured { provider }) } else { Ok(bytes) }
}

/// Constant-time equality that does not leak the lengths either: both sides are hashed first.
fn same(a: &[u8], b: &[u8]) -> bool {
    bool::from(Sha256::digest(a).as_slice().ct_eq(Sha256::digest(b).as_slice()))
}

fn check_hmac(
    header: &'static str,
    expected: &'static str,
    key: &[u8],
    body: &[u8],
    hex: &str,
) -> Result<(), WebhookError> {
    let signature = decode_hex(hex).ok_or(WebhookError::MalformedSignature {
        header,
        expected,
        problem: "it is not 64 hexadecimal digits",
    })?;
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).map_err(|_| WebhookError::SignatureMismatch { header })?;
    mac.update(body);
    mac.verify_slice(&signature).map_err(|_| WebhookError::SignatureMismatch { header })
}

/// 64 hexadecimal digits (either case) into 32 bytes.
fn decode_hex(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim().as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    let mut out = [0_u8; 32];
    for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        *byte = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

/// The hex HMAC-SHA256 of `body` with `key`, as GitHub and Gitea compute it (for tests and tools).
#[must_use]
pub fn sign(key: &[u8], body: &[u8]) -> String {
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(key) else { return String::new() };
    mac.update(body);
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}
