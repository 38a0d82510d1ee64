//! [`Store`]'s record of what jobs report while they run: steps, log lines (in chunks, each stored
//! once) and run events.

use slipway_events::Event;

use super::Store;
use crate::WHOLE_LOG_PAGE;
use crate::error::Result;
#[cfg(doc)]
use crate::error::StoreError;
use crate::model::{ChunkOutcome, Job, JobChunk, JobId, LeaseToken, LogSlice, RunId, Step, StoredEvent};

impl Store {
    // ----- steps -----

    /// Records a step of a leased job (insert or replace by its number).
    ///
    /// # Errors
    /// [`StoreError::LeaseLost`] when the caller does not hold the lease.
    pub async fn record_step(&self, lease: &LeaseToken, step: &Step) -> Result<()> {
        dispatch!(self, logs::record_step(lease, step))
    }

    /// A job's steps by number.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn steps_of_job(&self, job: JobId) -> Result<Vec<Step>> {
        dispatch!(self, logs::steps_of_job(job))
    }

    /// The steps of all jobs of a run, by job and number.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn steps_of_run(&self, run: RunId) -> Result<Vec<(JobId, Step)>> {
        dispatch!(self, logs::steps_of_run(run))
    }

    // ----- logs -----

    /// Appends a chunk of log lines sent by the lease holder. Chunks are numbered from 0 for each
    /// lease and must come in order; a chunk already stored (a retried upload) is not stored again.
    ///
    /// # Errors
    /// [`StoreError::LogChunkOutOfOrder`] when an earlier chunk is missing;
    /// [`StoreError::LogChunkMismatch`] when the chunk was stored with other lines;
    /// [`StoreError::LeaseLost`] when the caller does not hold the lease.
    pub async fn append_log_chunk(&self, lease: &LeaseToken, sequence: i64, lines: &[String]) -> Result<ChunkOutcome> {
        dispatch!(self, logs::append_log_chunk(lease, sequence, lines))
    }

    /// Stores what a lease holder sends about its job in one transaction: the chunk's log lines,
    /// its events (appended to the run's), its steps, test results and coverage. Chunks are
    /// numbered from 0 for each lease and must come in order; a chunk stored before (a retried
    /// upload, recognised by its number and lines) changes nothing.
    ///
    /// # Errors
    /// As [`Store::append_log_chunk`].
    pub async fn append_job_chunk(&self, lease: &LeaseToken, chunk: &JobChunk) -> Result<ChunkOutcome> {
        dispatch!(self, logs::append_job_chunk(lease, chunk))
    }

    /// Appends lines the server writes itself to a job's log, in any state of the job; returns the
    /// number of the first one.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown job.
    pub async fn append_log_lines(&self, job: JobId, lines: &[String]) -> Result<i64> {
        dispatch!(self, logs::append_log_lines(job, lines))
    }

    /// Up to `max_lines` lines of a job's log from line `from_line` (counting from 0), for live
    /// following: read again from [`LogSlice::next_line`].
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown job.
    pub async fn read_log(&self, job: JobId, from_line: i64, max_lines: i64) -> Result<LogSlice> {
        dispatch!(self, logs::read_log(job, from_line, max_lines))
    }

    /// The log of a job's current attempt as stored so far (earlier attempts' lines, see
    /// [`crate::JobAttempt`], are left out), one line per `\n`-ended line, read in pages of
    /// [`WHOLE_LOG_PAGE`] lines.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for a job that is gone.
    pub async fn read_whole_log(&self, job: &Job) -> Result<String> {
        self.read_log_lines(job.id, job.log_start, None).await
    }

    /// The lines of a job's log from `from` (up to `until`, or to the end), one per `\n`-ended
    /// line, read in pages of [`WHOLE_LOG_PAGE`] lines: an earlier attempt's log with its
    /// `first_line` and `first_line + line_count`.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown job.
    pub async fn read_log_lines(&self, job: JobId, mut from: i64, until: Option<i64>) -> Result<String> {
        let mut text = String::new();
        loop {
            let wanted = until.map_or(WHOLE_LOG_PAGE, |until| (until - from).min(WHOLE_LOG_PAGE));
            if wanted <= 0 {
                return Ok(text);
            }
            let slice = self.read_log(job, from, wanted).await?;
            for line in &slice.lines {
                text.push_str(line);
                text.push('\n');
            }
            if slice.lines.is_empty() || slice.next_line <= from {
                return Ok(text);
            }
            from = slice.next_line;
        }
    }

    // ----- events -----

    /// Appends events to a run's record; returns the sequence number of the first (from 1).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown run.
    pub async fn append_events(&self, run: RunId, events: &[Event]) -> Result<i64> {
        dispatch!(self, logs::append_events(run, events))
    }

    /// Up to `limit` events of a run with a sequence number above `after` (0 for all), in order.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn read_events(&self, run: RunId, after: i64, limit: i64) -> Result<Vec<StoredEvent>> {
        dispatch!(self, logs::read_events(run, after, limit))
    }
}
