-- Deposits and withdrawals on chains: the sealed HD seed, deposit addresses, the watcher's
-- cursor and recent blocks, deposits, the withdrawal address book, withdrawals with every
-- transaction signed for them, the hot wallet's nonces, leases for single-runner workers, and
-- idempotency keys of money-moving requests. Addresses and hashes are stored as 0x-lowercase
-- hex; chain amounts (wei, 18 decimals, can exceed i64) as decimal text, ledger amounts as i64.

-- One row: the operator's HD seed, sealed with the secret key (identity::sealed).
CREATE TABLE wallet_seeds (
    id TEXT PRIMARY KEY,
    sealed TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);

-- One address per user per chain; its HD index never changes and never repeats.
CREATE TABLE deposit_addresses (
    chain TEXT NOT NULL,
    address TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    hd_index BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (chain, address)
);
CREATE UNIQUE INDEX deposit_addresses_user ON deposit_addresses (chain, user_id);
CREATE UNIQUE INDEX deposit_addresses_index ON deposit_addresses (chain, hd_index);

-- The watcher's view of each chain: blocks it has scanned, newest last. The highest row is the
-- cursor; the hashes let it notice a reorganisation and find where the forks part.
CREATE TABLE chain_blocks (
    chain TEXT NOT NULL,
    number BIGINT NOT NULL,
    hash TEXT NOT NULL,
    parent_hash TEXT NOT NULL,
    scanned_at_ms BIGINT NOT NULL,
    PRIMARY KEY (chain, number)
);

-- A deposit is recorded at first sight and credited once, by the ledger transfer whose id is
-- `ledger_transfer_id` (derived from chain, transaction and log index, so exactly once).
-- log_index is -1 for a native transfer.
CREATE TABLE deposits (
    id TEXT PRIMARY KEY,
    chain TEXT NOT NULL,
    tx_hash TEXT NOT NULL,
    log_index BIGINT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    asset TEXT NOT NULL REFERENCES assets (code),
    address TEXT NOT NULL,
    from_address TEXT NOT NULL,
    amount BIGINT NOT NULL,
    amount_raw TEXT NOT NULL,
    block_number BIGINT NOT NULL,
    block_hash TEXT NOT NULL,
    confirmations BIGINT NOT NULL,
    confirmations_required BIGINT NOT NULL,
    status TEXT NOT NULL,
    simulated BIGINT NOT NULL,
    ledger_transfer_id TEXT NOT NULL,
    detected_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    credited_at_ms BIGINT
);
CREATE UNIQUE INDEX deposits_chain_key ON deposits (chain, tx_hash, log_index);
CREATE INDEX deposits_user ON deposits (user_id, detected_at_ms);
CREATE INDEX deposits_open ON deposits (chain, status);

-- The withdrawal address book. An entry is usable from `usable_from_ms` (the time-lock).
CREATE TABLE withdrawal_addresses (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    chain TEXT NOT NULL,
    address TEXT NOT NULL,
    label TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    usable_from_ms BIGINT NOT NULL,
    removed_at_ms BIGINT
);
CREATE UNIQUE INDEX withdrawal_addresses_live ON withdrawal_addresses (user_id, chain, address)
    WHERE removed_at_ms IS NULL;

-- 1: withdrawals go only to address-book entries past their time-lock (the default).
ALTER TABLE users ADD COLUMN withdrawal_allowlist BIGINT NOT NULL DEFAULT 1;

-- A withdrawal's funds are held by two linked pending ledger transfers from the moment it is
-- accepted (`hold_id` for the amount, `fee_hold_id` for our fee); they are posted when the
-- transaction is final and voided when it fails or is rejected.
CREATE TABLE withdrawals (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    asset TEXT NOT NULL REFERENCES assets (code),
    chain TEXT NOT NULL,
    address TEXT NOT NULL,
    amount BIGINT NOT NULL,
    fee BIGINT NOT NULL,
    amount_raw TEXT NOT NULL,
    status TEXT NOT NULL,
    reason_code TEXT,
    needs_review BIGINT NOT NULL,
    reviewed_by TEXT,
    review_note TEXT,
    reviewed_at_ms BIGINT,
    hold_id TEXT NOT NULL,
    fee_hold_id TEXT NOT NULL,
    nonce BIGINT,
    tx_hash TEXT,
    block_number BIGINT,
    block_hash TEXT,
    confirmations BIGINT NOT NULL,
    confirmations_required BIGINT NOT NULL,
    network_fee_raw TEXT,
    simulated BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    broadcast_at_ms BIGINT,
    finished_at_ms BIGINT,
    -- 1 once the holds were posted (completed) or voided (failed, rejected, refused).
    ledger_settled BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX withdrawals_user ON withdrawals (user_id, created_at_ms);
CREATE INDEX withdrawals_open ON withdrawals (chain, status);
CREATE INDEX withdrawals_unsettled ON withdrawals (ledger_settled, status);
-- A nonce names one withdrawal at a time; it is cleared when the node refused the transaction
-- outright (the nonce was never used and goes to the next withdrawal).
CREATE UNIQUE INDEX withdrawals_nonce ON withdrawals (chain, nonce) WHERE nonce IS NOT NULL;

-- Every transaction signed for a withdrawal (a fee bump signs another at the same nonce). The
-- exact bytes are kept so that a restart resends them rather than signing something new.
CREATE TABLE withdrawal_txs (
    tx_hash TEXT PRIMARY KEY,
    withdrawal_id TEXT NOT NULL REFERENCES withdrawals (id),
    chain TEXT NOT NULL,
    nonce BIGINT NOT NULL,
    raw_hex TEXT NOT NULL,
    max_fee_per_gas TEXT NOT NULL,
    max_priority_fee_per_gas TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX withdrawal_txs_withdrawal ON withdrawal_txs (withdrawal_id, created_at_ms);

-- The hot wallet's next nonce per chain, advanced in the transaction that assigns it.
CREATE TABLE hot_wallet_nonces (
    chain TEXT PRIMARY KEY,
    address TEXT NOT NULL,
    next_nonce BIGINT NOT NULL
);

-- Workers that must run on one node at a time (a chain's watcher and broadcaster) hold a lease.
CREATE TABLE worker_leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at_ms BIGINT NOT NULL
);

-- Idempotency-Key of money-moving requests: the first response is kept and replayed.
CREATE TABLE idempotency_keys (
    user_id TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    route TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status BIGINT,
    response_body TEXT,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (user_id, idem_key)
);
