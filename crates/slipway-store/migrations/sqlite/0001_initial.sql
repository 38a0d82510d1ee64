-- Slipway store, version 1, SQLite. Times are milliseconds since the Unix epoch; JSON is text.

CREATE TABLE store_meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE pipelines (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    repository TEXT NOT NULL,
    yaml_path TEXT NOT NULL,
    default_branch TEXT NOT NULL,
    retention_days INTEGER,
    retention_runs INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE branch_heads (
    pipeline_id INTEGER NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
    branch TEXT NOT NULL,
    commit_sha TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (pipeline_id, branch)
);

CREATE TABLE schedule_fires (
    pipeline_id INTEGER NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
    schedule TEXT NOT NULL,
    last_fired_at INTEGER NOT NULL,
    PRIMARY KEY (pipeline_id, schedule)
);

CREATE TABLE counters (
    pipeline_id INTEGER NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('revision', 'counter')),
    prefix TEXT NOT NULL,
    value INTEGER NOT NULL,
    PRIMARY KEY (pipeline_id, kind, prefix)
);

-- AUTOINCREMENT: a run id (Build.BuildId) is never reused, even after the newest run is deleted.
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    pipeline_id INTEGER NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
    run_number TEXT NOT NULL,
    trigger_kind TEXT NOT NULL,
    trigger_details TEXT NOT NULL,
    branch TEXT,
    commit_sha TEXT,
    parameters TEXT NOT NULL,
    variables TEXT NOT NULL,
    plan TEXT,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'completed')),
    result TEXT,
    requested_by TEXT,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    keep INTEGER NOT NULL DEFAULT 0,
    retry_of INTEGER REFERENCES runs (id) ON DELETE SET NULL,
    upstream_run_id INTEGER REFERENCES runs (id) ON DELETE SET NULL,
    event_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX runs_by_pipeline ON runs (pipeline_id, id);
CREATE INDEX runs_by_status ON runs (status, id);
CREATE INDEX runs_by_retry_of ON runs (retry_of) WHERE retry_of IS NOT NULL;
CREATE INDEX runs_by_upstream ON runs (upstream_run_id) WHERE upstream_run_id IS NOT NULL;

CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    job_key TEXT NOT NULL,
    stage TEXT NOT NULL,
    job TEXT NOT NULL,
    leg TEXT,
    display_name TEXT NOT NULL,
    pool TEXT NOT NULL,
    demands TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'queued', 'running', 'completed')),
    result TEXT,
    message TEXT,
    attempt INTEGER NOT NULL DEFAULT 0,
    lease_id TEXT,
    lease_holder TEXT,
    lease_expires_at INTEGER,
    log_sequence INTEGER NOT NULL DEFAULT 0,
    log_lines INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    queued_at INTEGER,
    started_at INTEGER,
    finished_at INTEGER,
    UNIQUE (run_id, job_key)
);
CREATE INDEX jobs_queue ON jobs (pool, queued_at, id) WHERE status = 'queued';
CREATE INDEX jobs_leases ON jobs (lease_expires_at) WHERE status = 'running';

CREATE TABLE steps (
    job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    name TEXT,
    display_name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'completed')),
    result TEXT,
    exit_code INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    message TEXT,
    started_at INTEGER,
    finished_at INTEGER,
    PRIMARY KEY (job_id, number)
);

-- lines: a JSON array of strings. lease_id and sequence identify a chunk a worker sent, so that
-- a chunk sent again is recognised; lines the server writes itself have neither.
CREATE TABLE log_chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    first_line INTEGER NOT NULL,
    line_count INTEGER NOT NULL,
    lease_id TEXT,
    sequence INTEGER,
    lines TEXT NOT NULL
);
CREATE INDEX log_chunks_by_line ON log_chunks (job_id, first_line);
CREATE UNIQUE INDEX log_chunks_by_sequence ON log_chunks (job_id, lease_id, sequence) WHERE lease_id IS NOT NULL;

CREATE TABLE run_events (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    sequence INTEGER NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (run_id, sequence)
);

CREATE TABLE artifacts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    job_id INTEGER REFERENCES jobs (id) ON DELETE SET NULL,
    name TEXT NOT NULL,
    digest TEXT NOT NULL,
    manifest TEXT NOT NULL,
    file_count INTEGER NOT NULL,
    byte_count INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (run_id, name)
);
CREATE INDEX artifacts_by_job ON artifacts (job_id);

CREATE TABLE artifact_blobs (
    artifact_id INTEGER NOT NULL REFERENCES artifacts (id) ON DELETE CASCADE,
    digest TEXT NOT NULL,
    PRIMARY KEY (artifact_id, digest)
);
CREATE INDEX artifact_blobs_by_digest ON artifact_blobs (digest);

CREATE TABLE test_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    job_key TEXT NOT NULL,
    step INTEGER NOT NULL,
    total INTEGER NOT NULL,
    passed INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    skipped INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX test_runs_by_run ON test_runs (run_id, id);

CREATE TABLE coverage_summaries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    job_key TEXT NOT NULL,
    step INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX coverage_summaries_by_run ON coverage_summaries (run_id, id);

CREATE TABLE variable_groups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- A secret variable has only `sealed` (nonce and ciphertext); any other only `value`.
CREATE TABLE group_variables (
    owner_id INTEGER NOT NULL REFERENCES variable_groups (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    is_secret INTEGER NOT NULL,
    value TEXT,
    sealed BLOB,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (owner_id, name),
    CHECK ((is_secret AND value IS NULL AND sealed IS NOT NULL) OR (NOT is_secret AND value IS NOT NULL AND sealed IS NULL))
);

CREATE TABLE pipeline_variables (
    owner_id INTEGER NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    is_secret INTEGER NOT NULL,
    value TEXT,
    sealed BLOB,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (owner_id, name),
    CHECK ((is_secret AND value IS NULL AND sealed IS NOT NULL) OR (NOT is_secret AND value IS NOT NULL AND sealed IS NULL))
);

CREATE TABLE job_outputs (
    owner_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    is_secret INTEGER NOT NULL,
    value TEXT,
    sealed BLOB,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (owner_id, name),
    CHECK ((is_secret AND value IS NULL AND sealed IS NOT NULL) OR (NOT is_secret AND value IS NOT NULL AND sealed IS NULL))
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'contributor', 'reader')),
    created_at INTEGER NOT NULL
);

CREATE TABLE access_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL UNIQUE,
    hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    expires_at INTEGER,
    revoked_at INTEGER
);
CREATE INDEX access_tokens_by_user ON access_tokens (user_id);

CREATE TABLE sessions (
    hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE agents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    pool TEXT NOT NULL,
    capabilities TEXT NOT NULL,
    version TEXT NOT NULL,
    credential_prefix TEXT NOT NULL UNIQUE,
    credential_hash TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('idle', 'busy', 'draining', 'offline')),
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER
);

CREATE TABLE registration_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    prefix TEXT NOT NULL UNIQUE,
    hash TEXT NOT NULL,
    created_by TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    used_at INTEGER,
    agent_id INTEGER REFERENCES agents (id) ON DELETE SET NULL
);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    details TEXT NOT NULL
);
