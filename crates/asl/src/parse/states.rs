//! One state: the checks on the state object as a whole, then each field by type.

use std::sync::Arc;

use serde_json::{Map as JsonMap, Value};

use super::fields::{self, COMMON_FIELDS, Expected, STATE_TYPES, allowed_fields, field_language};
use super::graph::GraphInfo;
use super::{Parser, ScopeKind, ScopeNames};
use crate::choice::ChoiceRule;
use crate::diagnostic::{pointer_index, pointer_join};
use crate::model::{
    Choice, ChoiceBranch, DataFlow, Dynamic, Fail, FailField, Parallel, Pass, QueryLanguage,
    ScopeId, State, StateKind, Task, Transition, Wait,
};

/// Where a state sits.
pub(super) struct StateCtx<'a> {
    pub name: &'a str,
    pub pointer: &'a str,
    pub scope: ScopeId,
    pub depth: usize,
    /// Whether the state runs in an EXPRESS workflow.
    pub express: bool,
}

/// The JSONPath Wait fields, in the order AWS lists them.
const WAIT_FIELDS: &[&str] = &["SecondsPath", "Seconds", "TimestampPath", "Timestamp"];

impl Parser {
    /// Parses one state. Always returns a state (with stand-ins where fields were bad) so
    /// state indices stay aligned with the definition; the caller discards the machine if
    /// anything was reported.
    pub(super) fn state(
        &mut self,
        obj: &JsonMap<String, Value>,
        ctx: &StateCtx<'_>,
        names: &mut ScopeNames,
    ) -> (State, GraphInfo) {
        let pointer = ctx.pointer;
        let type_pointer = pointer_join(pointer, "Type");
        let type_name = match obj.get("Type") {
            None => {
                self.required(obj, &["Type"], pointer);
                None
            }
            Some(Value::String(t)) if STATE_TYPES.contains(&t.as_str()) => Some(t.as_str()),
            Some(Value::String(_)) => {
                self.schema_error(
                    format!(
                        "The field 'Type' should have one of these values: [{}]",
                        STATE_TYPES.join(", ")
                    ),
                    &type_pointer,
                );
                None
            }
            Some(_) => {
                self.type_error(Expected::String, &type_pointer);
                None
            }
        };

        // The language is worked out quietly first: its own diagnostics are field-level
        // and come after the checks on the state as a whole.
        let (language, language_problem) =
            fields::resolve_query_language(obj, pointer, self.top_language);
        let downgraded = self.top_language == QueryLanguage::Jsonata
            && obj.get("QueryLanguage") == Some(&Value::String("JSONPath".to_owned()));

        let mut graph = GraphInfo::default();
        let Some(type_name) = type_name else {
            self.schema.0.extend(language_problem);
            return (stand_in(ctx.name, language), graph);
        };

        // Checks on the state object as a whole, located at the state.
        if downgraded {
            self.schema_error(
                "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine",
                pointer,
            );
        }
        match type_name {
            "Task" => self.required(obj, &["Resource"], pointer),
            "Choice" => self.required(obj, &["Choices"], pointer),
            "Parallel" => self.required(obj, &["Branches"], pointer),
            _ => {}
        }
        let allowed = allowed_fields(type_name);
        for key in obj.keys() {
            if COMMON_FIELDS.contains(&key.as_str()) {
                continue;
            }
            if !allowed.contains(&key.as_str()) {
                self.schema_error(format!("Field '{key}' is not supported"), pointer);
            } else if !downgraded && field_language(key).is_some_and(|l| l != language) {
                self.schema_error(fields::language_mismatch(key, language), pointer);
            }
        }
        let has_transition = !matches!(type_name, "Choice" | "Succeed" | "Fail");
        if has_transition {
            let ends = obj.get("End") == Some(&Value::Bool(true));
            match (obj.contains_key("Next"), ends) {
                (true, true) => self.schema_error(
                    "There should only be one of the following fields: [Next, End]",
                    pointer,
                ),
                (false, false) => self.schema_error(
                    "This object should have only one of the following fields: [Next, End]",
                    pointer,
                ),
                _ => {}
            }
        }
        match type_name {
            "Task" => {
                self.exclusive(obj, &["TimeoutSeconds", "TimeoutSecondsPath"], pointer);
                self.exclusive(obj, &["HeartbeatSeconds", "HeartbeatSecondsPath"], pointer);
            }
            "Wait" => self.exactly_one(obj, WAIT_FIELDS, pointer),
            "Fail" => {
                self.exclusive(obj, &["Error", "ErrorPath"], pointer);
                self.exclusive(obj, &["Cause", "CausePath"], pointer);
            }
            "Map" => {
                self.exactly_one(obj, &["ItemProcessor", "Iterator"], pointer);
                self.exclusive(obj, &["ItemSelector", "Parameters"], pointer);
                self.exclusive(obj, &["MaxConcurrency", "MaxConcurrencyPath"], pointer);
                self.exclusive(
                    obj,
                    &[
                        "ToleratedFailurePercentage",
                        "ToleratedFailurePercentagePath",
                    ],
                    pointer,
                );
                self.exclusive(
                    obj,
                    &["ToleratedFailureCount", "ToleratedFailureCountPath"],
                    pointer,
                );
            }
            _ => {}
        }

        // Field by field.
        self.schema.0.extend(language_problem);
        let comment = self
            .string_field(obj, "Comment", pointer)
            .map(str::to_owned);
        let jsonpath = language == QueryLanguage::JsonPath;
        let jsonata = language == QueryLanguage::Jsonata;
        let takes = |field: &str| allowed.contains(&field) && obj.contains_key(field);

        let mut io = DataFlow::default();
        if jsonpath {
            if takes("InputPath") {
                io.input_path = self.optional_path(obj, "InputPath", pointer);
            }
            if takes("OutputPath") {
                io.output_path = self.optional_path(obj, "OutputPath", pointer);
            }
            if takes("ResultPath") {
                io.result_path = self.optional_reference_path(obj, "ResultPath", pointer);
            }
            if takes("Parameters") && type_name != "Map" {
                io.parameters = self.template_field(obj, "Parameters", pointer, language);
            }
            if takes("ResultSelector") {
                io.result_selector =
                    self.object_template_field(obj, "ResultSelector", pointer, language);
            }
        }
        if jsonata {
            if takes("Arguments") {
                io.arguments = self.template_field(obj, "Arguments", pointer, language);
            }
            if takes("Output") {
                io.output = self.template_field(obj, "Output", pointer, language);
            }
        }
        let assign = if takes("Assign") {
            self.object_template_field(obj, "Assign", pointer, language)
        } else {
            None
        };

        let mut transition = Transition::End;
        if has_transition {
            if let Some(next) = self.string_field(obj, "Next", pointer) {
                let next_pointer = pointer_join(pointer, "Next");
                if let Some(id) = self.resolve(names, next, &next_pointer) {
                    transition = Transition::Next(id);
                    graph.edges.push(id);
                }
            }
            if self.bool_field(obj, "End", pointer) == Some(true) {
                graph.terminal = true;
            }
        }

        let (retry, catch) = if takes("Retry") || takes("Catch") {
            self.error_handling(obj, pointer, language, names, &mut graph)
        } else {
            (Vec::new(), Vec::new())
        };

        let kind = match type_name {
            "Pass" => StateKind::Pass(Pass {
                result: if jsonpath {
                    obj.get("Result").cloned().map(Arc::new)
                } else {
                    None
                },
            }),
            "Task" => StateKind::Task(Box::new(self.task(obj, pointer, language, ctx.express))),
            "Choice" => StateKind::Choice(self.choice(obj, pointer, language, names, &mut graph)),
            "Wait" => StateKind::Wait(self.wait(obj, pointer, language)),
            "Succeed" => {
                graph.terminal = true;
                StateKind::Succeed
            }
            "Fail" => {
                graph.terminal = true;
                StateKind::Fail(self.fail(obj, pointer, language))
            }
            "Parallel" => StateKind::Parallel(self.parallel(obj, ctx)),
            "Map" => StateKind::Map(Box::new(self.map(obj, ctx, language))),
            _ => StateKind::Succeed,
        };

        let state = State {
            name: ctx.name.into(),
            comment,
            query_language: language,
            kind,
            io,
            assign,
            transition,
            retry,
            catch,
        };
        (state, graph)
    }

    fn task(
        &mut self,
        obj: &JsonMap<String, Value>,
        pointer: &str,
        language: QueryLanguage,
        express: bool,
    ) -> Task {
        let resource = self
            .string_field(obj, "Resource", pointer)
            .unwrap_or_default()
            .to_owned();
        let resource_pointer = pointer_join(pointer, "Resource");
        let target =
            if obj.contains_key("Resource") && obj.get("Resource").is_some_and(Value::is_string) {
                self.task_resource(&resource, &resource_pointer, express)
            } else {
                crate::model::TaskTarget::Other {
                    uri: resource.clone(),
                }
            };
        let timeout_seconds = self.dynamic_integer(
            obj,
            "TimeoutSeconds",
            Some("TimeoutSecondsPath"),
            pointer,
            language,
            1,
            Some(99_999_999),
        );
        let heartbeat_seconds = self.dynamic_integer(
            obj,
            "HeartbeatSeconds",
            Some("HeartbeatSecondsPath"),
            pointer,
            language,
            1,
            Some(99_999_999),
        );
        let credentials = match obj.get("Credentials") {
            None => None,
            Some(Value::Object(creds)) => {
                let creds_pointer = pointer_join(pointer, "Credentials");
                let has_role = creds.contains_key("RoleArn")
                    || (language == QueryLanguage::JsonPath && creds.contains_key("RoleArn.$"));
                if !has_role {
                    self.schema_error(
                        "The field 'RoleArn' is required but was missing",
                        &creds_pointer,
                    );
                }
                Some(self.template(&Value::Object(creds.clone()), &creds_pointer, language))
            }
            Some(_) => {
                self.type_error(Expected::Object, &pointer_join(pointer, "Credentials"));
                None
            }
        };
        Task {
            resource,
            target,
            timeout_seconds,
            heartbeat_seconds,
            credentials,
        }
    }

    fn choice(
        &mut self,
        obj: &JsonMap<String, Value>,
        pointer: &str,
        language: QueryLanguage,
        names: &mut ScopeNames,
        graph: &mut GraphInfo,
    ) -> Choice {
        let mut choices = Vec::new();
        let choices_pointer = pointer_join(pointer, "Choices");
        if let Some(rules) = self.array_field(obj, "Choices", pointer) {
            if rules.is_empty() {
                self.schema_error("Value cannot be empty", &choices_pointer);
            }
            for (i, rule) in rules.iter().enumerate() {
                let rule_pointer = pointer_index(&choices_pointer, i);
                match rule {
                    Value::Object(rule) => {
                        if let Some(branch) =
                            self.choice_rule(rule, &rule_pointer, language, names, graph)
                        {
                            choices.push(branch);
                        }
                    }
                    _ => self.type_error(Expected::Object, &rule_pointer),
                }
            }
        }
        let default = match self.string_field(obj, "Default", pointer) {
            Some(target) => {
                let id = self.resolve(names, target, &pointer_join(pointer, "Default"));
                if let Some(id) = id {
                    graph.edges.push(id);
                }
                id
            }
            None => None,
        };
        Choice { choices, default }
    }

    fn choice_rule(
        &mut self,
        rule: &JsonMap<String, Value>,
        pointer: &str,
        language: QueryLanguage,
        names: &mut ScopeNames,
        graph: &mut GraphInfo,
    ) -> Option<ChoiceBranch> {
        const META: &[&str] = &["Next", "Assign", "Output", "Comment", "Condition"];
        match language {
            QueryLanguage::Jsonata => {
                self.required(rule, &["Condition", "Next"], pointer);
                for key in rule.keys() {
                    if META.contains(&key.as_str()) {
                        continue;
                    }
                    if fields::is_jsonpath_choice_field(key) {
                        self.schema_error(fields::language_mismatch(key, language), pointer);
                    } else {
                        self.schema_error(format!("Field '{key}' is not supported"), pointer);
                    }
                }
            }
            QueryLanguage::JsonPath => {
                self.required(rule, &["Next"], pointer);
                for key in ["Output", "Condition"] {
                    if rule.contains_key(key) {
                        self.schema_error(fields::language_mismatch(key, language), pointer);
                    }
                }
            }
        }
        let comment = self
            .string_field(rule, "Comment", pointer)
            .map(str::to_owned);
        let compiled = match language {
            QueryLanguage::Jsonata => rule.get("Condition").map(|condition| {
                ChoiceRule::compile_jsonata(
                    condition,
                    &pointer_join(pointer, "Condition"),
                    &mut self.schema,
                )
            }),
            QueryLanguage::JsonPath => {
                let operators: JsonMap<String, Value> = rule
                    .iter()
                    .filter(|(k, _)| !META.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                Some(ChoiceRule::compile_jsonpath(
                    &operators,
                    pointer,
                    &mut self.schema,
                ))
            }
        };
        let assign = self.object_template_field(rule, "Assign", pointer, language);
        let output = if language == QueryLanguage::Jsonata {
            self.template_field(rule, "Output", pointer, language)
        } else {
            None
        };
        let next = match self.string_field(rule, "Next", pointer) {
            Some(target) => self.resolve(names, target, &pointer_join(pointer, "Next")),
            None => None,
        };
        if let Some(id) = next {
            graph.edges.push(id);
        }
        Some(ChoiceBranch {
            rule: compiled?,
            next: next?,
            assign,
            output,
            comment,
        })
    }

    fn wait(
        &mut self,
        obj: &JsonMap<String, Value>,
        pointer: &str,
        language: QueryLanguage,
    ) -> Wait {
        const MAX_WAIT: u64 = 99_999_999;
        if obj.contains_key("Seconds") {
            let seconds =
                self.dynamic_integer(obj, "Seconds", None, pointer, language, 0, Some(MAX_WAIT));
            return Wait::Seconds(seconds.unwrap_or(Dynamic::Fixed(0)));
        }
        if language == QueryLanguage::JsonPath
            && let Some(value) = obj.get("SecondsPath")
        {
            let path = self.single_value_path(
                value,
                &pointer_join(pointer, "SecondsPath"),
                fields::ContextAllowed::No,
            );
            return Wait::Seconds(path.map_or(Dynamic::Fixed(0), Dynamic::Path));
        }
        if let Some(value) = obj.get("Timestamp") {
            let ts_pointer = pointer_join(pointer, "Timestamp");
            let timestamp = self.dynamic_string(value, &ts_pointer, language);
            if let Some(Dynamic::Fixed(text)) = &timestamp
                && !is_rfc3339(text)
            {
                self.schema_error("String does not match RFC3339 timestamp", &ts_pointer);
            }
            return Wait::Timestamp(timestamp.unwrap_or(Dynamic::Fixed(String::new())));
        }
        if language == QueryLanguage::JsonPath
            && let Some(value) = obj.get("TimestampPath")
        {
            let path = self.single_value_path(
                value,
                &pointer_join(pointer, "TimestampPath"),
                fields::ContextAllowed::No,
            );
            return Wait::Timestamp(path.map_or(Dynamic::Fixed(String::new()), Dynamic::Path));
        }
        Wait::Seconds(Dynamic::Fixed(0))
    }

    fn fail(
        &mut self,
        obj: &JsonMap<String, Value>,
        pointer: &str,
        language: QueryLanguage,
    ) -> Fail {
        let read = |parser: &mut Parser, key: &str, path_key: &str| -> Option<FailField> {
            if let Some(value) = obj.get(key) {
                return parser
                    .dynamic_string(value, &pointer_join(pointer, key), language)
                    .map(FailField::from);
            }
            if language == QueryLanguage::JsonPath
                && let Some(value) = obj.get(path_key)
            {
                return parser.path_or_intrinsic(value, path_key, &pointer_join(pointer, path_key));
            }
            None
        };
        let error = read(self, "Error", "ErrorPath");
        let cause = read(self, "Cause", "CausePath");
        Fail { error, cause }
    }

    fn parallel(&mut self, obj: &JsonMap<String, Value>, ctx: &StateCtx<'_>) -> Parallel {
        let mut branches = Vec::new();
        let branches_pointer = pointer_join(ctx.pointer, "Branches");
        if let Some(list) = self.array_field(obj, "Branches", ctx.pointer) {
            if list.is_empty() {
                self.schema_error("Value cannot be empty", &branches_pointer);
            }
            for (i, branch) in list.iter().enumerate() {
                let branch_pointer = pointer_index(&branches_pointer, i);
                match branch {
                    Value::Object(branch) => {
                        let id = self.scope(
                            branch,
                            &branch_pointer,
                            Some(ctx.scope),
                            ScopeKind::Branch,
                            ctx.depth + 1,
                            ctx.express,
                        );
                        branches.push(id);
                    }
                    _ => self.type_error(Expected::Object, &branch_pointer),
                }
            }
        }
        Parallel { branches }
    }
}

/// A state standing in for one whose `Type` is missing or unknown.
fn stand_in(name: &str, language: QueryLanguage) -> State {
    State {
        name: name.into(),
        comment: None,
        query_language: language,
        kind: StateKind::Succeed,
        io: DataFlow::default(),
        assign: None,
        transition: Transition::End,
        retry: Vec::new(),
        catch: Vec::new(),
    }
}

/// ASL timestamps: RFC 3339 with an uppercase `T` and `Z` or a numeric offset.
fn is_rfc3339(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.get(10) == Some(&b'T')
        && !text.ends_with('z')
        && chrono::DateTime::parse_from_rfc3339(text).is_ok()
}
