//! App Runner: pause and resume a service (App Runner keeps its configuration while paused).

use aws_sdk_apprunner::types::ServiceStatus;
use aws_sdk_apprunner::Client;

use super::call_failed;
use crate::ports::{ActionError, ActionTarget, PauseOutcome, Previous, RestoreOutcome};
use crate::resources::Resource;

#[derive(Clone)]
pub struct AppRunnerTarget {
    client: Client,
}

impl AppRunnerTarget {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    async fn status(
        &self,
        resource: &Resource,
        action: &str,
    ) -> Result<ServiceStatus, ActionError> {
        let described = self
            .client
            .describe_service()
            .service_arn(&resource.arn)
            .send()
            .await
            .map_err(|e| ActionError::new(resource, action, call_failed("DescribeService")(e)))?;
        described
            .service()
            .map(|s| s.status().clone())
            .ok_or_else(|| {
                ActionError::new(resource, action, "DescribeService returned no service")
            })
    }
}

impl ActionTarget for AppRunnerTarget {
    async fn pause(&self, resource: &Resource) -> Result<PauseOutcome, ActionError> {
        let action = resource.kind.pause_action();
        let status = self.status(resource, action).await?;
        if status != ServiceStatus::Running {
            return Ok(PauseOutcome::NotRunning {
                status: status.as_str().to_string(),
            });
        }
        self.client
            .pause_service()
            .service_arn(&resource.arn)
            .send()
            .await
            .map_err(|e| ActionError::new(resource, action, call_failed("PauseService")(e)))?;
        Ok(PauseOutcome::Paused {
            previous: Previous::Running,
        })
    }

    async fn restore(
        &self,
        resource: &Resource,
        _recorded: Option<&Previous>,
    ) -> Result<RestoreOutcome, ActionError> {
        let action = "restore";
        let status = self.status(resource, action).await?;
        if status != ServiceStatus::Paused {
            return Ok(RestoreOutcome::NothingToRestore {
                reason: format!("service is {}, not paused", status.as_str()),
            });
        }
        self.client
            .resume_service()
            .service_arn(&resource.arn)
            .send()
            .await
            .map_err(|e| ActionError::new(resource, action, call_failed("ResumeService")(e)))?;
        Ok(RestoreOutcome::Restored {
            to: Previous::Running,
        })
    }
}
