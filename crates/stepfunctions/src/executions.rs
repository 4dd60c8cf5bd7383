//! StartExecution and StopExecution for both kinds of state machine: Standard executions
//! go through the durable engine, Express ones run in memory.

use crate::store::{MachineType, ParentLink};
use serde_json::Value;

use crate::arn::{self, ArnKind};
use crate::engine::{self, Consume, Delivery};
use crate::{MAX_PAYLOAD_BYTES, SfnError, StepFunctions};

/// Checks an execution input: at most 256 KiB and JSON.
pub(crate) fn parse_input(input: Option<&str>) -> Result<(String, Value), SfnError> {
    let text = input.unwrap_or("{}");
    if text.len() > MAX_PAYLOAD_BYTES {
        return Err(SfnError::validation(format!(
            "1 validation error detected: Value at 'input' failed to satisfy constraint: \
             Member must have length less than or equal to {MAX_PAYLOAD_BYTES}"
        )));
    }
    let value: Value = serde_json::from_str(text)
        .map_err(|e| SfnError::invalid_execution_input(&e.to_string()))?;
    Ok((text.to_owned(), value))
}

pub(crate) fn new_execution_name() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl StepFunctions {
    /// StartExecution: returns the execution ARN and its start time. A Standard execution
    /// is durable when this returns (its first step is committed); an Express one runs
    /// in the background.
    pub async fn start_execution(
        &self,
        state_machine_arn: &str,
        name: Option<&str>,
        input: Option<&str>,
    ) -> Result<(String, i64), SfnError> {
        self.start_execution_with(state_machine_arn, name, input, None)
            .await
    }

    pub(crate) async fn start_execution_with(
        &self,
        state_machine_arn: &str,
        name: Option<&str>,
        input: Option<&str>,
        parent: Option<ParentLink>,
    ) -> Result<(String, i64), SfnError> {
        arn::parse(state_machine_arn, &[ArnKind::StateMachine])?;
        let name = match name {
            Some(n) => {
                arn::check_name(n)?;
                n.to_owned()
            }
            None => new_execution_name(),
        };
        let (text, value) = parse_input(input)?;
        let machine = self.machine_for_start(state_machine_arn).await?;
        match machine.machine_type {
            MachineType::Standard => {
                engine::start_standard(&self.inner, &machine, &name, &text, value, parent).await
            }
            MachineType::Express => self.start_express_async(&machine, &name, value).await,
        }
    }

    /// RedriveExecution: returns when the redrive happened.
    pub async fn redrive_execution(&self, execution_arn: &str) -> Result<i64, SfnError> {
        arn::parse(execution_arn, &[ArnKind::Execution])?;
        engine::redrive(&self.inner, execution_arn).await
    }

    /// StopExecution: the execution ends ABORTED with `error` and `cause`. Returns when it
    /// stopped (for an execution already finished, when that happened).
    pub async fn stop_execution(
        &self,
        execution_arn: &str,
        error: Option<String>,
        cause: Option<String>,
    ) -> Result<i64, SfnError> {
        let parsed = arn::parse(
            execution_arn,
            &[ArnKind::Execution, ArnKind::ExpressExecution],
        )?;
        if parsed.kind == ArnKind::ExpressExecution {
            return Err(SfnError::invalid_arn(
                execution_arn,
                "Resource type not valid in this context: express",
            ));
        }
        let delivery = engine::deliver(&self.inner, execution_arn, Consume::default(), |_| {
            Ok(vec![baton_exec::Input::Stop {
                error: error.clone(),
                cause: cause.clone(),
            }])
        })
        .await?;
        match delivery {
            Delivery::Applied { stop_millis, .. } => Ok(stop_millis.unwrap_or_else(|| self.now())),
            Delivery::Finished(r) => Ok(r.stop_millis.unwrap_or_else(|| self.now())),
            Delivery::Missing => Err(SfnError::execution_does_not_exist(execution_arn)),
        }
    }
}
