//! Reading SQS's JSON requests into typed values. A member of the wrong JSON type is a
//! `SerializationException` (the SDKs never send one); a missing required member is
//! SQS's `MissingParameter`.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use baton_platform::bridge::queues::{MessageAttribute, SqsError};
use serde_json::{Map, Value};

use baton_platform::http::ApiError;

pub(super) struct Req<'a>(pub &'a Map<String, Value>);

fn wrong_type(field: &str, expected: &str) -> ApiError {
    ApiError::serialization(format!(
        "Unexpected value type for '{field}': expected {expected}"
    ))
}

impl<'a> Req<'a> {
    pub fn opt_str(&self, field: &str) -> Result<Option<&'a str>, ApiError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(wrong_type(field, "string")),
        }
    }

    pub fn str(&self, field: &str) -> Result<&'a str, ApiError> {
        self.opt_str(field)?
            .ok_or_else(|| super::sqs_error(SqsError::missing(field)))
    }

    pub fn opt_int(&self, field: &str) -> Result<Option<i64>, ApiError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| wrong_type(field, "integer")),
            Some(_) => Err(wrong_type(field, "integer")),
        }
    }

    pub fn int(&self, field: &str) -> Result<i64, ApiError> {
        self.opt_int(field)?
            .ok_or_else(|| super::sqs_error(SqsError::missing(field)))
    }

    pub fn string_list(&self, field: &str) -> Result<Vec<String>, ApiError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| wrong_type(field, "list of strings"))
                })
                .collect(),
            Some(_) => Err(wrong_type(field, "list of strings")),
        }
    }

    pub fn string_map(&self, field: &str) -> Result<BTreeMap<String, String>, ApiError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(BTreeMap::new()),
            Some(Value::Object(m)) => m
                .iter()
                .map(|(k, v)| {
                    v.as_str()
                        .map(|s| (k.clone(), s.to_owned()))
                        .ok_or_else(|| wrong_type(field, "map of strings"))
                })
                .collect(),
            Some(_) => Err(wrong_type(field, "map of strings")),
        }
    }

    pub fn objects(&self, field: &str) -> Result<Vec<Req<'a>>, ApiError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_object()
                        .map(Req)
                        .ok_or_else(|| wrong_type(field, "list of structures"))
                })
                .collect(),
            Some(_) => Err(wrong_type(field, "list of structures")),
        }
    }

    pub fn message_attributes(
        &self,
        field: &str,
    ) -> Result<BTreeMap<String, MessageAttribute>, ApiError> {
        let Some(value) = self.0.get(field).filter(|v| !v.is_null()) else {
            return Ok(BTreeMap::new());
        };
        let Some(map) = value.as_object() else {
            return Err(wrong_type(field, "map of MessageAttributeValue"));
        };
        let mut out = BTreeMap::new();
        for (name, v) in map {
            let Some(obj) = v.as_object() else {
                return Err(wrong_type(field, "map of MessageAttributeValue"));
            };
            let a = Req(obj);
            let data_type = a.opt_str("DataType")?.ok_or_else(|| {
                super::sqs_error(SqsError::invalid_parameter(format!(
                    "The message attribute '{name}' must contain non-empty message attribute type."
                )))
            })?;
            let binary_value = match a.opt_str("BinaryValue")? {
                Some(b) => Some(STANDARD.decode(b).map_err(|_| {
                    ApiError::serialization(format!(
                        "Invalid base64 for {field}.{name}.BinaryValue"
                    ))
                })?),
                None => None,
            };
            out.insert(
                name.clone(),
                MessageAttribute {
                    data_type: data_type.to_owned(),
                    string_value: a.opt_str("StringValue")?.map(str::to_owned),
                    binary_value,
                },
            );
        }
        Ok(out)
    }
}
