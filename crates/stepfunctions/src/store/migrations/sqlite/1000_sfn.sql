-- Step Functions: state machines (with every revision), activities, tags, Standard
-- executions with their history, the work steps leave behind, and activity tasks.

CREATE TABLE sfn_revisions (
    revision_id TEXT PRIMARY KEY,
    state_machine_arn TEXT NOT NULL,
    name TEXT NOT NULL,
    machine_type TEXT NOT NULL,
    definition TEXT NOT NULL,
    role_arn TEXT NOT NULL,
    logging_configuration TEXT,
    tracing_configuration TEXT,
    created_millis INTEGER NOT NULL
);

CREATE TABLE sfn_state_machines (
    arn TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    machine_type TEXT NOT NULL,
    created_millis INTEGER NOT NULL,
    revision_id TEXT NOT NULL REFERENCES sfn_revisions (revision_id)
);

CREATE TABLE sfn_activities (
    arn TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_millis INTEGER NOT NULL
);

CREATE TABLE sfn_tags (
    resource_arn TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (resource_arn, key)
) WITHOUT ROWID;

CREATE TABLE sfn_executions (
    id INTEGER PRIMARY KEY,
    arn TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    state_machine_arn TEXT NOT NULL,
    revision_id TEXT NOT NULL,
    status TEXT NOT NULL,
    start_millis INTEGER NOT NULL,
    stop_millis INTEGER,
    input TEXT NOT NULL,
    output TEXT,
    error TEXT,
    cause TEXT,
    redrive_count INTEGER NOT NULL DEFAULT 0,
    redrive_millis INTEGER,
    parent_arn TEXT,
    parent_task_id INTEGER,
    version INTEGER NOT NULL,
    -- Highest history event id stored: a step must continue from it.
    last_event_id INTEGER NOT NULL DEFAULT 0,
    snapshot TEXT
);
CREATE INDEX sfn_executions_by_machine ON sfn_executions (state_machine_arn, id);
CREATE INDEX sfn_executions_by_parent ON sfn_executions (parent_arn, parent_task_id)
    WHERE parent_arn IS NOT NULL;

CREATE TABLE sfn_history (
    execution_id INTEGER NOT NULL,
    event_id INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (execution_id, event_id)
) WITHOUT ROWID;

CREATE TABLE sfn_work (
    execution_id INTEGER NOT NULL,
    key TEXT NOT NULL,
    due_millis INTEGER NOT NULL,
    payload TEXT NOT NULL,
    lease_owner TEXT,
    lease_until INTEGER,
    PRIMARY KEY (execution_id, key)
);
CREATE INDEX sfn_work_by_due ON sfn_work (due_millis);

CREATE TABLE sfn_activity_tasks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    activity_arn TEXT NOT NULL,
    execution_id INTEGER NOT NULL,
    task_id INTEGER NOT NULL,
    input TEXT NOT NULL,
    token TEXT NOT NULL,
    lease_owner TEXT,
    lease_until INTEGER,
    UNIQUE (execution_id, task_id)
);
CREATE INDEX sfn_activity_tasks_by_activity ON sfn_activity_tasks (activity_arn, seq);
