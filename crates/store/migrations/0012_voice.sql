-- In-app voice calls (免费网络电话): a call is a chat whose media is voice. It queues and is
-- routed like a chat (its ticket's channel is in_app_call), and its text side stays usable
-- during the call. The browsers' WebRTC signalling (offers, answers, ICE candidates) goes
-- through the chat's connections as numbered signals, so it crosses nodes like messages do.
-- The call record: answered_at_ms / answered_by when the agent picked up; call_outcome when it
-- ended (completed, abandoned — the caller hung up before an answer —, failed); the wait is
-- answered (or ended) minus created, the duration ended minus answered. call_notes: the
-- agent's notes on the call.
ALTER TABLE chats ADD COLUMN media TEXT NOT NULL DEFAULT 'text';
ALTER TABLE chats ADD COLUMN signal_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE chats ADD COLUMN answered_at_ms BIGINT;
ALTER TABLE chats ADD COLUMN answered_by TEXT REFERENCES users (id);
ALTER TABLE chats ADD COLUMN call_outcome TEXT;
ALTER TABLE chats ADD COLUMN call_notes TEXT NOT NULL DEFAULT '';

-- Signalling between the two browsers of a call, numbered per chat (from chats.signal_seq
-- under its row lock). author_kind: customer, agent. body: the client's JSON, relayed as it is
-- to the other side. Kept with the call (small, and useful when a call fails to connect).
CREATE TABLE chat_signals (
    chat_id TEXT NOT NULL REFERENCES chats (id),
    seq BIGINT NOT NULL,
    author_kind TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (chat_id, seq)
);
