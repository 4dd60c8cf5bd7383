//! `baton run` and `baton validate`: a state machine definition run or checked in-process.

// This module is the binary edge: its output is the command's output.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use baton_asl::{ParseOptions, parse_definition};
use baton_exec::{ExecutionIdentity, Failure, Outcome, TaskRequest};
use baton_stepfunctions::local::{Clock, RunOptions, TaskAnswer, run_execution};
use baton_stepfunctions::mock::MockTestCase;
use serde_json::{Map, Value, json};

#[derive(clap::Args)]
pub struct ValidateArgs {
    /// The ASL definition file.
    pub file: PathBuf,
    /// Validate for an EXPRESS state machine (no activities, `.sync` or `.waitForTaskToken`).
    #[arg(long)]
    pub express: bool,
}

#[derive(clap::Args)]
pub struct RunArgs {
    /// The ASL definition file.
    pub file: PathBuf,
    /// Execution input: JSON text, or `@path` to read it from a file.
    #[arg(long, default_value = "{}")]
    pub input: String,
    /// Print the execution history too.
    #[arg(long)]
    pub history: bool,
    /// Answer Task states from a Step Functions Local mock-config file.
    #[arg(long, requires = "test_case")]
    pub mock_config: Option<PathBuf>,
    /// The test case in the mock config.
    #[arg(long, requires = "mock_config")]
    pub test_case: Option<String>,
    /// The state machine in the mock config (default: wherever the test case is defined).
    #[arg(long)]
    pub state_machine: Option<String>,
    /// Sleep through Waits and retries instead of skipping ahead on virtual time.
    #[arg(long)]
    pub real_time: bool,
    /// Run as an EXPRESS state machine (no history is kept).
    #[arg(long)]
    pub express: bool,
    /// Seed for random draws (`States.UUID`, `$random`, retry jitter).
    #[arg(long, default_value_t = 0x5eed)]
    pub seed: u64,
}

pub fn validate(args: ValidateArgs) -> Result<ExitCode> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?;
    let options = ParseOptions {
        express: args.express,
    };
    match parse_definition(&text, options) {
        Ok(_) => {
            println!("valid");
            Ok(ExitCode::SUCCESS)
        }
        Err(diagnostics) => {
            for d in diagnostics.iter() {
                match d.state_name() {
                    Some(state) => println!("{d} (state '{state}')"),
                    None => println!("{d}"),
                }
            }
            Ok(ExitCode::FAILURE)
        }
    }
}

pub fn run(args: RunArgs) -> Result<ExitCode> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?;
    let machine = match parse_definition(
        &text,
        ParseOptions {
            express: args.express,
        },
    ) {
        Ok(m) => m,
        Err(diagnostics) => {
            eprintln!(
                "InvalidDefinition: {}",
                diagnostics.invalid_definition_message()
            );
            return Ok(ExitCode::FAILURE);
        }
    };
    let input_text = match args.input.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?,
        None => args.input.clone(),
    };
    let input: Value = serde_json::from_str(&input_text)
        .with_context(|| "the execution input is not valid JSON")?;

    let mut mock = match (&args.mock_config, &args.test_case) {
        (Some(path), Some(case)) => {
            let config = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            Some(MockTestCase::load(
                &config,
                args.state_machine.as_deref(),
                case,
            )?)
        }
        _ => None,
    };
    let mut unmocked = |request: &TaskRequest| {
        TaskAnswer::Fail(Failure::new(
            "Baton.NoTaskHandler",
            format!(
                "State '{}' calls {} and `baton run` has nothing to answer it; pass --mock-config and --test-case",
                request.state_name, request.resource
            ),
        ))
    };
    let handler: &mut dyn baton_stepfunctions::local::TaskHandler = match mock.as_mut() {
        Some(m) => m,
        None => &mut unmocked,
    };

    let name = args
        .file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("machine")
        .trim_end_matches(".asl")
        .to_owned();
    let (account, region) = ("123456789012", "us-east-1");
    let kind = if args.express { "express" } else { "execution" };
    let identity = ExecutionIdentity {
        execution_arn: format!("arn:aws:states:{region}:{account}:{kind}:{name}:local"),
        execution_name: "local".into(),
        state_machine_arn: format!("arn:aws:states:{region}:{account}:stateMachine:{name}"),
        state_machine_name: name,
        role_arn: format!("arn:aws:iam::{account}:role/baton-local"),
        region: region.into(),
        account: account.into(),
        redrive_count: 0,
        started_sync: false,
    };
    let options = RunOptions {
        clock: if args.real_time {
            Clock::RealTime
        } else {
            Clock::Virtual
        },
        start_millis: now_millis(),
        seed: args.seed,
        record_history: !args.express,
        ..RunOptions::default()
    };
    let result = run_execution(&machine, identity, input, handler, &options);

    let mut out = Map::new();
    out.insert(
        "status".into(),
        Value::String(result.execution.status.as_str().to_owned()),
    );
    match &result.execution.outcome {
        Some(Outcome::Succeeded { output }) => {
            out.insert("output".into(), (**output).clone());
        }
        Some(Outcome::Failed(f)) => {
            if let Some(e) = &f.error {
                out.insert("error".into(), Value::String(e.clone()));
            }
            if let Some(c) = &f.cause {
                out.insert("cause".into(), Value::String(c.clone()));
            }
        }
        None => {}
    }
    if args.history {
        let events: Vec<Value> = result
            .history
            .iter()
            .map(|e| {
                let mut v = e.to_aws_json();
                if let Some(m) = v.as_object_mut() {
                    m.insert(
                        "timestamp".into(),
                        json!(baton_exec::context::format_time(e.timestamp_millis)),
                    );
                }
                v
            })
            .collect();
        out.insert("history".into(), Value::Array(events));
    }
    println!("{}", Value::Object(out));
    Ok(
        if result.execution.status == baton_exec::ExecutionStatus::Succeeded {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        },
    )
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
