//! Lambda's stores on SQLite.

mod event_sources;
mod functions;
