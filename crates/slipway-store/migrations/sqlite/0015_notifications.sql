-- Slipway store, version 15, SQLite: notification subscriptions and their deliveries.
--
-- A subscription sends the event stream's events it selects (its scope: everything, a pipeline
-- or an environment; its filters: event type prefixes, branches, results, each list empty for
-- "any") to Slack, Microsoft Teams, an e-mail address or a generic webhook (`kind`, `target`).
-- A webhook's HMAC key is sealed with the store's key (`sealed_secret`, nonce and ciphertext).
--
-- A delivery is one event for one subscription, unique by (subscription, event position) so
-- that an event is queued once per subscription however often the consumer reads it; a test
-- delivery has no position. It keeps the event it carries (`document`), its state (pending,
-- delivered, failed), its attempts and when to try next, and the last error and answer.

CREATE TABLE notification_subscriptions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    sealed_secret BLOB,
    scope_kind TEXT NOT NULL,
    scope_name TEXT,
    event_types TEXT NOT NULL DEFAULT '[]',
    branches TEXT NOT NULL DEFAULT '[]',
    results TEXT NOT NULL DEFAULT '[]',
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE notification_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subscription_id INTEGER NOT NULL REFERENCES notification_subscriptions (id) ON DELETE CASCADE,
    event_position INTEGER,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    document TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    last_error TEXT,
    response_status INTEGER,
    created_at INTEGER NOT NULL,
    delivered_at INTEGER,
    UNIQUE (subscription_id, event_position)
);

CREATE INDEX notification_deliveries_due ON notification_deliveries (next_attempt_at) WHERE state = 'pending';
