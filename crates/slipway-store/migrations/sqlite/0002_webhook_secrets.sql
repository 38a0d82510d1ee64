-- Slipway store, version 2, SQLite: each pipeline's webhook secret, sealed (nonce and ciphertext)
-- like secret variables.

CREATE TABLE webhook_secrets (
    pipeline_id INTEGER PRIMARY KEY REFERENCES pipelines (id) ON DELETE CASCADE,
    sealed BLOB NOT NULL,
    updated_at INTEGER NOT NULL
);
