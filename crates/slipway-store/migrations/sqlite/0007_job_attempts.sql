-- Slipway store, version 7, SQLite: the earlier attempts of jobs that were run again in place
-- (re-running a run's failed jobs), with their results, times and the lines of the job's log that
-- were theirs; log_start is the first line of the current attempt's log.

ALTER TABLE jobs ADD COLUMN log_start INTEGER NOT NULL DEFAULT 0;

CREATE TABLE job_attempts (
    job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL,
    result TEXT,
    message TEXT,
    lease_holder TEXT,
    started_at INTEGER,
    finished_at INTEGER,
    first_line INTEGER NOT NULL,
    line_count INTEGER NOT NULL,
    PRIMARY KEY (job_id, attempt)
);
