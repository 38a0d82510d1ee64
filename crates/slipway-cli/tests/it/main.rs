//! Integration tests of the `slipway` binary: whole transcripts (exit code, stdout, stderr) of
//! real commands over fixture pipelines.

mod agents;
mod analysis;
mod audit;
mod client;
mod delivery;
mod dora;
mod environments;
mod events;
mod evidence;
mod flags;
mod frontend;
mod github;
mod github_store;
mod library;
mod notifications;
mod oidc;
mod policy;
mod readme;
mod run;
mod sbom;
mod scan;
mod security;
mod serve_log;
mod server_osv;
mod support;
mod task_coverage;
mod tasks;
mod team;
mod verify;
mod vulns;
mod work_items;
