//! Mocked task responses in the AWS Step Functions Local `MockConfigFile` format.
//!
//! ```json
//! { "StateMachines": { "Machine": { "TestCases": { "HappyPath": { "Charge": "ChargeOk" } } } },
//!   "MockedResponses": { "ChargeOk": { "0": { "Return": {"ok": true} },
//!                                      "1-2": { "Throw": { "Error": "E", "Cause": "c" } } } } }
//! ```
//!
//! Each state counts its own invocations (retries included) from 0; the range key that
//! contains the count gives the answer.

use std::collections::HashMap;

use baton_exec::{Failure, TaskRequest};
use serde_json::Value;

use crate::local::{TaskAnswer, TaskHandler};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MockConfigError {
    #[error("mock config is not valid JSON: {0}")]
    Json(String),
    #[error("mock config: {0}")]
    Shape(String),
    #[error("test case '{0}' is not in the mock config")]
    UnknownTestCase(String),
    #[error("test case '{case}' is defined for several state machines ({machines}); name one")]
    AmbiguousTestCase { case: String, machines: String },
    #[error("state machine '{0}' is not in the mock config")]
    UnknownStateMachine(String),
    #[error(
        "test case '{case}' maps state '{state}' to '{response}', which is not in MockedResponses"
    )]
    UnknownResponse {
        case: String,
        state: String,
        response: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Mocked {
    Return(Value),
    Throw(Failure),
}

/// One mocked response: answers for invocation counts `from..=to`.
#[derive(Debug, Clone, PartialEq)]
struct Range {
    from: u64,
    to: u64,
    answer: Mocked,
}

/// A test case resolved from a mock config: state name → answers.
#[derive(Debug, Clone, Default)]
pub struct MockTestCase {
    name: String,
    states: HashMap<String, Vec<Range>>,
    invocations: HashMap<String, u64>,
}

impl MockTestCase {
    /// Reads `text` and picks `test_case` (in `state_machine` if given, else wherever it
    /// is defined, provided that is one machine).
    pub fn load(
        text: &str,
        state_machine: Option<&str>,
        test_case: &str,
    ) -> Result<MockTestCase, MockConfigError> {
        let root: Value =
            serde_json::from_str(text).map_err(|e| MockConfigError::Json(e.to_string()))?;
        let machines = root
            .get("StateMachines")
            .and_then(Value::as_object)
            .ok_or_else(|| MockConfigError::Shape("'StateMachines' must be an object".into()))?;
        let responses = root
            .get("MockedResponses")
            .and_then(Value::as_object)
            .ok_or_else(|| MockConfigError::Shape("'MockedResponses' must be an object".into()))?;

        let case = match state_machine {
            Some(name) => machines
                .get(name)
                .ok_or_else(|| MockConfigError::UnknownStateMachine(name.to_owned()))?
                .get("TestCases")
                .and_then(|t| t.get(test_case))
                .ok_or_else(|| MockConfigError::UnknownTestCase(test_case.to_owned()))?,
            None => {
                let found: Vec<(&String, &Value)> = machines
                    .iter()
                    .filter_map(|(m, def)| {
                        def.get("TestCases")
                            .and_then(|t| t.get(test_case))
                            .map(|c| (m, c))
                    })
                    .collect();
                match found.as_slice() {
                    [] => return Err(MockConfigError::UnknownTestCase(test_case.to_owned())),
                    [(_, c)] => *c,
                    many => {
                        return Err(MockConfigError::AmbiguousTestCase {
                            case: test_case.to_owned(),
                            machines: many
                                .iter()
                                .map(|(m, _)| m.as_str())
                                .collect::<Vec<_>>()
                                .join(", "),
                        });
                    }
                }
            }
        };
        let case = case.as_object().ok_or_else(|| {
            MockConfigError::Shape(format!("test case '{test_case}' must be an object"))
        })?;

        let mut states = HashMap::new();
        for (state, response_name) in case {
            let response_name = response_name.as_str().ok_or_else(|| {
                MockConfigError::Shape(format!(
                    "test case '{test_case}': the response for state '{state}' must be a name"
                ))
            })?;
            let response =
                responses
                    .get(response_name)
                    .ok_or_else(|| MockConfigError::UnknownResponse {
                        case: test_case.to_owned(),
                        state: state.clone(),
                        response: response_name.to_owned(),
                    })?;
            states.insert(state.clone(), parse_ranges(response_name, response)?);
        }
        Ok(MockTestCase {
            name: test_case.to_owned(),
            states,
            invocations: HashMap::new(),
        })
    }
}

fn parse_ranges(name: &str, response: &Value) -> Result<Vec<Range>, MockConfigError> {
    let obj = response.as_object().ok_or_else(|| {
        MockConfigError::Shape(format!("mocked response '{name}' must be an object"))
    })?;
    let mut ranges = Vec::new();
    for (key, answer) in obj {
        let bad_key = || {
            MockConfigError::Shape(format!(
                "mocked response '{name}': key '{key}' must be an invocation number or range like \"1-3\""
            ))
        };
        let (from, to) = match key.split_once('-') {
            Some((a, b)) => (
                a.trim().parse::<u64>().map_err(|_| bad_key())?,
                b.trim().parse::<u64>().map_err(|_| bad_key())?,
            ),
            None => {
                let n = key.trim().parse::<u64>().map_err(|_| bad_key())?;
                (n, n)
            }
        };
        if to < from {
            return Err(bad_key());
        }
        let answer = if let Some(v) = answer.get("Return") {
            Mocked::Return(v.clone())
        } else if let Some(t) = answer.get("Throw") {
            let text = |k: &str| t.get(k).and_then(Value::as_str).map(str::to_owned);
            Mocked::Throw(Failure {
                error: text("Error"),
                cause: text("Cause"),
            })
        } else {
            return Err(MockConfigError::Shape(format!(
                "mocked response '{name}' entry '{key}' needs 'Return' or 'Throw'"
            )));
        };
        ranges.push(Range { from, to, answer });
    }
    Ok(ranges)
}

impl TaskHandler for MockTestCase {
    fn answer(&mut self, request: &TaskRequest) -> TaskAnswer {
        let count = self
            .invocations
            .entry(request.state_name.clone())
            .or_insert(0);
        let n = *count;
        *count += 1;
        let Some(ranges) = self.states.get(&request.state_name) else {
            return TaskAnswer::Fail(Failure::new(
                "Baton.NoMockedResponse",
                format!(
                    "Test case '{}' has no mocked response for state '{}'",
                    self.name, request.state_name
                ),
            ));
        };
        match ranges.iter().find(|r| r.from <= n && n <= r.to) {
            Some(Range {
                answer: Mocked::Return(v),
                ..
            }) => TaskAnswer::Succeed(v.clone()),
            Some(Range {
                answer: Mocked::Throw(f),
                ..
            }) => TaskAnswer::Fail(f.clone()),
            None => TaskAnswer::Fail(Failure::new(
                "Baton.NoMockedResponse",
                format!(
                    "Test case '{}' has no mocked response for invocation {} of state '{}'",
                    self.name, n, request.state_name
                ),
            )),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use baton_exec::TaskKind;
    use serde_json::json;

    fn request(state: &str) -> TaskRequest {
        TaskRequest {
            task_id: 1,
            state_name: state.into(),
            resource: "arn:aws:states:::lambda:invoke".into(),
            kind: TaskKind::Lambda { arn: "x".into() },
            input: json!({}).into(),
            credentials: None,
            timeout_seconds: None,
            heartbeat_seconds: None,
            task_token: None,
            attempt: 0,
        }
    }

    const CONFIG: &str = r#"{
      "StateMachines": {"M": {"TestCases": {"Retry": {"Charge": "Flaky"}}}},
      "MockedResponses": {"Flaky": {
        "0-1": {"Throw": {"Error": "Busy", "Cause": "try later"}},
        "2": {"Return": {"ok": true}}}}}"#;

    #[test]
    fn answers_by_invocation_count() {
        let mut case = MockTestCase::load(CONFIG, None, "Retry").unwrap();
        let busy = TaskAnswer::Fail(Failure::new("Busy", "try later"));
        assert_eq!(case.answer(&request("Charge")), busy);
        assert_eq!(case.answer(&request("Charge")), busy);
        assert_eq!(
            case.answer(&request("Charge")),
            TaskAnswer::Succeed(json!({"ok": true}))
        );
        assert!(matches!(
            case.answer(&request("Charge")),
            TaskAnswer::Fail(_)
        ));
        assert!(matches!(
            case.answer(&request("Other")),
            TaskAnswer::Fail(_)
        ));
    }

    #[test]
    fn reports_unknown_names() {
        assert_eq!(
            MockTestCase::load(CONFIG, None, "Nope").unwrap_err(),
            MockConfigError::UnknownTestCase("Nope".into())
        );
        assert_eq!(
            MockTestCase::load(CONFIG, Some("X"), "Retry").unwrap_err(),
            MockConfigError::UnknownStateMachine("X".into())
        );
        assert!(matches!(
            MockTestCase::load("{", None, "Retry"),
            Err(MockConfigError::Json(_))
        ));
    }
}
