//! Lambda: a function's reserved concurrency and its tags (the pause flow is
//! [`crate::tagged`]: reserved concurrency 0, previous value in a tag).

use aws_sdk_lambda::Client;

use super::call_failed;
use crate::ports::{CallFailed, Previous, TaggedSetting};
use crate::resources::Resource;

#[derive(Clone)]
pub struct LambdaTarget {
    client: Client,
}

impl LambdaTarget {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

impl TaggedSetting for LambdaTarget {
    async fn read_tag(&self, resource: &Resource, key: &str) -> Result<Option<String>, CallFailed> {
        let tags = self
            .client
            .list_tags()
            .resource(&resource.arn)
            .send()
            .await
            .map_err(call_failed("ListTags"))?;
        Ok(tags.tags().and_then(|t| t.get(key)).cloned())
    }

    async fn write_tag(
        &self,
        resource: &Resource,
        key: &str,
        value: &str,
    ) -> Result<(), CallFailed> {
        self.client
            .tag_resource()
            .resource(&resource.arn)
            .tags(key, value)
            .send()
            .await
            .map_err(call_failed("TagResource"))?;
        Ok(())
    }

    async fn remove_tag(&self, resource: &Resource, key: &str) -> Result<(), CallFailed> {
        self.client
            .untag_resource()
            .resource(&resource.arn)
            .tag_keys(key)
            .send()
            .await
            .map_err(call_failed("UntagResource"))?;
        Ok(())
    }

    async fn current(&self, resource: &Resource) -> Result<Previous, CallFailed> {
        let value = self
            .client
            .get_function_concurrency()
            .function_name(&resource.arn)
            .send()
            .await
            .map_err(call_failed("GetFunctionConcurrency"))?
            .reserved_concurrent_executions();
        Ok(Previous::ReservedConcurrency { value })
    }

    async fn set(&self, resource: &Resource, value: &Previous) -> Result<(), CallFailed> {
        match value {
            Previous::ReservedConcurrency { value: None } => {
                self.client
                    .delete_function_concurrency()
                    .function_name(&resource.arn)
                    .send()
                    .await
                    .map_err(call_failed("DeleteFunctionConcurrency"))?;
            }
            Previous::ReservedConcurrency { value: Some(n) } => {
                self.client
                    .put_function_concurrency()
                    .function_name(&resource.arn)
                    .reserved_concurrent_executions(*n)
                    .send()
                    .await
                    .map_err(call_failed("PutFunctionConcurrency"))?;
            }
            other => {
                return Err(CallFailed(format!(
                    "{other:?} is not a reserved concurrency"
                )))
            }
        }
        Ok(())
    }
}
