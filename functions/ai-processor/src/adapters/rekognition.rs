//! `ModerationBackend` on Amazon Rekognition: DetectModerationLabels + DetectLabels for
//! images, StartContentModeration (completion through SNS) + GetContentModeration for videos.
//! Rekognition reads the media from S3 itself; nothing is downloaded into the function.

use aws_sdk_rekognition::types::{Image, NotificationChannel, S3Object, Video, VideoJobStatus};
use shared::batch::RecordError;

use crate::model::{strongest_per_name, Findings, Label, ModerationLabel, ObjectRef};
use crate::ports::{ModerationBackend, VideoModeration};
use shared::aws::classify;

/// Labels below this confidence are not returned at all.
const MIN_CONFIDENCE: f32 = 50.0;
const MAX_LABELS: i32 = 25;

pub struct RekognitionModeration {
    client: aws_sdk_rekognition::Client,
    sns_topic_arn: String,
    role_arn: String,
}

impl RekognitionModeration {
    pub fn new(
        client: aws_sdk_rekognition::Client,
        sns_topic_arn: impl Into<String>,
        role_arn: impl Into<String>,
    ) -> Self {
        Self {
            client,
            sns_topic_arn: sns_topic_arn.into(),
            role_arn: role_arn.into(),
        }
    }
}

fn s3_object(object: &ObjectRef) -> S3Object {
    S3Object::builder()
        .bucket(&object.bucket)
        .name(&object.key)
        .set_version(object.version_id.clone())
        .build()
}

fn moderation_label(
    label: &aws_sdk_rekognition::types::ModerationLabel,
    timestamp_ms: Option<i64>,
) -> Option<ModerationLabel> {
    Some(ModerationLabel {
        name: label.name()?.to_string(),
        parent: label
            .parent_name()
            .filter(|p| !p.is_empty())
            .map(str::to_string),
        confidence: label.confidence().unwrap_or_default(),
        timestamp_ms,
    })
}

impl ModerationBackend for RekognitionModeration {
    fn name(&self) -> &'static str {
        "rekognition"
    }

    async fn analyse_image(&self, object: &ObjectRef) -> Result<Findings, RecordError> {
        let image = || Image::builder().s3_object(s3_object(object)).build();
        let moderation = self
            .client
            .detect_moderation_labels()
            .image(image())
            .min_confidence(MIN_CONFIDENCE)
            .send();
        let labels = self
            .client
            .detect_labels()
            .image(image())
            .max_labels(MAX_LABELS)
            .min_confidence(MIN_CONFIDENCE)
            .send();
        let (moderation, labels) = futures::join!(moderation, labels);
        let moderation = moderation.map_err(|e| {
            classify(
                &format!("Rekognition DetectModerationLabels {}", object.uri()),
                e,
            )
        })?;
        let labels = labels
            .map_err(|e| classify(&format!("Rekognition DetectLabels {}", object.uri()), e))?;
        Ok(Findings {
            labels: labels
                .labels()
                .iter()
                .filter_map(|l| {
                    Some(Label {
                        name: l.name()?.to_string(),
                        parent: l
                            .parents()
                            .first()
                            .and_then(|p| p.name())
                            .map(str::to_string),
                        confidence: l.confidence().unwrap_or_default(),
                    })
                })
                .collect(),
            moderation_labels: moderation
                .moderation_labels()
                .iter()
                .filter_map(|l| moderation_label(l, None))
                .collect(),
        })
    }

    async fn analyse_video(
        &self,
        object: &ObjectRef,
        request_token: &str,
    ) -> Result<VideoModeration, RecordError> {
        let channel = NotificationChannel::builder()
            .sns_topic_arn(&self.sns_topic_arn)
            .role_arn(&self.role_arn)
            .build()
            .map_err(|e| RecordError::permanent(format!("notification channel: {e}")))?;
        let out = self
            .client
            .start_content_moderation()
            .video(Video::builder().s3_object(s3_object(object)).build())
            .min_confidence(MIN_CONFIDENCE)
            .notification_channel(channel)
            .client_request_token(request_token)
            .job_tag("media-suite")
            .send()
            .await
            .map_err(|e| {
                classify(
                    &format!("Rekognition StartContentModeration {}", object.uri()),
                    e,
                )
            })?;
        let job_id = out.job_id().ok_or_else(|| {
            RecordError::retryable("StartContentModeration answered without a JobId")
        })?;
        Ok(VideoModeration::Started {
            job_id: job_id.to_string(),
            output_location: None,
        })
    }

    async fn video_results(
        &self,
        job_id: &str,
        _output_location: Option<&str>,
    ) -> Result<Findings, RecordError> {
        let mut pages = self
            .client
            .get_content_moderation()
            .job_id(job_id)
            .max_results(1000)
            .into_paginator()
            .send();
        let mut detections = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page
                .map_err(|e| classify(&format!("Rekognition GetContentModeration {job_id}"), e))?;
            match page.job_status() {
                Some(VideoJobStatus::Succeeded) => {}
                Some(VideoJobStatus::InProgress) => {
                    return Err(RecordError::retryable(format!(
                        "content moderation job {job_id} is still in progress"
                    )))
                }
                other => {
                    return Err(RecordError::permanent(format!(
                        "content moderation job {job_id} is {}: {}",
                        other.map(|s| s.as_str()).unwrap_or("in an unknown state"),
                        page.status_message().unwrap_or("no message")
                    )))
                }
            }
            detections.extend(
                page.moderation_labels()
                    .iter()
                    .filter_map(|d| moderation_label(d.moderation_label()?, Some(d.timestamp()))),
            );
        }
        Ok(Findings {
            labels: Vec::new(),
            moderation_labels: strongest_per_name(detections),
        })
    }
}
