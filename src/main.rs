//! The `baton` binary: data to stdout, messages to stderr, exit codes scripts can trust.

mod events_cmd;

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
    /// Evaluates an EventBridge event pattern against an event (like `aws events test-event-pattern`).
    TestEventPattern(events_cmd::TestEventPatternArgs),
    /// Schedule expressions (`rate(…)`, `cron(…)`, `at(…)`).
    #[command(subcommand)]
    Schedule(events_cmd::ScheduleCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::TestEventPattern(args) => events_cmd::test_event_pattern(args),
        Command::Schedule(cmd) => events_cmd::schedule(cmd),
    }
}
