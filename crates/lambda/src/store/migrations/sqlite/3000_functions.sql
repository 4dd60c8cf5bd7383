-- Functions (Lambda-style): definitions, code packages, the asynchronous invocation queue
-- and the invocations that failed for good.
CREATE TABLE functions (
    name TEXT PRIMARY KEY,
    revision INTEGER NOT NULL,
    config TEXT NOT NULL,
    code_sha256 TEXT
);

CREATE TABLE function_code (
    sha256 TEXT PRIMARY KEY,
    bytes BLOB NOT NULL
);

CREATE TABLE function_async_queue (
    id TEXT PRIMARY KEY,
    function TEXT NOT NULL,
    payload BLOB NOT NULL,
    attempts INTEGER NOT NULL,
    accepted_at_ms INTEGER NOT NULL,
    due_at_ms INTEGER NOT NULL,
    claimed_until_ms INTEGER
);
CREATE INDEX function_async_queue_due ON function_async_queue (due_at_ms);

CREATE TABLE function_async_failures (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL,
    function TEXT NOT NULL,
    payload BLOB NOT NULL,
    attempts INTEGER NOT NULL,
    error_type TEXT NOT NULL,
    error_payload BLOB NOT NULL,
    failed_at_ms INTEGER NOT NULL
);
CREATE INDEX function_async_failures_function ON function_async_failures (function, seq);
