//! `EventSourceMappingStore` on PostgreSQL: one row per mapping, its configuration as
//! JSON text. Every node reads the same rows, so each runs pollers for every enabled
//! mapping (SQS's receive already gives each message to one consumer at a time).

use crate::store::event_sources::{EventSourceMappingStore, MappingFilter, MappingRecord};
use async_trait::async_trait;
use baton_platform::store::StoreError;
use tokio_postgres::Row;

use baton_platform::store::postgres::Database;
use baton_platform::store::postgres::{big, pg};

fn to_record(row: &Row) -> Result<MappingRecord, StoreError> {
    let uuid: String = row.try_get(0).map_err(pg)?;
    let config: String = row.try_get(3).map_err(pg)?;
    let config = serde_json::from_str(&config)
        .map_err(|e| StoreError::Backend(format!("mapping {uuid}: stored config: {e}")))?;
    Ok(MappingRecord {
        uuid,
        event_source_arn: row.try_get(1).map_err(pg)?,
        function_name: row.try_get(2).map_err(pg)?,
        config,
    })
}

#[async_trait]
impl EventSourceMappingStore for Database {
    async fn create_mapping(&self, record: MappingRecord) -> Result<(), StoreError> {
        let conn = self.conn().await?;
        let inserted = conn
            .execute(
                "INSERT INTO event_source_mappings (uuid, event_source_arn, function_name, config)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (uuid) DO NOTHING",
                &[
                    &record.uuid,
                    &record.event_source_arn,
                    &record.function_name,
                    &record.config.to_string(),
                ],
            )
            .await
            .map_err(pg)?;
        if inserted == 0 {
            return Err(StoreError::AlreadyExists(record.uuid));
        }
        Ok(())
    }

    async fn get_mapping(&self, uuid: &str) -> Result<Option<MappingRecord>, StoreError> {
        let conn = self.conn().await?;
        let row = conn
            .query_opt(
                "SELECT uuid, event_source_arn, function_name, config
                 FROM event_source_mappings WHERE uuid = $1",
                &[&uuid],
            )
            .await
            .map_err(pg)?;
        row.as_ref().map(to_record).transpose()
    }

    async fn list_mappings(
        &self,
        filter: &MappingFilter,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<MappingRecord>, StoreError> {
        let conn = self.conn().await?;
        let rows = conn
            .query(
                "SELECT uuid, event_source_arn, function_name, config
                 FROM event_source_mappings
                 WHERE uuid COLLATE \"C\" > $1
                   AND ($2::TEXT IS NULL OR event_source_arn = $2)
                   AND ($3::TEXT IS NULL OR function_name = $3)
                 ORDER BY uuid COLLATE \"C\" LIMIT $4",
                &[
                    &after.unwrap_or(""),
                    &filter.event_source_arn,
                    &filter.function_name,
                    &big(limit),
                ],
            )
            .await
            .map_err(pg)?;
        rows.iter().map(to_record).collect()
    }

    async fn update_mapping(&self, record: MappingRecord) -> Result<(), StoreError> {
        let conn = self.conn().await?;
        let n = conn
            .execute(
                "UPDATE event_source_mappings SET function_name = $2, config = $3
                 WHERE uuid = $1",
                &[
                    &record.uuid,
                    &record.function_name,
                    &record.config.to_string(),
                ],
            )
            .await
            .map_err(pg)?;
        if n == 0 {
            return Err(StoreError::NotFound(record.uuid));
        }
        Ok(())
    }

    async fn delete_mapping(&self, uuid: &str) -> Result<(), StoreError> {
        let conn = self.conn().await?;
        let n = conn
            .execute(
                "DELETE FROM event_source_mappings WHERE uuid = $1",
                &[&uuid],
            )
            .await
            .map_err(pg)?;
        if n == 0 {
            return Err(StoreError::NotFound(uuid.to_owned()));
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::store::postgres::tests::fresh;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_passes_the_event_source_mapping_store_conformance_suite() {
        let Some(db) = fresh("esm_conformance").await else {
            return;
        };
        crate::store::conformance::event_sources::run(&db).await;
        db.close();
    }
}
