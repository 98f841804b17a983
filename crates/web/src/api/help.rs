//! The help center for everyone, signed in or not: the contact directory with live hours and
//! costs (`/api/v1/contact-channels`), "is this really okwallet?" (`/api/v1/official-check`)
//! and reports of look-alikes, announcements and incidents, and the knowledge base (search,
//! articles, "was this helpful?").
//!
//! Nothing here needs a session; reports and feedback are throttled per client address.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use helpcenter::announcements as ann;
use helpcenter::directory::{self, best_channel, Candidate, ChannelKind, Cost};
use identity::lockout::Policy;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::sessions::rfc3339;
use crate::auth::{CurrentSession, RequestOrigin};
use crate::error::{ApiError, FieldProblem, Reason};
use crate::help::schedule_of;
use crate::json::ApiJson;
use crate::lang::Lang;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/contact-channels", get(contact_channels))
        .route("/api/v1/official-check", get(official_check))
        .route("/api/v1/suspicious-reports", post(report_suspicious))
        .route("/api/v1/announcements", get(announcements))
        .route("/api/v1/announcements/{id}", get(announcement))
        .route("/api/v1/articles", get(articles))
        .route("/api/v1/articles/{slug}", get(article))
        .route("/api/v1/articles/{slug}/feedback", post(article_feedback))
}

/// Reports and feedback from one address: a burst is fine, a flood is not.
const WRITES_PER_IP: Policy = Policy {
    failures_before_lock: 30,
    window_s: 10 * 60,
    first_lock_s: 10 * 60,
    lock_growth: 2,
    lock_s_max: 3600,
    forgive_after_s: 24 * 3600,
};

/// Longest value the official check reads.
const VALUE_CHARS_MAX: usize = 500;

pub(crate) fn invalid(field: &str, problem: impl Into<String>) -> ApiError {
    ApiError::new(Reason::InvalidField {
        field: field.to_owned(),
        problem: FieldProblem::Invalid(problem.into()),
    })
}

pub(crate) fn missing(field: &str) -> ApiError {
    ApiError::new(Reason::InvalidField {
        field: field.to_owned(),
        problem: FieldProblem::Missing,
    })
}

// --- contact directory -------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DirectoryQuery {
    /// The viewer's IANA time zone, for "opens at … your time" (default: the operator's).
    pub tz: Option<String>,
    /// The instant to answer for, RFC 3339 (default: now) — "will it be open then?".
    pub at: Option<String>,
}

/// One way to reach us, with its hours and what it costs now.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelView {
    pub id: String,
    /// in_app_call, live_chat, hotline, ticket, email, social, website.
    pub kind: String,
    pub kind_label: String,
    pub name: String,
    pub region: String,
    /// E.164 number, address, `platform:@handle` or domain; empty for in-app channels.
    pub value: String,
    pub display: String,
    pub languages: Vec<String>,
    /// toll_free, local_rate, international, free_in_app, free.
    pub cost: String,
    pub cost_label: String,
    pub cost_explanation: String,
    pub cost_note: String,
    pub note: String,
    pub time_zone: String,
    pub always_open: bool,
    pub open_now: bool,
    /// When it next opens or closes (RFC 3339); null when it never changes.
    pub next_change_at: Option<String>,
    /// That instant on the channel's clock (`2026-11-25 18:00 CST`).
    pub next_change_local: Option<String>,
    /// That instant on the viewer's clock.
    pub next_change_viewer: Option<String>,
    /// One sentence: open until …, or closed until ….
    pub status_text: String,
    /// Today's holiday on the channel's calendar, if it is one.
    pub holiday_today: Option<String>,
    /// The week in words.
    pub hours: Vec<String>,
    /// Coming holidays (date and name).
    pub holidays: Vec<HolidayView>,
    /// Where the channel is used: a tel: or mailto: link, or a site.
    pub href: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HolidayView {
    pub date: String,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BestView {
    pub channel_id: String,
    /// free_call_open, chat_open, hotline_open, outside_hours.
    pub reason_code: String,
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DirectoryView {
    /// The instant answered for.
    pub at: String,
    pub viewer_time_zone: String,
    /// The best channel to use at that instant.
    pub best: Option<BestView>,
    pub items: Vec<ChannelView>,
}

/// The viewer's zone: the one asked for when it is a real IANA zone, else the operator's.
pub fn viewer_zone(state: &AppState, asked: Option<&str>) -> Result<(String, TimeZone), ApiError> {
    if let Some(name) = asked.map(str::trim).filter(|s| !s.is_empty()) {
        return TimeZone::get(name)
            .map(|tz| (name.to_owned(), tz))
            .map_err(|_| invalid("tz", format!("{name:?} is not an IANA time zone")));
    }
    let name = state.help.settings.time_zone.clone();
    let tz = TimeZone::get(&name).unwrap_or(TimeZone::UTC);
    Ok((name, tz))
}

pub fn instant(at: Option<&str>) -> Result<Timestamp, ApiError> {
    match at.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(Timestamp::now()),
        Some(text) => text
            .parse::<Timestamp>()
            .map_err(|_| invalid("at", "not an RFC 3339 time, e.g. 2026-11-25T10:00:00Z")),
    }
}

fn href_of(kind: ChannelKind, value: &str) -> Option<String> {
    match kind {
        ChannelKind::Hotline if !value.is_empty() => Some(format!("tel:{value}")),
        ChannelKind::Email if !value.is_empty() => Some(format!("mailto:{value}")),
        ChannelKind::Website if !value.is_empty() => Some(format!("https://{value}")),
        // Chat, in-app calls and tickets open from the support desk, which comes with the help
        // desk (issue 7); until it exists they get no link rather than a dead one.
        _ => None,
    }
}

/// The directory at `at` for a viewer in `viewer`.
pub async fn directory_at(
    state: &AppState,
    lang: Lang,
    at: Timestamp,
    viewer: (String, TimeZone),
) -> Result<DirectoryView, ApiError> {
    let zh = lang == Lang::ZhCn;
    let channels = state.db.contact_channels(false).await?;
    let mut items = Vec::with_capacity(channels.len());
    let mut candidates = Vec::with_capacity(channels.len());
    for c in &channels {
        let Some(kind) = ChannelKind::parse(&c.kind) else {
            continue;
        };
        let cost = Cost::parse(&c.cost).unwrap_or(Cost::Free);
        let spec = schedule_of(c);
        let status = spec
            .as_ref()
            .and_then(|s| s.to_schedule().ok())
            .map(|s| s.status_at(at));
        let open_now = status.as_ref().is_some_and(hours::Status::is_open);
        let next = status.as_ref().and_then(hours::Status::next_change);
        let channel_tz = spec
            .as_ref()
            .and_then(|s| TimeZone::get(&s.time_zone).ok())
            .unwrap_or(TimeZone::UTC);
        let next_local = next.map(|t| directory::local_time(t, &channel_tz));
        let next_viewer = next.map(|t| directory::local_time(t, &viewer.1));
        let holiday = spec.as_ref().and_then(|s| s.holiday_at(at)).map(|h| {
            if zh {
                h.name_zh.clone()
            } else {
                h.name_en.clone()
            }
        });
        let status_text = status_sentence(
            zh,
            open_now,
            spec.as_ref().is_some_and(|s| s.always_open),
            next_local.as_deref(),
            next_viewer.as_deref(),
            holiday.as_deref(),
            kind.is_conversation(),
        );
        let today = at.to_zoned(channel_tz.clone()).date().to_string();
        let holidays = spec
            .as_ref()
            .map(|s| {
                s.holidays
                    .iter()
                    .filter(|h| h.date >= today)
                    .take(5)
                    .map(|h| HolidayView {
                        date: h.date.clone(),
                        name: if zh {
                            h.name_zh.clone()
                        } else {
                            h.name_en.clone()
                        },
                    })
                    .collect()
            })
            .unwrap_or_default();
        candidates.push(Candidate {
            kind,
            cost,
            open: open_now,
        });
        items.push(ChannelView {
            id: c.id.clone(),
            kind: kind.as_str().into(),
            kind_label: kind.label(zh).into(),
            name: lang.pick(&c.name_en, &c.name_zh).clone(),
            region: lang.pick(&c.region_en, &c.region_zh).clone(),
            value: c.value.clone(),
            display: c.display.clone(),
            languages: c
                .languages
                .split(',')
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
            cost: cost.as_str().into(),
            cost_label: cost.label(zh).into(),
            cost_explanation: cost.explanation(zh).into(),
            cost_note: lang.pick(&c.cost_note_en, &c.cost_note_zh).clone(),
            note: lang.pick(&c.note_en, &c.note_zh).clone(),
            time_zone: spec
                .as_ref()
                .map_or_else(|| "UTC".into(), |s| s.time_zone.clone()),
            always_open: spec.as_ref().is_some_and(|s| s.always_open),
            open_now,
            next_change_at: next.map(|t| rfc3339(t.as_millisecond())),
            next_change_local: next_local,
            next_change_viewer: next_viewer,
            status_text,
            holiday_today: holiday,
            hours: spec.as_ref().map(|s| s.summary(zh)).unwrap_or_default(),
            holidays,
            href: href_of(kind, &c.value),
        });
    }
    let best = best_channel(&candidates).map(|(i, why)| BestView {
        channel_id: items[i].id.clone(),
        reason_code: why.code().into(),
        reason: why.text(zh).into(),
    });
    Ok(DirectoryView {
        at: rfc3339(at.as_millisecond()),
        viewer_time_zone: viewer.0,
        best,
        items,
    })
}

fn status_sentence(
    zh: bool,
    open: bool,
    always: bool,
    next_local: Option<&str>,
    next_viewer: Option<&str>,
    holiday: Option<&str>,
    conversation: bool,
) -> String {
    if !conversation {
        return String::new();
    }
    let yours = match (next_local, next_viewer) {
        (Some(l), Some(v)) if l != v => {
            if zh {
                format!("（您的时间 {v}）")
            } else {
                format!(" ({v} your time)")
            }
        }
        _ => String::new(),
    };
    match (open, always, next_local, zh) {
        (true, true, _, true) | (true, _, None, true) => "7×24 小时服务中".into(),
        (true, true, _, false) | (true, _, None, false) => "Open 24/7".into(),
        (true, false, Some(l), true) => format!("服务中，{l} 结束{yours}"),
        (true, false, Some(l), false) => format!("Open now, closes {l}{yours}"),
        (false, _, next, _) => {
            let why = match (holiday, zh) {
                (Some(h), true) if !h.is_empty() => format!("今天是{h}，休息。"),
                (Some(h), false) if !h.is_empty() => format!("Closed today for {h}. "),
                _ => String::new(),
            };
            match (next, zh) {
                (Some(l), true) => format!("{why}已下班，{l} 开始服务{yours}"),
                (Some(l), false) => format!("{why}Closed now, opens {l}{yours}"),
                (None, true) => format!("{why}暂停服务"),
                (None, false) => format!("{why}Not in service"),
            }
        }
    }
}

/// The ways to reach us, each with whether it is open now, when that changes (on its clock and
/// the viewer's), what it costs, and the best one to use right now.
#[utoipa::path(get, path = "/api/v1/contact-channels", tag = "help", params(DirectoryQuery),
    responses((status = 200, body = DirectoryView),
        (status = 422, description = "`invalid_field`: `tz` or `at`", body = crate::error::Problem)))]
pub async fn contact_channels(
    State(state): State<AppState>,
    lang: Lang,
    Query(q): Query<DirectoryQuery>,
) -> Result<ApiJson<DirectoryView>, ApiError> {
    let at = instant(q.at.as_deref())?;
    let viewer = viewer_zone(&state, q.tz.as_deref())?;
    Ok(ApiJson(directory_at(&state, lang, at, viewer).await?))
}

// --- official check ----------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CheckQuery {
    /// A phone number, link, domain, email address or social handle (`@name`, `weibo:@name`).
    pub value: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WarningView {
    /// punycode, look_alike_letters, typo_of_official, official_name_inside,
    /// official_domain_as_user_name, reported_scam.
    pub code: String,
    pub message: String,
}

/// Whether a value is ours, which channel it is, and what to do when it is not.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckView {
    pub value: String,
    pub official: bool,
    /// phone, url, domain, email, handle, unrecognised.
    pub kind: String,
    /// The channel's id when official.
    pub channel: Option<String>,
    pub channel_name: Option<String>,
    /// The value as compared (E.164, host, address, handle).
    pub normalised: String,
    pub warnings: Vec<WarningView>,
    /// How many people reported this value as suspicious.
    pub reports: i64,
    /// The security team's verdict on it: scam, not_scam or ours.
    pub verdict: Option<String>,
    /// One paragraph: what this answer means and what to do.
    pub advice: String,
}

/// Checks a value and adds what people reported about it.
pub async fn check_value(state: &AppState, lang: Lang, value: &str) -> Result<CheckView, ApiError> {
    let zh = lang == Lang::ZhCn;
    let value = value.trim();
    if value.is_empty() {
        return Err(missing("value"));
    }
    if value.chars().count() > VALUE_CHARS_MAX {
        return Err(invalid(
            "value",
            format!("longer than {VALUE_CHARS_MAX} characters"),
        ));
    }
    let channels = state.db.contact_channels(false).await?;
    let list = state
        .help
        .official_list(&channels, &state.settings.public_url);
    let verdict = list.check(value);
    let channel = verdict
        .channel
        .as_ref()
        .and_then(|id| channels.iter().find(|c| &c.id == id));
    let channel_name = match (channel, verdict.channel.as_deref()) {
        (Some(c), _) => Some(lang.pick(&c.name_en, &c.name_zh).clone()),
        (None, Some("website")) => Some(lang.pick("Official website", "官方网站").to_owned()),
        _ => None,
    };
    let (reports, review) = state.db.suspicious_standing(&verdict.normalised).await?;
    let mut warnings: Vec<WarningView> = verdict
        .warnings
        .iter()
        .map(|w| WarningView {
            code: w.code().into(),
            message: warning_text(w, zh),
        })
        .collect();
    if review.as_deref() == Some("scam") && !verdict.official {
        warnings.insert(
            0,
            WarningView {
                code: "reported_scam".into(),
                message: lang
                    .pick(
                        "Our security team confirmed this is a scam pretending to be us.",
                        "我们的安全团队已确认这是冒充我们的诈骗。",
                    )
                    .into(),
            },
        );
    }
    let advice = advice_text(zh, verdict.official, verdict.kind, !warnings.is_empty());
    Ok(CheckView {
        value: value.to_owned(),
        official: verdict.official,
        kind: verdict.kind.as_str().into(),
        channel: verdict.channel.clone(),
        channel_name,
        normalised: verdict.normalised,
        warnings,
        reports,
        verdict: review,
        advice,
    })
}

fn warning_text(w: &helpcenter::official::Warning, zh: bool) -> String {
    use helpcenter::official::Warning;
    match (w, zh) {
        (Warning::Punycode, true) => {
            "这个网址用了 punycode 编码（xn--），浏览器里显示的字母可能和看上去的不一样。".into()
        }
        (Warning::Punycode, false) => {
            "This address is written in punycode (xn--): the letters your browser shows may not \
             be what they seem."
                .into()
        }
        (Warning::LookAlikeLetters { of }, true) => {
            format!("用了形似的字母冒充我们的 {of}（例如西里尔字母 а 冒充 a、0 冒充 o）。")
        }
        (Warning::LookAlikeLetters { of }, false) => format!(
            "Uses letters that only look like ours to imitate {of} (such as a Cyrillic а for a, \
             or 0 for o)."
        ),
        (Warning::Typo { of }, true) => format!("和我们的 {of} 只差一两个字母，是常见的仿冒手法。"),
        (Warning::Typo { of }, false) => {
            format!("One or two letters away from our {of}: a common trick.")
        }
        (Warning::OurNameInside { of }, true) => {
            format!("把我们的名字 {of} 放进了别人的域名里，真正的网站是域名最后的部分。")
        }
        (Warning::OurNameInside { of }, false) => format!(
            "Puts our name {of} inside someone else's domain; the site is really the last part \
             of the domain."
        ),
        (Warning::OurDomainAsUserName { of }, true) => {
            format!("链接里 {of} 写在 @ 前面，只是“用户名”，实际打开的是 @ 后面的网站。")
        }
        (Warning::OurDomainAsUserName { of }, false) => format!(
            "{of} is written before the @ in this link, where it is only a user name; the link \
             opens the site after the @."
        ),
    }
}

fn advice_text(zh: bool, official: bool, kind: helpcenter::official::Kind, warned: bool) -> String {
    use helpcenter::official::Kind;
    match (official, kind, warned, zh) {
        (true, _, _, true) => {
            "这是我们的官方渠道。即便如此，任何人（包括我们的客服）都不会向您索要密码、短信或邮件验证码、恢复码或助记词。".into()
        }
        (true, _, _, false) => {
            "This is one of our official channels. Even so, nobody — our staff included — will \
             ever ask for your password, verification codes, recovery codes or seed phrase."
                .into()
        }
        (false, Kind::Unrecognised, _, true) => {
            "看不出这是电话号码、网址、邮箱还是社交账号。请原样粘贴对方给您的内容再查一次。".into()
        }
        (false, Kind::Unrecognised, _, false) => {
            "This does not look like a phone number, link, email address or social account. \
             Paste exactly what you were given and check again."
                .into()
        }
        (false, _, true, true) => {
            "这不是我们的渠道，而且它在刻意模仿我们，很可能是诈骗。不要拨打、点击或回复，不要转账，也不要提供任何验证码。如果已经提供了信息，请立即冻结账户并修改密码，然后通过本页列出的官方渠道联系我们。".into()
        }
        (false, _, true, false) => {
            "This is not ours, and it is made to look like ours: very likely a scam. Do not \
             call, click or reply, send no money and give no codes. If you already gave \
             something away, freeze your account now, change your password, and contact us \
             through the official channels listed here."
                .into()
        }
        (false, _, false, true) => {
            "这不在我们公布的官方渠道里。我们不会通过它联系您，请不要向它提供任何账户信息。如有疑问，请通过联系我们页面上的官方渠道核实。".into()
        }
        (false, _, false, false) => {
            "This is not among our published channels. We will not contact you through it; \
             give it no account details. When in doubt, check with us through the official \
             channels on the contact page."
                .into()
        }
    }
}

/// Official or not, which channel, the look-alike tricks it uses, and how often people
/// reported it.
#[utoipa::path(get, path = "/api/v1/official-check", tag = "help", params(CheckQuery),
    responses((status = 200, body = CheckView),
        (status = 422, description = "`invalid_field`: `value` missing or too long", body = crate::error::Problem)))]
pub async fn official_check(
    State(state): State<AppState>,
    lang: Lang,
    Query(q): Query<CheckQuery>,
) -> Result<ApiJson<CheckView>, ApiError> {
    let value = q.value.unwrap_or_default();
    Ok(ApiJson(check_value(&state, lang, &value).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    pub value: String,
    /// Where it was seen: sms, call, chat_app, social, search_ad, email, website, other.
    #[serde(default)]
    pub seen_in: Option<String>,
    /// What happened (at most 1,000 characters).
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportAnswer {
    pub id: String,
    /// Whether the value is in fact ours (reported anyway, so we can tell people).
    pub official: bool,
    /// How many reports this value has now.
    pub reports: i64,
}

pub const SEEN_IN: [&str; 8] = [
    "sms",
    "call",
    "chat_app",
    "social",
    "search_ad",
    "email",
    "website",
    "other",
];

/// Records a report and answers the new count.
pub async fn record_report(
    state: &AppState,
    origin_ip: &str,
    reporter: Option<&str>,
    body: ReportRequest,
) -> Result<ReportAnswer, ApiError> {
    let ip_key = format!("help-write-ip:{origin_ip}");
    if let Some(wait) = state.db.throttle_locked_for_s(&ip_key).await? {
        return Err(ApiError::too_many_requests(wait));
    }
    state
        .db
        .register_login_failure(&ip_key, &WRITES_PER_IP)
        .await?;
    let value = body.value.trim();
    if value.is_empty() {
        return Err(missing("value"));
    }
    if value.chars().count() > VALUE_CHARS_MAX {
        return Err(invalid(
            "value",
            format!("longer than {VALUE_CHARS_MAX} characters"),
        ));
    }
    let seen_in = body.seen_in.unwrap_or_else(|| "other".into());
    if !SEEN_IN.contains(&seen_in.as_str()) {
        return Err(invalid(
            "seen_in",
            format!("use one of {}", SEEN_IN.join(", ")),
        ));
    }
    let note = body.note.unwrap_or_default();
    if note.chars().count() > 1000 {
        return Err(invalid("note", "longer than 1,000 characters"));
    }
    let channels = state.db.contact_channels(false).await?;
    let verdict = state
        .help
        .official_list(&channels, &state.settings.public_url)
        .check(value);
    let report = store::helpcenter::SuspiciousReport {
        id: store::new_id(),
        kind: verdict.kind.as_str().into(),
        value: value.to_owned(),
        normalised: verdict.normalised.clone(),
        official: verdict.official,
        seen_in,
        note: note.trim().to_owned(),
        reporter_id: reporter.map(str::to_owned),
        created_at_ms: store::now_ms(),
    };
    state.db.insert_suspicious_report(&report).await?;
    let (reports, _) = state.db.suspicious_standing(&verdict.normalised).await?;
    Ok(ReportAnswer {
        id: report.id,
        official: verdict.official,
        reports,
    })
}

/// Reports a number, link, address or account that pretends to be us. Anyone may report;
/// reports collect, counted per value, in the security team's review list.
#[utoipa::path(post, path = "/api/v1/suspicious-reports", tag = "help",
    request_body = ReportRequest,
    responses((status = 201, body = ReportAnswer),
        (status = 422, description = "`invalid_field`", body = crate::error::Problem),
        (status = 429, description = "`too_many_requests`", body = crate::error::Problem)))]
pub async fn report_suspicious(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    current: Result<CurrentSession, ApiError>,
    ApiJson(body): ApiJson<ReportRequest>,
) -> Result<(StatusCode, ApiJson<ReportAnswer>), ApiError> {
    let reporter = current.ok().map(|c| c.user.id);
    let answer = record_report(&state, &origin.ip.to_string(), reporter.as_deref(), body).await?;
    Ok((StatusCode::CREATED, ApiJson(answer)))
}

// --- announcements -----------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AnnouncementQuery {
    /// `current` (default): what concerns people now; `all`: also past ones.
    pub state: Option<String>,
    /// Only those affecting a feature: deposit, withdraw, send, convert, pay, login, support.
    pub feature: Option<String>,
    /// With `feature`: only those affecting this asset (or every asset).
    pub asset: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AnnouncementUpdateView {
    pub state: String,
    pub state_label: String,
    pub body: String,
    pub at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AnnouncementView {
    pub id: String,
    /// maintenance, security, incident.
    pub kind: String,
    pub kind_label: String,
    pub state: String,
    pub state_label: String,
    pub current: bool,
    pub title: String,
    pub body: String,
    /// Features, each optionally `feature:ASSET`.
    pub affected: Vec<String>,
    pub affected_labels: Vec<String>,
    pub starts_at: String,
    pub ends_at: Option<String>,
    pub updated_at: String,
    /// The history, oldest first.
    pub updates: Vec<AnnouncementUpdateView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AnnouncementList {
    pub items: Vec<AnnouncementView>,
}

pub async fn announcement_view(
    state: &AppState,
    lang: Lang,
    a: &store::helpcenter::Announcement,
    now_ms: i64,
) -> Result<AnnouncementView, ApiError> {
    let zh = lang == Lang::ZhCn;
    let kind = ann::Kind::parse(&a.kind).unwrap_or(ann::Kind::Incident);
    let pairs = ann::parse_affected(&a.affected).unwrap_or_default();
    let updates = state
        .db
        .announcement_updates(&a.id)
        .await?
        .into_iter()
        .map(|u| AnnouncementUpdateView {
            state_label: ann::state_label(&u.state, zh).into(),
            state: u.state,
            body: lang.pick(u.body_en, u.body_zh),
            at: rfc3339(u.created_at_ms),
        })
        .collect();
    Ok(AnnouncementView {
        id: a.id.clone(),
        kind: kind.as_str().into(),
        kind_label: kind.label(zh).into(),
        state: a.state.clone(),
        state_label: ann::state_label(&a.state, zh).into(),
        current: ann::is_current(kind, &a.state, a.ends_at_ms, now_ms),
        title: lang.pick(&a.title_en, &a.title_zh).clone(),
        body: lang.pick(&a.body_en, &a.body_zh).clone(),
        affected: pairs
            .iter()
            .map(|(f, asset)| match asset {
                Some(x) => format!("{f}:{x}"),
                None => f.clone(),
            })
            .collect(),
        affected_labels: pairs
            .iter()
            .map(|(f, asset)| {
                let label = ann::feature_label(f, zh);
                match asset {
                    Some(x) => format!("{x} {label}"),
                    None => label.to_owned(),
                }
            })
            .collect(),
        starts_at: rfc3339(a.starts_at_ms),
        ends_at: a.ends_at_ms.map(rfc3339),
        updated_at: rfc3339(a.updated_at_ms),
        updates,
    })
}

/// Published announcements, current ones first (newest first within each), optionally only
/// those affecting a feature (and asset).
pub async fn announcement_list(
    state: &AppState,
    lang: Lang,
    only_current: bool,
    feature: Option<(&str, Option<&str>)>,
) -> Result<Vec<AnnouncementView>, ApiError> {
    let now = store::now_ms();
    let mut out = Vec::new();
    for a in state.db.announcements(false, 200).await? {
        if a.starts_at_ms > now && a.kind != "maintenance" {
            continue;
        }
        if let Some((f, asset)) = feature {
            if !ann::affects(&a.affected, f, asset) {
                continue;
            }
        }
        let view = announcement_view(state, lang, &a, now).await?;
        if only_current && !view.current {
            continue;
        }
        out.push(view);
    }
    out.sort_by_key(|v| !v.current);
    Ok(out)
}

/// Service and security announcements and incidents.
#[utoipa::path(get, path = "/api/v1/announcements", tag = "help", params(AnnouncementQuery),
    responses((status = 200, body = AnnouncementList),
        (status = 422, description = "`invalid_field`: `state` or `feature`", body = crate::error::Problem)))]
pub async fn announcements(
    State(state): State<AppState>,
    lang: Lang,
    Query(q): Query<AnnouncementQuery>,
) -> Result<ApiJson<AnnouncementList>, ApiError> {
    let only_current = match q.state.as_deref() {
        None | Some("current") => true,
        Some("all") => false,
        Some(_) => return Err(invalid("state", "use current or all")),
    };
    if let Some(f) = q.feature.as_deref() {
        if !ann::FEATURES.contains(&f) {
            return Err(invalid(
                "feature",
                format!("use one of {}", ann::FEATURES.join(", ")),
            ));
        }
    }
    let feature = q.feature.as_deref().map(|f| (f, q.asset.as_deref()));
    let items = announcement_list(&state, lang, only_current, feature).await?;
    Ok(ApiJson(AnnouncementList { items }))
}

/// One announcement with its history.
#[utoipa::path(get, path = "/api/v1/announcements/{id}", tag = "help",
    responses((status = 200, body = AnnouncementView),
        (status = 404, description = "`not_found`", body = crate::error::Problem)))]
pub async fn announcement(
    State(state): State<AppState>,
    lang: Lang,
    Path(id): Path<String>,
) -> Result<ApiJson<AnnouncementView>, ApiError> {
    let a = state
        .db
        .announcement(&id)
        .await?
        .filter(|a| a.published)
        .ok_or_else(ApiError::not_found)?;
    Ok(ApiJson(
        announcement_view(&state, lang, &a, store::now_ms()).await?,
    ))
}

// --- knowledge base ----------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ArticleQuery {
    /// Words to search for; without it, every article (optionally of one category).
    pub q: Option<String>,
    /// zh-CN or en (default: the request's language).
    pub lang: Option<String>,
    pub category: Option<String>,
    /// At most this many (default 10, at most 50).
    pub limit: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ArticleHit {
    pub slug: String,
    pub lang: String,
    pub category: String,
    pub category_label: String,
    pub title: String,
    /// The title with matched words in `<mark>`; everything else escaped.
    pub title_html: Option<String>,
    /// A passage with matched words in `<mark>`; everything else escaped.
    pub snippet_html: Option<String>,
    pub url: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ArticleList {
    pub items: Vec<ArticleHit>,
    pub next_cursor: Option<String>,
}

/// The article categories with their words.
pub const CATEGORIES: [(&str, &str, &str); 11] = [
    ("login_failed", "登录失败", "Can't log in"),
    ("funds_delayed", "资金未到账", "Funds late"),
    ("cannot_trade", "无法交易", "Can't trade"),
    ("account_security", "账户安全", "Account security"),
    ("payment_failed", "付款失败", "Payment failed"),
    ("contact_hours", "服务时间", "Hours and time zones"),
    ("call_costs", "通话费用", "Call costs"),
    ("before_calling", "联系前的准备", "Before you contact us"),
    ("complaints", "投诉与建议", "Complaints and feedback"),
    ("phishing", "防范诈骗", "Phishing and fake support"),
    ("wallet_basics", "钱包入门", "Wallet basics"),
];

pub fn category_label(id: &str, lang: Lang) -> String {
    CATEGORIES.iter().find(|(c, _, _)| *c == id).map_or_else(
        || id.to_owned(),
        |(_, zh, en)| lang.pick(*en, *zh).to_owned(),
    )
}

/// The language an article list is asked in.
pub fn article_lang(asked: Option<&str>, lang: Lang) -> Result<&'static str, ApiError> {
    match asked.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(lang.tag()),
        Some(tag) => Lang::from_tag(tag)
            .map(Lang::tag)
            .ok_or_else(|| invalid("lang", "use zh-CN or en")),
    }
}

/// Searches (or lists) articles; a search that finds nothing is counted for the editors.
pub async fn find_articles(
    state: &AppState,
    lang: Lang,
    q: &str,
    article_lang: &str,
    category: Option<&str>,
    limit: usize,
) -> Result<Vec<ArticleHit>, ApiError> {
    let view_lang = Lang::from_tag(article_lang).unwrap_or(lang);
    let q = q.trim();
    if q.chars().count() > 200 {
        return Err(invalid("q", "longer than 200 characters"));
    }
    if q.is_empty() {
        let rows = state.db.articles().await?;
        return Ok(rows
            .into_iter()
            .filter(|r| r.published && r.lang == article_lang)
            .filter(|r| category.is_none_or(|c| c == r.category))
            .take(limit)
            .map(|r| ArticleHit {
                url: format!("/help/articles/{}", r.slug),
                category_label: category_label(&r.category, view_lang),
                slug: r.slug,
                lang: r.lang,
                category: r.category,
                title: r.title,
                title_html: None,
                snippet_html: None,
            })
            .collect());
    }
    let hits = state
        .help
        .index()
        .search(q, article_lang, limit.max(1) * 2)
        .map_err(|e| ApiError::internal(anyhow::anyhow!("search failed: {e}")))?;
    let items: Vec<ArticleHit> = hits
        .into_iter()
        .filter(|h| category.is_none_or(|c| c == h.category))
        .take(limit)
        .map(|h| ArticleHit {
            url: format!("/help/articles/{}", h.slug),
            category_label: category_label(&h.category, view_lang),
            slug: h.slug,
            lang: h.lang,
            category: h.category,
            title: h.title,
            title_html: Some(h.title_html),
            snippet_html: Some(h.snippet_html),
        })
        .collect();
    if items.is_empty() {
        let normalised: String = q.split_whitespace().collect::<Vec<_>>().join(" ");
        state
            .db
            .record_search_miss(&normalised.to_lowercase(), article_lang)
            .await?;
    }
    Ok(items)
}

/// Knowledge-base search, best first (Chinese word segmentation, English stemming, synonyms),
/// with highlighted snippets; without `q`, the articles in category order.
#[utoipa::path(get, path = "/api/v1/articles", tag = "help", params(ArticleQuery),
    responses((status = 200, body = ArticleList),
        (status = 422, description = "`invalid_field`: `lang`, `limit` or `q`", body = crate::error::Problem)))]
pub async fn articles(
    State(state): State<AppState>,
    lang: Lang,
    Query(q): Query<ArticleQuery>,
) -> Result<ApiJson<ArticleList>, ApiError> {
    let article_lang = article_lang(q.lang.as_deref(), lang)?;
    let limit = match q.limit.as_deref() {
        None => 10,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=50).contains(n))
            .ok_or_else(|| invalid("limit", "a number from 1 to 50"))?,
    };
    if let Some(c) = q.category.as_deref() {
        if !CATEGORIES.iter().any(|(id, _, _)| *id == c) {
            return Err(invalid("category", "unknown category"));
        }
    }
    let items = find_articles(
        &state,
        lang,
        q.q.as_deref().unwrap_or(""),
        article_lang,
        q.category.as_deref(),
        limit,
    )
    .await?;
    Ok(ApiJson(ArticleList {
        items,
        next_cursor: None,
    }))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OneArticleQuery {
    pub lang: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ArticleView {
    pub slug: String,
    pub lang: String,
    pub category: String,
    pub category_label: String,
    pub title: String,
    pub tags: Vec<String>,
    pub body_md: String,
    /// The body as sanitised HTML.
    pub body_html: String,
    pub updated_at: String,
    pub helpful: i64,
    pub not_helpful: i64,
    /// The other languages it is written in.
    pub other_langs: Vec<String>,
}

/// One published article in a language, or in the other one when it is not written in the asked.
pub async fn article_in(
    state: &AppState,
    lang: Lang,
    slug: &str,
    article_lang: &str,
) -> Result<ArticleView, ApiError> {
    let other = if article_lang == "zh-CN" {
        "en"
    } else {
        "zh-CN"
    };
    let mut row = state
        .db
        .article(slug, article_lang)
        .await?
        .filter(|r| r.published);
    if row.is_none() {
        row = state.db.article(slug, other).await?.filter(|r| r.published);
    }
    let row = row.ok_or_else(ApiError::not_found)?;
    let other_lang = if row.lang == "zh-CN" { "en" } else { "zh-CN" };
    let other_exists = state
        .db
        .article(slug, other_lang)
        .await?
        .is_some_and(|r| r.published);
    let votes = state
        .db
        .article_votes()
        .await?
        .remove(&(row.slug.clone(), row.lang.clone()))
        .unwrap_or_default();
    Ok(ArticleView {
        body_html: kb::render_markdown(&row.body_md),
        category_label: category_label(&row.category, lang),
        tags: crate::help::split_tags(&row.tags),
        updated_at: rfc3339(row.updated_at_ms),
        helpful: votes.helpful,
        not_helpful: votes.not_helpful,
        other_langs: if other_exists {
            vec![other_lang.to_owned()]
        } else {
            Vec::new()
        },
        slug: row.slug,
        lang: row.lang,
        category: row.category,
        title: row.title,
        body_md: row.body_md,
    })
}

/// One article, rendered.
#[utoipa::path(get, path = "/api/v1/articles/{slug}", tag = "help", params(OneArticleQuery),
    responses((status = 200, body = ArticleView),
        (status = 404, description = "`not_found`", body = crate::error::Problem)))]
pub async fn article(
    State(state): State<AppState>,
    lang: Lang,
    Path(slug): Path<String>,
    Query(q): Query<OneArticleQuery>,
) -> Result<ApiJson<ArticleView>, ApiError> {
    let article_lang = article_lang(q.lang.as_deref(), lang)?;
    Ok(ApiJson(
        article_in(&state, lang, &slug, article_lang).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackRequest {
    pub helpful: bool,
    /// zh-CN or en: the version read (default: the request's language).
    #[serde(default)]
    pub lang: Option<String>,
    /// What was missing or wrong (at most 1,000 characters).
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeedbackAnswer {
    pub helpful: i64,
    pub not_helpful: i64,
}

/// Records "was this helpful?" for an article.
pub async fn record_feedback(
    state: &AppState,
    lang: Lang,
    origin_ip: &str,
    reader: Option<&str>,
    slug: &str,
    body: FeedbackRequest,
) -> Result<FeedbackAnswer, ApiError> {
    let ip_key = format!("help-write-ip:{origin_ip}");
    if let Some(wait) = state.db.throttle_locked_for_s(&ip_key).await? {
        return Err(ApiError::too_many_requests(wait));
    }
    state
        .db
        .register_login_failure(&ip_key, &WRITES_PER_IP)
        .await?;
    let article_lang = article_lang(body.lang.as_deref(), lang)?;
    let comment = body.comment.unwrap_or_default();
    if comment.chars().count() > 1000 {
        return Err(invalid("comment", "longer than 1,000 characters"));
    }
    state
        .db
        .article(slug, article_lang)
        .await?
        .filter(|r| r.published)
        .ok_or_else(ApiError::not_found)?;
    state
        .db
        .insert_article_feedback(slug, article_lang, body.helpful, comment.trim(), reader)
        .await?;
    let votes = state
        .db
        .article_votes()
        .await?
        .remove(&(slug.to_owned(), article_lang.to_owned()))
        .unwrap_or_default();
    Ok(FeedbackAnswer {
        helpful: votes.helpful,
        not_helpful: votes.not_helpful,
    })
}

/// "Was this helpful?" — yes or no, with an optional comment for the editors.
#[utoipa::path(post, path = "/api/v1/articles/{slug}/feedback", tag = "help",
    request_body = FeedbackRequest,
    responses((status = 201, body = FeedbackAnswer),
        (status = 404, description = "`not_found`", body = crate::error::Problem),
        (status = 429, description = "`too_many_requests`", body = crate::error::Problem)))]
pub async fn article_feedback(
    State(state): State<AppState>,
    lang: Lang,
    RequestOrigin(origin): RequestOrigin,
    current: Result<CurrentSession, ApiError>,
    Path(slug): Path<String>,
    ApiJson(body): ApiJson<FeedbackRequest>,
) -> Result<(StatusCode, ApiJson<FeedbackAnswer>), ApiError> {
    let reader = current.ok().map(|c| c.user.id);
    let answer = record_feedback(
        &state,
        lang,
        &origin.ip.to_string(),
        reader.as_deref(),
        &slug,
        body,
    )
    .await?;
    Ok((StatusCode::CREATED, ApiJson(answer)))
}
