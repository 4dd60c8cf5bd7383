-- SQS-style queues: the queues, their messages, and FIFO deduplication keys.
CREATE TABLE queues (
    name TEXT PRIMARY KEY,
    fifo BOOLEAN NOT NULL,
    attributes TEXT NOT NULL,
    tags TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    modified_ms BIGINT NOT NULL
);

CREATE TABLE queue_messages (
    seq BIGSERIAL PRIMARY KEY,
    queue TEXT NOT NULL,
    message_id TEXT NOT NULL,
    body TEXT NOT NULL,
    attributes TEXT NOT NULL,
    md5_of_body TEXT NOT NULL,
    md5_of_attributes TEXT,
    sent_ms BIGINT NOT NULL,
    enqueued_ms BIGINT NOT NULL,
    visible_at_ms BIGINT NOT NULL,
    receive_count BIGINT NOT NULL,
    first_receive_ms BIGINT,
    receipt_handle TEXT,
    group_id TEXT,
    dedup_id TEXT
);
CREATE INDEX queue_messages_visible ON queue_messages (queue, visible_at_ms, seq);
CREATE INDEX queue_messages_order ON queue_messages (queue, seq);
CREATE UNIQUE INDEX queue_messages_receipt ON queue_messages (receipt_handle);

CREATE TABLE queue_dedup (
    queue TEXT NOT NULL,
    dedup_key TEXT NOT NULL,
    message_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    until_ms BIGINT NOT NULL,
    PRIMARY KEY (queue, dedup_key)
);
