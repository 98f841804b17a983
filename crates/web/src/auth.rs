//! Who is calling: the bearer-token extractor every protected route takes, and the request's
//! origin (address and user agent) recorded with sessions and security events.
//!
//! Deny by default: a handler that does not take [`CurrentSession`] is public, and every public
//! route is listed as such in its module's docs. This module never sees a token's value after
//! hashing it, and never logs it.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::{AUTHORIZATION, USER_AGENT};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use identity::token::{token_hash, Token};
use store::sessions::{Origin, Session};
use store::users::User;

use crate::error::{ApiError, Reason};
use crate::AppState;

/// The live session the request's bearer token belongs to, and its user.
#[derive(Clone, Debug)]
pub struct CurrentSession {
    pub session: Session,
    pub user: User,
}

impl FromRequestParts<AppState> for CurrentSession {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .and_then(|v| Token::parse(v.trim()))
            .ok_or_else(|| ApiError::new(Reason::Unauthorized))?;
        let (session, user) = state
            .db
            .session_by_token_hash(&token_hash(token.as_str()))
            .await?
            // A browser's cookie session or a half-finished log-in is not an API token: the
            // API takes no cookies, so it needs no CSRF defence.
            .filter(|(session, _)| session.kind == "api")
            .ok_or_else(|| ApiError::new(Reason::Unauthorized))?;
        Ok(CurrentSession { session, user })
    }
}

/// The client's address and user agent. The address is the peer's, unless the peer is one of
/// the operator's `trusted_proxies`: then it is the right-most address in `X-Forwarded-For`
/// that is not a trusted proxy (everything left of it could have been written by the client).
pub fn origin(parts: &Parts, trusted_proxies: &[IpAddr]) -> Origin {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let ip = match peer {
        Some(peer) => client_ip(peer, &parts.headers, trusted_proxies).to_string(),
        None => "unknown".to_owned(),
    };
    let user_agent = parts
        .headers
        .get(USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    Origin { ip, user_agent }
}

fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted_proxies: &[IpAddr]) -> IpAddr {
    if !trusted_proxies.contains(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|part| part.trim().parse::<IpAddr>())
        .collect::<Result<_, _>>()
        // A malformed chain is not trusted at all: the proxy's own address is what we know.
        .unwrap_or_default();
    forwarded
        .into_iter()
        .rev()
        .find(|ip| !trusted_proxies.contains(ip))
        .unwrap_or(peer)
}

/// [`origin`] as an extractor.
pub struct RequestOrigin(pub Origin);

impl FromRequestParts<AppState> for RequestOrigin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(RequestOrigin(origin(
            parts,
            &state.settings.trusted_proxies,
        )))
    }
}

/// How long a step-up stays fresh.
pub const STEP_UP_TTL_MS: i64 = 10 * 60 * 1000;

/// The reusable guard for sensitive actions (new withdrawal addresses, security changes, …): a
/// session that proved a fresh second factor within [`STEP_UP_TTL_MS`]; otherwise 403
/// `step_up_required`.
pub struct SteppedUp(pub CurrentSession);

impl SteppedUp {
    /// The session as a stepped-up one, when its step-up is still fresh (the rule both the API
    /// and the pages apply).
    pub fn check(current: CurrentSession) -> Result<SteppedUp, ApiError> {
        let fresh = current
            .session
            .stepped_up_at_ms
            .is_some_and(|at| store::now_ms().saturating_sub(at) < STEP_UP_TTL_MS);
        if fresh {
            Ok(SteppedUp(current))
        } else {
            Err(ApiError::new(Reason::StepUpRequired))
        }
    }
}

impl FromRequestParts<AppState> for SteppedUp {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        SteppedUp::check(CurrentSession::from_request_parts(parts, state).await?)
    }
}

/// The guard every money-moving route takes (withdrawals, transfers, conversions, payments): a
/// session whose account is not frozen; otherwise 403 `account_frozen`. Whether the account's
/// withdrawals are paused after a security change is the withdrawal route's own check, since
/// the other movements stay allowed then.
pub struct MayMoveMoney(pub CurrentSession);

impl FromRequestParts<AppState> for MayMoveMoney {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let current = CurrentSession::from_request_parts(parts, state).await?;
        if current.user.is_frozen(store::now_ms()) {
            return Err(ApiError::new(Reason::AccountFrozen));
        }
        Ok(MayMoveMoney(current))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().unwrap());
        h
    }

    #[test]
    fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let client: IpAddr = "203.0.113.7".parse().unwrap();
        let trusted = [proxy];
        // Not from the proxy: the header is the client's own invention.
        assert_eq!(
            client_ip(client, &headers("198.51.100.1"), &trusted),
            client
        );
        // From the proxy: the last untrusted hop, not a spoofed one further left.
        assert_eq!(
            client_ip(proxy, &headers("198.51.100.1, 203.0.113.7"), &trusted),
            client
        );
        assert_eq!(
            client_ip(proxy, &headers("garbage, 203.0.113.7"), &trusted),
            proxy
        );
        assert_eq!(client_ip(proxy, &HeaderMap::new(), &trusted), proxy);
        assert_eq!(client_ip(proxy, &headers("203.0.113.7"), &[]), proxy);
    }
}
