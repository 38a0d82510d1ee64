-- Slipway store, version 6, SQLite: the `counter(prefix, seed)` values each run was given, so that a
-- run taken up again (after a restart) sees the same values, and the next run the next ones.

CREATE TABLE run_counters (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    prefix TEXT NOT NULL,
    value INTEGER NOT NULL,
    PRIMARY KEY (run_id, prefix)
);
