//! What okwallet's mails say: the subject and plain-text body of every notice, in zh-CN and en.
//!
//! Pure functions over plain data: no I/O, no clock (times come in as Unix milliseconds), no
//! templates to load. Every body starts with the recipient's anti-phishing code, or a line asking
//! them to set one, so that they can tell our mail from a phisher's. A mail never contains a
//! password or any secret except the single-use link it exists to carry, and text that someone
//! else controls (a browser's user agent) is reduced to a few known names before it is shown, so
//! that nobody can smuggle a link or an instruction into a mail signed by us.

/// The language a mail is written in (the user's `locale`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Locale {
    ZhCn,
    En,
}

impl Locale {
    /// `zh-CN` (and other Simplified Chinese tags) are Chinese; everything else is English.
    pub fn from_tag(tag: &str) -> Locale {
        let tag = tag.to_ascii_lowercase();
        if tag == "zh" || tag.starts_with("zh-cn") || tag.starts_with("zh-hans") {
            Locale::ZhCn
        } else {
            Locale::En
        }
    }

    pub fn tag(self) -> &'static str {
        match self {
            Locale::ZhCn => "zh-CN",
            Locale::En => "en",
        }
    }
}

/// Who a mail is for, as far as its text is concerned.
#[derive(Clone, Copy, Debug)]
pub struct Recipient<'a> {
    pub locale: Locale,
    /// The phrase the user chose; `None` until they set one.
    pub anti_phishing_code: Option<&'a str>,
}

/// Every mail okwallet sends, with what its text needs. Links are complete URLs.
#[derive(Clone, Debug)]
pub enum Notice<'a> {
    /// Proves that the address reaches the person who signed up.
    VerifyEmail { link: &'a str, valid_for_h: u64 },
    /// The link the owner asked for to choose a new password.
    PasswordReset {
        link: &'a str,
        valid_for_min: u64,
        /// Who asked (an IP address), so that the owner can tell whether it was them.
        ip: &'a str,
        withdrawal_lock_h: u64,
    },
    /// After every successful sign-in, with a one-click freeze.
    NewLogin {
        at_ms: i64,
        ip: &'a str,
        user_agent: &'a str,
        freeze_link: &'a str,
    },
    /// A lockout started; a reset ends it at once.
    AccountLocked {
        locked_for_s: u64,
        reset_link: &'a str,
        reset_valid_for_min: u64,
    },
    PasswordChanged {
        at_ms: i64,
        ip: &'a str,
        withdrawal_lock_h: u64,
        freeze_link: &'a str,
    },
    /// An authenticator app became the account's second factor.
    MfaEnabled {
        at_ms: i64,
        ip: &'a str,
        withdrawal_lock_h: u64,
        freeze_link: &'a str,
    },
    Frozen {
        at_ms: i64,
        ip: &'a str,
        cooling_off_h: u64,
    },
    /// An unfreeze was confirmed and takes effect at `unfreeze_at_ms` unless frozen again.
    UnfreezeScheduled {
        unfreeze_at_ms: i64,
        freeze_link: &'a str,
    },
    AntiPhishingCodeChanged {
        at_ms: i64,
        ip: &'a str,
        freeze_link: &'a str,
    },
    /// A withdrawal was asked for, with a one-click freeze that stops it while it is queued.
    WithdrawalRequested {
        at_ms: i64,
        ip: &'a str,
        /// The amount with its asset, e.g. `0.5 ETH`.
        amount: &'a str,
        address: &'a str,
        freeze_link: &'a str,
    },
    /// An address was added to the withdrawal address book; it is usable from `usable_from_ms`.
    WithdrawalAddressAdded {
        at_ms: i64,
        ip: &'a str,
        address: &'a str,
        usable_from_ms: i64,
        freeze_link: &'a str,
    },
    /// Someone signed up with an address that already has an account; the sign-up itself
    /// answered as if the address were new.
    SignUpAttempt {
        at_ms: i64,
        ip: &'a str,
        /// The page to ask for a reset (no token: nobody asked for one).
        reset_page: &'a str,
    },
    /// An agent answered the user's ticket (never an internal note).
    TicketReply {
        number: i64,
        subject: &'a str,
        reply: &'a str,
        link: &'a str,
    },
    /// Someone asked "I can't log in" for this address: what the troubleshooter found (one
    /// line each, already in the recipient's language) and where to go next.
    LoginHelp {
        findings: &'a [&'a str],
        reset_link: &'a str,
        help_link: &'a str,
    },
    /// The user's ticket was solved: how to rate it, and that a reply reopens it.
    TicketSolved {
        number: i64,
        subject: &'a str,
        link: &'a str,
        rating_link: &'a str,
        reopen_days: u64,
    },
    /// The user's complaint reached the supervisors, who answer by `due_at_ms`.
    ComplaintReceived {
        number: i64,
        due_at_ms: i64,
        link: &'a str,
    },
    /// A supervisor decided on the user's complaint.
    ComplaintResolved {
        number: i64,
        outcome: &'a str,
        link: &'a str,
    },
    /// For staff: a ticket's first-response or resolution target is near or passed.
    SlaAlert {
        number: i64,
        subject: &'a str,
        /// `first_response` or `resolution`.
        clock: &'a str,
        breached: bool,
        due_at_ms: i64,
        link: &'a str,
    },
}

/// A rendered mail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mail {
    /// The notice's kind, e.g. `new_login` (stored with the mail, never shown).
    pub kind: &'static str,
    pub subject: String,
    pub body_text: String,
}

impl Notice<'_> {
    /// The stable name of the notice, stored with the queued mail.
    pub fn kind(&self) -> &'static str {
        match self {
            Notice::VerifyEmail { .. } => "verify_email",
            Notice::PasswordReset { .. } => "password_reset",
            Notice::NewLogin { .. } => "new_login",
            Notice::AccountLocked { .. } => "account_locked",
            Notice::PasswordChanged { .. } => "password_changed",
            Notice::MfaEnabled { .. } => "mfa_enabled",
            Notice::Frozen { .. } => "frozen",
            Notice::UnfreezeScheduled { .. } => "unfreeze_scheduled",
            Notice::AntiPhishingCodeChanged { .. } => "anti_phishing_code_changed",
            Notice::SignUpAttempt { .. } => "signup_attempt_on_existing_address",
            Notice::WithdrawalRequested { .. } => "withdrawal_requested",
            Notice::WithdrawalAddressAdded { .. } => "withdrawal_address_added",
            Notice::TicketReply { .. } => "ticket_reply",
            Notice::TicketSolved { .. } => "ticket_solved",
            Notice::LoginHelp { .. } => "login_help",
            Notice::ComplaintReceived { .. } => "complaint_received",
            Notice::ComplaintResolved { .. } => "complaint_resolved",
            Notice::SlaAlert { .. } => "sla_alert",
        }
    }
}

/// The subject and body of `notice` for `to`.
pub fn render(notice: &Notice<'_>, to: &Recipient<'_>) -> Mail {
    let (subject, middle) = match to.locale {
        Locale::En => english(notice),
        Locale::ZhCn => chinese(notice),
    };
    let body_text = format!(
        "{}\n\n{}\n\n{}\n",
        opening(to),
        middle.trim_end(),
        footer(to.locale)
    );
    Mail {
        kind: notice.kind(),
        subject,
        body_text,
    }
}

fn opening(to: &Recipient<'_>) -> String {
    match (to.locale, to.anti_phishing_code) {
        (Locale::En, Some(code)) => format!("Your anti-phishing code: {code}"),
        (Locale::ZhCn, Some(code)) => format!("您的防钓鱼码：{code}"),
        (Locale::En, None) => "You have not set an anti-phishing code yet. Set one in the security \
             centre: every email from us will then start with it, so that you can tell our mail \
             from phishing."
            .to_owned(),
        (Locale::ZhCn, None) => {
            "您尚未设置防钓鱼码。请在安全中心设置：此后我们发出的每封邮件开头都会显示它，帮助您识别钓鱼邮件。"
                .to_owned()
        }
    }
}

fn footer(locale: Locale) -> &'static str {
    match locale {
        Locale::En => "okwallet never asks for your password, one-time codes or recovery codes — \
             not by email, phone or chat.\n— okwallet security",
        Locale::ZhCn => {
            "okwallet 绝不会通过邮件、电话或在线客服索要您的密码、动态验证码或恢复码。\n—— okwallet 安全中心"
        }
    }
}

fn english(notice: &Notice<'_>) -> (String, String) {
    const FREEZE_HINT: &str = "If it was not you, freeze your account now. The link below signs \
         out every session and stops all withdrawals at once; it works once, within 7 days:";
    match notice {
        Notice::VerifyEmail { link, valid_for_h } => (
            "Confirm your email address".to_owned(),
            format!(
                "Hello,\n\nPlease confirm that this address belongs to you by opening the link \
                 below. It works once and expires in {}.\n\n{link}\n\nIf you did not create an \
                 okwallet account, ignore this email: nothing happens without the link.",
                hours_en(*valid_for_h)
            ),
        ),
        Notice::PasswordReset {
            link,
            valid_for_min,
            ip,
            withdrawal_lock_h,
        } => (
            "Reset your okwallet password".to_owned(),
            format!(
                "Hello,\n\nWe received a request to reset the password of your account (from IP \
                 address {}). To choose a new password, open the link below. It works once and \
                 expires in {valid_for_min} minutes.\n\n{link}\n\nAfter the reset every session is \
                 signed out and withdrawals are paused for {} as a precaution.\n\nIf you did not \
                 ask for this, ignore this email: your password stays as it is.",
                shown_ip(ip),
                hours_en(*withdrawal_lock_h)
            ),
        ),
        Notice::NewLogin {
            at_ms,
            ip,
            user_agent,
            freeze_link,
        } => (
            "New sign-in to your okwallet account".to_owned(),
            format!(
                "Hello,\n\nYour account was just signed in to.\n\nTime: {}\nIP address: {}\n\
                 Device: {}\n\nIf this was you, there is nothing to do.\n\n{FREEZE_HINT}\n\n\
                 {freeze_link}\n\nThen reset your password, or contact support.",
                time(*at_ms),
                shown_ip(ip),
                device(user_agent, Locale::En)
            ),
        ),
        Notice::AccountLocked {
            locked_for_s,
            reset_link,
            reset_valid_for_min,
        } => (
            "Your okwallet account is locked for now".to_owned(),
            format!(
                "Hello,\n\nThere were too many failed attempts to sign in to your account, so we \
                 locked it for {}. Nobody can sign in during that time, even with the right \
                 password.\n\nIf the attempts were yours and you have forgotten your password, \
                 reset it with the link below (it works once, within {reset_valid_for_min} \
                 minutes). A reset unlocks the account at once.\n\n{reset_link}\n\nIf they were \
                 not yours, someone may be guessing your password. Your funds stay where they \
                 are; once you are back in, consider turning on two-factor authentication.",
                duration_en(*locked_for_s)
            ),
        ),
        Notice::WithdrawalRequested {
            at_ms,
            ip,
            amount,
            address,
            freeze_link,
        } => (
            format!("Withdrawal of {amount} requested"),
            format!(
                "Hello,\n\nA withdrawal of {amount} to {address} was requested at {} (IP address \
                 {}).\n\nIf this was you, there is nothing else to do; you can follow it on the \
                 Withdraw page.\n\nWhile the account is frozen, a withdrawal that has not been \
                 sent yet stays where it is. {FREEZE_HINT}\n\n{freeze_link}\n\nThen contact support.",
                time(*at_ms),
                shown_ip(ip)
            ),
        ),
        Notice::TicketReply {
            number,
            subject,
            reply,
            link,
        } => (
            format!("Re: [#{number}] {subject}"),
            format!(
                "Hello,\n\nOur support team answered your ticket #{number} \"{subject}\":\n\n\
                 {}\n\nTo answer, open the ticket in the app (replies to this email are not \
                 read):\n\n{link}\n\nSupport staff will never ask you for a password, a \
                 one-time code, a recovery code or a seed phrase.",
                quoted(reply)
            ),
        ),
        Notice::LoginHelp {
            findings,
            reset_link,
            help_link,
        } => (
            "Why you cannot sign in to okwallet".to_owned(),
            format!(
                "Hello,\n\nSomeone (we hope you) asked why signing in to okwallet with this \
                 address does not work. This is what we found on the account:\n\n{}\n\nTo \
                 choose a new password:\n\n{reset_link}\n\nMore help, and a person if you \
                 need one:\n\n{help_link}\n\nIf you did not ask, you can ignore this mail: \
                 nothing was changed. Support staff will never ask you for a password, a \
                 one-time code, a recovery code or a seed phrase.",
                findings
                    .iter()
                    .map(|f| format!("- {f}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
        ),
        Notice::TicketSolved {
            number,
            subject,
            link,
            rating_link,
            reopen_days,
        } => (
            format!("[#{number}] Solved: {subject}"),
            format!(
                "Hello,\n\nWe consider your ticket #{number} \"{subject}\" solved. If it is not, \
                 answer it within {reopen_days} days and it opens again:\n\n{link}\n\nHow did \
                 we do? Rate our help from 1 to 5 (one click, no sign-in needed):\n\n\
                 {rating_link}\n\nIf you are unhappy with how your request was handled, you can \
                 also complain to a supervisor from the ticket page."
            ),
        ),
        Notice::ComplaintReceived {
            number,
            due_at_ms,
            link,
        } => (
            format!("[#{number}] Your complaint reached a supervisor"),
            format!(
                "Hello,\n\nYour complaint about ticket #{number} is now with our supervisors. \
                 A supervisor will look into it and answer by {}.\n\nFollow it here:\n\n\
                 {link}",
                time(*due_at_ms)
            ),
        ),
        Notice::ComplaintResolved {
            number,
            outcome,
            link,
        } => (
            format!("[#{number}] A supervisor answered your complaint"),
            format!(
                "Hello,\n\nA supervisor looked into your complaint about ticket #{number} and \
                 decided:\n\n{}\n\nThe ticket with the whole history:\n\n{link}\n\nThank \
                 you for telling us: every complaint is read and helps us improve.",
                quoted(outcome)
            ),
        ),
        Notice::SlaAlert {
            number,
            subject,
            clock,
            breached,
            due_at_ms,
            link,
        } => {
            let target = if *clock == "first_response" {
                "first-response"
            } else {
                "resolution"
            };
            let state = if *breached {
                format!("missed its {target} target, due {}", time(*due_at_ms))
            } else {
                format!("will miss its {target} target at {}", time(*due_at_ms))
            };
            (
                format!(
                    "[SLA] #{number} {}",
                    if *breached { "breached" } else { "due soon" }
                ),
                format!(
                    "Hello,\n\nTicket #{number} \"{subject}\" {state} unless someone acts.\n\n\
                     {link}"
                ),
            )
        }
        Notice::WithdrawalAddressAdded {
            at_ms,
            ip,
            address,
            usable_from_ms,
            freeze_link,
        } => (
            "A withdrawal address was added to your okwallet account".to_owned(),
            format!(
                "Hello,\n\nThe address {address} was added to your withdrawal address book at {} \
                 (IP address {}). It can receive withdrawals from {}.\n\nIf this was you, there \
                 is nothing else to do.\n\n{FREEZE_HINT}\n\n{freeze_link}\n\nThen contact support.",
                time(*at_ms),
                shown_ip(ip),
                time(*usable_from_ms)
            ),
        ),
        Notice::PasswordChanged {
            at_ms,
            ip,
            withdrawal_lock_h,
            freeze_link,
        } => (
            "Your okwallet password was changed".to_owned(),
            format!(
                "Hello,\n\nThe password of your account was changed at {} (IP address {}). Every \
                 session was signed out, and withdrawals are paused for {} as a precaution.\n\n\
                 If this was you, there is nothing else to do.\n\n{FREEZE_HINT}\n\n{freeze_link}\n\n\
                 Then contact support.",
                time(*at_ms),
                shown_ip(ip),
                hours_en(*withdrawal_lock_h)
            ),
        ),
        Notice::MfaEnabled {
            at_ms,
            ip,
            withdrawal_lock_h,
            freeze_link,
        } => (
            "Two-factor authentication is on".to_owned(),
            format!(
                "Hello,\n\nAn authenticator app became the second factor of your account at {} \
                 (IP address {}). From now on, signing in needs a code from it. Keep your recovery \
                 codes somewhere safe and offline. Withdrawals are paused for {} as a \
                 precaution.\n\nIf this was you, there is nothing else to do.\n\n{FREEZE_HINT}\n\n\
                 {freeze_link}",
                time(*at_ms),
                shown_ip(ip),
                hours_en(*withdrawal_lock_h)
            ),
        ),
        Notice::Frozen {
            at_ms,
            ip,
            cooling_off_h,
        } => (
            "Your okwallet account is frozen".to_owned(),
            format!(
                "Hello,\n\nYour account was frozen at {} (IP address {}). Every session was \
                 signed out, and no money can leave the account.\n\nTo unfreeze it, sign in and \
                 ask for it in the security centre. That needs your password and your second \
                 factor, and takes effect {} later.\n\nIf you did not freeze the account, your \
                 funds are safe all the same: nothing can be moved while it is frozen. Contact \
                 support if you need help.",
                time(*at_ms),
                shown_ip(ip),
                hours_en(*cooling_off_h)
            ),
        ),
        Notice::UnfreezeScheduled {
            unfreeze_at_ms,
            freeze_link,
        } => (
            "Your okwallet account will be unfrozen".to_owned(),
            format!(
                "Hello,\n\nAn unfreeze of your account was confirmed with your password and \
                 second factor. The account can be used again from {}.\n\nIf this was you, there \
                 is nothing to do.\n\nIf it was not you, freeze the account again now: the link \
                 below cancels the unfreeze and signs out every session. It works once, within \
                 7 days.\n\n{freeze_link}",
                time(*unfreeze_at_ms)
            ),
        ),
        Notice::AntiPhishingCodeChanged {
            at_ms,
            ip,
            freeze_link,
        } => (
            "Your anti-phishing code was changed".to_owned(),
            format!(
                "Hello,\n\nThe anti-phishing code of your account was set at {} (IP address {}). \
                 It is the code at the top of this email, and every email from us will show it \
                 from now on: an email without it is not from us.\n\n{FREEZE_HINT}\n\n\
                 {freeze_link}",
                time(*at_ms),
                shown_ip(ip)
            ),
        ),
        Notice::SignUpAttempt {
            at_ms,
            ip,
            reset_page,
        } => (
            "Someone tried to sign up with your email address".to_owned(),
            format!(
                "Hello,\n\nAt {}, someone tried to create a new okwallet account with this email \
                 address (IP address {}). You already have an account, so nothing was created \
                 and nothing changed.\n\nIf it was you, simply sign in. If you have forgotten \
                 your password, ask for a reset here:\n\n{reset_page}\n\nIf it was not you, \
                 there is nothing to do.",
                time(*at_ms),
                shown_ip(ip)
            ),
        ),
    }
}

fn chinese(notice: &Notice<'_>) -> (String, String) {
    const FREEZE_HINT: &str = "如果不是您本人操作，请立即冻结账户。打开下面的链接会立即退出所有会话并停止一切提现；链接 7 天内有效，仅可使用一次：";
    match notice {
        Notice::VerifyEmail { link, valid_for_h } => (
            "请验证您的邮箱地址".to_owned(),
            format!(
                "您好，\n\n请打开下面的链接，确认此邮箱地址属于您。链接仅可使用一次，{valid_for_h} 小时内有效。\n\n{link}\n\n如果您没有注册 okwallet 账户，请忽略本邮件：不打开链接就不会有任何变化。"
            ),
        ),
        Notice::PasswordReset {
            link,
            valid_for_min,
            ip,
            withdrawal_lock_h,
        } => (
            "重置您的 okwallet 密码".to_owned(),
            format!(
                "您好，\n\n我们收到了重置您账户密码的请求（来自 IP 地址 {}）。请打开下面的链接设置新密码。链接仅可使用一次，{valid_for_min} 分钟内有效。\n\n{link}\n\n为安全起见，重置后所有会话将退出登录，提现将暂停 {withdrawal_lock_h} 小时。\n\n如果不是您本人申请，请忽略本邮件，您的密码不会改变。",
                shown_ip(ip)
            ),
        ),
        Notice::NewLogin {
            at_ms,
            ip,
            user_agent,
            freeze_link,
        } => (
            "okwallet 账户新登录提醒".to_owned(),
            format!(
                "您好，\n\n您的账户刚刚完成了一次登录。\n\n时间：{}\nIP 地址：{}\n设备：{}\n\n如果是您本人操作，无需处理。\n\n{FREEZE_HINT}\n\n{freeze_link}\n\n之后请重置密码，或联系客服。",
                time(*at_ms),
                shown_ip(ip),
                device(user_agent, Locale::ZhCn)
            ),
        ),
        Notice::AccountLocked {
            locked_for_s,
            reset_link,
            reset_valid_for_min,
        } => (
            "您的 okwallet 账户已被临时锁定".to_owned(),
            format!(
                "您好，\n\n您的账户登录失败次数过多，我们已将其锁定 {}。在此期间任何人都无法登录，即使密码正确也不行。\n\n如果这些尝试是您本人且忘记了密码，请通过下面的链接重置（{reset_valid_for_min} 分钟内有效，仅可使用一次）。重置后账户立即解锁。\n\n{reset_link}\n\n如果不是您本人，可能有人正在猜测您的密码。您的资金不受影响；恢复登录后，建议开启双重验证。",
                duration_zh(*locked_for_s)
            ),
        ),
        Notice::WithdrawalRequested {
            at_ms,
            ip,
            amount,
            address,
            freeze_link,
        } => (
            format!("提现申请：{amount}"),
            format!(
                "您好，\n\n您的账户于 {}（IP 地址 {}）申请提现 {amount} 到地址 {address}。\n\n如果是您本人操作，无需其他处理，可以在提现页面查看进度。\n\n账户冻结期间，尚未发出的提现不会被发送。{FREEZE_HINT}\n\n{freeze_link}\n\n然后请联系客服。",
                time(*at_ms),
                shown_ip(ip)
            ),
        ),
        Notice::LoginHelp {
            findings,
            reset_link,
            help_link,
        } => (
            "为什么无法登录 okwallet".to_owned(),
            format!(
                "您好，\n\n有人（希望是您本人）询问为什么用此邮箱无法登录 okwallet。我们在账户上查到：\n\n{}\n\n设置新密码：\n\n{reset_link}\n\n更多帮助（需要时可联系人工客服）：\n\n{help_link}\n\n如果不是您本人操作，请忽略本邮件：账户没有任何变动。客服人员绝不会向您索要密码、验证码、恢复码或助记词。",
                findings
                    .iter()
                    .map(|f| format!("- {f}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
        ),
        Notice::TicketReply {
            number,
            subject,
            reply,
            link,
        } => (
            format!("回复：[#{number}] {subject}"),
            format!(
                "您好，\n\n客服已回复您的工单 #{number}「{subject}」：\n\n{}\n\n如需继续沟通，请在应用内打开工单回复（回复本邮件无人处理）：\n\n{link}\n\n客服人员绝不会向您索要密码、验证码、恢复码或助记词。",
                quoted(reply)
            ),
        ),
        Notice::TicketSolved {
            number,
            subject,
            link,
            rating_link,
            reopen_days,
        } => (
            format!("[#{number}] 已解决：{subject}"),
            format!(
                "您好，\n\n您的工单 #{number}「{subject}」已标记为已解决。如果问题仍未解决，请在 {reopen_days} 天内回复，工单会重新打开：\n\n{link}\n\n请为本次服务打分（1 至 5 分，点击即可，无需登录）：\n\n{rating_link}\n\n如果您对处理结果不满意，也可以在工单页面向主管投诉。"
            ),
        ),
        Notice::ComplaintReceived {
            number,
            due_at_ms,
            link,
        } => (
            format!("[#{number}] 您的投诉已提交给主管"),
            format!(
                "您好，\n\n您对工单 #{number} 的投诉已转交客服主管。主管会进行核查，并在 {} 前答复您。\n\n查看进度：\n\n{link}",
                time(*due_at_ms)
            ),
        ),
        Notice::ComplaintResolved {
            number,
            outcome,
            link,
        } => (
            format!("[#{number}] 主管已答复您的投诉"),
            format!(
                "您好，\n\n客服主管已核查您对工单 #{number} 的投诉，处理结果如下：\n\n{}\n\n工单及完整记录：\n\n{link}\n\n感谢您的反馈：每一条投诉我们都会认真对待，用来改进服务。",
                quoted(outcome)
            ),
        ),
        Notice::SlaAlert {
            number,
            subject,
            clock,
            breached,
            due_at_ms,
            link,
        } => {
            let target = if *clock == "first_response" {
                "首次响应"
            } else {
                "解决"
            };
            let state = if *breached {
                format!("已超出{target}时限（截止 {}）", time(*due_at_ms))
            } else {
                format!("即将超出{target}时限（截止 {}）", time(*due_at_ms))
            };
            (
                format!(
                    "[SLA] #{number} {}",
                    if *breached { "已超时" } else { "即将超时" }
                ),
                format!("您好，\n\n工单 #{number}「{subject}」{state}，请尽快处理。\n\n{link}"),
            )
        }
        Notice::WithdrawalAddressAdded {
            at_ms,
            ip,
            address,
            usable_from_ms,
            freeze_link,
        } => (
            "您的 okwallet 账户添加了新的提现地址".to_owned(),
            format!(
                "您好，\n\n地址 {address} 已于 {}（IP 地址 {}）加入您的提现地址簿，将从 {} 起可以接收提现。\n\n如果是您本人操作，无需其他处理。\n\n{FREEZE_HINT}\n\n{freeze_link}\n\n然后请联系客服。",
                time(*at_ms),
                shown_ip(ip),
                time(*usable_from_ms)
            ),
        ),
        Notice::PasswordChanged {
            at_ms,
            ip,
            withdrawal_lock_h,
            freeze_link,
        } => (
            "您的 okwallet 密码已修改".to_owned(),
            format!(
                "您好，\n\n您的账户密码已于 {} 修改（IP 地址 {}）。所有会话已退出登录；为安全起见，提现将暂停 {withdrawal_lock_h} 小时。\n\n如果是您本人操作，无需其他处理。\n\n{FREEZE_HINT}\n\n{freeze_link}\n\n然后请联系客服。",
                time(*at_ms),
                shown_ip(ip)
            ),
        ),
        Notice::MfaEnabled {
            at_ms,
            ip,
            withdrawal_lock_h,
            freeze_link,
        } => (
            "双重验证已开启".to_owned(),
            format!(
                "您好，\n\n您的账户已于 {}（IP 地址 {}）将一个身份验证器应用设为第二重验证。今后登录需要输入其中的验证码。请将恢复码离线妥善保存。为安全起见，提现将暂停 {withdrawal_lock_h} 小时。\n\n如果是您本人操作，无需其他处理。\n\n{FREEZE_HINT}\n\n{freeze_link}",
                time(*at_ms),
                shown_ip(ip)
            ),
        ),
        Notice::Frozen {
            at_ms,
            ip,
            cooling_off_h,
        } => (
            "您的 okwallet 账户已冻结".to_owned(),
            format!(
                "您好，\n\n您的账户已于 {} 冻结（IP 地址 {}）。所有会话已退出登录，资金无法转出。\n\n如需解冻，请登录后在安全中心申请。解冻需要验证密码和第二重验证，并在 {cooling_off_h} 小时后生效。\n\n如果不是您本人冻结的，您的资金同样安全：冻结期间任何资金都无法转出。如需帮助，请联系客服。",
                time(*at_ms),
                shown_ip(ip)
            ),
        ),
        Notice::UnfreezeScheduled {
            unfreeze_at_ms,
            freeze_link,
        } => (
            "您的 okwallet 账户即将解冻".to_owned(),
            format!(
                "您好，\n\n您的账户解冻申请已通过密码和第二重验证确认，账户将于 {} 恢复使用。\n\n如果是您本人操作，无需处理。\n\n如果不是您本人，请立即重新冻结：打开下面的链接会取消解冻并退出所有会话。链接 7 天内有效，仅可使用一次。\n\n{freeze_link}",
                time(*unfreeze_at_ms)
            ),
        ),
        Notice::AntiPhishingCodeChanged {
            at_ms,
            ip,
            freeze_link,
        } => (
            "您的防钓鱼码已修改".to_owned(),
            format!(
                "您好，\n\n您的账户防钓鱼码已于 {} 设置（IP 地址 {}）。它就是本邮件开头显示的防钓鱼码，此后我们发出的每封邮件都会显示它：没有它的邮件都不是我们发出的。\n\n{FREEZE_HINT}\n\n{freeze_link}",
                time(*at_ms),
                shown_ip(ip)
            ),
        ),
        Notice::SignUpAttempt {
            at_ms,
            ip,
            reset_page,
        } => (
            "有人尝试用您的邮箱地址注册".to_owned(),
            format!(
                "您好，\n\n{} 有人尝试用此邮箱地址注册新的 okwallet 账户（IP 地址 {}）。您已经有账户，因此没有创建新账户，也没有任何变化。\n\n如果是您本人，直接登录即可。如果忘记了密码，可以在这里申请重置：\n\n{reset_page}\n\n如果不是您本人，无需任何处理。",
                time(*at_ms),
                shown_ip(ip)
            ),
        ),
    }
}

/// `2026-03-01 08:30 UTC`. Mail is read long after it is sent and in any time zone, so the zone
/// is always written out.
fn time(at_ms: i64) -> String {
    jiff::Timestamp::from_millisecond(at_ms)
        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|_| "—".to_owned())
}

/// Someone's words inside a mail, each line set off with `> ` so that they cannot pass for ours.
fn quoted(text: &str) -> String {
    text.lines()
        .map(|l| format!("> {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// An IP address as recorded, or a dash for anything that is not one.
fn shown_ip(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(addr) => addr.to_string(),
        Err(_) => "—".to_owned(),
    }
}

/// A user agent reduced to a browser and an operating system from a fixed list, or the client's
/// bare product name (letters, digits, `-` and `_` only). Anything more would let whoever signs
/// in put their own words, or a link, into a mail that we sign.
pub fn device(user_agent: &str, locale: Locale) -> String {
    const BROWSERS: [(&str, &str); 7] = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("CriOS/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
    ];
    const SYSTEMS: [(&str, &str); 7] = [
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Android", "Android"),
        ("CrOS", "ChromeOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ];
    let browser = BROWSERS
        .iter()
        .find(|(marker, _)| user_agent.contains(marker))
        .map(|(_, name)| *name);
    let system = SYSTEMS
        .iter()
        .find(|(marker, _)| user_agent.contains(marker))
        .map(|(_, name)| *name);
    let product = || {
        let name: String = user_agent
            .split(['/', ' '])
            .next()
            .unwrap_or("")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
            .take(24)
            .collect();
        (!name.is_empty()).then_some(name)
    };
    match (locale, browser, system) {
        (Locale::En, Some(b), Some(s)) => format!("{b} on {s}"),
        (Locale::ZhCn, Some(b), Some(s)) => format!("{s} 上的 {b}"),
        (_, Some(b), None) => b.to_owned(),
        (_, None, Some(s)) => s.to_owned(),
        (locale, None, None) => product().unwrap_or_else(|| match locale {
            Locale::En => "unknown device".to_owned(),
            Locale::ZhCn => "未知设备".to_owned(),
        }),
    }
}

fn hours_en(hours: u64) -> String {
    format!("{hours} hour{}", if hours == 1 { "" } else { "s" })
}

/// "1 minute", "2 hours 5 minutes", for how long a lock lasts.
fn duration_en(seconds: u64) -> String {
    let plural = |n: u64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    let minutes = seconds.div_ceil(60).max(1);
    match (minutes / 60, minutes % 60) {
        (0, m) => plural(m, "minute"),
        (h, 0) => plural(h, "hour"),
        (h, m) => format!("{} {}", plural(h, "hour"), plural(m, "minute")),
    }
}

/// "1 分钟", "2 小时 5 分钟".
fn duration_zh(seconds: u64) -> String {
    let minutes = seconds.div_ceil(60).max(1);
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} 分钟"),
        (h, 0) => format!("{h} 小时"),
        (h, m) => format!("{h} 小时 {m} 分钟"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINK: &str = "https://wallet.example.com/freeze?token=okw_AAAA";
    const FINDINGS: &[&str] = &["Signing in is locked for 2 more minutes after wrong passwords."];
    const AT: i64 = 1_767_225_600_000; // 2026-01-01 00:00 UTC

    fn every_notice() -> Vec<Notice<'static>> {
        vec![
            Notice::VerifyEmail {
                link: LINK,
                valid_for_h: 48,
            },
            Notice::PasswordReset {
                link: LINK,
                valid_for_min: 30,
                ip: "203.0.113.9",
                withdrawal_lock_h: 24,
            },
            Notice::NewLogin {
                at_ms: AT,
                ip: "203.0.113.9",
                user_agent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/130.0 Safari/537.36",
                freeze_link: LINK,
            },
            Notice::AccountLocked {
                locked_for_s: 60,
                reset_link: LINK,
                reset_valid_for_min: 30,
            },
            Notice::PasswordChanged {
                at_ms: AT,
                ip: "203.0.113.9",
                withdrawal_lock_h: 24,
                freeze_link: LINK,
            },
            Notice::MfaEnabled {
                at_ms: AT,
                ip: "::1",
                withdrawal_lock_h: 24,
                freeze_link: LINK,
            },
            Notice::Frozen {
                at_ms: AT,
                ip: "203.0.113.9",
                cooling_off_h: 24,
            },
            Notice::UnfreezeScheduled {
                unfreeze_at_ms: AT,
                freeze_link: LINK,
            },
            Notice::AntiPhishingCodeChanged {
                at_ms: AT,
                ip: "203.0.113.9",
                freeze_link: LINK,
            },
            Notice::SignUpAttempt {
                at_ms: AT,
                ip: "203.0.113.9",
                reset_page: "https://wallet.example.com/reset-password",
            },
            Notice::WithdrawalRequested {
                at_ms: AT,
                ip: "203.0.113.9",
                amount: "0.5 ETH",
                address: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
                freeze_link: LINK,
            },
            Notice::WithdrawalAddressAdded {
                at_ms: AT,
                ip: "203.0.113.9",
                address: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
                usable_from_ms: AT + 86_400_000,
                freeze_link: LINK,
            },
            Notice::TicketReply {
                number: 100_042,
                subject: "Deposit late",
                reply: "It arrived.\nSee your history.",
                link: LINK,
            },
            Notice::TicketSolved {
                number: 100_042,
                subject: "Deposit late",
                link: LINK,
                rating_link: LINK,
                reopen_days: 4,
            },
            Notice::LoginHelp {
                findings: FINDINGS,
                reset_link: LINK,
                help_link: LINK,
            },
            Notice::ComplaintReceived {
                number: 100_042,
                due_at_ms: AT,
                link: LINK,
            },
            Notice::ComplaintResolved {
                number: 100_042,
                outcome: "We apologise.",
                link: LINK,
            },
            Notice::SlaAlert {
                number: 100_042,
                subject: "Deposit late",
                clock: "resolution",
                breached: true,
                due_at_ms: AT,
                link: LINK,
            },
        ]
    }

    #[test]
    fn quoted_words_cannot_pass_for_ours() {
        let mail = render(
            &Notice::TicketReply {
                number: 7,
                subject: "x",
                reply: "line one\nYour anti-phishing code: fake",
                link: LINK,
            },
            &Recipient {
                locale: Locale::En,
                anti_phishing_code: Some("real"),
            },
        );
        assert!(mail
            .body_text
            .contains("> line one\n> Your anti-phishing code: fake"));
        assert!(mail.body_text.starts_with("Your anti-phishing code: real"));
    }

    fn has_chinese(text: &str) -> bool {
        text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
    }

    #[test]
    fn every_mail_starts_with_the_code_in_both_languages() {
        for notice in every_notice() {
            let en = render(
                &notice,
                &Recipient {
                    locale: Locale::En,
                    anti_phishing_code: Some("blue fox 42"),
                },
            );
            assert!(
                en.body_text
                    .starts_with("Your anti-phishing code: blue fox 42\n\n"),
                "{}",
                en.body_text
            );
            assert!(!has_chinese(&en.subject) && !has_chinese(&en.body_text));
            assert!(en.body_text.contains("never asks for your password"));
            let zh = render(
                &notice,
                &Recipient {
                    locale: Locale::ZhCn,
                    anti_phishing_code: Some("蓝色狐狸"),
                },
            );
            assert!(
                zh.body_text.starts_with("您的防钓鱼码：蓝色狐狸\n\n"),
                "{}",
                zh.body_text
            );
            assert!(has_chinese(&zh.subject), "{}", zh.subject);
            assert_eq!(en.kind, zh.kind);
            assert_ne!(en.subject, zh.subject);
        }
    }

    #[test]
    fn without_a_code_the_mail_asks_for_one() {
        for notice in every_notice() {
            let en = render(
                &notice,
                &Recipient {
                    locale: Locale::En,
                    anti_phishing_code: None,
                },
            );
            assert!(
                en.body_text
                    .starts_with("You have not set an anti-phishing code yet."),
                "{}",
                en.body_text
            );
            assert!(en.body_text.contains("security centre"));
            let zh = render(
                &notice,
                &Recipient {
                    locale: Locale::ZhCn,
                    anti_phishing_code: None,
                },
            );
            assert!(zh.body_text.starts_with("您尚未设置防钓鱼码。"));
            assert!(zh.body_text.contains("安全中心"));
        }
    }

    #[test]
    fn links_appear_on_their_own_line_where_a_mail_carries_one() {
        for notice in every_notice() {
            let carries_link = !matches!(notice, Notice::Frozen { .. });
            for locale in [Locale::En, Locale::ZhCn] {
                let mail = render(
                    &notice,
                    &Recipient {
                        locale,
                        anti_phishing_code: None,
                    },
                );
                let own_line = mail
                    .body_text
                    .lines()
                    .any(|l| l.starts_with("https://wallet.example.com/"));
                assert_eq!(own_line, carries_link, "{}: {}", mail.kind, mail.body_text);
            }
        }
    }

    #[test]
    fn a_new_login_shows_time_address_and_device() {
        let notice = &every_notice()[2];
        let en = render(
            notice,
            &Recipient {
                locale: Locale::En,
                anti_phishing_code: None,
            },
        );
        assert_eq!(en.kind, "new_login");
        assert!(en.body_text.contains("Time: 2026-01-01 00:00 UTC"));
        assert!(en.body_text.contains("IP address: 203.0.113.9"));
        assert!(en.body_text.contains("Device: Chrome on Windows"));
        assert!(en.body_text.contains(&format!("\n{LINK}\n")));
        let zh = render(
            notice,
            &Recipient {
                locale: Locale::ZhCn,
                anti_phishing_code: None,
            },
        );
        assert!(zh.body_text.contains("设备：Windows 上的 Chrome"));
        assert!(zh.body_text.contains("时间：2026-01-01 00:00 UTC"));
    }

    #[test]
    fn a_lock_mail_says_how_long() {
        let mail = render(
            &Notice::AccountLocked {
                locked_for_s: 3900,
                reset_link: LINK,
                reset_valid_for_min: 30,
            },
            &Recipient {
                locale: Locale::En,
                anti_phishing_code: None,
            },
        );
        assert!(
            mail.body_text.contains("locked it for 1 hour 5 minutes"),
            "{}",
            mail.body_text
        );
        assert_eq!(duration_zh(60), "1 分钟");
        assert_eq!(duration_zh(7200), "2 小时");
        assert_eq!(duration_en(1), "1 minute");
    }

    #[test]
    fn foreign_text_cannot_reach_a_mail() {
        let hostile = "Chrome/1 URGENT visit https://evil.example/login to keep your funds";
        let shown = device(hostile, Locale::En);
        assert_eq!(shown, "Chrome");
        let shown = device("evil.example/1.0 (see http://evil.example)", Locale::En);
        assert_eq!(shown, "evilexample");
        assert_eq!(device("", Locale::En), "unknown device");
        assert_eq!(device("", Locale::ZhCn), "未知设备");
        assert_eq!(device("reqwest/0.12", Locale::En), "reqwest");
        assert_eq!(
            device(
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1",
                Locale::En
            ),
            "Safari on iPhone"
        );
        assert_eq!(shown_ip("not an ip <a href>"), "—");
        assert_eq!(shown_ip("2001:db8::1"), "2001:db8::1");
    }

    #[test]
    fn locales_come_from_tags() {
        assert_eq!(Locale::from_tag("zh-CN"), Locale::ZhCn);
        assert_eq!(Locale::from_tag("zh-Hans"), Locale::ZhCn);
        assert_eq!(Locale::from_tag("en"), Locale::En);
        assert_eq!(Locale::from_tag("fr"), Locale::En);
        assert_eq!(Locale::ZhCn.tag(), "zh-CN");
    }
}
