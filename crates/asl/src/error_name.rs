//! ASL error names and `ErrorEquals` matching.

pub const STATES_ALL: &str = "States.ALL";
pub const STATES_RUNTIME: &str = "States.Runtime";
pub const STATES_TIMEOUT: &str = "States.Timeout";
pub const STATES_TASK_FAILED: &str = "States.TaskFailed";
pub const STATES_HEARTBEAT_TIMEOUT: &str = "States.HeartbeatTimeout";
pub const STATES_DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";
pub const STATES_QUERY_EVALUATION_ERROR: &str = "States.QueryEvaluationError";
pub const STATES_INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
pub const STATES_NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
pub const STATES_PARAMETER_PATH_FAILURE: &str = "States.ParameterPathFailure";
pub const STATES_RESULT_PATH_MATCH_FAILURE: &str = "States.ResultPathMatchFailure";
pub const STATES_BRANCH_FAILED: &str = "States.BranchFailed";
pub const STATES_PERMISSIONS: &str = "States.Permissions";
pub const STATES_ITEM_READER_FAILED: &str = "States.ItemReaderFailed";
pub const STATES_RESULT_WRITER_FAILED: &str = "States.ResultWriterFailed";
pub const STATES_EXCEED_TOLERATED_FAILURE_THRESHOLD: &str =
    "States.ExceedToleratedFailureThreshold";

/// The `States.*` names AWS defines; any other `States.` name in `ErrorEquals` is invalid.
pub const PREDEFINED: &[&str] = &[
    STATES_ALL,
    STATES_RUNTIME,
    STATES_TIMEOUT,
    STATES_TASK_FAILED,
    STATES_HEARTBEAT_TIMEOUT,
    STATES_DATA_LIMIT_EXCEEDED,
    STATES_QUERY_EVALUATION_ERROR,
    STATES_INTRINSIC_FAILURE,
    STATES_NO_CHOICE_MATCHED,
    STATES_PARAMETER_PATH_FAILURE,
    STATES_RESULT_PATH_MATCH_FAILURE,
    STATES_BRANCH_FAILED,
    STATES_PERMISSIONS,
    STATES_ITEM_READER_FAILED,
    STATES_RESULT_WRITER_FAILED,
    STATES_EXCEED_TOLERATED_FAILURE_THRESHOLD,
];

/// A compiled `ErrorEquals` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorMatcher {
    pub names: Vec<String>,
}

impl ErrorMatcher {
    /// Whether this `ErrorEquals` list catches or retries `error`.
    ///
    /// AWS rules: `States.ALL` matches every error except `States.Runtime` (never
    /// retried or caught; AWS's docs say `States.DataLimitExceeded` too, but AWS's
    /// recorded behaviour catches it with `States.ALL`, so we do); `States.TaskFailed`
    /// matches any error a task raised except `States.Timeout`.
    pub fn matches(&self, error: &str) -> bool {
        if error == STATES_RUNTIME {
            return false;
        }
        self.names.iter().any(|name| match name.as_str() {
            STATES_ALL => true,
            STATES_TASK_FAILED => error != STATES_TIMEOUT && error != STATES_DATA_LIMIT_EXCEEDED,
            _ => name == error,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(names: &[&str]) -> ErrorMatcher {
        ErrorMatcher {
            names: names.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn all_does_not_catch_runtime() {
        let all = m(&[STATES_ALL]);
        assert!(all.matches("CustomError"));
        assert!(all.matches(STATES_TIMEOUT));
        assert!(!all.matches(STATES_RUNTIME));
        assert!(all.matches(STATES_DATA_LIMIT_EXCEEDED));
        assert!(m(&[STATES_DATA_LIMIT_EXCEEDED]).matches(STATES_DATA_LIMIT_EXCEEDED));
    }

    #[test]
    fn task_failed_excludes_timeout() {
        let tf = m(&[STATES_TASK_FAILED]);
        assert!(tf.matches("Lambda.Unknown"));
        assert!(tf.matches(STATES_TASK_FAILED));
        assert!(!tf.matches(STATES_TIMEOUT));
    }
}
