-- Live support: customers' phone numbers (for finding a caller), agents' badges (the ID a
-- customer is told), mutual verification between a customer and an agent, and the PBX's call
-- events (CTI) with the call log they make and the numbers that are refused.

-- The customer's phone number in E.164 (+8613800138000), as they gave it; not proof of
-- anything (caller IDs can be forged): a call from it is a hint, verification decides.
ALTER TABLE users ADD COLUMN phone_e164 TEXT;
CREATE INDEX users_phone ON users (phone_e164);

-- The ID customers see next to an agent's name ("A1001"), handed out from counters.
ALTER TABLE agents ADD COLUMN badge TEXT;
CREATE UNIQUE INDEX agents_badge ON agents (badge);
INSERT INTO counters (name, value) VALUES ('agent_badge', 1000);

-- An agent asks a customer to prove it is them: the customer's app shows `code`, the customer
-- reads it out, the agent types it. state: pending, verified, failed (too many wrong codes),
-- cancelled; a pending request is usable until expires_at_ms, a verified one tells the
-- customer "you are talking with verified agent NAME (badge)" until valid_until_ms. context:
-- ticket:<id>, call:<id>, or empty.
CREATE TABLE support_verifications (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES users (id),
    agent_id TEXT NOT NULL REFERENCES users (id),
    context TEXT NOT NULL,
    code TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    verified_at_ms BIGINT,
    valid_until_ms BIGINT
);
CREATE INDEX support_verifications_customer ON support_verifications (customer_id, created_at_ms);

-- Every PBX event as received, once: the key is the call, the event and its time (a call can
-- be transferred more than once; a PBX that sends an event again sends the same three).
CREATE TABLE cti_events (
    call_id TEXT NOT NULL,
    event TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    payload TEXT NOT NULL,
    received_at_ms BIGINT NOT NULL,
    PRIMARY KEY (call_id, event, at_ms)
);

-- A call as its events make it (helpdesk::cti folds them in time order, whatever order they
-- arrived in). state: ringing, answered, ended, missed, rejected. remote_e164: the other
-- party's number, normalised; customer_id: the one account with that number, if exactly one.
-- agent_id: the agent the PBX's `user` names (badge or email). called_back_*: a missed call
-- somebody dealt with.
CREATE TABLE cti_calls (
    call_id TEXT PRIMARY KEY,
    direction TEXT NOT NULL,
    from_number TEXT NOT NULL,
    to_number TEXT NOT NULL,
    remote_e164 TEXT,
    customer_id TEXT REFERENCES users (id),
    queue TEXT NOT NULL,
    pbx_users TEXT NOT NULL,
    agent_id TEXT REFERENCES users (id),
    answering_number TEXT NOT NULL,
    state TEXT NOT NULL,
    cause TEXT NOT NULL,
    started_at_ms BIGINT NOT NULL,
    answered_at_ms BIGINT,
    ended_at_ms BIGINT,
    updated_at_ms BIGINT NOT NULL,
    called_back_at_ms BIGINT,
    called_back_by TEXT REFERENCES users (id)
);
CREATE INDEX cti_calls_recent ON cti_calls (started_at_ms);
CREATE INDEX cti_calls_agent ON cti_calls (agent_id, state);

-- Numbers whose calls the PBX is told to reject (E.164).
CREATE TABLE blocked_numbers (
    e164 TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    created_by TEXT REFERENCES users (id),
    created_at_ms BIGINT NOT NULL
);

-- Live chat (在线客服): a conversation attached to a ticket (channel chat), which routing gives
-- to an agent like any ticket. state: open, ended. Messages are numbered per chat (seq, from
-- last_seq under the chat's row lock) so a client resumes after the last one it saw; a
-- client's own id for a message (client_id) makes a resend after a dropped connection the same
-- message. author_kind: customer, agent, system. *_read_seq: what each side has read.
CREATE TABLE chats (
    id TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL REFERENCES tickets (id),
    customer_id TEXT NOT NULL REFERENCES users (id),
    state TEXT NOT NULL,
    last_seq BIGINT NOT NULL,
    customer_read_seq BIGINT NOT NULL,
    agent_read_seq BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    ended_at_ms BIGINT
);
CREATE UNIQUE INDEX chats_ticket ON chats (ticket_id);
CREATE INDEX chats_customer ON chats (customer_id, created_at_ms);

CREATE TABLE chat_messages (
    chat_id TEXT NOT NULL REFERENCES chats (id),
    seq BIGINT NOT NULL,
    id TEXT NOT NULL,
    author_kind TEXT NOT NULL,
    author_id TEXT REFERENCES users (id),
    client_id TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (chat_id, seq)
);
CREATE UNIQUE INDEX chat_messages_client ON chat_messages (chat_id, author_kind, client_id);
