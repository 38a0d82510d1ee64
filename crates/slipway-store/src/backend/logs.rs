//! What a job reports while it runs: its steps, its log (in chunks, each stored once) and its run's
//! events.

use slipway_events::Event;

use super::artifacts::{insert_coverage, insert_test_run};
use super::common::{DbConnection, DbPools, from_json, read_row, to_json};
use super::jobs::{lock_job, lock_leased_job};
use crate::crypto::constant_time_equal;
use crate::error::{Result, StoreError};
use crate::model::{
    ChunkOutcome, Job, JobChunk, JobId, JobStatus, LeaseToken, LogSlice, RunId, Step, StepStatus, StoredEvent,
    Timestamp, parse_result, result_text,
};
use crate::store::Context;

// ----- steps -----

/// The columns of `steps` read into a [`StepRow`], one per field.
macro_rules! step_columns {
    () => {
        "number, name, display_name, status, result, exit_code, attempts, message, started_at, finished_at"
    };
}

/// A row of `step_columns!()`.
#[derive(sqlx::FromRow)]
struct StepRow {
    number: i64,
    name: Option<String>,
    display_name: String,
    status: String,
    result: Option<String>,
    exit_code: Option<i64>,
    attempts: i64,
    message: Option<String>,
    started_at: Option<i64>,
    finished_at: Option<i64>,
}

impl StepRow {
    fn into_step(self) -> Result<Step> {
        Ok(Step {
            number: self.number,
            name: self.name,
            display_name: self.display_name,
            status: StepStatus::parse(&self.status)?,
            result: parse_result(self.result)?,
            exit_code: self.exit_code,
            attempts: self.attempts,
            message: self.message,
            started_at: self.started_at.map(Timestamp),
            finished_at: self.finished_at.map(Timestamp),
        })
    }
}

/// A row of `job_id, step_columns!()`.
#[derive(sqlx::FromRow)]
struct JobStepRow {
    job_id: i64,
    #[sqlx(flatten)]
    step: StepRow,
}

/// Implements [`crate::Store::record_step`].
pub(crate) async fn record_step(pools: &DbPools, _context: &Context, lease: &LeaseToken, step: &Step) -> Result<()> {
    let mut transaction = pools.writer.begin().await?;
    lock_leased_job(&mut transaction, lease).await?;
    upsert_step(&mut transaction, lease.job, step).await?;
    transaction.commit().await?;
    Ok(())
}

/// Inserts or replaces a step of a job by its number.
async fn upsert_step(connection: &mut DbConnection, job: JobId, step: &Step) -> Result<()> {
    sqlx::query(
        "INSERT INTO steps (job_id, number, name, display_name, status, result, exit_code, attempts, message, \
         started_at, finished_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (job_id, number) DO UPDATE SET name = COALESCE(excluded.name, steps.name), \
         display_name = excluded.display_name, \
         status = excluded.status, result = excluded.result, exit_code = excluded.exit_code, \
         attempts = excluded.attempts, message = excluded.message, started_at = excluded.started_at, \
         finished_at = excluded.finished_at",
    )
    .bind(job.0)
    .bind(step.number)
    .bind(step.name.as_deref())
    .bind(&step.display_name)
    .bind(step.status.as_str())
    .bind(result_text(step.result))
    .bind(step.exit_code)
    .bind(step.attempts)
    .bind(step.message.as_deref())
    .bind(step.started_at.map(Timestamp::millis))
    .bind(step.finished_at.map(Timestamp::millis))
    .execute(&mut *connection)
    .await?;
    Ok(())
}

/// Implements [`crate::Store::steps_of_job`].
pub(crate) async fn steps_of_job(pools: &DbPools, _context: &Context, job: JobId) -> Result<Vec<Step>> {
    sqlx::query(concat!("SELECT ", step_columns!(), " FROM steps WHERE job_id = $1 ORDER BY number"))
        .bind(job.0)
        .fetch_all(&pools.reader)
        .await?
        .iter()
        .map(read_row::<StepRow>)
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .map(StepRow::into_step)
        .collect()
}

/// Implements [`crate::Store::steps_of_run`].
pub(crate) async fn steps_of_run(pools: &DbPools, _context: &Context, run: RunId) -> Result<Vec<(JobId, Step)>> {
    sqlx::query(concat!(
        "SELECT job_id, ",
        step_columns!(),
        " FROM steps WHERE job_id IN (SELECT id FROM jobs WHERE run_id = $1) ORDER BY job_id, number"
    ))
    .bind(run.0)
    .fetch_all(&pools.reader)
    .await?
    .iter()
    .map(read_row::<JobStepRow>)
    .collect::<Result<Vec<_>>>()?
    .into_iter()
    .map(|row| Ok((JobId(row.job_id), row.step.into_step()?)))
    .collect()
}

// ----- logs -----

/// Stores a chunk of lines at `first_line` and advances the job's line count (and chunk number, for a lease holder's chunk).
async fn insert_chunk(
    connection: &mut DbConnection,
    job: JobId,
    first_line: i64,
    lines: &[String],
    writer: Option<(&str, i64)>,
) -> Result<()> {
    let count = i64::try_from(lines.len()).map_err(|_| StoreError::invalid("log chunk", "too many lines"))?;
    sqlx::query("INSERT INTO log_chunks (job_id, first_line, line_count, lease_id, sequence, lines) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(job.0)
        .bind(first_line)
        .bind(count)
        .bind(writer.map(|(lease_id, _)| lease_id))
        .bind(writer.map(|(_, sequence)| sequence))
        .bind(to_json("log lines", &lines)?)
        .execute(&mut *connection)
        .await?;
    let sequence_step = i64::from(writer.is_some());
    sqlx::query("UPDATE jobs SET log_lines = log_lines + $2, log_sequence = log_sequence + $3 WHERE id = $1")
        .bind(job.0)
        .bind(count)
        .bind(sequence_step)
        .execute(&mut *connection)
        .await?;
    Ok(())
}

/// Locks the job of a chunk its lease holder sends and checks the chunk: `None` when it was stored
/// before (a retried upload: same lease, number and lines), else the job and the number of the
/// chunk's first line.
async fn check_chunk(
    connection: &mut DbConnection,
    lease: &LeaseToken,
    sequence: i64,
    lines: &[String],
) -> Result<Option<(Job, i64)>> {
    let (job, lease_id, expected, log_lines) = lock_job(&mut *connection, lease.job).await?;
    // A chunk stored before under this lease is recognised first, even after the job completed.
    let stored: Option<String> =
        sqlx::query_scalar("SELECT lines FROM log_chunks WHERE job_id = $1 AND lease_id = $2 AND sequence = $3")
            .bind(lease.job.0)
            .bind(&lease.lease_id)
            .bind(sequence)
            .fetch_optional(&mut *connection)
            .await?;
    if let Some(stored) = stored {
        let stored: Vec<String> = serde_json::from_str(&stored)
            .map_err(|error| StoreError::corrupt(format!("log chunk {sequence} of job {}: {error}", lease.job)))?;
        if stored != lines {
            return Err(StoreError::LogChunkMismatch { job: lease.job, sequence });
        }
        return Ok(None);
    }
    let held = job.status == JobStatus::Running
        && lease_id.as_deref().is_some_and(|current| constant_time_equal(current, &lease.lease_id));
    if !held {
        return Err(StoreError::LeaseLost { job: lease.job });
    }
    if sequence != expected {
        return Err(StoreError::LogChunkOutOfOrder { job: lease.job, sequence, expected });
    }
    Ok(Some((job, log_lines)))
}

/// Implements [`crate::Store::append_log_chunk`].
pub(crate) async fn append_log_chunk(
    pools: &DbPools,
    _context: &Context,
    lease: &LeaseToken,
    sequence: i64,
    lines: &[String],
) -> Result<ChunkOutcome> {
    let mut transaction = pools.writer.begin().await?;
    let Some((_, first_line)) = check_chunk(&mut transaction, lease, sequence, lines).await? else {
        return Ok(ChunkOutcome::AlreadyStored);
    };
    insert_chunk(&mut transaction, lease.job, first_line, lines, Some((&lease.lease_id, sequence))).await?;
    transaction.commit().await?;
    Ok(ChunkOutcome::Stored { first_line })
}

/// Implements [`crate::Store::append_job_chunk`].
pub(crate) async fn append_job_chunk(
    pools: &DbPools,
    context: &Context,
    lease: &LeaseToken,
    chunk: &JobChunk,
) -> Result<ChunkOutcome> {
    let mut transaction = pools.writer.begin().await?;
    let Some((job, first_line)) = check_chunk(&mut transaction, lease, chunk.sequence, &chunk.lines).await? else {
        return Ok(ChunkOutcome::AlreadyStored);
    };
    insert_chunk(&mut transaction, lease.job, first_line, &chunk.lines, Some((&lease.lease_id, chunk.sequence)))
        .await?;
    if !chunk.events.is_empty() {
        add_events(&mut transaction, job.run, &chunk.events)
            .await?
            .ok_or_else(|| StoreError::not_found("run", job.run))?;
    }
    for step in &chunk.steps {
        upsert_step(&mut transaction, lease.job, step).await?;
    }
    for (step, results) in &chunk.test_runs {
        insert_test_run(&mut transaction, context, job.run, &job.key, *step, results).await?;
    }
    for (step, coverage) in &chunk.coverage {
        insert_coverage(&mut transaction, job.run, &job.key, *step, coverage).await?;
    }
    transaction.commit().await?;
    Ok(ChunkOutcome::Stored { first_line })
}

/// Implements [`crate::Store::append_log_lines`].
pub(crate) async fn append_log_lines(pools: &DbPools, _context: &Context, job: JobId, lines: &[String]) -> Result<i64> {
    let mut transaction = pools.writer.begin().await?;
    let (_, _, _, log_lines) = lock_job(&mut transaction, job).await?;
    insert_chunk(&mut transaction, job, log_lines, lines, None).await?;
    transaction.commit().await?;
    Ok(log_lines)
}

/// Implements [`crate::Store::read_log`].
pub(crate) async fn read_log(
    pools: &DbPools,
    _context: &Context,
    job: JobId,
    from_line: i64,
    max_lines: i64,
) -> Result<LogSlice> {
    const CHUNKS_PER_QUERY: i64 = 200;
    let from_line = from_line.max(0);
    let max_lines = max_lines.max(0);
    // The job's state is read before its lines: if it had completed, every line is among them.
    let status: Option<String> =
        sqlx::query_scalar("SELECT status FROM jobs WHERE id = $1").bind(job.0).fetch_optional(&pools.reader).await?;
    let status = status.ok_or_else(|| StoreError::not_found("job", job))?;
    let job_completed = JobStatus::parse(&status)? == JobStatus::Completed;
    let mut start: i64 = sqlx::query_scalar::<_, Option<i64>>(
        "SELECT MAX(first_line) FROM log_chunks WHERE job_id = $1 AND first_line <= $2",
    )
    .bind(job.0)
    .bind(from_line)
    .fetch_one(&pools.reader)
    .await?
    .unwrap_or(0);
    let mut lines = Vec::new();
    let mut next_line = from_line;
    let mut last_chunk_id = i64::MIN;
    'pages: while i64::try_from(lines.len()).unwrap_or(i64::MAX) < max_lines {
        let chunks: Vec<(i64, i64, String)> = sqlx::query(
            "SELECT id, first_line, lines FROM log_chunks WHERE job_id = $1 AND (first_line > $2 OR (first_line = $2 AND id > $3)) \
             ORDER BY first_line, id LIMIT $4",
        )
        .bind(job.0)
        .bind(start)
        .bind(last_chunk_id)
        .bind(CHUNKS_PER_QUERY)
        .fetch_all(&pools.reader)
        .await?
        .iter()
        .map(read_row)
        .collect::<Result<Vec<_>>>()?;
        for (id, first_line, chunk_lines) in &chunks {
            let first_line = *first_line;
            start = first_line;
            last_chunk_id = *id;
            let chunk_lines: Vec<String> = from_json("lines", chunk_lines)?;
            for (offset, line) in chunk_lines.into_iter().enumerate() {
                let number = first_line + i64::try_from(offset).unwrap_or(i64::MAX);
                if number < next_line {
                    continue;
                }
                if i64::try_from(lines.len()).unwrap_or(i64::MAX) >= max_lines {
                    break 'pages;
                }
                lines.push(line);
                next_line = number + 1;
            }
        }
        if i64::try_from(chunks.len()).unwrap_or(0) < CHUNKS_PER_QUERY {
            break;
        }
    }
    Ok(LogSlice { first_line: from_line, lines, next_line, job_completed })
}

// ----- events -----

/// Implements [`crate::Store::append_events`].
pub(crate) async fn append_events(pools: &DbPools, _context: &Context, run: RunId, events: &[Event]) -> Result<i64> {
    let mut transaction = pools.writer.begin().await?;
    let first = add_events(&mut transaction, run, events).await?.ok_or_else(|| StoreError::not_found("run", run))?;
    transaction.commit().await?;
    Ok(first)
}

/// Appends events to a run's record: the sequence number of the first, `None` for an unknown run.
async fn add_events(connection: &mut DbConnection, run: RunId, events: &[Event]) -> Result<Option<i64>> {
    let count = i64::try_from(events.len()).map_err(|_| StoreError::invalid("events", "too many"))?;
    // The update locks the run's row, so concurrent appends to one run are numbered one after another.
    let total: Option<i64> =
        sqlx::query_scalar("UPDATE runs SET event_count = event_count + $2 WHERE id = $1 RETURNING event_count")
            .bind(run.0)
            .bind(count)
            .fetch_optional(&mut *connection)
            .await?;
    let Some(total) = total else {
        return Ok(None);
    };
    let first = total - count + 1;
    for (sequence, event) in (first..).zip(events) {
        sqlx::query("INSERT INTO run_events (run_id, sequence, event) VALUES ($1, $2, $3)")
            .bind(run.0)
            .bind(sequence)
            .bind(event.to_json_line())
            .execute(&mut *connection)
            .await?;
    }
    Ok(Some(first))
}

/// Implements [`crate::Store::read_events`].
pub(crate) async fn read_events(
    pools: &DbPools,
    _context: &Context,
    run: RunId,
    after: i64,
    limit: i64,
) -> Result<Vec<StoredEvent>> {
    let events: Vec<(i64, String)> = sqlx::query(
        "SELECT sequence, event FROM run_events WHERE run_id = $1 AND sequence > $2 ORDER BY sequence LIMIT $3",
    )
    .bind(run.0)
    .bind(after)
    .bind(limit.max(0))
    .fetch_all(&pools.reader)
    .await?
    .iter()
    .map(read_row)
    .collect::<Result<Vec<_>>>()?;
    Ok(events.into_iter().map(|(sequence, json)| StoredEvent { sequence, json }).collect())
}
