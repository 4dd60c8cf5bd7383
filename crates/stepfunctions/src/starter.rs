//! The bridge through which event-bus rules start executions (state machine targets).

use std::sync::Arc;

use async_trait::async_trait;

use crate::{Inner, StepFunctions};
use baton_platform::bridge::{BridgeError, ExecutionStarter};

pub(crate) struct Starter {
    pub inner: Arc<Inner>,
}

#[async_trait]
impl ExecutionStarter for Starter {
    async fn start_execution(
        &self,
        state_machine_arn: &str,
        input: &str,
        name: Option<&str>,
    ) -> Result<String, BridgeError> {
        let sfn = StepFunctions {
            inner: self.inner.clone(),
        };
        sfn.start_execution(state_machine_arn, name, Some(input))
            .await
            .map(|(arn, _)| arn)
            .map_err(|e| BridgeError {
                code: e.code.to_owned(),
                message: e.message,
            })
    }
}
