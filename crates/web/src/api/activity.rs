//! One history of every money movement the caller took part in (`/api/v1/activity`): deposits,
//! withdrawals, transfers, conversions, payments and refunds, newest first, with their status,
//! reason code and a plain explanation in the request's language; filters; a CSV export of the
//! same rows (`/api/v1/activity.csv`); and "get help with this": every entry carries a `help_url`
//! that takes its reference into support.
//!
//! Every route needs a session and shows only the caller's own entries.

use axum::extract::{Path, Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use ledger::Asset;
use serde::{Deserialize, Serialize};
use store::movements::MovementFilter;
use utoipa::{IntoParams, ToSchema};

use crate::api::moves::{movement_view, MovementView, Names};
use crate::api::sessions::rfc3339;
use crate::api::wallet::{asset_decimals, explained, StatusText};
use crate::auth::CurrentSession;
use crate::error::{ApiError, FieldProblem, Reason};
use crate::json::ApiJson;
use crate::lang::Lang;
use crate::{status, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/activity", get(list))
        .route("/api/v1/activity.csv", get(csv))
        .route("/api/v1/activity/{id}", get(one))
}

/// Kinds of entry.
pub const KINDS: [&str; 6] = [
    "deposit",
    "withdrawal",
    "transfer",
    "conversion",
    "payment",
    "refund",
];

/// One entry of the history.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityItem {
    /// The entry's reference: quote it to support.
    pub id: String,
    /// `deposit`, `withdrawal`, `transfer`, `conversion`, `payment` or `refund`.
    pub kind: String,
    /// `in`, `out` or `exchange`.
    pub direction: String,
    pub asset: String,
    pub amount: String,
    pub fee: String,
    pub to_asset: Option<String>,
    pub to_amount: Option<String>,
    /// The kind's own status (`credited`, `completed`, `refused`, `under_review`, …).
    pub status: String,
    pub status_text: StatusText,
    pub reason_code: Option<String>,
    /// What the reason means and what to do, when there is one.
    pub reason_text: Option<StatusText>,
    /// The other side (masked email), or the address on chain.
    pub counterparty: Option<String>,
    pub note: String,
    pub reference: Option<String>,
    pub created_at: String,
    /// Opens support with this entry attached.
    pub help_url: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityList {
    pub items: Vec<ActivityItem>,
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

/// Filters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActivityQuery {
    /// One kind, e.g. `payment`.
    pub kind: Option<String>,
    /// One status as the kind stores it, e.g. `refused`.
    pub status: Option<String>,
    pub asset: Option<String>,
    /// From this time (RFC 3339 or `YYYY-MM-DD`, UTC), inclusive.
    pub since: Option<String>,
    /// Until this time (RFC 3339 or `YYYY-MM-DD`, UTC), exclusive.
    pub until: Option<String>,
    /// At most 100 (20 when absent); the CSV export takes up to 10,000.
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

fn bad(field: &str, why: &str) -> ApiError {
    ApiError::new(Reason::InvalidField {
        field: field.into(),
        problem: FieldProblem::Invalid(why.into()),
    })
}

fn parse_time(field: &str, text: &str) -> Result<i64, ApiError> {
    let text = text.trim();
    if let Ok(ts) = text.parse::<jiff::Timestamp>() {
        return Ok(ts.as_millisecond());
    }
    if let Ok(date) = text.parse::<jiff::civil::Date>() {
        if let Ok(zoned) = date.to_zoned(jiff::tz::TimeZone::UTC) {
            return Ok(zoned.timestamp().as_millisecond());
        }
    }
    Err(bad(field, "an RFC 3339 time or a YYYY-MM-DD date"))
}

/// The filter of a query, checked.
pub fn filter_of(q: &ActivityQuery) -> Result<MovementFilter, ApiError> {
    let nonempty = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let kind = nonempty(&q.kind);
    if let Some(k) = &kind {
        if !KINDS.contains(&k.as_str()) {
            return Err(bad(
                "kind",
                "one of deposit, withdrawal, transfer, conversion, payment, refund",
            ));
        }
    }
    let before = match nonempty(&q.cursor) {
        None => None,
        Some(c) => {
            let (at, id) = c
                .split_once('_')
                .ok_or_else(|| bad("cursor", "a next_cursor from a previous page"))?;
            Some((
                at.parse::<i64>()
                    .map_err(|_| bad("cursor", "a next_cursor from a previous page"))?,
                id.to_owned(),
            ))
        }
    };
    Ok(MovementFilter {
        kind,
        status: nonempty(&q.status),
        asset: nonempty(&q.asset).map(|a| a.to_ascii_uppercase()),
        since_ms: nonempty(&q.since)
            .map(|s| parse_time("since", &s))
            .transpose()?,
        until_ms: nonempty(&q.until)
            .map(|s| parse_time("until", &s))
            .transpose()?,
        before,
    })
}

/// Where "get help with this" leads for an entry.
pub fn help_url(id: &str) -> String {
    format!("/activity/{id}/help")
}

struct Row {
    at_ms: i64,
    id: String,
    item: ActivityItem,
}

/// The caller's entries matching `filter`, newest first, at most `limit`, and whether more
/// follow.
pub async fn entries(
    state: &AppState,
    user_id: &str,
    filter: &MovementFilter,
    limit: i64,
    lang: Lang,
) -> Result<(Vec<ActivityItem>, Option<String>), ApiError> {
    let assets = state.db.assets().await?;
    let want = |k: &str| filter.kind.as_deref().is_none_or(|f| f == k);
    let mut rows: Vec<Row> = Vec::new();
    if want("deposit") {
        for d in state.db.deposits_window(user_id, filter, limit + 1).await? {
            rows.push(Row {
                at_ms: d.detected_at_ms,
                id: d.id.clone(),
                item: deposit_item(&d, &assets, lang),
            });
        }
    }
    if want("withdrawal") {
        for w in state
            .db
            .withdrawals_window(user_id, filter, limit + 1)
            .await?
        {
            rows.push(Row {
                at_ms: w.created_at_ms,
                id: w.id.clone(),
                item: withdrawal_item(&w, &assets, lang),
            });
        }
    }
    let movement_kinds = ["transfer", "conversion", "payment", "refund"];
    if filter
        .kind
        .as_deref()
        .is_none_or(|k| movement_kinds.contains(&k))
    {
        let mut names = Names::default();
        for m in state.db.movements_of(user_id, filter, limit + 1).await? {
            let v = movement_view(state, &m, user_id, &assets, &mut names, lang).await?;
            rows.push(Row {
                at_ms: m.created_at_ms,
                id: m.id.clone(),
                item: movement_item(v),
            });
        }
    }
    rows.sort_by(|a, b| (b.at_ms, &b.id).cmp(&(a.at_ms, &a.id)));
    let more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let next = if more {
        rows.last().map(|r| format!("{}_{}", r.at_ms, r.id))
    } else {
        None
    };
    Ok((rows.into_iter().map(|r| r.item).collect(), next))
}

fn deposit_item(d: &store::wallet::Deposit, assets: &[Asset], lang: Lang) -> ActivityItem {
    let decimals = asset_decimals(assets, &d.asset);
    ActivityItem {
        id: d.id.clone(),
        kind: "deposit".into(),
        direction: "in".into(),
        asset: d.asset.clone(),
        amount: payments::show(d.amount, decimals),
        fee: payments::show(0, decimals),
        to_asset: None,
        to_amount: None,
        status: d.status.clone(),
        status_text: explained(status::deposit(&d.status, lang)),
        reason_code: None,
        reason_text: None,
        counterparty: Some(d.from_address.clone()),
        note: String::new(),
        reference: Some(d.tx_hash.clone()),
        created_at: rfc3339(d.detected_at_ms),
        help_url: help_url(&d.id),
    }
}

fn withdrawal_item(w: &store::wallet::Withdrawal, assets: &[Asset], lang: Lang) -> ActivityItem {
    let decimals = asset_decimals(assets, &w.asset);
    ActivityItem {
        id: w.id.clone(),
        kind: "withdrawal".into(),
        direction: "out".into(),
        asset: w.asset.clone(),
        amount: payments::show(w.amount, decimals),
        fee: payments::show(w.fee, decimals),
        to_asset: None,
        to_amount: None,
        status: w.status.clone(),
        status_text: explained(status::withdrawal(&w.status, lang)),
        reason_code: w.reason_code.clone(),
        reason_text: w.reason_code.as_deref().map(|c| StatusText {
            label: c.to_owned(),
            meaning: status::withdrawal_reason(c, lang).to_owned(),
            next_step: String::new(),
        }),
        counterparty: Some(w.address.clone()),
        note: w.review_note.clone().unwrap_or_default(),
        reference: w.tx_hash.clone(),
        created_at: rfc3339(w.created_at_ms),
        help_url: help_url(&w.id),
    }
}

/// The caller's activity, newest first.
#[utoipa::path(get, path = "/api/v1/activity", tag = "activity", security(("bearer" = [])),
    params(ActivityQuery), responses((status = 200, body = ActivityList)))]
pub async fn list(
    State(state): State<AppState>,
    lang: Lang,
    current: CurrentSession,
    Query(query): Query<ActivityQuery>,
) -> Result<ApiJson<ActivityList>, ApiError> {
    let filter = filter_of(&query)?;
    let limit = query.limit.unwrap_or(20).clamp(1, 100);
    let (items, next_cursor) = entries(&state, &current.user.id, &filter, limit, lang).await?;
    Ok(ApiJson(ActivityList { items, next_cursor }))
}

/// One entry of the caller's activity.
#[utoipa::path(get, path = "/api/v1/activity/{id}", tag = "activity", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = ActivityItem)))]
pub async fn one(
    State(state): State<AppState>,
    lang: Lang,
    Path(id): Path<String>,
    current: CurrentSession,
) -> Result<ApiJson<ActivityItem>, ApiError> {
    Ok(ApiJson(
        entry(&state, &current.user.id, &id, lang)
            .await?
            .ok_or_else(ApiError::not_found)?,
    ))
}

/// One of the user's entries by id (someone else's is `None`).
pub async fn entry(
    state: &AppState,
    user_id: &str,
    id: &str,
    lang: Lang,
) -> Result<Option<ActivityItem>, ApiError> {
    let assets = state.db.assets().await?;
    if let Some(d) = state.db.deposit_of(user_id, id).await? {
        return Ok(Some(deposit_item(&d, &assets, lang)));
    }
    if let Some(w) = state
        .db
        .withdrawal(id)
        .await?
        .filter(|w| w.user_id == user_id)
    {
        return Ok(Some(withdrawal_item(&w, &assets, lang)));
    }
    let Some(m) = state.db.movement(id).await? else {
        return Ok(None);
    };
    let mine = m.user_id == user_id
        || (m.counterparty_id.as_deref() == Some(user_id) && m.status == "completed");
    if !mine {
        return Ok(None);
    }
    let v = movement_view(state, &m, user_id, &assets, &mut Names::default(), lang).await?;
    Ok(Some(movement_item(v)))
}

/// A movement as an activity entry.
fn movement_item(v: MovementView) -> ActivityItem {
    ActivityItem {
        help_url: help_url(&v.id),
        id: v.id,
        kind: v.kind,
        direction: v.direction,
        asset: v.asset,
        amount: v.amount,
        fee: v.fee,
        to_asset: v.to_asset,
        to_amount: v.to_amount,
        status: v.status,
        status_text: v.status_text,
        reason_code: v.reason_code,
        reason_text: v.reason_text,
        counterparty: v.counterparty,
        note: v.note,
        reference: v.reference,
        created_at: v.created_at,
    }
}

/// The same entries as CSV (UTF-8 with a byte-order mark so that spreadsheet programs read
/// Chinese correctly), up to 10,000 rows.
#[utoipa::path(get, path = "/api/v1/activity.csv", tag = "activity", security(("bearer" = [])),
    params(ActivityQuery), responses((status = 200, content_type = "text/csv")))]
pub async fn csv(
    State(state): State<AppState>,
    lang: Lang,
    current: CurrentSession,
    Query(query): Query<ActivityQuery>,
) -> Result<Response, ApiError> {
    let filter = filter_of(&query)?;
    let limit = query.limit.unwrap_or(10_000).clamp(1, 10_000);
    let (items, _) = entries(&state, &current.user.id, &filter, limit, lang).await?;
    Ok(csv_response(&items, lang))
}

/// CSV of activity entries, as a download.
pub fn csv_response(items: &[ActivityItem], lang: Lang) -> Response {
    let headers = lang.pick(
        [
            "id",
            "time (UTC)",
            "kind",
            "direction",
            "asset",
            "amount",
            "fee",
            "to asset",
            "to amount",
            "status",
            "status explained",
            "reason code",
            "reason explained",
            "counterparty",
            "note",
            "reference",
        ],
        [
            "编号",
            "时间（UTC）",
            "类型",
            "方向",
            "资产",
            "金额",
            "手续费",
            "兑换资产",
            "兑换金额",
            "状态",
            "状态说明",
            "原因代码",
            "原因说明",
            "对方",
            "备注",
            "关联编号",
        ],
    );
    let mut out = String::from("\u{feff}");
    out.push_str(&headers.map(csv_cell).join(","));
    out.push_str("\r\n");
    for i in items {
        let cells = [
            i.id.as_str(),
            &i.created_at,
            &i.kind,
            &i.direction,
            &i.asset,
            &i.amount,
            &i.fee,
            i.to_asset.as_deref().unwrap_or(""),
            i.to_amount.as_deref().unwrap_or(""),
            &i.status,
            &i.status_text.label,
            i.reason_code.as_deref().unwrap_or(""),
            i.reason_text.as_ref().map_or("", |t| t.meaning.as_str()),
            i.counterparty.as_deref().unwrap_or(""),
            &i.note,
            i.reference.as_deref().unwrap_or(""),
        ];
        out.push_str(&cells.map(csv_cell).join(","));
        out.push_str("\r\n");
    }
    (
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                CONTENT_DISPOSITION,
                "attachment; filename=\"okwallet-activity.csv\"",
            ),
        ],
        out,
    )
        .into_response()
}

/// One RFC 4180 cell. A cell a spreadsheet would run as a formula (starting with `=`, `+`,
/// `-`, `@`, tab or carriage return) is prefixed with `'`, so a note cannot become a formula.
pub fn csv_cell(text: &str) -> String {
    let guarded = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_never_formulas() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("line\nbreak"), "\"line\nbreak\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("+1"), "'+1");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("午饭 AA"), "午饭 AA");
    }

    #[test]
    fn filters_are_checked() {
        let q = |kind: &str, since: &str| ActivityQuery {
            kind: Some(kind.into()),
            since: Some(since.into()),
            ..ActivityQuery::default()
        };
        assert!(filter_of(&q("payment", "2026-11-01")).is_ok());
        assert!(filter_of(&q("payment", "2026-11-01T08:00:00Z")).is_ok());
        assert!(filter_of(&q("bogus", "2026-11-01")).is_err());
        assert!(filter_of(&q("payment", "yesterday")).is_err());
        let f = filter_of(&q("", "2026-11-01")).unwrap();
        assert_eq!(f.kind, None);
        assert_eq!(f.since_ms, Some(1_793_491_200_000));
    }
}
