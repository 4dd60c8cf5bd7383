//! `Retry` and `Catch`.

use serde_json::{Map as JsonMap, Value};

use super::fields::{self, Expected};
use super::graph::GraphInfo;
use super::{Parser, ScopeNames};
use crate::diagnostic::{pointer_index, pointer_join};
use crate::error_name::{ErrorMatcher, STATES_ALL};
use crate::model::{
    Catcher, JitterStrategy, OptionalReferencePath, QueryLanguage, Retrier, StateId,
};

const RETRIER_FIELDS: &[&str] = &[
    "ErrorEquals",
    "IntervalSeconds",
    "MaxAttempts",
    "BackoffRate",
    "MaxDelaySeconds",
    "JitterStrategy",
    "Comment",
];
const CATCHER_FIELDS: &[&str] = &[
    "ErrorEquals",
    "Next",
    "ResultPath",
    "Output",
    "Assign",
    "Comment",
];

/// AWS's defaults for a retrier.
const DEFAULT_INTERVAL_SECONDS: u64 = 1;
const DEFAULT_MAX_ATTEMPTS: u64 = 3;
const DEFAULT_BACKOFF_RATE: f64 = 2.0;
/// AWS's limits (`MaxDelaySeconds` is below one year and a day).
const MAX_RETRY_COUNT: u64 = 99_999_999;
const MAX_DELAY_SECONDS: u64 = 31_622_400;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Handler {
    Retrier,
    Catcher,
}

impl Parser {
    pub(super) fn error_handling(
        &mut self,
        obj: &JsonMap<String, Value>,
        pointer: &str,
        language: QueryLanguage,
        names: &mut ScopeNames,
        graph: &mut GraphInfo,
    ) -> (Vec<Retrier>, Vec<Catcher>) {
        let mut retry = Vec::new();
        if let Some(list) = self.array_field(obj, "Retry", pointer) {
            let list_pointer = pointer_join(pointer, "Retry");
            for (i, entry) in list.iter().enumerate() {
                let entry_pointer = pointer_index(&list_pointer, i);
                let last = i + 1 == list.len();
                match entry {
                    Value::Object(entry) => retry.push(self.retrier(entry, &entry_pointer, last)),
                    _ => self.type_error(Expected::Object, &entry_pointer),
                }
            }
        }
        let mut catch = Vec::new();
        if let Some(list) = self.array_field(obj, "Catch", pointer) {
            let list_pointer = pointer_join(pointer, "Catch");
            for (i, entry) in list.iter().enumerate() {
                let entry_pointer = pointer_index(&list_pointer, i);
                let last = i + 1 == list.len();
                match entry {
                    Value::Object(entry) => {
                        let catcher = self.catcher(entry, &entry_pointer, last, language, names);
                        if let Some(id) = catcher.1 {
                            graph.edges.push(id);
                        }
                        catch.push(catcher.0);
                    }
                    _ => self.type_error(Expected::Object, &entry_pointer),
                }
            }
        }
        (retry, catch)
    }

    /// `ErrorEquals`: a non-empty list of names; `States.ALL` alone, in the last entry.
    fn error_equals(
        &mut self,
        entry: &JsonMap<String, Value>,
        pointer: &str,
        last: bool,
        handler: Handler,
    ) -> ErrorMatcher {
        let mut names = Vec::new();
        let Some(list) = self.array_field(entry, "ErrorEquals", pointer) else {
            return ErrorMatcher { names };
        };
        let list_pointer = pointer_join(pointer, "ErrorEquals");
        if list.is_empty() {
            self.schema_error("Value cannot be empty", &list_pointer);
        }
        for (i, name) in list.iter().enumerate() {
            match name {
                Value::String(s) => names.push(s.clone()),
                _ => self.type_error(Expected::String, &pointer_index(&list_pointer, i)),
            }
        }
        if names.iter().any(|n| n == STATES_ALL) {
            if list.len() > 1 {
                self.schema_error(
                    "States.ALL must appear alone in the ErrorEquals array",
                    &list_pointer,
                );
            }
            if !last {
                let what = match handler {
                    Handler::Retrier => "Retrier",
                    Handler::Catcher => "Catcher",
                };
                self.schema_error(
                    format!("A {what} with States.ALL in ErrorEquals must be the last {what}"),
                    pointer,
                );
            }
        }
        ErrorMatcher { names }
    }

    fn retrier(&mut self, entry: &JsonMap<String, Value>, pointer: &str, last: bool) -> Retrier {
        self.required(entry, &["ErrorEquals"], pointer);
        self.unsupported_fields(entry, RETRIER_FIELDS, pointer);
        let error_equals = self.error_equals(entry, pointer, last, Handler::Retrier);
        let integer = |parser: &mut Parser, key: &str, min: u64, max: u64| {
            entry
                .get(key)
                .and_then(|v| parser.integer(v, &pointer_join(pointer, key), min, Some(max)))
        };
        // AWS accepts an IntervalSeconds of 0 (measured), whatever the spec says.
        let interval_seconds = integer(self, "IntervalSeconds", 0, MAX_RETRY_COUNT)
            .unwrap_or(DEFAULT_INTERVAL_SECONDS);
        let max_attempts =
            integer(self, "MaxAttempts", 0, MAX_RETRY_COUNT).unwrap_or(DEFAULT_MAX_ATTEMPTS);
        let max_delay_seconds = integer(self, "MaxDelaySeconds", 1, MAX_DELAY_SECONDS);
        let backoff_rate = entry
            .get("BackoffRate")
            .and_then(|v| self.number(v, &pointer_join(pointer, "BackoffRate"), 1.0, None))
            .unwrap_or(DEFAULT_BACKOFF_RATE);
        let jitter = match entry.get("JitterStrategy") {
            None => JitterStrategy::None,
            Some(Value::String(s)) if s == "FULL" => JitterStrategy::Full,
            Some(Value::String(s)) if s == "NONE" => JitterStrategy::None,
            Some(Value::String(_)) => {
                self.schema_error(
                    "Value should be one of the following: [FULL, NONE]",
                    pointer_join(pointer, "JitterStrategy"),
                );
                JitterStrategy::None
            }
            Some(_) => {
                self.type_error(Expected::String, &pointer_join(pointer, "JitterStrategy"));
                JitterStrategy::None
            }
        };
        let comment = self
            .string_field(entry, "Comment", pointer)
            .map(str::to_owned);
        Retrier {
            error_equals,
            interval_seconds,
            max_attempts,
            backoff_rate,
            max_delay_seconds,
            jitter,
            comment,
        }
    }

    fn catcher(
        &mut self,
        entry: &JsonMap<String, Value>,
        pointer: &str,
        last: bool,
        language: QueryLanguage,
        names: &mut ScopeNames,
    ) -> (Catcher, Option<StateId>) {
        self.required(entry, &["ErrorEquals", "Next"], pointer);
        self.unsupported_fields(entry, CATCHER_FIELDS, pointer);
        for key in ["ResultPath", "Output"] {
            if entry.contains_key(key) && fields::field_language(key) != Some(language) {
                self.schema_error(fields::language_mismatch(key, language), pointer);
            }
        }
        let error_equals = self.error_equals(entry, pointer, last, Handler::Catcher);
        let next = match self.string_field(entry, "Next", pointer) {
            Some(target) => self.resolve(names, target, &pointer_join(pointer, "Next")),
            None => None,
        };
        let (result_path, output) = match language {
            QueryLanguage::JsonPath => (
                self.optional_reference_path(entry, "ResultPath", pointer),
                None,
            ),
            QueryLanguage::Jsonata => (
                OptionalReferencePath::Default,
                self.template_field(entry, "Output", pointer, language),
            ),
        };
        let assign = self.object_template_field(entry, "Assign", pointer, language);
        let comment = self
            .string_field(entry, "Comment", pointer)
            .map(str::to_owned);
        let catcher = Catcher {
            error_equals,
            next: next.unwrap_or(StateId(0)),
            result_path,
            output,
            assign,
            comment,
        };
        (catcher, next)
    }
}
