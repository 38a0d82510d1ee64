-- Slipway store, version 12, SQLite: the signed provenance of each artifact (a DSSE envelope
-- holding an in-toto statement with a SLSA provenance v1 predicate, as JSON text), recorded in
-- the same transaction as the artifact it describes; NULL for artifacts recorded before.

ALTER TABLE artifacts ADD COLUMN provenance TEXT;
