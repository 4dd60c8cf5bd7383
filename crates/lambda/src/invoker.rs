//! The bridge to Baton's other halves: Step Functions tasks and EventBridge targets call
//! functions through `FunctionInvoker`.

use async_trait::async_trait;
use baton_platform::bridge::FunctionResult;
use baton_platform::bridge::{BridgeError, FunctionInvoker, InvokeOptions};
use bytes::Bytes;

use crate::error::FunctionsError;
use crate::service::{Functions, InvokeOutcome, InvokeRequest};

fn bridge_error(e: FunctionsError) -> BridgeError {
    BridgeError {
        code: e.code().to_owned(),
        message: e.to_string(),
    }
}

fn outcome_result(outcome: InvokeOutcome) -> FunctionResult {
    match outcome {
        InvokeOutcome::Returned(b) => FunctionResult::Returned(b.to_vec()),
        InvokeOutcome::Raised {
            error_type,
            payload,
        } => FunctionResult::Raised {
            error_type,
            payload: payload.to_vec(),
        },
    }
}

#[async_trait]
impl FunctionInvoker for Functions {
    async fn invoke(
        &self,
        function: &str,
        payload: Vec<u8>,
        request_id: &str,
    ) -> Result<FunctionResult, BridgeError> {
        let out = Functions::invoke(
            self,
            InvokeRequest {
                function: function.to_owned(),
                qualifier: None,
                payload: Bytes::from(payload),
                log_tail: false,
                client_context: None,
                request_id: Some(request_id.to_owned()),
            },
        )
        .await
        .map_err(bridge_error)?;
        Ok(outcome_result(out.outcome))
    }

    async fn invoke_with(
        &self,
        function: &str,
        payload: Vec<u8>,
        request_id: &str,
        options: InvokeOptions,
    ) -> Result<(FunctionResult, Option<String>), BridgeError> {
        let out = Functions::invoke(
            self,
            InvokeRequest {
                function: function.to_owned(),
                qualifier: None,
                payload: Bytes::from(payload),
                log_tail: options.log_tail,
                client_context: options.client_context,
                request_id: Some(request_id.to_owned()),
            },
        )
        .await
        .map_err(bridge_error)?;
        Ok((outcome_result(out.outcome), out.log_tail))
    }

    async fn invoke_async(&self, function: &str, payload: Vec<u8>) -> Result<String, BridgeError> {
        self.invoke_event(function, None, payload)
            .await
            .map_err(bridge_error)
    }
}
