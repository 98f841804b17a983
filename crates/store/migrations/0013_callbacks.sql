-- Callbacks (回电): a customer leaves a number and a time window inside a hotline's open hours,
-- agents work the queue, every try is logged, and unanswered ones are tried again per policy.
-- (0012 belongs to another branch; sqlx applies a lower number that arrives later too.)

-- A callback request, beside the ticket (channel callback) that routing, SLA clocks and the
-- consoles see. phone_e164: the number to call, normalised. hotline_id: the contact channel
-- (kind hotline) whose hours the window lies in. The window is where the next try belongs;
-- when a try cannot be repeated inside it, the window moves to the hotline's next opening.
-- state: requested (waiting for a try), done, missed (too many tries), cancelled (by the
-- customer). outcome: the last try's outcome once done or missed. next_attempt_at_ms: when
-- the next try is due (the queue's order). claimed_by / claimed_until_ms: the agent calling
-- now, so that two agents never call the same person; a claim lapses by itself.
CREATE TABLE callbacks (
    id TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL REFERENCES tickets (id),
    customer_id TEXT NOT NULL REFERENCES users (id),
    phone_e164 TEXT NOT NULL,
    hotline_id TEXT NOT NULL,
    window_start_ms BIGINT NOT NULL,
    window_end_ms BIGINT NOT NULL,
    state TEXT NOT NULL,
    outcome TEXT,
    attempts BIGINT NOT NULL,
    next_attempt_at_ms BIGINT NOT NULL,
    claimed_by TEXT REFERENCES users (id),
    claimed_until_ms BIGINT,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    closed_at_ms BIGINT
);
CREATE UNIQUE INDEX callbacks_ticket ON callbacks (ticket_id);
CREATE INDEX callbacks_customer ON callbacks (customer_id, state, created_at_ms);
CREATE INDEX callbacks_queue ON callbacks (state, next_attempt_at_ms);

-- Every try, numbered per callback from 1 (the key makes a try recorded twice impossible).
-- outcome: reached, no_answer, busy, voicemail, wrong_number. notes: the agent's words, with
-- secrets hidden as in ticket notes.
CREATE TABLE callback_attempts (
    callback_id TEXT NOT NULL REFERENCES callbacks (id),
    n BIGINT NOT NULL,
    agent_id TEXT NOT NULL REFERENCES users (id),
    outcome TEXT NOT NULL,
    notes TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    PRIMARY KEY (callback_id, n)
);
