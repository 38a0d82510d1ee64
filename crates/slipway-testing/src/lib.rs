//! What Slipway's test suites share, and nothing else uses (a dev-dependency only): a throwaway
//! PostgreSQL server for the tests of the store and of the server ([`postgres`]), and the rule
//! that decides whether a test without PostgreSQL is skipped or fails ([`postgres_or_skip`]).

pub mod postgres;

use std::io::Write as _;

/// Whether the tests must have PostgreSQL: `SLIPWAY_REQUIRE_POSTGRES=1`.
#[must_use]
pub fn postgres_required() -> bool {
    std::env::var("SLIPWAY_REQUIRE_POSTGRES").is_ok_and(|value| value == "1")
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
