-- Slipway store, version 8, SQLite: environments (created on first use by a deployment job, or
-- by an admin), the checks admins put on protected resources (environments, variable groups,
-- agent pools), the deployments made to them, and what a
-- run's stage waits for: one checkpoint per stage that uses a protected resource (superseded when
-- failed jobs are run again), the checks it evaluates (a copy of each check as it was when the
-- stage reached it), approvers' decisions, and the exclusive locks held on resources.

CREATE TABLE environments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    created_by TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE checks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    resource_type TEXT NOT NULL,
    resource_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    settings TEXT NOT NULL,
    timeout_minutes INTEGER NOT NULL,
    created_by TEXT,
    created_at INTEGER NOT NULL
);

CREATE INDEX checks_resource ON checks (resource_type, resource_key);

CREATE TABLE deployments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    environment_id INTEGER NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    resource TEXT,
    pipeline_id INTEGER NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL,
    stage TEXT NOT NULL,
    job TEXT NOT NULL,
    strategy TEXT NOT NULL,
    commit_sha TEXT,
    branch TEXT,
    triggered_by TEXT NOT NULL,
    queued_at INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER,
    result TEXT,
    artifacts TEXT NOT NULL DEFAULT '[]',
    changes TEXT
);

CREATE INDEX deployments_environment ON deployments (environment_id, id);
CREATE INDEX deployments_job ON deployments (job_id);

CREATE TABLE checkpoints (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    stage TEXT NOT NULL,
    state TEXT NOT NULL,
    message TEXT,
    superseded BOOLEAN NOT NULL DEFAULT FALSE,
    created_at INTEGER NOT NULL,
    finished_at INTEGER
);

CREATE UNIQUE INDEX checkpoints_current ON checkpoints (run_id, stage) WHERE NOT superseded;

CREATE TABLE check_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    checkpoint_id INTEGER NOT NULL REFERENCES checkpoints (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    check_id INTEGER,
    resource_type TEXT NOT NULL,
    resource_key TEXT NOT NULL,
    resource_name TEXT NOT NULL,
    kind TEXT NOT NULL,
    settings TEXT NOT NULL,
    timeout_minutes INTEGER NOT NULL,
    state TEXT NOT NULL,
    message TEXT,
    created_at INTEGER NOT NULL,
    finished_at INTEGER,
    next_at INTEGER
);

CREATE INDEX check_runs_checkpoint ON check_runs (checkpoint_id, position);
CREATE INDEX check_runs_pending ON check_runs (kind, state);

CREATE TABLE approval_decisions (
    check_run_id INTEGER NOT NULL REFERENCES check_runs (id) ON DELETE CASCADE,
    user_name TEXT NOT NULL,
    status TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    decided_at INTEGER NOT NULL,
    effective_at INTEGER NOT NULL,
    PRIMARY KEY (check_run_id, user_name)
);

CREATE TABLE resource_locks (
    resource_type TEXT NOT NULL,
    resource_key TEXT NOT NULL,
    checkpoint_id INTEGER NOT NULL REFERENCES checkpoints (id) ON DELETE CASCADE,
    run_id INTEGER NOT NULL,
    stage TEXT NOT NULL,
    acquired_at INTEGER NOT NULL,
    PRIMARY KEY (resource_type, resource_key)
);
