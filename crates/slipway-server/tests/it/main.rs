//! Integration tests of the server: the API through `oneshot`, and runs carried out by the engine
//! over real git repositories made by the tests.

mod agents;
mod api;
mod audit;
mod breadth;
mod browser;
mod delivery;
mod dora;
mod environments;
mod events;
mod evidence;
mod flags;
mod github;
mod hostile;
mod metrics;
mod notifications;
mod oidc;
mod openapi;
mod osv;
mod runs;
mod signed_in;
mod support;
mod team;
mod tokens;
mod traces;
mod triggers;
mod ui;
mod ui_flags;
mod work_items;
