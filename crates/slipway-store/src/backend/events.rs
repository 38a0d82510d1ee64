//! The event stream: the outbox of changes that every state change writes to in its own
//! transaction ([`record_change`]), the stream's events, and its consumers' cursors.
//!
//! On PostgreSQL, rows of `changes` and `events` are added under a transaction-scoped advisory
//! lock, so that they commit in the order of their ids: a reader that has read up to an id never
//! finds a smaller one committed later (which sequences alone would allow).

use super::POSTGRES;
use super::common::{DbConnection, DbPools, from_json, read_row, to_json};
use crate::error::Result;
use crate::model::{ChangeKind, ChangeRecord, EventFilter, EventOrigin, NewStreamEvent, StreamEvent, Timestamp};
use crate::store::Context;

/// The advisory lock that orders the stream's writers on PostgreSQL.
const STREAM_LOCK: i64 = 0x534c_5354_5245_414d; // "SLSTREAM"

/// Takes the stream's lock until the transaction ends (PostgreSQL; SQLite has one writer).
async fn lock_stream(connection: &mut DbConnection) -> Result<()> {
    if POSTGRES {
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(STREAM_LOCK).execute(&mut *connection).await?;
    }
    Ok(())
}

/// Records a change in the outbox, in the caller's transaction (so it commits with the change,
/// or not at all).
pub(super) async fn record_change(
    connection: &mut DbConnection,
    kind: ChangeKind,
    subject: i64,
    at: Timestamp,
    details: &serde_json::Value,
) -> Result<()> {
    lock_stream(connection).await?;
    sqlx::query("INSERT INTO changes (kind, subject_id, at, details) VALUES ($1, $2, $3, $4)")
        .bind(kind.as_str())
        .bind(subject)
        .bind(at.millis())
        .bind(to_json("change details", details)?)
        .execute(&mut *connection)
        .await?;
    Ok(())
}

/// Implements [`crate::Store::changes_after`].
pub(crate) async fn changes_after(
    pools: &DbPools,
    _context: &Context,
    after: i64,
    limit: i64,
) -> Result<Vec<ChangeRecord>> {
    let rows: Vec<(i64, String, i64, i64, String)> =
        sqlx::query_as("SELECT id, kind, subject_id, at, details FROM changes WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(after)
            .bind(limit.clamp(1, 10_000))
            .fetch_all(&pools.reader)
            .await?;
    rows.into_iter()
        .map(|(id, kind, subject, at, details)| {
            Ok(ChangeRecord {
                id,
                kind: ChangeKind::parse(&kind)?,
                subject,
                at: Timestamp(at),
                details: from_json("changes.details", &details)?,
            })
        })
        .collect()
}

/// Implements [`crate::Store::append_stream_events`].
pub(crate) async fn append_stream_events(
    pools: &DbPools,
    context: &Context,
    events: &[NewStreamEvent],
    cursor: Option<(&str, i64)>,
) -> Result<Vec<i64>> {
    let mut transaction = pools.writer.begin().await?;
    lock_stream(&mut transaction).await?;
    let now = context.now().millis();
    let mut stored = Vec::new();
    for event in events {
        let position: Option<i64> = sqlx::query_scalar(
            "INSERT INTO events (event_id, source, type, subject, time, received_at, origin, pipeline, environment, \
             document) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (source, event_id) DO NOTHING \
             RETURNING id",
        )
        .bind(&event.event_id)
        .bind(&event.source)
        .bind(&event.event_type)
        .bind(&event.subject)
        .bind(event.time.millis())
        .bind(now)
        .bind(event.origin.as_str())
        .bind(event.pipeline.as_deref())
        .bind(event.environment.as_deref())
        .bind(to_json("event", &event.document)?)
        .fetch_optional(&mut *transaction)
        .await?;
        stored.extend(position);
    }
    if let Some((name, position)) = cursor {
        write_cursor(&mut transaction, name, position, now).await?;
    }
    transaction.commit().await?;
    Ok(stored)
}

async fn write_cursor(connection: &mut DbConnection, name: &str, position: i64, now: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO event_cursors (name, position, updated_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE \
         SET position = excluded.position, updated_at = excluded.updated_at WHERE event_cursors.position < \
         excluded.position",
    )
    .bind(name)
    .bind(position)
    .bind(now)
    .execute(&mut *connection)
    .await?;
    Ok(())
}

/// Implements [`crate::Store::event_cursor`].
pub(crate) async fn event_cursor(pools: &DbPools, _context: &Context, name: &str) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar("SELECT position FROM event_cursors WHERE name = $1")
        .bind(name)
        .fetch_optional(&pools.reader)
        .await?)
}

/// Implements [`crate::Store::set_event_cursor`].
pub(crate) async fn set_event_cursor(pools: &DbPools, context: &Context, name: &str, position: i64) -> Result<()> {
    let mut connection = pools.writer.acquire().await?;
    write_cursor(&mut connection, name, position, context.now().millis()).await
}

/// The columns of `events` read into an [`EventRow`], one per field.
macro_rules! event_columns {
    () => {
        "id, event_id, source, type, subject, time, received_at, origin, pipeline, environment, document"
    };
}

/// A row of `event_columns!()`.
#[derive(sqlx::FromRow)]
struct EventRow {
    id: i64,
    event_id: String,
    source: String,
    r#type: String,
    subject: String,
    time: i64,
    received_at: i64,
    origin: String,
    pipeline: Option<String>,
    environment: Option<String>,
    document: String,
}

impl EventRow {
    fn into_event(self) -> Result<StreamEvent> {
        Ok(StreamEvent {
            position: self.id,
            event_id: self.event_id,
            source: self.source,
            event_type: self.r#type,
            subject: self.subject,
            time: Timestamp(self.time),
            received_at: Timestamp(self.received_at),
            origin: EventOrigin::parse(&self.origin)?,
            pipeline: self.pipeline,
            environment: self.environment,
            document: from_json("events.document", &self.document)?,
        })
    }
}

/// Implements [`crate::Store::list_stream_events`].
pub(crate) async fn list_stream_events(
    pools: &DbPools,
    _context: &Context,
    filter: &EventFilter,
) -> Result<Vec<StreamEvent>> {
    let limit = match filter.limit {
        0 => 100,
        limit => i64::from(limit.min(10_000)),
    };
    let mut query =
        sqlx::QueryBuilder::<super::Db>::new(concat!("SELECT ", event_columns!(), " FROM events WHERE id > "));
    query.push_bind(filter.after.unwrap_or(0));
    if let Some(environment) = &filter.environment {
        query.push(" AND environment = ").push_bind(environment.clone());
    }
    if let Some(pipeline) = &filter.pipeline {
        query.push(" AND pipeline = ").push_bind(pipeline.clone());
    }
    if !filter.types.is_empty() {
        query.push(" AND (");
        for (index, prefix) in filter.types.iter().enumerate() {
            if index > 0 {
                query.push(" OR ");
            }
            // A prefix without LIKE's wildcards: compare the type's start.
            query.push("substr(type, 1, ").push_bind(i32::try_from(prefix.len()).unwrap_or(i32::MAX));
            query.push(") = ").push_bind(prefix.clone());
        }
        query.push(")");
    }
    query.push(" ORDER BY id LIMIT ").push_bind(limit);
    query
        .build()
        .fetch_all(&pools.reader)
        .await?
        .iter()
        .map(read_row::<EventRow>)
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .map(EventRow::into_event)
        .collect()
}

/// Implements [`crate::Store::latest_event_position`].
pub(crate) async fn latest_event_position(pools: &DbPools, _context: &Context) -> Result<i64> {
    let latest: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM events").fetch_one(&pools.reader).await?;
    Ok(latest.unwrap_or(0))
}

/// Implements [`crate::Store::prune_changes`].
pub(crate) async fn prune_changes(pools: &DbPools, _context: &Context, through: i64) -> Result<u64> {
    let deleted = sqlx::query("DELETE FROM changes WHERE id <= $1").bind(through).execute(&pools.writer).await?;
    Ok(deleted.rows_affected())
}
