//! What a verified webhook delivery starts: pushes go through the same decision as polling,
//! pull requests through `pr` (a workflow's `on.pull_request`, and its `on.pull_request_target`). Receiving and verifying the delivery is the API's.

use slipway_store::Pipeline;
use slipway_triggers::webhook::WebhookEvent;

use crate::{Decided, Triggering, poll, pull_requests};

/// Decides a verified delivery.
pub async fn decide(state: &Triggering, pipeline: &Pipeline, provider: &str, event: WebhookEvent) -> Vec<Decided> {
    match event {
        WebhookEvent::Push(pushes) => {
            let mut decided = Vec::new();
            for push in pushes {
                decided.push(
                    poll::webhook_push(
                        state,
                        pipeline,
                        &push.git_ref,
                        push.after.as_deref(),
                        push.pusher.as_deref(),
                        provider,
                    )
                    .await,
                );
            }
            decided
        }
        WebhookEvent::PullRequest(event) => {
            let mut decided = vec![pull_requests::decide(state, pipeline, &event).await];
            // A workflow's `pull_request_target` is a second event for the same delivery.
            decided.extend(pull_requests::decide_target(state, pipeline, &event).await);
            decided
        }
        WebhookEvent::Ping | WebhookEvent::Ignored { .. } => Vec::new(),
    }
}
