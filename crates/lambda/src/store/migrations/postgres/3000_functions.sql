-- Functions (Lambda-style): definitions, code packages, the asynchronous invocation queue
-- and the invocations that failed for good.
CREATE TABLE functions (
    name TEXT PRIMARY KEY,
    revision BIGINT NOT NULL,
    config TEXT NOT NULL,
    code_sha256 TEXT
);

CREATE TABLE function_code (
    sha256 TEXT PRIMARY KEY,
    bytes BYTEA NOT NULL
);

CREATE TABLE function_async_queue (
    id TEXT PRIMARY KEY,
    function TEXT NOT NULL,
    payload BYTEA NOT NULL,
    attempts BIGINT NOT NULL,
    accepted_at_ms BIGINT NOT NULL,
    due_at_ms BIGINT NOT NULL,
    claimed_until_ms BIGINT
);
CREATE INDEX function_async_queue_due ON function_async_queue (due_at_ms);

CREATE TABLE function_async_failures (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL,
    function TEXT NOT NULL,
    payload BYTEA NOT NULL,
    attempts BIGINT NOT NULL,
    error_type TEXT NOT NULL,
    error_payload BYTEA NOT NULL,
    failed_at_ms BIGINT NOT NULL
);
CREATE INDEX function_async_failures_function ON function_async_failures (function, seq);
