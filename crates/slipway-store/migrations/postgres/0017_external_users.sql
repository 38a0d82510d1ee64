-- Slipway store, version 17, PostgreSQL: users signed in with OpenID Connect, and sessions of
-- their own.
--
-- An external user is keyed by the provider's issuer and its subject (`issuer`, `subject`), never
-- by name: a provider account named `admin` gets a Slipway name of its own and never the local
-- admin. `disabled_at` disables a user: its tokens and sessions stop working. A session opened by
-- an OpenID Connect sign-in names no access token (`access_token_id` NULL) and ends when it expires,
-- when its user is disabled or deleted, or at sign-out.

ALTER TABLE users ADD COLUMN issuer TEXT;
ALTER TABLE users ADD COLUMN subject TEXT;
ALTER TABLE users ADD COLUMN disabled_at BIGINT;
ALTER TABLE users ADD CONSTRAINT users_identity_whole CHECK ((issuer IS NULL) = (subject IS NULL));
CREATE UNIQUE INDEX users_by_identity ON users (issuer, subject) WHERE issuer IS NOT NULL;
