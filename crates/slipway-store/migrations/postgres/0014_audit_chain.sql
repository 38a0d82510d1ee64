-- Slipway store, version 14, PostgreSQL: the audit log made tamper-evident. Each entry carries the
-- hash of the entry before it (`prev_hash`) and its own (`hash`, over its fields and
-- `prev_hash`); entries recorded before this version have neither until the store chains them.

ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN hash TEXT;
