-- Money that moves inside okwallet: transfers between customers, conversions at a locked quote,
-- payments to merchants and their refunds. Each movement row is written by the ledger writer in
-- the same transaction as its ledger transfers, so a movement marked completed always has its
-- postings and a refused one has none. Amounts are ledger minor units.

-- kind: transfer, conversion, payment, refund. user_id started it (sender, converter, payer,
-- refunding merchant); counterparty_id receives (recipient, merchant, refunded payer).
-- status: completed or refused (reason_code says why). reference: the payment request, the
-- quote, or for a refund the payment request it returns money from. request_hash: what was
-- asked, so an idempotent retry with another body is told apart.
CREATE TABLE movements (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    counterparty_id TEXT REFERENCES users (id),
    asset TEXT NOT NULL,
    amount BIGINT NOT NULL,
    fee BIGINT NOT NULL,
    to_asset TEXT,
    to_amount BIGINT,
    note TEXT NOT NULL,
    reference TEXT,
    status TEXT NOT NULL,
    reason_code TEXT,
    request_hash TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX movements_user ON movements (user_id, created_at_ms);
CREATE INDEX movements_counterparty ON movements (counterparty_id, created_at_ms)
    WHERE counterparty_id IS NOT NULL;
CREATE INDEX movements_reference ON movements (reference) WHERE reference IS NOT NULL;

-- Per-user daily limits that differ from the operator's defaults, per kind and asset.
CREATE TABLE user_limits (
    user_id TEXT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,
    asset TEXT NOT NULL,
    daily BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    PRIMARY KEY (user_id, kind, asset)
);

-- The admin-set price feed: each asset's price in US dollars, as decimal text.
CREATE TABLE prices (
    asset TEXT PRIMARY KEY,
    usd TEXT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

-- A locked offer to convert; accepted at most once (movement_id), never after expires_at_ms.
CREATE TABLE quotes (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    from_asset TEXT NOT NULL,
    to_asset TEXT NOT NULL,
    from_amount BIGINT NOT NULL,
    fee BIGINT NOT NULL,
    to_amount BIGINT NOT NULL,
    rate TEXT NOT NULL,
    source TEXT NOT NULL,
    simulated BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    movement_id TEXT
);
CREATE INDEX quotes_user ON quotes (user_id, created_at_ms);

-- What a merchant asks to be paid. status: open, paid, refunded (in full), cancelled; an open
-- request past expires_at_ms is expired. refunded: the total returned so far.
CREATE TABLE payment_requests (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES users (id),
    asset TEXT NOT NULL,
    amount BIGINT NOT NULL,
    description TEXT NOT NULL,
    order_id TEXT,
    status TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    payer_id TEXT REFERENCES users (id),
    payment_id TEXT,
    paid_at_ms BIGINT,
    refunded BIGINT NOT NULL
);
CREATE INDEX payment_requests_merchant ON payment_requests (merchant_id, created_at_ms);

-- Where a merchant is told about payments, and the key (sealed) that signs what it is told.
CREATE TABLE merchant_webhooks (
    merchant_id TEXT PRIMARY KEY REFERENCES users (id),
    url TEXT NOT NULL,
    secret_sealed TEXT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

-- One event for one merchant, delivered at least once. status: pending, delivered, failed
-- (gave up after the last attempt; the merchant can send it again). A sender claims a due row
-- by moving next_attempt_at_ms forward (a lease), as the mail outbox does.
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES users (id),
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    url TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at_ms BIGINT NOT NULL,
    last_status_code BIGINT,
    last_error TEXT,
    created_at_ms BIGINT NOT NULL,
    delivered_at_ms BIGINT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at_ms);
CREATE INDEX webhook_deliveries_merchant ON webhook_deliveries (merchant_id, created_at_ms);

CREATE TABLE webhook_attempts (
    id TEXT PRIMARY KEY,
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id),
    at_ms BIGINT NOT NULL,
    status_code BIGINT,
    error TEXT,
    duration_ms BIGINT NOT NULL
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, at_ms);
