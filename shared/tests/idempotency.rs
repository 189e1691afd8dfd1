//! The idempotency policy over the in-memory store (no network), and the S3 adapter's reading
//! of the answers moto does not give (409, 404 under If-Match) through SDK mocks.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use shared::idempotency::{once, Claim, Idempotency, IdempotencyError, IdempotencyStore, Once};
use shared::results::{ObjectStore, S3ObjectStore, StoreError, WriteCondition, WriteOutcome};
use shared::testkit::{ManualClock, MemoryObjectStore, StoreOp};
use time::macros::datetime;

#[derive(Debug, PartialEq)]
struct Failed;
impl From<IdempotencyError> for Failed {
    fn from(_: IdempotencyError) -> Self {
        Failed
    }
}

fn policy(
    lease_s: u64,
) -> (
    Idempotency<MemoryObjectStore, ManualClock>,
    MemoryObjectStore,
    ManualClock,
) {
    let store = MemoryObjectStore::default();
    let clock = ManualClock::at(datetime!(2026-11-30 08:00 UTC));
    (
        Idempotency::new(
            store.clone(),
            "idempotency/",
            Duration::from_secs(lease_s),
            clock.clone(),
        ),
        store,
        clock,
    )
}

#[tokio::test]
async fn a_failed_effect_can_be_retried_and_a_done_one_is_not_repeated() {
    let (idem, _, _) = policy(60);
    let r: Result<Once<()>, Failed> = once(&idem, "k", || async { Err(Failed) }).await;
    assert_eq!(r, Err(Failed));
    let r: Result<Once<u8>, Failed> = once(&idem, "k", || async { Ok(7) }).await;
    assert_eq!(r, Ok(Once::Done(7)));
    let r: Result<Once<u8>, Failed> = once(&idem, "k", || async { Ok(8) }).await;
    assert_eq!(r, Ok(Once::AlreadyDone));
}

#[tokio::test]
async fn a_live_lease_blocks_and_an_expired_one_is_taken_over_by_exactly_one_caller() {
    let (idem, _, clock) = policy(60);
    let Claim::Acquired(_first) = idem.claim("k").await.unwrap() else {
        panic!("first claim")
    };
    assert_eq!(idem.claim("k").await.unwrap(), Claim::InProgress);
    clock.advance(Duration::from_secs(61));
    let (a, b) = tokio::join!(idem.claim("k"), idem.claim("k"));
    let acquired = [a.unwrap(), b.unwrap()]
        .iter()
        .filter(|c| matches!(c, Claim::Acquired(_)))
        .count();
    assert_eq!(acquired, 1);
}

#[tokio::test]
async fn an_owner_whose_lease_was_taken_over_cannot_mark_done_or_release_the_new_claim() {
    let (idem, _, clock) = policy(60);
    let Claim::Acquired(old) = idem.claim("k").await.unwrap() else {
        panic!()
    };
    clock.advance(Duration::from_secs(61));
    let Claim::Acquired(new) = idem.claim("k").await.unwrap() else {
        panic!("takeover")
    };
    assert_eq!(
        idem.complete(&old).await,
        Err(IdempotencyError::LostOwnership { key: "k".into() })
    );
    assert_eq!(
        idem.release(&old).await,
        Err(IdempotencyError::LostOwnership { key: "k".into() })
    );
    // The new owner's claim is intact: still in progress, then done by its owner.
    assert_eq!(idem.claim("k").await.unwrap(), Claim::InProgress);
    idem.complete(&new).await.unwrap();
    assert_eq!(idem.claim("k").await.unwrap(), Claim::AlreadyDone);
}

#[tokio::test]
async fn a_released_claim_is_claimed_again_at_once() {
    let (idem, _, _) = policy(600);
    let Claim::Acquired(token) = idem.claim("k").await.unwrap() else {
        panic!()
    };
    idem.release(&token).await.unwrap();
    assert!(matches!(idem.claim("k").await.unwrap(), Claim::Acquired(_)));
}

#[tokio::test]
async fn a_crash_between_effect_and_done_repeats_the_effect_only_after_the_lease() {
    let (idem, _, clock) = policy(60);
    let effects = AtomicUsize::new(0);
    // A process claims, performs the effect and dies before writing the done-marker.
    let Claim::Acquired(_crashed) = idem.claim("k").await.unwrap() else {
        panic!()
    };
    effects.fetch_add(1, Ordering::SeqCst);
    let effect = || async {
        effects.fetch_add(1, Ordering::SeqCst);
        Ok::<_, Failed>(())
    };
    // Within the lease a redelivery does nothing.
    assert_eq!(once(&idem, "k", effect).await, Ok(Once::InProgress));
    assert_eq!(effects.load(Ordering::SeqCst), 1);
    // After the lease the effect runs again: the repeat RELIABILITY.md documents.
    clock.advance(Duration::from_secs(61));
    assert_eq!(once(&idem, "k", effect).await, Ok(Once::Done(())));
    assert_eq!(effects.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_done_write_that_keeps_failing_still_reports_the_effect_as_done() {
    let (idem, store, _) = policy(60);
    let r = once(&idem, "k", || async {
        store.fail(
            StoreOp::Put,
            "idempotency/",
            3,
            StoreError::retryable("S3 down"),
        );
        Ok::<_, Failed>(())
    })
    .await;
    assert_eq!(
        r,
        Ok(Once::Done(())),
        "the message is consumed, not redelivered at once"
    );
    assert_eq!(idem.claim("k").await.unwrap(), Claim::InProgress);
}

mod sdk_mock {
    use super::*;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    fn status(code: u16) -> HttpResponse {
        let body = match code {
            403 => "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>",
            503 => {
                "<Error><Code>SlowDown</Code><Message>Reduce your request rate</Message></Error>"
            }
            _ => "",
        };
        HttpResponse::new(StatusCode::try_from(code).unwrap(), SdkBody::from(body))
    }

    #[tokio::test]
    async fn sdk_mock_s3_answers_409_412_and_404_under_if_match_are_condition_outcomes() {
        for (code, condition, expected) in [
            (412, WriteCondition::Absent, WriteOutcome::ConditionFailed),
            (409, WriteCondition::Absent, WriteOutcome::ConcurrentWrite),
            (
                404,
                WriteCondition::Matches("\"e1\""),
                WriteOutcome::ConditionFailed,
            ),
        ] {
            let rule =
                mock!(aws_sdk_s3::Client::put_object).then_http_response(move || status(code));
            let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&rule]);
            let store = S3ObjectStore::new(s3, "results");
            let got = store
                .put("k", b"{}".to_vec(), "application/json", condition)
                .await
                .unwrap();
            assert_eq!(got, expected, "HTTP {code}");
        }
    }

    #[tokio::test]
    async fn sdk_mock_s3_403_and_503_are_errors_the_batch_retries() {
        for code in [403, 503] {
            let rule =
                mock!(aws_sdk_s3::Client::get_object).then_http_response(move || status(code));
            let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&rule]);
            let store = S3ObjectStore::new(s3, "results");
            let err = store.get("k").await.unwrap_err();
            assert!(err.retryable, "HTTP {code}: {err}");
        }
        let rule = mock!(aws_sdk_s3::Client::get_object).then_http_response(|| status(404));
        let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&rule]);
        assert_eq!(
            S3ObjectStore::new(s3, "results").get("k").await.unwrap(),
            None
        );
    }
}
