-- Slipway store, version 5, PostgreSQL: whether a pipeline takes new runs (Azure's queue status:
-- `enabled` or `disabled`), and what its triggers last found when they read its repository.

ALTER TABLE pipelines ADD COLUMN queue_status TEXT NOT NULL DEFAULT 'enabled';
ALTER TABLE pipelines ADD COLUMN trigger_checked_at BIGINT;
ALTER TABLE pipelines ADD COLUMN trigger_error TEXT;
