//! What a `media.flagged` event of a `review` verdict carries for the moderator: a link to the
//! upload and the exact decision inputs to send.

use std::time::Duration;

use shared::events::contracts::media::ReviewAid;
use time::OffsetDateTime;

use super::decision::{DecisionInput, REVIEWER_PLACEHOLDER};
use crate::analysis::SourceObject;

/// A presigned link as the media store made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedLink {
    pub url: String,
    /// When the credentials that signed it expire, when they say so: a presigned URL stops
    /// working then, whatever its own expiry.
    pub credentials_expire_at: Option<OffsetDateTime>,
}

/// The decision input of `decision` for the analysed upload, as a direct invocation takes it
/// (`{"review": {...}}`), with the reviewer placeholder. An unversioned upload is named by its
/// ETag too, so a decision cannot land on a replacement the moderator never saw.
pub fn decision_input(source: &SourceObject, decision: &str) -> String {
    let input = DecisionInput {
        bucket: source.bucket.clone(),
        key: source.key.clone(),
        version_id: source.version_id.clone(),
        etag: source.version_id.is_none().then(|| source.etag.clone()),
        decision: decision.to_string(),
        reviewer: Some(REVIEWER_PLACEHOLDER.to_string()),
        reason: None,
    };
    serde_json::json!({ "review": input }).to_string()
}

/// The review aid of an upload under review. `link` is `None` when signing failed; it then
/// has no expiry either.
pub fn review_aid(
    source: &SourceObject,
    function_name: &str,
    link: Option<SignedLink>,
    ttl: Duration,
    now: OffsetDateTime,
) -> ReviewAid {
    let (link, link_expires_at) = match link {
        Some(signed) => {
            let own_expiry = now + ttl;
            let expires = signed
                .credentials_expire_at
                .map_or(own_expiry, |creds| creds.min(own_expiry));
            (Some(signed.url), Some(shared::time::rfc3339(expires)))
        }
        None => (None, None),
    };
    ReviewAid {
        link,
        link_expires_at,
        function_name: function_name.to_string(),
        approve_input: decision_input(source, "approved"),
        reject_input: decision_input(source, "rejected"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-25 12:00 UTC);

    fn source(version: Option<&str>) -> SourceObject {
        SourceObject {
            bucket: "media".into(),
            key: "videos/a b.mp4".into(),
            version_id: version.map(Into::into),
            etag: "e1".into(),
            size: 1,
            content_type: None,
        }
    }

    #[test]
    fn the_inputs_are_what_a_decision_takes_once_the_name_is_filled_in() {
        let aid = review_aid(
            &source(Some("v1")),
            "media-suite-dev-ai-processor",
            None,
            Duration::from_secs(60),
            NOW,
        );
        let approve: serde_json::Value = serde_json::from_str(&aid.approve_input).unwrap();
        assert_eq!(
            approve,
            serde_json::json!({"review": {"bucket": "media", "key": "videos/a b.mp4", "version_id": "v1",
                                          "decision": "approved", "reviewer": "<your name>"}})
        );
        let filled = aid.reject_input.replace(REVIEWER_PLACEHOLDER, "mei");
        let input: DecisionInput = serde_json::from_value(
            serde_json::from_str::<serde_json::Value>(&filled).unwrap()["review"].clone(),
        )
        .unwrap();
        assert!(input.check("media", None).is_ok());
        assert_eq!((aid.link, aid.link_expires_at), (None, None));
        let unversioned = review_aid(&source(None), "f", None, Duration::from_secs(60), NOW);
        assert!(
            unversioned.approve_input.contains(r#""etag":"e1""#),
            "{}",
            unversioned.approve_input
        );
    }

    #[test]
    fn the_link_expires_with_its_credentials_when_they_go_first() {
        let ttl = Duration::from_secs(86_400);
        let link = |creds| {
            Some(SignedLink {
                url: "https://x".into(),
                credentials_expire_at: creds,
            })
        };
        let own = review_aid(&source(None), "f", link(None), ttl, NOW);
        assert_eq!(own.link_expires_at.as_deref(), Some("2026-11-26T12:00:00Z"));
        let early = review_aid(
            &source(None),
            "f",
            link(Some(datetime!(2026-11-25 18:00 UTC))),
            ttl,
            NOW,
        );
        assert_eq!(
            early.link_expires_at.as_deref(),
            Some("2026-11-25T18:00:00Z")
        );
        assert_eq!(early.link.as_deref(), Some("https://x"));
    }
}
