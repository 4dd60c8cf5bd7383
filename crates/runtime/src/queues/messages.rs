//! Messages as the runtime sees them: attributes, what a send asks for, what a receive
//! returns, and the checks AWS makes on bodies and attributes.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::errors::SqsError;

/// Most message attributes on one message.
pub const MAX_ATTRIBUTES: usize = 10;

/// One message attribute (`DataType` is `String`, `Number` or `Binary`, optionally with
/// a `.custom` suffix).
#[derive(Debug, Clone, PartialEq)]
pub struct MessageAttribute {
    pub data_type: String,
    pub string_value: Option<String>,
    pub binary_value: Option<Vec<u8>>,
}

impl SendRequest {
    /// Its size as AWS counts it: the body and every message attribute.
    pub fn size(&self) -> usize {
        self.body.len()
            + self
                .attributes
                .iter()
                .map(|(k, a)| a.size(k))
                .sum::<usize>()
    }
}

impl MessageAttribute {
    /// Its size as AWS counts it toward the message size: name, type and value.
    pub fn size(&self, name: &str) -> usize {
        name.len()
            + self.data_type.len()
            + self.string_value.as_ref().map_or(0, String::len)
            + self.binary_value.as_ref().map_or(0, Vec::len)
    }

    pub fn to_json(&self) -> Value {
        let mut v = json!({"DataType": self.data_type});
        if let Some(s) = &self.string_value {
            v["StringValue"] = json!(s);
        }
        if let Some(b) = &self.binary_value {
            v["BinaryValue"] = json!(STANDARD.encode(b));
        }
        v
    }
}

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

/// One message to send.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SendRequest {
    pub body: String,
    pub delay_seconds: Option<i64>,
    pub attributes: BTreeMap<String, MessageAttribute>,
    pub system_attributes: BTreeMap<String, MessageAttribute>,
    pub group_id: Option<String>,
    pub dedup_id: Option<String>,
}

/// What SendMessage answers.
#[derive(Debug, Clone, PartialEq)]
pub struct SendResult {
    pub message_id: String,
    pub md5_of_body: String,
    pub md5_of_attributes: Option<String>,
    pub md5_of_system_attributes: Option<String>,
    pub sequence_number: Option<String>,
}

/// What ReceiveMessage asks for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReceiveOptions {
    pub max_messages: Option<i64>,
    pub visibility_timeout: Option<i64>,
    pub wait_seconds: Option<i64>,
    /// System attribute names (`All`, `SentTimestamp`, …).
    pub attribute_names: Vec<String>,
    /// Message attribute names (`All`, `.*`, `prefix.*`, exact names).
    pub message_attribute_names: Vec<String>,
}

/// One received message.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedMessage {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    pub md5_of_body: String,
    pub md5_of_message_attributes: Option<String>,
    pub attributes: BTreeMap<String, String>,
    pub message_attributes: BTreeMap<String, MessageAttribute>,
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
