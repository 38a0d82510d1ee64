//! The server's offline OSV vulnerability database: what it holds (`GET /osv`, readers) and
//! imports into it (`POST /osv/imports`, admins).

use crate::http::Body;
use crate::{Client, Result, api, query_value};

impl Client {
    /// `GET /osv`: what the server's OSV database holds.
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn osv_status(&self) -> Result<api::OsvDatabase> {
        self.get("/osv")
    }

    /// `POST /osv/imports`: imports `upload` (a tar of OSV zip exports and `.json` records, or
    /// one such file named `name`) into the server's OSV database, replacing what is there when
    /// `replace`.
    ///
    /// # Errors
    /// As [`Client::get`]; the server's `400` names the file (and entry, line:col) it refused.
    pub fn osv_import(
        &self,
        upload: &mut dyn std::io::Read,
        name: Option<&str>,
        replace: bool,
    ) -> Result<api::OsvImport> {
        let mut parts = Vec::new();
        if replace {
            parts.push("replace=true".to_owned());
        }
        if let Some(name) = name {
            parts.push(format!("name={}", query_value(name)));
        }
        let path =
            if parts.is_empty() { "/osv/imports".to_owned() } else { format!("/osv/imports?{}", parts.join("&")) };
        crate::http::read_json(self.send("POST", &path, "application/json", Body::Stream(upload))?)
    }
}
