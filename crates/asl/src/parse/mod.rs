//! Definition JSON → [`StateMachine`], reporting every problem found.
//!
//! One pass over the definition. Each scope (the machine, a Parallel branch, a Map item
//! processor) first learns its state names, so every `Next`/`Default`/`StartAt`/Catch
//! `Next` is resolved to a [`StateId`] the moment it is read. Problems go to two lists:
//! schema problems (fields, types, values), in the order they are met, and graph problems
//! (missing targets, unreachable states, no terminal state), which AWS reports after them.
//! Whole-graph checks (reachability, a terminal state) only run on a definition whose
//! states all parsed: a state with an unknown `Type` has no known transitions.
//!
//! Messages and codes follow AWS's `ValidateStateMachineDefinition`; locations are AWS's
//! slash paths (`/States/C/Choices[0]/Next`).

mod fields;
mod graph;
mod json_text;
mod map;
mod resource;
mod retry;
mod states;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};

use serde_json::{Map as JsonMap, Value};

use crate::diagnostic::{Diagnostic, Diagnostics, code, pointer_join};
use crate::model::{QueryLanguage, Scope, ScopeId, State, StateId, StateKind, StateMachine};

pub use resource::parse_resource;

/// What the definition is validated for.
#[derive(Debug, Clone, Copy, Default)]
pub struct ParseOptions {
    /// EXPRESS machines reject activities, `.sync` and `.waitForTaskToken`.
    pub express: bool,
}

/// The name AWS gives the one state of a TestState definition that is not a whole machine
/// (its diagnostics point at `/States/StateName/…`).
pub const TEST_STATE_NAME: &str = "StateName";

/// Parses and validates definition text.
pub fn parse_definition(text: &str, options: ParseOptions) -> Result<StateMachine, Diagnostics> {
    match json_text::read_value(text) {
        Ok(Value::Object(root)) => {
            let mut parser = Parser::new(options, Mode::Machine);
            parser.text_duplicates = json_text::duplicate_keys_under_states(text);
            parser.machine(&root)
        }
        Ok(_) => Err(not_an_object()),
        Err(json_text::TextError::NoContent) => Err(not_an_object()),
        Err(json_text::TextError::Syntax { message, location }) => {
            Err(Diagnostics(vec![Diagnostic {
                code: code::INVALID_JSON_DESCRIPTION,
                message,
                location: Some(location),
            }]))
        }
    }
}

/// Parses and validates a definition already read as JSON.
pub fn parse_definition_value(
    value: &Value,
    options: ParseOptions,
) -> Result<StateMachine, Diagnostics> {
    let Value::Object(root) = value else {
        return Err(not_an_object());
    };
    Parser::new(options, Mode::Machine).machine(root)
}

/// Parses the definition of one state as TestState receives it (not a whole machine).
///
/// The state becomes the only real state of the root scope, named [`TEST_STATE_NAME`].
/// Its transitions name states that do not exist here, so each such name becomes a
/// `Succeed` placeholder appended after it: TestState never runs them, but reports the
/// chosen one's name as `nextState`. Nested scopes (Parallel branches, Map processors) are
/// validated as usual.
pub fn parse_state_definition(
    value: &Value,
    options: ParseOptions,
) -> Result<StateMachine, Diagnostics> {
    let mut states = JsonMap::new();
    states.insert(TEST_STATE_NAME.to_owned(), value.clone());
    let mut root = JsonMap::new();
    root.insert(
        "StartAt".to_owned(),
        Value::String(TEST_STATE_NAME.to_owned()),
    );
    root.insert("States".to_owned(), Value::Object(states));
    // A state-level JSONata is all TestState has to say the machine is JSONata (a bad
    // value is reported once, on the state).
    if value.get("QueryLanguage").and_then(Value::as_str) == Some("JSONata") {
        root.insert(
            "QueryLanguage".to_owned(),
            Value::String("JSONata".to_owned()),
        );
    }
    Parser::new(options, Mode::SingleState).machine(&root)
}

fn not_an_object() -> Diagnostics {
    Diagnostics(vec![Diagnostic::unlocated(
        code::SCHEMA_VALIDATION_FAILED,
        "Definition must be a valid JSON object",
    )])
}

/// Scopes nested deeper than this are refused (`TOO_DEEPLY_NESTED`) rather than recursed
/// into; AWS's 1 MB definitions come nowhere near it in practice.
const MAX_SCOPE_DEPTH: usize = 40;
/// AWS's limit on state name length.
const MAX_STATE_NAME_CHARS: usize = 80;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Machine,
    /// TestState's single-state definition: unknown targets become placeholders and the
    /// root scope's graph is not checked.
    SingleState,
}

/// What kind of object holds a scope's `StartAt`/`States`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScopeKind {
    Root,
    Branch,
    Processor,
}

/// The state names of the scope being parsed, for resolving transitions.
struct ScopeNames {
    ids: HashMap<String, StateId>,
    /// Unknown targets turned into placeholder states (single-state mode, root only).
    placeholders: Option<Vec<String>>,
    count: usize,
}

pub(crate) struct Parser {
    options: ParseOptions,
    mode: Mode,
    /// The machine's effective query language; nested states inherit it, not their
    /// enclosing state's (measured on AWS).
    top_language: QueryLanguage,
    schema: Diagnostics,
    graph: Vec<Diagnostic>,
    scopes: Vec<Option<Scope>>,
    /// Every state name in the machine (names must be unique across all scopes).
    all_names: HashSet<String>,
    /// Scopes whose graph is checked once the whole definition is read.
    pending_graphs: Vec<PendingGraph>,
    /// Locations of state names written twice in one `States` object of the text (the
    /// JSON value keeps only the last).
    text_duplicates: Vec<String>,
}

/// A scope's graph, kept for the checks that run after the whole definition is read.
struct PendingGraph {
    scope: ScopeId,
    infos: Vec<graph::GraphInfo>,
    names: Vec<String>,
    start: Option<StateId>,
    states_pointer: String,
    is_machine: bool,
}

impl Parser {
    fn new(options: ParseOptions, mode: Mode) -> Self {
        Parser {
            options,
            mode,
            top_language: QueryLanguage::JsonPath,
            schema: Diagnostics::default(),
            graph: Vec::new(),
            scopes: Vec::new(),
            all_names: HashSet::new(),
            pending_graphs: Vec::new(),
            text_duplicates: Vec::new(),
        }
    }

    fn schema_error(&mut self, message: impl Into<String>, location: impl Into<String>) {
        self.schema.push(Diagnostic::schema(message, location));
    }

    fn machine(mut self, root: &JsonMap<String, Value>) -> Result<StateMachine, Diagnostics> {
        const TOP_FIELDS: &[&str] = &[
            "Comment",
            "QueryLanguage",
            "StartAt",
            "TimeoutSeconds",
            "Version",
            "States",
        ];
        self.required(root, &["States", "StartAt"], "/");
        for key in root.keys() {
            if !TOP_FIELDS.contains(&key.as_str()) {
                self.schema_error(format!("Field '{key}' is not supported"), "/");
            }
        }
        self.top_language = self.query_language_field(root, "/", QueryLanguage::JsonPath);
        let comment = self.string_field(root, "Comment", "/").map(str::to_owned);
        let version = match root.get("Version") {
            None => None,
            Some(Value::String(v)) if v == "1.0" => Some(v.clone()),
            Some(Value::String(_)) => {
                self.schema_error("Value should be one of the following: [1.0]", "/Version");
                None
            }
            Some(_) => {
                self.type_error(fields::Expected::String, "/Version");
                None
            }
        };
        let timeout_seconds = match root.get("TimeoutSeconds") {
            None => None,
            Some(v) => self.integer(v, "/TimeoutSeconds", 0, None),
        };

        let _ = self.scope(root, "/", None, ScopeKind::Root, 0, self.options.express);
        if self.schema.is_empty() {
            let mut pending = std::mem::take(&mut self.pending_graphs);
            pending.sort_by_key(|p| p.scope);
            for p in pending {
                let found =
                    graph::check(&p.infos, &p.names, p.start, &p.states_pointer, p.is_machine);
                self.graph.extend(found);
            }
        }

        if self.schema.is_empty() && self.graph.is_empty() {
            let scopes: Vec<Scope> = self.scopes.into_iter().flatten().collect();
            Ok(StateMachine {
                comment,
                version,
                timeout_seconds,
                query_language: self.top_language,
                scopes,
            })
        } else {
            let mut all = self.schema;
            all.0.extend(self.graph);
            Err(all)
        }
    }

    /// Parses the `StartAt`/`States` of `obj` (the machine, a branch or a processor) into
    /// a new scope and returns its id. `obj_pointer` is the location of `obj` itself.
    fn scope(
        &mut self,
        obj: &JsonMap<String, Value>,
        obj_pointer: &str,
        parent: Option<ScopeId>,
        kind: ScopeKind,
        depth: usize,
        express: bool,
    ) -> ScopeId {
        let id = ScopeId(u32::try_from(self.scopes.len()).unwrap_or(u32::MAX));
        self.scopes.push(None);
        let states_pointer = pointer_join(obj_pointer, "States");
        if depth > MAX_SCOPE_DEPTH {
            self.schema.push(Diagnostic::new(
                code::TOO_DEEPLY_NESTED,
                "The states are too deeply nested",
                obj_pointer,
            ));
            return id;
        }
        if kind != ScopeKind::Root {
            const SCOPE_FIELDS: &[&str] = &["Comment", "StartAt", "States", "ProcessorConfig"];
            self.required(obj, &["States", "StartAt"], obj_pointer);
            for key in obj.keys() {
                let allowed = SCOPE_FIELDS.contains(&key.as_str())
                    && (key != "ProcessorConfig" || kind == ScopeKind::Processor);
                if !allowed {
                    self.schema_error(format!("Field '{key}' is not supported"), obj_pointer);
                }
            }
        }
        let comment = if kind == ScopeKind::Root {
            None
        } else {
            self.string_field(obj, "Comment", obj_pointer)
                .map(str::to_owned)
        };
        let start_pointer = pointer_join(obj_pointer, "StartAt");
        let start_name = self
            .string_field(obj, "StartAt", obj_pointer)
            .map(str::to_owned);
        let states_obj = match obj.get("States") {
            Some(Value::Object(m)) => Some(m),
            Some(_) => {
                self.type_error(fields::Expected::Object, &states_pointer);
                None
            }
            None => None,
        };

        let mut names = ScopeNames {
            ids: HashMap::new(),
            placeholders: (self.mode == Mode::SingleState && kind == ScopeKind::Root)
                .then(Vec::new),
            count: states_obj.map_or(0, JsonMap::len),
        };
        if let Some(states_obj) = states_obj {
            for (i, name) in states_obj.keys().enumerate() {
                names
                    .ids
                    .insert(name.clone(), StateId(u32::try_from(i).unwrap_or(u32::MAX)));
            }
        }

        // StartAt is a transition like any other (a missing target is reported as such).
        let start_at = match (&start_name, states_obj) {
            (Some(name), Some(_)) => self.resolve(&mut names, name, &start_pointer),
            _ => None,
        };

        let prefix = format!("{states_pointer}/");
        let duplicates: Vec<String> = self
            .text_duplicates
            .iter()
            .filter(|loc| {
                loc.strip_prefix(&prefix)
                    .is_some_and(|name| states_obj.is_some_and(|m| m.contains_key(name)))
            })
            .cloned()
            .collect();
        for location in duplicates {
            let name = location.get(prefix.len()..).unwrap_or_default();
            self.schema.push(Diagnostic::new(
                code::DUPLICATE_STATE_NAME,
                format!("Duplicate State name: {name}"),
                location.as_str(),
            ));
        }

        let mut states = Vec::new();
        let mut infos = Vec::new();
        if let Some(states_obj) = states_obj {
            for (name, state_value) in states_obj {
                let pointer = pointer_join(&states_pointer, name);
                self.check_state_name(name, &pointer);
                let (state, info) = match state_value {
                    Value::Object(state_obj) => {
                        let ctx = states::StateCtx {
                            name,
                            pointer: &pointer,
                            scope: id,
                            depth,
                            express,
                        };
                        self.state(state_obj, &ctx, &mut names)
                    }
                    _ => {
                        self.type_error(fields::Expected::Object, &pointer);
                        (
                            placeholder_state(name.clone(), self.top_language),
                            graph::GraphInfo::default(),
                        )
                    }
                };
                states.push(state);
                infos.push(info);
            }
        }

        if let Some(placeholders) = names.placeholders.take() {
            for name in placeholders {
                states.push(placeholder_state(name, self.top_language));
            }
        }

        let checks_graph = !(self.mode == Mode::SingleState && kind == ScopeKind::Root);
        if checks_graph && states_obj.is_some() {
            self.pending_graphs.push(PendingGraph {
                scope: id,
                infos,
                names: states.iter().map(|s| s.name.to_string()).collect(),
                start: start_at,
                states_pointer: states_pointer.clone(),
                is_machine: kind == ScopeKind::Root,
            });
        }
        let start_at = start_at.unwrap_or(StateId(0));

        if let Some(slot) = self.scopes.get_mut(id.0 as usize) {
            *slot = Some(Scope {
                comment,
                start_at,
                states,
                parent,
                pointer: states_pointer,
            });
        }
        id
    }

    fn check_state_name(&mut self, name: &str, pointer: &str) {
        if name.chars().count() > MAX_STATE_NAME_CHARS {
            self.schema.push(Diagnostic::new(
                code::INVALID_STATE_NAME,
                format!("State name '{name}' exceeds the maximum length of {MAX_STATE_NAME_CHARS} characters"),
                pointer,
            ));
        }
        if !self.all_names.insert(name.to_owned()) {
            self.schema.push(Diagnostic::new(
                code::DUPLICATE_STATE_NAME,
                format!("Duplicate State name: {name}"),
                pointer,
            ));
        }
    }

    /// Resolves a transition target in the current scope; a missing one is reported
    /// (`Missing 'Next' target`, whatever the field) or, in single-state mode, becomes a
    /// placeholder.
    fn resolve(&mut self, names: &mut ScopeNames, target: &str, pointer: &str) -> Option<StateId> {
        if let Some(id) = names.ids.get(target) {
            return Some(*id);
        }
        if let Some(placeholders) = names.placeholders.as_mut() {
            let index = names.count + placeholders.len();
            let id = StateId(u32::try_from(index).unwrap_or(u32::MAX));
            placeholders.push(target.to_owned());
            names.ids.insert(target.to_owned(), id);
            return Some(id);
        }
        self.graph.push(Diagnostic::new(
            code::MISSING_TRANSITION_TARGET,
            format!("Missing 'Next' target: {target}"),
            pointer,
        ));
        None
    }
}

fn placeholder_state(name: String, language: QueryLanguage) -> State {
    State {
        name: name.into(),
        comment: None,
        query_language: language,
        kind: StateKind::Succeed,
        io: Default::default(),
        assign: None,
        transition: crate::model::Transition::End,
        retry: Vec::new(),
        catch: Vec::new(),
    }
}
