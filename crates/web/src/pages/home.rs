//! `/`: the welcome page for visitors, the dashboard (balances available, held and incoming,
//! account state, what to do next) for someone signed in. Public; the dashboard part needs the session cookie.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use super::security::{checklist, CheckItem};
use super::PageCtx;
use crate::api::wallet::balance_rows;
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
    /// Deposits seen on the chain and still confirming.
    pub incoming: String,
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

/// Per asset: what can be spent now, what is held by pending transfers and what is on its way
/// (deposits still confirming) — the API's numbers, with the assets' names.
async fn balances(state: &AppState, user_id: &str) -> Result<Vec<BalanceLine>, ApiError> {
    let names = state.db.asset_listing().await?;
    Ok(balance_rows(state, user_id)
        .await?
        .into_iter()
        .map(|b| BalanceLine {
            name: names
                .iter()
                .find(|a| a.code.as_str() == b.asset)
                .map_or_else(String::new, |a| a.name.clone()),
            code: b.asset,
            available: b.available,
            held: b.held,
            incoming: b.incoming,
        })
        .collect())
}
