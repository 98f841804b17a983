//! Announcements' rules: the kinds (maintenance, security, incident), the states each kind
//! moves through, which ones are current, and which features an announcement affects — so the
//! deposit page can show "ETH deposits delayed" and nothing about BTC.

/// What an announcement is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Maintenance,
    Security,
    Incident,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "maintenance" => Some(Kind::Maintenance),
            "security" => Some(Kind::Security),
            "incident" => Some(Kind::Incident),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Maintenance => "maintenance",
            Kind::Security => "security",
            Kind::Incident => "incident",
        }
    }

    /// The states it moves through, in order; the last one ends it.
    pub fn states(self) -> &'static [&'static str] {
        match self {
            Kind::Maintenance => &["scheduled", "in_progress", "completed"],
            Kind::Security => &["active", "archived"],
            Kind::Incident => &["investigating", "identified", "monitoring", "resolved"],
        }
    }

    pub fn first_state(self) -> &'static str {
        self.states()[0]
    }

    pub fn is_final(self, state: &str) -> bool {
        self.states().last() == Some(&state)
    }

    pub fn label(self, zh: bool) -> &'static str {
        match (self, zh) {
            (Kind::Maintenance, true) => "维护公告",
            (Kind::Maintenance, false) => "Maintenance",
            (Kind::Security, true) => "安全公告",
            (Kind::Security, false) => "Security notice",
            (Kind::Incident, true) => "服务故障",
            (Kind::Incident, false) => "Incident",
        }
    }
}

/// A state's words.
pub fn state_label(state: &str, zh: bool) -> &'static str {
    match (state, zh) {
        ("scheduled", true) => "已计划",
        ("scheduled", false) => "Scheduled",
        ("in_progress", true) => "进行中",
        ("in_progress", false) => "In progress",
        ("completed", true) => "已完成",
        ("completed", false) => "Completed",
        ("active", true) => "请注意",
        ("active", false) => "Active",
        ("archived", true) => "已归档",
        ("archived", false) => "Archived",
        ("investigating", true) => "正在调查",
        ("investigating", false) => "Investigating",
        ("identified", true) => "已找到原因",
        ("identified", false) => "Identified",
        ("monitoring", true) => "已修复，观察中",
        ("monitoring", false) => "Monitoring",
        ("resolved", true) => "已解决",
        ("resolved", false) => "Resolved",
        (_, true) => "未知",
        (_, false) => "Unknown",
    }
}

/// Whether it still concerns people at `now_ms`: not in its final state, and for maintenance
/// not past its end.
pub fn is_current(kind: Kind, state: &str, ends_at_ms: Option<i64>, now_ms: i64) -> bool {
    if kind.is_final(state) {
        return false;
    }
    match (kind, ends_at_ms) {
        (Kind::Maintenance, Some(end)) => now_ms < end,
        _ => true,
    }
}

/// The features an announcement can name.
pub const FEATURES: [&str; 7] = [
    "deposit", "withdraw", "send", "convert", "pay", "login", "support",
];

/// Reads `deposit:ETH, withdraw` into (feature, asset) pairs; an unknown feature is an error
/// naming it.
pub fn parse_affected(text: &str) -> Result<Vec<(String, Option<String>)>, String> {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (feature, asset) = match part.split_once(':') {
            Some((f, a)) => (f.trim().to_lowercase(), Some(a.trim().to_uppercase())),
            None => (part.to_lowercase(), None),
        };
        if !FEATURES.contains(&feature.as_str()) {
            return Err(format!(
                "unknown feature {feature:?} (use {})",
                FEATURES.join(", ")
            ));
        }
        if asset.as_deref() == Some("") {
            return Err(format!("{part:?}: the asset after ':' is missing"));
        }
        out.push((feature, asset));
    }
    Ok(out)
}

/// Whether an announcement naming `affected` concerns `feature` (for `asset`, when given): an
/// entry without an asset concerns every asset; one with an asset only that asset.
pub fn affects(affected: &str, feature: &str, asset: Option<&str>) -> bool {
    parse_affected(affected).is_ok_and(|pairs| {
        pairs.iter().any(|(f, a)| {
            f == feature
                && match (a, asset) {
                    (None, _) => true,
                    (Some(a), Some(asked)) => a.eq_ignore_ascii_case(asked),
                    (Some(_), None) => true,
                }
        })
    })
}

/// A feature's words, for "affects: …".
pub fn feature_label(feature: &str, zh: bool) -> &'static str {
    match (feature, zh) {
        ("deposit", true) => "充值",
        ("deposit", false) => "Deposits",
        ("withdraw", true) => "提现",
        ("withdraw", false) => "Withdrawals",
        ("send", true) => "转账",
        ("send", false) => "Transfers",
        ("convert", true) => "闪兑",
        ("convert", false) => "Conversions",
        ("pay", true) => "付款",
        ("pay", false) => "Payments",
        ("login", true) => "登录",
        ("login", false) => "Log-in",
        ("support", true) => "客服",
        ("support", false) => "Customer service",
        (_, true) => "其他",
        (_, false) => "Other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_and_currency() {
        let incident = Kind::parse("incident").unwrap();
        assert_eq!(incident.first_state(), "investigating");
        assert!(is_current(incident, "monitoring", None, 0));
        assert!(!is_current(incident, "resolved", None, 0));
        let m = Kind::Maintenance;
        assert!(is_current(m, "scheduled", Some(100), 99));
        assert!(!is_current(m, "in_progress", Some(100), 100));
        assert!(!is_current(m, "completed", None, 0));
        assert_eq!(Kind::parse("outage"), None);
    }

    #[test]
    fn affected_features_and_assets() {
        assert_eq!(
            parse_affected("deposit:eth, withdraw").unwrap(),
            [
                ("deposit".into(), Some("ETH".into())),
                ("withdraw".into(), None)
            ]
        );
        assert!(parse_affected("teleport").unwrap_err().contains("teleport"));
        assert!(parse_affected("deposit:").is_err());
        assert!(affects("deposit:ETH", "deposit", Some("ETH")));
        assert!(!affects("deposit:ETH", "deposit", Some("USDT")));
        assert!(affects("deposit:ETH", "deposit", None));
        assert!(affects("deposit", "deposit", Some("BTC")));
        assert!(!affects("withdraw:ETH", "deposit", Some("ETH")));
        assert!(!affects("", "deposit", None));
    }
}
