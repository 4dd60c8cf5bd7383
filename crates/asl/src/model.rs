//! The typed plan a definition is validated into.
//!
//! Everything the interpreter needs at run time is decided here, once: state names are
//! resolved to indices, paths and templates are compiled, each state's effective query
//! language is fixed. The interpreter never looks at raw definition JSON again.
//!
//! Nested state lists (Parallel branches, Map item processors) are flattened into
//! [`StateMachine::scopes`], so a position in a running machine is two small integers
//! ([`ScopeId`], [`StateId`]) that serialise trivially and survive restarts.

use std::sync::Arc;

use serde_json::Value;

use crate::choice::ChoiceRule;
use crate::error_name::ErrorMatcher;
use crate::intrinsic::Intrinsic;
use crate::jsonata::Expression;
use crate::path::{Path, ReferencePath};
use crate::template::Template;

/// Index of a [`Scope`] in [`StateMachine::scopes`]; the root scope is 0.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct ScopeId(pub u32);

/// Index of a [`State`] in its scope's [`Scope::states`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct StateId(pub u32);

impl ScopeId {
    pub const ROOT: ScopeId = ScopeId(0);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueryLanguage {
    #[default]
    JsonPath,
    Jsonata,
}

impl QueryLanguage {
    pub fn as_str(self) -> &'static str {
        match self {
            QueryLanguage::JsonPath => "JSONPath",
            QueryLanguage::Jsonata => "JSONata",
        }
    }
}

/// A validated state machine definition.
#[derive(Debug, Clone)]
pub struct StateMachine {
    pub comment: Option<String>,
    pub version: Option<String>,
    /// Execution-wide timeout (`TimeoutSeconds` at the top level).
    pub timeout_seconds: Option<u64>,
    /// The top-level `QueryLanguage` (default JSONPath); each state has its effective one.
    pub query_language: QueryLanguage,
    /// `scopes[0]` is the machine itself; the rest are Parallel branches and Map
    /// item processors, in definition order (depth first).
    pub scopes: Vec<Scope>,
}

impl StateMachine {
    pub fn root(&self) -> &Scope {
        &self.scopes[0]
    }

    pub fn scope(&self, id: ScopeId) -> &Scope {
        &self.scopes[id.0 as usize]
    }

    pub fn state(&self, scope: ScopeId, state: StateId) -> &State {
        &self.scope(scope).states[state.0 as usize]
    }
}

/// One list of states with its `StartAt`: the machine, a Parallel branch or a Map processor.
#[derive(Debug, Clone)]
pub struct Scope {
    pub comment: Option<String>,
    pub start_at: StateId,
    /// States in definition order.
    pub states: Vec<State>,
    /// The scope this one is nested in (`None` for the root).
    pub parent: Option<ScopeId>,
    /// JSON pointer of this scope's `States` object in the definition, for diagnostics.
    pub pointer: String,
}

impl Scope {
    pub fn find(&self, name: &str) -> Option<StateId> {
        self.states
            .iter()
            .position(|s| &*s.name == name)
            .map(|i| StateId(i as u32))
    }

    pub fn state(&self, id: StateId) -> &State {
        &self.states[id.0 as usize]
    }
}

/// Where control goes after a state completes normally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Next(StateId),
    End,
}

/// One state. Fields shared by several types live here; type-specific ones in [`StateKind`].
/// A field a state type does not allow is rejected by the parser, so it is always `None` here.
#[derive(Debug, Clone)]
pub struct State {
    /// Shared: every history event about the state names it.
    pub name: Arc<str>,
    pub comment: Option<String>,
    /// The effective query language (the state's own, else the machine's).
    pub query_language: QueryLanguage,
    pub kind: StateKind,
    pub io: DataFlow,
    /// `Assign`: variables set when the state completes (JSONPath templates with `.$` keys,
    /// or JSONata templates).
    pub assign: Option<Template>,
    /// `Next`/`End`; Choice, Succeed and Fail have none (`Transition::End` for them).
    pub transition: Transition,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
}

impl State {
    pub fn type_name(&self) -> &'static str {
        self.kind.type_name()
    }

    pub fn is_jsonata(&self) -> bool {
        self.query_language == QueryLanguage::Jsonata
    }
}

/// The data-flow fields. JSONPath states use the first five (plus `parameters` as the
/// template for Task/Parallel and `ItemSelector`'s legacy spelling on Map); JSONata
/// states use `arguments` and `output`.
#[derive(Debug, Clone, Default)]
pub struct DataFlow {
    /// `InputPath`: `Default` = `$`, `Null` = `{}`.
    pub input_path: OptionalPath,
    /// `Parameters` (JSONPath) — for Pass, Task, Parallel, and legacy Map item templates.
    pub parameters: Option<Template>,
    /// `ResultSelector` (JSONPath; Task, Parallel, Map).
    pub result_selector: Option<Template>,
    /// `ResultPath`: `Default` = `$` (result replaces input), `Null` = keep the input.
    pub result_path: OptionalReferencePath,
    /// `OutputPath`: `Default` = `$`, `Null` = `{}`.
    pub output_path: OptionalPath,
    /// `Arguments` (JSONata; Task, Parallel).
    pub arguments: Option<Template>,
    /// `Output` (JSONata; every state but Fail).
    pub output: Option<Template>,
}

/// A JSONPath field that may be absent (meaning `$`) or JSON `null` (meaning "nothing").
#[derive(Debug, Clone, Default)]
pub enum OptionalPath {
    #[default]
    Default,
    Null,
    Path(Path),
}

#[derive(Debug, Clone, Default)]
pub enum OptionalReferencePath {
    #[default]
    Default,
    Null,
    Path(ReferencePath),
}

/// A value that is fixed in the definition, read through a `…Path` field (JSONPath), or
/// computed by a JSONata expression. Which forms are allowed depends on the field.
#[derive(Debug, Clone)]
pub enum Dynamic<T> {
    Fixed(T),
    Path(Path),
    Jsonata(Expression),
}

/// A Fail state's `Error`/`Cause`: like [`Dynamic`], plus the intrinsic function call
/// that `ErrorPath`/`CausePath` (and only they) accept.
#[derive(Debug, Clone)]
pub enum FailField {
    Fixed(String),
    Path(Path),
    Intrinsic(Intrinsic),
    Jsonata(Expression),
}

impl From<Dynamic<String>> for FailField {
    fn from(d: Dynamic<String>) -> Self {
        match d {
            Dynamic::Fixed(s) => FailField::Fixed(s),
            Dynamic::Path(p) => FailField::Path(p),
            Dynamic::Jsonata(e) => FailField::Jsonata(e),
        }
    }
}

#[derive(Debug, Clone)]
pub enum StateKind {
    Pass(Pass),
    Task(Box<Task>),
    Choice(Choice),
    Wait(Wait),
    Succeed,
    Fail(Fail),
    Parallel(Parallel),
    Map(Box<Map>),
}

impl StateKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            StateKind::Pass(_) => "Pass",
            StateKind::Task(_) => "Task",
            StateKind::Choice(_) => "Choice",
            StateKind::Wait(_) => "Wait",
            StateKind::Succeed => "Succeed",
            StateKind::Fail(_) => "Fail",
            StateKind::Parallel(_) => "Parallel",
            StateKind::Map(_) => "Map",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Pass {
    /// `Result`: a fixed value that stands in for the task result (shared, not copied,
    /// by every execution that passes through).
    pub result: Option<Arc<Value>>,
}

#[derive(Debug, Clone)]
pub struct Task {
    /// The `Resource` URI as written.
    pub resource: String,
    /// `Resource` taken apart: which integration and which integration pattern.
    pub target: TaskTarget,
    /// `TimeoutSeconds` / `TimeoutSecondsPath` / JSONata. Default 99999999 on AWS.
    pub timeout_seconds: Option<Dynamic<u64>>,
    /// `HeartbeatSeconds` / `HeartbeatSecondsPath` / JSONata.
    pub heartbeat_seconds: Option<Dynamic<u64>>,
    /// `Credentials` (`RoleArn` / `RoleArn.$`), passed to the integration as is.
    pub credentials: Option<Template>,
}

/// What a Task's `Resource` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskTarget {
    /// `arn:aws:states:<region>:<acct>:activity:<name>`
    Activity { arn: String },
    /// `arn:aws:lambda:…:function:<name>` used directly (legacy Lambda form).
    LambdaFunction { arn: String },
    /// `arn:aws:states:::<service>:<action>[.sync|.sync:2|.waitForTaskToken]`.
    Service {
        service: String,
        action: String,
        pattern: IntegrationPattern,
    },
    /// Anything else: kept so the runtime can report a precise error.
    Other { uri: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntegrationPattern {
    /// Request-response: the task completes when the call returns.
    RequestResponse,
    /// `.sync`: run a job and wait for it to finish.
    Sync,
    /// `.sync:2`: like `.sync`, with the newer output shape.
    Sync2,
    /// `.waitForTaskToken`: wait for SendTaskSuccess/Failure with the task token.
    WaitForTaskToken,
}

#[derive(Debug, Clone)]
pub struct Choice {
    /// `Choices`, each with its `Next` resolved.
    pub choices: Vec<ChoiceBranch>,
    /// `Default`.
    pub default: Option<StateId>,
}

#[derive(Debug, Clone)]
pub struct ChoiceBranch {
    pub rule: ChoiceRule,
    pub next: StateId,
    /// `Assign` on the choice rule (applied when the rule is taken).
    pub assign: Option<Template>,
    /// `Output` on the choice rule (JSONata).
    pub output: Option<Template>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Wait {
    /// `Seconds` (fixed or JSONata) or `SecondsPath`.
    Seconds(Dynamic<u64>),
    /// `Timestamp` (fixed text or JSONata) or `TimestampPath`.
    Timestamp(Dynamic<String>),
}

#[derive(Debug, Clone)]
pub struct Fail {
    /// `Error` / `ErrorPath` (an intrinsic function is allowed there) / JSONata.
    pub error: Option<FailField>,
    /// `Cause` / `CausePath` / JSONata.
    pub cause: Option<FailField>,
}

#[derive(Debug, Clone)]
pub struct Parallel {
    /// One scope per branch, in order.
    pub branches: Vec<ScopeId>,
}

#[derive(Debug, Clone)]
pub struct Map {
    /// The item processor (`ItemProcessor`, or the legacy `Iterator`).
    pub processor: ScopeId,
    pub mode: ProcessorMode,
    /// `ProcessorConfig.ExecutionType` for distributed maps.
    pub execution_type: Option<ExecutionType>,
    /// `ItemsPath` (JSONPath) or `Items` (JSONata: an expression, or a literal array
    /// whose elements may hold expressions).
    pub items: Option<MapItems>,
    /// `ItemSelector`, or the legacy `Parameters` on a Map.
    pub item_selector: Option<Template>,
    /// `ItemReader`, kept as a template: its `Resource`, `ReaderConfig` and `Parameters`/`Arguments`.
    pub item_reader: Option<ItemReader>,
    /// `ItemBatcher`.
    pub item_batcher: Option<ItemBatcher>,
    /// `ResultWriter`, kept as written (the runtime decides what it can write to).
    pub result_writer: Option<Value>,
    /// `MaxConcurrency` / `MaxConcurrencyPath` / JSONata. 0 = no limit.
    pub max_concurrency: Option<Dynamic<u64>>,
    /// `ToleratedFailurePercentage` / `…Path` / JSONata.
    pub tolerated_failure_percentage: Option<Dynamic<f64>>,
    /// `ToleratedFailureCount` / `…Path` / JSONata.
    pub tolerated_failure_count: Option<Dynamic<u64>>,
    /// `Label` (distributed maps).
    pub label: Option<String>,
}

/// Where a Map's items come from.
#[derive(Debug, Clone)]
pub enum MapItems {
    /// `ItemsPath`.
    Path(Path),
    /// JSONata `Items`; it must evaluate to an array.
    Template(Template),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessorMode {
    Inline,
    Distributed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutionType {
    Standard,
    Express,
}

#[derive(Debug, Clone)]
pub struct ItemReader {
    pub resource: String,
    /// `ReaderConfig` as written (InputType, CSVHeaderLocation, MaxItems(Path), …).
    pub reader_config: Option<Value>,
    /// `Parameters` (JSONPath) or `Arguments` (JSONata).
    pub parameters: Option<Template>,
}

#[derive(Debug, Clone)]
pub struct ItemBatcher {
    /// `MaxItemsPerBatch` / `…Path` / JSONata.
    pub max_items_per_batch: Option<Dynamic<u64>>,
    /// `MaxInputBytesPerBatch` / `…Path` / JSONata.
    pub max_input_bytes_per_batch: Option<Dynamic<u64>>,
    /// `BatchInput`: a template merged into each batch object.
    pub batch_input: Option<Template>,
}

/// One `Retry` entry.
#[derive(Debug, Clone)]
pub struct Retrier {
    pub error_equals: ErrorMatcher,
    /// Default 1.
    pub interval_seconds: u64,
    /// Default 3; 0 never retries.
    pub max_attempts: u64,
    /// Default 2.0.
    pub backoff_rate: f64,
    /// Cap on the computed delay.
    pub max_delay_seconds: Option<u64>,
    pub jitter: JitterStrategy,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JitterStrategy {
    #[default]
    None,
    Full,
}

/// One `Catch` entry.
#[derive(Debug, Clone)]
pub struct Catcher {
    pub error_equals: ErrorMatcher,
    pub next: StateId,
    /// `ResultPath` (JSONPath): where the error output goes; default `$`.
    pub result_path: OptionalReferencePath,
    /// `Output` (JSONata).
    pub output: Option<Template>,
    /// `Assign`.
    pub assign: Option<Template>,
    pub comment: Option<String>,
}
