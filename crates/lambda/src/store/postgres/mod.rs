//! Lambda's stores on PostgreSQL.

mod event_sources;
mod functions;
