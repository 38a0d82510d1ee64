//! Notifications: what subscribers are told of the event stream, rendered for Slack, Microsoft
//! Teams, e-mail and generic webhooks, and delivered with retries.
