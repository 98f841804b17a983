//! The HTTP API, one module per resource, merged here and nowhere else.
//!
//! Each module owns its routes (`pub fn router() -> Router<AppState>`), its request and response
//! types and their OpenAPI annotations. Handlers parse input into domain types, call `store` or
//! the domain crates, and shape the answer; they never hold SQL or business rules.

pub mod activity;
pub mod assets;
pub mod callbacks;
pub mod chats;
pub mod dev;
pub mod diagnoses;
pub mod docs;
pub mod email_verifications;
pub mod freeze_links;
pub mod health;
pub mod help;
pub mod help_admin;
pub mod helpdesk;
pub mod live;
pub mod me;
pub mod merchant;
pub mod moves;
pub mod passkeys;
pub mod password_resets;
pub mod security;
pub mod sessions;
pub mod tickets;
pub mod users;
pub mod wallet;

use axum::Router;

use crate::AppState;

/// Every route of the API, unlayered; [`crate::with_layers`] adds the rest.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(health::router())
        .merge(assets::router())
        .merge(docs::router())
        .merge(users::router())
        .merge(sessions::router())
        .merge(me::router())
        .merge(passkeys::router())
        .merge(security::router())
        .merge(email_verifications::router())
        .merge(password_resets::router())
        .merge(freeze_links::router())
        .merge(dev::router())
        .merge(wallet::router())
        .merge(moves::router())
        .merge(merchant::router())
        .merge(activity::router())
        .merge(help::router())
        .merge(help_admin::router())
        .merge(tickets::router())
        .merge(helpdesk::router())
        .merge(live::router())
        .merge(chats::router())
        .merge(diagnoses::router())
        .merge(callbacks::router())
}
