//! `baton test-event-pattern` and `baton schedule …`.
//!
//! STUB: the event-engine work fills these in.

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct TestEventPatternArgs {
    /// The event pattern (JSON text).
    #[arg(long)]
    pub event_pattern: String,
    /// The event (JSON text).
    #[arg(long)]
    pub event: String,
}

#[derive(clap::Subcommand)]
pub enum ScheduleCommand {
    /// Prints the next fire times of a schedule expression.
    Next {
        expression: String,
        #[arg(long, default_value_t = 5)]
        count: usize,
        /// IANA time zone the expression is evaluated in (default UTC).
        #[arg(long)]
        tz: Option<String>,
    },
}

pub fn test_event_pattern(args: TestEventPatternArgs) -> ExitCode {
    let _ = args;
    ExitCode::FAILURE
}

pub fn schedule(cmd: ScheduleCommand) -> ExitCode {
    let _ = cmd;
    ExitCode::FAILURE
}
