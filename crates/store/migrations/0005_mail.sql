-- Mail: the outbox every message passes through on its way to SMTP, single-use links sent by
-- email (stored only as SHA-256 hashes), and when an address was proven to reach its owner.

ALTER TABLE users ADD COLUMN email_verified_at_ms BIGINT;

-- One row per message. A row is due while sent_at_ms is NULL and next_attempt_at_ms has
-- passed; a sender claims it by moving next_attempt_at_ms forward (a lease), so several
-- processes never send the same row at the same time. user_id is NULL for mail to an address
-- that names no account.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    user_id TEXT REFERENCES users (id),
    to_address TEXT NOT NULL,
    kind TEXT NOT NULL,
    locale TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at_ms BIGINT NOT NULL,
    sent_at_ms BIGINT,
    last_error TEXT
);
CREATE INDEX outbox_due ON outbox (next_attempt_at_ms) WHERE sent_at_ms IS NULL;
CREATE INDEX outbox_to ON outbox (to_address, kind, created_at_ms);
CREATE INDEX outbox_user ON outbox (user_id, kind, created_at_ms);

-- purpose: verify_email, password_reset or freeze. A token is spent by the one UPDATE that
-- sets used_at_ms while it is NULL and the token has not expired.
CREATE TABLE email_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    purpose TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    used_at_ms BIGINT
);
CREATE INDEX email_tokens_user ON email_tokens (user_id, purpose);
