//! State machines: create, update, describe, list, delete, and the cache of parsed
//! definitions (a definition is parsed once per revision, then shared by every execution
//! that runs it).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::store::{MachineType, Revision, StateMachineRecord, Tag};
use baton_asl::{ParseOptions, StateMachine, parse_definition};
use baton_platform::clock::Millis;
use baton_platform::store::StoreError;
use serde_json::Value;

use crate::arn::{self, ArnKind};
use crate::queries::{Page, page_size, parse_token, token};
use crate::{Inner, SfnError, StepFunctions};

/// Tags per resource, as AWS allows.
pub const MAX_TAGS: usize = 50;

/// Parsed definitions by revision id, bounded; and each machine's current record for a
/// moment, so starting executions does not read the store every time.
#[derive(Default)]
pub(crate) struct MachineCache {
    parsed: Mutex<HashMap<String, Arc<StateMachine>>>,
    /// Machine ARN → (when it was read, the record). Updates and deletes on this node
    /// drop their entry at once; a change made by another node is seen within
    /// [`RECORD_TTL_MILLIS`] — AWS documents the same window ("executions started
    /// shortly after UpdateStateMachine may use the previous definition").
    records: Mutex<HashMap<String, (Millis, Arc<StateMachineRecord>)>>,
}

const MAX_CACHED_MACHINES: usize = 1_024;
/// How long a cached machine record is trusted.
const RECORD_TTL_MILLIS: Millis = 1_000;

impl MachineCache {
    /// The parsed definition of a revision (from the cache or the store).
    pub async fn get(
        &self,
        inner: &Inner,
        revision_id: &str,
    ) -> Result<Arc<StateMachine>, SfnError> {
        if let Some(m) = self.lock().get(revision_id) {
            return Ok(m.clone());
        }
        let rev = inner
            .store
            .revision(revision_id)
            .await?
            .ok_or_else(|| SfnError::internal(format!("revision {revision_id} is missing")))?;
        let options = ParseOptions {
            express: rev.machine_type == MachineType::Express,
        };
        let machine = parse_definition(&rev.revision.definition, options)
            .map_err(|d| SfnError::internal(format!("stored definition is invalid: {d}")))?;
        let machine = Arc::new(machine);
        self.put(revision_id, machine.clone());
        Ok(machine)
    }

    pub fn put(&self, revision_id: &str, machine: Arc<StateMachine>) {
        let mut map = self.lock();
        if map.len() >= MAX_CACHED_MACHINES {
            map.clear();
        }
        map.insert(revision_id.to_owned(), machine);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<StateMachine>>> {
        self.parsed.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn records(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, (Millis, Arc<StateMachineRecord>)>> {
        self.records.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The machine's record if it was read less than the TTL ago.
    fn fresh_record(&self, arn: &str, now: Millis) -> Option<Arc<StateMachineRecord>> {
        let records = self.records();
        let (at, record) = records.get(arn)?;
        (now.saturating_sub(*at) < RECORD_TTL_MILLIS).then(|| record.clone())
    }

    fn put_record(&self, now: Millis, record: Arc<StateMachineRecord>) {
        let mut records = self.records();
        if records.len() >= MAX_CACHED_MACHINES {
            records.clear();
        }
        records.insert(record.arn.clone(), (now, record));
    }

    /// Drops the cached record of `arn` (after this node changed or deleted it).
    pub fn forget(&self, arn: &str) {
        self.records().remove(arn);
    }
}

/// CreateStateMachine's parameters, parsed.
#[derive(Debug, Clone)]
pub struct CreateStateMachine {
    pub name: String,
    pub definition: String,
    pub role_arn: String,
    pub machine_type: MachineType,
    pub logging_configuration: Option<Value>,
    pub tracing_configuration: Option<Value>,
    pub tags: Vec<Tag>,
}

/// UpdateStateMachine's parameters: what to change.
#[derive(Debug, Clone, Default)]
pub struct UpdateStateMachine {
    pub arn: String,
    pub definition: Option<String>,
    pub role_arn: Option<String>,
    pub logging_configuration: Option<Value>,
    pub tracing_configuration: Option<Value>,
}

/// Parses a definition as CreateStateMachine does: `InvalidDefinition` with AWS's
/// joined diagnostics.
pub(crate) fn parse_for(definition: &str, kind: MachineType) -> Result<StateMachine, SfnError> {
    parse_definition(
        definition,
        ParseOptions {
            express: kind == MachineType::Express,
        },
    )
    .map_err(|d| SfnError::new("InvalidDefinition", d.invalid_definition_message()))
}

fn new_revision_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl StepFunctions {
    /// CreateStateMachine. Idempotent as on AWS: the same name with the same definition,
    /// role, type and configuration returns the existing machine.
    pub async fn create_state_machine(
        &self,
        req: CreateStateMachine,
    ) -> Result<StateMachineRecord, SfnError> {
        let inner = &self.inner;
        arn::check_name(&req.name)?;
        if req.tags.len() > MAX_TAGS {
            return Err(too_many_tags(&inner.scope.state_machine_arn(&req.name)));
        }
        let parsed = parse_for(&req.definition, req.machine_type)?;
        let now = inner.now();
        let arn = inner.scope.state_machine_arn(&req.name);
        let record = StateMachineRecord {
            arn: arn.clone(),
            name: req.name.clone(),
            machine_type: req.machine_type,
            created_millis: now,
            revision: Revision {
                revision_id: new_revision_id(),
                definition: req.definition.clone(),
                role_arn: req.role_arn.clone(),
                logging_configuration: req.logging_configuration.clone(),
                tracing_configuration: req.tracing_configuration.clone(),
                created_millis: now,
            },
        };
        match inner.store.insert_state_machine(&record, &req.tags).await {
            Ok(()) => {
                inner
                    .machines
                    .put(&record.revision.revision_id, Arc::new(parsed));
                Ok(record)
            }
            Err(StoreError::AlreadyExists(_)) => {
                let existing = inner
                    .store
                    .state_machine(&arn)
                    .await?
                    .ok_or_else(|| already_exists(&arn))?;
                let same = existing.machine_type == req.machine_type
                    && existing.revision.definition == req.definition
                    && existing.revision.role_arn == req.role_arn
                    && existing.revision.logging_configuration == req.logging_configuration
                    && existing.revision.tracing_configuration == req.tracing_configuration;
                if same {
                    Ok(existing)
                } else {
                    Err(already_exists(&arn))
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn update_state_machine(
        &self,
        req: UpdateStateMachine,
    ) -> Result<StateMachineRecord, SfnError> {
        let inner = &self.inner;
        arn::parse(&req.arn, &[ArnKind::StateMachine])?;
        if req.definition.is_none()
            && req.role_arn.is_none()
            && req.logging_configuration.is_none()
            && req.tracing_configuration.is_none()
        {
            return Err(SfnError::new(
                "MissingRequiredParameter",
                "Either the definition, the role ARN, the LoggingConfiguration, or the \
                 TracingConfiguration must be specified",
            ));
        }
        let current = self.describe_state_machine(&req.arn).await?;
        let parsed = match &req.definition {
            Some(d) => Some(parse_for(d, current.machine_type)?),
            None => None,
        };
        let now = inner.now();
        let old = current.revision;
        let revision = Revision {
            revision_id: new_revision_id(),
            definition: req.definition.unwrap_or(old.definition),
            role_arn: req.role_arn.unwrap_or(old.role_arn),
            logging_configuration: req.logging_configuration.or(old.logging_configuration),
            tracing_configuration: req.tracing_configuration.or(old.tracing_configuration),
            created_millis: now,
        };
        let updated = match inner.store.update_state_machine(&req.arn, &revision).await {
            Ok(m) => m,
            Err(StoreError::NotFound(_)) => {
                return Err(SfnError::state_machine_does_not_exist(&req.arn));
            }
            Err(e) => return Err(e.into()),
        };
        if let Some(p) = parsed {
            inner.machines.put(&revision.revision_id, Arc::new(p));
        }
        inner.machines.forget(&req.arn);
        Ok(updated)
    }

    pub async fn describe_state_machine(&self, arn: &str) -> Result<StateMachineRecord, SfnError> {
        arn::parse(arn, &[ArnKind::StateMachine])?;
        self.inner
            .store
            .state_machine(arn)
            .await?
            .ok_or_else(|| SfnError::state_machine_does_not_exist(arn))
    }

    /// The machine's record for starting an execution: cached for a moment (see
    /// [`MachineCache`]), so the hot path of StartExecution / StartSyncExecution does not
    /// read the store.
    pub(crate) async fn machine_for_start(
        &self,
        arn: &str,
    ) -> Result<Arc<StateMachineRecord>, SfnError> {
        let now = self.inner.now();
        if let Some(record) = self.inner.machines.fresh_record(arn, now) {
            return Ok(record);
        }
        let record = Arc::new(self.describe_state_machine(arn).await?);
        self.inner.machines.put_record(now, record.clone());
        Ok(record)
    }

    /// DeleteStateMachine: succeeds for a machine that does not exist, as AWS does.
    /// Running executions go on with the revision they started with.
    pub async fn delete_state_machine(&self, arn: &str) -> Result<(), SfnError> {
        arn::parse(arn, &[ArnKind::StateMachine])?;
        self.inner.store.delete_state_machine(arn).await?;
        self.inner.machines.forget(arn);
        Ok(())
    }

    pub async fn list_state_machines(
        &self,
        max_results: Option<i64>,
        next_token: Option<&str>,
    ) -> Result<Page<StateMachineRecord>, SfnError> {
        let limit = page_size(max_results)?;
        let after = next_token.map(|t| parse_token(t, "sm")).transpose()?;
        let mut items = self
            .inner
            .store
            .list_state_machines(after.as_deref(), limit + 1)
            .await?;
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|m| token("sm", &m.arn))
        } else {
            None
        };
        Ok(Page {
            items,
            next_token: next,
        })
    }
}

fn already_exists(arn: &str) -> SfnError {
    SfnError::new(
        "StateMachineAlreadyExists",
        format!("State Machine Already Exists: '{arn}'"),
    )
}

pub(crate) fn too_many_tags(arn: &str) -> SfnError {
    SfnError::new(
        "TooManyTags",
        format!("Too many tags on resource '{arn}': at most {MAX_TAGS} are allowed"),
    )
}
