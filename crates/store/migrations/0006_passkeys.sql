-- Passkeys (WebAuthn credentials) and the ceremonies in flight. A ceremony's state lives here,
-- not in a node's memory, because the answer may reach another node; a ceremony is deleted when
-- it is answered (single use) and is worthless after `expires_at_ms`.

CREATE TABLE passkeys (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    -- base64url of the raw credential id, as authenticators name the credential.
    credential_id TEXT NOT NULL,
    -- webauthn-rs's serialised credential: public key, counter, backup state.
    passkey_json TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    last_used_at_ms BIGINT
);
CREATE UNIQUE INDEX passkeys_credential_key ON passkeys (credential_id);
CREATE INDEX passkeys_user ON passkeys (user_id, created_at_ms);

CREATE TABLE webauthn_ceremonies (
    id TEXT PRIMARY KEY,
    -- The signed-in user a registration belongs to; NULL for sign-in challenges.
    user_id TEXT REFERENCES users (id),
    purpose TEXT NOT NULL,
    state_json TEXT NOT NULL,
    expires_at_ms BIGINT NOT NULL
);
CREATE INDEX webauthn_ceremonies_expiry ON webauthn_ceremonies (expires_at_ms);
