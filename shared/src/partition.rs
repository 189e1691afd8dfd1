//! AWS partitions: ARNs are built from the partition, never hard-coded, and the suite knows
//! which services a partition lacks so a bad configuration fails at start.

use std::fmt;

/// An AWS partition: a group of regions with its own ARNs, endpoints and service list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partition {
    /// The commercial regions (`aws`).
    Aws,
    /// The China regions (`aws-cn`), which lack several services.
    AwsCn,
    /// AWS GovCloud (US) (`aws-us-gov`).
    AwsUsGov,
}

/// Services whose availability differs between partitions and that the suite may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// Image and video moderation.
    Rekognition,
    /// Text detection in documents.
    Textract,
    /// E-mail sending.
    Ses,
    /// Text messages through SNS.
    SnsSms,
    /// Speech to text.
    Transcribe,
    /// Model endpoints (asynchronous inference): moderation where Rekognition is missing.
    SageMaker,
    /// Spending figures for cost-guard.
    CostExplorer,
    /// App Runner services that cost-guard may pause.
    AppRunner,
}

impl Service {
    /// The service's name for people, used in error messages.
    pub fn name(self) -> &'static str {
        match self {
            Service::Rekognition => "Rekognition",
            Service::Textract => "Textract",
            Service::Ses => "SES",
            Service::SnsSms => "SNS SMS",
            Service::Transcribe => "Transcribe",
            Service::SageMaker => "SageMaker",
            Service::CostExplorer => "Cost Explorer",
            Service::AppRunner => "App Runner",
        }
    }
}

impl Partition {
    /// The partition a region belongs to, from its name prefix (`cn-`, `us-gov-`, else `aws`).
    pub fn from_region(region: &str) -> Self {
        if region.starts_with("cn-") {
            Partition::AwsCn
        } else if region.starts_with("us-gov-") {
            Partition::AwsUsGov
        } else {
            Partition::Aws
        }
    }

    /// The partition id as written in ARNs (`aws`, `aws-cn`, `aws-us-gov`).
    pub fn id(self) -> &'static str {
        match self {
            Partition::Aws => "aws",
            Partition::AwsCn => "aws-cn",
            Partition::AwsUsGov => "aws-us-gov",
        }
    }

    /// True when the service exists in this partition.
    pub fn has_service(self, service: Service) -> bool {
        match self {
            Partition::AwsCn => !matches!(
                service,
                Service::Rekognition
                    | Service::Textract
                    | Service::Ses
                    | Service::SnsSms
                    | Service::AppRunner
            ),
            Partition::Aws | Partition::AwsUsGov => true,
        }
    }

    /// Fails with a message naming the service and what to configure instead.
    pub fn require(self, service: Service, instead: &str) -> Result<(), String> {
        if self.has_service(service) {
            Ok(())
        } else {
            Err(format!(
                "{} does not exist in partition {}; {instead}",
                service.name(),
                self.id()
            ))
        }
    }

    /// The region whose endpoint serves Cost Explorer in this partition.
    pub fn cost_explorer_region(self) -> &'static str {
        match self {
            Partition::Aws => "us-east-1",
            Partition::AwsCn => "cn-northwest-1",
            Partition::AwsUsGov => "us-gov-west-1",
        }
    }

    /// The currency Cost Explorer reports in for this partition.
    pub fn billing_currency(self) -> &'static str {
        match self {
            Partition::AwsCn => "CNY",
            _ => "USD",
        }
    }

    /// `arn:{partition}:{service}:{region}:{account}:{resource}`.
    pub fn arn(self, service: &str, region: &str, account: &str, resource: &str) -> String {
        format!("arn:{}:{service}:{region}:{account}:{resource}", self.id())
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn china_regions_lack_rekognition_and_ses() {
        let cn = Partition::from_region("cn-northwest-1");
        assert_eq!(cn, Partition::AwsCn);
        assert!(!cn.has_service(Service::Rekognition));
        assert!(!cn.has_service(Service::Ses));
        assert!(cn.has_service(Service::Transcribe));
        assert!(cn.has_service(Service::SageMaker));
        let err = cn
            .require(Service::Rekognition, "set MODERATION_BACKEND=sagemaker")
            .unwrap_err();
        assert_eq!(
            err,
            "Rekognition does not exist in partition aws-cn; set MODERATION_BACKEND=sagemaker"
        );
        assert_eq!(cn.cost_explorer_region(), "cn-northwest-1");
        assert_eq!(cn.billing_currency(), "CNY");
    }

    #[test]
    fn arns_carry_the_partition() {
        assert_eq!(
            Partition::from_region("cn-north-1").arn("sns", "cn-north-1", "123", "suite-events"),
            "arn:aws-cn:sns:cn-north-1:123:suite-events"
        );
        assert_eq!(
            Partition::from_region("eu-west-1").arn("sqs", "eu-west-1", "123", "q"),
            "arn:aws:sqs:eu-west-1:123:q"
        );
    }
}
