//! `baton serve`: the durable server on one port, speaking AWS's protocols.

// This module is the binary edge: what it prints is the command's output.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use baton_platform::clock::SystemClock;
use baton_platform::http::Api;
use baton_platform::store::Migration;
use tokio::net::TcpListener;

/// The port `baton serve` listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 4587;

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Where the embedded store keeps its file (`baton.db`).
    #[arg(long, default_value = ".baton")]
    pub data_dir: PathBuf,
    /// `sqlite` (the embedded default, under --data-dir) or a `postgres://…` URL. With
    /// PostgreSQL several `baton serve` processes share one database and its work.
    #[arg(long, default_value = "sqlite")]
    pub store: String,
    /// This node's name in work leases. Nodes sharing a PostgreSQL database need distinct
    /// names; a node restarted under the same name takes its own work back at once.
    /// Default: `local` with SQLite, `HOSTNAME-PID` with PostgreSQL.
    #[arg(long)]
    pub node_id: Option<String>,
    /// How long claimed work stays with this node before another node may take it over
    /// (a dead node's work resumes elsewhere after this). A task call that runs longer
    /// may be made again. Default: 30 with PostgreSQL; with SQLite, 300 for Step
    /// Functions work and 60 for event deliveries. Asynchronous Lambda invocations are
    /// leased for this long (default 30) and renewed while they run.
    #[arg(long, value_name = "SECONDS")]
    pub lease_seconds: Option<u64>,
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
    #[arg(long, default_value = baton_platform::arn::DEFAULT_REGION)]
    pub region: String,
    /// The account id in every ARN.
    #[arg(long, default_value = baton_platform::arn::DEFAULT_ACCOUNT)]
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

/// The backend each runtime stores its data in, and how this node shares it.
struct Stores {
    sfn: std::sync::Arc<dyn baton_stepfunctions::store::SfnStore>,
    events: std::sync::Arc<dyn baton_eventbridge::store::EventsStore>,
    functions: std::sync::Arc<dyn baton_lambda::store::functions::FunctionStore>,
    queues: std::sync::Arc<dyn baton_sqs::store::QueueStore>,
    event_sources: std::sync::Arc<dyn baton_lambda::store::event_sources::EventSourceMappingStore>,
    /// Only this process uses the store (SQLite): leases of a crashed earlier run are
    /// released at start instead of waiting for them to expire.
    single_node: bool,
    node_id: String,
    /// `None`: each runtime's own default.
    lease: Option<std::time::Duration>,
    close: Box<dyn FnOnce()>,
}

/// The default lease with PostgreSQL: short enough that a dead node's work resumes on
/// another within seconds, long enough that a live node's claims do not lapse under load.
const POSTGRES_LEASE_SECONDS: u64 = 30;

/// Every service's SQLite migrations; the platform runs them with its own.
fn sqlite_migrations() -> [&'static [Migration]; 4] {
    [
        baton_stepfunctions::store::MIGRATIONS.sqlite,
        baton_eventbridge::store::MIGRATIONS.sqlite,
        baton_lambda::store::MIGRATIONS.sqlite,
        baton_sqs::store::MIGRATIONS.sqlite,
    ]
}

/// Every service's PostgreSQL migrations.
fn postgres_migrations() -> [&'static [Migration]; 4] {
    [
        baton_stepfunctions::store::MIGRATIONS.postgres,
        baton_eventbridge::store::MIGRATIONS.postgres,
        baton_lambda::store::MIGRATIONS.postgres,
        baton_sqs::store::MIGRATIONS.postgres,
    ]
}

async fn open_stores(args: &ServeArgs) -> Result<Stores> {
    let lease = args.lease_seconds.map(std::time::Duration::from_secs);
    match args.store.as_str() {
        "sqlite" => {
            let path = args.data_dir.join("baton.db");
            let db = baton_platform::store::sqlite::Database::open(&path, &sqlite_migrations())
                .with_context(|| format!("opening {}", path.display()))?;
            let close = db.clone();
            Ok(Stores {
                sfn: std::sync::Arc::new(db.clone()),
                events: std::sync::Arc::new(baton_eventbridge::store::SqliteEventsStore::new(
                    db.clone(),
                )),
                queues: std::sync::Arc::new(db.clone()),
                event_sources: std::sync::Arc::new(db.clone()),
                functions: std::sync::Arc::new(db),
                single_node: true,
                node_id: args.node_id.clone().unwrap_or_else(|| "local".to_owned()),
                lease,
                close: Box::new(move || close.close()),
            })
        }
        url if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            let db = baton_platform::store::postgres::Database::open(url, &postgres_migrations())
                .await
                .map_err(|e| anyhow::anyhow!("opening the PostgreSQL store: {e}"))?;
            let close = db.clone();
            Ok(Stores {
                sfn: std::sync::Arc::new(db.clone()),
                events: std::sync::Arc::new(baton_eventbridge::store::PostgresEventsStore::new(
                    db.clone(),
                )),
                queues: std::sync::Arc::new(db.clone()),
                event_sources: std::sync::Arc::new(db.clone()),
                functions: std::sync::Arc::new(db),
                single_node: false,
                node_id: args.node_id.clone().unwrap_or_else(default_node_id),
                lease: Some(
                    lease.unwrap_or(std::time::Duration::from_secs(POSTGRES_LEASE_SECONDS)),
                ),
                close: Box::new(move || close.close()),
            })
        }
        other => bail!("unknown --store {other:?}: use `sqlite` or a postgres:// URL"),
    }
}

/// `HOSTNAME-PID`: unique among live nodes, readable in the work tables.
fn default_node_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "node".to_owned());
    format!("{host}-{}", std::process::id())
}

async fn serve_async(args: ServeArgs) -> Result<ExitCode> {
    let stores = open_stores(&args).await?;
    tracing::info!(node_id = %stores.node_id, single_node = stores.single_node, "store open");

    let credentials = baton_platform::http::sigv4::Credentials::parse(
        args.credentials.iter().map(String::as_str),
    )
    .map_err(|e| anyhow::anyhow!("--credentials: {e}"))?;
    let api = Api::new().with_credentials(credentials);

    // ── EventBridge (event bus half) ──────────────────────────────────────────────
    let mut bus_config = baton_eventbridge::BusConfig {
        region: args.region.clone(),
        account: args.account.clone(),
        ..Default::default()
    };
    if let Some(lease) = stores.lease {
        bus_config.lease = lease;
    }
    let buses = baton_eventbridge::EventBuses::open(
        bus_config,
        stores.events.clone(),
        std::sync::Arc::new(SystemClock),
    )
    .await
    .map_err(|e| anyhow::anyhow!("loading the event buses: {e}"))?;
    let api = api.with_service(&baton_eventbridge::wire::EventBridgeApi::new(buses.clone()));
    // ── end EventBridge ──────────────────────────────────────────────────────────

    // ----- Step Functions -----
    // Status-change events and `events:putEvents` tasks go to the event buses.
    let sfn_event_sink: Option<std::sync::Arc<dyn baton_platform::bridge::EventSink>> =
        Some(std::sync::Arc::new(buses.clone()));
    let mut sfn_config = baton_stepfunctions::SfnConfig {
        region: args.region.clone(),
        account: args.account.clone(),
        activity_poll_millis: args.activity_poll_seconds.saturating_mul(1_000),
        node_id: stores.node_id.clone(),
        ..Default::default()
    };
    if let Some(lease) = stores.lease {
        sfn_config.lease_millis = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        // Expired leases are found by the scanner: scan often enough that a takeover
        // follows the expiry closely.
        sfn_config.scan_interval_millis = sfn_config.scan_interval_millis.min(
            u64::try_from(lease.as_millis() / 4)
                .unwrap_or(u64::MAX)
                .max(100),
        );
    }
    let sfn = baton_stepfunctions::StepFunctions::new(
        stores.sfn.clone(),
        sfn_event_sink,
        std::sync::Arc::new(SystemClock),
        sfn_config,
    );
    // Rules with state machine targets start executions here.
    buses.set_execution_starter(sfn.execution_starter());
    // (Recovery and the bus workers start after the functions runtime below: recovered
    // Lambda tasks and Lambda targets need its invoker.)
    let api = api.with_service(&baton_stepfunctions::wire::StepFunctionsApi::new(
        sfn.clone(),
    ));
    // ----- end Step Functions -----

    let listener = TcpListener::bind(SocketAddr::new(args.bind, args.port))
        .await
        .with_context(|| format!("binding {}:{}", args.bind, args.port))?;
    let addr = listener.local_addr()?;

    // ── SQS (queues) ──────────────────────────────────────────────────────────────
    // Queue URLs name the address clients reach this server at.
    let queues = baton_sqs::Queues::new(
        stores.queues.clone(),
        baton_sqs::QueuesConfig {
            region: args.region.clone(),
            account: args.account.clone(),
            base_url: format!("http://{addr}"),
        },
        std::sync::Arc::new(SystemClock),
    );
    // SQS rule targets, rule dead-letter queues and `sqs:sendMessage` tasks send here.
    let sender: std::sync::Arc<dyn baton_platform::bridge::MessageSender> =
        std::sync::Arc::new(queues.clone());
    sfn.set_message_sender(sender.clone());
    buses.set_message_sender(sender);
    let api = api.with_service(&baton_sqs::wire::SqsApi::new(queues.clone()));
    // ── end SQS ──────────────────────────────────────────────────────────────────

    // ---- Functions (Lambda) ----
    let mut function_settings = baton_lambda::Settings::new(std::path::absolute(&args.data_dir)?);
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
    function_settings.single_node = stores.single_node;
    function_settings.node_id = stores.node_id.clone();
    if let Some(lease) = stores.lease {
        // Renewed every third of the lease while an invocation runs.
        function_settings.async_lease = lease.max(std::time::Duration::from_secs(1));
    }
    let functions = baton_lambda::Functions::start(stores.functions.clone(), function_settings)
        .await
        .map_err(|e| anyhow::anyhow!("starting the functions runtime: {e}"))?;
    // Lambda tasks and Lambda rule targets call functions through the invoker bridge.
    let invoker: std::sync::Arc<dyn baton_platform::bridge::FunctionInvoker> =
        std::sync::Arc::new(functions.clone());
    sfn.set_function_invoker(invoker.clone());
    buses.set_function_invoker(invoker.clone());
    // ---- end Functions ----

    // ── Event source mappings (SQS → Lambda) ─────────────────────────────────────
    // Every node polls every enabled mapping: a receive gives each message to one
    // consumer, so nodes sharing PostgreSQL split a queue's batches between them.
    let event_sources = baton_lambda::event_sources::EventSourceMappings::new(
        stores.event_sources.clone(),
        std::sync::Arc::new(queues),
        invoker,
        baton_lambda::event_sources::EventSourcesConfig {
            region: args.region.clone(),
            account: args.account.clone(),
            reconcile_interval: std::time::Duration::from_secs(1),
        },
        std::sync::Arc::new(SystemClock),
    );
    let api = api.with_service(
        &baton_lambda::wire::LambdaApi::new(functions.clone())
            .with_event_source_mappings(event_sources.clone()),
    );
    // ── end event source mappings ────────────────────────────────────────────────

    // ── Background work (every bridge is connected now) ──────────────────────────
    sfn.start()
        .await
        .map_err(|e| anyhow::anyhow!("recovering Step Functions work: {e}"))?;
    // Workers start once every target kind has its performer.
    // The embedded store has one user: leases of a crashed run end at once. Nodes that
    // share PostgreSQL wait for a peer's leases to expire.
    buses
        .start_workers(stores.single_node)
        .await
        .map_err(|e| anyhow::anyhow!("starting the event bus workers: {e}"))?;
    event_sources.start();
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

    baton_platform::http::serve(listener, api, shutdown_signal())
        .await
        .context("serving HTTP")?;
    functions.shutdown();
    (stores.close)();
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
    sfn: &baton_stepfunctions::StepFunctions,
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
    let create = baton_stepfunctions::CreateStateMachine {
        name,
        definition: definition.clone(),
        role_arn,
        machine_type: baton_stepfunctions::MachineType::Standard,
        logging_configuration: None,
        tracing_configuration: None,
        tags: Vec::new(),
    };
    match sfn.create_state_machine(create).await {
        Ok(m) => Ok(m.arn),
        Err(e) if e.code == "StateMachineAlreadyExists" => {
            let update = baton_stepfunctions::UpdateStateMachine {
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
