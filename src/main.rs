//! The `baton` binary: data to stdout, messages to stderr, exit codes scripts can trust.

mod events_cmd;
mod run_cmd;
mod serve_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "baton",
    version,
    about = "Runs Step Functions state machines and EventBridge-style event buses"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs a state machine definition in-process and prints its result.
    Run(run_cmd::RunArgs),
    /// Validates a state machine definition and prints every problem found.
    Validate(run_cmd::ValidateArgs),
    /// Runs the durable server: AWS's Step Functions and EventBridge APIs on one port.
    Serve(serve_cmd::ServeArgs),
    /// Evaluates an EventBridge event pattern against an event (like `aws events test-event-pattern`).
    TestEventPattern(events_cmd::TestEventPatternArgs),
    /// Schedule expressions (`rate(…)`, `cron(…)`, `at(…)`).
    #[command(subcommand)]
    Schedule(events_cmd::ScheduleCommand),
}

// The binary edge: data to stdout, messages to stderr.
#[allow(clippy::print_stderr)]
fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run_cmd::run(args),
        Command::Validate(args) => run_cmd::validate(args),
        Command::Serve(args) => serve_cmd::serve(args),
        Command::TestEventPattern(args) => Ok(events_cmd::test_event_pattern(args)),
        Command::Schedule(cmd) => Ok(events_cmd::schedule(cmd)),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
