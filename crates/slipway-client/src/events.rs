//! The event stream: pages of it (with a long poll for following it) and CDEvents pushed in.

use crate::{Client, Result, api};

impl Client {
    /// `GET /events`: a page of the stream as `query` selects it.
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn events(&self, query: &api::EventsQuery) -> Result<api::EventPage> {
        let after = query.after.map(|after| after.to_string());
        let limit = query.limit.map(|limit| limit.to_string());
        let wait = query.wait.map(|wait| wait.to_string());
        let parameters = [
            ("after", after.as_deref()),
            ("type", query.types.as_deref()),
            ("environment", query.environment.as_deref()),
            ("pipeline", query.pipeline.as_deref()),
            ("limit", limit.as_deref()),
            ("wait", wait.as_deref()),
        ];
        let parts: Vec<String> = parameters
            .iter()
            .filter_map(|(name, value)| value.map(|value| format!("{name}={}", crate::query_value(value))))
            .collect();
        let mut path = "/events".to_owned();
        if !parts.is_empty() {
            path.push('?');
            path.push_str(&parts.join("&"));
        }
        self.get(&path)
    }

    /// `POST /events`: pushes a CloudEvent, a CDEvent or a batch (a JSON array) into the stream.
    ///
    /// # Errors
    /// As [`Client::post`]; a problem names what is wrong with an event.
    pub fn push_events(&self, body: &serde_json::Value) -> Result<Vec<api::EventAccepted>> {
        self.post("/events", body)
    }
}
