//! S3 writes with a condition: create only if absent (`If-None-Match: *`) or replace only the
//! version that was read (`If-Match: <etag>`). The one place that knows how S3 says the
//! condition did not hold, used by the idempotency markers, analysis documents, cost state and
//! raw stats objects.

use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::operation::put_object::PutObjectError;
use aws_sdk_s3::primitives::ByteStream;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteCondition<'a> {
    /// Only if no object has the key.
    Absent,
    /// Only if the object still has this ETag.
    Matches(&'a str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConditionalWrite {
    Written {
        etag: Option<String>,
    },
    /// 412: the object exists (Absent) or changed (Matches).
    ConditionFailed,
    /// 409: another conditional write to the key is in flight; its outcome is not known yet.
    ConcurrentWrite,
}

pub async fn put_conditional(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
    content_type: &str,
    condition: WriteCondition<'_>,
) -> Result<ConditionalWrite, SdkError<PutObjectError>> {
    let put = client
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type(content_type)
        .body(ByteStream::from(body));
    let put = match condition {
        WriteCondition::Absent => put.if_none_match("*"),
        WriteCondition::Matches(etag) => put.if_match(etag),
    };
    match put.send().await {
        Ok(output) => Ok(ConditionalWrite::Written {
            etag: output.e_tag().map(str::to_string),
        }),
        Err(e) => match e.raw_response().map(|r| r.status().as_u16()) {
            Some(412) => Ok(ConditionalWrite::ConditionFailed),
            Some(409) => Ok(ConditionalWrite::ConcurrentWrite),
            _ => Err(e),
        },
    }
}
