//! Whose connection this is: the client's address as the connection caps count it. The TCP peer,
//! unless that peer is a reverse proxy the operator trusts (`--trusted-proxy`); then the
//! right-most `X-Forwarded-For` address that is not itself a trusted proxy. From anyone else the
//! header is ignored: a client could write anything there. IPv6 clients are grouped by /64, the
//! block one subscriber usually holds, so rotating addresses within it gains nothing.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use actix_web::http::header::HeaderMap;

/// The header a reverse proxy appends the address it saw to.
pub const FORWARDED_FOR: &str = "x-forwarded-for";

/// A trusted proxy: one address (`10.0.0.5`) or a block (`10.0.0.0/8`, `fd00::/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustedProxy {
    addr: IpAddr,
    prefix: u8,
}

impl TrustedProxy {
    /// True if `ip` is this proxy (or in this block).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u128::from(u32::from(net)), self.prefix, 32)
                    == masked(u128::from(u32::from(ip)), self.prefix, 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                masked(u128::from(net), self.prefix, 128) == masked(u128::from(ip), self.prefix, 128)
            }
            _ => false,
        }
    }
}

impl FromStr for TrustedProxy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (addr, prefix) = s.split_once('/').map_or((s, None), |(a, p)| (a, Some(p)));
        let addr = addr.parse::<IpAddr>().map_err(|e| format!("{s:?} is not an address or block: {e}"))?.to_canonical();
        let bits = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(p) => match p.parse::<u8>() {
                Ok(p) if p <= bits => p,
                _ => return Err(format!("{s:?}: the prefix length must be 0 to {bits}")),
            },
        };
        Ok(Self { addr, prefix })
    }
}

/// The top `prefix` bits of a `width`-bit address held in the low bits of `value`.
fn masked(value: u128, prefix: u8, width: u32) -> u128 {
    let host_bits = width - u32::from(prefix);
    if host_bits >= 128 { 0 } else { value >> host_bits }
}

/// True if `ip` is one of the `trusted` proxies (or in one of their blocks).
pub fn is_trusted(ip: IpAddr, trusted: &[TrustedProxy]) -> bool {
    trusted.iter().any(|t| t.contains(ip))
}

/// The client's address: see the module docs. `None` when the connection has no peer address
/// (only in-process test requests).
pub fn client_ip(peer: Option<SocketAddr>, headers: &HeaderMap, trusted: &[TrustedProxy]) -> Option<IpAddr> {
    let peer = peer?.ip().to_canonical();
    if !is_trusted(peer, trusted) {
        return Some(peer);
    }
    // Several headers count as one list, in order; the right-most entries are the nearest hops.
    // Split as bytes: a client's own entry may hold any byte, and the proxy appends the
    // address it saw after it (from an outside test: one `é` made the whole header unreadable
    // as text, so the client counted as the proxy, out of its ban and under fresh caps).
    let hops: Vec<&[u8]> = headers
        .get_all(FORWARDED_FOR)
        .flat_map(|v| v.as_bytes().split(|&b| b == b','))
        .map(<[u8]>::trim_ascii)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        // An entry that is not an address cannot be vouched for: the nearest trusted hop stands.
        let Some(ip) = parse_hop(hop) else { break };
        client = ip;
        if !is_trusted(ip, trusted) {
            break;
        }
    }
    Some(client)
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5`, `[::1]:5`).
fn parse_hop(hop: &[u8]) -> Option<IpAddr> {
    let hop = std::str::from_utf8(hop).ok()?;
    hop.parse::<IpAddr>().or_else(|_| hop.parse::<SocketAddr>().map(|s| s.ip())).ok().map(|ip| ip.to_canonical())
}

/// The key the per-address caps count under: an IPv4 address as it is, a global IPv6 address
/// as its /64 (the host bits zeroed: one subscriber gets a /64 and every address in it); an
/// IPv4-mapped IPv6 address counts as the IPv4 address. A unique local (fc00::/7) or link-local
/// (fe80::/10) IPv6 address counts as itself: those are a LAN's, where one /64 is the whole
/// party (an outside test counted 40 players of one IPv6 LAN as one address, and refused 8).
pub fn cap_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) if v6.is_unique_local() || v6.is_unicast_link_local() || v6.is_loopback() => IpAddr::V6(v6),
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
    }
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderName, HeaderValue};

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn proxies(list: &[&str]) -> Vec<TrustedProxy> {
        list.iter().map(|p| p.parse().unwrap()).collect()
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(HeaderName::from_static(FORWARDED_FOR), HeaderValue::from_str(v).unwrap());
        }
        headers
    }

    fn peer(s: &str) -> Option<SocketAddr> {
        Some(SocketAddr::new(ip(s), 40000))
    }

    #[test]
    fn ipv6_counts_per_64_and_ipv4_per_address() {
        assert_eq!(cap_key(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd")), ip("2001:db8:1:2::"));
        assert_eq!(cap_key(ip("2001:db8:1:2::1")), cap_key(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")), "same /64");
        assert_ne!(cap_key(ip("2001:db8:1:2::1")), cap_key(ip("2001:db8:1:3::1")), "the next /64");
        assert_eq!(cap_key(ip("192.0.2.7")), ip("192.0.2.7"));
        assert_ne!(cap_key(ip("192.0.2.7")), cap_key(ip("192.0.2.8")), "IPv4 addresses are not grouped");
        assert_eq!(cap_key(ip("::ffff:192.0.2.7")), ip("192.0.2.7"), "IPv4-mapped is IPv4");
        // A LAN's own IPv6 addresses are each their own: one /64 is the whole party.
        assert_ne!(cap_key(ip("fd00:1::1")), cap_key(ip("fd00:1::2")), "unique local");
        assert_eq!(cap_key(ip("fd00:1::1")), ip("fd00:1::1"));
        assert_ne!(cap_key(ip("fe80::1")), cap_key(ip("fe80::2")), "link-local");
    }

    #[test]
    fn forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy() {
        let headers = forwarded(&["203.0.113.9"]);
        assert_eq!(client_ip(peer("198.51.100.1"), &headers, &[]), Some(ip("198.51.100.1")));
        let trusted = proxies(&["10.0.0.5"]);
        assert_eq!(client_ip(peer("198.51.100.1"), &headers, &trusted), Some(ip("198.51.100.1")), "not the proxy");
        assert_eq!(client_ip(peer("10.0.0.5"), &headers, &trusted), Some(ip("203.0.113.9")));
        assert_eq!(client_ip(peer("10.0.0.5"), &HeaderMap::new(), &trusted), Some(ip("10.0.0.5")), "no header");
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let trusted = proxies(&["10.0.0.0/8"]);
        // The client forged the first entry; the proxies appended the rest.
        let headers = forwarded(&["1.1.1.1, 203.0.113.9", "10.1.1.1"]);
        assert_eq!(client_ip(peer("10.0.0.5"), &headers, &trusted), Some(ip("203.0.113.9")));
        // Every hop trusted: the left-most one is the best known.
        let headers = forwarded(&["10.2.2.2, 10.1.1.1"]);
        assert_eq!(client_ip(peer("10.0.0.5"), &headers, &trusted), Some(ip("10.2.2.2")));
        // Garbage cannot be vouched for: the nearest trusted hop stands.
        let headers = forwarded(&["203.0.113.9, unknown"]);
        assert_eq!(client_ip(peer("10.0.0.5"), &headers, &trusted), Some(ip("10.0.0.5")));
        // Ports and IPv6 brackets are understood.
        let headers = forwarded(&["[2001:db8::1]:443, 203.0.113.9:5000"]);
        assert_eq!(client_ip(peer("10.0.0.5"), &headers, &trusted), Some(ip("203.0.113.9")));
        // Bytes that are not text in the client's own entry leave the proxy's entries readable.
        for forged in [&b"\xc3\xa9"[..], b"\xff\xfe", b"1.1.1.1\x80"] {
            let mut value = forged.to_vec();
            value.extend_from_slice(b", 203.0.113.9");
            let mut headers = HeaderMap::new();
            headers.append(HeaderName::from_static(FORWARDED_FOR), HeaderValue::from_bytes(&value).unwrap());
            assert_eq!(client_ip(peer("10.0.0.5"), &headers, &trusted), Some(ip("203.0.113.9")), "{forged:?}");
        }
    }

    #[test]
    fn trusted_proxies_parse_as_addresses_or_blocks() {
        let block: TrustedProxy = "10.0.0.0/8".parse().unwrap();
        assert!(block.contains(ip("10.200.1.1")) && !block.contains(ip("11.0.0.1")));
        assert!(block.contains(ip("::ffff:10.0.0.1")), "IPv4-mapped peers match IPv4 blocks");
        let one: TrustedProxy = "fd00::1".parse().unwrap();
        assert!(one.contains(ip("fd00::1")) && !one.contains(ip("fd00::2")));
        let all: TrustedProxy = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("192.0.2.1")) && !all.contains(ip("::1")));
        for bad in ["", "proxy.local", "10.0.0.0/33", "::/129", "10.0.0.1/x"] {
            assert!(bad.parse::<TrustedProxy>().is_err(), "{bad:?}");
        }
    }
}
