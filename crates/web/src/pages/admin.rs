//! `/admin`, the operator's console: who has an account, with which role, whether they have a
//! second factor and whether they are frozen. Staff consoles are guarded by [`StaffConsole`]:
//! the right role AND a confirmed second factor, else 403 with what to do; every opening is
//! written to the audit log because it shows other people's data.

use askama::Template;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use identity::Role;

use super::security::page_time;
use super::{PageCtx, SignedIn};
use crate::auth::CurrentSession;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin", get(console))
}

/// Which roles may open a console.
pub trait ConsoleRoles {
    const ROLES: &'static [Role];
}

/// The administrators' console.
pub struct AdminRoles;

impl ConsoleRoles for AdminRoles {
    const ROLES: &'static [Role] = &[Role::Admin];
}

/// A staff member allowed into a console: one of `R::ROLES`, with a confirmed second factor.
pub struct StaffConsole<R> {
    pub ctx: PageCtx,
    pub current: CurrentSession,
    roles: std::marker::PhantomData<R>,
}

impl<R: ConsoleRoles> FromRequestParts<AppState> for StaffConsole<R> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let SignedIn { ctx, current } = SignedIn::from_request_parts(parts, state).await?;
        if !R::ROLES.contains(&current.user.role) {
            return Err(ctx.message(
                StatusCode::FORBIDDEN,
                ctx.t("console.forbidden.title"),
                ctx.t("console.forbidden.body"),
                ("/", ctx.t("nav.home")),
            ));
        }
        let second_factor = match state.db.totp_factor(&current.user.id).await {
            Ok(f) => f.is_some_and(|f| f.confirmed),
            Err(e) => return Err(ctx.error(&e.into())),
        };
        if !second_factor {
            return Err(ctx.message(
                StatusCode::FORBIDDEN,
                ctx.t("console.mfa.title"),
                ctx.t("console.mfa.body"),
                ("/security#two-factor", ctx.t("checklist.totp.action")),
            ));
        }
        Ok(StaffConsole {
            ctx,
            current,
            roles: std::marker::PhantomData,
        })
    }
}

pub struct UserLine {
    pub email: String,
    pub role: &'static str,
    pub frozen: bool,
    pub mfa: bool,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage<'a> {
    ctx: &'a PageCtx,
    users: Vec<UserLine>,
    generated_at: String,
}

async fn console(
    State(state): State<AppState>,
    StaffConsole { ctx, current, .. }: StaffConsole<AdminRoles>,
) -> Response {
    let answer: anyhow::Result<Vec<UserLine>> = async {
        let users = state.db.users_newest_first(200).await?;
        let mut lines = Vec::with_capacity(users.len());
        for user in users {
            let mfa = state
                .db
                .totp_factor(&user.id)
                .await?
                .is_some_and(|f| f.confirmed);
            lines.push(UserLine {
                email: user.email.as_str().to_owned(),
                role: user.role.as_str(),
                frozen: user.is_frozen(store::now_ms()),
                mfa,
            });
        }
        let actor = format!("user:{}", current.user.id);
        let detail = format!(r#"{{"users_shown":{}}}"#, lines.len());
        state
            .db
            .audit(&actor, "admin.users.view", "users", &detail)
            .await?;
        Ok(lines)
    }
    .await;
    match answer {
        Ok(users) => ctx.render(
            StatusCode::OK,
            &AdminPage {
                ctx: &ctx,
                users,
                generated_at: page_time(store::now_ms()),
            },
        ),
        Err(e) => ctx.error(&e.into()),
    }
}
