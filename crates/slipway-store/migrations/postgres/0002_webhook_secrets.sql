-- Slipway store, version 2, PostgreSQL: each pipeline's webhook secret, sealed (nonce and
-- ciphertext) like secret variables.

CREATE TABLE webhook_secrets (
    pipeline_id BIGINT PRIMARY KEY REFERENCES pipelines (id) ON DELETE CASCADE,
    sealed BYTEA NOT NULL,
    updated_at BIGINT NOT NULL
);
