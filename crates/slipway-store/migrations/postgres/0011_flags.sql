-- Slipway store, version 11, PostgreSQL: the feature flags of each environment, one flagd flag-definition
-- document (JSON text) per environment, with a revision that every change increases (for
-- optimistic concurrency) and who changed it last, when.

CREATE TABLE environment_flags (
    environment_id BIGINT PRIMARY KEY REFERENCES environments (id) ON DELETE CASCADE,
    document TEXT NOT NULL,
    revision BIGINT NOT NULL,
    updated_by TEXT,
    updated_at BIGINT NOT NULL
);
