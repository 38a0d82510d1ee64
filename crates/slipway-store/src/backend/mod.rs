//! The store's operations on the database, written once and compiled twice: the files of this
//! directory make up module [`sqlite`], where `Db` is `sqlx::Sqlite`, and module [`postgres`],
//! where it is `sqlx::Postgres`. The SQL is shared: both databases take `$1` parameters,
//! `RETURNING`, `ON CONFLICT`, partial indexes and `TRUE`/`FALSE`; the few differences (row
//! locks, advisory locks) are chosen by `POSTGRES`.
//!
//! One file per domain, each holding the queries of its tables and the row types they read:
//! [`Store`](crate::Store)'s methods (under `src/store/`, in the file of the same name) call a
//! `pub(crate)` function here, which says which method it implements; the method documents it.
//! Helpers that a domain lends to others are `pub(super)`; `common` holds what all share. Both
//! backends declare the same list of files (written out twice, rather than by a macro, so that
//! `cargo fmt` finds them).

/// The SQLite backend: the files of `src/backend/` compiled for SQLite.
#[path = "."]
pub(crate) mod sqlite {
    /// The database this copy of the backend is for.
    type Db = sqlx::Sqlite;
    /// Whether it is PostgreSQL (`FOR UPDATE`, advisory locks).
    const POSTGRES: bool = false;

    mod common;

    pub(crate) mod agents;
    pub(crate) mod artifacts;
    pub(crate) mod audit;
    pub(crate) mod auth;
    pub(crate) mod environments;
    pub(crate) mod events;
    pub(crate) mod flags;
    pub(crate) mod jobs;
    pub(crate) mod logs;
    pub(crate) mod notifications;
    pub(crate) mod pipelines;
    pub(crate) mod queue;
    pub(crate) mod retention;
    pub(crate) mod runs;
    pub(crate) mod schema;
    pub(crate) mod services;
    pub(crate) mod team;
    pub(crate) mod telemetry;
    pub(crate) mod variables;
    pub(crate) mod work_items;
}

/// The PostgreSQL backend: the files of `src/backend/` compiled for PostgreSQL.
#[path = "."]
#[expect(clippy::duplicate_mod, reason = "each backend compiles the same files with its own `Db`")]
pub(crate) mod postgres {
    /// The database this copy of the backend is for.
    type Db = sqlx::Postgres;
    /// Whether it is PostgreSQL (`FOR UPDATE`, advisory locks).
    const POSTGRES: bool = true;

    mod common;

    pub(crate) mod agents;
    pub(crate) mod artifacts;
    pub(crate) mod audit;
    pub(crate) mod auth;
    pub(crate) mod environments;
    pub(crate) mod events;
    pub(crate) mod flags;
    pub(crate) mod jobs;
    pub(crate) mod logs;
    pub(crate) mod notifications;
    pub(crate) mod pipelines;
    pub(crate) mod queue;
    pub(crate) mod retention;
    pub(crate) mod runs;
    pub(crate) mod schema;
    pub(crate) mod services;
    pub(crate) mod team;
    pub(crate) mod telemetry;
    pub(crate) mod variables;
    pub(crate) mod work_items;
}
