//! The in-memory catalog: every bus with its rules (compiled into one matcher per bus),
//! targets (with their validated input transforms), archives, and the connections and
//! API destinations targets use. PutEvents and the delivery worker read a snapshot
//! (`Arc<Catalog>`) without locking; the control plane publishes a new one after each
//! committed change (copy-on-write per bus).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::store::{
    ApiDestinationRecord, ArchiveRecord, BusRecord, ConnectionRecord, EventsStore, RuleRecord,
    TargetInput, TargetRecord,
};
use baton_events::{InputTransform, Matcher, Pattern};
use serde_json::Value;

use super::arn::{Arns, TargetKind};
use super::error::BusError;

/// A snapshot of everything the data plane needs.
#[derive(Clone, Default)]
pub struct Catalog {
    pub buses: BTreeMap<String, Arc<BusEntry>>,
    pub connections: BTreeMap<String, ConnectionRecord>,
    pub api_destinations: BTreeMap<String, ApiDestinationRecord>,
}

/// One bus and what hangs off it.
#[derive(Clone)]
pub struct BusEntry {
    pub record: BusRecord,
    pub rules: BTreeMap<String, RuleEntry>,
    /// Enabled rules with an event pattern, by rule name.
    matcher: Matcher<String>,
    pub archives: BTreeMap<String, ArchiveRecord>,
    /// Archives with an event pattern, by archive name.
    archive_matcher: Matcher<String>,
}

#[derive(Clone)]
pub struct RuleEntry {
    pub record: RuleRecord,
    pub targets: Vec<TargetEntry>,
}

#[derive(Clone)]
pub struct TargetEntry {
    pub record: TargetRecord,
    pub transform: InputTransform,
    pub kind: TargetKind,
}

impl TargetEntry {
    /// Validates a target's input configuration as PutTargets does.
    pub fn new(record: TargetRecord, arns: &Arns) -> Result<TargetEntry, BusError> {
        let transform = match &record.input {
            TargetInput::WholeEvent => InputTransform::parse(&record.id, None, None, None),
            TargetInput::Constant(text) => {
                InputTransform::parse(&record.id, Some(text), None, None)
            }
            TargetInput::Path(path) => InputTransform::parse(&record.id, None, Some(path), None),
            TargetInput::Transformer { paths, template } => {
                InputTransform::parse(&record.id, None, None, Some((paths, template)))
            }
        }
        .map_err(|e| BusError::validation(e.message))?;
        let kind = arns.target_kind(&record.arn);
        if matches!(kind, TargetKind::Queue) && record.arn.ends_with(".fifo") {
            let group = record
                .other_parameters
                .get("SqsParameters")
                .and_then(|p| p.get("MessageGroupId"))
                .and_then(Value::as_str);
            if group.is_none_or(str::is_empty) {
                return Err(BusError::validation(format!(
                    "Parameter(s) SqsParameters must be specified for target: {}.",
                    record.id
                )));
            }
        }
        Ok(TargetEntry {
            record,
            transform,
            kind,
        })
    }
}

impl BusEntry {
    pub fn new(record: BusRecord) -> BusEntry {
        BusEntry {
            record,
            rules: BTreeMap::new(),
            matcher: Matcher::new(),
            archives: BTreeMap::new(),
            archive_matcher: Matcher::new(),
        }
    }

    /// The names of the enabled pattern rules an event (JSON text) matches.
    pub fn matching_rules(&self, event_json: &str) -> Vec<String> {
        if self.matcher.is_empty() {
            return Vec::new();
        }
        self.matcher.matches(event_json).unwrap_or_default()
    }

    /// The archives that keep an event: those without a pattern, and those whose
    /// pattern matches.
    pub fn matching_archives(&self, event_json: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .archives
            .values()
            .filter(|a| a.event_pattern.is_none())
            .map(|a| a.name.clone())
            .collect();
        if !self.archive_matcher.is_empty() {
            out.extend(self.archive_matcher.matches(event_json).unwrap_or_default());
        }
        out
    }

    /// Adds or replaces a rule, keeping its targets.
    pub fn set_rule(&mut self, record: RuleRecord) {
        self.matcher.remove_rule(&record.name);
        if record.state.is_enabled()
            && let Some(text) = &record.event_pattern
        {
            match Pattern::parse(text) {
                Ok(p) => self.matcher.add_rule(record.name.clone(), &p),
                Err(e) => {
                    tracing::warn!(rule = %record.name, error = %e, "stored pattern no longer parses")
                }
            }
        }
        let targets = self
            .rules
            .remove(&record.name)
            .map(|r| r.targets)
            .unwrap_or_default();
        self.rules
            .insert(record.name.clone(), RuleEntry { record, targets });
    }

    pub fn remove_rule(&mut self, name: &str) {
        self.matcher.remove_rule(&name.to_owned());
        self.rules.remove(name);
    }

    pub fn set_archive(&mut self, record: ArchiveRecord) {
        self.archive_matcher.remove_rule(&record.name);
        if let Some(text) = &record.event_pattern {
            match Pattern::parse(text) {
                Ok(p) => self.archive_matcher.add_rule(record.name.clone(), &p),
                Err(e) => {
                    tracing::warn!(archive = %record.name, error = %e, "stored pattern no longer parses")
                }
            }
        }
        self.archives.insert(record.name.clone(), record);
    }

    pub fn remove_archive(&mut self, name: &str) {
        self.archive_matcher.remove_rule(&name.to_owned());
        self.archives.remove(name);
    }
}

impl Catalog {
    /// Reads everything from the store.
    pub async fn load(store: &dyn EventsStore, arns: &Arns) -> Result<Catalog, BusError> {
        let mut catalog = Catalog::default();
        for bus in store.list_buses().await? {
            catalog
                .buses
                .insert(bus.name.clone(), Arc::new(BusEntry::new(bus)));
        }
        let mut by_bus: BTreeMap<String, BusEntry> = catalog
            .buses
            .iter()
            .map(|(k, v)| (k.clone(), (**v).clone()))
            .collect();
        for rule in store.list_rules().await? {
            if let Some(bus) = by_bus.get_mut(&rule.bus) {
                bus.set_rule(rule);
            }
        }
        for (bus, rule, target) in store.list_all_targets().await? {
            let Some(rule) = by_bus.get_mut(&bus).and_then(|b| b.rules.get_mut(&rule)) else {
                continue;
            };
            match TargetEntry::new(target, arns) {
                Ok(t) => rule.targets.push(t),
                Err(e) => tracing::warn!(error = %e, "stored target no longer validates"),
            }
        }
        for archive in store.list_archives().await? {
            if let Some(bus) = by_bus.get_mut(&archive.bus) {
                bus.set_archive(archive);
            }
        }
        catalog.buses = by_bus.into_iter().map(|(k, v)| (k, Arc::new(v))).collect();
        for c in store.list_connections().await? {
            catalog.connections.insert(c.name.clone(), c);
        }
        for d in store.list_api_destinations().await? {
            catalog.api_destinations.insert(d.name.clone(), d);
        }
        Ok(catalog)
    }

    pub fn bus(&self, name: &str) -> Option<&Arc<BusEntry>> {
        self.buses.get(name)
    }

    /// Whether two snapshots hold the same stored records (what a reload from the store
    /// would change); compiled matchers follow from the records.
    pub fn same_records(&self, other: &Catalog) -> bool {
        // Target order differs between a store read and local edits; ids are unique.
        fn targets_by_id(r: &RuleEntry) -> BTreeMap<&str, &TargetRecord> {
            r.targets
                .iter()
                .map(|t| (t.record.id.as_str(), &t.record))
                .collect()
        }
        fn bus_eq(a: &BusEntry, b: &BusEntry) -> bool {
            a.record == b.record
                && a.archives == b.archives
                && a.rules.len() == b.rules.len()
                && a.rules.iter().zip(&b.rules).all(|((na, ra), (nb, rb))| {
                    na == nb && ra.record == rb.record && targets_by_id(ra) == targets_by_id(rb)
                })
        }
        self.connections == other.connections
            && self.api_destinations == other.api_destinations
            && self.buses.len() == other.buses.len()
            && self
                .buses
                .iter()
                .zip(&other.buses)
                .all(|((na, a), (nb, b))| na == nb && bus_eq(a, b))
    }

    pub fn rule(&self, bus: &str, name: &str) -> Option<&RuleEntry> {
        self.buses.get(bus)?.rules.get(name)
    }

    /// Changes one bus (copy-on-write).
    pub fn update_bus(&mut self, name: &str, f: impl FnOnce(&mut BusEntry)) {
        if let Some(entry) = self.buses.get_mut(name) {
            f(Arc::make_mut(entry));
        }
    }

    /// Finds an archive by name on any bus.
    pub fn archive(&self, name: &str) -> Option<&ArchiveRecord> {
        self.buses.values().find_map(|b| b.archives.get(name))
    }
}
