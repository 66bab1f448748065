//! The status database's schema: migrations applied in order.

/// The schema, applied in order; `PRAGMA user_version` counts the ones done.
pub(super) const MIGRATIONS: &[&str] = &[
    r"
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE components (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    location TEXT,
    description TEXT,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    position INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    retired_at INTEGER
);
CREATE TABLE uptime (
    component_id INTEGER NOT NULL REFERENCES components(id),
    day INTEGER NOT NULL,
    ok INTEGER NOT NULL DEFAULT 0,
    degraded INTEGER NOT NULL DEFAULT 0,
    partial INTEGER NOT NULL DEFAULT 0,
    major INTEGER NOT NULL DEFAULT 0,
    maintenance INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (component_id, day)
) WITHOUT ROWID;
CREATE TABLE incidents (
    id INTEGER PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    impact TEXT NOT NULL,
    maintenance INTEGER NOT NULL,
    automatic INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    monitoring_at INTEGER,
    resolved_at INTEGER,
    scheduled_for INTEGER,
    scheduled_until INTEGER,
    postmortem TEXT,
    postmortem_at INTEGER
);
CREATE INDEX incidents_open ON incidents(resolved_at);
CREATE TABLE incident_components (
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    component_id INTEGER NOT NULL REFERENCES components(id),
    status TEXT NOT NULL,
    PRIMARY KEY (incident_id, component_id)
) WITHOUT ROWID;
CREATE TABLE incident_zones (
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    zone TEXT NOT NULL,
    PRIMARY KEY (incident_id, zone)
) WITHOUT ROWID;
CREATE TABLE incident_edits (
    id INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    field TEXT NOT NULL,
    old_value TEXT,
    new_value TEXT,
    edited_at INTEGER NOT NULL,
    edited_by TEXT NOT NULL
);
CREATE TABLE updates (
    id INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    status TEXT NOT NULL,
    body TEXT NOT NULL,
    source_kind TEXT NOT NULL,
    source_name TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX updates_incident ON updates(incident_id);
CREATE TABLE update_revisions (
    id INTEGER PRIMARY KEY,
    update_id INTEGER NOT NULL REFERENCES updates(id),
    body TEXT NOT NULL,
    replaced_at INTEGER NOT NULL,
    replaced_by TEXT NOT NULL
);
CREATE INDEX update_revisions_update ON update_revisions(update_id);
CREATE TABLE subscribers (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    secret TEXT,
    account_id INTEGER,
    created_at INTEGER NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    disabled_at INTEGER,
    removed_at INTEGER
);
CREATE TABLE subscriber_zones (
    subscriber_id INTEGER NOT NULL REFERENCES subscribers(id),
    zone TEXT NOT NULL,
    PRIMARY KEY (subscriber_id, zone)
) WITHOUT ROWID;
CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    subscriber_id INTEGER NOT NULL REFERENCES subscribers(id),
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    update_id INTEGER NOT NULL REFERENCES updates(id),
    event TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    delivered_at INTEGER,
    last_error TEXT,
    abandoned_at INTEGER
);
CREATE INDEX deliveries_due ON deliveries(next_attempt_at) WHERE delivered_at IS NULL AND abandoned_at IS NULL;
",
    r"
ALTER TABLE uptime ADD COLUMN latency_sum INTEGER NOT NULL DEFAULT 0;
ALTER TABLE uptime ADD COLUMN latency_n INTEGER NOT NULL DEFAULT 0;
CREATE TABLE last_probes (
    component_id INTEGER NOT NULL REFERENCES components(id),
    vantage TEXT NOT NULL,
    at INTEGER NOT NULL,
    latency_ms INTEGER,
    error TEXT,
    PRIMARY KEY (component_id, vantage)
) WITHOUT ROWID;
",
    r"
ALTER TABLE subscribers ADD COLUMN failing_since INTEGER;
CREATE INDEX deliveries_pending ON deliveries(id) WHERE delivered_at IS NULL AND abandoned_at IS NULL;
",
    r"
ALTER TABLE subscribers ADD COLUMN disabled_reason TEXT;
CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    account_id INTEGER,
    subscriber_id INTEGER REFERENCES subscribers(id),
    address TEXT,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    list_unsubscribe TEXT,
    created_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    sent_at INTEGER,
    last_error TEXT,
    abandoned_at INTEGER
);
CREATE INDEX messages_pending ON messages(id) WHERE sent_at IS NULL AND abandoned_at IS NULL;
",
    r"
ALTER TABLE subscribers ADD COLUMN token TEXT;
ALTER TABLE subscribers ADD COLUMN public INTEGER NOT NULL DEFAULT 0;
ALTER TABLE subscribers ADD COLUMN confirmed_at INTEGER;
UPDATE subscribers SET token = lower(hex(randomblob(16))) WHERE token IS NULL;
CREATE UNIQUE INDEX subscribers_token ON subscribers(token);
CREATE INDEX subscribers_target ON subscribers(target) WHERE removed_at IS NULL;
",
];
