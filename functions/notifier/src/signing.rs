//! The signatures the webhook services expect, each as its service documents it.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// DingTalk robot: HMAC-SHA256 keyed with the secret over `timestamp + "\n" + secret`
/// (timestamp in milliseconds), base64, then URL-encoded for the `sign` query parameter.
pub fn dingtalk_sign(secret: &str, timestamp_ms: i64) -> String {
    let digest = hmac_sha256(
        secret.as_bytes(),
        format!("{timestamp_ms}\n{secret}").as_bytes(),
    );
    urlencoding::encode(&base64::engine::general_purpose::STANDARD.encode(digest)).into_owned()
}

/// Feishu / Lark custom bot: HMAC-SHA256 keyed with `timestamp + "\n" + secret` (timestamp
/// in seconds) over an empty message, base64; sent in the body as `sign`.
pub fn feishu_sign(secret: &str, timestamp_s: i64) -> String {
    let digest = hmac_sha256(format!("{timestamp_s}\n{secret}").as_bytes(), b"");
    base64::engine::general_purpose::STANDARD.encode(digest)
}

/// Generic webhook: `sha256=` + hex HMAC-SHA256 keyed with the secret over
/// `timestamp + "." + body` (timestamp in seconds, also sent as `X-Signature-Timestamp`).
pub fn webhook_signature(secret: &str, timestamp_s: i64, body: &[u8]) -> String {
    let mut message = format!("{timestamp_s}.").into_bytes();
    message.extend_from_slice(body);
    format!(
        "sha256={}",
        hex::encode(hmac_sha256(secret.as_bytes(), &message))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values computed independently with Python's hmac/hashlib/base64/urllib.

    #[test]
    fn dingtalk_signature_matches_the_documented_algorithm() {
        assert_eq!(
            dingtalk_sign("SEC0123456789abcdef", 1_700_000_000_000),
            "TSZbRFUuvaSQaRKUpF970OPCb2%2FLcQAP3wOvwZIzBZk%3D"
        );
    }

    #[test]
    fn feishu_signature_matches_the_documented_algorithm() {
        assert_eq!(
            feishu_sign("SEC0123456789abcdef", 1_700_000_000),
            "PiO7POLlSx/DM2qf8Dy/XCWeJK3exVnevp5G99LEN2M="
        );
    }

    #[test]
    fn webhook_signature_covers_timestamp_and_body() {
        assert_eq!(
            webhook_signature("whsec", 1_700_000_000, br#"{"a":1}"#),
            "sha256=8ad37ba156048ae0e0a5533c75cdf26fee88b07f93cb57ee4c80adb053012032"
        );
    }
}
