-- Slipway store, version 3, PostgreSQL: what a job needs to run anywhere, and agent pool settings.

-- The job's work (its piece of the plan and its variables, secrets included), sealed with the
-- store's key, written when the job becomes ready so that any server process can hand it out.
CREATE TABLE job_specs (
    job_id BIGINT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    sealed BYTEA NOT NULL
);

-- Settings of an agent pool, as JSON (what happens to a lost agent's job, vmImage demands).
CREATE TABLE pools (
    name TEXT PRIMARY KEY,
    settings TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE INDEX jobs_by_holder ON jobs (lease_holder) WHERE status = 'running';
