//! `/api/v1/assets`: the assets okwallet holds, for anyone to read.
//!
//! A shape-only layer over `store`'s asset listing; it never decides which assets exist.

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::json::ApiJson;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/assets", get(list))
}

/// An asset customers can hold.
#[derive(Debug, Serialize, ToSchema)]
pub struct Asset {
    /// The asset's code, e.g. `ETH`.
    #[schema(example = "ETH")]
    pub code: String,
    #[schema(example = "Ether")]
    pub name: String,
    /// Digits after the decimal point that amounts of this asset may have.
    #[schema(example = 9)]
    pub decimals: u8,
    /// The chain deposits and withdrawals travel on.
    #[schema(example = "ethereum")]
    pub chain: String,
}

/// A page of assets; the list is short and always fits one page.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssetList {
    pub items: Vec<Asset>,
    /// Always null: there is never a next page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

/// Lists the assets in display order.
#[utoipa::path(get, path = "/api/v1/assets", tag = "assets", operation_id = "list_assets",
    responses((status = 200, description = "Every asset, in display order", body = AssetList)))]
async fn list(State(state): State<AppState>) -> Result<ApiJson<AssetList>, ApiError> {
    let items = state
        .db
        .asset_listing()
        .await?
        .into_iter()
        .map(|a| Asset {
            code: a.code.as_str().to_owned(),
            name: a.name,
            decimals: a.decimals,
            chain: a.chain,
        })
        .collect();
    Ok(ApiJson(AssetList {
        items,
        next_cursor: None,
    }))
}
