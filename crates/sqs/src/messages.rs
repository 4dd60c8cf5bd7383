//! What SQS does with messages beyond their shapes (which are the bridge's, in
//! `baton_platform::bridge::queues`): how attributes are stored, the checks AWS makes on
//! bodies and attributes, and ReceiveMessage's attribute-name filter.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use baton_platform::bridge::queues::{MessageAttribute, SqsError};

/// Most message attributes on one message.
pub const MAX_ATTRIBUTES: usize = 10;

/// How attributes are kept in the store.
#[derive(Serialize, Deserialize, Default)]
struct StoredAttribute {
    t: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    s: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    b: Option<String>,
}

#[derive(Serialize, Deserialize, Default)]
struct Stored {
    #[serde(default)]
    m: BTreeMap<String, StoredAttribute>,
    #[serde(default)]
    s: BTreeMap<String, StoredAttribute>,
}

fn to_stored(attrs: &BTreeMap<String, MessageAttribute>) -> BTreeMap<String, StoredAttribute> {
    attrs
        .iter()
        .map(|(k, a)| {
            (
                k.clone(),
                StoredAttribute {
                    t: a.data_type.clone(),
                    s: a.string_value.clone(),
                    b: a.binary_value.as_ref().map(|b| STANDARD.encode(b)),
                },
            )
        })
        .collect()
}

fn from_stored(attrs: BTreeMap<String, StoredAttribute>) -> BTreeMap<String, MessageAttribute> {
    attrs
        .into_iter()
        .map(|(k, a)| {
            (
                k,
                MessageAttribute {
                    data_type: a.t,
                    string_value: a.s,
                    binary_value: a.b.and_then(|b| STANDARD.decode(b).ok()),
                },
            )
        })
        .collect()
}

/// Message and system attributes as one stored string.
pub fn encode_attributes(
    message: &BTreeMap<String, MessageAttribute>,
    system: &BTreeMap<String, MessageAttribute>,
) -> String {
    serde_json::to_string(&Stored {
        m: to_stored(message),
        s: to_stored(system),
    })
    .unwrap_or_else(|_| "{}".to_owned())
}

/// The inverse of [`encode_attributes`].
#[allow(clippy::type_complexity)]
pub fn decode_attributes(
    text: &str,
) -> (
    BTreeMap<String, MessageAttribute>,
    BTreeMap<String, MessageAttribute>,
) {
    let stored: Stored = serde_json::from_str(text).unwrap_or_default();
    (from_stored(stored.m), from_stored(stored.s))
}

/// Characters SQS accepts in a body or string value (XML 1.0's character set).
fn allowed(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

pub fn check_body(body: &str) -> Result<(), SqsError> {
    if body.is_empty() {
        return Err(SqsError::missing("MessageBody"));
    }
    if let Some(c) = body.chars().find(|c| !allowed(*c)) {
        return Err(SqsError::invalid_contents(format!(
            "Invalid binary character '#x{:X}' was found in the message body, the set of allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF",
            u32::from(c)
        )));
    }
    Ok(())
}

/// Checks message attributes (names, types, values).
pub fn check_attributes(attrs: &BTreeMap<String, MessageAttribute>) -> Result<(), SqsError> {
    if attrs.len() > MAX_ATTRIBUTES {
        return Err(SqsError::invalid_parameter(format!(
            "Number of message attributes [{}] exceeds the allowed maximum [{MAX_ATTRIBUTES}].",
            attrs.len()
        )));
    }
    for (name, a) in attrs {
        let name_ok = !name.is_empty()
            && name.len() <= 256
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            && !name.starts_with('.')
            && !name.ends_with('.')
            && !name.contains("..")
            && !name.to_ascii_lowercase().starts_with("aws.")
            && !name.to_ascii_lowercase().starts_with("amazon.");
        if !name_ok {
            return Err(SqsError::invalid_parameter(format!(
                "Message attribute name '{name}' is invalid."
            )));
        }
        let base = a.data_type.split('.').next().unwrap_or("");
        match base {
            "String" | "Number" => {
                let Some(s) = &a.string_value else {
                    return Err(SqsError::invalid_parameter(format!(
                        "The message attribute '{name}' with type '{base}' must use field 'String'."
                    )));
                };
                if s.is_empty() {
                    return Err(SqsError::invalid_parameter(format!(
                        "The message attribute '{name}' must contain non-empty message attribute value for message attribute type '{base}'."
                    )));
                }
                if base == "Number" && s.trim().parse::<f64>().is_err() {
                    return Err(SqsError::invalid_parameter(format!(
                        "Can't cast the value of message (user) attribute '{name}' to a number."
                    )));
                }
                if s.chars().any(|c| !allowed(c)) {
                    return Err(SqsError::invalid_contents(format!(
                        "Invalid characters found in the value of message attribute '{name}'."
                    )));
                }
            }
            "Binary" => {
                if a.binary_value.as_ref().is_none_or(Vec::is_empty) {
                    return Err(SqsError::invalid_parameter(format!(
                        "The message attribute '{name}' with type 'Binary' must use field 'Binary'."
                    )));
                }
            }
            _ => {
                return Err(SqsError::invalid_parameter(format!(
                    "The type of message (user) attribute '{name}' is invalid. You must use only the following supported type prefixes: Binary, Number, String."
                )));
            }
        }
    }
    Ok(())
}

/// `MessageSystemAttributes`: only `AWSTraceHeader`, a string.
pub fn check_system_attributes(attrs: &BTreeMap<String, MessageAttribute>) -> Result<(), SqsError> {
    for (name, a) in attrs {
        if name != "AWSTraceHeader" {
            return Err(SqsError::invalid_parameter(format!(
                "Message system attribute name '{name}' is invalid."
            )));
        }
        if a.data_type != "String" || a.string_value.as_deref().is_none_or(str::is_empty) {
            return Err(SqsError::invalid_parameter(
                "The message system attribute 'AWSTraceHeader' must be of type String with a non-empty value.",
            ));
        }
    }
    Ok(())
}

/// Whether a message attribute name is selected by ReceiveMessage's filter.
pub fn selected(filter: &[String], name: &str) -> bool {
    filter.iter().any(|f| {
        f == "All"
            || f == ".*"
            || f == name
            || f.strip_suffix(".*")
                .is_some_and(|p| name.starts_with(p) && name[p.len()..].starts_with('.'))
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn attributes_round_trip_through_the_store_form() {
        let mut m = BTreeMap::new();
        m.insert(
            "bin".to_owned(),
            MessageAttribute {
                data_type: "Binary".into(),
                string_value: None,
                binary_value: Some(vec![0, 1, 2]),
            },
        );
        let text = encode_attributes(&m, &BTreeMap::new());
        assert_eq!(decode_attributes(&text), (m, BTreeMap::new()));
    }

    #[test]
    fn bodies_and_attributes_are_checked() {
        assert_eq!(check_body("").unwrap_err().shape, "MissingParameter");
        assert_eq!(
            check_body("a\u{0}b").unwrap_err().shape,
            "InvalidMessageContents"
        );
        let mut m = BTreeMap::new();
        m.insert(
            "n".to_owned(),
            MessageAttribute {
                data_type: "Number".into(),
                string_value: Some("x".into()),
                binary_value: None,
            },
        );
        assert_eq!(
            check_attributes(&m).unwrap_err().shape,
            "InvalidParameterValue"
        );
        assert!(selected(&["a.*".to_owned()], "a.b"));
        assert!(!selected(&["a.*".to_owned()], "ab"));
    }
}
