//! Webhooks from GitHub, GitLab, Gitea/Forgejo and Azure Repos: verified first, then read into
//! neutral [`PushEvent`] and [`PullRequestEvent`] values.
//!
//! Each provider proves a delivery its own way:
//!
//! - GitHub: `X-Hub-Signature-256: sha256=<hex>`, the HMAC-SHA256 of the raw body keyed with the
//!   webhook secret ("Validating webhook deliveries"); the event is `X-GitHub-Event`.
//! - GitLab: `X-Gitlab-Token`, the secret token itself (it does not cover the body); the event is
//!   `X-Gitlab-Event` (`Push Hook`, `Tag Push Hook`, `Merge Request Hook`, `System Hook`).
//! - Gitea and Forgejo: `X-Gitea-Signature` / `X-Forgejo-Signature`, the bare hex HMAC-SHA256 of the
//!   body; Forgejo sends both, and when `X-Forgejo-Signature` is present it is the one checked. The
//!   event is `X-Forgejo-Event` or `X-Gitea-Event`.
//! - Azure Repos service hooks sign nothing: the web hook is given basic authentication (user name
//!   and password) or extra HTTP headers, and one of them is checked; the event is the body's
//!   `eventType` (`git.push`, `git.pullrequest.created`, `git.pullrequest.updated`).
//!
//! Every secret is compared in constant time, and the body is not parsed before it is verified.

mod azure;
mod gitea;
mod github;
mod gitlab;
mod json;
mod verify;

pub use verify::sign;

use std::collections::BTreeSet;
use std::fmt;

use crate::filter::GitRef;
use crate::triggers::{PullRequest, PullRequestAction, Push};

/// A secret, kept out of `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    #[must_use]
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Which service sent a webhook.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Provider {
    /// GitHub (and GitHub Enterprise Server).
    GitHub,
    /// GitLab.
    GitLab,
    /// Gitea or Forgejo.
    Gitea,
    /// Azure Repos (Azure DevOps service hooks).
    AzureRepos,
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::GitHub => "GitHub",
            Self::GitLab => "GitLab",
            Self::Gitea => "Gitea/Forgejo",
            Self::AzureRepos => "Azure Repos",
        })
    }
}

/// How an Azure Repos service hook authenticates, as set on the web hook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AzureReposAuth {
    /// "Basic authentication username" and "password".
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: Secret,
    },
    /// One of the "HTTP headers" lines, `name:value`.
    Header {
        /// The header's name (compared without regard to case).
        name: String,
        /// Its value.
        value: Secret,
    },
}

/// A webhook endpoint's provider and the secret its deliveries must prove.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WebhookConfig {
    /// GitHub, with the webhook's secret.
    GitHub {
        /// The HMAC key.
        secret: Secret,
    },
    /// GitLab, with the webhook's secret token.
    GitLab {
        /// The token GitLab sends in `X-Gitlab-Token`.
        token: Secret,
    },
    /// Gitea or Forgejo, with the webhook's secret.
    Gitea {
        /// The HMAC key.
        secret: Secret,
    },
    /// Azure Repos.
    AzureRepos(AzureReposAuth),
}

impl WebhookConfig {
    /// The provider this configuration is for.
    #[must_use]
    pub fn provider(&self) -> Provider {
        match self {
            Self::GitHub { .. } => Provider::GitHub,
            Self::GitLab { .. } => Provider::GitLab,
            Self::Gitea { .. } => Provider::Gitea,
            Self::AzureRepos(_) => Provider::AzureRepos,
        }
    }

    /// Checks that a delivery comes from the provider, without reading its body as JSON.
    ///
    /// # Errors
    ///
    /// A missing, duplicated or malformed credential header, or one that does not match.
    pub fn verify(&self, headers: &Headers, body: &[u8]) -> Result<(), WebhookError> {
        verify::verify(self, headers, body)
    }
}

/// Request headers; names compare without regard to case.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers {
    entries: Vec<(String, String)>,
}

impl Headers {
    /// No headers.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a header (a name may be added more than once).
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.entries.push((name.into().to_ascii_lowercase(), value.into()));
    }

    /// The single value of a header.
    ///
    /// # Errors
    ///
    /// [`WebhookError::DuplicateHeader`] when it appears more than once.
    pub fn get(&self, name: &str) -> Result<Option<&str>, WebhookError> {
        let mut values = self.entries.iter().filter(|(key, _)| key.eq_ignore_ascii_case(name));
        let first = values.next().map(|(_, value)| value.as_str());
        if values.next().is_some() {
            return Err(WebhookError::DuplicateHeader { header: name.to_owned() });
        }
        Ok(first)
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Headers {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut headers = Self::new();
        for (name, value) in iter {
            headers.insert(name, value);
        }
        headers
    }
}

/// A repository as a webhook describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repository {
    /// `owner/name` (GitHub, Gitea), `group/project` (GitLab), `project/repository` (Azure Repos).
    pub full_name: String,
    /// URLs `git` can clone, HTTPS first.
    pub clone_urls: Vec<String>,
    /// The repository's web page, if given.
    pub web_url: Option<String>,
}

/// A push to one ref.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushEvent {
    /// Who sent it.
    pub provider: Provider,
    /// The repository pushed to.
    pub repository: Repository,
    /// The ref pushed.
    pub git_ref: GitRef,
    /// The commit the ref pointed at before; `None` when the push created the ref.
    pub before: Option<String>,
    /// The commit it points at now; `None` when the push deleted the ref.
    pub after: Option<String>,
    /// Paths added, modified or removed by the listed commits, sorted and without duplicates.
    pub changed_paths: Vec<String>,
    /// Whether `changed_paths` covers the whole push. It does not when the provider lists no files
    /// (Azure Repos), truncates the commit list, or the push created the ref or was forced: then
    /// diff `before..after` (or the new branch) with git before applying path filters.
    pub paths_complete: bool,
    /// The message of the head commit, when the payload gives it.
    pub head_commit_message: Option<String>,
    /// Who pushed.
    pub pusher: Option<String>,
}

impl PushEvent {
    /// The push as the CI trigger sees it ([`crate::CiTrigger::evaluate`]).
    #[must_use]
    pub fn trigger_input(&self, run_in_progress: bool) -> Push<'_> {
        Push {
            git_ref: &self.git_ref,
            changed_paths: &self.changed_paths,
            deleted: self.after.is_none(),
            head_commit_message: self.head_commit_message.as_deref(),
            run_in_progress,
        }
    }
}

/// Something that happened to a pull request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PullRequestEvent {
    /// Who sent it.
    pub provider: Provider,
    /// The repository the pull request targets.
    pub repository: Repository,
    /// The repository of the source branch when it is another one (a fork), if given.
    pub source_repository: Option<Repository>,
    /// The pull request's number (GitLab's `iid`, Azure Repos' `pullRequestId`).
    pub number: u64,
    /// What happened.
    pub action: PullRequestAction,
    /// The source branch, without `refs/heads/`.
    pub source_branch: String,
    /// The target branch, without `refs/heads/`.
    pub target_branch: String,
    /// The head commit of the source branch, when given.
    pub head_commit: Option<String>,
    /// The pull request is a draft.
    pub draft: bool,
    /// Its title, when given.
    pub title: Option<String>,
}

impl PullRequestEvent {
    /// The update as the PR trigger sees it ([`crate::PrTrigger::evaluate`]), given the paths the
    /// pull request changes (webhooks do not carry them).
    #[must_use]
    pub fn trigger_input<'a>(&'a self, changed_paths: &'a [String]) -> PullRequest<'a> {
        PullRequest { action: &self.action, target_branch: &self.target_branch, changed_paths, draft: self.draft }
    }
}

/// What a verified delivery asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WebhookEvent {
    /// Pushes, one per updated ref (GitHub, GitLab and Gitea send one; an Azure Repos push can
    /// update several refs).
    Push(Vec<PushEvent>),
    /// A pull request event.
    PullRequest(Box<PullRequestEvent>),
    /// GitHub's `ping` when a webhook is created.
    Ping,
    /// A verified delivery of an event triggers do not use (issues, releases, comments...).
    Ignored {
        /// The provider's name for the event.
        event: String,
    },
}

/// Why a delivery was refused. [`WebhookError::status`] is the HTTP status to answer with, and the
/// message says exactly what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The credential header is absent.
    #[error("the delivery carries no {header} header, so it cannot be verified ({hint})")]
    MissingCredentials {
        /// The header (or headers) expected, quoted.
        header: String,
        /// How to fix it on the sender's side.
        hint: &'static str,
    },
    /// A header that is not a credential (the event name) is absent.
    #[error("the delivery carries no `{header}` header, so its event is unknown")]
    MissingHeader {
        /// The header expected.
        header: &'static str,
    },
    /// A header appears twice.
    #[error("the `{header}` header appears more than once")]
    DuplicateHeader {
        /// The header.
        header: String,
    },
    /// A signature made with another algorithm, or in another format.
    #[error("the `{header}` header must be {expected}, but it starts with `{prefix}`")]
    WrongAlgorithm {
        /// The header.
        header: &'static str,
        /// The format expected.
        expected: &'static str,
        /// What the value starts with (`sha1=`).
        prefix: String,
    },
    /// A signature that is not 64 hexadecimal digits.
    #[error("the `{header}` header must be {expected}: {problem}")]
    MalformedSignature {
        /// The header.
        header: &'static str,
        /// The format expected.
        expected: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A well-formed signature that does not match the body.
    #[error(
        "the `{header}` signature does not match the body: the webhook's secret differs from the one configured here, \
         or the body was changed in transit"
    )]
    SignatureMismatch {
        /// The header.
        header: &'static str,
    },
    /// A token or header value that does not match.
    #[error("the `{header}` header does not match the configured secret")]
    TokenMismatch {
        /// The header.
        header: String,
    },
    /// `Authorization` is not `Basic <base64 of user:password>`.
    #[error(
        "the `Authorization` header must be HTTP Basic authentication (`Basic <base64 of user:password>`): {problem}"
    )]
    MalformedBasicAuth {
        /// What is wrong with it.
        problem: &'static str,
    },
    /// Basic authentication with another user name or password.
    #[error("the basic authentication user name or password does not match the service hook's configuration")]
    CredentialsMismatch,
    /// The endpoint has an empty secret, so nothing can be verified.
    #[error(
        "no secret is configured for this webhook, so no delivery can be verified; set one here and on the {provider} side"
    )]
    NoSecretConfigured {
        /// The provider.
        provider: Provider,
    },
    /// The body is not JSON.
    #[error("the body is not valid JSON: {0}")]
    MalformedJson(String),
    /// The body is JSON but not an object.
    #[error("the {event} payload must be a JSON object, found {found}")]
    NotAnObject {
        /// The event.
        event: &'static str,
        /// What the body is instead (`an array`).
        found: &'static str,
    },
    /// A required field is absent or null.
    #[error("the {event} payload has no `{field}`")]
    MissingField {
        /// The event.
        event: &'static str,
        /// The field's path (`pull_request.head.sha`).
        field: String,
    },
    /// A field has the wrong JSON type.
    #[error("`{field}` in the {event} payload must be {expected}")]
    WrongType {
        /// The event.
        event: &'static str,
        /// The field's path.
        field: String,
        /// The type expected.
        expected: &'static str,
    },
}

impl WebhookError {
    /// The HTTP status for this refusal: 401 when the delivery cannot be trusted, 403 when the
    /// endpoint has no secret, 400 when a trusted delivery is malformed.
    #[must_use]
    pub fn status(&self) -> u16 {
        match self {
            Self::MissingCredentials { .. }
            | Self::WrongAlgorithm { .. }
            | Self::MalformedSignature { .. }
            | Self::SignatureMismatch { .. }
            | Self::TokenMismatch { .. }
            | Self::MalformedBasicAuth { .. }
            | Self::CredentialsMismatch => 401,
            Self::NoSecretConfigured { .. } => 403,
            Self::MissingHeader { .. }
            | Self::DuplicateHeader { .. }
            | Self::MalformedJson(_)
            | Self::NotAnObject { .. }
            | Self::MissingField { .. }
            | Self::WrongType { .. } => 400,
        }
    }
}

/// Verifies a delivery with `config`, then reads it.
///
/// # Errors
///
/// Verification fails ([`WebhookConfig::verify`]) or the payload is malformed ([`parse`]).
pub fn receive(config: &WebhookConfig, headers: &Headers, body: &[u8]) -> Result<WebhookEvent, WebhookError> {
    config.verify(headers, body)?;
    parse(config.provider(), headers, body)
}

/// Reads a delivery that was already verified.
///
/// # Errors
///
/// The event header is missing, the body is not JSON, or a field triggers need is missing or has
/// the wrong type.
pub fn parse(provider: Provider, headers: &Headers, body: &[u8]) -> Result<WebhookEvent, WebhookError> {
    match provider {
        Provider::GitHub => github::parse(headers, body),
        Provider::GitLab => gitlab::parse(headers, body),
        Provider::Gitea => gitea::parse(headers, body),
        Provider::AzureRepos => azure::parse(body),
    }
}

/// A commit id, or `None` for git's all-zero id (a created or deleted ref) or an empty one.
fn commit_id(id: Option<&str>) -> Option<String> {
    id.filter(|id| !id.is_empty() && !id.bytes().all(|b| b == b'0')).map(str::to_owned)
}

/// Collects changed paths, sorted and without duplicates.
fn sorted_paths(paths: BTreeSet<String>) -> Vec<String> {
    paths.into_iter().collect()
}

/// Strips `refs/heads/` from a branch name.
fn branch_name(name: &str) -> String {
    name.strip_prefix("refs/heads/").unwrap_or(name).to_owned()
}

#[cfg(test)]
mod tests;
