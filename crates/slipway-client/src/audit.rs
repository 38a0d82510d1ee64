//! The audit log: its export as JSON lines and the server's check of its hash chain (admin).

use crate::http::Body;
use crate::{Client, Result, api};

impl Client {
    /// `GET /audit` (admin): the audit log as JSON lines, oldest first, from the entry after
    /// `after` (the first when `None`), read as it comes.
    ///
    /// # Errors
    /// As [`Client::get`], for the answer's start; reading it may break off later.
    pub fn audit_export(&self, after: Option<i64>) -> Result<impl std::io::Read + use<>> {
        let path = after.map_or_else(|| "/audit".to_owned(), |after| format!("/audit?after={after}"));
        let response = self.send("GET", &path, api::AUDIT_EXPORT_MEDIA_TYPE, Body::Empty)?;
        Ok(response.into_body().into_reader())
    }

    /// `GET /audit/verify` (admin): the server's check of the audit log's hash chain, with an
    /// `anchor` (`ID:HASH`) noted from an earlier check if given.
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn audit_verify(&self, anchor: Option<&str>) -> Result<api::AuditVerification> {
        match anchor {
            Some(anchor) => self.get(&format!("/audit/verify?anchor={}", crate::query_value(anchor))),
            None => self.get("/audit/verify"),
        }
    }
}
