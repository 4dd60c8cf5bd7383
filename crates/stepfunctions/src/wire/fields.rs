//! Reading request fields the way AWS checks them: a field of the wrong JSON type is a
//! `SerializationException`; a missing required field or a value outside its model's
//! constraints is a `ValidationException` worded as AWS words it.

use serde_json::{Map, Value};

use baton_platform::http::ApiError;

/// The body of one request.
pub(crate) struct Fields<'a> {
    body: &'a Map<String, Value>,
}

fn wrong_type(key: &str, expected: &str) -> ApiError {
    ApiError::serialization(format!(
        "Unexpected value type for '{key}': expected {expected}"
    ))
}

/// `1 validation error detected: …` for one broken constraint.
pub(crate) fn constraint(key: &str, value: Option<&str>, rule: &str) -> ApiError {
    match value {
        Some(v) => ApiError::validation(format!(
            "1 validation error detected: Value '{v}' at '{key}' failed to satisfy constraint: {rule}"
        )),
        None => ApiError::validation(format!(
            "1 validation error detected: Value at '{key}' failed to satisfy constraint: {rule}"
        )),
    }
}

/// Length limits of a string member, and whether its value may be echoed in errors.
#[derive(Clone, Copy)]
pub(crate) struct Len {
    pub min: usize,
    pub max: usize,
    /// AWS never repeats sensitive values (inputs, outputs, errors) in messages.
    pub sensitive: bool,
}

pub(crate) const NAME: Len = Len {
    min: 1,
    max: 80,
    sensitive: false,
};
pub(crate) const ARN: Len = Len {
    min: 1,
    max: 256,
    sensitive: false,
};
pub(crate) const DEFINITION: Len = Len {
    min: 1,
    max: 1_048_576,
    sensitive: true,
};
pub(crate) const DATA: Len = Len {
    min: 0,
    max: 262_144,
    sensitive: true,
};
pub(crate) const ERROR: Len = Len {
    min: 0,
    max: 256,
    sensitive: true,
};
pub(crate) const CAUSE: Len = Len {
    min: 0,
    max: 32_768,
    sensitive: true,
};
pub(crate) const TASK_TOKEN: Len = Len {
    min: 1,
    max: 2_048,
    sensitive: false,
};
pub(crate) const PAGE_TOKEN: Len = Len {
    min: 1,
    max: 3_096,
    sensitive: false,
};
pub(crate) const TRACE_HEADER: Len = Len {
    min: 0,
    max: 256,
    sensitive: false,
};
pub(crate) const TAG_KEY: Len = Len {
    min: 1,
    max: 128,
    sensitive: false,
};
pub(crate) const TAG_VALUE: Len = Len {
    min: 0,
    max: 256,
    sensitive: false,
};
pub(crate) const CLIENT_TOKEN: Len = Len {
    min: 1,
    max: 64,
    sensitive: false,
};

pub(crate) fn check_len(key: &str, value: &str, len: Len) -> Result<(), ApiError> {
    // AWS counts characters of the decoded string.
    let n = value.chars().count();
    let shown = (!len.sensitive).then_some(value);
    if n < len.min {
        return Err(constraint(
            key,
            shown,
            &format!(
                "Member must have length greater than or equal to {}",
                len.min
            ),
        ));
    }
    if n > len.max {
        return Err(constraint(
            key,
            shown,
            &format!("Member must have length less than or equal to {}", len.max),
        ));
    }
    Ok(())
}

impl<'a> Fields<'a> {
    pub fn new(body: &'a Value) -> Result<Fields<'a>, ApiError> {
        match body {
            Value::Object(m) => Ok(Fields { body: m }),
            _ => Err(ApiError::serialization(
                "The request body must be a JSON object",
            )),
        }
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        match self.body.get(key) {
            None | Some(Value::Null) => None,
            Some(v) => Some(v),
        }
    }

    pub fn opt_str(&self, key: &str, len: Len) -> Result<Option<&'a str>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => {
                check_len(key, s, len)?;
                Ok(Some(s.as_str()))
            }
            Some(_) => Err(wrong_type(key, "a string")),
        }
    }

    pub fn str(&self, key: &str, len: Len) -> Result<&'a str, ApiError> {
        self.opt_str(key, len)?.ok_or_else(|| {
            ApiError::validation(format!(
                "1 validation error detected: Value null at '{key}' failed to satisfy \
                 constraint: Member must not be null"
            ))
        })
    }

    pub fn opt_bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(wrong_type(key, "a boolean")),
        }
    }

    pub fn opt_int(&self, key: &str, min: i64, max: i64) -> Result<Option<i64>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => {
                let v = n.as_i64().ok_or_else(|| wrong_type(key, "an integer"))?;
                let shown = v.to_string();
                if v < min {
                    return Err(constraint(
                        key,
                        Some(&shown),
                        &format!("Member must have value greater than or equal to {min}"),
                    ));
                }
                if v > max {
                    return Err(constraint(
                        key,
                        Some(&shown),
                        &format!("Member must have value less than or equal to {max}"),
                    ));
                }
                Ok(Some(v))
            }
            Some(_) => Err(wrong_type(key, "a number")),
        }
    }

    /// An enum member: one of `allowed`.
    pub fn opt_enum(&self, key: &str, allowed: &[&str]) -> Result<Option<&'a str>, ApiError> {
        let Some(v) = self.opt_str(
            key,
            Len {
                min: 0,
                max: usize::MAX,
                sensitive: false,
            },
        )?
        else {
            return Ok(None);
        };
        if allowed.contains(&v) {
            Ok(Some(v))
        } else {
            Err(constraint(
                key,
                Some(v),
                &format!(
                    "Member must satisfy enum value set: [{}]",
                    allowed.join(", ")
                ),
            ))
        }
    }

    /// A structure member, kept as JSON.
    pub fn opt_object(&self, key: &str) -> Result<Option<&'a Value>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(v @ Value::Object(_)) => Ok(Some(v)),
            Some(_) => Err(wrong_type(key, "an object")),
        }
    }

    pub fn opt_list(&self, key: &str) -> Result<&'a [Value], ApiError> {
        match self.get(key) {
            None => Ok(&[]),
            Some(Value::Array(a)) => Ok(a.as_slice()),
            Some(_) => Err(wrong_type(key, "a list")),
        }
    }
}
