-- The help desk: support groups with business hours, agents with presence and capacity,
-- tickets (工单) with their messages, internal notes, attachments and a full event history,
-- SLA targets, complaints to supervisors, satisfaction ratings, the suggestions box, macros,
-- and who is looking at which ticket (collision warnings).

-- schedule: the group's business hours for SLA clocks (helpcenter::directory::ScheduleSpec).
-- languages, categories: comma-separated skills; empty categories take every category.
CREATE TABLE support_groups (
    id TEXT PRIMARY KEY,
    name_zh TEXT NOT NULL,
    name_en TEXT NOT NULL,
    schedule TEXT NOT NULL,
    languages TEXT NOT NULL,
    categories TEXT NOT NULL,
    position BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL
);

-- presence: online, away, offline. capacity: open tickets at most. display_name: the name
-- customers see on replies (never the agent's email).
CREATE TABLE agents (
    user_id TEXT PRIMARY KEY REFERENCES users (id),
    display_name TEXT NOT NULL,
    group_id TEXT NOT NULL REFERENCES support_groups (id),
    presence TEXT NOT NULL,
    capacity BIGINT NOT NULL,
    languages TEXT NOT NULL,
    categories TEXT NOT NULL,
    last_assigned_at_ms BIGINT,
    presence_at_ms BIGINT NOT NULL
);

-- Named counters handed out by UPDATE … RETURNING (ticket numbers people can read out).
CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('ticket_number', 100000);

-- status: new, open, pending, on_hold, solved, closed. channel: web, chat, in_app_call,
-- callback, phone, email. reference: an activity entry the ticket is about. The SLA columns
-- are what the engine (helpdesk::sla) last computed from the events, kept for sorting queues
-- and for the supervisors' figures: next_due_ms is the deadline of the clock that runs next
-- (first response until answered, then resolution), 9223372036854775807 when there is none, so
-- that queues sort by urgency on an index; the business durations are those used at the first
-- response and at the (latest) solve.
CREATE TABLE tickets (
    id TEXT PRIMARY KEY,
    number BIGINT NOT NULL UNIQUE,
    requester_id TEXT NOT NULL REFERENCES users (id),
    subject TEXT NOT NULL,
    category TEXT NOT NULL,
    priority TEXT NOT NULL,
    status TEXT NOT NULL,
    channel TEXT NOT NULL,
    language TEXT NOT NULL,
    group_id TEXT REFERENCES support_groups (id),
    assignee_id TEXT REFERENCES users (id),
    tags TEXT NOT NULL,
    reference TEXT,
    merged_into TEXT REFERENCES tickets (id),
    first_response_due_ms BIGINT,
    resolution_due_ms BIGINT,
    next_due_ms BIGINT NOT NULL,
    first_responded_at_ms BIGINT,
    solved_at_ms BIGINT,
    first_response_business_s BIGINT,
    resolution_business_s BIGINT,
    first_response_breached BIGINT NOT NULL,
    resolution_breached BIGINT NOT NULL,
    reopened_count BIGINT NOT NULL,
    -- When the SLA watcher should look at this ticket next (its next near-breach or breach
    -- while a clock runs); NULL when no clock runs towards a target.
    sla_next_check_ms BIGINT,
    -- 1 while the ticket is not done (new, open, pending, on_hold), 0 once solved or closed:
    -- derived from status by the store on every write, so that the queues' indexes start with
    -- one equality instead of a list of statuses.
    active BIGINT NOT NULL,
    -- 1 once either clock breached (derived like `active`).
    sla_breached BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
-- The queues, all over tickets that are not done: by deadline (most urgent first, "due within
-- the hour"), newest first, by holder (the unassigned queue: assignee_id IS NULL), with the
-- breach flags (counted without reading the rows); an agent's own by holder; a group's waiting
-- tickets in arrival order (routing); a customer's own; solved ones by solve (closing).
CREATE INDEX tickets_requester ON tickets (requester_id, updated_at_ms);
CREATE INDEX tickets_active_due ON tickets (active, next_due_ms);
CREATE INDEX tickets_active_updated ON tickets (active, updated_at_ms);
CREATE INDEX tickets_active_holder ON tickets (active, assignee_id, next_due_ms);
CREATE INDEX tickets_active_breaches ON tickets (active, sla_breached);
CREATE INDEX tickets_assignee ON tickets (assignee_id, status, next_due_ms) WHERE assignee_id IS NOT NULL;
CREATE INDEX tickets_waiting ON tickets (group_id, created_at_ms) WHERE assignee_id IS NULL;
CREATE INDEX tickets_solved ON tickets (status, solved_at_ms);
CREATE INDEX tickets_sla_check ON tickets (sla_next_check_ms) WHERE sla_next_check_ms IS NOT NULL;

-- Each near-breach and breach of a ticket's clock, recorded once (the key makes a second
-- node's attempt a no-op). clock: first_response, resolution; kind: near_breach, breached.
CREATE TABLE sla_alerts (
    ticket_id TEXT NOT NULL REFERENCES tickets (id),
    clock TEXT NOT NULL,
    kind TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    recorded_at_ms BIGINT NOT NULL,
    PRIMARY KEY (ticket_id, clock, kind)
);
CREATE INDEX sla_alerts_recent ON sla_alerts (recorded_at_ms);

-- A public reply or an internal note (never shown to the requester, in any channel).
CREATE TABLE ticket_messages (
    id TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL REFERENCES tickets (id),
    author_id TEXT REFERENCES users (id),
    internal BIGINT NOT NULL,
    body TEXT NOT NULL,
    channel TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX ticket_messages_of ON ticket_messages (ticket_id, created_at_ms);

-- Everything that happened to a ticket, in order; the SLA clocks are computed from it.
-- kind: created, public_reply, internal_note, auto_reply, status_changed, priority_changed,
-- category_changed, assigned, reopened, merged, tagged, escalated, rated; detail: JSON.
CREATE TABLE ticket_events (
    id TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL REFERENCES tickets (id),
    at_ms BIGINT NOT NULL,
    actor_id TEXT REFERENCES users (id),
    kind TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX ticket_events_of ON ticket_events (ticket_id, at_ms);

-- Files on a ticket, kept in the database so every node serves them; served only as
-- downloads (helpdesk::attachments decides what is accepted and how it is named).
CREATE TABLE ticket_attachments (
    id TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL REFERENCES tickets (id),
    message_id TEXT REFERENCES ticket_messages (id),
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    data BYTEA NOT NULL,
    uploaded_by TEXT REFERENCES users (id),
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX ticket_attachments_of ON ticket_attachments (ticket_id);

-- SLA targets in business seconds per priority, and per priority and category ('' = any).
CREATE TABLE sla_targets (
    priority TEXT NOT NULL,
    category TEXT NOT NULL,
    first_response_s BIGINT,
    resolution_s BIGINT,
    PRIMARY KEY (priority, category)
);

-- A complaint (投诉) about a ticket, in the supervisors' queue. status: open, resolved.
CREATE TABLE complaints (
    id TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL REFERENCES tickets (id),
    raised_by TEXT NOT NULL REFERENCES users (id),
    by_agent BIGINT NOT NULL,
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    supervisor_id TEXT REFERENCES users (id),
    outcome TEXT,
    due_at_ms BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    resolved_at_ms BIGINT
);
CREATE INDEX complaints_open ON complaints (status, due_at_ms);
CREATE INDEX complaints_of ON complaints (ticket_id);

-- One satisfaction rating per ticket (the latest counts).
CREATE TABLE ticket_ratings (
    ticket_id TEXT PRIMARY KEY REFERENCES tickets (id),
    score BIGINT NOT NULL,
    comment TEXT NOT NULL,
    rated_by TEXT NOT NULL REFERENCES users (id),
    created_at_ms BIGINT NOT NULL
);

-- The feedback and suggestions box, apart from tickets.
CREATE TABLE suggestions (
    id TEXT PRIMARY KEY,
    user_id TEXT REFERENCES users (id),
    topic TEXT NOT NULL,
    language TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX suggestions_recent ON suggestions (created_at_ms);

-- Canned replies with placeholders and actions (helpdesk::macros).
CREATE TABLE macros (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    body_zh TEXT NOT NULL,
    body_en TEXT NOT NULL,
    actions TEXT NOT NULL,
    created_by TEXT REFERENCES users (id),
    updated_at_ms BIGINT NOT NULL
);

-- Who has a ticket open right now, refreshed while they look (collision warnings).
CREATE TABLE ticket_viewers (
    ticket_id TEXT NOT NULL REFERENCES tickets (id),
    agent_id TEXT NOT NULL REFERENCES users (id),
    composing BIGINT NOT NULL,
    seen_at_ms BIGINT NOT NULL,
    PRIMARY KEY (ticket_id, agent_id)
);

-- Supervisors read the audit trail newest first.
CREATE INDEX audit_events_at ON audit_events (at_ms);
