//! The misbehaving share (`--misbehave flood=5,garbage=5`): which bots, by index, break the
//! rules on purpose instead of playing, what each one saw the server do about it, and the
//! per-kind tally the summary lists apart from the well-behaved bots' figures.
//!
//! The bots themselves live in [`crate::rogue`]; this file is plain data and arithmetic.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Serialize;

/// One way of misbehaving.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Misbehaviour {
    /// After `Welcome`, sends valid inputs as fast as it can (~1000/s) until closed.
    Flood,
    /// After `Welcome`, sends one frame of random bytes.
    Garbage,
    /// Joins, then stops reading its socket while still sending inputs at 30 Hz.
    NeverRead,
    /// Sends the HTTP upgrade request one byte per second.
    SlowHandshake,
    /// After `Welcome`, sends one frame bigger than the default frame cap.
    Oversized,
    /// Plays, but closes cleanly and reconnects on a new connection every few seconds.
    Reconnect,
}

impl Misbehaviour {
    /// Every kind, in the order the summary lists them.
    pub const ALL: [Misbehaviour; 6] = [
        Misbehaviour::Flood,
        Misbehaviour::Garbage,
        Misbehaviour::NeverRead,
        Misbehaviour::SlowHandshake,
        Misbehaviour::Oversized,
        Misbehaviour::Reconnect,
    ];

    /// The name used in `--misbehave` and in the summary.
    pub fn name(self) -> &'static str {
        match self {
            Misbehaviour::Flood => "flood",
            Misbehaviour::Garbage => "garbage",
            Misbehaviour::NeverRead => "never-read",
            Misbehaviour::SlowHandshake => "slow-handshake",
            Misbehaviour::Oversized => "oversized",
            Misbehaviour::Reconnect => "reconnect",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Misbehaviour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Percentage of bots per misbehaviour (`--misbehave`), summing to at most 100; the rest play.
/// Serialised as `{"flood": 5, ...}` with the kinds given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Misbehave {
    /// Share per kind in %, indexed like [`Misbehaviour::ALL`].
    shares: [u32; 6],
}

impl Serialize for Misbehave {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.given().map(|(k, pct)| (k.name(), pct)))
    }
}

impl Misbehave {
    /// Parses `flood=5,garbage=5`: unknown or repeated kinds, non-integer shares and a total
    /// over 100 are refused.
    pub fn parse(text: &str) -> Result<Misbehave, String> {
        let mut given = [false; 6];
        let mut m = Misbehave::default();
        for part in text.split(',').map(str::trim) {
            let Some((name, value)) = part.split_once('=') else {
                return Err(format!("{part:?} is not KIND=PERCENT (e.g. flood=5,garbage=5)"));
            };
            let (name, value) = (name.trim(), value.trim());
            let Some(kind) = Misbehaviour::ALL.into_iter().find(|k| k.name() == name) else {
                let known = Misbehaviour::ALL.map(Misbehaviour::name).join(", ");
                return Err(format!("unknown misbehaviour {name:?}; known: {known}"));
            };
            let share: u32 = value
                .parse()
                .ok()
                .filter(|v| *v <= 100)
                .ok_or_else(|| format!("{name}={value}: the share must be a whole percentage, 0 to 100"))?;
            if std::mem::replace(&mut given[kind.index()], true) {
                return Err(format!("{name} is given twice"));
            }
            m.shares[kind.index()] = share;
        }
        let total: u32 = m.shares.iter().sum();
        if total > 100 {
            return Err(format!("the shares add up to {total} %, more than 100 %"));
        }
        Ok(m)
    }

    /// The kinds with a share above 0 and their shares.
    pub fn given(&self) -> impl Iterator<Item = (Misbehaviour, u32)> + '_ {
        Misbehaviour::ALL.into_iter().map(|k| (k, self.shares[k.index()])).filter(|(_, pct)| *pct > 0)
    }

    /// Whether any bot misbehaves.
    pub fn is_empty(&self) -> bool {
        self.given().next().is_none()
    }

    /// How many of `count` bots misbehave in each way (indexed like [`Misbehaviour::ALL`]): the
    /// shares of `count` rounded down, the bots left over going to the largest remainders, the
    /// well-behaved rest counting as one more share listed first (so ties keep a bot playing).
    pub fn counts(&self, count: u32) -> [u32; 6] {
        let rest = 100 - self.shares.iter().sum::<u32>();
        // Slot 0 is the well-behaved rest, slots 1.. the kinds.
        let shares: Vec<u32> = std::iter::once(rest).chain(self.shares).collect();
        let exact: Vec<u64> = shares.iter().map(|s| u64::from(count) * u64::from(*s)).collect();
        // floor(count × share / 100) fits in u32 since share ≤ 100.
        let mut counts: Vec<u32> = exact.iter().map(|e| (e / 100) as u32).collect();
        let assigned: u32 = counts.iter().sum();
        let mut by_remainder: Vec<usize> = (0..shares.len()).collect();
        by_remainder.sort_by_key(|&i| std::cmp::Reverse(exact[i] % 100));
        for &i in by_remainder.iter().take((count - assigned) as usize) {
            counts[i] += 1;
        }
        let mut out = [0; 6];
        out.copy_from_slice(&counts[1..]);
        out
    }

    /// The misbehaviour of each of `count` bots by index (`None`: plays normally): the
    /// misbehaving bots are spread evenly over the indices, kind after kind, so they start
    /// spread over the ramp-up and over the rooms of `--rooms`. The same options always give
    /// the same assignment.
    pub fn assign(&self, count: u32) -> Vec<Option<Misbehaviour>> {
        let kinds: Vec<Misbehaviour> = Misbehaviour::ALL
            .iter()
            .zip(self.counts(count))
            .flat_map(|(&k, n)| std::iter::repeat_n(k, n as usize))
            .collect();
        let mut out = vec![None; count as usize];
        let m = kinds.len() as u64;
        for (j, kind) in kinds.into_iter().enumerate() {
            // Distinct indices: m ≤ count, so consecutive j land at least one index apart.
            out[(j as u64 * u64::from(count) / m) as usize] = Some(kind);
        }
        out
    }
}

impl fmt::Display for Misbehave {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.given().map(|(k, pct)| format!("{k}={pct}")).collect();
        f.write_str(&parts.join(","))
    }
}

/// What the server did about one misbehaving bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reaction {
    /// It closed the connection saying why: WebSocket close code and reason, or for a
    /// handshake the first line of its HTTP answer.
    Closed(String),
    /// The connection ended without a word: the error kind (reset, broken pipe, closed).
    Lost(String),
    /// Nothing: the connection was still open when the run ended.
    Endured,
    /// The bot never got to misbehave (it could not connect or join): the error kind.
    Failed(String),
}

/// One misbehaving bot's report.
#[derive(Debug, Clone, PartialEq)]
pub struct RogueReport {
    /// What it did.
    pub kind: Misbehaviour,
    /// What the server did.
    pub reaction: Reaction,
    /// From the first misbehaviour to the server's reaction (`None` when there was none).
    pub took: Option<Duration>,
    /// New connections opened after the first (`reconnect` bots).
    pub reconnects: u64,
}

/// Shortest and longest time to a reaction, in ms.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Span {
    /// Quickest reaction.
    pub min: f64,
    /// Slowest reaction.
    pub max: f64,
}

/// The bots of one misbehaviour together; serialised under `misbehaving` by kind.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct KindSummary {
    /// Bots assigned this kind.
    pub bots: u32,
    /// Closed by the server: close code and reason (or HTTP status line) → count.
    pub closed: BTreeMap<String, u32>,
    /// Dropped without a close frame: error kind → count.
    pub lost: BTreeMap<String, u32>,
    /// Still connected when the run ended: the server put up with it.
    pub endured: u32,
    /// Never got to misbehave (could not connect or join): error kind → count.
    pub failed: BTreeMap<String, u32>,
    /// Time from misbehaving to the server's reaction; `null` when no bot saw one.
    pub took_ms: Option<Span>,
    /// New connections opened by `reconnect` bots after their first.
    pub reconnects: u64,
}

/// Tallies the misbehaving bots by kind.
pub fn summarise(reports: &[RogueReport]) -> BTreeMap<String, KindSummary> {
    let mut out: BTreeMap<String, KindSummary> = BTreeMap::new();
    for r in reports {
        let s = out.entry(r.kind.name().to_owned()).or_default();
        s.bots += 1;
        s.reconnects += r.reconnects;
        match &r.reaction {
            Reaction::Closed(why) => *s.closed.entry(why.clone()).or_default() += 1,
            Reaction::Lost(why) => *s.lost.entry(why.clone()).or_default() += 1,
            Reaction::Endured => s.endured += 1,
            Reaction::Failed(why) => *s.failed.entry(why.clone()).or_default() += 1,
        }
        if let Some(took) = r.took {
            let ms = took.as_secs_f64() * 1000.0;
            s.took_ms =
                Some(s.took_ms.map_or(Span { min: ms, max: ms }, |t| Span { min: t.min.min(ms), max: t.max.max(ms) }));
        }
    }
    out
}

/// One kind's outcomes in words: `closed 1008 flooding × 3, endured × 1 (after 1012–1040 ms)`.
pub fn outcome_line(s: &KindSummary) -> String {
    let mut parts: Vec<String> = Vec::new();
    parts.extend(s.closed.iter().map(|(why, n)| format!("closed {why} × {n}")));
    parts.extend(s.lost.iter().map(|(why, n)| format!("lost ({why}) × {n}")));
    if s.endured > 0 {
        parts.push(format!("endured to the end × {}", s.endured));
    }
    parts.extend(s.failed.iter().map(|(why, n)| format!("failed to join ({why}) × {n}")));
    let mut line = parts.join(", ");
    if let Some(t) = s.took_ms {
        line += &format!(" (after {:.0}–{:.0} ms)", t.min, t.max);
    }
    if s.reconnects > 0 {
        line += &format!("; {} reconnects", s.reconnects);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_parse_and_bad_ones_are_refused() {
        let m = Misbehave::parse("flood=5, never-read=10,slow-handshake=1").unwrap();
        assert_eq!(m.to_string(), "flood=5,never-read=10,slow-handshake=1");
        assert_eq!(
            serde_json::to_value(m).unwrap(),
            serde_json::json!({"flood": 5, "never-read": 10, "slow-handshake": 1})
        );
        assert!(Misbehave::default().is_empty() && !m.is_empty());
        let err = |text: &str| Misbehave::parse(text).expect_err(text);
        assert!(err("dance=5").contains("unknown misbehaviour \"dance\""));
        assert!(err("dance=5").contains("flood, garbage, never-read, slow-handshake, oversized, reconnect"));
        assert!(err("flood=60,garbage=50").contains("add up to 110"));
        assert!(err("flood=5,flood=5").contains("twice"));
        assert!(err("flood").contains("KIND=PERCENT"));
        assert!(err("flood=2.5").contains("whole percentage"));
        assert!(Misbehave::parse("flood=100").is_ok(), "every bot may misbehave");
    }

    #[test]
    fn counts_round_to_whole_bots_and_assignment_spreads_them() {
        let m = Misbehave::parse("flood=25,garbage=25,oversized=25").unwrap();
        assert_eq!(m.counts(12), [3, 3, 0, 0, 3, 0]);
        let a = m.assign(12);
        assert_eq!(a, m.assign(12), "deterministic");
        assert_eq!(a.iter().filter(|k| k.is_none()).count(), 3);
        assert_eq!(a.iter().filter(|k| **k == Some(Misbehaviour::Oversized)).count(), 3);
        // A share under one bot rounds to nothing rather than taking a playing bot.
        assert_eq!(Misbehave::parse("flood=1").unwrap().counts(10), [0; 6]);
        assert_eq!(Misbehave::parse("flood=5").unwrap().counts(10), [0; 6], "ties keep the bot playing");
        assert_eq!(Misbehave::parse("flood=6").unwrap().counts(10), [1, 0, 0, 0, 0, 0]);
        for count in 1..=200 {
            for text in ["flood=100", "flood=33,garbage=33,reconnect=34", "never-read=7,oversized=3"] {
                let m = Misbehave::parse(text).unwrap();
                let want: u32 = m.counts(count).iter().sum();
                let a = m.assign(count);
                assert_eq!(a.len(), count as usize);
                assert_eq!(a.iter().filter(|k| k.is_some()).count() as u32, want, "{text} × {count}");
            }
        }
        // Spread, not bunched at one end: 10 % of 100 bots sit 10 indices apart.
        let a = Misbehave::parse("garbage=10").unwrap().assign(100);
        let at: Vec<usize> = a.iter().enumerate().filter(|(_, k)| k.is_some()).map(|(i, _)| i).collect();
        assert_eq!(at, (0..100).step_by(10).collect::<Vec<_>>());
    }

    #[test]
    fn reactions_are_tallied_per_kind() {
        let r = |kind, reaction, took_ms: Option<u64>| RogueReport {
            kind,
            reaction,
            took: took_ms.map(Duration::from_millis),
            reconnects: 0,
        };
        let reports = [
            r(Misbehaviour::Flood, Reaction::Closed("1008 flooding".into()), Some(1200)),
            r(Misbehaviour::Flood, Reaction::Closed("1008 flooding".into()), Some(900)),
            r(Misbehaviour::Flood, Reaction::Lost("connection reset".into()), Some(1000)),
            r(Misbehaviour::SlowHandshake, Reaction::Endured, None),
            RogueReport { reconnects: 4, ..r(Misbehaviour::Reconnect, Reaction::Endured, None) },
            r(Misbehaviour::Garbage, Reaction::Failed("connection refused".into()), None),
        ];
        let s = summarise(&reports);
        let flood = &s["flood"];
        assert_eq!(flood.bots, 3);
        assert_eq!(flood.closed, BTreeMap::from([("1008 flooding".to_owned(), 2)]));
        assert_eq!(flood.lost, BTreeMap::from([("connection reset".to_owned(), 1)]));
        assert_eq!(flood.took_ms, Some(Span { min: 900.0, max: 1200.0 }));
        assert_eq!((s["slow-handshake"].endured, s["slow-handshake"].took_ms), (1, None));
        assert_eq!(s["reconnect"].reconnects, 4);
        assert_eq!(s["garbage"].failed, BTreeMap::from([("connection refused".to_owned(), 1)]));
        let line = outcome_line(flood);
        assert!(line.contains("closed 1008 flooding × 2") && line.contains("(after 900–1200 ms)"), "{line}");
        assert!(outcome_line(&s["reconnect"]).contains("4 reconnects"));
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["flood"]["closed"]["1008 flooding"], 2);
        assert_eq!(json["flood"]["bots"], 3);
    }
}
