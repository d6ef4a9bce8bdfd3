//! The client's address, for the per-address sign-in limit.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::request::Parts;

use crate::http::state::HttpSettings;

/// The client address for rate limiting: the socket peer, or the first `X-Forwarded-For` hop
/// when the provider is configured to sit behind a proxy.
pub struct ClientAddr(pub IpAddr);

impl<S> FromRequestParts<S> for ClientAddr
where
    S: Send + Sync,
    Arc<HttpSettings>: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let settings = Arc::<HttpSettings>::from_ref(state);
        if settings.trust_forwarded_for {
            let forwarded = parts
                .headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .and_then(|v| v.trim().parse::<IpAddr>().ok());
            if let Some(ip) = forwarded {
                return Ok(Self(ip));
            }
        }
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        Ok(Self(peer.unwrap_or(IpAddr::from([0, 0, 0, 0]))))
    }
}
