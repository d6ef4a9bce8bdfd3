//! The client's address, for the per-address sign-in limit.
//!
//! Behind reverse proxies the socket peer is the nearest proxy, and the client is somewhere in
//! `X-Forwarded-For`. Each proxy appends the address it received the request from, so only the
//! right end of the header is written by machines we trust; the left end is whatever the client
//! sent. The client address is therefore found by walking from the peer leftwards past the
//! proxies we trust, and taking the first address that is not one of them — never the first
//! entry, which a client chooses freely (the behaviour of nginx's `real_ip_recursive` and
//! Go's `X-Forwarded-For` guidance alike).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

use crate::http::state::HttpSettings;

/// Which hops in front of the provider are trusted reverse proxies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    /// Proxies known by address: a peer or a forwarded address inside one of these is skipped.
    pub networks: Vec<IpNet>,
    /// Proxies known by count: this many hops from the provider's side are skipped whatever
    /// their address (`1`: the socket peer is the one proxy; `--trust-forwarded-for`).
    pub hops: usize,
}

impl TrustedProxies {
    fn is_empty(&self) -> bool {
        self.networks.is_empty() && self.hops == 0
    }

    fn trusts(&self, addr: IpAddr, hop: usize) -> bool {
        hop < self.hops || self.networks.iter().any(|net| net.contains(&addr))
    }

    /// The client address of a request that arrived from `peer` with these `X-Forwarded-For`
    /// values (every header line, in order).
    pub fn client_addr<'a>(&self, peer: IpAddr, forwarded_for: impl IntoIterator<Item = &'a str>) -> IpAddr {
        if self.is_empty() {
            return peer;
        }
        let forwarded: Vec<&str> = forwarded_for.into_iter().flat_map(|line| line.split(',')).map(str::trim).collect();
        let mut client = peer;
        let mut hop = 0;
        for entry in std::iter::once(None).chain(forwarded.iter().rev().map(Some)) {
            let addr = match entry {
                None => peer,
                // Something that is not an address was written by the client, or by a proxy we
                // do not know: the last trusted hop is as close to the client as we can tell.
                Some(text) => match parse_forwarded(text) {
                    Some(addr) => addr,
                    None => return client,
                },
            };
            client = addr;
            if !self.trusts(addr, hop) {
                return addr;
            }
            hop += 1;
        }
        // Every hop is trusted: the left-most one is the client.
        client
    }
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5678`,
/// `[2001:db8::1]:443`), as some proxies write them.
fn parse_forwarded(text: &str) -> Option<IpAddr> {
    if let Ok(addr) = text.parse::<IpAddr>() {
        return Some(addr);
    }
    text.parse::<SocketAddr>().ok().map(|s| s.ip())
}

/// The client address for rate limiting: the socket peer, or, when it is a trusted proxy, the
/// right-most `X-Forwarded-For` address that is not one (see the module's notes).
pub struct ClientAddr(pub IpAddr);

impl<S> FromRequestParts<S> for ClientAddr
where
    S: Send + Sync,
    Arc<HttpSettings>: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let settings = Arc::<HttpSettings>::from_ref(state);
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()).unwrap_or(IpAddr::from([0, 0, 0, 0]));
        Ok(Self(settings.trusted_proxies.client_addr(peer, forwarded_for(&parts.headers))))
    }
}

fn forwarded_for(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    // A line that is not visible ASCII cannot be trusted to split correctly: it ends the walk
    // like any other entry that is not an address.
    headers.get_all("x-forwarded-for").iter().map(|v| v.to_str().unwrap_or("?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn proxies(networks: &[&str], hops: usize) -> TrustedProxies {
        TrustedProxies { networks: networks.iter().map(|n| n.parse().unwrap()).collect(), hops }
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let none = TrustedProxies::default();
        assert_eq!(none.client_addr(ip("203.0.113.9"), ["198.51.100.1"]), ip("203.0.113.9"));
    }

    #[test]
    fn the_right_most_untrusted_address_is_the_client_not_the_first_entry() {
        let lb = proxies(&["10.0.0.0/8"], 0);
        // The client wrote "1.1.1.1" itself; the proxy appended the address it saw.
        assert_eq!(lb.client_addr(ip("10.0.0.2"), ["1.1.1.1, 198.51.100.7"]), ip("198.51.100.7"));
        // Two proxies of ours, each appending; header lines are one list.
        assert_eq!(lb.client_addr(ip("10.0.0.2"), ["1.1.1.1, 198.51.100.7", "10.0.0.3"]), ip("198.51.100.7"));
    }

    #[test]
    fn a_peer_that_is_not_a_trusted_proxy_is_the_client_whatever_it_forwards() {
        let lb = proxies(&["10.0.0.0/8"], 0);
        assert_eq!(lb.client_addr(ip("203.0.113.9"), ["10.0.0.5"]), ip("203.0.113.9"));
    }

    #[test]
    fn a_hop_count_trusts_that_many_hops_whatever_their_address() {
        let one = proxies(&[], 1);
        assert_eq!(one.client_addr(ip("192.0.2.1"), ["1.1.1.1, 198.51.100.7"]), ip("198.51.100.7"));
        let two = proxies(&[], 2);
        assert_eq!(two.client_addr(ip("192.0.2.1"), ["1.1.1.1, 198.51.100.7"]), ip("1.1.1.1"));
        // No header at all: the peer.
        assert_eq!(one.client_addr(ip("192.0.2.1"), []), ip("192.0.2.1"));
    }

    #[test]
    fn garbage_ends_the_walk_at_the_last_trusted_hop_and_ports_are_read() {
        let lb = proxies(&["10.0.0.0/8", "::1/128"], 0);
        assert_eq!(lb.client_addr(ip("10.0.0.2"), ["evil, 10.0.0.9"]), ip("10.0.0.9"));
        assert_eq!(lb.client_addr(ip("::1"), ["[2001:db8::7]:443"]), ip("2001:db8::7"));
        assert_eq!(lb.client_addr(ip("10.0.0.2"), ["198.51.100.7:8080"]), ip("198.51.100.7"));
        // All trusted: the left-most is as far as we can see.
        assert_eq!(lb.client_addr(ip("10.0.0.2"), ["10.1.1.1, 10.0.0.3"]), ip("10.1.1.1"));
    }
}
