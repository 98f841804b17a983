-- Step-up freshness per session, the anti-phishing code, unfreezing with a cooling-off period,
-- and the withdrawal lock after security changes.

ALTER TABLE sessions ADD COLUMN stepped_up_at_ms BIGINT;
ALTER TABLE users ADD COLUMN anti_phishing_code TEXT;
ALTER TABLE users ADD COLUMN unfreeze_at_ms BIGINT;
ALTER TABLE users ADD COLUMN withdrawals_locked_until_ms BIGINT;
