//! Lambda's stores on PostgreSQL.

mod event_sources;
mod functions;

#[cfg(test)]
mod tests {
    use baton_platform::store::postgres::Database;

    /// A fresh schema of this test's own with Lambda's migrations.
    pub(super) async fn fresh(test: &str) -> Option<Database> {
        baton_platform::store::testing::fresh_postgres(test, &[crate::store::MIGRATIONS.postgres])
            .await
    }
}
