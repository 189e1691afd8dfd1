//! SMTP e-mail with `lettre` (SES does not exist in AWS China): STARTTLS by default, implicit
//! TLS on request, plain only to a loopback relay. Credentials come from a secret
//! `{"username": "...", "password": "..."}`.

use std::sync::Arc;

use futures::future::BoxFuture;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use shared::secrets::SecretSource;

use super::http::secret;
use crate::ports::{Attempt, DeliveryError, NotificationChannel};
use crate::routing::{EmailSpec, SmtpSecurity};

pub struct EmailChannel<S> {
    spec: EmailSpec,
    secrets: Arc<S>,
}

impl<S: SecretSource> EmailChannel<S> {
    pub fn new(spec: EmailSpec, secrets: Arc<S>) -> Self {
        Self { spec, secrets }
    }

    async fn credentials(&self) -> Result<Option<Credentials>, DeliveryError> {
        let Some(secret_id) = &self.spec.secret_id else {
            return Ok(None);
        };
        let value = secret(self.secrets.as_ref(), secret_id).await?;
        match (value.json_field("username"), value.json_field("password")) {
            (Some(user), Some(password)) => Ok(Some(Credentials::new(
                user.expose().to_string(),
                password.expose().to_string(),
            ))),
            _ => Err(DeliveryError::permanent(format!(
                "secret {secret_id} must be {{\"username\": \"...\", \"password\": \"...\"}}"
            ))),
        }
    }

    fn message(&self, attempt: &Attempt<'_>) -> Result<Message, DeliveryError> {
        let n = attempt.notification;
        let parse = |s: &str| {
            s.parse::<Mailbox>()
                .map_err(|e| DeliveryError::permanent(format!("address {s:?}: {e}")))
        };
        let mut builder = Message::builder()
            .from(parse(&self.spec.from)?)
            .subject(n.title.clone());
        for to in &self.spec.to {
            builder = builder.to(parse(to)?);
        }
        builder
            .header(ContentType::TEXT_PLAIN)
            .body(n.plain_text())
            .map_err(|e| DeliveryError::permanent(format!("message: {e}")))
    }

    /// The formatted message, for tests that read it byte by byte.
    #[cfg(test)]
    pub fn message_for_test(&self, attempt: &Attempt<'_>) -> Vec<u8> {
        self.message(attempt).expect("a valid message").formatted()
    }

    async fn deliver(&self, attempt: Attempt<'_>) -> Result<(), DeliveryError> {
        let host = self.spec.smtp_host.as_str();
        let tls_error = |e: lettre::transport::smtp::Error| {
            DeliveryError::permanent(format!("SMTP TLS setup for {host}: {e}"))
        };
        let builder = match self.spec.security {
            SmtpSecurity::Starttls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host).map_err(tls_error)?
            }
            SmtpSecurity::Tls => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(host).map_err(tls_error)?
            }
            // Checked at init: only a loopback relay.
            SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
        };
        let mut builder = builder
            .port(self.spec.port())
            .timeout(Some(attempt.timeout));
        if let Some(credentials) = self.credentials().await? {
            builder = builder.credentials(credentials);
        }
        let message = self.message(&attempt)?;
        match builder.build().send(message).await {
            Ok(_) => Ok(()),
            // 5xx replies: the server will refuse this mail again (unknown mailbox, auth).
            Err(e) if e.is_permanent() => Err(DeliveryError::permanent(format!("SMTP: {e}"))),
            // 4xx replies, timeouts, connection and TLS failures.
            Err(e) => Err(DeliveryError::retryable(format!("SMTP: {e}"))),
        }
    }
}

impl<S: SecretSource> NotificationChannel for EmailChannel<S> {
    fn send<'a>(&'a self, attempt: Attempt<'a>) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(self.deliver(attempt))
    }
}
