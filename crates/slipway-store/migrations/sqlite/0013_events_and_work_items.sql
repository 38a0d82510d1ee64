-- Slipway store, version 13, SQLite: the event stream and work items.
--
-- `changes` is the outbox the event stream is fed from: every state change the stream reports
-- (a run queued, started or finished, a job started or finished, an artifact or test results
-- published, a deployment recorded, finished or given its outcome, an environment created, an
-- approval asked for or decided, a work item opened, changed or resolved) adds a row in the same
-- transaction as the change itself, so that nothing is reported that did not happen and nothing
-- that happened is lost, even across a kill -9.
--
-- `events` is the stream: CDEvents as structured CloudEvents (JSON text), Slipway's own (made
-- from `changes`, with ids derived from them, so making one twice stores it once) and those
-- pushed in from outside (`origin`), in the order they were stored (`id`). `event_cursors` keeps
-- how far each consumer has read.
--
-- `work_items` are bugs, tasks and incidents; `dedup_key` identifies what an automatically
-- opened one is about (pipeline, stage/job, failure signature), unique among those not resolved
-- or closed, so a repeat bumps `occurrences` instead of opening another. `work_item_links` ties
-- them to runs, commits, deployments, environments and pipelines; `work_item_comments` keeps
-- their history.

CREATE TABLE changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    subject_id INTEGER NOT NULL,
    at INTEGER NOT NULL,
    details TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL,
    source TEXT NOT NULL,
    type TEXT NOT NULL,
    subject TEXT NOT NULL,
    time INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    origin TEXT NOT NULL,
    pipeline TEXT,
    environment TEXT,
    document TEXT NOT NULL,
    UNIQUE (source, event_id)
);

CREATE INDEX events_by_type ON events (type, id);
CREATE INDEX events_by_environment ON events (environment, id);

CREATE TABLE event_cursors (
    name TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE work_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,
    severity TEXT,
    assignee TEXT,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    resolved_at INTEGER,
    resolution TEXT,
    dedup_key TEXT,
    occurrences INTEGER NOT NULL DEFAULT 1,
    pipeline_id INTEGER REFERENCES pipelines (id) ON DELETE SET NULL,
    environment TEXT,
    deployment_id INTEGER REFERENCES deployments (id) ON DELETE SET NULL
);

CREATE UNIQUE INDEX work_items_open_key ON work_items (dedup_key)
    WHERE dedup_key IS NOT NULL AND state NOT IN ('resolved', 'closed');
CREATE INDEX work_items_by_state ON work_items (state, id);

CREATE TABLE work_item_links (
    work_item_id INTEGER NOT NULL REFERENCES work_items (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (work_item_id, kind, target)
);

CREATE INDEX work_item_links_target ON work_item_links (kind, target);

CREATE TABLE work_item_comments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    work_item_id INTEGER NOT NULL REFERENCES work_items (id) ON DELETE CASCADE,
    at INTEGER NOT NULL,
    author TEXT NOT NULL,
    text TEXT NOT NULL
);

CREATE INDEX work_item_comments_item ON work_item_comments (work_item_id, id);
