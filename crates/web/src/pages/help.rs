//! The help center as pages, for everyone, signed in or not: `/help` (search, the five common
//! problems, who answers right now, what is going on), `/help/search`, `/help/topics/{category}`,
//! `/help/articles/{slug}` with "was this helpful?", `/help/contact` (every channel with its
//! hours in its own time and the reader's), `/help/check` ("is this really us?" and reporting a
//! look-alike) and `/help/status` (incidents, maintenance and security notices with their
//! history).
//!
//! Every answer is the API's own (`directory_at`, `check_value`, `record_report`,
//! `announcement_list`, `find_articles`, `article_in`, `record_feedback`); this module only
//! chooses the reader's time zone and lays the answers out. It never decides hours, officialness
//! or relevance itself.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use helpcenter::directory::{self, ChannelKind};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::Deserialize;

use super::{not_found_page, percent_encode, CsrfForm, PageCtx};
use crate::api::help::{
    announcement_list, article_in, category_label, check_value, directory_at, find_articles,
    instant, record_feedback, record_report, viewer_zone, AnnouncementView, ArticleHit,
    ArticleView, ChannelView, CheckView, FeedbackRequest, ReportRequest, CATEGORIES, SEEN_IN,
};
use crate::error::ApiError;
use crate::lang::{cookie, Lang};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/help", get(home))
        .route("/help/search", get(search))
        .route("/help/topics/{category}", get(topic))
        .route("/help/articles/{slug}", get(article).post(feedback))
        .route("/help/contact", get(contact))
        .route("/help/check", get(check).post(report))
        .route("/help/status", get(status))
}

/// The cookie `app.js` sets to the browser's IANA time zone.
pub const TZ_COOKIE: &str = "okw_tz";

/// The five problems the founding document names, each a category of articles.
pub const PROBLEMS: [&str; 5] = [
    "login_failed",
    "funds_delayed",
    "cannot_trade",
    "account_security",
    "payment_failed",
];

/// How many results a search page lists.
const RESULTS_MAX: usize = 20;

// --- shared pieces -----------------------------------------------------------------------------

/// The zone times are shown in, and why that one.
pub struct ViewerZone {
    pub name: String,
    pub tz: TimeZone,
    /// asked (`?tz=`), browser (the cookie app.js sets) or operator (neither).
    pub source: &'static str,
    /// `?tz=` named a zone that does not exist (the page says so and uses another).
    pub asked_unknown: bool,
}

impl ViewerZone {
    /// `?tz=` when it is a real zone, else the browser's (cookie), else the operator's.
    pub fn of(state: &AppState, headers: &HeaderMap, asked: Option<&str>) -> ViewerZone {
        let asked = asked.map(str::trim).filter(|s| !s.is_empty());
        if let Some(name) = asked {
            if let Ok((name, tz)) = viewer_zone(state, Some(name)) {
                return ViewerZone {
                    name,
                    tz,
                    source: "asked",
                    asked_unknown: false,
                };
            }
        }
        let from_browser = cookie(headers, TZ_COOKIE)
            .filter(|v| !v.is_empty())
            .and_then(|name| viewer_zone(state, Some(name)).ok());
        let (name, tz, source) = match from_browser {
            Some((name, tz)) => (name, tz, "browser"),
            None => {
                let name = state.help.settings.time_zone.clone();
                let tz = TimeZone::get(&name).unwrap_or(TimeZone::UTC);
                (name, tz, "operator")
            }
        };
        ViewerZone {
            name,
            tz,
            source,
            asked_unknown: asked.is_some(),
        }
    }

    /// "Times are in Europe/London (your browser's time zone)."
    pub fn sentence(&self, ctx: &PageCtx) -> String {
        let why = match self.source {
            "asked" => ctx.t("hc.zone.asked"),
            "browser" => ctx.t("hc.zone.browser"),
            _ => ctx.t("hc.zone.operator"),
        };
        match ctx.lang {
            Lang::En => format!("{} {} ({why}).", ctx.t("hc.zone.shown"), self.name),
            Lang::ZhCn => format!("{}{}（{why}）。", ctx.t("hc.zone.shown"), self.name),
        }
    }

    /// An RFC 3339 instant on this zone's clock (`2026-11-25 18:00 CST`).
    pub fn time(&self, rfc3339: &str) -> String {
        rfc3339.parse::<Timestamp>().map_or_else(
            |_| rfc3339.to_owned(),
            |t| directory::local_time(t, &self.tz),
        )
    }
}

/// A topic as the pages link to it.
pub struct TopicLink {
    pub id: &'static str,
    pub label: String,
    /// One line on what it covers (the five problems only).
    pub blurb: &'static str,
    pub href: String,
}

fn topic_link(ctx: &PageCtx, id: &'static str) -> TopicLink {
    TopicLink {
        id,
        label: category_label(id, ctx.lang),
        blurb: match id {
            "login_failed" => ctx.t("hc.problem.login_failed"),
            "funds_delayed" => ctx.t("hc.problem.funds_delayed"),
            "cannot_trade" => ctx.t("hc.problem.cannot_trade"),
            "account_security" => ctx.t("hc.problem.account_security"),
            "payment_failed" => ctx.t("hc.problem.payment_failed"),
            _ => "",
        },
        href: format!("/help/topics/{id}"),
    }
}

fn problems(ctx: &PageCtx) -> Vec<TopicLink> {
    PROBLEMS.iter().map(|id| topic_link(ctx, id)).collect()
}

fn all_topics(ctx: &PageCtx) -> Vec<TopicLink> {
    CATEGORIES
        .iter()
        .map(|(id, _, _)| topic_link(ctx, id))
        .collect()
}

/// A channel as the pages show it: the directory's view and its languages in words.
pub struct ChannelCard {
    pub c: ChannelView,
    pub languages: String,
    /// A person answers through it (else it is where we publish): it has opening hours.
    pub conversation: bool,
}

impl ChannelCard {
    fn of(ctx: &PageCtx, c: ChannelView) -> ChannelCard {
        let names: Vec<String> = c.languages.iter().map(|t| language_name(ctx, t)).collect();
        ChannelCard {
            languages: names.join(ctx.t("hc.list_sep")),
            conversation: ChannelKind::parse(&c.kind).is_some_and(ChannelKind::is_conversation),
            c,
        }
    }
}

/// The way to reach us that the directory suggests now, and why.
pub struct Best {
    pub card: ChannelCard,
    pub reason: String,
}

/// Who answers: the best channel now and every channel a person answers through, with its
/// status — what the help center's home, a search that found nothing and an article show.
pub struct ContactBox {
    pub best: Option<Best>,
    pub lines: Vec<ChannelCard>,
    pub zone_text: String,
    /// The zone shown and why (asked, browser, operator), for app.js to offer the browser's.
    pub zone_name: String,
    pub zone_source: &'static str,
}

/// The directory split for a page: the best channel, the other channels a person answers
/// through, and where we publish.
fn split_directory(
    ctx: &PageCtx,
    dir: crate::api::help::DirectoryView,
) -> (Option<Best>, Vec<ChannelCard>, Vec<ChannelCard>) {
    let best_id = dir.best.as_ref().map(|b| b.channel_id.clone());
    let reason = dir.best.map(|b| b.reason).unwrap_or_default();
    let (mut best, mut talk, mut published) = (None, Vec::new(), Vec::new());
    for c in dir.items {
        let card = ChannelCard::of(ctx, c);
        if Some(&card.c.id) == best_id.as_ref() {
            best = Some(Best {
                card,
                reason: reason.clone(),
            });
        } else if card.conversation {
            talk.push(card);
        } else {
            published.push(card);
        }
    }
    (best, talk, published)
}

async fn contact_box(
    state: &AppState,
    ctx: &PageCtx,
    headers: &HeaderMap,
) -> Result<ContactBox, ApiError> {
    let zone = ViewerZone::of(state, headers, None);
    let dir = directory_at(
        state,
        ctx.lang,
        Timestamp::now(),
        (zone.name.clone(), zone.tz.clone()),
    )
    .await?;
    let (best, lines, _) = split_directory(ctx, dir);
    Ok(ContactBox {
        best,
        lines,
        zone_text: zone.sentence(ctx),
        zone_name: zone.name,
        zone_source: zone.source,
    })
}

/// The label of a place a look-alike was seen.
fn seen_in_label(ctx: &PageCtx, code: &str) -> String {
    ctx.t_or(format!("hc.seen.{code}"), code)
}

/// A language tag as words (`yue` → Cantonese).
fn language_name(ctx: &PageCtx, tag: &str) -> String {
    let key = match tag {
        "zh-CN" | "zh" => "hc.language.zh",
        "en" => "hc.language.en",
        "yue" => "hc.language.yue",
        other => return other.to_owned(),
    };
    ctx.t(key).to_owned()
}

// --- /help -------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "help.html")]
struct HomePage<'a> {
    ctx: &'a PageCtx,
    problems: Vec<TopicLink>,
    topics: Vec<TopicLink>,
    contact: ContactBox,
    notices: Vec<AnnouncementView>,
    /// Supervisors and administrators get links to the editing pages.
    staff: bool,
    admin: bool,
}

async fn home(State(state): State<AppState>, headers: HeaderMap, ctx: PageCtx) -> Response {
    let built: Result<HomePage, ApiError> = async {
        Ok(HomePage {
            problems: problems(&ctx),
            topics: all_topics(&ctx),
            contact: contact_box(&state, &ctx, &headers).await?,
            notices: announcement_list(&state, ctx.lang, true, None).await?,
            staff: ctx.has_role("supervisor") || ctx.has_role("admin"),
            admin: ctx.has_role("admin"),
            ctx: &ctx,
        })
    }
    .await;
    match built {
        Ok(page) => ctx.render(StatusCode::OK, &page),
        Err(e) => ctx.error(&e),
    }
}

// --- /help/search ------------------------------------------------------------------------------

#[derive(Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
}

#[derive(Template)]
#[template(path = "help_search.html")]
struct SearchPage<'a> {
    ctx: &'a PageCtx,
    q: String,
    hits: Vec<ArticleHit>,
    /// The words could not be searched (too long): why.
    error: Option<String>,
    problems: Vec<TopicLink>,
    /// Shown when nothing was found.
    contact: Option<ContactBox>,
    count_text: String,
}

async fn search(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<SearchQuery>,
    ctx: PageCtx,
) -> Response {
    let q = query.q.trim().to_owned();
    let built: Result<SearchPage, ApiError> = async {
        let (hits, error) = if q.is_empty() {
            (Vec::new(), None)
        } else {
            match find_articles(&state, ctx.lang, &q, ctx.lang.tag(), None, RESULTS_MAX).await {
                Ok(hits) => (hits, None),
                Err(e) if e.status().is_client_error() => (Vec::new(), Some(ctx.refusal(&e).0)),
                Err(e) => return Err(e),
            }
        };
        let contact = if !q.is_empty() && hits.is_empty() {
            Some(contact_box(&state, &ctx, &headers).await?)
        } else {
            None
        };
        let count_text = match ctx.lang {
            Lang::En if hits.len() == 1 => format!("1 article for “{q}”"),
            Lang::En => format!("{} articles for “{q}”", hits.len()),
            Lang::ZhCn => format!("“{q}”找到 {} 篇文章", hits.len()),
        };
        Ok(SearchPage {
            ctx: &ctx,
            problems: problems(&ctx),
            q: q.clone(),
            hits,
            error,
            contact,
            count_text,
        })
    }
    .await;
    match built {
        Ok(page) => ctx.render(StatusCode::OK, &page),
        Err(e) => ctx.error(&e),
    }
}

// --- /help/topics/{category} -------------------------------------------------------------------

#[derive(Template)]
#[template(path = "help_topic.html")]
struct TopicPage<'a> {
    ctx: &'a PageCtx,
    topic: TopicLink,
    articles: Vec<ArticleHit>,
    topics: Vec<TopicLink>,
}

async fn topic(
    State(state): State<AppState>,
    Path(category): Path<String>,
    ctx: PageCtx,
) -> Response {
    let Some(id) = CATEGORIES
        .iter()
        .map(|(id, _, _)| *id)
        .find(|id| *id == category)
    else {
        return not_found_page(&ctx);
    };
    let articles = match find_articles(&state, ctx.lang, "", ctx.lang.tag(), Some(id), 50).await {
        Ok(articles) => articles,
        Err(e) => return ctx.error(&e),
    };
    let page = TopicPage {
        ctx: &ctx,
        topic: topic_link(&ctx, id),
        articles,
        topics: all_topics(&ctx),
    };
    ctx.render(StatusCode::OK, &page)
}

// --- /help/articles/{slug} ---------------------------------------------------------------------

#[derive(Deserialize)]
struct ArticleQuery {
    /// The language to read it in (default: the page's).
    lang: Option<String>,
    /// yes or no: the feedback just sent.
    feedback: Option<String>,
}

#[derive(Template)]
#[template(path = "help_article.html")]
struct ArticlePage<'a> {
    ctx: &'a PageCtx,
    a: ArticleView,
    /// The article is not written in the language asked for; this is the other one.
    fallback: bool,
    /// The other language's version: its address, words (in that language) and tag.
    other: Option<(String, &'static str, String)>,
    updated: String,
    /// yes or no once feedback was sent.
    thanks: Option<String>,
    contact: ContactBox,
}

async fn article(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Query(query): Query<ArticleQuery>,
    ctx: PageCtx,
) -> Response {
    let asked = query
        .lang
        .as_deref()
        .and_then(Lang::from_tag)
        .unwrap_or(ctx.lang);
    let built: Result<ArticlePage, ApiError> = async {
        let a = article_in(&state, ctx.lang, &slug, asked.tag()).await?;
        let other = a.other_langs.first().and_then(|tag| {
            let lang = Lang::from_tag(tag)?;
            Some((
                format!("/help/articles/{}?lang={tag}", percent_encode(&a.slug)),
                super::text(lang, "hc.article.in_this_lang"),
                tag.clone(),
            ))
        });
        let zone = ViewerZone::of(&state, &headers, None);
        Ok(ArticlePage {
            fallback: a.lang != asked.tag(),
            updated: zone.time(&a.updated_at),
            other,
            thanks: query.feedback.filter(|f| f == "yes" || f == "no"),
            contact: contact_box(&state, &ctx, &headers).await?,
            a,
            ctx: &ctx,
        })
    }
    .await;
    match built {
        Ok(page) => ctx.render(StatusCode::OK, &page),
        Err(e) if e.status() == StatusCode::NOT_FOUND => not_found_page(&ctx),
        Err(e) => ctx.error(&e),
    }
}

#[derive(Deserialize)]
struct FeedbackForm {
    /// yes or no.
    #[serde(default)]
    helpful: String,
    /// The version read.
    #[serde(default)]
    lang: String,
    #[serde(default)]
    comment: String,
}

async fn feedback(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    CsrfForm { ctx, form }: CsrfForm<FeedbackForm>,
) -> Response {
    let helpful = match form.helpful.as_str() {
        "yes" => true,
        "no" => false,
        _ => {
            return ctx.message(
                StatusCode::BAD_REQUEST,
                ctx.t("form.invalid.title"),
                ctx.t("form.invalid.body"),
                (
                    &format!("/help/articles/{}", percent_encode(&slug)),
                    ctx.t("hc.article.back"),
                ),
            )
        }
    };
    let lang = Lang::from_tag(&form.lang).unwrap_or(ctx.lang);
    let comment = Some(form.comment.trim().to_owned()).filter(|c| !c.is_empty());
    let reader = ctx.current.as_ref().map(|c| c.user.id.clone());
    let answer = record_feedback(
        &state,
        ctx.lang,
        &ctx.origin.ip,
        reader.as_deref(),
        &slug,
        FeedbackRequest {
            helpful,
            lang: Some(lang.tag().to_owned()),
            comment,
        },
    )
    .await;
    match answer {
        Ok(_) => ctx.see_other(&format!(
            "/help/articles/{}?lang={}&feedback={}#feedback",
            percent_encode(&slug),
            lang.tag(),
            form.helpful
        )),
        Err(e) if e.status() == StatusCode::NOT_FOUND => not_found_page(&ctx),
        Err(e) => ctx.error(&e),
    }
}

// --- /help/contact -----------------------------------------------------------------------------

#[derive(Deserialize)]
struct ContactQuery {
    /// The viewer's IANA zone.
    tz: Option<String>,
    /// An RFC 3339 instant to show the hours at.
    at: Option<String>,
    /// The same from the form: a wall-clock time (`2026-11-25T10:00`) in the viewer's zone.
    when: Option<String>,
}

#[derive(Template)]
#[template(path = "help_contact.html")]
struct ContactPage<'a> {
    ctx: &'a PageCtx,
    best: Option<Best>,
    /// Channels a person answers through, the best one excepted.
    talk: Vec<ChannelCard>,
    /// Where we publish (social accounts, the website).
    published: Vec<ChannelCard>,
    zone: ViewerZone,
    zone_text: String,
    /// The instant shown, on the viewer's clock.
    at_text: String,
    /// Not now: a time someone asked for.
    fixed: bool,
    /// The datetime-local value of the instant shown.
    when_value: String,
    /// The page at now, in the same zone.
    now_href: String,
    /// What was wrong with `at` or `when`, if anything.
    at_problem: Option<String>,
}

/// A wall-clock time typed in a datetime-local field, on `tz`'s clock.
fn wall_clock(text: &str, tz: &TimeZone) -> Option<Timestamp> {
    let civil: jiff::civil::DateTime = text.trim().parse().ok()?;
    civil.to_zoned(tz.clone()).ok().map(|z| z.timestamp())
}

async fn contact(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<ContactQuery>,
    ctx: PageCtx,
) -> Response {
    let zone = ViewerZone::of(&state, &headers, query.tz.as_deref());
    let mut at_problem = None;
    let asked_at = query.at.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let asked_when = query
        .when
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let at = match (asked_at, asked_when) {
        (Some(text), _) => match instant(Some(text)) {
            Ok(t) => Some(t),
            Err(e) => {
                at_problem = Some(ctx.refusal(&e).0);
                None
            }
        },
        (None, Some(text)) => {
            let t = wall_clock(text, &zone.tz);
            if t.is_none() {
                at_problem = Some(ctx.t("hc.contact.when_unreadable").to_owned());
            }
            t
        }
        (None, None) => None,
    };
    let fixed = at.is_some();
    let at = at.unwrap_or_else(Timestamp::now);
    let dir = match directory_at(&state, ctx.lang, at, (zone.name.clone(), zone.tz.clone())).await {
        Ok(dir) => dir,
        Err(e) => return ctx.error(&e),
    };
    let (best, talk, published) = split_directory(&ctx, dir);
    let zoned = at.to_zoned(zone.tz.clone());
    let page = ContactPage {
        ctx: &ctx,
        best,
        talk,
        published,
        at_text: directory::local_time(at, &zone.tz),
        when_value: zoned.strftime("%Y-%m-%dT%H:%M").to_string(),
        fixed,
        now_href: match query.tz.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            Some(tz) => format!("/help/contact?tz={}", percent_encode(tz)),
            None => "/help/contact".to_owned(),
        },
        at_problem,
        zone_text: zone.sentence(&ctx),
        zone,
    };
    ctx.render(StatusCode::OK, &page)
}

// --- /help/check -------------------------------------------------------------------------------

#[derive(Deserialize)]
struct CheckQuery {
    value: Option<String>,
    /// Set after a report went in.
    reported: Option<String>,
}

/// One of our channels as the check page lists it.
pub struct OfficialLine {
    pub kind_label: String,
    pub name: String,
    pub display: String,
    pub href: Option<String>,
}

#[derive(Template)]
#[template(path = "help_check.html")]
struct CheckPage<'a> {
    ctx: &'a PageCtx,
    value: String,
    result: Option<CheckView>,
    /// Why the value could not be checked.
    problem: Option<String>,
    reported: bool,
    /// What the report form keeps when it was refused.
    report_problem: Option<String>,
    seen_in: Vec<(&'static str, String)>,
    seen_in_chosen: String,
    note: String,
    official: Vec<OfficialLine>,
    reports_text: String,
}

/// "Reported 3 times" — how often a value was reported.
fn reports_text(lang: Lang, n: i64) -> String {
    match (lang, n) {
        (Lang::En, 0) => "Nobody has reported this yet.".into(),
        (Lang::En, 1) => "Reported once by people who met it.".into(),
        (Lang::En, n) => format!("Reported {n} times by people who met it."),
        (Lang::ZhCn, 0) => "目前还没有人举报过它。".into(),
        (Lang::ZhCn, n) => format!("已有 {n} 人次举报过它。"),
    }
}

async fn official_lines(state: &AppState, lang: Lang) -> Result<Vec<OfficialLine>, ApiError> {
    let zone = (state.help.settings.time_zone.clone(), TimeZone::UTC);
    let dir = directory_at(state, lang, Timestamp::now(), zone).await?;
    Ok(dir
        .items
        .into_iter()
        .filter(|c| !c.display.is_empty() || !c.value.is_empty())
        .map(|c| OfficialLine {
            kind_label: c.kind_label,
            name: c.name,
            display: if c.display.is_empty() {
                c.value
            } else {
                c.display
            },
            href: c.href,
        })
        .collect())
}

async fn render_check(
    state: &AppState,
    ctx: &PageCtx,
    value: String,
    reported: bool,
    report: Option<(String, String, String)>,
) -> Response {
    let built: Result<CheckPage, ApiError> = async {
        let (result, problem) = if value.trim().is_empty() {
            (None, None)
        } else {
            match check_value(state, ctx.lang, &value).await {
                Ok(r) => (Some(r), None),
                Err(e) if e.status().is_client_error() => (None, Some(ctx.refusal(&e).0)),
                Err(e) => return Err(e),
            }
        };
        let result_reports = result.as_ref().map_or(0, |r| r.reports);
        let (report_problem, seen_in_chosen, note) = match report {
            Some((why, seen, note)) => (Some(why), seen, note),
            None => (None, String::new(), String::new()),
        };
        Ok(CheckPage {
            ctx,
            value: value.trim().to_owned(),
            result,
            problem,
            reported,
            report_problem,
            seen_in: SEEN_IN
                .iter()
                .map(|code| (*code, seen_in_label(ctx, code)))
                .collect(),
            seen_in_chosen,
            note,
            official: official_lines(state, ctx.lang).await?,
            reports_text: reports_text(ctx.lang, result_reports),
        })
    }
    .await;
    match built {
        Ok(page) => ctx.render(
            if page.report_problem.is_some() {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::OK
            },
            &page,
        ),
        Err(e) => ctx.error(&e),
    }
}

async fn check(
    State(state): State<AppState>,
    Query(query): Query<CheckQuery>,
    ctx: PageCtx,
) -> Response {
    render_check(
        &state,
        &ctx,
        query.value.unwrap_or_default(),
        query.reported.is_some(),
        None,
    )
    .await
}

#[derive(Deserialize)]
struct ReportForm {
    #[serde(default)]
    value: String,
    #[serde(default)]
    seen_in: String,
    #[serde(default)]
    note: String,
}

async fn report(
    State(state): State<AppState>,
    CsrfForm { ctx, form }: CsrfForm<ReportForm>,
) -> Response {
    let reporter = ctx.current.as_ref().map(|c| c.user.id.clone());
    let answer = record_report(
        &state,
        &ctx.origin.ip,
        reporter.as_deref(),
        ReportRequest {
            value: form.value.clone(),
            seen_in: Some(form.seen_in.clone()).filter(|s| !s.is_empty()),
            note: Some(form.note.clone()),
        },
    )
    .await;
    match answer {
        Ok(_) => ctx.see_other(&format!(
            "/help/check?value={}&reported=1#result",
            percent_encode(form.value.trim())
        )),
        Err(e) if e.status() == StatusCode::UNPROCESSABLE_ENTITY => {
            let why = ctx.refusal(&e).0;
            render_check(
                &state,
                &ctx,
                form.value,
                false,
                Some((why, form.seen_in, form.note)),
            )
            .await
        }
        Err(e) => ctx.error(&e),
    }
}

// --- /help/status ------------------------------------------------------------------------------

/// An announcement with its times on the reader's clock.
pub struct Notice {
    pub view: AnnouncementView,
    pub starts: String,
    pub ends: Option<String>,
    /// The update times, in the order of `view.updates`.
    pub update_times: Vec<String>,
    pub badge: &'static str,
}

/// A badge's colour for an announcement's state.
pub fn notice_badge(state: &str) -> &'static str {
    match state {
        "resolved" | "completed" | "archived" => "ok",
        "investigating" | "active" => "danger",
        _ => "warn",
    }
}

#[derive(Template)]
#[template(path = "help_status.html")]
struct StatusPage<'a> {
    ctx: &'a PageCtx,
    current: Vec<Notice>,
    past: Vec<Notice>,
    zone_text: String,
}

async fn status(State(state): State<AppState>, headers: HeaderMap, ctx: PageCtx) -> Response {
    let zone = ViewerZone::of(&state, &headers, None);
    let all = match announcement_list(&state, ctx.lang, false, None).await {
        Ok(all) => all,
        Err(e) => return ctx.error(&e),
    };
    let (mut current, mut past) = (Vec::new(), Vec::new());
    for view in all {
        let notice = Notice {
            starts: zone.time(&view.starts_at),
            ends: view.ends_at.as_deref().map(|t| zone.time(t)),
            update_times: view.updates.iter().map(|u| zone.time(&u.at)).collect(),
            badge: notice_badge(&view.state),
            view,
        };
        if notice.view.current {
            current.push(notice);
        } else {
            past.push(notice);
        }
    }
    let page = StatusPage {
        ctx: &ctx,
        current,
        past,
        zone_text: zone.sentence(&ctx),
    };
    ctx.render(StatusCode::OK, &page)
}

/// The current announcements affecting `feature` (and `asset`), for the banner on the deposit
/// and withdraw pages. A notice that does not load never keeps the money page from showing.
pub async fn banner_notices(
    state: &AppState,
    lang: Lang,
    feature: &str,
    asset: Option<&str>,
) -> Vec<AnnouncementView> {
    match announcement_list(state, lang, true, Some((feature, asset))).await {
        Ok(list) => list,
        Err(e) => {
            tracing::warn!(error = ?e, feature, "the service notices did not load");
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_clock_times_are_read_in_the_viewers_zone() {
        let tz = TimeZone::get("Asia/Shanghai").unwrap();
        assert_eq!(
            wall_clock("2026-11-25T10:00", &tz).unwrap().to_string(),
            "2026-11-25T02:00:00Z"
        );
        assert!(wall_clock("tomorrow", &tz).is_none());
    }

    #[test]
    fn the_five_problems_are_categories() {
        for p in PROBLEMS {
            assert!(CATEGORIES.iter().any(|(id, _, _)| *id == p), "{p}");
        }
    }
}
