-- Event buses: the catalog (buses, rules, targets, archives, connections, API
-- destinations) and the flow (deliveries, archived events, replays, dead letters).
-- Times are milliseconds since the Unix epoch. Structured values the store never
-- queries by are JSON text.

CREATE TABLE event_buses (
    name        TEXT PRIMARY KEY,
    record      TEXT NOT NULL
);

CREATE TABLE event_rules (
    bus          TEXT NOT NULL REFERENCES event_buses (name) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    record       TEXT NOT NULL,
    -- Copied out of the record so the scheduler can find due rules by index.
    next_fire_ms INTEGER,
    PRIMARY KEY (bus, name)
);
CREATE INDEX event_rules_next_fire ON event_rules (next_fire_ms)
    WHERE next_fire_ms IS NOT NULL;

CREATE TABLE event_targets (
    bus      TEXT NOT NULL,
    rule     TEXT NOT NULL,
    id       TEXT NOT NULL,
    -- Keeps insertion order for listing.
    position INTEGER NOT NULL,
    record   TEXT NOT NULL,
    PRIMARY KEY (bus, rule, id),
    FOREIGN KEY (bus, rule) REFERENCES event_rules (bus, name) ON DELETE CASCADE
);

-- The delivery queue. `due_ms` doubles as the lease: a claim moves it to the end of
-- the lease and sets `leased`.
CREATE TABLE event_deliveries (
    id         TEXT PRIMARY KEY,
    due_ms     INTEGER NOT NULL,
    leased     INTEGER NOT NULL DEFAULT 0,
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    record     TEXT NOT NULL
);
CREATE INDEX event_deliveries_due ON event_deliveries (due_ms);

CREATE TABLE event_dead_letters (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    queue_arn TEXT NOT NULL,
    record    TEXT NOT NULL
);
CREATE INDEX event_dead_letters_queue ON event_dead_letters (queue_arn, seq);

CREATE TABLE event_archives (
    name   TEXT PRIMARY KEY,
    bus    TEXT NOT NULL REFERENCES event_buses (name) ON DELETE CASCADE,
    record TEXT NOT NULL
);

CREATE TABLE event_archived (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    archive     TEXT NOT NULL REFERENCES event_archives (name) ON DELETE CASCADE,
    event_id    TEXT NOT NULL,
    ingested_ms INTEGER NOT NULL,
    event       TEXT NOT NULL,
    UNIQUE (archive, event_id)
);
CREATE INDEX event_archived_window ON event_archived (archive, ingested_ms, seq);

CREATE TABLE event_replays (
    name   TEXT PRIMARY KEY,
    state  TEXT NOT NULL,
    cursor INTEGER NOT NULL,
    record TEXT NOT NULL
);

CREATE TABLE event_connections (
    name   TEXT PRIMARY KEY,
    record TEXT NOT NULL
);

CREATE TABLE event_api_destinations (
    name   TEXT PRIMARY KEY,
    record TEXT NOT NULL
);
