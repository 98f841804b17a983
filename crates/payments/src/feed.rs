//! The price-feed boundary: each asset's price in US dollars, from wherever the operator chose.
//!
//! - [`AdminFeed`]: prices an administrator sets (stored, shared by every node).
//! - [`HttpJsonFeed`]: an HTTP endpoint answering JSON, with a JSON pointer per asset (e.g. a
//!   CoinGecko-style `{"ethereum": {"usd": 3012.5}}` with pointer `/ethereum/usd`). Answers are
//!   cached for a few seconds; a feed that fails or answers nonsense prices nothing (the quote is
//!   refused `price_unavailable`), never a stale or zero price.
//! - [`SimFeed`]: the demo's simulated prices, moving slowly and deterministically with the
//!   clock, always labelled simulated.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context;
use async_trait::async_trait;
use rust_decimal::Decimal;

/// Prices by asset code, in US dollars.
pub type Prices = BTreeMap<String, Decimal>;

#[async_trait]
pub trait PriceFeed: Send + Sync {
    /// Current prices of every asset the feed knows; an error when it cannot say.
    async fn prices(&self) -> anyhow::Result<Prices>;
    /// Names the feed in quotes (`admin`, `http`, `simulated`).
    fn source(&self) -> &'static str;
    /// True for the demo's made-up prices.
    fn simulated(&self) -> bool {
        false
    }
}

/// Prices set by an administrator.
pub struct AdminFeed {
    db: store::Db,
}

impl AdminFeed {
    pub fn new(db: store::Db) -> AdminFeed {
        AdminFeed { db }
    }
}

#[async_trait]
impl PriceFeed for AdminFeed {
    async fn prices(&self) -> anyhow::Result<Prices> {
        let mut prices = Prices::new();
        for (asset, usd, _) in self.db.prices().await? {
            let usd: Decimal = usd.parse().context("a stored price")?;
            if usd > Decimal::ZERO {
                prices.insert(asset, usd);
            }
        }
        Ok(prices)
    }

    fn source(&self) -> &'static str {
        "admin"
    }
}

/// An HTTP JSON endpoint.
pub struct HttpJsonFeed {
    url: String,
    pointers: BTreeMap<String, String>,
    client: reqwest::Client,
    cache_for: Duration,
    cached: Mutex<Option<(Instant, Prices)>>,
}

impl HttpJsonFeed {
    /// `pointers`: asset code → JSON pointer to its dollar price (a number or a decimal string).
    pub fn new(
        url: String,
        pointers: BTreeMap<String, String>,
        cache_for: Duration,
    ) -> anyhow::Result<HttpJsonFeed> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .context("while building the price feed's HTTP client")?;
        Ok(HttpJsonFeed {
            url,
            pointers,
            client,
            cache_for,
            cached: Mutex::new(None),
        })
    }

    async fn fetch(&self) -> anyhow::Result<Prices> {
        let answer = self
            .client
            .get(&self.url)
            .send()
            .await
            .context("the price feed did not answer")?
            .error_for_status()
            .context("the price feed answered an error")?;
        let json: serde_json::Value = answer
            .json()
            .await
            .context("the price feed's answer is not JSON")?;
        let mut prices = Prices::new();
        for (asset, pointer) in &self.pointers {
            let Some(value) = json.pointer(pointer) else {
                continue;
            };
            let parsed = match value {
                serde_json::Value::Number(n) => n.to_string().parse::<Decimal>().ok(),
                serde_json::Value::String(s) => s.trim().parse::<Decimal>().ok(),
                _ => None,
            };
            if let Some(usd) = parsed.filter(|p| *p > Decimal::ZERO) {
                prices.insert(asset.clone(), usd);
            }
        }
        anyhow::ensure!(!prices.is_empty(), "the price feed priced no asset");
        Ok(prices)
    }
}

#[async_trait]
impl PriceFeed for HttpJsonFeed {
    async fn prices(&self) -> anyhow::Result<Prices> {
        if let Some((at, prices)) = &*self.cached.lock().unwrap_or_else(|e| e.into_inner()) {
            if at.elapsed() < self.cache_for {
                return Ok(prices.clone());
            }
        }
        let prices = self.fetch().await?;
        *self.cached.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((Instant::now(), prices.clone()));
        Ok(prices)
    }

    fn source(&self) -> &'static str {
        "http"
    }
}

/// The demo's simulated prices: a base price per asset moved by at most ±2 % along slow waves of
/// the clock, the same on every node at the same second.
pub struct SimFeed {
    base: Prices,
    clock: fn() -> i64,
}

impl SimFeed {
    pub fn new() -> SimFeed {
        let base = [("ETH", "3000"), ("BTC", "60000"), ("USDT", "1")]
            .into_iter()
            .map(|(a, p)| (a.to_owned(), p.parse().expect("a literal price")))
            .collect();
        SimFeed {
            base,
            clock: store::now_ms,
        }
    }

    /// The price of every asset at `now_ms`.
    pub fn at(&self, now_ms: i64) -> Prices {
        let seconds = now_ms / 1000;
        self.base
            .iter()
            .enumerate()
            .map(|(i, (asset, base))| {
                if asset == "USDT" {
                    return (asset.clone(), *base);
                }
                // A triangle wave of period 10 minutes, shifted per asset: -2 % … +2 %, in
                // steps of 0.01 %.
                let period = 600;
                let phase = (seconds + i as i64 * 97).rem_euclid(period);
                let tri = if phase < period / 2 {
                    phase
                } else {
                    period - phase
                };
                let bps = tri * 400 / (period / 2) - 200;
                let factor = Decimal::from(10_000 + bps) / Decimal::from(10_000);
                (asset.clone(), (*base * factor).round_dp(2))
            })
            .collect()
    }
}

impl Default for SimFeed {
    fn default() -> Self {
        SimFeed::new()
    }
}

#[async_trait]
impl PriceFeed for SimFeed {
    async fn prices(&self) -> anyhow::Result<Prices> {
        Ok(self.at((self.clock)()))
    }

    fn source(&self) -> &'static str {
        "simulated"
    }

    fn simulated(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulated_prices_stay_within_two_percent_and_repeat() {
        let feed = SimFeed::new();
        for t in (0..1_200_000).step_by(7_000) {
            let p = feed.at(t);
            let eth = p["ETH"];
            assert!(
                eth >= "2940".parse().unwrap() && eth <= "3060".parse().unwrap(),
                "{eth}"
            );
            assert_eq!(p["USDT"], Decimal::ONE);
            assert_eq!(feed.at(t), p, "the same second prices the same");
        }
        assert_ne!(feed.at(0)["ETH"], feed.at(150_000)["ETH"], "prices move");
    }
}
