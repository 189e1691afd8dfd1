//! ECS: pause by scaling a service to 0 desired tasks; the previous count is kept in a tag.

use aws_sdk_ecs::error::DisplayErrorContext;
use aws_sdk_ecs::types::Tag;
use aws_sdk_ecs::Client;

use crate::ports::{ActionError, ActionTarget, PauseOutcome, Previous, RestoreOutcome};
use crate::resources::Resource;

/// Tag holding the desired count before the guard scaled the service to 0.
pub const PREVIOUS_DESIRED_COUNT_TAG: &str = "cost-guard:previous-desired-count";

#[derive(Clone)]
pub struct EcsTarget {
    client: Client,
}

fn failed(resource: &Resource, action: &str, reason: impl std::fmt::Display) -> ActionError {
    ActionError {
        arn: resource.arn.clone(),
        action: action.to_string(),
        reason: reason.to_string(),
    }
}

impl EcsTarget {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    fn cluster(resource: &Resource) -> &str {
        resource.cluster.as_deref().unwrap_or("default")
    }

    async fn recorded_on_service(
        &self,
        resource: &Resource,
        action: &str,
    ) -> Result<Option<i32>, ActionError> {
        let tags = self
            .client
            .list_tags_for_resource()
            .resource_arn(&resource.arn)
            .send()
            .await
            .map_err(|e| failed(resource, action, DisplayErrorContext(e)))?;
        let Some(tag) = tags
            .tags()
            .iter()
            .find(|t| t.key() == Some(PREVIOUS_DESIRED_COUNT_TAG))
        else {
            return Ok(None);
        };
        let value = tag.value().unwrap_or_default();
        value.parse::<i32>().map(Some).map_err(|_| {
            failed(
                resource,
                action,
                format!("tag {PREVIOUS_DESIRED_COUNT_TAG}={value:?} is not a number"),
            )
        })
    }

    async fn set_desired_count(
        &self,
        resource: &Resource,
        action: &str,
        count: i32,
    ) -> Result<(), ActionError> {
        self.client
            .update_service()
            .cluster(Self::cluster(resource))
            .service(&resource.arn)
            .desired_count(count)
            .send()
            .await
            .map_err(|e| failed(resource, action, DisplayErrorContext(e)))?;
        Ok(())
    }
}

impl ActionTarget for EcsTarget {
    async fn pause(&self, resource: &Resource) -> Result<PauseOutcome, ActionError> {
        let action = resource.kind.pause_action();
        let previous = match self.recorded_on_service(resource, action).await? {
            Some(previous) => previous,
            None => {
                let described = self
                    .client
                    .describe_services()
                    .cluster(Self::cluster(resource))
                    .services(&resource.arn)
                    .send()
                    .await
                    .map_err(|e| failed(resource, action, DisplayErrorContext(e)))?;
                let Some(service) = described.services().first() else {
                    return Err(failed(resource, action, "service not found"));
                };
                let previous = service.desired_count();
                let tag = Tag::builder()
                    .key(PREVIOUS_DESIRED_COUNT_TAG)
                    .value(previous.to_string())
                    .build();
                self.client
                    .tag_resource()
                    .resource_arn(&resource.arn)
                    .tags(tag)
                    .send()
                    .await
                    .map_err(|e| failed(resource, action, DisplayErrorContext(e)))?;
                previous
            }
        };
        self.set_desired_count(resource, action, 0).await?;
        Ok(PauseOutcome::Paused {
            previous: Previous::DesiredCount { value: previous },
        })
    }

    async fn restore(
        &self,
        resource: &Resource,
        recorded: Option<&Previous>,
    ) -> Result<RestoreOutcome, ActionError> {
        let action = "restore";
        let previous = match self.recorded_on_service(resource, action).await? {
            Some(previous) => previous,
            None => match recorded {
                Some(Previous::DesiredCount { value }) => *value,
                _ => {
                    return Ok(RestoreOutcome::NothingToRestore {
                        reason: format!(
                            "no {PREVIOUS_DESIRED_COUNT_TAG} tag and no recorded value"
                        ),
                    })
                }
            },
        };
        self.set_desired_count(resource, action, previous).await?;
        self.client
            .untag_resource()
            .resource_arn(&resource.arn)
            .tag_keys(PREVIOUS_DESIRED_COUNT_TAG)
            .send()
            .await
            .map_err(|e| failed(resource, action, DisplayErrorContext(e)))?;
        Ok(RestoreOutcome::Restored {
            to: Previous::DesiredCount { value: previous },
        })
    }
}
