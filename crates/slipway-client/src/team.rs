//! The team dashboard's figures (`GET /team`, readers).

use crate::{Client, Result, api, query_value};

impl Client {
    /// `GET /team`: the team dashboard over the last `days` days (the server's default when
    /// `None`), of one pipeline's runs when `pipeline` names one.
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn team(&self, days: Option<u32>, pipeline: Option<&str>) -> Result<api::team::TeamDashboard> {
        let mut parts = Vec::new();
        if let Some(days) = days {
            parts.push(format!("days={days}"));
        }
        if let Some(pipeline) = pipeline {
            parts.push(format!("pipeline={}", query_value(pipeline)));
        }
        if parts.is_empty() { self.get("/team") } else { self.get(&format!("/team?{}", parts.join("&"))) }
    }
}
