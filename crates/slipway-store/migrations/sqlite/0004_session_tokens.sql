-- Slipway store, version 4, SQLite: a browser session belongs to the access token it was opened
-- with, and ends with it (revoked, expired or deleted). Sessions opened before this version
-- name no token: they are ended, and their users sign in again.

DELETE FROM sessions;
ALTER TABLE sessions ADD COLUMN access_token_id INTEGER REFERENCES access_tokens (id) ON DELETE CASCADE;
CREATE INDEX sessions_by_token ON sessions (access_token_id);
