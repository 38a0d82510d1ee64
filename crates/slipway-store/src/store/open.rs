//! Opening and closing a [`Store`]: where it is (a SQLite file or a PostgreSQL URL), connecting,
//! migrating and checking the secret key; which backend it is on, its clock and schema version.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::{Backend, Context, Inner, Pools, Store, StoreOptions};
use crate::SQLITE_FILE_NAME;
use crate::backend;
use crate::error::{Result, StoreError};
use crate::model::Timestamp;

impl Store {
    /// Opens (creating if needed) the store at `location` and brings its schema up to date:
    /// a `postgres://` or `postgresql://` URL for PostgreSQL; otherwise a SQLite database file, a
    /// `sqlite:` URL of one, or an existing directory to keep [`SQLITE_FILE_NAME`] in.
    ///
    /// # Errors
    /// When the location is unusable, the database cannot be reached or migrated (such as when a
    /// newer Slipway migrated it), or the secret key is not the one the store was created with.
    pub async fn open(location: &str, options: StoreOptions) -> Result<Self> {
        let context = Context { key: options.secret_key.clone(), clock: options.clock.clone() };
        let open_error = |reason: String| StoreError::Open { location: redacted(location), reason };
        let backend = match parse_location(location)? {
            Location::Sqlite(path) => {
                let connect = SqliteConnectOptions::new()
                    .filename(&path)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
                    .foreign_keys(true)
                    .busy_timeout(options.acquire_timeout);
                let writer = SqlitePoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .acquire_timeout(options.acquire_timeout)
                    .connect_with(connect.clone().create_if_missing(true))
                    .await
                    .map_err(|error| open_error(error.to_string()))?;
                backend::sqlite::schema::migrate(&writer).await?;
                let reader = SqlitePoolOptions::new()
                    .max_connections(options.max_connections.max(1))
                    .acquire_timeout(options.acquire_timeout)
                    .connect_with(connect.read_only(true))
                    .await
                    .map_err(|error| open_error(error.to_string()))?;
                Backend::Sqlite(Pools { writer, reader })
            }
            Location::Postgres(url) => {
                let connect = PgConnectOptions::from_str(&url)
                    .map_err(|error| open_error(format!("not a PostgreSQL URL: {error}")))?;
                let pool = PgPoolOptions::new()
                    .max_connections(options.max_connections.max(2))
                    .acquire_timeout(options.acquire_timeout)
                    .connect_with(connect)
                    .await
                    .map_err(|error| open_error(error.to_string()))?;
                backend::postgres::schema::migrate(&pool).await?;
                Backend::Postgres(Pools { writer: pool.clone(), reader: pool })
            }
        };
        let store = Self { inner: Arc::new(Inner { backend, context }) };
        dispatch!(store, schema::check_secret_key())?;
        Ok(store)
    }

    /// `sqlite` or `postgres`.
    #[must_use]
    pub fn backend_name(&self) -> &'static str {
        match self.inner.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// The current time on the store's clock.
    #[must_use]
    pub fn now(&self) -> Timestamp {
        self.inner.context.now()
    }

    /// The newest migration applied to the database.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn schema_version(&self) -> Result<i64> {
        dispatch!(self, schema::schema_version())
    }

    /// Waits for calls in progress and closes every connection (on SQLite, the last one to close
    /// checkpoints the WAL). Other clones of the store cannot be used afterwards. Dropping the
    /// store without closing loses nothing either: every change was committed when its call returned.
    pub async fn close(&self) {
        match &self.inner.backend {
            Backend::Sqlite(pools) => {
                pools.reader.close().await;
                pools.writer.close().await;
            }
            Backend::Postgres(pools) => pools.writer.close().await,
        }
    }
}

/// Which database a location names.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Location {
    Sqlite(PathBuf),
    Postgres(String),
}

fn parse_location(location: &str) -> Result<Location> {
    let open_error = |reason: &str| StoreError::Open { location: location.to_owned(), reason: reason.to_owned() };
    if location.starts_with("postgres://") || location.starts_with("postgresql://") {
        return Ok(Location::Postgres(location.to_owned()));
    }
    let path = location.strip_prefix("sqlite://").or_else(|| location.strip_prefix("sqlite:")).unwrap_or(location);
    if path.is_empty() || path == ":memory:" || path.contains("mode=memory") {
        return Err(open_error("a file or directory is needed (in-memory databases are not kept)"));
    }
    if path.contains('?') {
        return Err(open_error("SQLite options in the URL are not supported: the store sets its own"));
    }
    let path = Path::new(path);
    if path.is_dir() {
        return Ok(Location::Sqlite(path.join(SQLITE_FILE_NAME)));
    }
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() && !parent.is_dir() => {
            Err(open_error("its directory does not exist"))
        }
        _ => Ok(Location::Sqlite(path.to_owned())),
    }
}

/// A location with any password in it replaced, for error messages.
fn redacted(location: &str) -> String {
    match (location.find("://"), location.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let user_info = &location[scheme_end + 3..at];
            let user = user_info.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &location[..scheme_end + 3], &location[at..])
        }
        _ => location.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SecretKey;

    #[test]
    fn locations_pick_the_backend() -> Result<()> {
        let directory = std::env::temp_dir();
        assert_eq!(parse_location("postgres://u:p@h/d")?, Location::Postgres("postgres://u:p@h/d".into()));
        assert_eq!(parse_location("postgresql://h/d")?, Location::Postgres("postgresql://h/d".into()));
        let as_text = directory.display().to_string();
        assert_eq!(parse_location(&as_text)?, Location::Sqlite(directory.join(SQLITE_FILE_NAME)));
        assert_eq!(parse_location(&format!("sqlite://{as_text}/x.db"))?, Location::Sqlite(directory.join("x.db")));
        assert!(parse_location(":memory:").is_err());
        assert!(parse_location("/no/such/directory/x.db").is_err());
        Ok(())
    }

    /// The server spawns store calls on tokio's threads, so their futures must be `Send` (sqlx's
    /// `RawSql::execute` once made `open`'s not).
    #[test]
    fn opening_can_be_spawned() {
        fn assert_send<T: Send>(_: &T) {}
        let open = Store::open("unused", StoreOptions::new(SecretKey::from_bytes([0; 32])));
        assert_send(&open);
    }

    #[test]
    fn passwords_do_not_appear_in_errors() {
        assert_eq!(redacted("postgres://slipway:hunter2@db:5432/ci"), "postgres://slipway:***@db:5432/ci");
        assert_eq!(redacted("/var/lib/slipway"), "/var/lib/slipway");
    }
}
