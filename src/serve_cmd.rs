//! `baton serve`: the durable server on one port, speaking AWS's protocols.

// This module is the binary edge: what it prints is the command's output.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use baton_api::Api;
use tokio::net::TcpListener;

/// The port `baton serve` listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 4587;

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Where the embedded store keeps its file (`baton.db`).
    #[arg(long, default_value = ".baton")]
    pub data_dir: PathBuf,
    /// `sqlite` (the embedded default, under --data-dir) or a `postgres://…` URL.
    #[arg(long, default_value = "sqlite")]
    pub store: String,
    /// Port to listen on (0 picks a free one; the chosen address is printed).
    #[arg(long, default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// Address to bind. Loopback by default: the APIs accept unsigned requests.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: std::net::IpAddr,
    /// Require SigV4-signed requests made with this access key (`KEY_ID:SECRET`,
    /// repeatable). Without it, requests of any signature are accepted.
    #[arg(long = "credentials", value_name = "KEY_ID:SECRET")]
    pub credentials: Vec<String>,
    // ----- Step Functions -----
    /// The region in every ARN.
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
    /// The account id in every ARN.
    #[arg(long, default_value = "123456789012")]
    pub account: String,
    /// Deploy a state machine definition file at startup (STANDARD; the name is the
    /// file name up to its first dot). Repeatable.
    #[arg(long = "deploy", value_name = "FILE")]
    pub deploy: Vec<PathBuf>,
    /// How long GetActivityTask waits for a task before answering empty (AWS: 60 s).
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub activity_poll_seconds: u64,

    // ---- Functions (Lambda) ----
    /// Seconds a warm function environment may stay idle before it is stopped.
    #[arg(long, default_value_t = 300)]
    pub functions_idle_timeout: u64,
    /// Concurrent function executions across all functions (Lambda's account limit).
    #[arg(long, default_value_t = 1000)]
    pub functions_max_concurrency: usize,
    /// Python interpreter that runs python3.x functions.
    #[arg(long, default_value = "python3")]
    pub functions_python: String,
    /// Node.js that runs nodejs functions.
    #[arg(long, default_value = "node")]
    pub functions_node: String,
    /// Milliseconds before each retry of a failed `Event` invocation (Lambda waits one,
    /// then two minutes; tests shorten it).
    #[arg(long)]
    pub functions_async_retry_delay_ms: Option<u64>,
}

pub fn serve(args: ServeArgs) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve_async(args))
}

async fn serve_async(args: ServeArgs) -> Result<ExitCode> {
    let db = match args.store.as_str() {
        "sqlite" => {
            let path = args.data_dir.join("baton.db");
            baton_store_sqlite::Database::open(&path)
                .with_context(|| format!("opening {}", path.display()))?
        }
        other if other.starts_with("postgres://") || other.starts_with("postgresql://") => {
            bail!("the PostgreSQL store is not built yet; use --store sqlite")
        }
        other => bail!("unknown --store {other:?}: use `sqlite` or a postgres:// URL"),
    };

    let credentials =
        baton_api::sigv4::Credentials::parse(args.credentials.iter().map(String::as_str))
            .map_err(|e| anyhow::anyhow!("--credentials: {e}"))?;
    let api = Api::new().with_credentials(credentials);

    // ── EventBridge (event bus half) ──────────────────────────────────────────────
    let buses = baton_runtime::bus::EventBuses::open(
        baton_runtime::bus::BusConfig {
            region: args.region.clone(),
            account: args.account.clone(),
            ..Default::default()
        },
        std::sync::Arc::new(baton_store_sqlite::SqliteEventsStore::new(db.clone())),
        std::sync::Arc::new(baton_runtime::bus::SystemClock),
    )
    .await
    .map_err(|e| anyhow::anyhow!("loading the event buses: {e}"))?;
    let api = api
        .with_json_service(std::sync::Arc::new(baton_api::events::EventsService::new(
            buses.clone(),
        )))
        .with_routes(baton_api::events::dead_letters::routes(buses.clone()));
    // ── end EventBridge ──────────────────────────────────────────────────────────

    // ----- Step Functions -----
    // Status-change events and `events:putEvents` tasks go to the event buses.
    let sfn_event_sink: Option<std::sync::Arc<dyn baton_runtime::bridge::EventSink>> =
        Some(std::sync::Arc::new(buses.clone()));
    let sfn = baton_runtime::sfn::StepFunctions::new(
        std::sync::Arc::new(db.clone()),
        sfn_event_sink,
        std::sync::Arc::new(baton_runtime::sfn::SystemClock),
        baton_runtime::sfn::SfnConfig {
            region: args.region.clone(),
            account: args.account.clone(),
            activity_poll_millis: args.activity_poll_seconds.saturating_mul(1_000),
            ..Default::default()
        },
    );
    // Rules with state machine targets start executions here.
    buses.set_execution_starter(sfn.execution_starter());
    // (Recovery and the bus workers start after the functions runtime below: recovered
    // Lambda tasks and Lambda targets need its invoker.)
    let api = api.with_json_service(std::sync::Arc::new(baton_api::sfn::StepFunctionsApi::new(
        sfn.clone(),
    )));
    // ----- end Step Functions -----

    let listener = TcpListener::bind(SocketAddr::new(args.bind, args.port))
        .await
        .with_context(|| format!("binding {}:{}", args.bind, args.port))?;
    let addr = listener.local_addr()?;

    // ---- Functions (Lambda) ----
    let mut function_settings =
        baton_functions::Settings::new(std::path::absolute(&args.data_dir)?);
    function_settings.endpoint_url = Some(format!("http://{addr}"));
    function_settings.idle_timeout = std::time::Duration::from_secs(args.functions_idle_timeout);
    function_settings.max_environments = args.functions_max_concurrency;
    function_settings.python = args.functions_python.clone();
    function_settings.node = args.functions_node.clone();
    if let Some(ms) = args.functions_async_retry_delay_ms {
        let d = std::time::Duration::from_millis(ms);
        function_settings.async_retry_delays = [d, d];
    }
    function_settings.region = args.region.clone();
    function_settings.account_id = args.account.clone();
    let functions = baton_functions::Functions::start(
        std::sync::Arc::new(db.clone())
            as std::sync::Arc<dyn baton_store::functions::FunctionStore>,
        function_settings,
    )
    .await
    .map_err(|e| anyhow::anyhow!("starting the functions runtime: {e}"))?;
    let api = api.with_routes(baton_api::lambda::routes(functions.clone()));
    // Lambda tasks and Lambda rule targets call functions through the invoker bridge.
    let invoker: std::sync::Arc<dyn baton_runtime::bridge::FunctionInvoker> =
        std::sync::Arc::new(functions.clone());
    sfn.set_function_invoker(invoker.clone());
    buses.set_function_invoker(invoker);
    // ---- end Functions ----

    // ── Background work (every bridge is connected now) ──────────────────────────
    sfn.start()
        .await
        .map_err(|e| anyhow::anyhow!("recovering Step Functions work: {e}"))?;
    // Workers start once every target kind has its performer.
    // The embedded store has one user: leases of a crashed run end at once.
    buses
        .start_workers(true)
        .await
        .map_err(|e| anyhow::anyhow!("starting the event bus workers: {e}"))?;
    let mut deployed = Vec::new();
    for file in &args.deploy {
        let arn = deploy_state_machine(&sfn, file).await?;
        deployed.push((arn, sample_input_for(file)));
    }
    // ── end background work ──────────────────────────────────────────────────────

    // The first line is machine-readable: tests and scripts read the address from it.
    println!("baton listening on http://{addr}");
    println!(
        "  try: aws --endpoint-url http://{addr} --region {} stepfunctions list-state-machines",
        args.region
    );
    for (arn, sample_input) in &deployed {
        println!("  deployed {arn}");
        println!(
            "  start it: aws --endpoint-url http://{addr} --region {} stepfunctions start-execution --state-machine-arn {arn} --input '{sample_input}'",
            args.region
        );
        println!(
            "  then:     aws --endpoint-url http://{addr} --region {} stepfunctions describe-execution --execution-arn <executionArn from start-execution>",
            args.region
        );
    }
    tracing::info!(%addr, data_dir = %args.data_dir.display(), "serving");

    baton_api::serve(listener, api, shutdown_signal())
        .await
        .context("serving HTTP")?;
    functions.shutdown();
    db.close();
    Ok(ExitCode::SUCCESS)
}

/// The input printed in the "start it" hint: `NAME.serve-input.json` or `NAME.input.json`
/// beside `NAME.asl.json` when there is one (compacted to one line), else `{}`. The
/// bundled order has a serve input that finishes at once (its `input.json` takes the
/// one-hour approval Wait, which `baton run` shows on virtual time).
fn sample_input_for(definition: &std::path::Path) -> String {
    let name = definition
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.split('.').next())
        .unwrap_or_default();
    ["serve-input", "input"]
        .iter()
        .find_map(|kind| {
            std::fs::read_to_string(definition.with_file_name(format!("{name}.{kind}.json"))).ok()
        })
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .map_or_else(|| "{}".to_owned(), |v| v.to_string())
}

/// Creates (or updates) a state machine from a definition file; returns its ARN.
async fn deploy_state_machine(
    sfn: &baton_runtime::sfn::StepFunctions,
    file: &std::path::Path,
) -> Result<String> {
    let definition =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.split('.').next())
        .filter(|n| !n.is_empty())
        .with_context(|| format!("no state machine name in {}", file.display()))?
        .to_owned();
    let role_arn = format!("arn:aws:iam::{}:role/baton", sfn.config().account);
    let arn = format!(
        "arn:aws:states:{}:{}:stateMachine:{name}",
        sfn.config().region,
        sfn.config().account
    );
    let create = baton_runtime::sfn::CreateStateMachine {
        name,
        definition: definition.clone(),
        role_arn,
        machine_type: baton_runtime::sfn::MachineType::Standard,
        logging_configuration: None,
        tracing_configuration: None,
        tags: Vec::new(),
    };
    match sfn.create_state_machine(create).await {
        Ok(m) => Ok(m.arn),
        Err(e) if e.code == "StateMachineAlreadyExists" => {
            let update = baton_runtime::sfn::UpdateStateMachine {
                arn: arn.clone(),
                definition: Some(definition),
                ..Default::default()
            };
            sfn.update_state_machine(update)
                .await
                .map_err(|e| anyhow::anyhow!("deploying {}: {e}", file.display()))?;
            Ok(arn)
        }
        Err(e) => bail!("deploying {}: {e}", file.display()),
    }
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
