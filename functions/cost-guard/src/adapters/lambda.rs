//! Lambda: pause by setting reserved concurrency to 0; the previous value is kept in a tag.

use aws_sdk_lambda::error::DisplayErrorContext;
use aws_sdk_lambda::Client;

use crate::ports::{ActionError, ActionTarget, PauseOutcome, Previous, RestoreOutcome};
use crate::resources::Resource;

/// Tag holding the reserved concurrency before the guard set it to 0 (`none` when there was
/// none reserved).
pub const PREVIOUS_CONCURRENCY_TAG: &str = "cost-guard:previous-reserved-concurrency";
const UNRESERVED: &str = "none";

#[derive(Clone)]
pub struct LambdaTarget {
    client: Client,
}

impl LambdaTarget {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// The previous value recorded on the function, if the guard paused it and did not restore.
    async fn recorded_on_function(
        &self,
        resource: &Resource,
        action: &str,
    ) -> Result<Option<Option<i32>>, ActionError> {
        let tags = self
            .client
            .list_tags()
            .resource(&resource.arn)
            .send()
            .await
            .map_err(|e| failed(resource, action, DisplayErrorContext(e)))?;
        let Some(value) = tags.tags().and_then(|t| t.get(PREVIOUS_CONCURRENCY_TAG)) else {
            return Ok(None);
        };
        if value == UNRESERVED {
            return Ok(Some(None));
        }
        value.parse::<i32>().map(|n| Some(Some(n))).map_err(|_| {
            failed(
                resource,
                action,
                format!("tag {PREVIOUS_CONCURRENCY_TAG}={value:?} is not a number"),
            )
        })
    }
}

fn failed(resource: &Resource, action: &str, reason: impl std::fmt::Display) -> ActionError {
    ActionError {
        arn: resource.arn.clone(),
        action: action.to_string(),
        reason: reason.to_string(),
    }
}

impl ActionTarget for LambdaTarget {
    async fn pause(&self, resource: &Resource) -> Result<PauseOutcome, ActionError> {
        let action = resource.kind.pause_action();
        let previous = match self.recorded_on_function(resource, action).await? {
            Some(previous) => previous,
            None => {
                let previous = self
                    .client
                    .get_function_concurrency()
                    .function_name(&resource.arn)
                    .send()
                    .await
                    .map_err(|e| failed(resource, action, DisplayErrorContext(e)))?
                    .reserved_concurrent_executions();
                let tag = previous.map_or(UNRESERVED.to_string(), |n| n.to_string());
                self.client
                    .tag_resource()
                    .resource(&resource.arn)
                    .tags(PREVIOUS_CONCURRENCY_TAG, tag)
                    .send()
                    .await
                    .map_err(|e| failed(resource, action, DisplayErrorContext(e)))?;
                previous
            }
        };
        self.client
            .put_function_concurrency()
            .function_name(&resource.arn)
            .reserved_concurrent_executions(0)
            .send()
            .await
            .map_err(|e| failed(resource, action, DisplayErrorContext(e)))?;
        Ok(PauseOutcome::Paused {
            previous: Previous::ReservedConcurrency { value: previous },
        })
    }

    async fn restore(
        &self,
        resource: &Resource,
        recorded: Option<&Previous>,
    ) -> Result<RestoreOutcome, ActionError> {
        let action = "restore";
        let previous = match self.recorded_on_function(resource, action).await? {
            Some(previous) => previous,
            None => match recorded {
                Some(Previous::ReservedConcurrency { value }) => *value,
                _ => {
                    return Ok(RestoreOutcome::NothingToRestore {
                        reason: format!("no {PREVIOUS_CONCURRENCY_TAG} tag and no recorded value"),
                    })
                }
            },
        };
        match previous {
            None => {
                self.client
                    .delete_function_concurrency()
                    .function_name(&resource.arn)
                    .send()
                    .await
                    .map_err(|e| failed(resource, action, DisplayErrorContext(e)))?;
            }
            Some(n) => {
                self.client
                    .put_function_concurrency()
                    .function_name(&resource.arn)
                    .reserved_concurrent_executions(n)
                    .send()
                    .await
                    .map_err(|e| failed(resource, action, DisplayErrorContext(e)))?;
            }
        }
        self.client
            .untag_resource()
            .resource(&resource.arn)
            .tag_keys(PREVIOUS_CONCURRENCY_TAG)
            .send()
            .await
            .map_err(|e| failed(resource, action, DisplayErrorContext(e)))?;
        Ok(RestoreOutcome::Restored {
            to: Previous::ReservedConcurrency { value: previous },
        })
    }
}
