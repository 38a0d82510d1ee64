//! The schema's migrations, embedded in the binary: one SQL file per backend and version.
//!
//! A migration, once released, never changes: its SHA-256 is recorded when it is applied and
//! checked at every open, so an edited migration is an error rather than a silent difference
//! between databases. A new version adds a file to both `migrations/sqlite` and
//! `migrations/postgres` and a line here.

/// One version of the schema.
#[derive(Debug)]
pub(crate) struct Migration {
    /// Increasing from 1.
    pub(crate) version: i64,
    /// What it does.
    pub(crate) description: &'static str,
    /// The SQLite statements.
    pub(crate) sqlite: &'static str,
    /// The PostgreSQL statements.
    pub(crate) postgres: &'static str,
}

/// Every migration, oldest first.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "initial schema",
        sqlite: include_str!("../migrations/sqlite/0001_initial.sql"),
        postgres: include_str!("../migrations/postgres/0001_initial.sql"),
    },
    Migration {
        version: 2,
        description: "webhook secrets",
        sqlite: include_str!("../migrations/sqlite/0002_webhook_secrets.sql"),
        postgres: include_str!("../migrations/postgres/0002_webhook_secrets.sql"),
    },
    Migration {
        version: 3,
        description: "job specs and agent pools",
        sqlite: include_str!("../migrations/sqlite/0003_agents.sql"),
        postgres: include_str!("../migrations/postgres/0003_agents.sql"),
    },
    Migration {
        version: 4,
        description: "sessions belong to the token they were opened with",
        sqlite: include_str!("../migrations/sqlite/0004_session_tokens.sql"),
        postgres: include_str!("../migrations/postgres/0004_session_tokens.sql"),
    },
    Migration {
        version: 5,
        description: "pipelines' queue status and trigger health",
        sqlite: include_str!("../migrations/sqlite/0005_pipeline_state.sql"),
        postgres: include_str!("../migrations/postgres/0005_pipeline_state.sql"),
    },
    Migration {
        version: 6,
        description: "the counter values of each run",
        sqlite: include_str!("../migrations/sqlite/0006_run_counters.sql"),
        postgres: include_str!("../migrations/postgres/0006_run_counters.sql"),
    },
    Migration {
        version: 7,
        description: "the earlier attempts of jobs run again in place",
        sqlite: include_str!("../migrations/sqlite/0007_job_attempts.sql"),
        postgres: include_str!("../migrations/postgres/0007_job_attempts.sql"),
    },
    Migration {
        version: 8,
        description: "environments, checks, deployments, checkpoints and approvals",
        sqlite: include_str!("../migrations/sqlite/0008_environments.sql"),
        postgres: include_str!("../migrations/postgres/0008_environments.sql"),
    },
    Migration {
        version: 9,
        description: "services and their slots",
        sqlite: include_str!("../migrations/sqlite/0009_services.sql"),
        postgres: include_str!("../migrations/postgres/0009_services.sql"),
    },
    Migration {
        version: 10,
        description: "deployment outcomes and analysis runs",
        sqlite: include_str!("../migrations/sqlite/0010_analysis.sql"),
        postgres: include_str!("../migrations/postgres/0010_analysis.sql"),
    },
    Migration {
        version: 11,
        description: "the feature flags of each environment",
        sqlite: include_str!("../migrations/sqlite/0011_flags.sql"),
        postgres: include_str!("../migrations/postgres/0011_flags.sql"),
    },
    Migration {
        version: 12,
        description: "the signed provenance of each artifact",
        sqlite: include_str!("../migrations/sqlite/0012_provenance.sql"),
        postgres: include_str!("../migrations/postgres/0012_provenance.sql"),
    },
    Migration {
        version: 13,
        description: "the event stream (its outbox of changes, its events, consumers' cursors) and work items",
        sqlite: include_str!("../migrations/sqlite/0013_events_and_work_items.sql"),
        postgres: include_str!("../migrations/postgres/0013_events_and_work_items.sql"),
    },
    Migration {
        version: 14,
        description: "the audit log's hash chain",
        sqlite: include_str!("../migrations/sqlite/0014_audit_chain.sql"),
        postgres: include_str!("../migrations/postgres/0014_audit_chain.sql"),
    },
    Migration {
        version: 15,
        description: "notification subscriptions and their deliveries",
        sqlite: include_str!("../migrations/sqlite/0015_notifications.sql"),
        postgres: include_str!("../migrations/postgres/0015_notifications.sql"),
    },
    Migration {
        version: 16,
        description: "pipelines' rules for the work items their runs open",
        sqlite: include_str!("../migrations/sqlite/0016_work_item_rules.sql"),
        postgres: include_str!("../migrations/postgres/0016_work_item_rules.sql"),
    },
    Migration {
        version: 17,
        description: "users signed in with OpenID Connect (issuer and subject), disabled users, sessions without a token",
        sqlite: include_str!("../migrations/sqlite/0017_external_users.sql"),
        postgres: include_str!("../migrations/postgres/0017_external_users.sql"),
    },
];

/// The table that records applied migrations; the same statement works on both backends.
pub(crate) const CREATE_MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS slipway_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at BIGINT NOT NULL
)";

/// The key of the PostgreSQL advisory lock that serialises migrations of servers starting at once.
pub(crate) const POSTGRES_MIGRATION_LOCK: i64 = 0x736c_6970_7761_7901;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_version_is_the_newest_migration() {
        assert_eq!(MIGRATIONS.last().map(|migration| migration.version), Some(crate::SCHEMA_VERSION));
    }

    #[test]
    fn versions_increase_from_one_and_both_backends_have_each() {
        for (index, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(migration.version, i64::try_from(index).unwrap_or(-1) + 1);
            assert!(!migration.sqlite.trim().is_empty() && !migration.postgres.trim().is_empty());
        }
    }
}
