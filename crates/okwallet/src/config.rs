//! Configuration: flags, then `OKWALLET_*` environment variables, then an optional TOML file,
//! then defaults — the first that sets a key wins.
//!
//! A bad value stops the program with status 2 and a message that names the key and where it
//! came from. Secrets (the database and SMTP passwords) are never printed: [`Config`]'s `Debug`
//! redacts.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// A configuration error: which key, from where, and what is wrong.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// How log lines are written to standard error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The settled configuration.
#[derive(Clone)]
pub struct Config {
    /// `None`: embedded SQLite in `data_dir`.
    pub database_url: Option<String>,
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub log_format: LogFormat,
    pub ledger: store::writer::WriterConfig,
    /// `None`: `http://localhost:<port>` from `listen`.
    pub public_url: Option<String>,
    pub unfreeze_cooling_off_s: u64,
    pub withdrawal_lock_s: u64,
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Where the key for secrets at rest is; `None`: `OKWALLET_SECRET_KEY`, or (SQLite) a key
    /// file beside the database.
    pub secret_key_file: Option<PathBuf>,
    /// `None`: no mail is sent; it stays in the outbox.
    pub smtp_url: Option<String>,
    /// `None`: `okwallet <noreply@HOST>` with the public URL's host.
    pub mail_from: Option<String>,
    pub address_lock_s: u64,
    pub sim_block_time_s: u64,
    pub chains: Vec<FileChain>,
    /// Transfers, conversions and payments (`[payments]`, with `OKWALLET_PRICE_FEED`,
    /// `OKWALLET_PRICE_FEED_URL`, `OKWALLET_ALLOW_PRIVATE_WEBHOOKS` and
    /// `OKWALLET_WEBHOOK_BACKOFF_S` laid over it).
    pub payments: FilePaymentsConfig,
    /// The help center (`[helpcenter]`), checked.
    pub helpcenter: FileHelpcenterConfig,
    /// The help desk (`[helpdesk]`), checked.
    pub helpdesk: FileHelpdeskConfig,
    /// Live support (`[live]`, with `OKWALLET_CTI_SECRET` laid over it).
    pub live: FileLiveConfig,
}

impl Config {
    /// The URL to connect to: the configured one, or the SQLite file in the data folder.
    pub fn effective_database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| store::sqlite_url_for_dir(&self.data_dir))
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field(
                "database_url",
                &self.database_url.as_deref().map(store::redact_url),
            )
            .field("data_dir", &self.data_dir)
            .field("listen", &self.listen)
            .field("log_format", &self.log_format)
            .field("ledger", &self.ledger)
            .field("public_url", &self.public_url)
            .field("unfreeze_cooling_off_s", &self.unfreeze_cooling_off_s)
            .field("withdrawal_lock_s", &self.withdrawal_lock_s)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("secret_key_file", &self.secret_key_file)
            .field("smtp_url", &self.smtp_url.as_deref().map(store::redact_url))
            .field("mail_from", &self.mail_from)
            .field("address_lock_s", &self.address_lock_s)
            .field("sim_block_time_s", &self.sim_block_time_s)
            .field(
                "chains",
                &self
                    .chains
                    .iter()
                    .map(|c| (&c.id, &c.kind))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// The optional TOML file. Unknown keys are errors, so a typo is never silently ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub database_url: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub listen: Option<String>,
    pub log_format: Option<String>,
    pub public_url: Option<String>,
    /// Addresses of reverse proxies whose `X-Forwarded-For` header is believed.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    pub secret_key_file: Option<PathBuf>,
    pub smtp_url: Option<String>,
    pub mail_from: Option<String>,
    #[serde(default)]
    pub ledger: FileLedgerConfig,
    #[serde(default)]
    pub security: FileSecurityConfig,
    #[serde(default)]
    pub wallet: FileWalletConfig,
    /// The chains deposits and withdrawals travel on (`[[chains]]`); none outside the demo
    /// means no deposits or withdrawals.
    #[serde(default)]
    pub chains: Vec<FileChain>,
    #[serde(default)]
    pub payments: FilePaymentsConfig,
    #[serde(default)]
    pub helpcenter: FileHelpcenterConfig,
    #[serde(default)]
    pub helpdesk: FileHelpdeskConfig,
    #[serde(default)]
    pub live: FileLiveConfig,
}

/// `[live]`: live support's connections to the outside.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileLiveConfig {
    /// The secret the PBX signs its call events with (HMAC-SHA-256); without it
    /// `POST /api/v1/cti/events` is off. At least 16 characters.
    pub cti_secret: Option<String>,
    /// STUN/TURN servers for in-app calls, handed to the browsers of each call, e.g.
    /// `[[live.ice_servers]] urls = ["turn:turn.example.com:3478"] username = "…" credential = "…"`
    /// (coturn). Without any, calls connect directly, which works inside one network only.
    #[serde(default)]
    pub ice_servers: Vec<web::IceServer>,
    /// Tries before a callback is missed (default 3, 1 to 10).
    pub callback_max_attempts: Option<i64>,
    /// Minutes before an unanswered callback is tried again (default 15, 1 to 240).
    pub callback_retry_after_min: Option<i64>,
}

impl fmt::Debug for FileLiveConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileLiveConfig")
            .field(
                "cti_secret",
                &self.cti_secret.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "ice_servers",
                &self.ice_servers.iter().map(|s| &s.urls).collect::<Vec<_>>(),
            )
            .field("callback_max_attempts", &self.callback_max_attempts)
            .field("callback_retry_after_min", &self.callback_retry_after_min)
            .finish()
    }
}

impl FileLiveConfig {
    /// `OKWALLET_CTI_SECRET` over the file, checked.
    pub fn settled(mut self) -> Result<FileLiveConfig, ConfigError> {
        if let Ok(v) = std::env::var("OKWALLET_CTI_SECRET") {
            self.cti_secret = Some(v.trim().to_owned()).filter(|v| !v.is_empty());
        }
        if let Some(secret) = &self.cti_secret {
            if secret.chars().count() < 16 {
                return Err(ConfigError(
                    "live.cti_secret: at least 16 characters (the value is not shown)".into(),
                ));
            }
        }
        for server in &self.ice_servers {
            let known = |u: &String| {
                ["stun:", "turn:", "turns:"]
                    .iter()
                    .any(|scheme| u.starts_with(scheme) && u.len() > scheme.len())
            };
            if server.urls.is_empty() || !server.urls.iter().all(known) {
                return Err(ConfigError(
                    "live.ice_servers: each needs urls starting with stun:, turn: or turns:".into(),
                ));
            }
            let turn = server.urls.iter().any(|u| u.starts_with("turn"));
            if turn && (server.username.is_none() || server.credential.is_none()) {
                return Err(ConfigError(
                    "live.ice_servers: a TURN server needs username and credential".into(),
                ));
            }
        }
        if let Some(n) = self.callback_max_attempts {
            if !(1..=10).contains(&n) {
                return Err(ConfigError(format!(
                    "live.callback_max_attempts: {n} is not from 1 to 10"
                )));
            }
        }
        if let Some(m) = self.callback_retry_after_min {
            if !(1..=240).contains(&m) {
                return Err(ConfigError(format!(
                    "live.callback_retry_after_min: {m} is not from 1 to 240"
                )));
            }
        }
        Ok(self)
    }

    /// The callback policy: the configured tries and wait over the defaults.
    pub fn callback_policy(&self) -> helpdesk::callbacks::Policy {
        let defaults = helpdesk::callbacks::Policy::default();
        helpdesk::callbacks::Policy {
            max_attempts: self.callback_max_attempts.unwrap_or(defaults.max_attempts),
            retry_after_ms: self
                .callback_retry_after_min
                .map_or(defaults.retry_after_ms, |m| m * 60_000),
            ..defaults
        }
    }
}

/// `[helpdesk]`: tickets' lifecycle, complaints and SLA warnings.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileHelpdeskConfig {
    /// Days after which a solved ticket closes if the customer did not reply (default 4).
    pub close_solved_after_days: Option<u64>,
    /// Business hours supervisors have to answer a complaint (default 8).
    pub complaint_due_business_h: Option<u64>,
    /// Percent of a target after which a ticket is near its breach (default 80).
    pub near_breach_percent: Option<u16>,
    /// Seconds between the SLA watcher's rounds (default 15).
    pub watch_interval_s: Option<u64>,
}

impl FileHelpdeskConfig {
    /// Checks the values and fills in the defaults.
    pub fn settled(mut self) -> Result<FileHelpdeskConfig, ConfigError> {
        let days = self.close_solved_after_days.unwrap_or(4);
        if !(1..=90).contains(&days) {
            return Err(ConfigError(format!(
                "helpdesk.close_solved_after_days = {days}: from 1 to 90"
            )));
        }
        self.close_solved_after_days = Some(days);
        let hours = self.complaint_due_business_h.unwrap_or(8);
        if !(1..=240).contains(&hours) {
            return Err(ConfigError(format!(
                "helpdesk.complaint_due_business_h = {hours}: from 1 to 240"
            )));
        }
        self.complaint_due_business_h = Some(hours);
        let percent = self.near_breach_percent.unwrap_or(80);
        if !(1..=99).contains(&percent) {
            return Err(ConfigError(format!(
                "helpdesk.near_breach_percent = {percent}: from 1 to 99"
            )));
        }
        self.near_breach_percent = Some(percent);
        self.watch_interval_s = Some(self.watch_interval_s.unwrap_or(15).clamp(1, 3600));
        Ok(self)
    }
}

/// `[helpcenter]`: what the official check knows besides the contact channels, and times.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileHelpcenterConfig {
    /// The calling code for phone numbers written without one (default `86`).
    pub default_country_code: Option<String>,
    /// Domains that are ours besides the website channels and the public URL's host.
    #[serde(default)]
    pub official_domains: Vec<String>,
    /// The IANA zone times are shown in when a viewer's is unknown (default Asia/Shanghai).
    pub time_zone: Option<String>,
    /// Seconds between checks for articles edited on other nodes (default 5).
    pub sync_interval_s: Option<u64>,
}

impl FileHelpcenterConfig {
    /// Checks the values and fills in the defaults.
    pub fn settled(mut self) -> Result<FileHelpcenterConfig, ConfigError> {
        let code = self
            .default_country_code
            .take()
            .unwrap_or_else(|| "86".into());
        let code = code.trim().trim_start_matches('+').to_owned();
        if code.is_empty() || code.len() > 3 || !code.chars().all(|c| c.is_ascii_digit()) {
            return Err(ConfigError(format!(
                "helpcenter.default_country_code = {code:?}: one to three digits, e.g. 86"
            )));
        }
        self.default_country_code = Some(code);
        let zone = self
            .time_zone
            .take()
            .unwrap_or_else(|| "Asia/Shanghai".into());
        if jiff::tz::TimeZone::get(&zone).is_err() {
            return Err(ConfigError(format!(
                "helpcenter.time_zone = {zone:?}: an IANA time zone, e.g. Asia/Shanghai"
            )));
        }
        self.time_zone = Some(zone);
        for d in &self.official_domains {
            if !d.contains('.') || d.contains(char::is_whitespace) || d.contains('/') {
                return Err(ConfigError(format!(
                    "helpcenter.official_domains: {d:?} is not a domain"
                )));
            }
        }
        self.sync_interval_s = Some(self.sync_interval_s.unwrap_or(5).clamp(1, 3600));
        Ok(self)
    }
}

/// `[payments]`: conversions, limits and merchant webhooks.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilePaymentsConfig {
    /// Where prices come from: `admin` (set by administrators; the default outside the demo),
    /// `http` (a JSON endpoint, `price_feed_url` and `price_pointers`) or `simulated` (the
    /// demo's default).
    pub price_feed: Option<String>,
    pub price_feed_url: Option<String>,
    /// Asset code → JSON pointer to its US-dollar price in the feed's answer.
    #[serde(default)]
    pub price_pointers: std::collections::BTreeMap<String, String>,
    /// How long a quote holds (default 15 s).
    pub quote_ttl_s: Option<u64>,
    /// Conversion fee and spread in basis points (defaults 10 and 50).
    pub fee_bps: Option<u32>,
    pub spread_bps: Option<u32>,
    /// Daily limits: kind (`transfer`, `conversion`, `payment`) → asset → amount in units.
    #[serde(default)]
    pub daily_limits:
        std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
    /// Paying more than this (asset → amount) needs a fresh second factor.
    #[serde(default)]
    pub pay_step_up_above: std::collections::BTreeMap<String, String>,
    /// Let merchants point webhooks at loopback and private addresses (default false).
    pub allow_private_webhooks: Option<bool>,
    /// Waits before each webhook retry, in seconds (default 30, 120, 600, 1800, 3600, 21600,
    /// 86400).
    pub webhook_backoff_s: Option<Vec<u64>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileWalletConfig {
    /// Seconds before a new withdrawal address can be used (default 86,400: 24 hours).
    pub address_lock_s: Option<u64>,
    /// The demo's simulated block time in seconds (default 3).
    pub sim_block_time_s: Option<u64>,
}

/// One chain: `kind = "evm"` with an `rpc_url`, or `kind = "sim"` (the simulated chain).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileChain {
    /// The name assets use for it (`ethereum`).
    pub id: String,
    pub kind: String,
    pub rpc_url: Option<String>,
    /// The network's chain id (1 for Ethereum mainnet); a node reporting another is refused.
    pub chain_id: Option<u64>,
    /// The usual seconds between blocks, for ETAs (default 12).
    pub block_time_s: Option<u64>,
    /// Seconds before a withdrawal not mined gets a higher fee (default 120).
    pub stuck_after_s: Option<u64>,
    /// The most to bid per gas unit, in gwei (default 500).
    pub max_fee_gwei: Option<u64>,
    pub assets: Vec<FileChainAsset>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileChainAsset {
    /// An asset code from the assets list (`ETH`, `USDT`).
    pub code: String,
    /// The ERC-20 contract; absent for the chain's native coin.
    pub contract: Option<String>,
    /// Decimals on the chain (18 for ETH; the token's `decimals()`).
    pub chain_decimals: u8,
    pub confirmations: u32,
    /// Decimal strings in the asset's units.
    pub min_withdrawal: String,
    pub withdrawal_fee: String,
    pub daily_limit: String,
    pub review_above: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSecurityConfig {
    /// Seconds between a confirmed unfreeze request and the unfreeze.
    pub unfreeze_cooling_off_s: Option<u64>,
    /// Seconds withdrawals stay locked after a password reset or a second-factor change.
    pub withdrawal_lock_s: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileLedgerConfig {
    pub batch_events_max: Option<usize>,
    pub queue_requests_max: Option<usize>,
}

impl FileConfig {
    pub fn load(path: &Path) -> Result<FileConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError(format!(
                "config file {}: cannot be read: {e}",
                path.display()
            ))
        })?;
        toml::from_str(&text).map_err(|e| {
            ConfigError(format!(
                "config file {}: {}",
                path.display(),
                e.message().trim_end()
            ))
            .with_span(&text, e.span())
        })
    }
}

impl ConfigError {
    fn with_span(self, text: &str, span: Option<std::ops::Range<usize>>) -> ConfigError {
        match span {
            Some(span) => {
                let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                ConfigError(format!("{} (line {line})", self.0))
            }
            None => self,
        }
    }
}

/// One value and the name of where it came from, for error messages.
#[derive(Clone, Debug)]
pub struct Sourced<T> {
    pub value: T,
    pub source: String,
}

/// The first of flag/environment, then file, that is set.
pub fn pick<T>(
    from_cli: Option<Sourced<T>>,
    from_file: Option<T>,
    file_key: &str,
) -> Option<Sourced<T>> {
    from_cli.or_else(|| {
        from_file.map(|value| Sourced {
            value,
            source: format!("config file key `{file_key}`"),
        })
    })
}

pub fn parse_listen(v: Sourced<String>) -> Result<SocketAddr, ConfigError> {
    v.value.parse().map_err(|_| {
        ConfigError(format!(
            "{} = {:?}: not an address like 127.0.0.1:8080",
            v.source, v.value
        ))
    })
}

pub fn parse_log_format(v: Sourced<String>) -> Result<LogFormat, ConfigError> {
    match v.value.as_str() {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        _ => Err(ConfigError(format!(
            "{} = {:?}: one of text, json",
            v.source, v.value
        ))),
    }
}

pub fn check_database_url(v: Sourced<String>) -> Result<String, ConfigError> {
    let ok = ["sqlite:", "postgres:", "postgresql:"]
        .iter()
        .any(|p| v.value.starts_with(p));
    if ok {
        Ok(v.value)
    } else {
        Err(ConfigError(format!(
            "{} = {:?}: use postgres://user@host/db or sqlite://path",
            v.source,
            store::redact_url(&v.value)
        )))
    }
}

pub fn parse_trusted_proxies(values: &[String]) -> Result<Vec<std::net::IpAddr>, ConfigError> {
    values
        .iter()
        .map(|v| {
            v.parse().map_err(|_| {
                ConfigError(format!(
                    "config file key `trusted_proxies`: {v:?} is not an IP address"
                ))
            })
        })
        .collect()
}

/// The public address must be an absolute http(s) URL without a path, so that links and the
/// passkey origin built from it are right.
pub fn check_public_url(v: Sourced<String>) -> Result<String, ConfigError> {
    let value = v.value.trim_end_matches('/').to_owned();
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains(['/', '?', '#', ' ']) => Ok(value),
        _ => Err(ConfigError(format!(
            "{} = {:?}: an address like https://wallet.example.com (scheme and host, no path)",
            v.source, v.value
        ))),
    }
}

/// An SMTP URL the mailer can use (see `mailer::lettre_url`); the password never appears in the
/// error.
pub fn check_smtp_url(v: Sourced<String>) -> Result<String, ConfigError> {
    match crate::mailer::lettre_url(&v.value) {
        Ok(_) => Ok(v.value),
        Err(why) => Err(ConfigError(format!(
            "{} = {:?}: {why}; use smtps://user:pass@host, smtp://user:pass@host:587 (STARTTLS) \
             or smtp://host:25?tls=none",
            v.source,
            store::redact_url(&v.value)
        ))),
    }
}

pub fn check_mail_from(v: Sourced<String>) -> Result<String, ConfigError> {
    match crate::mailer::parse_from(&v.value) {
        Ok(_) => Ok(v.value),
        Err(why) => Err(ConfigError(format!("{} = {:?}: {why}", v.source, v.value))),
    }
}

impl Config {
    /// The public address: the configured one, or localhost on the listening port. Browsers
    /// treat `localhost` as a secure context (cookies marked Secure, passkeys) even over HTTP;
    /// they do not treat a bare IP address as a passkey domain.
    pub fn effective_public_url(&self, port: u16) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://localhost:{port}"))
    }
}

pub fn check_positive(v: Sourced<usize>, max: usize) -> Result<usize, ConfigError> {
    if (1..=max).contains(&v.value) {
        Ok(v.value)
    } else {
        Err(ConfigError(format!(
            "{} = {}: between 1 and {max}",
            v.source, v.value
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_typos_name_the_key_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("okwallet.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:1\"\nlisten_addr = \"x\"\n").unwrap();
        let err = FileConfig::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("listen_addr") && err.contains("line 2"),
            "{err}"
        );
        std::fs::write(&path, "[ledger]\nbatch_events_max = \"many\"\n").unwrap();
        let err = FileConfig::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("batch_events_max") || err.contains("line 2"),
            "{err}"
        );
    }

    #[test]
    fn values_are_checked_with_their_source() {
        let src = |v: &str| Sourced {
            value: v.to_owned(),
            source: "OKWALLET_LISTEN (environment)".into(),
        };
        assert!(parse_listen(src("127.0.0.1:8080")).is_ok());
        let err = parse_listen(src("localhost")).unwrap_err().to_string();
        assert!(
            err.starts_with("OKWALLET_LISTEN (environment) = \"localhost\""),
            "{err}"
        );
        let err = check_database_url(Sourced {
            value: "mysql://u:pw@h/db".into(),
            source: "--database-url".into(),
        })
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("mysql://u:***@h/db") && !err.contains("pw"),
            "{err}"
        );
        assert!(parse_log_format(src("yaml")).is_err());
        assert_eq!(
            check_public_url(src("https://w.example.com/")).unwrap(),
            "https://w.example.com"
        );
        assert!(check_public_url(src("w.example.com")).is_err());
        assert!(check_public_url(src("https://w.example.com/app")).is_err());
        assert!(check_positive(
            Sourced {
                value: 0,
                source: "x".into()
            },
            10
        )
        .is_err());
    }

    #[test]
    fn ice_servers_are_checked_and_turn_credentials_never_shown() {
        let parse = |text: &str| {
            toml::from_str::<FileLiveConfig>(text)
                .unwrap()
                .settled()
                .map(|c| format!("{c:?}"))
        };
        let shown = parse(
            "[[ice_servers]]\nurls = [\"stun:stun.example.com:3478\"]\n\
             [[ice_servers]]\nurls = [\"turn:turn.example.com:3478\"]\n\
             username = \"okw\"\ncredential = \"turnpass-secret\"\n",
        )
        .unwrap();
        assert!(shown.contains("turn:turn.example.com:3478"), "{shown}");
        assert!(!shown.contains("turnpass-secret"), "{shown}");
        for bad in [
            "[[ice_servers]]\nurls = []\n",
            "[[ice_servers]]\nurls = [\"http://stun.example.com\"]\n",
            "[[ice_servers]]\nurls = [\"stun:\"]\n",
            "[[ice_servers]]\nurls = [\"turn:turn.example.com\"]\n",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_output_hides_the_password() {
        let config = Config {
            database_url: Some("postgres://okw:hunter2@db/okw".into()),
            data_dir: PathBuf::from("d"),
            listen: "127.0.0.1:1".parse().unwrap(),
            log_format: LogFormat::Text,
            ledger: Default::default(),
            public_url: None,
            unfreeze_cooling_off_s: 86_400,
            withdrawal_lock_s: 86_400,
            trusted_proxies: Vec::new(),
            secret_key_file: None,
            smtp_url: Some("smtp://mailer:s3cretmail@smtp.example.com:587".into()),
            mail_from: None,
            address_lock_s: 86_400,
            sim_block_time_s: 3,
            payments: FilePaymentsConfig::default(),
            helpcenter: FileHelpcenterConfig::default(),
            helpdesk: FileHelpdeskConfig::default(),
            live: FileLiveConfig::default(),
            chains: vec![FileChain {
                id: "ethereum".into(),
                kind: "evm".into(),
                rpc_url: Some("https://mainnet.example.com/v3/k3ysecret".into()),
                chain_id: Some(1),
                block_time_s: None,
                stuck_after_s: None,
                max_fee_gwei: None,
                assets: Vec::new(),
            }],
        };
        let shown = format!("{config:?}");
        assert!(
            !shown.contains("hunter2") && shown.contains("okw:***@db"),
            "{shown}"
        );
        assert!(
            !shown.contains("s3cretmail") && shown.contains("mailer:***@smtp.example.com"),
            "{shown}"
        );
        assert!(
            !shown.contains("k3ysecret") && shown.contains("ethereum"),
            "{shown}"
        );
        let err = check_smtp_url(Sourced {
            value: "smtp://mailer:s3cretmail@smtp.example.com?tls=maybe".into(),
            source: "OKWALLET_SMTP_URL (environment)".into(),
        })
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("OKWALLET_SMTP_URL (environment)") && !err.contains("s3cretmail"),
            "{err}"
        );
    }
}
