//! What the channel payload tests share: an attempt at a fixed time and channels without
//! secrets or network (a payload is built without either).

use std::sync::Arc;
use std::time::Duration;

use shared::events::Envelope;
use shared::testkit::StaticSecrets;

use super::dingtalk::DingTalkChannel;
use super::feishu::FeishuChannel;
use super::wecom::WeComChannel;
use crate::ports::Attempt;
use crate::render::Notification;
use crate::routing::{DingTalkSpec, FeishuFormat, FeishuSpec, WeComSpec};

pub fn attempt<'a>(envelope: &'a Envelope, n: &'a Notification) -> Attempt<'a> {
    Attempt {
        envelope,
        notification: n,
        timeout: Duration::from_secs(1),
        idempotency_key: "k",
        now: time::OffsetDateTime::UNIX_EPOCH,
    }
}

pub fn secrets() -> Arc<StaticSecrets> {
    Arc::new(StaticSecrets::default())
}

fn http() -> reqwest::Client {
    super::http_client(Duration::from_secs(1)).unwrap()
}

/// A DingTalk robot that mentions nobody.
pub fn dingtalk() -> DingTalkChannel<StaticSecrets> {
    let spec = DingTalkSpec {
        secret_id: "s".into(),
        at_mobiles: vec![],
        at_all_on_critical: false,
    };
    DingTalkChannel::new(spec, secrets(), http())
}

/// A WeCom robot that mentions nobody.
pub fn wecom() -> WeComChannel<StaticSecrets> {
    let spec = WeComSpec {
        secret_id: "s".into(),
        mention_user_ids: vec![],
    };
    WeComChannel::new(spec, secrets(), http())
}

pub fn feishu(format: FeishuFormat) -> FeishuChannel<StaticSecrets> {
    let spec = FeishuSpec {
        secret_id: "s".into(),
        format,
    };
    FeishuChannel::new(spec, secrets(), http())
}
