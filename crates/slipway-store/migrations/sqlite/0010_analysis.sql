-- Slipway store, version 10, SQLite: how a progressive deployment ended (promoted, rolled back with
-- the analysis that caused it), and analysis runs (an Argo-style template measured by the server,
-- with every measurement kept).

ALTER TABLE deployments ADD COLUMN outcome TEXT;
ALTER TABLE deployments ADD COLUMN outcome_detail TEXT;
ALTER TABLE deployments ADD COLUMN analysis_run_id INTEGER;

CREATE TABLE analysis_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    service_id INTEGER NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    job_id INTEGER REFERENCES jobs (id) ON DELETE SET NULL,
    run_id INTEGER REFERENCES runs (id) ON DELETE SET NULL,
    template_name TEXT NOT NULL,
    template TEXT NOT NULL,
    load TEXT,
    phase TEXT NOT NULL,
    message TEXT,
    measurements TEXT NOT NULL DEFAULT '{}',
    started_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    finished_at INTEGER
);

CREATE INDEX analysis_runs_service ON analysis_runs (service_id, id);
CREATE INDEX analysis_runs_unfinished ON analysis_runs (finished_at);
