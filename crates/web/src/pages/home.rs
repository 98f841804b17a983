//! `/`: the welcome page for visitors, the dashboard (balances, account state, what to do next)
//! for someone signed in. Public; the dashboard part needs the session cookie.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use ledger::Amount;

use super::security::{checklist, CheckItem};
use super::PageCtx;
use crate::error::ApiError;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(home))
}

#[derive(Template)]
#[template(path = "landing.html")]
struct Landing<'a> {
    ctx: &'a PageCtx,
}

/// One asset's line on the dashboard, amounts already formatted.
pub struct BalanceLine {
    pub code: String,
    pub name: String,
    pub available: String,
    pub held: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct Dashboard<'a> {
    ctx: &'a PageCtx,
    balances: Vec<BalanceLine>,
    frozen: bool,
    checklist: Vec<CheckItem>,
    checklist_left: usize,
}

async fn home(State(state): State<AppState>, ctx: PageCtx) -> Response {
    let Some(current) = ctx.current.clone() else {
        return ctx.render(StatusCode::OK, &Landing { ctx: &ctx });
    };
    let answer: Result<_, ApiError> = async {
        let balances = balances(&state, &current.user.id).await?;
        let checklist = checklist(&state, &current).await?;
        Ok((balances, checklist))
    }
    .await;
    match answer {
        Ok((balances, checklist)) => {
            let checklist_left = checklist.iter().filter(|c| !c.done).count();
            ctx.render(
                StatusCode::OK,
                &Dashboard {
                    ctx: &ctx,
                    balances,
                    frozen: current.user.is_frozen(store::now_ms()),
                    checklist,
                    checklist_left,
                },
            )
        }
        Err(e) => ctx.error(&e),
    }
}

/// Per asset: what can be spent now and what is held by pending transfers.
async fn balances(state: &AppState, user_id: &str) -> Result<Vec<BalanceLine>, ApiError> {
    let mut lines = Vec::new();
    for asset in state.db.asset_listing().await? {
        let id = store::accounts::user_account_id(user_id, &asset.code);
        let (available, held) = match state.db.account(&id).await? {
            Some(account) => (account.available(), account.debits_pending),
            None => (0, 0),
        };
        let show = |minor: i64| {
            Amount::from_minor(minor).map_or_else(
                || minor.to_string(),
                |a| a.to_decimal_string(asset.decimals),
            )
        };
        lines.push(BalanceLine {
            code: asset.code.as_str().to_owned(),
            name: asset.name.clone(),
            available: show(available),
            held: show(held),
        });
    }
    Ok(lines)
}
