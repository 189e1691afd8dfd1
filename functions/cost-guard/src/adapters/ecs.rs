//! ECS: a service's desired task count and its tags (the pause flow is [`crate::tagged`]:
//! desired count 0, previous count in a tag).

use aws_sdk_ecs::types::Tag;
use aws_sdk_ecs::Client;

use super::call_failed;
use crate::ports::{CallFailed, Previous, TaggedSetting};
use crate::resources::Resource;

#[derive(Clone)]
pub struct EcsTarget {
    client: Client,
}

impl EcsTarget {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

/// The cluster of the service (`default` for the old ARN format without one).
fn cluster(resource: &Resource) -> &str {
    resource.cluster.as_deref().unwrap_or("default")
}

impl TaggedSetting for EcsTarget {
    async fn read_tag(&self, resource: &Resource, key: &str) -> Result<Option<String>, CallFailed> {
        let tags = self
            .client
            .list_tags_for_resource()
            .resource_arn(&resource.arn)
            .send()
            .await
            .map_err(call_failed("ListTagsForResource"))?;
        Ok(tags
            .tags()
            .iter()
            .find(|t| t.key() == Some(key))
            .map(|t| t.value().unwrap_or_default().to_string()))
    }

    async fn write_tag(
        &self,
        resource: &Resource,
        key: &str,
        value: &str,
    ) -> Result<(), CallFailed> {
        self.client
            .tag_resource()
            .resource_arn(&resource.arn)
            .tags(Tag::builder().key(key).value(value).build())
            .send()
            .await
            .map_err(call_failed("TagResource"))?;
        Ok(())
    }

    async fn remove_tag(&self, resource: &Resource, key: &str) -> Result<(), CallFailed> {
        self.client
            .untag_resource()
            .resource_arn(&resource.arn)
            .tag_keys(key)
            .send()
            .await
            .map_err(call_failed("UntagResource"))?;
        Ok(())
    }

    async fn current(&self, resource: &Resource) -> Result<Previous, CallFailed> {
        let described = self
            .client
            .describe_services()
            .cluster(cluster(resource))
            .services(&resource.arn)
            .send()
            .await
            .map_err(call_failed("DescribeServices"))?;
        let service = described
            .services()
            .first()
            .ok_or_else(|| CallFailed("service not found".into()))?;
        Ok(Previous::DesiredCount {
            value: service.desired_count(),
        })
    }

    async fn set(&self, resource: &Resource, value: &Previous) -> Result<(), CallFailed> {
        let Previous::DesiredCount { value } = value else {
            return Err(CallFailed(format!("{value:?} is not a desired count")));
        };
        self.client
            .update_service()
            .cluster(cluster(resource))
            .service(&resource.arn)
            .desired_count(*value)
            .send()
            .await
            .map_err(call_failed("UpdateService"))?;
        Ok(())
    }
}
