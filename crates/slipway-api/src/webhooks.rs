//! A pipeline's webhook: where forges deliver pushes and pull requests, and its secret.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The body of `PUT /pipelines/{name}/webhook`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetWebhookSecret {
    /// The secret (8 to 256 printable characters); a random one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// A pipeline's webhook: whether its secret is set, and the URLs to give each provider.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Webhook {
    /// The pipeline's name.
    pub pipeline: String,
    /// Whether a secret is set: deliveries are refused without one.
    pub secret_set: bool,
    /// The secret, shown only in the answer that set it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// The delivery URL, relative to the server, by provider (`github`, `gitlab`, `gitea`,
    /// `forgejo`, `azure`).
    pub urls: BTreeMap<String, String>,
    /// The user name Azure Repos service hooks send with basic authentication.
    pub azure_user_name: String,
}

/// What a verified delivery did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct WebhookDelivery {
    /// The provider's event: `ping`, `push`, `pullRequest`, or another event that is ignored.
    pub event: String,
    /// The pipeline's name.
    pub pipeline: String,
    /// Whether the event is one that Slipway does not act on.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ignored: bool,
    /// What each ref or pull request gave, once decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decisions: Option<Vec<WebhookDecision>>,
    /// While the decision is still being made (`202 Accepted`): says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// What a trigger did with one ref, commit or pull request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDecision {
    /// What it was about: a ref (`refs/heads/main`) or `pull request 7`.
    pub subject: String,
    /// The commit, when there is one.
    pub commit: Option<String>,
    /// What happened.
    #[serde(flatten)]
    pub outcome: DecisionOutcome,
}

/// What happened to one event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", tag = "outcome")]
pub enum DecisionOutcome {
    /// A run was started.
    Started {
        /// The run's id.
        run: i64,
    },
    /// The trigger fired but the pipeline could not be loaded: a failed run says why.
    Failed {
        /// The failed run's id.
        run: i64,
        /// Why.
        reason: String,
    },
    /// `batch: true` and a run of the branch is in progress: one run of the newest commit
    /// follows when it completes.
    Batched,
    /// Nothing was started, and why.
    Skipped {
        /// Why.
        reason: String,
    },
    /// The event was handled already (by another delivery or by polling).
    AlreadyHandled,
    /// It could not be decided now; it is tried again on the next poll.
    Error {
        /// What went wrong.
        reason: String,
    },
}
