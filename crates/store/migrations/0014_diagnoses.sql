-- Troubleshooters (自助排查): every run, what it found, and how it ended — resolved by the
-- person without contacting us, or escalated to a ticket, chat or call (the deflection figures
-- on the supervisors' dashboard). user_id is empty for "I can't log in" asked from an email
-- address by someone not signed in (the answer went to the mailbox; who asked is not stored).
-- findings: the findings as JSON (codes, items, values, actions), kept so the agent sees what
-- the person saw. outcome: '' (not known yet), resolved, escalated. escalated_to: ticket:<id>,
-- chat:<id>.
CREATE TABLE diagnoses (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    problem TEXT NOT NULL,
    reference TEXT NOT NULL,
    findings TEXT NOT NULL,
    outcome TEXT NOT NULL,
    escalated_to TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    outcome_at_ms BIGINT
);
CREATE INDEX diagnoses_created ON diagnoses (created_at_ms);
CREATE INDEX diagnoses_user ON diagnoses (user_id, created_at_ms);

-- Prepared calls: a person describes the problem in the app and gets a short code to read out
-- on the phone; the agent types it and the prepared case opens (ticket with the description,
-- the diagnosis if any, and the account's context). Valid for a day; the code is unique among
-- codes not yet expired (old ones are overwritten when the same code comes up again).
CREATE TABLE case_codes (
    code TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    ticket_id TEXT NOT NULL REFERENCES tickets (id),
    diagnosis_id TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    opened_at_ms BIGINT,
    opened_by TEXT REFERENCES users (id)
);
CREATE INDEX case_codes_user ON case_codes (user_id, created_at_ms);
