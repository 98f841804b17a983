//! `POST /api/v1/users`: sign-up. Public.
//!
//! The answer never reveals whether an email address is already registered: a taken address
//! gets the same 201 and the same shape, with an id that names nothing, after the same password
//! hashing work; the owner's security log records the attempt, and the owner gets a mail about
//! it (at most hourly). A new account gets a verification mail.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use identity::{Email, Role};
use serde::{Deserialize, Serialize};
use store::users::CreateUserError;
use utoipa::ToSchema;

use crate::auth::RequestOrigin;
use crate::error::{ApiError, Problem, Reason};
use crate::json::ApiJson;
use crate::lang::Lang;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/users", post(sign_up))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignUp {
    #[schema(example = "alice@example.com")]
    pub email: String,
    /// At least 10 characters and hard to guess (checked with zxcvbn).
    pub password: String,
    /// `zh-CN` or `en`; defaults to the request's language.
    pub locale: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignedUp {
    pub id: String,
    pub email: String,
}

/// Creates an account with the `user` role.
#[utoipa::path(post, path = "/api/v1/users", tag = "accounts", request_body = SignUp,
    responses(
        (status = 201, description = "Signed up (also answered for an address that is taken, so that nobody can probe)", body = SignedUp),
        (status = 422, description = "`invalid_email`, `weak_password` or `invalid_field`", body = Problem),
    ))]
pub async fn sign_up(
    State(state): State<AppState>,
    lang: Lang,
    RequestOrigin(origin): RequestOrigin,
    ApiJson(body): ApiJson<SignUp>,
) -> Result<(StatusCode, ApiJson<SignedUp>), ApiError> {
    let email = Email::parse(&body.email).map_err(|_| ApiError::new(Reason::InvalidEmail))?;
    let locale = match body.locale.as_deref() {
        None => lang.tag().to_owned(),
        Some(l @ ("zh-CN" | "en")) => l.to_owned(),
        Some(other) => {
            return Err(ApiError::new(Reason::InvalidField {
                field: "locale".into(),
                problem: crate::error::FieldProblem::Invalid(format!(
                    "{other:?} is not zh-CN or en"
                )),
            }))
        }
    };
    check_strength(&body.password, &email)?;
    let password = body.password;
    let hash = tokio::task::spawn_blocking(move || identity::hash_password(&password))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::internal(anyhow::anyhow!("{e}")))?;
    let id = match state
        .db
        .create_user(&email, &hash, Role::User, &locale)
        .await
    {
        Ok(user) => {
            state
                .db
                .audit(
                    &format!("user:{}", user.id),
                    "user.sign_up",
                    &format!("user:{}", user.id),
                    "{}",
                )
                .await?;
            // The account exists even if queueing fails; the owner can ask for another mail.
            let mail = crate::mail::verify_email(&state.settings, &user);
            state.db.enqueue_mail(&mail).await?;
            user.id
        }
        Err(CreateUserError::EmailTaken) => {
            if let Some(owner) = state.db.user_by_email(&email).await? {
                state
                    .db
                    .record_security_event(&owner.id, "sign_up_attempt", &origin, "{}")
                    .await?;
                tell_owner_of_sign_up_attempt(&state, &owner, &origin).await?;
            }
            store::new_id()
        }
        Err(CreateUserError::Storage(e)) => return Err(e.into()),
    };
    Ok((
        StatusCode::CREATED,
        ApiJson(SignedUp {
            id,
            email: email.to_string(),
        }),
    ))
}

/// Refuses a password that is too short, too long or guessable (also from the address itself).
pub(crate) fn check_strength(password: &str, email: &Email) -> Result<(), ApiError> {
    identity::strength::check_password_strength(password, &[email.local_part(), email.as_str()])
        .map_err(|weak| {
            ApiError::new(Reason::WeakPassword {
                feedback_en: weak
                    .warning
                    .iter()
                    .cloned()
                    .chain(weak.suggestions.iter().cloned())
                    .collect(),
                feedback_zh: weak.feedback_zh(),
            })
        })
}

/// How often the owner of an address hears that someone tried to sign up with it: anyone can
/// make us send this mail, so at most once an hour per address.
const SIGN_UP_ATTEMPT_MAIL_INTERVAL_MS: i64 = 3600 * 1000;

async fn tell_owner_of_sign_up_attempt(
    state: &AppState,
    owner: &store::users::User,
    origin: &store::sessions::Origin,
) -> Result<(), ApiError> {
    let now = store::now_ms();
    let (recent, _) = state
        .db
        .mail_sent_since(
            owner.email.as_str(),
            "signup_attempt_on_existing_address",
            now - SIGN_UP_ATTEMPT_MAIL_INTERVAL_MS,
        )
        .await?;
    if recent == 0 {
        let mail = crate::mail::sign_up_attempt(&state.settings, owner, origin, now);
        state.db.enqueue_mail(&mail).await?;
    }
    Ok(())
}
