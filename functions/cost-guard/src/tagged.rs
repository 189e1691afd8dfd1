//! Pausing and restoring a [`TaggedSetting`]: the value before the pause is written to a tag
//! on the resource once (a second pause keeps the first value, so pausing is idempotent),
//! and a restore puts back the tagged value, else the one in the guard's record, then removes
//! the tag. Lambda reserved concurrency and ECS desired count both go through here.

use crate::ports::{
    ActionError, CallFailed, PauseOutcome, Previous, RestoreOutcome, TaggedSetting,
};
use crate::resources::{Resource, ResourceKind};

/// Tag holding a function's reserved concurrency before the pause (`none` when unreserved).
pub const PREVIOUS_CONCURRENCY_TAG: &str = "cost-guard:previous-reserved-concurrency";
/// Tag holding a service's desired task count before the pause.
pub const PREVIOUS_DESIRED_COUNT_TAG: &str = "cost-guard:previous-desired-count";
const UNRESERVED: &str = "none";

/// What tag a kind of resource keeps its previous value in, and its paused value.
fn tag_key(kind: ResourceKind) -> Option<&'static str> {
    match kind {
        ResourceKind::LambdaFunction => Some(PREVIOUS_CONCURRENCY_TAG),
        ResourceKind::EcsService => Some(PREVIOUS_DESIRED_COUNT_TAG),
        ResourceKind::AppRunnerService => None,
    }
}

fn paused(kind: ResourceKind) -> Previous {
    match kind {
        ResourceKind::LambdaFunction => Previous::ReservedConcurrency { value: Some(0) },
        _ => Previous::DesiredCount { value: 0 },
    }
}

/// The tag text of a previous value.
fn encode(previous: &Previous) -> String {
    match previous {
        Previous::ReservedConcurrency { value: None } => UNRESERVED.to_string(),
        Previous::ReservedConcurrency { value: Some(n) } | Previous::DesiredCount { value: n } => {
            n.to_string()
        }
        Previous::Running => "running".to_string(),
    }
}

fn decode(kind: ResourceKind, key: &str, text: &str) -> Result<Previous, String> {
    let number = || {
        text.parse::<i32>()
            .map_err(|_| format!("tag {key}={text:?} is not a number"))
    };
    match kind {
        ResourceKind::LambdaFunction if text == UNRESERVED => {
            Ok(Previous::ReservedConcurrency { value: None })
        }
        ResourceKind::LambdaFunction => Ok(Previous::ReservedConcurrency {
            value: Some(number()?),
        }),
        _ => Ok(Previous::DesiredCount { value: number()? }),
    }
}

/// Whether a recorded value belongs to this kind of resource.
fn fits(kind: ResourceKind, previous: &Previous) -> bool {
    matches!(
        (kind, previous),
        (
            ResourceKind::LambdaFunction,
            Previous::ReservedConcurrency { .. }
        ) | (ResourceKind::EcsService, Previous::DesiredCount { .. })
    )
}

/// The tag key of the resource's kind and the previous value tagged on it, if any.
async fn tagged<T: TaggedSetting>(
    target: &T,
    resource: &Resource,
    action: &str,
) -> Result<(&'static str, Option<Previous>), ActionError> {
    let failed = |reason: String| ActionError::new(resource, action, reason);
    let key = tag_key(resource.kind)
        .ok_or_else(|| failed("this kind of resource keeps no tagged value".into()))?;
    let text = target
        .read_tag(resource, key)
        .await
        .map_err(|e| failed(e.0))?;
    let previous = text
        .map(|text| decode(resource.kind, key, &text))
        .transpose()
        .map_err(failed)?;
    Ok((key, previous))
}

/// Sets the resource to its paused value, having tagged the value before (once).
pub async fn pause<T: TaggedSetting>(
    target: &T,
    resource: &Resource,
) -> Result<PauseOutcome, ActionError> {
    let action = resource.kind.pause_action();
    let failed = |e: CallFailed| ActionError::new(resource, action, e);
    let previous = match tagged(target, resource, action).await? {
        (_, Some(previous)) => previous,
        (key, None) => {
            let previous = target.current(resource).await.map_err(failed)?;
            target
                .write_tag(resource, key, &encode(&previous))
                .await
                .map_err(failed)?;
            previous
        }
    };
    target
        .set(resource, &paused(resource.kind))
        .await
        .map_err(failed)?;
    Ok(PauseOutcome::Paused { previous })
}

/// Puts back the tagged value, else `recorded`, and removes the tag.
pub async fn restore<T: TaggedSetting>(
    target: &T,
    resource: &Resource,
    recorded: Option<&Previous>,
) -> Result<RestoreOutcome, ActionError> {
    let action = "restore";
    let failed = |e: CallFailed| ActionError::new(resource, action, e);
    let (key, previous) = match (tagged(target, resource, action).await?, recorded) {
        ((key, Some(previous)), _) => (key, previous),
        ((key, None), Some(recorded)) if fits(resource.kind, recorded) => (key, recorded.clone()),
        ((key, None), _) => {
            return Ok(RestoreOutcome::NothingToRestore {
                reason: format!("no {key} tag and no recorded value"),
            })
        }
    };
    target.set(resource, &previous).await.map_err(failed)?;
    target.remove_tag(resource, key).await.map_err(failed)?;
    Ok(RestoreOutcome::Restored { to: previous })
}

#[cfg(test)]
pub(crate) mod fake {
    //! An in-memory resource with tags and one setting.
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    pub struct FakeSetting {
        pub state: Arc<Mutex<FakeState>>,
    }

    #[derive(Default)]
    pub struct FakeState {
        /// Setting per ARN; absent = the resource does not exist.
        pub values: HashMap<String, Previous>,
        pub tags: HashMap<(String, String), String>,
        pub sets: usize,
    }

    impl FakeSetting {
        pub fn with(arn: &str, value: Previous) -> Self {
            let fake = Self::default();
            fake.add(arn, value);
            fake
        }

        pub fn add(&self, arn: &str, value: Previous) {
            self.state
                .lock()
                .unwrap()
                .values
                .insert(arn.to_string(), value);
        }

        pub fn value(&self, arn: &str) -> Option<Previous> {
            self.state.lock().unwrap().values.get(arn).cloned()
        }

        pub fn tag(&self, arn: &str, key: &str) -> Option<String> {
            let state = self.state.lock().unwrap();
            state.tags.get(&(arn.to_string(), key.to_string())).cloned()
        }

        fn exists(&self, resource: &Resource) -> Result<(), CallFailed> {
            if self
                .state
                .lock()
                .unwrap()
                .values
                .contains_key(&resource.arn)
            {
                Ok(())
            } else {
                Err(CallFailed(format!("{} not found", resource.arn)))
            }
        }
    }

    impl TaggedSetting for FakeSetting {
        async fn read_tag(&self, r: &Resource, key: &str) -> Result<Option<String>, CallFailed> {
            self.exists(r)?;
            Ok(self.tag(&r.arn, key))
        }
        async fn write_tag(&self, r: &Resource, key: &str, value: &str) -> Result<(), CallFailed> {
            self.exists(r)?;
            let mut state = self.state.lock().unwrap();
            state
                .tags
                .insert((r.arn.clone(), key.to_string()), value.to_string());
            Ok(())
        }
        async fn remove_tag(&self, r: &Resource, key: &str) -> Result<(), CallFailed> {
            self.exists(r)?;
            let mut state = self.state.lock().unwrap();
            state.tags.remove(&(r.arn.clone(), key.to_string()));
            Ok(())
        }
        async fn current(&self, r: &Resource) -> Result<Previous, CallFailed> {
            self.exists(r)?;
            Ok(self.value(&r.arn).expect("exists"))
        }
        async fn set(&self, r: &Resource, value: &Previous) -> Result<(), CallFailed> {
            self.exists(r)?;
            let mut state = self.state.lock().unwrap();
            state.sets += 1;
            state.values.insert(r.arn.clone(), value.clone());
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake::FakeSetting;
    use super::*;

    const FUNCTION: &str = "arn:aws:lambda:us-east-1:1:function:transcoder";
    const SERVICE: &str = "arn:aws:ecs:us-east-1:1:service/web/api";

    fn resource(arn: &str) -> Resource {
        Resource::parse(arn).unwrap()
    }

    #[tokio::test]
    async fn a_second_pause_keeps_the_first_previous_value_and_restore_puts_it_back() {
        let r = resource(FUNCTION);
        let fake = FakeSetting::with(FUNCTION, Previous::ReservedConcurrency { value: Some(5) });
        let first = pause(&fake, &r).await.unwrap();
        let again = pause(&fake, &r).await.unwrap();
        let five = Previous::ReservedConcurrency { value: Some(5) };
        assert_eq!(
            first,
            PauseOutcome::Paused {
                previous: five.clone()
            }
        );
        assert_eq!(
            again, first,
            "the tag, not the paused 0, is the previous value"
        );
        assert_eq!(
            fake.tag(FUNCTION, PREVIOUS_CONCURRENCY_TAG).as_deref(),
            Some("5")
        );
        assert_eq!(
            fake.value(FUNCTION),
            Some(paused(ResourceKind::LambdaFunction))
        );

        let restored = restore(&fake, &r, None).await.unwrap();
        assert_eq!(restored, RestoreOutcome::Restored { to: five.clone() });
        assert_eq!(fake.value(FUNCTION), Some(five));
        assert_eq!(fake.tag(FUNCTION, PREVIOUS_CONCURRENCY_TAG), None);
    }

    #[tokio::test]
    async fn an_unreserved_function_is_tagged_none_and_restored_unreserved() {
        let r = resource(FUNCTION);
        let unreserved = Previous::ReservedConcurrency { value: None };
        let fake = FakeSetting::with(FUNCTION, unreserved.clone());
        pause(&fake, &r).await.unwrap();
        assert_eq!(
            fake.tag(FUNCTION, PREVIOUS_CONCURRENCY_TAG).as_deref(),
            Some("none")
        );
        restore(&fake, &r, None).await.unwrap();
        assert_eq!(fake.value(FUNCTION), Some(unreserved));
    }

    #[tokio::test]
    async fn without_a_tag_the_record_is_restored_and_without_either_nothing() {
        let r = resource(SERVICE);
        let fake = FakeSetting::with(SERVICE, Previous::DesiredCount { value: 0 });
        let recorded = Previous::DesiredCount { value: 3 };
        let restored = restore(&fake, &r, Some(&recorded)).await.unwrap();
        assert_eq!(
            restored,
            RestoreOutcome::Restored {
                to: recorded.clone()
            }
        );
        assert_eq!(fake.value(SERVICE), Some(recorded));

        let wrong_kind = Previous::ReservedConcurrency { value: Some(2) };
        let nothing = restore(&fake, &r, Some(&wrong_kind)).await.unwrap();
        assert_eq!(
            nothing,
            RestoreOutcome::NothingToRestore {
                reason: "no cost-guard:previous-desired-count tag and no recorded value".into()
            }
        );
    }

    #[tokio::test]
    async fn a_damaged_tag_or_a_missing_resource_is_a_failed_action() {
        let r = resource(SERVICE);
        let fake = FakeSetting::with(SERVICE, Previous::DesiredCount { value: 2 });
        fake.write_tag(&r, PREVIOUS_DESIRED_COUNT_TAG, "two")
            .await
            .unwrap();
        let err = pause(&fake, &r).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "scale-desired-count-to-zero on arn:aws:ecs:us-east-1:1:service/web/api failed: \
             tag cost-guard:previous-desired-count=\"two\" is not a number"
        );
        assert_eq!(fake.state.lock().unwrap().sets, 0, "nothing changed");
        let missing = resource(FUNCTION);
        assert!(pause(&fake, &missing)
            .await
            .unwrap_err()
            .reason
            .contains("not found"));
    }
}
