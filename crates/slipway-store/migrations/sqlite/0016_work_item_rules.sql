-- Slipway store, version 16, SQLite: each pipeline's rules for work items opened from its runs.
--
-- A pipeline without a row has the default rules. `rules` is a JSON object: whether failed runs
-- open bugs (`failures`), the protected branches whose runs count (`branches`, wildcards; empty
-- for the pipeline's default branch), the lowest severity of a security finding that opens a bug
-- (`security`: off, low, medium, high or critical), whether its failed deployments open
-- incidents (`incidents`), and whom new items are assigned to (`assignee`).

CREATE TABLE pipeline_work_item_rules (
    pipeline_id INTEGER PRIMARY KEY REFERENCES pipelines (id) ON DELETE CASCADE,
    rules TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
