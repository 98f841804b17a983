//! `/activity`: one list of every money movement (deposits, withdrawals, transfers,
//! conversions, payments, refunds) with filters and paging, its CSV export (`/activity.csv`,
//! with the web session), and `/activity/{id}/help`: one entry explained, with its reference to
//! quote and where to go next.
//!
//! The rows, their words and the CSV are the API's own (`activity::entries`, `entry`,
//! `csv_response`); this module only lays them out. Everything is scoped to the signed-in user.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use super::moves::{next_links, shown_time, Link, Refused};
use super::wallet::badge_of;
use super::{percent_encode, PageCtx, SignedIn};
use crate::api::activity::{
    csv_response, entries, entry, filter_of, ActivityItem, ActivityQuery, KINDS,
};
use crate::error::ApiError;
use crate::{status, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/activity", get(list))
        .route("/activity.csv", get(csv))
        .route("/activity/{id}/help", get(help))
}

/// The most rows one page lists.
const PAGE_ROWS: i64 = 20;

/// A choice in a filter menu.
pub struct FilterOption {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// One entry as the pages list it, words already in the page's language.
pub struct ActivityLine {
    pub id: String,
    pub time: String,
    pub kind: String,
    pub kind_label: &'static str,
    pub direction: String,
    pub direction_label: &'static str,
    pub amount: String,
    pub asset: String,
    pub fee: String,
    /// The fee is more than nothing.
    pub has_fee: bool,
    pub to_amount: Option<String>,
    pub to_asset: Option<String>,
    pub status: String,
    pub status_label: String,
    pub status_meaning: String,
    pub status_next: String,
    pub badge: &'static str,
    pub reason_code: Option<String>,
    /// The reason's title, when it is words rather than a code.
    pub reason_label: Option<String>,
    pub reason_meaning: String,
    pub reason_next: String,
    pub counterparty: Option<String>,
    pub note: String,
    pub reference: Option<String>,
    pub help_url: String,
}

pub(super) fn kind_label(ctx: &PageCtx, kind: &str) -> &'static str {
    match kind {
        "deposit" => ctx.t("activity.kind.deposit"),
        "withdrawal" => ctx.t("activity.kind.withdrawal"),
        "transfer" => ctx.t("activity.kind.transfer"),
        "conversion" => ctx.t("activity.kind.conversion"),
        "payment" => ctx.t("activity.kind.payment"),
        "refund" => ctx.t("activity.kind.refund"),
        _ => ctx.t("activity.kind.other"),
    }
}

fn direction_label(ctx: &PageCtx, direction: &str) -> &'static str {
    match direction {
        "in" => ctx.t("activity.direction.in"),
        "out" => ctx.t("activity.direction.out"),
        _ => ctx.t("activity.direction.exchange"),
    }
}

pub(super) fn line(ctx: &PageCtx, item: ActivityItem) -> ActivityLine {
    let (reason_label, reason_meaning, reason_next) = match (&item.reason_code, item.reason_text) {
        (Some(code), Some(t)) => (Some(t.label).filter(|l| l != code), t.meaning, t.next_step),
        _ => (None, String::new(), String::new()),
    };
    ActivityLine {
        time: shown_time(&item.created_at),
        kind_label: kind_label(ctx, &item.kind),
        direction_label: direction_label(ctx, &item.direction),
        badge: badge_of(&item.status),
        has_fee: item.fee.bytes().any(|b| (b'1'..=b'9').contains(&b)),
        status_label: item.status_text.label,
        status_meaning: item.status_text.meaning,
        status_next: item.status_text.next_step,
        reason_label,
        reason_meaning,
        reason_next,
        id: item.id,
        kind: item.kind,
        direction: item.direction,
        amount: item.amount,
        asset: item.asset,
        fee: item.fee,
        to_amount: item.to_amount,
        to_asset: item.to_asset,
        status: item.status,
        reason_code: item.reason_code,
        counterparty: item.counterparty,
        note: item.note,
        reference: item.reference,
        help_url: item.help_url,
    }
}

// --- the list ----------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "activity.html")]
struct ActivityPage<'a> {
    ctx: &'a PageCtx,
    items: Vec<ActivityLine>,
    kinds: Vec<FilterOption>,
    statuses: Vec<FilterOption>,
    assets: Vec<FilterOption>,
    since: String,
    until: String,
    /// The next (older) page, when there is one.
    next_href: Option<String>,
    /// Whether this is a later page (a link back to the newest is offered).
    later_page: bool,
    /// The newest page with the same filters.
    first_href: String,
    csv_href: String,
    filtered: bool,
    refused: Option<Refused>,
}

/// The filters as a query string (without `?`), plus `cursor` when given.
fn filter_query(q: &ActivityQuery, cursor: Option<&str>) -> String {
    let mut pairs = Vec::new();
    for (name, value) in [
        ("kind", &q.kind),
        ("status", &q.status),
        ("asset", &q.asset),
        ("since", &q.since),
        ("until", &q.until),
    ] {
        if let Some(v) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            pairs.push(format!("{name}={}", percent_encode(v)));
        }
    }
    if let Some(c) = cursor {
        pairs.push(format!("cursor={}", percent_encode(c)));
    }
    pairs.join("&")
}

fn with_query(path: &str, query: &str) -> String {
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

/// Statuses one can filter by: the movements' two, then the deposits' and withdrawals' own.
fn status_options(ctx: &PageCtx, chosen: Option<&str>) -> Vec<FilterOption> {
    let lang = ctx.lang;
    let options: [(&str, &str); 9] = [
        ("completed", status::movement("completed", lang).label),
        ("refused", status::movement("refused", lang).label),
        ("confirming", status::deposit("confirming", lang).label),
        ("credited", status::deposit("credited", lang).label),
        ("requested", status::withdrawal("requested", lang).label),
        (
            "under_review",
            status::withdrawal("under_review", lang).label,
        ),
        ("broadcast", status::withdrawal("broadcast", lang).label),
        ("rejected", status::withdrawal("rejected", lang).label),
        (
            "failed_refunded",
            status::withdrawal("failed_refunded", lang).label,
        ),
    ];
    options
        .iter()
        .map(|(value, label)| FilterOption {
            value: (*value).to_owned(),
            label: (*label).to_owned(),
            selected: chosen == Some(*value),
        })
        .collect()
}

async fn list(
    State(state): State<AppState>,
    Query(query): Query<ActivityQuery>,
    SignedIn { ctx, current }: SignedIn,
) -> Response {
    let built: Result<ActivityPage, ApiError> = async {
        let chosen = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let kind = chosen(&query.kind);
        let status = chosen(&query.status);
        let asset = chosen(&query.asset).map(|a| a.to_ascii_uppercase());
        let kinds = KINDS
            .iter()
            .map(|k| FilterOption {
                value: (*k).to_owned(),
                label: kind_label(&ctx, k).to_owned(),
                selected: kind.as_deref() == Some(*k),
            })
            .collect();
        let assets = state
            .db
            .asset_listing()
            .await?
            .into_iter()
            .map(|a| FilterOption {
                selected: asset.as_deref() == Some(a.code.as_str()),
                value: a.code.as_str().to_owned(),
                label: a.code.as_str().to_owned(),
            })
            .collect();
        let mut page = ActivityPage {
            ctx: &ctx,
            items: Vec::new(),
            kinds,
            statuses: status_options(&ctx, status.as_deref()),
            assets,
            since: chosen(&query.since).unwrap_or_default(),
            until: chosen(&query.until).unwrap_or_default(),
            next_href: None,
            later_page: chosen(&query.cursor).is_some(),
            first_href: with_query("/activity", &filter_query(&query, None)),
            csv_href: with_query("/activity.csv", &filter_query(&query, None)),
            filtered: [&kind, &status, &asset].iter().any(|v| v.is_some())
                || chosen(&query.since).is_some()
                || chosen(&query.until).is_some(),
            refused: None,
        };
        match filter_of(&query) {
            Ok(filter) => {
                let limit = query.limit.unwrap_or(PAGE_ROWS).clamp(1, 100);
                let (items, next) =
                    entries(&state, &current.user.id, &filter, limit, ctx.lang).await?;
                page.items = items.into_iter().map(|i| line(&ctx, i)).collect();
                page.next_href =
                    next.map(|c| format!("/activity?{}", filter_query(&query, Some(&c))));
            }
            Err(e) if e.status().is_client_error() => {
                page.refused = Some(super::moves::refused(&ctx, &e));
            }
            Err(e) => return Err(e),
        }
        Ok(page)
    }
    .await;
    match built {
        Ok(page) => {
            let status = if page.refused.is_some() {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::OK
            };
            ctx.render(status, &page)
        }
        Err(e) => ctx.error(&e),
    }
}

/// The same rows as CSV, for the signed-in user (the web session, not a token).
async fn csv(
    State(state): State<AppState>,
    Query(query): Query<ActivityQuery>,
    SignedIn { ctx, current }: SignedIn,
) -> Response {
    let made = async {
        let filter = filter_of(&query)?;
        let limit = query.limit.unwrap_or(10_000).clamp(1, 10_000);
        let (items, _) = entries(&state, &current.user.id, &filter, limit, ctx.lang).await?;
        Ok::<_, ApiError>(csv_response(&items, ctx.lang))
    }
    .await;
    match made {
        Ok(response) => ctx.finish(response),
        Err(e) => ctx.error(&e),
    }
}

// --- help with one entry -----------------------------------------------------------------------

#[derive(Template)]
#[template(path = "activity_help.html")]
struct HelpPage<'a> {
    ctx: &'a PageCtx,
    /// The entry (named as `activity_line.html` expects).
    l: ActivityLine,
    links: Vec<Link>,
}

async fn help(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SignedIn { ctx, current }: SignedIn,
) -> Response {
    let item = match entry(&state, &current.user.id, &id, ctx.lang).await {
        Ok(Some(item)) => item,
        Ok(None) => return super::not_found_page(&ctx),
        Err(e) => return ctx.error(&e),
    };
    let line = line(&ctx, item);
    let mut links = match &line.reason_code {
        Some(code) => {
            let quote = line
                .to_asset
                .as_deref()
                .map(|to| (line.asset.as_str(), to, line.amount.as_str()));
            next_links(&ctx, code, quote)
        }
        None => Vec::new(),
    };
    // Where entries of its kind live.
    let (href, text) = match line.kind.as_str() {
        "deposit" => ("/deposit".to_owned(), ctx.t("nav.deposit")),
        "withdrawal" => ("/withdraw#history".to_owned(), ctx.t("nav.withdraw")),
        "conversion" => ("/convert".to_owned(), ctx.t("nav.convert")),
        "transfer" => ("/send".to_owned(), ctx.t("nav.send")),
        kind => (
            format!("/activity?kind={}", percent_encode(kind)),
            ctx.t("activity.same_kind"),
        ),
    };
    if !links.iter().any(|l| l.href.starts_with(&href)) {
        links.push(Link { href, text });
    }
    ctx.render(
        StatusCode::OK,
        &HelpPage {
            ctx: &ctx,
            l: line,
            links,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_survive_paging_and_export() {
        let q = ActivityQuery {
            kind: Some("payment".into()),
            status: Some(" ".into()),
            since: Some("2026-11-01".into()),
            ..ActivityQuery::default()
        };
        assert_eq!(filter_query(&q, None), "kind=payment&since=2026-11-01");
        assert_eq!(
            filter_query(&q, Some("1793491200000_mv 1")),
            "kind=payment&since=2026-11-01&cursor=1793491200000_mv%201"
        );
        assert_eq!(filter_query(&ActivityQuery::default(), None), "");
    }
}
