//! `Functions`: the functions runtime. Definitions go through the store; invocations
//! go to environments from each function's pool.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::store::functions::{FunctionRecord, FunctionStore};
use baton_platform::store::StoreError;
use bytes::Bytes;
use serde_json::json;
use tokio::sync::OnceCell;

use crate::code;
use crate::environment::{
    EnvSpec, Environment, INIT_LIMIT, Invocation, MAX_RESPONSE_BYTES, Outcome,
};
use crate::error::FunctionsError;
use crate::logs::{InvocationLog, LogBook, tail_base64};
use crate::model::{
    CodeSource, DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_SECS, EventInvokeConfig, FunctionConfig,
    FunctionRef, LATEST, MAX_MEMORY_MB, MAX_TIMEOUT_SECS, MIN_MEMORY_MB, RESERVED_ENV_KEYS,
    RUNTIMES, runtime_family, valid_function_name,
};
use crate::pool::{Acquired, Pool};

/// Lambda's limit on a synchronous request payload.
pub const MAX_SYNC_PAYLOAD_BYTES: usize = 6_291_456;
/// Lambda's limit on an asynchronous request payload.
pub const MAX_ASYNC_PAYLOAD_BYTES: usize = 262_144;

/// How Baton runs functions on this node.
#[derive(Debug, Clone)]
pub struct Settings {
    pub region: String,
    pub account_id: String,
    /// Unpacked code and the shims go under `<data_dir>/functions/`.
    pub data_dir: PathBuf,
    /// Baton's own URL, given to functions as `AWS_ENDPOINT_URL` so SDK calls inside a
    /// function reach Baton.
    pub endpoint_url: Option<String>,
    /// Warm environments unused for this long are stopped.
    pub idle_timeout: Duration,
    /// Concurrent executions across all functions (Lambda's account limit).
    pub max_environments: usize,
    pub python: String,
    pub node: String,
    /// Waits before the second and third attempt of a failed `Event` invocation
    /// (Lambda: one and two minutes).
    pub async_retry_delays: [Duration; 2],
    /// Credentials handed to functions.
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    /// This node is the store's only user, so async claims left by an earlier run are
    /// released at start. `false` when nodes share a store: a live peer's claims stay
    /// until their leases lapse.
    pub single_node: bool,
    /// This node's name in the claims of asynchronous invocations.
    pub node_id: String,
    /// How long a claim on an asynchronous invocation lasts without renewal; a running
    /// invocation renews it every third of this. A dead node's invocations run again
    /// on another node once it lapses.
    pub async_lease: Duration,
}

impl Settings {
    pub fn new(data_dir: PathBuf) -> Settings {
        Settings {
            region: baton_platform::arn::DEFAULT_REGION.into(),
            account_id: baton_platform::arn::DEFAULT_ACCOUNT.into(),
            data_dir,
            endpoint_url: None,
            idle_timeout: Duration::from_secs(300),
            max_environments: 1000,
            python: "python3".into(),
            node: "node".into(),
            async_retry_delays: [Duration::from_secs(60), Duration::from_secs(120)],
            access_key_id: "test".into(),
            secret_access_key: "test".into(),
            session_token: None,
            single_node: true,
            node_id: "local".into(),
            async_lease: Duration::from_secs(30),
        }
    }
}

/// What CreateFunction asks for, parsed.
#[derive(Debug, Clone, Default)]
pub struct CreateFunction {
    pub name: String,
    pub runtime: Option<String>,
    pub role: String,
    pub handler: Option<String>,
    pub description: Option<String>,
    pub timeout_secs: Option<u32>,
    pub memory_mb: Option<u32>,
    pub environment: Option<BTreeMap<String, String>>,
    pub architectures: Option<Vec<String>>,
    pub code: CodeInput,
    pub dead_letter_target: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub ephemeral_storage_mb: Option<u32>,
}

/// Where new code comes from.
#[derive(Debug, Clone, Default)]
pub enum CodeInput {
    #[default]
    Missing,
    Zip(Vec<u8>),
    /// Baton-only: run the code in place from this directory.
    LocalDir(String),
}

/// UpdateFunctionConfiguration: only the fields present change.
#[derive(Debug, Clone, Default)]
pub struct ConfigPatch {
    pub runtime: Option<String>,
    pub role: Option<String>,
    pub handler: Option<String>,
    pub description: Option<String>,
    pub timeout_secs: Option<u32>,
    pub memory_mb: Option<u32>,
    pub environment: Option<BTreeMap<String, String>>,
    /// `Some(None)` removes the dead-letter target.
    pub dead_letter_target: Option<Option<String>>,
    pub ephemeral_storage_mb: Option<u32>,
    pub revision_id: Option<String>,
}

/// An Invoke request, parsed.
#[derive(Debug, Clone)]
pub struct InvokeRequest {
    pub function: String,
    pub qualifier: Option<String>,
    pub payload: Bytes,
    pub log_tail: bool,
    /// Base64 client context, passed to the runtime as is.
    pub client_context: Option<String>,
    /// Given by internal callers; a new UUID otherwise.
    pub request_id: Option<String>,
}

/// What a synchronous invocation produced.
#[derive(Debug, Clone, PartialEq)]
pub enum InvokeOutcome {
    Returned(Bytes),
    /// `X-Amz-Function-Error: Unhandled`: the error payload and its `errorType`.
    Raised {
        error_type: String,
        payload: Bytes,
    },
}

#[derive(Debug, Clone)]
pub struct InvokeOutput {
    pub request_id: String,
    pub outcome: InvokeOutcome,
    /// Base64 of the log's last 4 KB, when asked for.
    pub log_tail: Option<String>,
    pub duration: Duration,
    pub init_duration: Option<Duration>,
}

/// A function's definition as loaded for invoking: the config and its resolved code.
struct Loaded {
    config: FunctionConfig,
    revision: i64,
    code_dir: OnceCell<PathBuf>,
}

struct Inner {
    store: Arc<dyn FunctionStore>,
    settings: Settings,
    shim_dir: PathBuf,
    code_cache: PathBuf,
    pid_dir: PathBuf,
    loaded: RwLock<HashMap<String, Arc<Loaded>>>,
    pools: Mutex<HashMap<String, Arc<Pool>>>,
    logs: Arc<LogBook>,
    pub(crate) async_wake: tokio::sync::Notify,
}

/// The functions runtime (cheap to clone).
#[derive(Clone)]
pub struct Functions {
    inner: Arc<Inner>,
}

/// Lambda's `LastModified` format.
fn last_modified_now() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3f+0000")
        .to_string()
}

fn not_found(arn: &str) -> FunctionsError {
    FunctionsError::NotFound(format!("Function not found: {arn}"))
}

fn error_payload(error_type: &str, message: String) -> Bytes {
    Bytes::from(json!({"errorType": error_type, "errorMessage": message}).to_string())
}

impl Functions {
    /// Starts the runtime: writes the shims, releases stale async claims, and starts
    /// the reaper and the asynchronous-invocation worker.
    pub async fn start(
        store: Arc<dyn FunctionStore>,
        mut settings: Settings,
    ) -> Result<Functions, FunctionsError> {
        settings.python = resolve_python(&settings.python).await;
        let root = settings.data_dir.join("functions");
        let shim_dir = crate::shims::install(&root.join("runtime"))
            .map_err(|e| FunctionsError::internal(format!("writing the runtime shims: {e}")))?;
        let orphans = crate::environment::kill_orphans(&root.join("pids"));
        if orphans > 0 {
            tracing::info!(
                orphans,
                "functions: stopped environments left by an earlier run"
            );
        }
        if settings.single_node {
            store.release_async_claims().await?;
        }
        let functions = Functions {
            inner: Arc::new(Inner {
                store,
                code_cache: root.join("code"),
                pid_dir: root.join("pids"),
                shim_dir,
                settings,
                loaded: RwLock::new(HashMap::new()),
                pools: Mutex::new(HashMap::new()),
                logs: Arc::new(LogBook::default()),
                async_wake: tokio::sync::Notify::new(),
            }),
        };
        tokio::spawn(reaper(Arc::downgrade(&functions.inner)));
        tokio::spawn(crate::async_invoke::worker(functions.clone()));
        Ok(functions)
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    pub fn function_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:lambda:{}:{}:function:{name}",
            self.inner.settings.region, self.inner.settings.account_id
        )
    }

    /// Stops every environment (the server is shutting down).
    pub fn shutdown(&self) {
        if let Ok(pools) = self.inner.pools.lock() {
            for pool in pools.values() {
                pool.kill_all();
            }
        }
    }

    pub(crate) fn store(&self) -> &Arc<dyn FunctionStore> {
        &self.inner.store
    }

    pub(crate) fn wake_async(&self) -> &tokio::sync::Notify {
        &self.inner.async_wake
    }

    // ---- definitions ---------------------------------------------------------------

    fn validate_common(
        &self,
        runtime: &str,
        timeout: u32,
        memory: u32,
        env: &BTreeMap<String, String>,
        ephemeral: u32,
    ) -> Result<(), FunctionsError> {
        if runtime_family(runtime).is_none() {
            return Err(FunctionsError::InvalidParameter(format!(
                "The runtime parameter of {runtime} is not supported by Baton. Supported runtimes: {}",
                RUNTIMES.join(", ")
            )));
        }
        if !(1..=MAX_TIMEOUT_SECS).contains(&timeout) {
            return Err(FunctionsError::Validation(format!(
                "1 validation error detected: Value '{timeout}' at 'timeout' failed to satisfy constraint: Member must have value {}",
                if timeout < 1 {
                    "greater than or equal to 1"
                } else {
                    "less than or equal to 900"
                }
            )));
        }
        if !(MIN_MEMORY_MB..=MAX_MEMORY_MB).contains(&memory) {
            return Err(FunctionsError::Validation(format!(
                "1 validation error detected: Value '{memory}' at 'memorySize' failed to satisfy constraint: Member must have value {}",
                if memory < MIN_MEMORY_MB {
                    "greater than or equal to 128"
                } else {
                    "less than or equal to 10240"
                }
            )));
        }
        if !(512..=10_240).contains(&ephemeral) {
            return Err(FunctionsError::Validation(format!(
                "1 validation error detected: Value '{ephemeral}' at 'ephemeralStorage.size' failed to satisfy constraint: Member must have value between 512 and 10240"
            )));
        }
        let reserved: Vec<&str> = env
            .keys()
            .filter(|k| RESERVED_ENV_KEYS.contains(&k.as_str()))
            .map(String::as_str)
            .collect();
        if !reserved.is_empty() {
            return Err(FunctionsError::InvalidParameter(format!(
                "Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: {}",
                reserved.join(", ")
            )));
        }
        for key in env.keys() {
            let ok = key.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ok {
                return Err(FunctionsError::Validation(format!(
                    "1 validation error detected: Value at 'environment.variables' failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+] (key: {key})"
                )));
            }
        }
        Ok(())
    }

    /// Turns new code into its source, digests and the bytes to store.
    fn prepare_code(
        &self,
        code: CodeInput,
    ) -> Result<(CodeSource, String, Option<Vec<u8>>), FunctionsError> {
        match code {
            CodeInput::Missing => Err(FunctionsError::InvalidParameter(
                "Please provide a source for function code.".into(),
            )),
            CodeInput::Zip(bytes) => {
                code::check_zip(&bytes)?;
                let (hex, b64) = code::digests(&bytes);
                let size = bytes.len() as u64;
                Ok((
                    CodeSource::Zip {
                        sha256_hex: hex,
                        size,
                    },
                    b64,
                    Some(bytes),
                ))
            }
            CodeInput::LocalDir(path) => {
                let p = std::path::Path::new(&path);
                if !p.is_absolute() || !p.is_dir() {
                    return Err(FunctionsError::InvalidParameter(format!(
                        "Baton local code: {path} is not an absolute path to a directory"
                    )));
                }
                let (_, b64) = code::digests(path.as_bytes());
                Ok((CodeSource::LocalDir { path }, b64, None))
            }
        }
    }

    pub async fn create_function(
        &self,
        req: CreateFunction,
    ) -> Result<FunctionConfig, FunctionsError> {
        if !valid_function_name(&req.name) {
            FunctionRef::parse(&req.name)?;
        }
        let Some(runtime) = req.runtime.clone() else {
            return Err(FunctionsError::InvalidParameter(
                "Runtime and Handler are mandatory parameters for functions created with deployment packages.".into(),
            ));
        };
        let handler = match (&req.handler, runtime_family(&runtime)) {
            (Some(h), _) => h.clone(),
            (None, Some(crate::model::RuntimeFamily::Provided)) => String::new(),
            (None, _) => {
                return Err(FunctionsError::InvalidParameter(
                    "Runtime and Handler are mandatory parameters for functions created with deployment packages.".into(),
                ));
            }
        };
        let timeout = req.timeout_secs.unwrap_or(DEFAULT_TIMEOUT_SECS);
        let memory = req.memory_mb.unwrap_or(DEFAULT_MEMORY_MB);
        let environment = req.environment.unwrap_or_default();
        let ephemeral = req.ephemeral_storage_mb.unwrap_or(512);
        self.validate_common(&runtime, timeout, memory, &environment, ephemeral)?;
        let (source, b64, bytes) = self.prepare_code(req.code)?;
        let config = FunctionConfig {
            name: req.name.clone(),
            runtime,
            role: req.role,
            handler,
            description: req.description.unwrap_or_default(),
            timeout_secs: timeout,
            memory_mb: memory,
            environment,
            architectures: req.architectures.unwrap_or_else(|| vec!["x86_64".into()]),
            code: source,
            code_sha256_b64: b64,
            last_modified: last_modified_now(),
            revision_id: uuid::Uuid::new_v4().to_string(),
            reserved_concurrency: None,
            dead_letter_target: req.dead_letter_target,
            event_invoke: None,
            tags: req.tags,
            ephemeral_storage_mb: ephemeral,
        };
        let record = to_record(&config, 1)?;
        match self.inner.store.create_function(record, bytes).await {
            Ok(()) => {}
            Err(StoreError::AlreadyExists(_)) => {
                return Err(FunctionsError::Conflict(format!(
                    "Function already exist: {}",
                    req.name
                )));
            }
            Err(e) => return Err(e.into()),
        }
        self.forget(&config.name);
        Ok(config)
    }

    /// The stored definition and its revision.
    async fn read(&self, name: &str) -> Result<(FunctionConfig, i64), FunctionsError> {
        let record = self
            .inner
            .store
            .get_function(name)
            .await?
            .ok_or_else(|| not_found(&self.function_arn(name)))?;
        let config: FunctionConfig = serde_json::from_value(record.config)
            .map_err(|e| FunctionsError::internal(format!("stored function {name}: {e}")))?;
        Ok((config, record.revision))
    }

    /// Resolves a reference (name or ARN, `$LATEST` only) to the function's name.
    pub fn resolve(
        &self,
        reference: &str,
        qualifier: Option<&str>,
    ) -> Result<String, FunctionsError> {
        let r = FunctionRef::parse(reference)?;
        let q = qualifier.map(str::to_owned).or(r.qualifier);
        match q.as_deref() {
            None | Some(LATEST) => Ok(r.name),
            Some(q) => Err(not_found(&format!("{}:{q}", self.function_arn(&r.name)))),
        }
    }

    pub async fn get_function(&self, name: &str) -> Result<FunctionConfig, FunctionsError> {
        Ok(self.read(name).await?.0)
    }

    /// A page of functions in name order and the marker for the next page.
    pub async fn list_functions(
        &self,
        marker: Option<&str>,
        max_items: usize,
    ) -> Result<(Vec<FunctionConfig>, Option<String>), FunctionsError> {
        let max_items = max_items.clamp(1, 50);
        let mut records = self
            .inner
            .store
            .list_functions(marker, max_items + 1)
            .await?;
        let next = if records.len() > max_items {
            records.truncate(max_items);
            records.last().map(|r| r.name.clone())
        } else {
            None
        };
        let configs = records
            .into_iter()
            .map(|r| {
                serde_json::from_value(r.config)
                    .map_err(|e| FunctionsError::internal(format!("stored function: {e}")))
            })
            .collect::<Result<Vec<FunctionConfig>, _>>()?;
        Ok((configs, next))
    }

    /// Read-modify-write of a definition with optimistic concurrency; retires the
    /// function's environments when the change affects how it runs.
    async fn modify(
        &self,
        name: &str,
        revision_id: Option<&str>,
        retire: bool,
        change: impl FnOnce(&mut FunctionConfig) -> Result<Option<Vec<u8>>, FunctionsError>,
    ) -> Result<FunctionConfig, FunctionsError> {
        let (mut config, revision) = self.read(name).await?;
        if let Some(expected) = revision_id
            && expected != config.revision_id
        {
            return Err(FunctionsError::PreconditionFailed(
                "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id".into(),
            ));
        }
        let bytes = change(&mut config)?;
        config.last_modified = last_modified_now();
        config.revision_id = uuid::Uuid::new_v4().to_string();
        let record = to_record(&config, revision + 1)?;
        match self
            .inner
            .store
            .update_function(record, revision, bytes)
            .await
        {
            Ok(()) => {}
            Err(StoreError::NotFound(_)) => return Err(not_found(&self.function_arn(name))),
            Err(StoreError::Conflict(_)) => {
                return Err(FunctionsError::Conflict(format!(
                    "The operation cannot be performed at this time. An update is in progress for resource: {}",
                    self.function_arn(name)
                )));
            }
            Err(e) => return Err(e.into()),
        }
        self.forget(name);
        if retire && let Some(pool) = self.pool_if_any(name) {
            pool.retire();
        }
        Ok(config)
    }

    pub async fn update_code(
        &self,
        name: &str,
        code: CodeInput,
        revision_id: Option<&str>,
    ) -> Result<FunctionConfig, FunctionsError> {
        let (source, b64, bytes) = self.prepare_code(code)?;
        self.modify(name, revision_id, true, move |c| {
            c.code = source;
            c.code_sha256_b64 = b64;
            Ok(bytes)
        })
        .await
    }

    pub async fn update_configuration(
        &self,
        name: &str,
        patch: ConfigPatch,
    ) -> Result<FunctionConfig, FunctionsError> {
        let this = self.clone();
        let revision_id = patch.revision_id.clone();
        self.modify(name, revision_id.as_deref(), true, move |c| {
            if let Some(v) = patch.runtime {
                c.runtime = v;
            }
            if let Some(v) = patch.role {
                c.role = v;
            }
            if let Some(v) = patch.handler {
                c.handler = v;
            }
            if let Some(v) = patch.description {
                c.description = v;
            }
            if let Some(v) = patch.timeout_secs {
                c.timeout_secs = v;
            }
            if let Some(v) = patch.memory_mb {
                c.memory_mb = v;
            }
            if let Some(v) = patch.environment {
                c.environment = v;
            }
            if let Some(v) = patch.dead_letter_target {
                c.dead_letter_target = v;
            }
            if let Some(v) = patch.ephemeral_storage_mb {
                c.ephemeral_storage_mb = v;
            }
            this.validate_common(
                &c.runtime,
                c.timeout_secs,
                c.memory_mb,
                &c.environment,
                c.ephemeral_storage_mb,
            )?;
            Ok(None)
        })
        .await
    }

    pub async fn delete_function(&self, name: &str) -> Result<(), FunctionsError> {
        match self.inner.store.delete_function(name).await {
            Ok(()) => {}
            Err(StoreError::NotFound(_)) => return Err(not_found(&self.function_arn(name))),
            Err(e) => return Err(e.into()),
        }
        self.forget(name);
        let pool = self
            .inner
            .pools
            .lock()
            .ok()
            .and_then(|mut p| p.remove(name));
        if let Some(pool) = pool {
            pool.kill_all();
        }
        self.inner.logs.forget(name);
        Ok(())
    }

    /// PutFunctionConcurrency (`Some(n)`) or DeleteFunctionConcurrency (`None`).
    pub async fn set_concurrency(
        &self,
        name: &str,
        reserved: Option<u32>,
    ) -> Result<Option<u32>, FunctionsError> {
        if let Some(n) = reserved
            && n as usize > self.inner.settings.max_environments
        {
            return Err(FunctionsError::InvalidParameter(format!(
                "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [0]. (Baton's limit is {})",
                self.inner.settings.max_environments
            )));
        }
        let config = self
            .modify(name, None, false, move |c| {
                c.reserved_concurrency = reserved;
                Ok(None)
            })
            .await?;
        Ok(config.reserved_concurrency)
    }

    pub async fn set_event_invoke_config(
        &self,
        name: &str,
        config: Option<EventInvokeConfig>,
    ) -> Result<Option<EventInvokeConfig>, FunctionsError> {
        if let Some(c) = &config {
            if c.maximum_retry_attempts.is_some_and(|n| n > 2) {
                return Err(FunctionsError::Validation(format!(
                    "1 validation error detected: Value '{}' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 2",
                    c.maximum_retry_attempts.unwrap_or_default()
                )));
            }
            if c.maximum_event_age_secs
                .is_some_and(|n| !(60..=21_600).contains(&n))
            {
                return Err(FunctionsError::Validation(format!(
                    "1 validation error detected: Value '{}' at 'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value between 60 and 21600",
                    c.maximum_event_age_secs.unwrap_or_default()
                )));
            }
            for dest in [&c.on_success, &c.on_failure].into_iter().flatten() {
                if !dest.contains(":lambda:") && !dest.contains(":function:") {
                    return Err(FunctionsError::InvalidParameter(format!(
                        "Baton delivers destinations to Lambda functions only for now; got {dest}"
                    )));
                }
            }
        }
        let c = self
            .modify(name, None, false, move |f| {
                f.event_invoke = config;
                Ok(None)
            })
            .await?;
        Ok(c.event_invoke)
    }

    /// The code package (zip bytes) of a function stored with one.
    pub async fn code_package(&self, name: &str) -> Result<Option<Vec<u8>>, FunctionsError> {
        let (config, _) = self.read(name).await?;
        match config.code {
            CodeSource::Zip { sha256_hex, .. } => {
                Ok(self.inner.store.get_code(&sha256_hex).await?)
            }
            CodeSource::LocalDir { .. } => Ok(None),
        }
    }

    /// Kept logs of a function (one invocation's when `request_id` is given).
    pub fn logs(&self, name: &str, request_id: Option<&str>) -> Vec<InvocationLog> {
        self.inner.logs.get(name, request_id)
    }

    /// (environments alive, idle) for a function.
    pub fn environment_counts(&self, name: &str) -> (usize, usize) {
        self.pool_if_any(name).map(|p| p.counts()).unwrap_or((0, 0))
    }

    fn forget(&self, name: &str) {
        if let Ok(mut l) = self.inner.loaded.write() {
            l.remove(name);
        }
    }

    fn pool_if_any(&self, name: &str) -> Option<Arc<Pool>> {
        self.inner.pools.lock().ok()?.get(name).cloned()
    }

    fn pool(&self, name: &str) -> Arc<Pool> {
        match self.inner.pools.lock() {
            Ok(mut p) => p.entry(name.to_owned()).or_default().clone(),
            Err(_) => Arc::new(Pool::default()),
        }
    }

    /// The definition to invoke, from memory when loaded (definitions change only
    /// through this runtime on a single node, which drops the entry on every change).
    async fn loaded(&self, name: &str) -> Result<Arc<Loaded>, FunctionsError> {
        if let Ok(l) = self.inner.loaded.read()
            && let Some(found) = l.get(name)
        {
            return Ok(found.clone());
        }
        let (config, revision) = self.read(name).await?;
        let loaded = Arc::new(Loaded {
            config,
            revision,
            code_dir: OnceCell::new(),
        });
        if let Ok(mut l) = self.inner.loaded.write() {
            match l.get(name) {
                Some(existing) if existing.revision >= revision => return Ok(existing.clone()),
                _ => {
                    l.insert(name.to_owned(), loaded.clone());
                }
            }
        }
        Ok(loaded)
    }

    async fn code_dir(&self, loaded: &Loaded) -> Result<PathBuf, FunctionsError> {
        let dir = loaded
            .code_dir
            .get_or_try_init(|| async {
                match &loaded.config.code {
                    CodeSource::LocalDir { path } => Ok(PathBuf::from(path)),
                    CodeSource::Zip { sha256_hex, .. } => {
                        // Unpacked before (an earlier definition or run): the package
                        // need not come out of the store again.
                        let unpacked = self.inner.code_cache.join(sha256_hex);
                        if unpacked.is_dir() {
                            return Ok(unpacked);
                        }
                        let bytes =
                            self.inner
                                .store
                                .get_code(sha256_hex)
                                .await?
                                .ok_or_else(|| {
                                    FunctionsError::internal(format!(
                                        "code {sha256_hex} is missing from the store"
                                    ))
                                })?;
                        let cache = self.inner.code_cache.clone();
                        let hex = sha256_hex.clone();
                        tokio::task::spawn_blocking(move || code::unpack(&cache, &hex, &bytes))
                            .await
                            .map_err(FunctionsError::internal)?
                            .map_err(FunctionsError::internal)
                    }
                }
            })
            .await?;
        Ok(dir.clone())
    }

    fn spec(&self, loaded: &Loaded, code_dir: PathBuf, generation: u64) -> EnvSpec {
        let s = &self.inner.settings;
        let c = &loaded.config;
        let mut base_env = vec![
            ("AWS_REGION".to_owned(), s.region.clone()),
            ("AWS_DEFAULT_REGION".to_owned(), s.region.clone()),
            ("AWS_ACCESS_KEY_ID".to_owned(), s.access_key_id.clone()),
            (
                "AWS_SECRET_ACCESS_KEY".to_owned(),
                s.secret_access_key.clone(),
            ),
        ];
        if let Some(t) = &s.session_token {
            base_env.push(("AWS_SESSION_TOKEN".to_owned(), t.clone()));
        }
        if let Some(url) = &s.endpoint_url {
            base_env.push(("AWS_ENDPOINT_URL".to_owned(), url.clone()));
        }
        EnvSpec {
            function: c.name.clone(),
            function_arn: self.function_arn(&c.name),
            family: c.family(),
            runtime: c.runtime.clone(),
            handler: c.handler.clone(),
            code_dir,
            memory_mb: c.memory_mb,
            timeout: Duration::from_secs(u64::from(c.timeout_secs)),
            user_env: c.environment.clone(),
            base_env,
            shim_dir: self.inner.shim_dir.clone(),
            python: s.python.clone(),
            node: s.node.clone(),
            generation,
            pid_dir: self.inner.pid_dir.clone(),
        }
    }

    // ---- invocation ----------------------------------------------------------------

    /// Checks that an `Event` or `DryRun` invocation could run (the function exists).
    pub async fn check_invocable(&self, name: &str) -> Result<(), FunctionsError> {
        self.loaded(name).await.map(|_| ())
    }

    /// Runs a synchronous (`RequestResponse`) invocation.
    pub async fn invoke(&self, req: InvokeRequest) -> Result<InvokeOutput, FunctionsError> {
        if req.payload.len() > MAX_SYNC_PAYLOAD_BYTES {
            return Err(FunctionsError::TooLarge(format!(
                "{} byte payload is too large for the RequestResponse invocation type (limit {MAX_SYNC_PAYLOAD_BYTES} bytes)",
                req.payload.len()
            )));
        }
        let name = self.resolve(&req.function, req.qualifier.as_deref())?;
        let loaded = self.loaded(&name).await?;
        let request_id = req
            .request_id
            .clone()
            .unwrap_or_else(crate::ids::request_id);
        let limit = loaded
            .config
            .reserved_concurrency
            .map_or(self.inner.settings.max_environments, |n| n as usize);
        if limit == 0 {
            return Err(throttled(
                "ReservedFunctionConcurrentInvocationLimitExceeded",
            ));
        }
        let pool = self.pool(&name);
        let env = match pool.acquire(limit) {
            Acquired::Warm(env) => env,
            Acquired::Full => {
                return Err(throttled(if loaded.config.reserved_concurrency.is_some() {
                    "ReservedFunctionConcurrentInvocationLimitExceeded"
                } else {
                    "ConcurrentInvocationLimitExceeded"
                }));
            }
            Acquired::Slot { generation } => {
                match self.start_environment(&pool, &loaded, generation).await {
                    Ok(env) => env,
                    Err(e) => {
                        pool.forget_slot();
                        return match e {
                            StartError::Functions(e) => Err(e),
                            StartError::Spawn {
                                error_type,
                                message,
                            } => Ok(InvokeOutput {
                                outcome: InvokeOutcome::Raised {
                                    payload: error_payload(
                                        error_type,
                                        format!("RequestId: {request_id} Error: {message}"),
                                    ),
                                    error_type: error_type.to_owned(),
                                },
                                request_id,
                                log_tail: None,
                                duration: Duration::ZERO,
                                init_duration: None,
                            }),
                        };
                    }
                }
            }
        };
        let invocation = Invocation {
            request_id: request_id.clone(),
            // An Invoke without a payload hands the function an empty object.
            payload: if req.payload.is_empty() {
                Bytes::from_static(b"{}")
            } else {
                req.payload
            },
            client_context: req.client_context,
            trace_id: crate::ids::trace_header(chrono::Utc::now().timestamp()),
        };
        let result = env.run(invocation, req.log_tail).await;
        let reusable = result.outcome.keeps_environment();
        pool.release(env, reusable);
        let timeout_secs = loaded.config.timeout_secs;
        let outcome = match result.outcome {
            Outcome::Response(b) => InvokeOutcome::Returned(b),
            Outcome::FunctionError { error_type, body }
            | Outcome::InitError { error_type, body } => InvokeOutcome::Raised {
                error_type,
                payload: body,
            },
            Outcome::Exited { status, clean } => {
                let message = if clean {
                    format!(
                        "RequestId: {request_id} Error: Runtime exited without providing a reason"
                    )
                } else {
                    format!("RequestId: {request_id} Error: Runtime exited with error: {status}")
                };
                raised("Runtime.ExitError", message)
            }
            Outcome::TimedOut => raised(
                "Sandbox.Timedout",
                format!(
                    "RequestId: {request_id} Error: Task timed out after {timeout_secs}.00 seconds"
                ),
            ),
            Outcome::InitTimedOut => raised(
                "Sandbox.Timedout",
                format!(
                    "RequestId: {request_id} Error: Task timed out after {}.00 seconds",
                    INIT_LIMIT.as_secs()
                ),
            ),
            Outcome::ResponseTooLarge => raised(
                "Function.ResponseSizeTooLarge",
                format!(
                    "Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."
                ),
            ),
        };
        Ok(InvokeOutput {
            request_id,
            outcome,
            log_tail: result.log.as_deref().map(tail_base64),
            duration: result.duration,
            init_duration: result.init_duration,
        })
    }

    async fn start_environment(
        &self,
        pool: &Pool,
        loaded: &Loaded,
        generation: u64,
    ) -> Result<Arc<Environment>, StartError> {
        // The slot just reserved counts among the live ones.
        let total: usize = self
            .inner
            .pools
            .lock()
            .map(|p| p.values().map(|pool| pool.counts().0).sum())
            .unwrap_or(0);
        if total > self.inner.settings.max_environments {
            return Err(StartError::Functions(throttled(
                "ConcurrentInvocationLimitExceeded",
            )));
        }
        let result = async {
            let dir = self.code_dir(loaded).await.map_err(StartError::Functions)?;
            let spec = self.spec(loaded, dir, generation);
            Environment::spawn(&spec, self.inner.logs.clone())
                .await
                .map_err(|e| StartError::Spawn {
                    error_type: e.error_type,
                    message: e.message,
                })
        }
        .await;
        match result {
            Ok(env) => {
                pool.started(&env);
                Ok(env)
            }
            Err(e) => Err(e),
        }
    }
}

enum StartError {
    Functions(FunctionsError),
    Spawn {
        error_type: &'static str,
        message: String,
    },
}

fn raised(error_type: &str, message: String) -> InvokeOutcome {
    InvokeOutcome::Raised {
        error_type: error_type.to_owned(),
        payload: error_payload(error_type, message),
    }
}

fn throttled(reason: &'static str) -> FunctionsError {
    FunctionsError::Throttled {
        reason,
        message: "Rate Exceeded.".into(),
    }
}

fn to_record(config: &FunctionConfig, revision: i64) -> Result<FunctionRecord, FunctionsError> {
    let value = serde_json::to_value(config).map_err(FunctionsError::internal)?;
    let code_sha256 = match &config.code {
        CodeSource::Zip { sha256_hex, .. } => Some(sha256_hex.clone()),
        CodeSource::LocalDir { .. } => None,
    };
    Ok(FunctionRecord {
        name: config.name.clone(),
        revision,
        config: value,
        code_sha256,
    })
}

/// The interpreter's real path: launchers such as pyenv's shims are scripts that cost
/// a hundred milliseconds or more on every cold start.
async fn resolve_python(python: &str) -> String {
    let out = tokio::process::Command::new(python)
        .args(["-c", "import sys; print(sys.executable)"])
        .stdin(std::process::Stdio::null())
        .output()
        .await;
    match out {
        Ok(o) if o.status.success() => {
            let path = String::from_utf8_lossy(&o.stdout).trim().to_owned();
            if path.is_empty() {
                python.to_owned()
            } else {
                path
            }
        }
        _ => python.to_owned(),
    }
}

/// Stops environments that stayed idle too long.
async fn reaper(inner: std::sync::Weak<Inner>) {
    loop {
        let period = match inner.upgrade() {
            Some(i) => (i.settings.idle_timeout / 4)
                .clamp(Duration::from_millis(50), Duration::from_secs(10)),
            None => return,
        };
        tokio::time::sleep(period).await;
        let Some(i) = inner.upgrade() else { return };
        let pools: Vec<Arc<Pool>> = i
            .pools
            .lock()
            .map(|p| p.values().cloned().collect())
            .unwrap_or_default();
        let now = Instant::now();
        for pool in pools {
            let n = pool.reap(i.settings.idle_timeout, now);
            if n > 0 {
                tracing::debug!(reaped = n, "functions: stopped idle environments");
            }
        }
    }
}
