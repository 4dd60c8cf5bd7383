//! What a function's answer means for its batch when the mapping reports batch item
//! failures (`FunctionResponseTypes: ["ReportBatchItemFailures"]`). Pure.
//!
//! Lambda's rules: an empty or null `batchItemFailures` list, an empty or null response
//! are complete success; an invalid JSON response, an empty or null `itemIdentifier`,
//! an entry without the `itemIdentifier` key, or an identifier that names no message of
//! the batch fail the whole batch.

use std::collections::HashSet;

use serde_json::Value;

/// What to delete after a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchOutcome {
    /// Every message succeeded.
    AllSucceeded,
    /// These message ids failed; the others succeeded.
    SomeFailed(HashSet<String>),
    /// The response was not understood: the whole batch failed.
    AllFailed,
}

/// Reads a function's response for a batch whose message ids are `batch_ids`.
pub fn parse(response: &[u8], batch_ids: &HashSet<&str>) -> BatchOutcome {
    let text = String::from_utf8_lossy(response);
    if text.trim().is_empty() {
        return BatchOutcome::AllSucceeded;
    }
    let Ok(value) = serde_json::from_str::<Value>(&text) else {
        return BatchOutcome::AllFailed;
    };
    let failures = match &value {
        Value::Null => return BatchOutcome::AllSucceeded,
        Value::Object(obj) => match obj.get("batchItemFailures") {
            None | Some(Value::Null) => return BatchOutcome::AllSucceeded,
            Some(Value::Array(items)) => items,
            Some(_) => return BatchOutcome::AllFailed,
        },
        // Any other JSON (a string, a number, a list) is no EventResponse: the batch is
        // treated as processed, as a function without partial responses would be.
        _ => return BatchOutcome::AllSucceeded,
    };
    let mut failed = HashSet::new();
    for item in failures {
        let id = item
            .as_object()
            .and_then(|o| o.get("itemIdentifier"))
            .and_then(Value::as_str);
        match id {
            Some(id) if !id.is_empty() && batch_ids.contains(id) => {
                failed.insert(id.to_owned());
            }
            _ => return BatchOutcome::AllFailed,
        }
    }
    if failed.is_empty() {
        BatchOutcome::AllSucceeded
    } else {
        BatchOutcome::SomeFailed(failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> HashSet<&'static str> {
        ["a", "b", "c"].into_iter().collect()
    }

    #[test]
    fn success_and_failure_conditions() {
        let ok = BatchOutcome::AllSucceeded;
        assert_eq!(parse(b"", &ids()), ok);
        assert_eq!(parse(b"null", &ids()), ok);
        assert_eq!(parse(b"{}", &ids()), ok);
        assert_eq!(parse(br#"{"batchItemFailures": []}"#, &ids()), ok);
        assert_eq!(parse(br#"{"batchItemFailures": null}"#, &ids()), ok);

        let failed = parse(
            br#"{"batchItemFailures": [{"itemIdentifier": "b"}, {"itemIdentifier": "c"}]}"#,
            &ids(),
        );
        assert_eq!(
            failed,
            BatchOutcome::SomeFailed(["b".to_owned(), "c".to_owned()].into_iter().collect())
        );

        for whole in [
            &b"{not json"[..],
            br#"{"batchItemFailures": [{"itemIdentifier": ""}]}"#,
            br#"{"batchItemFailures": [{"itemIdentifier": null}]}"#,
            br#"{"batchItemFailures": [{"messageId": "a"}]}"#,
            br#"{"batchItemFailures": [{"itemIdentifier": "zzz"}]}"#,
            br#"{"batchItemFailures": [{"itemIdentifier": "a"}, {"itemIdentifier": 7}]}"#,
            br#"{"batchItemFailures": "a"}"#,
        ] {
            assert_eq!(
                parse(whole, &ids()),
                BatchOutcome::AllFailed,
                "{}",
                String::from_utf8_lossy(whole)
            );
        }
    }
}
