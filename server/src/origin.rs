//! Which web pages may open a WebSocket here. A browser sends the page's `Origin` with every
//! WebSocket handshake and, unlike with `fetch`, nothing stops a page from another site
//! connecting, so without this check any page a LAN player visits could join (or flood) the
//! game in their name. Allowed: no `Origin` (bots and other non-browser clients), an `Origin`
//! whose host and port are the request's `Host` (the game's own page), and the origins the
//! operator lists with `--allowed-origins` (`*` allows every origin).

use std::str::FromStr;

/// One `--allowed-origins` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedOrigin {
    /// `*`: every origin.
    Any,
    /// `scheme://host[:port]`.
    Exact(Origin),
}

impl FromStr for AllowedOrigin {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "*" => Ok(Self::Any),
            other => Origin::parse(other)
                .map(Self::Exact)
                .ok_or_else(|| format!("{other:?} is not an origin like https://example.com or http://host:8080")),
        }
    }
}

/// A web origin: scheme, host and port (the scheme's default port when none is written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    /// Parses `scheme://host[:port]` (an `Origin` header's form); `None` for anything else,
    /// `null` included.
    pub fn parse(text: &str) -> Option<Self> {
        let (scheme, rest) = text.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = default_port(&scheme)?;
        let (host, port) = split_host_port(rest.strip_suffix('/').unwrap_or(rest))?;
        Some(Self { scheme, host, port: port.unwrap_or(default_port) })
    }

    /// True if this origin is the server the request was sent to: its `Host` header names the
    /// same host and port (a `Host` without a port means this origin scheme's default port).
    pub fn is_host(&self, host_header: &str) -> bool {
        match split_host_port(host_header.trim()) {
            Some((host, port)) => host == self.host && port.unwrap_or_else(|| self.default_port()) == self.port,
            None => false,
        }
    }

    fn default_port(&self) -> u16 {
        default_port(&self.scheme).unwrap_or(0)
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// The port a URL of `scheme` means when it names none; `None` for schemes no page of ours has.
fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        _ => None,
    }
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`, the host lowercased (IPv6 keeps its brackets).
fn split_host_port(text: &str) -> Option<(String, Option<u16>)> {
    let (host, port) = if text.starts_with('[') {
        let end = text.find(']')?;
        let (host, rest) = text.split_at(end + 1);
        match rest {
            "" => (host, None),
            _ => (host, Some(rest.strip_prefix(':')?)),
        }
    } else {
        match text.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        }
    };
    let port = match port {
        Some(p) => Some(p.parse::<u16>().ok()?),
        None => None,
    };
    let valid = !host.is_empty() && !host.contains(['/', '?', '#', '@', ' ']);
    valid.then(|| (host.to_ascii_lowercase(), port))
}

/// The most of a refused origin's text a log line quotes.
const LOGGED_CHARS: usize = 100;

/// The check of one handshake: `Ok` to go on, `Err` with the refused origin's text (for the
/// log line; its first [`LOGGED_CHARS`] characters, as a client may send kilobytes).
pub fn check(origin: Option<&str>, host: Option<&str>, allowed: &[AllowedOrigin]) -> Result<(), String> {
    let Some(text) = origin else { return Ok(()) };
    if allowed.contains(&AllowedOrigin::Any) {
        return Ok(());
    }
    let parsed = Origin::parse(text.trim());
    let ok = parsed.as_ref().is_some_and(|o| {
        host.is_some_and(|h| o.is_host(h)) || allowed.iter().any(|a| matches!(a, AllowedOrigin::Exact(x) if x == o))
    });
    if ok {
        return Ok(());
    }
    let mut quoted: String = text.chars().take(LOGGED_CHARS).collect();
    if quoted.len() < text.len() {
        quoted.push('…');
    }
    Err(quoted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(list: &[&str]) -> Vec<AllowedOrigin> {
        list.iter().map(|a| a.parse().unwrap()).collect()
    }

    #[test]
    fn the_games_own_page_and_clients_without_origin_are_allowed() {
        assert!(check(None, Some("192.168.1.20:8080"), &[]).is_ok(), "a bot");
        assert!(check(Some("http://192.168.1.20:8080"), Some("192.168.1.20:8080"), &[]).is_ok());
        assert!(check(Some("http://LOCALHOST:8080"), Some("localhost:8080"), &[]).is_ok(), "hosts ignore case");
        assert!(check(Some("http://[::1]:8080"), Some("[::1]:8080"), &[]).is_ok());
        assert!(check(Some("https://game.example"), Some("game.example"), &[]).is_ok(), "default ports");
        assert!(check(Some("http://game.example"), Some("game.example:80"), &[]).is_ok());
    }

    #[test]
    fn other_sites_are_refused_unless_listed() {
        let host = Some("192.168.1.20:8080");
        for other in ["http://evil.example", "http://192.168.1.20:8081", "http://192.168.1.2:8080", "null", ""] {
            assert_eq!(check(Some(other), host, &[]), Err(other.to_owned()), "{other:?}");
        }
        assert!(check(Some("http://192.168.1.20"), Some("192.168.1.20:8080"), &[]).is_err(), "port 80 is not 8080");
        // Host and port decide, not the scheme: behind a TLS proxy the page is https.
        assert!(check(Some("https://192.168.1.20:8080"), host, &[]).is_ok());
        assert!(check(Some("http://192.168.1.20:8080"), None, &[]).is_err(), "no Host to compare with");
        let list = allowed(&["https://friends.example", "http://lan-party:3000"]);
        assert!(check(Some("https://friends.example"), host, &list).is_ok());
        assert!(check(Some("https://FRIENDS.example:443"), host, &list).is_ok(), "the same origin, spelled out");
        assert!(check(Some("http://lan-party:3000"), host, &list).is_ok());
        assert!(check(Some("http://friends.example"), host, &list).is_err(), "another scheme is another origin");
        assert!(check(Some("http://evil.example"), host, &allowed(&["*"])).is_ok(), "* allows all");
        assert!(check(Some("null"), host, &allowed(&["*"])).is_ok());
        // A long origin is quoted in part.
        let long = format!("http://{}.example", "é".repeat(30_000));
        let quoted = check(Some(&long), host, &[]).expect_err("another site");
        assert_eq!(quoted.chars().count(), LOGGED_CHARS + 1);
        assert!(long.starts_with(quoted.trim_end_matches('…')) && quoted.ends_with('…'), "{quoted}");
    }

    #[test]
    fn allowed_origins_must_be_origins() {
        assert_eq!("*".parse::<AllowedOrigin>(), Ok(AllowedOrigin::Any));
        for bad in ["", "example.com", "ftp://example.com", "http://", "http://a b", "http://x:port", "http://x/path"] {
            assert!(bad.parse::<AllowedOrigin>().is_err(), "{bad:?}");
        }
    }
}
