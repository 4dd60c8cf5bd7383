//! `EventSourceMappingStore` on SQLite: one row per mapping, its configuration as JSON.

use crate::store::event_sources::{EventSourceMappingStore, MappingFilter, MappingRecord};
use async_trait::async_trait;
use baton_platform::store::StoreError;
use rusqlite::{OptionalExtension, Row, params};

use baton_platform::store::sqlite::Database;

type RawRow = (String, String, String, String);

fn raw(row: &Row<'_>) -> rusqlite::Result<RawRow> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
}

fn to_record(
    (uuid, event_source_arn, function_name, config): RawRow,
) -> Result<MappingRecord, StoreError> {
    let config = serde_json::from_str(&config)
        .map_err(|e| StoreError::Backend(format!("mapping {uuid}: stored config: {e}")))?;
    Ok(MappingRecord {
        uuid,
        event_source_arn,
        function_name,
        config,
    })
}

#[async_trait]
impl EventSourceMappingStore for Database {
    async fn create_mapping(&self, record: MappingRecord) -> Result<(), StoreError> {
        self.write(move |tx| {
            let inserted = tx
                .execute(
                    "INSERT OR IGNORE INTO event_source_mappings
                       (uuid, event_source_arn, function_name, config)
                     VALUES (?1, ?2, ?3, ?4)",
                    params![
                        record.uuid,
                        record.event_source_arn,
                        record.function_name,
                        record.config.to_string()
                    ],
                )
                .map_err(StoreError::backend)?;
            if inserted == 0 {
                return Err(StoreError::AlreadyExists(record.uuid.clone()));
            }
            Ok(())
        })
        .await
    }

    async fn get_mapping(&self, uuid: &str) -> Result<Option<MappingRecord>, StoreError> {
        let uuid = uuid.to_owned();
        let row = self
            .read(move |c| {
                c.query_row(
                    "SELECT uuid, event_source_arn, function_name, config
                     FROM event_source_mappings WHERE uuid = ?1",
                    [&uuid],
                    raw,
                )
                .optional()
                .map_err(StoreError::backend)
            })
            .await?;
        row.map(to_record).transpose()
    }

    async fn list_mappings(
        &self,
        filter: &MappingFilter,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<MappingRecord>, StoreError> {
        let source = filter.event_source_arn.clone();
        let function = filter.function_name.clone();
        let after = after.unwrap_or("").to_owned();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .read(move |c| {
                let mut stmt = c
                    .prepare_cached(
                        "SELECT uuid, event_source_arn, function_name, config
                         FROM event_source_mappings
                         WHERE uuid > ?1
                           AND (?2 IS NULL OR event_source_arn = ?2)
                           AND (?3 IS NULL OR function_name = ?3)
                         ORDER BY uuid LIMIT ?4",
                    )
                    .map_err(StoreError::backend)?;
                stmt.query_map(params![after, source, function, limit], raw)
                    .map_err(StoreError::backend)?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(StoreError::backend)
            })
            .await?;
        rows.into_iter().map(to_record).collect()
    }

    async fn update_mapping(&self, record: MappingRecord) -> Result<(), StoreError> {
        self.write(move |tx| {
            let n = tx
                .execute(
                    "UPDATE event_source_mappings SET function_name = ?2, config = ?3
                     WHERE uuid = ?1",
                    params![record.uuid, record.function_name, record.config.to_string()],
                )
                .map_err(StoreError::backend)?;
            if n == 0 {
                return Err(StoreError::NotFound(record.uuid.clone()));
            }
            Ok(())
        })
        .await
    }

    async fn delete_mapping(&self, uuid: &str) -> Result<(), StoreError> {
        let uuid = uuid.to_owned();
        self.write(move |tx| {
            let n = tx
                .execute("DELETE FROM event_source_mappings WHERE uuid = ?1", [&uuid])
                .map_err(StoreError::backend)?;
            if n == 0 {
                return Err(StoreError::NotFound(uuid.clone()));
            }
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_passes_the_event_source_mapping_store_conformance_suite() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(
            &dir.path().join("esm.db"),
            &[crate::store::MIGRATIONS.sqlite],
        )
        .unwrap();
        crate::store::conformance::event_sources::run(&db).await;
        db.close();
    }
}
