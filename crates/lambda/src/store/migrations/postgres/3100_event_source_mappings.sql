-- Lambda event source mappings (SQS queue -> function): the configuration as JSON, with
-- the columns ListEventSourceMappings filters on.
CREATE TABLE event_source_mappings (
    uuid TEXT PRIMARY KEY,
    event_source_arn TEXT NOT NULL,
    function_name TEXT NOT NULL,
    config TEXT NOT NULL
);
CREATE INDEX event_source_mappings_source ON event_source_mappings (event_source_arn, uuid);
CREATE INDEX event_source_mappings_function ON event_source_mappings (function_name, uuid);
