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

    let api = Api::new();

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
    if let Ok(region) = std::env::var("AWS_REGION").or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
    {
        function_settings.region = region;
    }
    let functions = baton_functions::Functions::start(
        std::sync::Arc::new(db.clone())
            as std::sync::Arc<dyn baton_store::functions::FunctionStore>,
        function_settings,
    )
    .await
    .map_err(|e| anyhow::anyhow!("starting the functions runtime: {e}"))?;
    let api = api.with_routes(baton_api::lambda::routes(functions.clone()));
    // ---- end Functions ----

    // The first line is machine-readable: tests and scripts read the address from it.
    println!("baton listening on http://{addr}");
    println!(
        "  try: aws --endpoint-url http://{addr} --region us-east-1 stepfunctions list-state-machines"
    );
    tracing::info!(%addr, data_dir = %args.data_dir.display(), "serving");

    baton_api::serve(listener, api, shutdown_signal())
        .await
        .context("serving HTTP")?;
    functions.shutdown();
    db.close();
    Ok(ExitCode::SUCCESS)
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
