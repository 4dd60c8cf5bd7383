//! Lambda's REST-JSON request and response shapes (from the service model), and the
//! conversions between them and the functions runtime's typed values.

use std::collections::BTreeMap;

use crate::model::{CodeSource, EventInvokeConfig, FunctionConfig};
use crate::{CodeInput, ConfigPatch, CreateFunction, FunctionsError};
use base64::Engine;
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// `Code.S3Bucket` that names a local directory instead of a bucket (Baton-only):
/// `S3Key` is the directory's absolute path, run in place.
pub const LOCAL_CODE_BUCKET: &str = "baton-local";

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct CodeShape {
    pub zip_file: Option<String>,
    pub s3_bucket: Option<String>,
    pub s3_key: Option<String>,
    pub image_uri: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct EnvironmentShape {
    pub variables: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct DeadLetterShape {
    pub target_arn: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct EphemeralShape {
    pub size: Option<u32>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct CreateFunctionShape {
    pub function_name: Option<String>,
    pub runtime: Option<String>,
    pub role: Option<String>,
    pub handler: Option<String>,
    pub description: Option<String>,
    pub timeout: Option<u32>,
    pub memory_size: Option<u32>,
    pub environment: Option<EnvironmentShape>,
    pub code: Option<CodeShape>,
    pub dead_letter_config: Option<DeadLetterShape>,
    pub tags: Option<BTreeMap<String, String>>,
    pub architectures: Option<Vec<String>>,
    pub ephemeral_storage: Option<EphemeralShape>,
    pub package_type: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateCodeShape {
    pub zip_file: Option<String>,
    pub s3_bucket: Option<String>,
    pub s3_key: Option<String>,
    pub image_uri: Option<String>,
    pub revision_id: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateConfigShape {
    pub runtime: Option<String>,
    pub role: Option<String>,
    pub handler: Option<String>,
    pub description: Option<String>,
    pub timeout: Option<u32>,
    pub memory_size: Option<u32>,
    pub environment: Option<EnvironmentShape>,
    pub dead_letter_config: Option<DeadLetterShape>,
    pub ephemeral_storage: Option<EphemeralShape>,
    pub revision_id: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct ConcurrencyShape {
    pub reserved_concurrent_executions: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct DestinationShape {
    pub destination: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct DestinationConfigShape {
    pub on_success: Option<DestinationShape>,
    pub on_failure: Option<DestinationShape>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct EventInvokeConfigShape {
    pub maximum_retry_attempts: Option<u32>,
    pub maximum_event_age_in_seconds: Option<u32>,
    pub destination_config: Option<DestinationConfigShape>,
}

/// Turns the request's code fields into new code.
pub fn code_input(
    zip_file: Option<String>,
    s3_bucket: Option<String>,
    s3_key: Option<String>,
    image_uri: Option<String>,
) -> Result<CodeInput, FunctionsError> {
    if image_uri.is_some() {
        return Err(FunctionsError::InvalidParameter(
            "Baton runs Zip packages only: container images (ImageUri) are not supported".into(),
        ));
    }
    if let Some(zip) = zip_file {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(zip.as_bytes())
            .map_err(|_| {
                FunctionsError::InvalidParameter(
                    "Could not unzip uploaded file. Please check your file, then try to upload again."
                        .into(),
                )
            })?;
        return Ok(CodeInput::Zip(bytes));
    }
    match (s3_bucket.as_deref(), s3_key) {
        (Some(LOCAL_CODE_BUCKET), Some(path)) => Ok(CodeInput::LocalDir(path)),
        (Some(_), _) => Err(FunctionsError::InvalidParameter(format!(
            "Baton cannot fetch code from S3 yet: upload a ZipFile, or set S3Bucket to \"{LOCAL_CODE_BUCKET}\" and S3Key to a local directory"
        ))),
        (None, _) => Ok(CodeInput::Missing),
    }
}

impl CreateFunctionShape {
    pub fn into_request(self) -> Result<CreateFunction, FunctionsError> {
        let Some(name) = self.function_name else {
            return Err(missing("FunctionName"));
        };
        let Some(role) = self.role else {
            return Err(missing("Role"));
        };
        if self.package_type.as_deref() == Some("Image") {
            return Err(FunctionsError::InvalidParameter(
                "Baton runs Zip packages only: container images are not supported".into(),
            ));
        }
        let code = self.code.unwrap_or_default();
        Ok(CreateFunction {
            name,
            runtime: self.runtime,
            role,
            handler: self.handler,
            description: self.description,
            timeout_secs: self.timeout,
            memory_mb: self.memory_size,
            environment: self.environment.and_then(|e| e.variables),
            architectures: self.architectures,
            code: code_input(code.zip_file, code.s3_bucket, code.s3_key, code.image_uri)?,
            dead_letter_target: self
                .dead_letter_config
                .and_then(|d| d.target_arn)
                .filter(|a| !a.is_empty()),
            tags: self.tags.unwrap_or_default(),
            ephemeral_storage_mb: self.ephemeral_storage.and_then(|e| e.size),
        })
    }
}

impl UpdateConfigShape {
    pub fn into_patch(self) -> ConfigPatch {
        ConfigPatch {
            runtime: self.runtime,
            role: self.role,
            handler: self.handler,
            description: self.description,
            timeout_secs: self.timeout,
            memory_mb: self.memory_size,
            environment: self.environment.map(|e| e.variables.unwrap_or_default()),
            dead_letter_target: self
                .dead_letter_config
                .map(|d| d.target_arn.filter(|a| !a.is_empty())),
            ephemeral_storage_mb: self.ephemeral_storage.and_then(|e| e.size),
            revision_id: self.revision_id,
        }
    }
}

impl EventInvokeConfigShape {
    pub fn into_config(self) -> EventInvokeConfig {
        let dest = self.destination_config.unwrap_or_default();
        EventInvokeConfig {
            maximum_retry_attempts: self.maximum_retry_attempts,
            maximum_event_age_secs: self.maximum_event_age_in_seconds,
            on_success: dest.on_success.and_then(|d| d.destination),
            on_failure: dest.on_failure.and_then(|d| d.destination),
            last_modified: chrono::Utc::now().timestamp_millis().to_string(),
        }
    }
}

fn missing(field: &str) -> FunctionsError {
    FunctionsError::Validation(format!(
        "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
        lower_first(field)
    ))
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// `FunctionConfiguration` as Lambda returns it.
pub fn configuration(config: &FunctionConfig, arn: &str) -> Value {
    let mut m = Map::new();
    m.insert("FunctionName".into(), json!(config.name));
    m.insert("FunctionArn".into(), json!(arn));
    m.insert("Runtime".into(), json!(config.runtime));
    m.insert("Role".into(), json!(config.role));
    m.insert("Handler".into(), json!(config.handler));
    let size = match &config.code {
        CodeSource::Zip { size, .. } => *size,
        CodeSource::LocalDir { .. } => 0,
    };
    m.insert("CodeSize".into(), json!(size));
    m.insert("Description".into(), json!(config.description));
    m.insert("Timeout".into(), json!(config.timeout_secs));
    m.insert("MemorySize".into(), json!(config.memory_mb));
    m.insert("LastModified".into(), json!(config.last_modified));
    m.insert("CodeSha256".into(), json!(config.code_sha256_b64));
    m.insert("Version".into(), json!("$LATEST"));
    if !config.environment.is_empty() {
        m.insert(
            "Environment".into(),
            json!({"Variables": config.environment}),
        );
    }
    if let Some(dlq) = &config.dead_letter_target {
        m.insert("DeadLetterConfig".into(), json!({"TargetArn": dlq}));
    }
    m.insert("TracingConfig".into(), json!({"Mode": "PassThrough"}));
    m.insert("RevisionId".into(), json!(config.revision_id));
    m.insert("State".into(), json!("Active"));
    m.insert("LastUpdateStatus".into(), json!("Successful"));
    m.insert("PackageType".into(), json!("Zip"));
    m.insert("Architectures".into(), json!(config.architectures));
    m.insert(
        "EphemeralStorage".into(),
        json!({"Size": config.ephemeral_storage_mb}),
    );
    m.insert(
        "SnapStart".into(),
        json!({"ApplyOn": "None", "OptimizationStatus": "Off"}),
    );
    m.insert(
        "LoggingConfig".into(),
        json!({"LogFormat": "Text", "LogGroup": format!("/aws/lambda/{}", config.name)}),
    );
    Value::Object(m)
}

/// `FunctionEventInvokeConfig` as Lambda returns it.
pub fn event_invoke_config(config: &EventInvokeConfig, arn: &str) -> Value {
    let mut m = Map::new();
    let modified: f64 = config.last_modified.parse::<i64>().unwrap_or_default() as f64 / 1000.0;
    m.insert("LastModified".into(), json!(modified));
    m.insert("FunctionArn".into(), json!(format!("{arn}:$LATEST")));
    if let Some(n) = config.maximum_retry_attempts {
        m.insert("MaximumRetryAttempts".into(), json!(n));
    }
    if let Some(n) = config.maximum_event_age_secs {
        m.insert("MaximumEventAgeInSeconds".into(), json!(n));
    }
    let mut dest = Map::new();
    if let Some(d) = &config.on_success {
        dest.insert("OnSuccess".into(), json!({"Destination": d}));
    }
    if let Some(d) = &config.on_failure {
        dest.insert("OnFailure".into(), json!({"Destination": d}));
    }
    m.insert("DestinationConfig".into(), Value::Object(dest));
    Value::Object(m)
}
