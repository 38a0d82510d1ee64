//! What Slipway's test suites share, and nothing else uses (a dev-dependency only): a throwaway
//! PostgreSQL server for the tests of the store and of the server ([`postgres`]), and the rule
//! that decides whether a test without what it needs is skipped or fails: [`postgres_or_skip`],
//! and [`needed_or_skip`] for the rest (the corpus, `node`, Landlock, Chromium); an nginx of its own
//! for services it fronts ([`nginx::nginx_or_skip`]); an OpenID Connect provider
//! ([`oidc::oidc_provider_or_skip`]); a Prometheus ([`prometheus::prometheus_or_skip`]); an OTLP/HTTP trace receiver
//! ([`otlp::otlp_or_skip`]); the official schemas reports are checked against
//! ([`schemas`]). Every such test
//! has a `SLIPWAY_REQUIRE_*` switch; `.ci/run` sets them all, so CI never skips one.

pub mod nginx;
pub mod oidc;
pub mod otlp;
pub mod postgres;
pub mod prometheus;
pub mod schemas;

use std::io::Write as _;

/// Whether the tests must have PostgreSQL: `SLIPWAY_REQUIRE_POSTGRES=1`.
#[must_use]
pub fn postgres_required() -> bool {
    std::env::var("SLIPWAY_REQUIRE_POSTGRES").is_ok_and(|value| value == "1")
}

/// Whether a test has what it needs (`available` is `Err(why)` when not): `true` when it has;
/// `false` after saying on stderr that `test` is skipped and why. With the switch
/// `SLIPWAY_REQUIRE_<require>=1` (set by `.ci/run`), a missing need is a failure instead.
///
/// # Panics
/// When what the test needs is missing and it is required.
#[must_use]
pub fn needed_or_skip(test: &str, require: &str, available: Result<(), String>) -> bool {
    let Err(reason) = available else { return true };
    let switch = format!("SLIPWAY_REQUIRE_{require}");
    assert!(!std::env::var(&switch).is_ok_and(|value| value == "1"), "{switch}=1 but {test} cannot run: {reason}");
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {reason} (set {switch}=1 to make this a failure)");
    false
}

/// A new empty database on the test process's throwaway PostgreSQL server, for the test named
/// `test`: `None` (after saying why on stderr) when PostgreSQL is not available and
/// `SLIPWAY_REQUIRE_POSTGRES` is not `1`.
///
/// # Panics
/// When PostgreSQL is not available and `SLIPWAY_REQUIRE_POSTGRES=1`.
pub async fn postgres_or_skip(test: &str) -> Option<String> {
    match postgres::new_database().await {
        Ok(url) => Some(url),
        Err(reason) => {
            assert!(!postgres_required(), "SLIPWAY_REQUIRE_POSTGRES=1 but PostgreSQL is not available: {reason}");
            // Written past the test harness's capture, so that `cargo test` shows it.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test} on PostgreSQL: {reason} (set SLIPWAY_REQUIRE_POSTGRES=1 to make this a failure)"
            );
            None
        }
    }
}

/// [`postgres_or_skip`] for a test without an async runtime (one that drives `slipway serve
/// --database URL` as a process).
///
/// # Panics
/// When PostgreSQL is not available and `SLIPWAY_REQUIRE_POSTGRES=1`, or no runtime can be made.
#[must_use]
pub fn postgres_or_skip_blocking(test: &str) -> Option<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|error| panic!("cannot make a runtime for {test}: {error}"));
    runtime.block_on(postgres_or_skip(test))
}
