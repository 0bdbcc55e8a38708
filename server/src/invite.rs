//! The invite: the URL people on the same network open to play, as a QR code in the start-up
//! banner and as an SVG the page shows (`/invite.svg`), so a host's friends join from their
//! phones without typing an address, and a player can bring in the person next to them even
//! when their own page was opened as `localhost`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::num::NonZeroU32;
use std::sync::Mutex;

use bytes::Bytes;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use qrcode::render::unicode::Dense1x2;
use qrcode::{Color, EcLevel, QrCode};

/// Light modules around the code, as the QR specification asks (scanners need the margin).
const QUIET_ZONE: usize = 4;

/// The URL to invite people to: `public_url` when the host gave one (behind a proxy, a
/// hostname; empty is none), else `http://ADDRESS:PORT/` with the address other machines reach
/// this one at.
///
/// Listening on every address (`0.0.0.0`, or `::`, which takes IPv4 too), that is the LAN
/// address [`lan_ip`] picks, IPv4 first: every phone on a LAN has one.
pub fn url(listen: SocketAddr, public_url: Option<&str>) -> String {
    if let Some(url) = public_url.filter(|u| !u.is_empty()) {
        return url.to_owned();
    }
    let ip = if listen.ip().is_unspecified() {
        let v4 = lan_ip(false);
        let ip = if listen.is_ipv6() { v4.or_else(|| lan_ip(true)) } else { v4 };
        ip.unwrap_or(listen.ip())
    } else {
        listen.ip()
    };
    let ip = if ip.is_unspecified() { IpAddr::V4(Ipv4Addr::LOCALHOST) } else { ip };
    format!("http://{}/", SocketAddr::new(ip, listen.port()))
}

/// Room codes drawn a second, for all clients together, beyond those kept: drawing one costs
/// about a millisecond of a worker's CPU (1.2 ms measured, against 60–80 µs for a plain
/// request), so unbounded, a client asking for a new room's code on every request would cost
/// the server twenty times what its requests cost otherwise, on the threads that also write the
/// players' snapshots. Twenty a second is 2–3 % of a core.
const ROOM_CODES_PER_SECOND: u32 = 20;

/// Room codes that may be drawn at once before the rate applies: a party opening their pages
/// together in as many rooms.
const ROOM_CODES_BURST: u32 = 40;

/// Room codes kept drawn. A page asks for the code of the room it is in, so a server's rooms
/// are mostly a few; past this many the kept ones are dropped and drawn again when asked.
const ROOM_CODES_KEPT: usize = 64;

/// The QR codes of rooms' invite links (`/invite.svg?room=NAME`), drawn when first asked for
/// and kept, with the drawing of new ones rate-limited for all clients together (see
/// [`ROOM_CODES_PER_SECOND`]).
pub struct RoomCodes {
    /// The invite URL the rooms' links are under ([`url`]).
    base: String,
    kept: Mutex<HashMap<String, Bytes>>,
    draws: DefaultDirectRateLimiter,
}

impl RoomCodes {
    pub fn new(base: String) -> Self {
        let quota = Quota::per_second(NonZeroU32::new(ROOM_CODES_PER_SECOND).expect("not zero"))
            .allow_burst(NonZeroU32::new(ROOM_CODES_BURST).expect("not zero"));
        Self::with_quota(base, quota)
    }

    fn with_quota(base: String, quota: Quota) -> Self {
        Self { base, kept: Mutex::new(HashMap::new()), draws: RateLimiter::direct(quota) }
    }

    /// The SVG of room `room`'s invite code as drawn before, if it is kept.
    pub fn kept(&self, room: &str) -> Option<Bytes> {
        self.kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(room).cloned()
    }

    /// The SVG of room `room`'s invite code (`room` a valid room name), or `None` when a new
    /// code would have to be drawn and the drawing rate is spent: ask again in a second. The
    /// caller draws only for rooms that exist, so that the rate is spent only on those.
    pub fn get(&self, room: &str) -> Option<Bytes> {
        if let Some(svg) = self.kept(room) {
            return Some(svg);
        }
        self.draws.check().ok()?;
        // Drawn outside the lock: two requests for one new room may both draw it, which the
        // rate bounds, rather than every request waiting a millisecond for the lock.
        let svg = Bytes::from(svg(&room_url(&self.base, room)));
        let mut kept = self.kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if kept.len() >= ROOM_CODES_KEPT {
            kept.clear();
        }
        kept.insert(room.to_owned(), svg.clone());
        Some(svg)
    }
}

/// The link to room `room` on the server at `url` (`invite::url`): `/r/NAME` under it, which
/// redirects to the page joining that room. `room` must be a valid room name.
pub fn room_url(url: &str, room: &str) -> String {
    format!("{}/r/{room}", url.trim_end_matches('/'))
}

/// The address of the interface holding the default route: where a packet to the internet
/// would leave from. Connecting a UDP socket sends nothing; it only makes the kernel choose a
/// route and a source address. Sorting the interfaces instead would pick docker's 172.17.0.1
/// or a VPN's address as often as the Wi-Fi one.
pub fn default_route_ip(ipv6: bool) -> Option<IpAddr> {
    // A public resolver's address: never on a LAN, so only the default route leads there (a
    // documentation range such as 192.0.2.0/24 can be a real local subnet). Nothing is sent.
    let (bind, probe): (IpAddr, IpAddr) = if ipv6 {
        (Ipv6Addr::UNSPECIFIED.into(), Ipv6Addr::new(0x2606, 0x4700, 0x4700, 0, 0, 0, 0, 0x1111).into())
    } else {
        (Ipv4Addr::UNSPECIFIED.into(), Ipv4Addr::new(1, 1, 1, 1).into())
    };
    let socket = UdpSocket::bind(SocketAddr::new(bind, 0)).ok()?;
    socket.connect(SocketAddr::new(probe, 9)).ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_unspecified() && !ip.is_loopback()).then_some(ip)
}

/// The address of this machine on its LAN, of one family: see [`pick`].
fn lan_ip(ipv6: bool) -> Option<IpAddr> {
    let interfaces: Vec<(String, IpAddr)> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .map(|i| (i.name.clone(), i.ip()))
        .filter(|(_, ip)| ip.is_ipv6() == ipv6)
        .collect();
    pick(default_route_ip(ipv6), &interfaces)
}

/// Interfaces of containers and virtual machines on this host (docker, podman, libvirt,
/// LXC, VirtualBox, VMware, Kubernetes' networks): nobody on the LAN reaches them.
pub fn is_virtual(interface: &str) -> bool {
    const PREFIXES: &[&str] =
        &["docker", "br-", "veth", "virbr", "lxc", "lxd", "vboxnet", "vmnet", "cni", "flannel", "cali", "podman"];
    PREFIXES.iter().any(|p| interface.starts_with(p))
}

/// VPN interfaces (OpenVPN's tun and tap, WireGuard, PPP, Tailscale, ZeroTier, macOS' utun):
/// their address is the tunnel's, which a phone on the LAN cannot reach.
fn is_vpn(interface: &str) -> bool {
    const PREFIXES: &[&str] = &["tun", "tap", "wg", "ppp", "tailscale", "zt", "utun", "nordlynx", "proton"];
    PREFIXES.iter().any(|p| interface.starts_with(p))
}

/// The address to invite a LAN to, among `interfaces` (name, address): the default route's
/// (`route`) when it leaves through a real interface, since that is the Wi-Fi or Ethernet one.
/// When a VPN holds the default route, or there is none (an offline LAN party), the address of
/// a real interface, private ranges first (192.168/16, then 10/8, then 172.16/12), not
/// link-local; the VPN's own address only when there is nothing else.
fn pick(route: Option<IpAddr>, interfaces: &[(String, IpAddr)]) -> Option<IpAddr> {
    let through = |ip: IpAddr| interfaces.iter().find(|(_, a)| *a == ip).map(|(name, _)| name.as_str());
    if let Some(route) = route
        && !through(route).is_some_and(|name| is_vpn(name) || is_virtual(name))
    {
        return Some(route);
    }
    let rank = |ip: &IpAddr| match ip {
        IpAddr::V4(v4) if v4.octets()[..2] == [192, 168] => 0,
        IpAddr::V4(v4) if v4.octets()[0] == 10 => 1,
        IpAddr::V4(v4) if v4.is_private() => 2,
        IpAddr::V6(v6) if v6.is_unique_local() => 3,
        _ => 4,
    };
    let link_local = |ip: &IpAddr| match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => v6.is_unicast_link_local(),
    };
    interfaces
        .iter()
        .filter(|(_, ip)| !ip.is_loopback() && !ip.is_unspecified() && !link_local(ip))
        .filter(|(name, _)| !is_virtual(name) && !is_vpn(name))
        .map(|(_, ip)| *ip)
        .min_by_key(|ip| (rank(ip), *ip))
        .or(route)
}

fn code(url: &str) -> QrCode {
    // Medium error correction survives a scratched screen or glare; a URL always fits.
    QrCode::with_error_correction_level(url, EcLevel::M)
        .unwrap_or_else(|_| QrCode::new("http://localhost/").expect("a short URL always fits in a QR code"))
}

/// The QR code of `url` in half-height block characters, for the banner. Light modules are
/// drawn as blocks: on the usual dark terminal they show light, so the code has the polarity
/// scanners expect, quiet zone included.
pub fn terminal(url: &str) -> String {
    code(url).render::<Dense1x2>().dark_color(Dense1x2::Light).light_color(Dense1x2::Dark).quiet_zone(true).build()
}

/// The QR code of `url` as an SVG, with the URL written under it: one path of dark runs per
/// row (`M x y h n v 1 h -n z`, in module units) on a white background.
pub fn svg(url: &str) -> String {
    let code = code(url);
    let width = code.width();
    let colors = code.to_colors();
    let side = width + 2 * QUIET_ZONE;
    let text_band = 4;
    let mut path = String::new();
    for (y, row) in colors.chunks(width).enumerate() {
        let mut x = 0;
        while x < width {
            if row[x] == Color::Dark {
                let run = row[x..].iter().take_while(|c| **c == Color::Dark).count();
                let _ = write!(path, "M{} {}h{run}v1h-{run}z", x + QUIET_ZONE, y + QUIET_ZONE);
                x += run;
            } else {
                x += 1;
            }
        }
    }
    let escaped = url.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {side} {height}\" \
         shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"QR code of {escaped}\">\
         <rect width=\"{side}\" height=\"{height}\" fill=\"#fff\"/>\
         <path fill=\"#000\" d=\"{path}\"/>\
         <text x=\"{mid}\" y=\"{text_y}\" font-family=\"sans-serif\" font-size=\"{font}\" \
         text-anchor=\"middle\" fill=\"#000\">{escaped}</text></svg>",
        height = side + text_band,
        mid = side as f32 / 2.0,
        text_y = side + 1,
        font = (side as f32 / escaped.len().max(1) as f32 * 1.6).min(2.5),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_codes_are_drawn_once_and_new_ones_at_a_bounded_rate() {
        // Two draws at once, then one an hour: the test never waits for the rate.
        let quota = Quota::per_hour(NonZeroU32::new(1).unwrap()).allow_burst(NonZeroU32::new(2).unwrap());
        let codes = RoomCodes::with_quota("http://10.0.0.2:8080/".to_owned(), quota);
        let a = codes.get("a").expect("the first draw is within the burst");
        assert_eq!(a, Bytes::from(svg("http://10.0.0.2:8080/r/a")));
        assert!(codes.get("b").is_some(), "the second draw is within the burst");
        assert_eq!(codes.get("c"), None, "a third new room waits for the rate");
        // Kept codes cost no draw and are served while the rate is spent.
        for _ in 0..10 {
            assert_eq!(codes.get("a").as_ref(), Some(&a));
            assert!(codes.get("b").is_some());
        }
    }

    #[test]
    fn room_codes_kept_are_bounded() {
        let quota = Quota::per_hour(NonZeroU32::new(1).unwrap()).allow_burst(NonZeroU32::new(1000).unwrap());
        let codes = RoomCodes::with_quota("http://10.0.0.2/".to_owned(), quota);
        for i in 0..3 * ROOM_CODES_KEPT {
            assert!(codes.get(&format!("room-{i}")).is_some());
            assert!(codes.kept.lock().unwrap().len() <= ROOM_CODES_KEPT);
        }
    }

    #[test]
    fn a_room_link_goes_under_the_invite_url() {
        assert_eq!(room_url("http://192.168.1.20:8080/", "lan"), "http://192.168.1.20:8080/r/lan");
        assert_eq!(room_url("https://play.example/skirmish", "a-b_1"), "https://play.example/skirmish/r/a-b_1");
    }

    fn interfaces(list: &[(&str, &str)]) -> Vec<(String, IpAddr)> {
        list.iter().map(|(name, ip)| ((*name).to_owned(), ip.parse().unwrap())).collect()
    }

    #[test]
    fn the_lan_address_is_the_default_routes_unless_a_vpn_or_a_bridge_holds_it() {
        let host = interfaces(&[
            ("lo", "127.0.0.1"),
            ("docker0", "172.17.0.1"),
            ("tun0", "10.8.0.2"),
            ("wlan0", "192.168.1.20"),
            ("eth1", "169.254.3.3"),
        ]);
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        assert_eq!(pick(ip("192.168.1.20"), &host), ip("192.168.1.20"), "the Wi-Fi holds the route");
        assert_eq!(pick(ip("10.8.0.2"), &host), ip("192.168.1.20"), "a full-tunnel VPN holds it");
        assert_eq!(pick(None, &host), ip("192.168.1.20"), "offline: the LAN, not docker's or the VPN's");
        // A route through an interface the list does not show is trusted as it is.
        assert_eq!(pick(ip("203.0.113.5"), &host), ip("203.0.113.5"));
        // Only a VPN: better than nothing.
        assert_eq!(pick(ip("10.8.0.2"), &interfaces(&[("tun0", "10.8.0.2")])), ip("10.8.0.2"));
        assert_eq!(pick(None, &interfaces(&[("lo", "127.0.0.1"), ("docker0", "172.17.0.1")])), None);
        // Private ranges first, in the order home routers use them.
        let lab = interfaces(&[("eth0", "172.20.0.5"), ("eth1", "10.0.0.9"), ("eth2", "192.168.50.2")]);
        assert_eq!(pick(None, &lab), ip("192.168.50.2"));
        assert!(is_virtual("br-1a2b3c") && is_virtual("veth12ab") && !is_virtual("enp3s0") && !is_virtual("wlp2s0"));
    }

    #[test]
    fn a_public_url_wins() {
        let listen: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        assert_eq!(url(listen, Some("https://play.example.org/")), "https://play.example.org/");
        assert_eq!(url("192.168.1.20:9000".parse().unwrap(), Some("")), "http://192.168.1.20:9000/", "empty: none");
    }

    #[test]
    fn a_specific_address_is_used_as_bound() {
        assert_eq!(url("192.168.1.20:9000".parse().unwrap(), None), "http://192.168.1.20:9000/");
        assert_eq!(url("127.0.0.1:8080".parse().unwrap(), None), "http://127.0.0.1:8080/");
        assert_eq!(url("[fe80::1]:8080".parse().unwrap(), None), "http://[fe80::1]:8080/");
    }

    /// The UDP probe agrees with the routing table: the address it finds belongs to the
    /// interface that `/proc/net/route` names for the default route (when there is one).
    #[test]
    fn the_default_route_interface_is_the_one_in_the_routing_table() {
        let routes = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
        let default_if = routes
            .lines()
            .skip(1)
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .filter(|f| f.get(1) == Some(&"00000000") && f.get(7) == Some(&"00000000"))
            .min_by_key(|f| f.get(6).and_then(|m| m.parse::<u32>().ok()).unwrap_or(u32::MAX))
            .map(|f| f[0].to_owned());
        let found = default_route_ip(false);
        let Some(name) = default_if else {
            assert_eq!(found, None, "no default route, so no default-route address");
            return;
        };
        let found = found.expect("a default route gives an address");
        let of_interface: Vec<IpAddr> =
            if_addrs::get_if_addrs().unwrap().into_iter().filter(|i| i.name == name).map(|i| i.ip()).collect();
        assert!(of_interface.contains(&found), "{found} is not on the default route's {name}: {of_interface:?}");
        if !is_vpn(&name) && !is_virtual(&name) {
            let listen = SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 8080);
            assert_eq!(url(listen, None), format!("http://{found}:8080/"));
        }
    }

    #[test]
    fn the_terminal_code_is_square_with_its_quiet_zone() {
        let text = terminal("http://192.168.1.20:8080/");
        let lines: Vec<&str> = text.lines().collect();
        let width = lines[0].chars().count();
        assert!(lines.iter().all(|l| l.chars().count() == width), "rows of one width");
        // Two module rows per line.
        assert_eq!(lines.len(), width.div_ceil(2));
        assert!(lines[0].chars().all(|c| c == '█'), "the quiet zone shows light on a dark terminal");
    }

    #[test]
    fn the_svg_escapes_the_url_it_shows() {
        let svg = svg("http://host/?a=<b>&c=\"d\"");
        assert!(svg.contains("?a=&lt;b&gt;&amp;c=&quot;d&quot;"), "{svg}");
        assert!(!svg.contains("<b>"));
    }
}
