-- okwallet foundation: users, assets, the ledger, adjustments and the audit trail.
-- One dialect for SQLite and PostgreSQL: integers are BIGINT, flags are 0/1, times are
-- nanoseconds or milliseconds since the Unix epoch, money is i64 minor units, keys are text
-- chosen by the application.

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    locale TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_email_key ON users (email);

CREATE TABLE assets (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    decimals BIGINT NOT NULL,
    chain TEXT NOT NULL,
    position BIGINT NOT NULL
);
INSERT INTO assets (code, name, decimals, chain, position) VALUES
    ('ETH', 'Ether', 9, 'ethereum', 1),
    ('USDT', 'Tether USD', 6, 'ethereum', 2),
    ('BTC', 'Bitcoin', 8, 'bitcoin', 3);

-- Balances in TigerBeetle's four totals. flags: 1 = debits must not exceed credits,
-- 2 = credits must not exceed debits. kind: user, equity, … ; user_id is set for user accounts.
CREATE TABLE ledger_accounts (
    id TEXT PRIMARY KEY,
    asset TEXT NOT NULL REFERENCES assets (code),
    kind TEXT NOT NULL,
    user_id TEXT REFERENCES users (id),
    flags BIGINT NOT NULL,
    debits_pending BIGINT NOT NULL,
    debits_posted BIGINT NOT NULL,
    credits_pending BIGINT NOT NULL,
    credits_posted BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX ledger_accounts_user ON ledger_accounts (user_id);

-- The journal. Rows are never updated or deleted. result = 'ok' rows are the postings; other
-- rows remember a refusal under its id so that a retry returns the same answer.
CREATE TABLE ledger_transfers (
    id TEXT PRIMARY KEY,
    result TEXT NOT NULL,
    kind TEXT NOT NULL,
    debit_account_id TEXT,
    credit_account_id TEXT,
    asset TEXT NOT NULL,
    amount BIGINT NOT NULL,
    pending_id TEXT,
    expires_at BIGINT,
    code BIGINT NOT NULL,
    reference TEXT NOT NULL,
    linked BIGINT NOT NULL,
    fingerprint TEXT NOT NULL,
    timestamp BIGINT NOT NULL
);
-- A pending transfer is closed (posted, voided or expired) at most once.
CREATE UNIQUE INDEX ledger_transfers_pending_key ON ledger_transfers (pending_id)
    WHERE result = 'ok' AND pending_id IS NOT NULL;
CREATE INDEX ledger_transfers_debit ON ledger_transfers (debit_account_id, timestamp);
CREATE INDEX ledger_transfers_credit ON ledger_transfers (credit_account_id, timestamp);
CREATE INDEX ledger_transfers_expiry ON ledger_transfers (expires_at)
    WHERE kind = 'pending' AND result = 'ok';
CREATE INDEX ledger_transfers_reference ON ledger_transfers (reference);

-- Manual adjustments by operators: recorded before the transfer is submitted, so no
-- adjustment transfer exists without its reason. The transfer's id is this row's id.
CREATE TABLE ledger_adjustments (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES ledger_accounts (id),
    asset TEXT NOT NULL,
    amount BIGINT NOT NULL,
    reason TEXT NOT NULL,
    actor TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE audit_events (
    id TEXT PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_events_subject ON audit_events (subject, at_ms);
