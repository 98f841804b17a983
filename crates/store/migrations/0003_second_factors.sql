-- TOTP second factors and their recovery codes (stored as salted SHA-256 hashes).

CREATE TABLE totp_factors (
    user_id TEXT PRIMARY KEY REFERENCES users (id),
    secret_base32 TEXT NOT NULL,
    confirmed_at_ms BIGINT,
    last_used_step BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE recovery_codes (
    user_id TEXT NOT NULL REFERENCES users (id),
    code_hash TEXT NOT NULL,
    used_at_ms BIGINT,
    PRIMARY KEY (user_id, code_hash)
);
