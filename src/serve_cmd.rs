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

    // ── EventBridge (event bus half) ──────────────────────────────────────────────
    // Region and account: the Step Functions half adds `--region`/`--account`; until
    // the lead wires them here, the bus uses the same defaults.
    let buses = baton_runtime::bus::EventBuses::open(
        baton_runtime::bus::BusConfig::default(),
        std::sync::Arc::new(baton_store_sqlite::SqliteEventsStore::new(db.clone())),
        std::sync::Arc::new(baton_runtime::bus::SystemClock),
    )
    .await
    .map_err(|e| anyhow::anyhow!("loading the event buses: {e}"))?;
    // The embedded store has one user: leases of a crashed run end at once.
    buses
        .start_workers(true)
        .await
        .map_err(|e| anyhow::anyhow!("starting the event bus workers: {e}"))?;
    let api = api
        .with_json_service(std::sync::Arc::new(baton_api::events::EventsService::new(
            buses.clone(),
        )))
        .with_routes(baton_api::events::dead_letters::routes(buses.clone()));
    // ── end EventBridge ──────────────────────────────────────────────────────────

    let listener = TcpListener::bind(SocketAddr::new(args.bind, args.port))
        .await
        .with_context(|| format!("binding {}:{}", args.bind, args.port))?;
    let addr = listener.local_addr()?;
    // The first line is machine-readable: tests and scripts read the address from it.
    println!("baton listening on http://{addr}");
    println!(
        "  try: aws --endpoint-url http://{addr} --region us-east-1 stepfunctions list-state-machines"
    );
    tracing::info!(%addr, data_dir = %args.data_dir.display(), "serving");

    baton_api::serve(listener, api, shutdown_signal())
        .await
        .context("serving HTTP")?;
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
