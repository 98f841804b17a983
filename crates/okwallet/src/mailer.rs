//! The mailer: a background task of `okwallet serve` that sends the outbox through SMTP.
//!
//! Every node may run one; the outbox's leases (`store::outbox`) make sure each mail is sent by
//! one of them at a time, and a mail whose sender died is sent again later (at least once, never
//! lost). What a mail says is decided where it is queued; this module only delivers. It never
//! logs a mail's body (it may carry a single-use link) or the SMTP password.

use std::time::Duration;

use anyhow::Context;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use store::outbox::{OutboxMessage, LEASE_MS};
use store::Db;

/// How often the outbox is looked at.
const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// Mails claimed at a time; each is sent before the next claim.
const BATCH_MAX: i64 = 20;

/// The URL lettre understands for one of ours, or why ours is wrong. Ours differ in one place,
/// on purpose: `smtp://` without `tls=` means STARTTLS required (lettre's default is plain
/// text, which would send the password in the clear), and plain text must be asked for with
/// `tls=none`.
///
/// - `smtps://user:pass@host[:465]` — TLS from the first byte;
/// - `smtp://user:pass@host[:587]` — STARTTLS, required;
/// - `smtp://host[:25]?tls=none` — no encryption, for a relay on the same machine or network.
pub fn lettre_url(ours: &str) -> Result<String, String> {
    let mut url = url::Url::parse(ours).map_err(|e| format!("not a URL ({e})"))?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err("no host".to_owned());
    }
    let tls: Vec<String> = url
        .query_pairs()
        .filter(|(k, _)| k == "tls")
        .map(|(_, v)| v.into_owned())
        .collect();
    let others: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != "tls")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if !others.is_empty() {
        return Err(format!("unknown parameter {:?}; only tls=", others[0].0));
    }
    let tls = match tls.as_slice() {
        [] => None,
        [one] => Some(one.as_str()),
        _ => return Err("tls= given twice".to_owned()),
    };
    match (url.scheme(), tls) {
        ("smtps", None) => {}
        ("smtp", None | Some("required")) => {
            url.set_query(Some("tls=required"));
        }
        ("smtp", Some("none")) => url.set_query(None),
        ("smtp", Some(other)) => {
            return Err(format!(
                "tls={other}: use tls=required (the default) or tls=none"
            ))
        }
        ("smtps", Some(_)) => return Err("smtps:// is always TLS; drop tls=".to_owned()),
        (scheme, _) => return Err(format!("scheme {scheme}:// is not smtp:// or smtps://")),
    }
    Ok(url.to_string())
}

/// An SMTP transport for one of our URLs (see [`lettre_url`]).
pub fn transport(ours: &str) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    let url = lettre_url(ours).map_err(anyhow::Error::msg)?;
    Ok(AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
        .with_context(|| format!("while setting up SMTP for {}", store::redact_url(ours)))?
        .timeout(Some(Duration::from_secs(60)))
        .build())
}

/// The sender, as `Name <address>` or a bare address.
pub fn parse_from(text: &str) -> Result<Mailbox, String> {
    text.parse::<Mailbox>()
        .map_err(|e| format!("not a mailbox like okwallet <noreply@example.com> ({e})"))
}

/// The default sender: `okwallet <noreply@HOST>` for the host people reach the server at.
pub fn default_from(public_url: &str) -> String {
    let host = url::Url::parse(public_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "localhost".to_owned());
    format!("okwallet <noreply@{host}>")
}

/// Sends due mail until the process ends.
pub async fn run(db: Db, transport: AsyncSmtpTransport<Tokio1Executor>, from: Mailbox) {
    let mut tick = tokio::time::interval(POLL_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let batch = match db.claim_due_mail(BATCH_MAX, LEASE_MS).await {
            Ok(batch) => batch,
            Err(e) => {
                tracing::warn!(
                    error = format!("{e:#}"),
                    "reading the outbox failed; will retry"
                );
                continue;
            }
        };
        for mail in batch {
            deliver(&db, &transport, &from, &mail).await;
        }
    }
}

async fn deliver(
    db: &Db,
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    from: &Mailbox,
    mail: &OutboxMessage,
) {
    let outcome = match message(from, mail) {
        Ok(message) => transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Err(e) => Err(e),
    };
    let recorded = match &outcome {
        Ok(()) => {
            tracing::info!(mail = %mail.id, kind = %mail.kind, "mail sent");
            db.mark_mail_sent(&mail.id).await
        }
        Err(error) => {
            tracing::warn!(
                mail = %mail.id,
                kind = %mail.kind,
                attempts = mail.attempts,
                error = %error,
                "sending a mail failed; will retry"
            );
            db.mark_mail_failed(mail, error).await
        }
    };
    if let Err(e) = recorded {
        // The lease runs out and the mail is claimed again: at worst it is sent twice.
        tracing::warn!(mail = %mail.id, error = format!("{e:#}"), "recording a mail's outcome failed");
    }
}

fn message(from: &Mailbox, mail: &OutboxMessage) -> Result<Message, String> {
    let to = mail
        .to_address
        .parse::<Mailbox>()
        .map_err(|e| format!("the address cannot be written in a mail: {e}"))?;
    // The outbox id makes the Message-ID: a mail sent again after a lost acknowledgement keeps
    // its id, so that mail systems can recognise the duplicate.
    let message_id = format!("<{}@{}>", mail.id, from.email.domain());
    Message::builder()
        .message_id(Some(message_id))
        .from(from.clone())
        .to(to)
        .subject(mail.subject.clone())
        .header(ContentType::TEXT_PLAIN)
        .body(mail.body_text.clone())
        .map_err(|e| format!("the mail cannot be built: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_urls_become_lettres() {
        assert_eq!(
            lettre_url("smtp://u:p@mail.example.com:587").unwrap(),
            "smtp://u:p@mail.example.com:587?tls=required"
        );
        assert_eq!(
            lettre_url("smtp://mail.example.com?tls=required").unwrap(),
            "smtp://mail.example.com?tls=required"
        );
        assert_eq!(
            lettre_url("smtp://127.0.0.1:2525?tls=none").unwrap(),
            "smtp://127.0.0.1:2525"
        );
        assert_eq!(
            lettre_url("smtps://u:p@mail.example.com").unwrap(),
            "smtps://u:p@mail.example.com"
        );
        for bad in [
            "mail.example.com",
            "http://mail.example.com",
            "smtp://mail.example.com?tls=opportunistic",
            "smtps://mail.example.com?tls=none",
            "smtp://mail.example.com?tls=none&tls=required",
            "smtp://mail.example.com?auth=plain",
            "smtp://",
        ] {
            assert!(lettre_url(bad).is_err(), "{bad}");
        }
        for ok in [
            "smtp://u:p@mail.example.com:587",
            "smtps://u:p@mail.example.com",
            "smtp://127.0.0.1:2525?tls=none",
        ] {
            assert!(transport(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn the_sender_has_a_default_and_is_checked() {
        assert_eq!(
            default_from("https://wallet.example.com:8443"),
            "okwallet <noreply@wallet.example.com>"
        );
        assert!(parse_from(&default_from("http://localhost:8080")).is_ok());
        assert!(parse_from("okwallet <noreply@example.com>").is_ok());
        assert!(parse_from("not a sender").is_err());
    }

    #[test]
    fn a_mail_is_plain_text_to_its_address() {
        let mail = OutboxMessage {
            id: "m1".into(),
            user_id: None,
            to_address: "mia@example.com".into(),
            kind: "verify_email".into(),
            locale: "zh-CN".into(),
            subject: "请验证您的邮箱地址".into(),
            body_text: "您的防钓鱼码：蓝色狐狸\n".into(),
            created_at_ms: 0,
            attempts: 1,
            next_attempt_at_ms: 0,
            sent_at_ms: None,
            last_error: None,
        };
        let from = parse_from("okwallet <noreply@example.com>").unwrap();
        let raw = String::from_utf8(message(&from, &mail).unwrap().formatted()).unwrap();
        assert!(raw.contains("To: mia@example.com"), "{raw}");
        assert!(raw.contains("Message-ID: <m1@example.com>"), "{raw}");
        assert!(
            raw.contains("Content-Type: text/plain; charset=utf-8"),
            "{raw}"
        );
        let bad = OutboxMessage {
            to_address: "not an address".into(),
            ..mail
        };
        assert!(message(&from, &bad).is_err());
    }
}
