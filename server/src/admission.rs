//! Who may open a WebSocket: caps on open connections per client address and overall, and on
//! the rate of new connections per address, checked at the HTTP upgrade so a refused client
//! never gets a socket, an actor or a seat. One address cannot take the server; a LAN party
//! never notices. And what an address may say: its chat lines, over all its connections, so
//! that joining as many players (or again and again) does not multiply its share of a room's
//! chat.
//!
//! An admitted connection holds a [`Permit`] for its whole life (the session owns it); dropping
//! it gives the place back, so every way a session ends frees it exactly once.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, MutexGuard};

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};

use crate::client_addr::cap_key;
use skirmish_shared::tuning::{CHAT_BURST, CHAT_REFILL_MS};

/// The per-address burst, in seconds' worth of the rate.
const BURST_SECONDS: NonZeroU32 = NonZeroU32::new(2).expect("2 is not zero");
/// The shortest period a quota may have.
const NANOSECOND: std::time::Duration = std::time::Duration::from_nanos(1);
/// Admissions between two sweeps of the rate limiter's idle addresses, which keeps its table
/// to the addresses seen in the last burst window.
const SWEEP_EVERY: u64 = 1024;

/// The caps; `0` turns one off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Open WebSockets per client address (IPv6: per /64).
    pub per_ip: u32,
    /// Open WebSockets in all.
    pub global: u32,
    /// New connections per second per client address, in bursts of twice that.
    pub per_ip_per_sec: u32,
    /// Players' worth of chat per client address: this many times a player's allowance
    /// (`CHAT_BURST` lines at once, one per `CHAT_REFILL_MS`) for all its connections together.
    pub chat_per_ip: u32,
}

/// Why an upgrade was refused, for the response and `skirmish_connections_refused_total{reason}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The address has `per_ip` sockets open (429).
    PerIp,
    /// The address opened connections faster than `per_ip_per_sec` (429).
    PerIpRate,
    /// The server has `global` sockets open (503).
    Global,
    /// The `Origin` is another site's and not allowed (403).
    Origin,
    /// The server is shutting down (503).
    Draining,
    /// The process is out of file descriptors: the connection's socket could not be duplicated
    /// for its session (503).
    OutOfFiles,
}

impl Refusal {
    /// Every reason, in label order.
    pub const ALL: [Refusal; 6] =
        [Self::PerIp, Self::PerIpRate, Self::Global, Self::Origin, Self::Draining, Self::OutOfFiles];

    /// The HTTP status of the refusal.
    pub fn status(self) -> u16 {
        match self {
            Self::PerIp | Self::PerIpRate => 429,
            Self::Global | Self::Draining | Self::OutOfFiles => 503,
            Self::Origin => 403,
        }
    }

    /// The response body.
    pub fn message(self) -> &'static str {
        match self {
            Self::PerIp => "too many connections from your address",
            Self::PerIpRate => "connecting too fast from your address",
            Self::Global => "server full",
            Self::Origin => "origin not allowed",
            Self::Draining => "server restarting",
            Self::OutOfFiles => "the server is out of file descriptors: try again later",
        }
    }

    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            Self::PerIp => "per_ip",
            Self::PerIpRate => "per_ip_rate",
            Self::Global => "global",
            Self::Origin => "origin",
            Self::Draining => "draining",
            Self::OutOfFiles => "out_of_files",
        }
    }
}

/// The open-socket counts; one lock, so a check and its increment are one step.
#[derive(Debug, Default)]
struct Open {
    total: u32,
    /// Only addresses with a socket open: an entry goes when its count reaches 0.
    per_ip: HashMap<IpAddr, u32>,
    /// Admissions since the start, for the periodic sweep.
    admitted: u64,
}

/// governor's keyed limiter, one state per client address.
type AddressRate<C> = RateLimiter<IpAddr, HashMapStateStore<IpAddr>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// The caps of one server, shared by every HTTP worker.
pub struct Gate<C: Clock = DefaultClock> {
    limits: Limits,
    open: Mutex<Open>,
    /// `None` when `per_ip_per_sec` is 0.
    rate: Option<AddressRate<C>>,
    /// `None` when `chat_per_ip` is 0.
    chat: Option<AddressRate<C>>,
}

impl<C: Clock> std::fmt::Debug for Gate<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate").field("limits", &self.limits).finish_non_exhaustive()
    }
}

impl Gate {
    /// A gate with `limits` on the real clock.
    pub fn new(limits: Limits) -> Arc<Self> {
        Self::with_clock(limits, DefaultClock::default())
    }
}

impl<C: Clock + Clone> Gate<C> {
    /// A gate with `limits` on `clock` (tests pass a fake one).
    pub fn with_clock(limits: Limits, clock: C) -> Arc<Self> {
        let rate = NonZeroU32::new(limits.per_ip_per_sec).map(|per_sec| {
            let burst = per_sec.saturating_mul(BURST_SECONDS);
            RateLimiter::hashmap_with_clock(Quota::per_second(per_sec).allow_burst(burst), clock.clone())
        });
        let chat = NonZeroU32::new(limits.chat_per_ip).map(|players| {
            let burst = players.saturating_mul(NonZeroU32::new(CHAT_BURST).expect("a burst of lines"));
            // At least a nanosecond, however many players' worth is asked for.
            let every = (std::time::Duration::from_millis(CHAT_REFILL_MS) / players.get()).max(NANOSECOND);
            let quota = Quota::with_period(every).expect("a period of at least a nanosecond").allow_burst(burst);
            RateLimiter::hashmap_with_clock(quota, clock)
        });
        Arc::new(Self { limits, open: Mutex::new(Open::default()), rate, chat })
    }
}

impl<C: Clock> Gate<C> {
    fn lock(&self) -> MutexGuard<'_, Open> {
        // The counts stay consistent whatever panicked while holding the lock (each update is
        // one statement), so a poisoned lock is still usable.
        self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Admits one connection from `client` (`None`: no address known, only the global cap
    /// applies), or says why not. Refusals cost the client nothing against the rate.
    pub fn admit(self: &Arc<Self>, client: Option<IpAddr>) -> Result<Permit<C>, Refusal> {
        let key = client.map(cap_key);
        let mut open = self.lock();
        if self.limits.global > 0 && open.total >= self.limits.global {
            return Err(Refusal::Global);
        }
        if let Some(key) = key {
            let count = open.per_ip.get(&key).copied().unwrap_or(0);
            if self.limits.per_ip > 0 && count >= self.limits.per_ip {
                return Err(Refusal::PerIp);
            }
            if let Some(rate) = &self.rate
                && rate.check_key(&key).is_err()
            {
                return Err(Refusal::PerIpRate);
            }
            open.per_ip.insert(key, count + 1);
        }
        open.total += 1;
        open.admitted += 1;
        if open.admitted.is_multiple_of(SWEEP_EVERY) {
            for rate in self.rate.iter().chain(&self.chat) {
                rate.retain_recent();
            }
        }
        Ok(Permit { gate: self.clone(), key })
    }

    /// Spends one of `client`'s new-connection tokens on a request that tells as much as a
    /// connection would, without opening one: a room's invite code looked up says whether the
    /// room is open, as a join does, so it may not be asked faster. False when the address is
    /// over its rate; always true with no address known or no rate set.
    pub fn charge(&self, client: Option<IpAddr>) -> bool {
        match (&self.rate, client) {
            (Some(rate), Some(client)) => rate.check_key(&cap_key(client)).is_ok(),
            _ => true,
        }
    }

    /// Open connections in all, and from `client`'s address (its /64 for IPv6).
    pub fn open(&self, client: IpAddr) -> (u32, u32) {
        let open = self.lock();
        (open.total, open.per_ip.get(&cap_key(client)).copied().unwrap_or(0))
    }

    fn release(&self, key: Option<IpAddr>) {
        let mut open = self.lock();
        open.total = open.total.saturating_sub(1);
        if let Some(key) = key
            && let Some(count) = open.per_ip.get_mut(&key)
        {
            *count -= 1;
            if *count == 0 {
                open.per_ip.remove(&key);
            }
        }
    }
}

/// One admitted connection's place under the caps; dropping it frees the place.
pub struct Permit<C: Clock = DefaultClock> {
    gate: Arc<Gate<C>>,
    key: Option<IpAddr>,
}

impl<C: Clock> std::fmt::Debug for Permit<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Permit").field("key", &self.key).finish()
    }
}

impl<C: Clock> Permit<C> {
    /// The client's address as the caps count it (IPv6: its /64), if known.
    pub fn key(&self) -> Option<IpAddr> {
        self.key
    }

    /// Takes one chat line from the address's share ([`Limits::chat_per_ip`]); false when it is
    /// used up. Always true with no address known or no cap set.
    pub fn chat_line(&self) -> bool {
        match (&self.gate.chat, &self.key) {
            (Some(chat), Some(key)) => chat.check_key(key).is_ok(),
            _ => true,
        }
    }
}

impl<C: Clock> Drop for Permit<C> {
    fn drop(&mut self) {
        self.gate.release(self.key);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use governor::clock::FakeRelativeClock;

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn gate(per_ip: u32, global: u32, per_ip_per_sec: u32) -> (Arc<Gate<FakeRelativeClock>>, FakeRelativeClock) {
        let clock = FakeRelativeClock::default();
        (Gate::with_clock(Limits { per_ip, global, per_ip_per_sec, chat_per_ip: 0 }, clock.clone()), clock)
    }

    #[test]
    fn an_address_shares_its_chat_between_its_connections() {
        let clock = FakeRelativeClock::default();
        let limits = Limits { per_ip: 0, global: 0, per_ip_per_sec: 0, chat_per_ip: 2 };
        let gate = Gate::with_clock(limits, clock.clone());
        let (a, b) = (gate.admit(Some(ip("192.0.2.1"))).unwrap(), gate.admit(Some(ip("192.0.2.1"))).unwrap());
        // Two players' burst, whichever connection sends it.
        for line in 0..2 * CHAT_BURST {
            let permit = if line % 2 == 0 { &a } else { &b };
            assert!(permit.chat_line(), "line {line}");
        }
        assert!(!a.chat_line() && !b.chat_line(), "the address's share is used up");
        assert!(gate.admit(Some(ip("192.0.2.2"))).unwrap().chat_line(), "another address is not affected");
        assert!(gate.admit(None).unwrap().chat_line(), "nor is a connection of unknown address");
        // Then two players' rate: two lines every `CHAT_REFILL_MS`.
        clock.advance(Duration::from_millis(CHAT_REFILL_MS));
        assert!(a.chat_line() && b.chat_line());
        assert!(!a.chat_line());
        // Any number is a valid setting.
        let most = Limits { chat_per_ip: u32::MAX, ..limits };
        assert!(Gate::with_clock(most, clock).admit(Some(ip("192.0.2.1"))).unwrap().chat_line());
    }

    #[test]
    fn the_per_address_cap_refuses_and_a_closed_socket_frees_its_place() {
        let (gate, _) = gate(2, 0, 0);
        let a = ip("192.0.2.1");
        let first = gate.admit(Some(a)).unwrap();
        let _second = gate.admit(Some(a)).unwrap();
        assert_eq!(gate.admit(Some(a)).unwrap_err(), Refusal::PerIp);
        assert!(gate.admit(Some(ip("192.0.2.2"))).is_ok(), "another address is not affected");
        assert_eq!(gate.open(a), (2, 2), "the other address's permit was dropped at once");
        drop(first);
        assert_eq!(gate.open(a), (1, 1));
        assert!(gate.admit(Some(a)).is_ok());
    }

    #[test]
    fn an_ipv6_64_is_one_address() {
        let (gate, _) = gate(1, 0, 0);
        let _held = gate.admit(Some(ip("2001:db8:0:1::1"))).unwrap();
        assert_eq!(gate.admit(Some(ip("2001:db8:0:1::2"))).unwrap_err(), Refusal::PerIp);
        assert!(gate.admit(Some(ip("2001:db8:0:2::1"))).is_ok());
    }

    #[test]
    fn the_global_cap_counts_every_address_and_unknown_ones() {
        let (gate, _) = gate(0, 3, 0);
        let held: Vec<_> = ["192.0.2.1", "192.0.2.2"].iter().map(|a| gate.admit(Some(ip(a))).unwrap()).collect();
        let unknown = gate.admit(None).unwrap();
        assert_eq!(gate.admit(Some(ip("192.0.2.3"))).unwrap_err(), Refusal::Global);
        drop(unknown);
        assert!(gate.admit(Some(ip("192.0.2.3"))).is_ok());
        drop(held);
        assert_eq!(gate.open(ip("192.0.2.1")), (0, 0), "every permit given back, none twice");
    }

    #[test]
    fn the_rate_allows_a_burst_of_two_seconds_then_the_rate() {
        let (gate, clock) = gate(0, 0, 20);
        let a = ip("192.0.2.1");
        for i in 0..40 {
            assert!(gate.admit(Some(a)).is_ok(), "connection {i} of the burst");
        }
        assert_eq!(gate.admit(Some(a)).unwrap_err(), Refusal::PerIpRate);
        assert!(gate.admit(Some(ip("192.0.2.2"))).is_ok(), "per address");
        clock.advance(Duration::from_millis(50));
        assert!(gate.admit(Some(a)).is_ok(), "one more after 1/20 s");
        assert_eq!(gate.admit(Some(a)).unwrap_err(), Refusal::PerIpRate);
        assert_eq!(gate.open(a), (0, 0), "permits dropped at once: the rate, not the count, refused");
    }

    #[test]
    fn a_charge_spends_the_same_rate_as_a_connection() {
        let (gate, clock) = gate(0, 0, 20);
        let a = ip("192.0.2.1");
        for i in 0..30 {
            assert!(gate.charge(Some(a)), "charge {i} of the burst");
        }
        for i in 30..40 {
            assert!(gate.admit(Some(a)).is_ok(), "connection {i}: the rest of the burst");
        }
        assert!(!gate.charge(Some(a)), "over the rate");
        assert_eq!(gate.admit(Some(a)).unwrap_err(), Refusal::PerIpRate);
        assert!(gate.charge(Some(ip("192.0.2.2"))) && gate.charge(None), "per address; none known: free");
        clock.advance(Duration::from_millis(50));
        assert!(gate.charge(Some(a)), "one more after 1/20 s");
        let (off, _) = self::gate(0, 0, 0);
        assert!((0..100).all(|_| off.charge(Some(a))), "no rate set: free");
    }

    #[test]
    fn a_refusal_by_the_count_does_not_use_up_the_rate() {
        let (gate, _) = gate(1, 0, 1);
        let held = gate.admit(Some(ip("192.0.2.1"))).unwrap();
        for _ in 0..10 {
            assert_eq!(gate.admit(Some(ip("192.0.2.1"))).unwrap_err(), Refusal::PerIp);
        }
        drop(held);
        assert!(gate.admit(Some(ip("192.0.2.1"))).is_ok(), "the burst of 2 still had one left");
    }

    #[test]
    fn zero_turns_each_cap_off() {
        let (gate, _) = gate(0, 0, 0);
        let held: Vec<_> = (0..500).map(|_| gate.admit(Some(ip("127.0.0.1"))).unwrap()).collect();
        assert_eq!(gate.open(ip("127.0.0.1")), (500, 500));
        drop(held);
        assert_eq!(gate.open(ip("127.0.0.1")), (0, 0));
    }
}
