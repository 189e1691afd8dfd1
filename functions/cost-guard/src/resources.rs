//! Resources the guard may act on, parsed from the ARNs of `COST_GUARD_ALLOW_LIST`.

use std::fmt;

use serde::{Deserialize, Serialize};

pub use shared::events::contracts::cost::ResourceKind;

/// One allow-listed resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    pub arn: String,
    pub kind: ResourceKind,
    pub partition: String,
    /// Function name, ECS service name or App Runner service name.
    pub name: String,
    /// The ECS cluster (`default` for the old ARN format without a cluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArnError(pub String);

impl fmt::Display for ArnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Resource {
    /// Accepts `arn:P:lambda:R:A:function:NAME` (unqualified: concurrency is per function),
    /// `arn:P:ecs:R:A:service/CLUSTER/NAME` or `arn:P:ecs:R:A:service/NAME`, and
    /// `arn:P:apprunner:R:A:service/NAME/ID`.
    pub fn parse(arn: &str) -> Result<Self, ArnError> {
        let bad = |why: &str| ArnError(format!("allow-list entry {arn:?}: {why}"));
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        if parts.len() != 6 || parts[0] != "arn" || parts.iter().any(|p| p.is_empty()) {
            return Err(bad(
                "not an ARN (arn:partition:service:region:account:resource)",
            ));
        }
        let (partition, service, resource) = (parts[1], parts[2], parts[5]);
        // The list is also the IAM policy's resource list (infra/template.yaml): a wildcard
        // would let the guard pause, and its role change, resources nobody named.
        for (part, text) in [
            ("partition", partition),
            ("service", service),
            ("region", parts[3]),
            ("account", parts[4]),
            ("resource", resource),
        ] {
            if text.contains(['*', '?']) {
                return Err(bad(&format!(
                    "wildcards (* or ?) are not allowed, found in the {part} {text:?}; \
                     name every function or service in full"
                )));
            }
        }
        let made = |kind, name: &str, cluster: Option<&str>| Resource {
            arn: arn.to_string(),
            kind,
            partition: partition.to_string(),
            name: name.to_string(),
            cluster: cluster.map(str::to_string),
        };
        let path: Vec<&str> = resource.split(['/', ':']).collect();
        match (service, path.as_slice()) {
            ("lambda", ["function", name]) if !name.is_empty() => {
                Ok(made(ResourceKind::LambdaFunction, name, None))
            }
            ("lambda", ["function", _, _]) => Err(bad(
                "a qualified Lambda ARN (version or alias); reserved concurrency belongs to the function, list it without qualifier",
            )),
            ("ecs", ["service", cluster, name]) if !cluster.is_empty() && !name.is_empty() => {
                Ok(made(ResourceKind::EcsService, name, Some(cluster)))
            }
            ("ecs", ["service", name]) if !name.is_empty() => {
                Ok(made(ResourceKind::EcsService, name, Some("default")))
            }
            ("apprunner", ["service", name, id]) if !name.is_empty() && !id.is_empty() => {
                Ok(made(ResourceKind::AppRunnerService, name, None))
            }
            _ => Err(bad(
                "not a Lambda function, ECS service or App Runner service ARN",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_kinds_parse() {
        let l =
            Resource::parse("arn:aws:lambda:us-east-1:123456789012:function:transcoder").unwrap();
        assert_eq!(
            (l.kind, l.name.as_str()),
            (ResourceKind::LambdaFunction, "transcoder")
        );
        let e = Resource::parse("arn:aws-cn:ecs:cn-northwest-1:1:service/web/api").unwrap();
        assert_eq!(e.kind, ResourceKind::EcsService);
        assert_eq!(
            (e.cluster.as_deref(), e.partition.as_str()),
            (Some("web"), "aws-cn")
        );
        let old = Resource::parse("arn:aws:ecs:us-east-1:1:service/api").unwrap();
        assert_eq!(old.cluster.as_deref(), Some("default"));
        let a = Resource::parse(
            "arn:aws:apprunner:us-east-1:1:service/site/8fe1e10304f84fd2b0df550fe98a71fa",
        )
        .unwrap();
        assert_eq!(
            (a.kind, a.name.as_str()),
            (ResourceKind::AppRunnerService, "site")
        );
    }

    #[test]
    fn other_arns_are_rejected_with_the_reason() {
        let q = Resource::parse("arn:aws:lambda:us-east-1:1:function:f:live").unwrap_err();
        assert!(q.0.contains("qualified"), "{q}");
        assert!(Resource::parse("arn:aws:s3:::bucket").is_err());
        assert!(Resource::parse("transcoder").is_err());
    }

    #[test]
    fn wildcards_are_refused_wherever_they_are() {
        for arn in [
            "arn:aws:lambda:us-east-1:123456789012:function:*",
            "arn:aws:lambda:us-east-1:123456789012:function:media-*",
            "arn:aws:lambda:us-east-1:*:function:transcoder",
            "arn:aws:lambda:*:123456789012:function:transcoder",
            "arn:aws:ecs:us-east-1:123456789012:service/web/*",
            "arn:aws:apprunner:us-east-1:123456789012:service/site/?",
        ] {
            let err = Resource::parse(arn).unwrap_err();
            assert!(
                err.0.contains("wildcards (* or ?) are not allowed"),
                "{arn}: {err}"
            );
        }
        let err = Resource::parse("arn:aws:lambda:us-east-1:*:function:f").unwrap_err();
        assert!(err.0.contains("in the account \"*\""), "{err}");
    }
}
