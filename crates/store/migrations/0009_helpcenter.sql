-- The help center: how to reach us (contact channels with their own hours and what they cost),
-- values people reported as pretending to be us, announcements and incidents, and the knowledge
-- base (articles, "was this helpful?", searches that found nothing).

-- kind: hotline, in_app_call, live_chat, ticket, email, social, website.
-- value: what the channel is reached at — E.164 number (hotline), address (email),
-- platform:@handle (social), domain (website); empty for the in-app channels.
-- schedule: JSON, see helpcenter::directory::ScheduleSpec (time zone, weekly periods,
-- holidays with names, special dates, or always open).
-- cost: toll_free, local_rate, international, free_in_app, free.
CREATE TABLE contact_channels (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name_zh TEXT NOT NULL,
    name_en TEXT NOT NULL,
    region_zh TEXT NOT NULL,
    region_en TEXT NOT NULL,
    value TEXT NOT NULL,
    display TEXT NOT NULL,
    languages TEXT NOT NULL,
    schedule TEXT NOT NULL,
    cost TEXT NOT NULL,
    cost_note_zh TEXT NOT NULL,
    cost_note_en TEXT NOT NULL,
    note_zh TEXT NOT NULL,
    note_en TEXT NOT NULL,
    position BIGINT NOT NULL,
    enabled BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

-- Anyone may report a number, link, address or account that claims to be us. normalised is
-- what the official check made of the value, so reports of one number written three ways count
-- together; official is what the check answered at the time.
CREATE TABLE suspicious_reports (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    normalised TEXT NOT NULL,
    official BIGINT NOT NULL,
    seen_in TEXT NOT NULL,
    note TEXT NOT NULL,
    reporter_id TEXT REFERENCES users (id),
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX suspicious_reports_value ON suspicious_reports (normalised, created_at_ms);

-- The security team's verdict on a reported value: scam (the official check then warns
-- everyone who asks about it), not_scam, or ours.
CREATE TABLE suspicious_reviews (
    normalised TEXT PRIMARY KEY,
    verdict TEXT NOT NULL,
    note TEXT NOT NULL,
    reviewed_by TEXT NOT NULL REFERENCES users (id),
    reviewed_at_ms BIGINT NOT NULL
);

-- kind: maintenance, security, incident. state: for incidents investigating, identified,
-- monitoring, resolved; for maintenance scheduled, in_progress, completed; for security
-- active, archived. affected: comma-separated features (deposit, withdraw, send, convert, pay,
-- login, support), each optionally with an asset (deposit:ETH).
CREATE TABLE announcements (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    title_zh TEXT NOT NULL,
    title_en TEXT NOT NULL,
    body_zh TEXT NOT NULL,
    body_en TEXT NOT NULL,
    affected TEXT NOT NULL,
    starts_at_ms BIGINT NOT NULL,
    ends_at_ms BIGINT,
    published BIGINT NOT NULL,
    created_by TEXT REFERENCES users (id),
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX announcements_recent ON announcements (starts_at_ms);

-- Each change of an announcement's state, with what was said, newest last.
CREATE TABLE announcement_updates (
    id TEXT PRIMARY KEY,
    announcement_id TEXT NOT NULL REFERENCES announcements (id),
    state TEXT NOT NULL,
    body_zh TEXT NOT NULL,
    body_en TEXT NOT NULL,
    created_by TEXT REFERENCES users (id),
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX announcement_updates_of ON announcement_updates (announcement_id, created_at_ms);

-- Knowledge-base articles, one row per slug and language. revision goes up on every change;
-- every node compares the revisions it indexed with these to keep its search index current.
-- source: builtin (shipped with okwallet, added at start when missing) or editor.
CREATE TABLE articles (
    slug TEXT NOT NULL,
    lang TEXT NOT NULL,
    category TEXT NOT NULL,
    title TEXT NOT NULL,
    tags TEXT NOT NULL,
    body_md TEXT NOT NULL,
    published BIGINT NOT NULL,
    revision BIGINT NOT NULL,
    source TEXT NOT NULL,
    updated_by TEXT REFERENCES users (id),
    updated_at_ms BIGINT NOT NULL,
    PRIMARY KEY (slug, lang)
);

CREATE TABLE article_feedback (
    id TEXT PRIMARY KEY,
    slug TEXT NOT NULL,
    lang TEXT NOT NULL,
    helpful BIGINT NOT NULL,
    comment TEXT NOT NULL,
    user_id TEXT REFERENCES users (id),
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX article_feedback_of ON article_feedback (slug, lang);

-- Searches that found nothing, counted, for editors to write what is missing.
CREATE TABLE search_misses (
    query TEXT NOT NULL,
    lang TEXT NOT NULL,
    count BIGINT NOT NULL,
    first_at_ms BIGINT NOT NULL,
    last_at_ms BIGINT NOT NULL,
    PRIMARY KEY (query, lang)
);
