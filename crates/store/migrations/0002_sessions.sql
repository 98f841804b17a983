-- Sessions and API tokens (stored only as SHA-256 hashes), login throttles, security events,
-- and the freeze flag.

ALTER TABLE users ADD COLUMN frozen_at_ms BIGINT;

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    token_hash TEXT NOT NULL,
    kind TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    ip TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    last_seen_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    revoked_at_ms BIGINT,
    revoked_reason TEXT
);
CREATE UNIQUE INDEX sessions_token_key ON sessions (token_hash);
CREATE INDEX sessions_user ON sessions (user_id, created_at_ms);

-- One row per throttled key: `account:<user id>` or `ip:<address>`.
CREATE TABLE login_throttles (
    key TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    window_started_ms BIGINT NOT NULL,
    locked_until_ms BIGINT NOT NULL,
    lockouts BIGINT NOT NULL,
    last_failure_ms BIGINT NOT NULL
);

CREATE TABLE security_events (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    at_ms BIGINT NOT NULL,
    kind TEXT NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX security_events_user ON security_events (user_id, at_ms);
