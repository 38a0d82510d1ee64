-- Slipway store, version 11, SQLite: the feature flags of each environment, one flagd flag-definition
-- document (JSON text) per environment, with a revision that every change increases (for
-- optimistic concurrency) and who changed it last, when.

CREATE TABLE environment_flags (
    environment_id INTEGER PRIMARY KEY REFERENCES environments (id) ON DELETE CASCADE,
    document TEXT NOT NULL,
    revision INTEGER NOT NULL,
    updated_by TEXT,
    updated_at INTEGER NOT NULL
);
