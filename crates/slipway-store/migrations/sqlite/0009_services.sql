-- Slipway store, version 9, SQLite: services in environments, each fronted by the traffic router on an
-- address of its own (Slipway's router, or nginx), and their slots (versions running side by side) with their upstreams and
-- traffic weights.

CREATE TABLE services (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    environment_id INTEGER NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    listen TEXT NOT NULL UNIQUE,
    provider TEXT NOT NULL DEFAULT 'router',
    created_by TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (environment_id, name_key)
);

CREATE TABLE service_slots (
    service_id INTEGER NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    upstream TEXT NOT NULL,
    weight INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (service_id, name)
);
