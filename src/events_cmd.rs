//! `baton test-event-pattern` and `baton schedule …`.
//!
//! Data goes to stdout, AWS-shaped errors (`Name: message`) to stderr with
//! exit code 1.

use std::io::Write;
use std::process::ExitCode;

use baton_events::{Matcher, Pattern, Schedule, validate_test_event};
use chrono::{DateTime, SecondsFormat, Utc};

#[derive(clap::Args)]
pub struct TestEventPatternArgs {
    /// The event pattern (JSON text, or `file://PATH`).
    #[arg(long)]
    pub event_pattern: String,
    /// The event (JSON text, or `file://PATH`).
    #[arg(long)]
    pub event: String,
}

#[derive(clap::Subcommand)]
pub enum ScheduleCommand {
    /// Prints the next fire times of a schedule expression, one per line.
    Next {
        /// `rate(…)`, `cron(…)` or `at(…)`.
        expression: String,
        #[arg(long, default_value_t = 5)]
        count: usize,
        /// IANA time zone the expression is evaluated in (default UTC).
        #[arg(long)]
        tz: Option<String>,
        /// Compute from this instant (RFC 3339) instead of now.
        #[arg(long)]
        after: Option<String>,
    },
}

fn fail(name: &str, message: &str) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "{name}: {message}");
    ExitCode::FAILURE
}

/// `file://PATH` reads a file, as the aws CLI does; anything else is literal.
fn argument_text(arg: &str) -> Result<String, String> {
    match arg.strip_prefix("file://") {
        Some(path) => std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}")),
        None => Ok(arg.to_owned()),
    }
}

pub fn test_event_pattern(args: TestEventPatternArgs) -> ExitCode {
    let (pattern_text, event_text) = match (
        argument_text(&args.event_pattern),
        argument_text(&args.event),
    ) {
        (Ok(p), Ok(e)) => (p, e),
        (Err(e), _) | (_, Err(e)) => return fail("Error", &e),
    };
    let pattern = match Pattern::parse(&pattern_text) {
        Ok(p) => p,
        Err(e) => return fail(e.name(), &e.message()),
    };
    if let Err(e) = validate_test_event(&event_text) {
        return fail(e.name(), e.message());
    }
    let mut matcher = Matcher::new();
    matcher.add_rule((), &pattern);
    let result = match matcher.matches(&event_text) {
        Ok(ids) => !ids.is_empty(),
        Err(_) => return fail("ValidationException", "Parameter Event is not valid."),
    };
    let _ = writeln!(std::io::stdout(), "{{\"Result\": {result}}}");
    ExitCode::SUCCESS
}

pub fn schedule(cmd: ScheduleCommand) -> ExitCode {
    let ScheduleCommand::Next {
        expression,
        count,
        tz,
        after,
    } = cmd;
    let zone: baton_events::schedule::Tz = match tz.as_deref().unwrap_or("UTC").parse() {
        Ok(z) => z,
        Err(_) => {
            return fail(
                "ValidationException",
                &format!("Unknown time zone {}", tz.unwrap_or_default()),
            );
        }
    };
    let start: DateTime<Utc> = match after {
        None => Utc::now(),
        Some(text) => match DateTime::parse_from_rfc3339(&text) {
            Ok(t) => t.with_timezone(&Utc),
            Err(_) => {
                return fail(
                    "ValidationException",
                    &format!("Not an RFC 3339 instant: {text}"),
                );
            }
        },
    };
    let schedule = match Schedule::parse(&expression) {
        Ok(s) => s,
        Err(e) => return fail(e.name(), &e.message),
    };
    let mut out = std::io::stdout().lock();
    for t in schedule.next_times(start, zone, count) {
        let _ = writeln!(
            out,
            "{}",
            t.with_timezone(&zone)
                .to_rfc3339_opts(SecondsFormat::Secs, true)
        );
    }
    ExitCode::SUCCESS
}
