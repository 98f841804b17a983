//! The troubleshooters' rules: from plain facts about one account (read by the web layer from
//! the live state) to findings for one of the five common problems (登录失败, 到账延迟, 无法交易,
//! 账户安全, 支付失败). Each finding has a stable `code`, how much it matters, the item it is
//! about, the values its explanation names, and the next step — an action a button can do where
//! one exists (reset, freeze, retry, contact).
//!
//! Pure: no I/O, no clock (the facts carry `now_ms`), no texts (the pages and the API word each
//! code in both languages). Findings come most important first; a troubleshooter that finds
//! nothing wrong says so with one `nothing_found` finding, never an empty list.

use std::collections::BTreeMap;

/// The five problems.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Problem {
    LoginFailed,
    FundsDelayed,
    CannotTrade,
    AccountSecurity,
    PaymentFailed,
}

impl Problem {
    pub const ALL: [Problem; 5] = [
        Problem::LoginFailed,
        Problem::FundsDelayed,
        Problem::CannotTrade,
        Problem::AccountSecurity,
        Problem::PaymentFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Problem::LoginFailed => "login_failed",
            Problem::FundsDelayed => "funds_delayed",
            Problem::CannotTrade => "cannot_trade",
            Problem::AccountSecurity => "account_security",
            Problem::PaymentFailed => "payment_failed",
        }
    }

    pub fn parse(text: &str) -> Option<Problem> {
        Problem::ALL.into_iter().find(|p| p.as_str() == text)
    }
}

/// How much a finding matters, most first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// This is why it does not work.
    Blocking,
    /// Something to act on.
    Warning,
    /// Worth knowing; nothing is wrong.
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Blocking => "blocking",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// What the next step's button does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send a password-reset link to the account's mailbox.
    ResetPassword,
    /// Freeze the account now.
    Freeze,
    /// Ask to unfreeze (after the cooling-off period).
    RequestUnfreeze,
    /// Sign out every other session.
    EndOtherSessions,
    SetAntiPhishingCode,
    TurnOnTwoStep,
    /// Send the email-verification link again.
    VerifyEmail,
    /// Add funds of this asset.
    Deposit(String),
    /// Try again (a new quote, a new withdrawal, the payment link again).
    Retry,
    /// Look at the item (an activity entry) or the status page.
    View,
    /// Nothing to do but wait until the time the finding names.
    Wait,
    /// A person must look: a ticket, chat or call, with this diagnosis attached.
    Contact,
}

impl Action {
    pub fn as_str(&self) -> &'static str {
        match self {
            Action::ResetPassword => "reset_password",
            Action::Freeze => "freeze",
            Action::RequestUnfreeze => "request_unfreeze",
            Action::EndOtherSessions => "end_other_sessions",
            Action::SetAntiPhishingCode => "set_anti_phishing_code",
            Action::TurnOnTwoStep => "turn_on_two_step",
            Action::VerifyEmail => "verify_email",
            Action::Deposit(_) => "deposit",
            Action::Retry => "retry",
            Action::View => "view",
            Action::Wait => "wait",
            Action::Contact => "contact",
        }
    }
}

/// One thing the troubleshooter found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub code: &'static str,
    pub severity: Severity,
    /// The activity entry (deposit, withdrawal, movement), session or announcement it is about.
    pub item_id: Option<String>,
    /// The values its explanation names (`{asset}`, `{minutes}`, …).
    pub values: BTreeMap<&'static str, String>,
    pub action: Action,
}

impl Finding {
    fn new(code: &'static str, severity: Severity, action: Action) -> Finding {
        Finding {
            code,
            severity,
            item_id: None,
            values: BTreeMap::new(),
            action,
        }
    }

    fn about(mut self, id: &str) -> Finding {
        self.item_id = Some(id.to_owned());
        self
    }

    fn with(mut self, key: &'static str, value: impl ToString) -> Finding {
        self.values.insert(key, value.to_string());
        self
    }
}

/// The account itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountFacts {
    /// Frozen now (no unfreeze in effect yet).
    pub frozen: bool,
    /// An unfreeze was asked for and takes effect then.
    pub unfreeze_at_ms: Option<i64>,
    /// Sign-in is locked for this long after wrong passwords.
    pub locked_for_s: Option<u64>,
    /// Wrong passwords or codes in the last day.
    pub failed_logins_24h: u32,
    pub totp: bool,
    /// Two-step set-up started and never finished.
    pub totp_unfinished: bool,
    pub passkeys: i64,
    pub recovery_codes_left: i64,
    pub email_verified: bool,
    /// A reset link went to the mailbox recently (still valid).
    pub reset_link_sent_at_ms: Option<i64>,
    /// Withdrawals are held after a security change until then.
    pub withdrawals_locked_until_ms: Option<i64>,
    pub anti_phishing_code_set: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DepositFacts {
    pub id: String,
    pub asset: String,
    /// detected, confirming, credited, orphaned, too_small.
    pub status: String,
    pub confirmations: i64,
    pub confirmations_required: i64,
    pub eta_s: Option<u64>,
    pub amount: String,
    pub detected_at_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WithdrawalFacts {
    pub id: String,
    pub asset: String,
    /// requested, under_review, rejected, signed, broadcast, confirming, completed,
    /// failed_refunded, refused.
    pub status: String,
    pub reason_code: Option<String>,
    pub confirmations: i64,
    pub confirmations_required: i64,
    pub amount: String,
    pub created_at_ms: i64,
}

/// A current incident or maintenance, and what it affects (`deposit:ETH`, `convert`, …).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncidentFacts {
    pub id: String,
    pub title: String,
    /// Features affected: deposit, withdraw, send, convert, pay, login, support; with the
    /// assets named, when only some are.
    pub affects: Vec<(String, Option<String>)>,
}

impl IncidentFacts {
    fn touches(&self, feature: &str, asset: Option<&str>) -> bool {
        self.affects.iter().any(|(f, a)| {
            f == feature
                && match (a, asset) {
                    (None, _) => true,
                    (Some(a), Some(asset)) => a.eq_ignore_ascii_case(asset),
                    (Some(_), None) => false,
                }
        })
    }
}

/// A transfer, conversion or payment that was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefusedFacts {
    pub id: String,
    /// transfer, conversion, payment.
    pub kind: String,
    pub reason_code: String,
    pub asset: String,
    pub amount: String,
    pub at_ms: i64,
}

/// A daily limit and how much of it is used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitFacts {
    /// transfer, conversion, payment, withdrawal.
    pub kind: String,
    pub asset: String,
    pub daily: String,
    pub left: String,
    /// Nothing is left today.
    pub used_up: bool,
}

/// A sign-in from a device (browser on a system, and address) not seen before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewDeviceFacts {
    pub device: String,
    pub ip: String,
    pub at_ms: i64,
}

/// A security change (password reset, second factor added or removed, …) and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeFacts {
    pub kind: String,
    pub at_ms: i64,
}

/// Everything a troubleshooter reads. The web layer fills what the problem needs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    pub now_ms: i64,
    pub account: AccountFacts,
    /// Recent deposits and withdrawals, newest first.
    pub deposits: Vec<DepositFacts>,
    pub withdrawals: Vec<WithdrawalFacts>,
    pub incidents: Vec<IncidentFacts>,
    /// Refusals in the last week, newest first.
    pub refused: Vec<RefusedFacts>,
    pub limits: Vec<LimitFacts>,
    /// Assets with nothing available.
    pub empty_assets: Vec<String>,
    /// Other live sessions than the one asking.
    pub other_sessions: usize,
    pub new_devices: Vec<NewDeviceFacts>,
    /// Security changes in the last week, newest first.
    pub changes: Vec<ChangeFacts>,
    /// A passkey signed with a counter that went backwards (a copy may exist).
    pub passkey_clone_suspected: bool,
    /// The activity entry the person asked about, when they picked one.
    pub reference: Option<String>,
}

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 24 * 60 * MINUTE_MS;

fn minutes_until(now_ms: i64, at_ms: i64) -> i64 {
    ((at_ms - now_ms).max(0) + MINUTE_MS - 1) / MINUTE_MS
}

/// The findings for `problem`, most important first; never empty.
pub fn diagnose(problem: Problem, facts: &Facts) -> Vec<Finding> {
    let mut found = match problem {
        Problem::LoginFailed => login_failed(facts),
        Problem::FundsDelayed => funds_delayed(facts),
        Problem::CannotTrade => cannot_trade(facts),
        Problem::AccountSecurity => account_security(facts),
        Problem::PaymentFailed => payment_failed(facts),
    };
    // The one asked about first among equals, then as found.
    if let Some(r) = &facts.reference {
        found.sort_by_key(|f| (f.severity, f.item_id.as_deref() != Some(r.as_str())));
    } else {
        found.sort_by_key(|f| f.severity);
    }
    // Only general remarks (no problem, nothing of theirs in flight): say so first. A deposit
    // on its way, or "no payment refused", is itself the answer.
    let explained = found.iter().any(|f| {
        f.severity != Severity::Info
            || f.item_id.is_some()
            || matches!(f.code, "no_pending_funds" | "no_failed_payment")
    });
    if !explained {
        let nothing = Finding::new("nothing_found", Severity::Info, Action::Contact)
            .with("problem", problem.as_str());
        found.insert(0, nothing);
    }
    found
}

fn frozen(facts: &Facts, found: &mut Vec<Finding>) {
    let a = &facts.account;
    match a.unfreeze_at_ms.filter(|at| *at > facts.now_ms) {
        Some(at) => found.push(
            Finding::new("unfreeze_pending", Severity::Blocking, Action::Wait)
                .with("minutes", minutes_until(facts.now_ms, at))
                .with("at_ms", at),
        ),
        None if a.frozen => found.push(Finding::new(
            "account_frozen",
            Severity::Blocking,
            Action::RequestUnfreeze,
        )),
        None => {}
    }
}

fn incidents(facts: &Facts, feature: &str, asset: Option<&str>, found: &mut Vec<Finding>) {
    for i in &facts.incidents {
        if i.touches(feature, asset) && !found.iter().any(|f| f.item_id.as_deref() == Some(&i.id)) {
            found.push(
                Finding::new("incident", Severity::Warning, Action::View)
                    .about(&i.id)
                    .with("title", &i.title)
                    .with("feature", feature),
            );
        }
    }
}

fn login_failed(facts: &Facts) -> Vec<Finding> {
    let a = &facts.account;
    let mut found = Vec::new();
    if let Some(s) = a.locked_for_s {
        found.push(
            Finding::new("account_locked", Severity::Blocking, Action::ResetPassword)
                .with("minutes", s.div_ceil(60)),
        );
    } else if a.failed_logins_24h >= 3 {
        found.push(
            Finding::new(
                "many_failed_attempts",
                Severity::Warning,
                Action::ResetPassword,
            )
            .with("count", a.failed_logins_24h),
        );
    }
    // A frozen account still signs in (freezing stops money, not the owner), so it is no
    // reason here.
    if let Some(at) = a
        .reset_link_sent_at_ms
        .filter(|at| facts.now_ms - *at < 30 * MINUTE_MS)
    {
        found.push(
            Finding::new("reset_in_progress", Severity::Warning, Action::Wait)
                .with("minutes", minutes_until(facts.now_ms, at + 30 * MINUTE_MS)),
        );
    }
    if a.totp && a.recovery_codes_left == 0 && a.passkeys == 0 {
        found.push(Finding::new(
            "no_recovery_codes",
            Severity::Warning,
            Action::Contact,
        ));
    } else if a.totp {
        found.push(
            Finding::new("two_step_needed", Severity::Info, Action::View)
                .with("recovery_codes", a.recovery_codes_left),
        );
    }
    if a.passkeys > 0 {
        found.push(
            Finding::new("passkey_available", Severity::Info, Action::View)
                .with("count", a.passkeys),
        );
    }
    if !a.email_verified {
        found.push(Finding::new(
            "email_unverified",
            Severity::Info,
            Action::VerifyEmail,
        ));
    }
    incidents(facts, "login", None, &mut found);
    found
}

fn funds_delayed(facts: &Facts) -> Vec<Finding> {
    let mut found = Vec::new();
    for d in &facts.deposits {
        let f = match d.status.as_str() {
            "detected" | "confirming" => {
                let mut f = Finding::new("deposit_confirming", Severity::Info, Action::Wait)
                    .with("confirmations", d.confirmations)
                    .with("required", d.confirmations_required)
                    .with("minutes", d.eta_s.unwrap_or(0).div_ceil(60));
                // Far slower than the chain promises: someone should look.
                if facts.now_ms - d.detected_at_ms > DAY_MS {
                    f.code = "deposit_stuck";
                    f.severity = Severity::Warning;
                    f.action = Action::Contact;
                }
                f
            }
            "too_small" => Finding::new("deposit_too_small", Severity::Warning, Action::View),
            "orphaned" => Finding::new("deposit_orphaned", Severity::Warning, Action::Contact),
            _ => continue,
        };
        found.push(
            f.about(&d.id)
                .with("asset", &d.asset)
                .with("amount", &d.amount),
        );
        incidents(facts, "deposit", Some(&d.asset), &mut found);
    }
    for w in &facts.withdrawals {
        let f = match w.status.as_str() {
            "requested" | "under_review" => {
                Finding::new("withdrawal_under_review", Severity::Info, Action::Wait)
            }
            "signed" | "broadcast" | "confirming" => {
                Finding::new("withdrawal_confirming", Severity::Info, Action::Wait)
                    .with("confirmations", w.confirmations)
                    .with("required", w.confirmations_required)
            }
            "failed_refunded" => {
                Finding::new("withdrawal_failed", Severity::Warning, Action::Retry).with(
                    "reason",
                    w.reason_code.as_deref().unwrap_or("broadcast_rejected"),
                )
            }
            "rejected" => Finding::new("withdrawal_rejected", Severity::Warning, Action::Contact),
            "refused" => Finding::new("withdrawal_refused", Severity::Warning, Action::Retry).with(
                "reason",
                w.reason_code.as_deref().unwrap_or("insufficient_funds"),
            ),
            _ => continue,
        };
        // Failures and refusals matter for a week; what is still moving matters always.
        let settled = matches!(
            w.status.as_str(),
            "failed_refunded" | "rejected" | "refused"
        );
        if settled && facts.now_ms - w.created_at_ms > 7 * DAY_MS {
            continue;
        }
        found.push(
            f.about(&w.id)
                .with("asset", &w.asset)
                .with("amount", &w.amount),
        );
        incidents(facts, "withdraw", Some(&w.asset), &mut found);
    }
    if found.is_empty() {
        found.push(Finding::new(
            "no_pending_funds",
            Severity::Info,
            Action::View,
        ));
    }
    found
}

fn cannot_trade(facts: &Facts) -> Vec<Finding> {
    let a = &facts.account;
    let mut found = Vec::new();
    frozen(facts, &mut found);
    if let Some(until) = a.withdrawals_locked_until_ms.filter(|u| *u > facts.now_ms) {
        found.push(
            Finding::new("withdrawals_locked", Severity::Blocking, Action::Wait)
                .with("minutes", minutes_until(facts.now_ms, until))
                .with("at_ms", until)
                .with(
                    "change",
                    facts
                        .changes
                        .first()
                        .map_or("security_change", |c| c.kind.as_str()),
                ),
        );
    }
    for l in facts.limits.iter().filter(|l| l.used_up) {
        found.push(
            Finding::new("limit_reached", Severity::Blocking, Action::Wait)
                .with("kind", &l.kind)
                .with("asset", &l.asset)
                .with("daily", &l.daily),
        );
    }
    let mut seen = std::collections::BTreeSet::new();
    for r in facts
        .refused
        .iter()
        .filter(|r| r.kind != "payment" && facts.now_ms - r.at_ms < DAY_MS)
    {
        // The latest refusal of each kind and reason tells; older ones repeat it — unless it is
        // the one the person asked about.
        let asked = facts.reference.as_deref() == Some(r.id.as_str());
        if !seen.insert((r.kind.as_str(), r.reason_code.as_str())) && !asked {
            continue;
        }
        let (code, action) = match r.reason_code.as_str() {
            "quote_expired" => ("quote_expired", Action::Retry),
            "insufficient_funds" => ("insufficient_funds", Action::Deposit(r.asset.clone())),
            "insufficient_liquidity" => ("insufficient_liquidity", Action::Retry),
            "limit_exceeded" => ("limit_exceeded", Action::Wait),
            "account_frozen" => continue,
            _ => ("trade_refused", Action::Contact),
        };
        found.push(
            Finding::new(code, Severity::Warning, action)
                .about(&r.id)
                .with("kind", &r.kind)
                .with("asset", &r.asset)
                .with("amount", &r.amount)
                .with("reason", &r.reason_code),
        );
    }
    for feature in ["convert", "send", "withdraw"] {
        incidents(facts, feature, None, &mut found);
    }
    if !facts.empty_assets.is_empty() && !found.iter().any(|f| f.code == "insufficient_funds") {
        found.push(
            Finding::new("nothing_available", Severity::Info, Action::View)
                .with("assets", facts.empty_assets.join(", ")),
        );
    }
    found
}

fn account_security(facts: &Facts) -> Vec<Finding> {
    let a = &facts.account;
    let mut found = Vec::new();
    if facts.passkey_clone_suspected {
        found.push(Finding::new(
            "passkey_clone_suspected",
            Severity::Blocking,
            Action::Freeze,
        ));
    }
    for d in &facts.new_devices {
        found.push(
            Finding::new("new_device_login", Severity::Warning, Action::Freeze)
                .with("device", &d.device)
                .with("ip", &d.ip)
                .with("at_ms", d.at_ms),
        );
    }
    if a.failed_logins_24h >= 3 {
        found.push(
            Finding::new("failed_logins", Severity::Warning, Action::ResetPassword)
                .with("count", a.failed_logins_24h),
        );
    }
    for c in &facts.changes {
        found.push(
            Finding::new("recent_security_change", Severity::Info, Action::Freeze)
                .with("change", &c.kind)
                .with("at_ms", c.at_ms),
        );
    }
    if facts.other_sessions > 0 {
        found.push(
            Finding::new("other_sessions", Severity::Info, Action::EndOtherSessions)
                .with("count", facts.other_sessions),
        );
    }
    if !a.totp && a.passkeys == 0 {
        found.push(Finding::new(
            "two_step_off",
            Severity::Warning,
            Action::TurnOnTwoStep,
        ));
    } else if a.totp && a.recovery_codes_left <= 2 {
        found.push(
            Finding::new("recovery_codes_low", Severity::Warning, Action::View)
                .with("count", a.recovery_codes_left),
        );
    }
    if a.totp_unfinished {
        found.push(Finding::new(
            "two_step_unfinished",
            Severity::Info,
            Action::TurnOnTwoStep,
        ));
    }
    if !a.anti_phishing_code_set {
        found.push(Finding::new(
            "anti_phishing_unset",
            Severity::Warning,
            Action::SetAntiPhishingCode,
        ));
    }
    if a.frozen {
        found.push(Finding::new(
            "frozen_safe",
            Severity::Info,
            Action::RequestUnfreeze,
        ));
    }
    // A security problem found is worth a human's look when it is not obviously the owner.
    found
}

fn payment_failed(facts: &Facts) -> Vec<Finding> {
    let mut found = Vec::new();
    frozen(facts, &mut found);
    let mut seen = std::collections::BTreeSet::new();
    for r in facts
        .refused
        .iter()
        .filter(|r| r.kind == "payment" && facts.now_ms - r.at_ms < 7 * DAY_MS)
    {
        let asked = facts.reference.as_deref() == Some(r.id.as_str());
        if !seen.insert(r.reason_code.as_str()) && !asked {
            continue;
        }
        let (code, action) = match r.reason_code.as_str() {
            "insufficient_funds" => (
                "payment_insufficient_funds",
                Action::Deposit(r.asset.clone()),
            ),
            "limit_exceeded" => ("payment_limit_exceeded", Action::Wait),
            "expired" => ("payment_link_expired", Action::Contact),
            "request_cancelled" => ("payment_link_cancelled", Action::Contact),
            "already_paid" => ("payment_already_paid", Action::View),
            "wrong_asset" => ("payment_wrong_asset", Action::Retry),
            "account_frozen" => continue,
            _ => ("payment_refused", Action::Contact),
        };
        found.push(
            Finding::new(code, Severity::Warning, action)
                .about(&r.id)
                .with("asset", &r.asset)
                .with("amount", &r.amount)
                .with("reason", &r.reason_code),
        );
    }
    incidents(facts, "pay", None, &mut found);
    if found.is_empty() {
        found.push(Finding::new(
            "no_failed_payment",
            Severity::Info,
            Action::View,
        ));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    fn facts() -> Facts {
        Facts {
            now_ms: NOW,
            account: AccountFacts {
                email_verified: true,
                anti_phishing_code_set: true,
                totp: true,
                recovery_codes_left: 10,
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn codes(problem: Problem, f: &Facts) -> Vec<&'static str> {
        diagnose(problem, f).iter().map(|f| f.code).collect()
    }

    #[test]
    fn a_healthy_account_gets_nothing_found_first_never_an_empty_answer() {
        for p in Problem::ALL {
            let found = diagnose(p, &facts());
            assert!(!found.is_empty(), "{p:?}");
            let first = found[0].code;
            assert!(
                matches!(
                    first,
                    "nothing_found" | "no_pending_funds" | "no_failed_payment"
                ),
                "{p:?}: {found:?}"
            );
        }
    }

    #[test]
    fn a_locked_account_says_for_how_long_and_offers_a_reset() {
        let mut f = facts();
        f.account.locked_for_s = Some(61);
        let found = diagnose(Problem::LoginFailed, &f);
        assert_eq!(found[0].code, "account_locked");
        assert_eq!(found[0].values["minutes"], "2");
        assert_eq!(found[0].action, Action::ResetPassword);
    }

    #[test]
    fn failures_below_the_lock_are_a_warning_and_frozen_blocks() {
        let mut f = facts();
        f.account.failed_logins_24h = 3;
        f.account.frozen = true;
        assert_eq!(
            codes(Problem::LoginFailed, &f)[..1],
            ["many_failed_attempts"],
            "frozen accounts still sign in"
        );
        assert_eq!(codes(Problem::CannotTrade, &f), ["account_frozen"]);
        f.account.unfreeze_at_ms = Some(NOW + 90 * 60_000);
        let found = diagnose(Problem::CannotTrade, &f);
        assert_eq!(found[0].code, "unfreeze_pending");
        assert_eq!(found[0].values["minutes"], "90");
    }

    #[test]
    fn a_confirming_deposit_waits_and_names_an_incident_on_its_asset_only() {
        let mut f = facts();
        f.deposits.push(DepositFacts {
            id: "d1".into(),
            asset: "ETH".into(),
            status: "confirming".into(),
            confirmations: 2,
            confirmations_required: 6,
            eta_s: Some(48),
            amount: "1".into(),
            detected_at_ms: NOW - 60_000,
        });
        f.incidents.push(IncidentFacts {
            id: "i1".into(),
            title: "ETH slow".into(),
            affects: vec![("deposit".into(), Some("eth".into()))],
        });
        f.incidents.push(IncidentFacts {
            id: "i2".into(),
            title: "BTC slow".into(),
            affects: vec![("deposit".into(), Some("BTC".into()))],
        });
        let found = diagnose(Problem::FundsDelayed, &f);
        let codes: Vec<_> = found.iter().map(|f| (f.code, f.item_id.clone())).collect();
        assert_eq!(
            codes,
            [
                ("incident", Some("i1".into())),
                ("deposit_confirming", Some("d1".into()))
            ]
        );
        assert_eq!(found[1].values["minutes"], "1");
        f.deposits[0].detected_at_ms = NOW - 2 * DAY_MS;
        assert_eq!(
            codes_of(&f),
            ["deposit_stuck", "incident"],
            "stuck is a warning"
        );
    }

    fn codes_of(f: &Facts) -> Vec<&'static str> {
        codes(Problem::FundsDelayed, f)
    }

    #[test]
    fn old_failures_are_forgotten_moving_withdrawals_never() {
        let mut f = facts();
        for (id, status, age) in [
            ("w1", "failed_refunded", 8 * DAY_MS),
            ("w2", "under_review", 30 * DAY_MS),
        ] {
            f.withdrawals.push(WithdrawalFacts {
                id: id.into(),
                asset: "ETH".into(),
                status: status.into(),
                reason_code: None,
                confirmations: 0,
                confirmations_required: 6,
                amount: "1".into(),
                created_at_ms: NOW - age,
            });
        }
        assert_eq!(codes_of(&f), ["withdrawal_under_review"]);
    }

    #[test]
    fn the_latest_refusal_of_each_reason_counts_once_and_the_one_asked_about_comes_first() {
        let mut f = facts();
        for (id, reason) in [
            ("m3", "insufficient_funds"),
            ("m2", "quote_expired"),
            ("m1", "quote_expired"),
        ] {
            f.refused.push(RefusedFacts {
                id: id.into(),
                kind: "conversion".into(),
                reason_code: reason.into(),
                asset: "USDT".into(),
                amount: "5".into(),
                at_ms: NOW - 1000,
            });
        }
        f.reference = Some("m2".into());
        let found = diagnose(Problem::CannotTrade, &f);
        let ids: Vec<_> = found.iter().map(|f| f.item_id.as_deref()).collect();
        assert_eq!(ids, [Some("m2"), Some("m3")]);
        assert_eq!(found[1].action, Action::Deposit("USDT".into()));
    }

    #[test]
    fn security_warns_about_new_devices_and_an_unset_code_and_offers_freeze() {
        let mut f = facts();
        f.account.anti_phishing_code_set = false;
        f.account.totp = false;
        f.new_devices.push(NewDeviceFacts {
            device: "Firefox on Linux".into(),
            ip: "203.0.113.9".into(),
            at_ms: NOW - 1000,
        });
        f.other_sessions = 2;
        let found = diagnose(Problem::AccountSecurity, &f);
        let codes: Vec<_> = found.iter().map(|f| f.code).collect();
        assert_eq!(
            codes,
            [
                "new_device_login",
                "two_step_off",
                "anti_phishing_unset",
                "other_sessions"
            ]
        );
        assert_eq!(found[0].action, Action::Freeze);
    }

    #[test]
    fn payments_are_explained_by_their_reason() {
        let mut f = facts();
        f.refused.push(RefusedFacts {
            id: "p1".into(),
            kind: "payment".into(),
            reason_code: "expired".into(),
            asset: "USDT".into(),
            amount: "9".into(),
            at_ms: NOW - 1000,
        });
        assert_eq!(codes(Problem::PaymentFailed, &f), ["payment_link_expired"]);
        assert_eq!(
            codes(Problem::CannotTrade, &f),
            ["nothing_found"],
            "a payment is not a trade"
        );
    }
}
