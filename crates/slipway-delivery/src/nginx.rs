//! nginx as a service's router, for teams that already run it: the same routes (slots, weights,
//! the sticky cookie, the header that forces a slot) written as nginx configuration — one file
//! per service, which the main configuration `include`s inside its `http` block — checked with
//! `nginx -t` and applied with a reload, which nginx does without dropping requests in flight.
//!
//! The weights become a `split_clients` over a per-request key, the header and the cookie
//! `map`s; requests and latency per slot are then nginx's to count (its logs), not Slipway's.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::routing::{Routes, SLOT_COOKIE, SLOT_HEADER};

/// A name nginx takes for an upstream or a variable: letters, digits and `_`.
fn ident(text: &str) -> String {
    text.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect()
}

/// The nginx configuration of a service whose router listens on `listen`: its upstreams, the
/// maps that choose a slot, and its `server`. `key` tells the service's names apart from other
/// services' in the same `http` block (the service's id).
#[must_use]
pub fn config(routes: &Routes, listen: &str, key: &str) -> String {
    let prefix = format!("slipway_{}", ident(key));
    let mut text = String::new();
    let _ = writeln!(text, "# Service '{}', written by Slipway: changes here are overwritten.", routes.service);
    for slot in &routes.slots {
        let address = slot.upstream.trim().trim_start_matches("http://").trim_end_matches('/');
        let (host, _) = address.split_once('/').unwrap_or((address, ""));
        let _ = writeln!(text, "upstream {prefix}_{} {{ server {host}; keepalive 16; }}", ident(&slot.name));
    }
    // The weighted choice, as percentages of the total weight (nginx keeps two decimals).
    let total: u64 = routes.total_weight();
    let weighted: Vec<_> = routes.slots.iter().filter(|slot| slot.weight > 0).collect();
    let _ = writeln!(text, "split_clients \"${{request_id}}\" ${prefix}_weighted {{");
    if total == 0 {
        let _ = writeln!(text, "    * \"\";");
    }
    for (index, slot) in weighted.iter().enumerate() {
        if index + 1 == weighted.len() {
            let _ = writeln!(text, "    * {};", ident(&slot.name));
        } else {
            #[expect(clippy::cast_precision_loss, reason = "weights are far below 2^52")]
            let percent = f64::from(slot.weight) * 100.0 / total as f64;
            let _ = writeln!(text, "    {:.2}% {};", (percent * 100.0).floor() / 100.0, ident(&slot.name));
        }
    }
    let _ = writeln!(text, "}}");
    let header_variable = format!("$http_{}", SLOT_HEADER.replace('-', "_"));
    let _ = writeln!(text, "map {header_variable} ${prefix}_forced {{\n    default \"\";");
    for slot in &routes.slots {
        let _ = writeln!(text, "    \"~*^{}$\" {};", regex_literal(&slot.name), ident(&slot.name));
    }
    let _ = writeln!(text, "    \"~.\" none;\n}}");
    // `$cookie_NAME` cannot name a cookie with a `-`: the cookie is read from the header.
    let _ = writeln!(
        text,
        "map $http_cookie ${prefix}_cookie_value {{\n    \"~(?:^|;\\s*){SLOT_COOKIE}=(?<slot>[A-Za-z0-9_.-]+)\" $slot;\n    default \"\";\n}}"
    );
    let _ = writeln!(text, "map ${prefix}_cookie_value ${prefix}_sticky {{\n    default \"\";");
    for slot in weighted.iter() {
        let _ = writeln!(text, "    \"~*^{}$\" {};", regex_literal(&slot.name), ident(&slot.name));
    }
    let _ = writeln!(text, "}}");
    // The header first, then the cookie, then the weights.
    let _ = writeln!(
        text,
        "map \"${prefix}_forced:${prefix}_sticky:${prefix}_weighted\" ${prefix}_slot {{\n    \
         \"~^([a-z0-9_]+):\" $1;\n    \"~^:([a-z0-9_]+):\" $1;\n    \"~^::([a-z0-9_]+)$\" $1;\n    default \"\";\n}}"
    );
    // The cookie is set only when the weights chose.
    let _ = writeln!(
        text,
        "map \"${prefix}_forced:${prefix}_sticky\" ${prefix}_cookie {{\n    \":\" \"{SLOT_COOKIE}=${prefix}_slot; Path=/; HttpOnly; SameSite=Lax\";\n    default \"\";\n}}"
    );
    let _ = writeln!(text, "server {{\n    listen {listen};");
    let _ = writeln!(
        text,
        "    location / {{\n        if (${prefix}_slot = \"\") {{ return 503 \"no slot of service '{}' takes this request\\n\"; }}\n        \
         proxy_pass http://{prefix}_${prefix}_slot;\n        proxy_http_version 1.1;\n        \
         proxy_set_header Host $host;\n        proxy_set_header Connection $http_connection;\n        \
         proxy_set_header Upgrade $http_upgrade;\n        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n        \
         add_header x-slipway-served-by ${prefix}_slot always;\n        add_header Set-Cookie ${prefix}_cookie;\n    }}\n}}",
        routes.service.replace(['"', '\\', '\''], "")
    );
    text
}

/// A slot name as a regex literal (names are letters, digits, `-`, `_`, `.`).
fn regex_literal(name: &str) -> String {
    name.replace('.', "\\.")
}

/// Why nginx did not take a configuration.
#[derive(Debug, thiserror::Error)]
pub enum NginxError {
    /// The file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// nginx could not be run.
    #[error("cannot run {binary}: {source}")]
    Run {
        /// The binary.
        binary: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `nginx -t` refused the configuration (it was taken back), or the reload failed.
    #[error("nginx refused the configuration: {0}")]
    Refused(String),
}

/// nginx as a router: where the services' files go and how nginx is told.
#[derive(Clone, Debug)]
pub struct Nginx {
    /// The nginx binary.
    pub binary: PathBuf,
    /// nginx's prefix (`-p`) and main configuration (`-c`), which `include`s the files in
    /// `directory` inside its `http` block.
    pub prefix: PathBuf,
    /// The main configuration.
    pub main_config: PathBuf,
    /// Where the services' files are written.
    pub directory: PathBuf,
}

impl Nginx {
    fn run(&self, arguments: &[&str]) -> Result<(), NginxError> {
        let output = Command::new(&self.binary)
            .arg("-p")
            .arg(&self.prefix)
            .arg("-c")
            .arg(&self.main_config)
            .args(arguments)
            .output()
            .map_err(|source| NginxError::Run { binary: self.binary.clone(), source })?;
        if output.status.success() {
            Ok(())
        } else {
            Err(NginxError::Refused(String::from_utf8_lossy(&output.stderr).trim().to_owned()))
        }
    }

    /// Writes a service's configuration, checks the whole with `nginx -t` (putting the old file
    /// back when it fails) and reloads nginx.
    ///
    /// # Errors
    /// A [`NginxError`] saying what failed.
    pub fn apply(&self, routes: &Routes, listen: &str, key: &str) -> Result<(), NginxError> {
        let path = self.directory.join(format!("slipway-{}.conf", ident(key)));
        let earlier = std::fs::read(&path).ok();
        write(&path, config(routes, listen, key).as_bytes())?;
        if let Err(error) = self.run(&["-t", "-q"]) {
            match earlier {
                Some(earlier) => write(&path, &earlier)?,
                None => {
                    // Left there, the refused file would break nginx's next reload.
                    if let Err(error) = std::fs::remove_file(&path) {
                        tracing::warn!(path = %path.display(), %error, "could not remove an nginx configuration nginx refused");
                    }
                }
            }
            return Err(error);
        }
        self.run(&["-s", "reload"])
    }

    /// Removes a service's configuration and reloads nginx.
    ///
    /// # Errors
    /// A [`NginxError`] saying what failed.
    pub fn remove(&self, key: &str) -> Result<(), NginxError> {
        let path = self.directory.join(format!("slipway-{}.conf", ident(key)));
        match std::fs::remove_file(&path) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                return Err(NginxError::Write { path, source: error });
            }
            _ => {}
        }
        self.run(&["-s", "reload"])
    }
}

/// Writes a file through a temporary beside it, so that nginx never reads half of it.
fn write(path: &Path, bytes: &[u8]) -> Result<(), NginxError> {
    let temporary = path.with_extension("conf.new");
    std::fs::write(&temporary, bytes)
        .and_then(|()| std::fs::rename(&temporary, path))
        .map_err(|source| NginxError::Write { path: path.to_path_buf(), source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::Slot;

    #[test]
    fn weights_become_percentages_and_slots_upstreams() {
        let routes = Routes {
            service: "shop".into(),
            slots: vec![
                Slot { name: "stable".into(), upstream: "http://127.0.0.1:8001".into(), weight: 2 },
                Slot { name: "canary".into(), upstream: "http://127.0.0.1:8002/".into(), weight: 1 },
                Slot { name: "blue.v2".into(), upstream: "http://127.0.0.1:8003".into(), weight: 0 },
            ],
        };
        let text = config(&routes, "127.0.0.1:9000", "7");
        assert!(text.contains("upstream slipway_7_canary { server 127.0.0.1:8002; keepalive 16; }"), "{text}");
        assert!(text.contains("    66.66% stable;\n    * canary;\n"), "{text}");
        assert!(text.contains("\"~*^blue\\.v2$\" blue_v2;"), "{text}");
        assert!(
            !text.contains("$cookie_slipway_slot $slipway_7_sticky {\n    default \"\";\n    \"~*^blue"),
            "a slot at weight 0 is not sticky"
        );
        assert!(text.contains("listen 127.0.0.1:9000;"));
    }
}
