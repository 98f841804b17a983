//! Merchant webhooks: signing, and the worker that delivers them.
//!
//! Every delivery is a POST of the event's JSON with the header
//! `Okwallet-Signature: t=<unix seconds>,v1=<hex HMAC-SHA-256 of "<t>.<body>">`, keyed with the
//! merchant's webhook secret. A receiver recomputes it, compares in constant time, and refuses a
//! timestamp older than its tolerance (five minutes is usual), so a captured request cannot be
//! replayed later. The event's `id` stays the same on every attempt: a receiver that remembers
//! ids it has handled gets no second effect from a second delivery.
//!
//! A 2xx answer delivers; anything else (or no answer within the timeout) is retried after the
//! next wait of the backoff schedule; after the last it is marked failed, and the merchant can
//! send it again from the delivery log.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The signature header's name.
pub const SIGNATURE_HEADER: &str = "Okwallet-Signature";

/// The header value for `body` sent at `timestamp_s`.
pub fn sign(secret: &[u8], timestamp_s: i64, body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(timestamp_s.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "t={timestamp_s},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// Checks a header value as a receiver should: a `v1` signature over the body with its `t`, and
/// `t` within `tolerance_s` of `now_s`.
pub fn verify(secret: &[u8], header: &str, body: &[u8], now_s: i64, tolerance_s: i64) -> bool {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", s)) => signatures.extend(hex::decode(s).ok()),
            _ => {}
        }
    }
    let Some(t) = timestamp else {
        return false;
    };
    if (now_s - t).abs() > tolerance_s {
        return false;
    }
    signatures.iter().any(|sig| {
        let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
        mac.update(t.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.verify_slice(sig).is_ok()
    })
}

/// How deliveries are retried.
#[derive(Clone, Debug)]
pub struct DeliverySettings {
    /// The wait before each retry; its length is the number of retries.
    pub backoff: Vec<Duration>,
    /// How long one attempt may take.
    pub timeout: Duration,
    /// How often the worker looks for due deliveries.
    pub poll: Duration,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        DeliverySettings {
            // 8 attempts over about a day and a half.
            backoff: [30, 120, 600, 1800, 3600, 6 * 3600, 24 * 3600]
                .into_iter()
                .map(Duration::from_secs)
                .collect(),
            timeout: Duration::from_secs(10),
            poll: Duration::from_secs(1),
        }
    }
}

/// Delivers due webhooks until the process ends; safe to run on every node.
pub fn spawn_deliverer(
    db: store::Db,
    key: identity::sealed::SecretKey,
    settings: DeliverySettings,
) -> tokio::task::JoinHandle<()> {
    let key = Arc::new(key);
    tokio::spawn(async move {
        let client = match reqwest::Client::builder()
            .timeout(settings.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
        {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "cannot build the webhook client; webhooks stay queued");
                return;
            }
        };
        loop {
            match deliver_due(&db, &key, &client, &settings).await {
                Ok(0) => tokio::time::sleep(settings.poll).await,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = format!("{e:#}"), "webhook delivery round failed");
                    tokio::time::sleep(settings.poll).await;
                }
            }
        }
    })
}

/// One round: claims due deliveries and tries each once. Returns how many it tried.
pub async fn deliver_due(
    db: &store::Db,
    key: &identity::sealed::SecretKey,
    client: &reqwest::Client,
    settings: &DeliverySettings,
) -> anyhow::Result<usize> {
    let lease_ms = i64::try_from(settings.timeout.as_millis()).unwrap_or(10_000) * 3;
    let due = db.claim_due_deliveries(20, lease_ms).await?;
    let tried = due.len();
    for delivery in due {
        let secret = match db.merchant_webhook(&delivery.merchant_id).await? {
            Some(hook) => key.open(&hook.secret_sealed, &secret_context(&delivery.merchant_id)),
            None => None,
        };
        let Some(secret) = secret else {
            db.record_delivery_attempt(
                &delivery.id,
                None,
                Some("no webhook endpoint is set"),
                0,
                false,
                None,
            )
            .await?;
            continue;
        };
        let started = Instant::now();
        let now_s = store::now_ms() / 1000;
        let signature = sign(&secret, now_s, delivery.payload.as_bytes());
        let answer = client
            .post(&delivery.url)
            .header("content-type", "application/json")
            .header(SIGNATURE_HEADER, signature)
            .header("Okwallet-Event-Id", &delivery.id)
            .header("user-agent", "okwallet-webhooks/1")
            .body(delivery.payload.clone())
            .send()
            .await;
        let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let (code, error, delivered) = match answer {
            Ok(r) => {
                let code = i64::from(r.status().as_u16());
                let ok = r.status().is_success();
                (Some(code), (!ok).then(|| format!("answered {code}")), ok)
            }
            Err(e) => (None, Some(describe(&e)), false),
        };
        // attempts counts this one: the n-th failure waits backoff[n-1].
        let retry_at = usize::try_from(delivery.attempts - 1)
            .ok()
            .and_then(|i| settings.backoff.get(i))
            .map(|wait| store::now_ms() + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2));
        db.record_delivery_attempt(
            &delivery.id,
            code,
            error.as_deref(),
            duration_ms,
            delivered,
            if delivered { None } else { retry_at },
        )
        .await?;
    }
    Ok(tried)
}

/// A transport error in a few words, without the URL's query (it may carry a token).
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "could not connect".to_owned()
    } else {
        "the request failed".to_owned()
    }
}

/// The sealing context of a merchant's webhook secret.
pub fn secret_context(merchant_id: &str) -> String {
    format!("webhook-secret:{merchant_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_for_its_body_key_and_time() {
        let secret = b"whsec_test";
        let body = br#"{"id":"evt_1"}"#;
        let header = sign(secret, 1_700_000_000, body);
        assert!(header.starts_with("t=1700000000,v1="));
        assert!(verify(secret, &header, body, 1_700_000_100, 300));
        assert!(!verify(
            secret,
            &header,
            br#"{"id":"evt_2"}"#,
            1_700_000_100,
            300
        ));
        assert!(!verify(b"another", &header, body, 1_700_000_100, 300));
        assert!(
            !verify(secret, &header, body, 1_700_000_301, 300),
            "too old"
        );
        assert!(
            !verify(secret, "v1=00", body, 1_700_000_000, 300),
            "no timestamp"
        );
        assert!(!verify(
            secret,
            "t=1700000000,v1=zz",
            body,
            1_700_000_000,
            300
        ));
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        // Computed independently (Python's hmac module): HMAC-SHA256(key="key", "1.x").
        assert_eq!(
            sign(b"key", 1, b"x"),
            "t=1,v1=fc4913c41a7bf793267e2a384f3261c9436ec2cd097bd745e7b0d99113f510ec"
        );
    }
}
