//! The behaviour mix (`--mix wander=60,fight=30,chat=5,idle=5`): which share of the bots does
//! what, and the seeded assignment of a behaviour to each bot.
//!
//! Shares are whole percentages summing to 100. Bot counts follow them exactly up to rounding
//! (largest remainder), and which bot gets which behaviour is a seeded shuffle, so a run repeats
//! with the same `--seed` and every room of `--rooms` gets a similar mix.

use std::fmt;

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt as _, SeedableRng as _};
use serde::Serialize;

/// Keeps the assignment's random stream apart from the bots' own streams of the same seed.
const ASSIGN_STREAM: u64 = 0x6D69_785F_6173_7369;

/// What a bot does while connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Roams the arena, changing heading every 0.5–2 s.
    Wander,
    /// Chases the nearest living enemy and fires when in range.
    Fight,
    /// Wanders and says something every 5–15 s.
    Chat,
    /// Sends zero-movement inputs: a connected player who does nothing.
    Idle,
}

impl Kind {
    /// Every behaviour, in the order the summary lists them.
    pub const ALL: [Kind; 4] = [Kind::Wander, Kind::Fight, Kind::Chat, Kind::Idle];

    /// The name used in `--mix` and in the summary.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Wander => "wander",
            Kind::Fight => "fight",
            Kind::Chat => "chat",
            Kind::Idle => "idle",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Percentage of bots per behaviour; always sums to 100. Serialised as `{"wander": 60, ...}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Mix {
    /// Share of wandering bots, in %.
    pub wander: u32,
    /// Share of fighting bots, in %.
    pub fight: u32,
    /// Share of chatting bots, in %.
    pub chat: u32,
    /// Share of idle bots, in %.
    pub idle: u32,
}

impl Default for Mix {
    fn default() -> Self {
        Self { wander: 100, fight: 0, chat: 0, idle: 0 }
    }
}

impl Mix {
    /// Parses `wander=60,fight=30,chat=5,idle=5`. Behaviours left out get 0 %; unknown or
    /// repeated names, non-integer shares and a total other than 100 are refused.
    pub fn parse(text: &str) -> Result<Mix, String> {
        let mut shares: [Option<u32>; 4] = [None; 4];
        for part in text.split(',').map(str::trim) {
            let Some((name, value)) = part.split_once('=') else {
                return Err(format!("{part:?} is not NAME=PERCENT (e.g. wander=60,fight=40)"));
            };
            let (name, value) = (name.trim(), value.trim());
            let Some(kind) = Kind::ALL.into_iter().find(|k| k.name() == name) else {
                return Err(format!("unknown behaviour {name:?}; known: {}", known_names()));
            };
            let share: u32 = value
                .parse()
                .ok()
                .filter(|v| *v <= 100)
                .ok_or_else(|| format!("{name}={value}: the share must be a whole percentage, 0 to 100"))?;
            if shares[kind.index()].replace(share).is_some() {
                return Err(format!("{name} is given twice"));
            }
        }
        let [wander, fight, chat, idle] = shares.map(|s| s.unwrap_or(0));
        let total = wander + fight + chat + idle;
        if total != 100 {
            return Err(format!("the shares add up to {total} %, not 100 %"));
        }
        Ok(Mix { wander, fight, chat, idle })
    }

    /// The share of `kind`, in %.
    pub fn share(&self, kind: Kind) -> u32 {
        match kind {
            Kind::Wander => self.wander,
            Kind::Fight => self.fight,
            Kind::Chat => self.chat,
            Kind::Idle => self.idle,
        }
    }

    /// How many of `count` bots get each behaviour (indexed like [`Kind::ALL`]): the shares of
    /// `count` rounded down, the bots left over going to the largest remainders (ties to the
    /// behaviour listed first). The counts always add up to `count`.
    pub fn counts(&self, count: u32) -> [u32; 4] {
        let exact = Kind::ALL.map(|k| u64::from(count) * u64::from(self.share(k)));
        // Whole bots first: floor(count × share / 100), which fits in u32 since share ≤ 100.
        let mut counts = exact.map(|e| (e / 100) as u32);
        let assigned: u32 = counts.iter().sum();
        let mut by_remainder: Vec<usize> = (0..Kind::ALL.len()).collect();
        // Stable sort: equal remainders keep the order of `Kind::ALL`.
        by_remainder.sort_by_key(|&i| std::cmp::Reverse(exact[i] % 100));
        for &i in by_remainder.iter().take((count - assigned) as usize) {
            counts[i] += 1;
        }
        counts
    }

    /// The behaviour of each of `count` bots, by bot index: [`Mix::counts`] of each, in an order
    /// shuffled by `seed` (the same seed gives the same assignment).
    pub fn assign(&self, count: u32, seed: u64) -> Vec<Kind> {
        let counts = self.counts(count);
        let mut kinds: Vec<Kind> =
            Kind::ALL.iter().zip(counts).flat_map(|(&k, n)| std::iter::repeat_n(k, n as usize)).collect();
        // Fisher–Yates with the run's own generator (not `SliceRandom`, whose algorithm may
        // change between rand versions and so change what a seed means).
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ ASSIGN_STREAM);
        for i in (1..kinds.len()).rev() {
            let j = rng.random_range(0..=i);
            kinds.swap(i, j);
        }
        kinds
    }
}

impl fmt::Display for Mix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> =
            Kind::ALL.iter().filter(|k| self.share(**k) > 0).map(|k| format!("{k}={}", self.share(*k))).collect();
        f.write_str(&parts.join(","))
    }
}

fn known_names() -> String {
    Kind::ALL.map(Kind::name).join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_and_partial_mixes_parse() {
        let mix = Mix::parse("wander=60,fight=30,chat=5,idle=5").unwrap();
        assert_eq!(mix, Mix { wander: 60, fight: 30, chat: 5, idle: 5 });
        assert_eq!(mix.to_string(), "wander=60,fight=30,chat=5,idle=5");
        // Any order, spaces tolerated, missing behaviours are 0 %.
        assert_eq!(Mix::parse(" idle = 50 , fight=50").unwrap(), Mix { wander: 0, fight: 50, chat: 0, idle: 50 });
        assert_eq!(Mix::parse("wander=100").unwrap(), Mix::default());
        assert_eq!(Mix::parse("chat=100,idle=0").unwrap().to_string(), "chat=100");
    }

    #[test]
    fn bad_mixes_are_refused_with_the_reason() {
        let err = |text: &str| Mix::parse(text).expect_err(text);
        assert!(err("wander=60,dance=40").contains("unknown behaviour \"dance\""));
        assert!(err("wander=60,dance=40").contains("wander, fight, chat, idle"), "lists the known names");
        assert!(err("wander=60,fight=30").contains("add up to 90"));
        assert!(err("wander=60,fight=50").contains("add up to 110"));
        assert!(err("wander=50,wander=50").contains("twice"));
        assert!(err("wander").contains("NAME=PERCENT"));
        assert!(err("").contains("NAME=PERCENT"));
        for bad in ["wander=-10,fight=110", "wander=50.5,fight=49.5", "wander=x", "wander=101"] {
            assert!(err(bad).contains("whole percentage"), "{bad}: {}", err(bad));
        }
    }

    #[test]
    fn counts_follow_the_shares_and_add_up() {
        let mix = Mix::parse("wander=50,fight=25,chat=15,idle=10").unwrap();
        assert_eq!(mix.counts(20), [10, 5, 3, 2]);
        assert_eq!(mix.counts(100), [50, 25, 15, 10]);
        assert_eq!(mix.counts(1), [1, 0, 0, 0]);
        let thirds = Mix::parse("wander=34,fight=33,chat=33").unwrap();
        assert_eq!(thirds.counts(3), [1, 1, 1, 0]);
        assert_eq!(thirds.counts(10), [4, 3, 3, 0]);
        for count in 1..=500 {
            for mix in [mix, thirds, Mix::parse("fight=1,idle=99").unwrap(), Mix::default()] {
                let counts = mix.counts(count);
                assert_eq!(counts.iter().sum::<u32>(), count, "{mix} × {count}");
                for (k, n) in Kind::ALL.iter().zip(counts) {
                    // Each count is within one bot of its exact share, and 0 % means none.
                    let exact = f64::from(count) * f64::from(mix.share(*k)) / 100.0;
                    assert!((f64::from(n) - exact).abs() < 1.0, "{mix} × {count}: {k} {n} vs {exact}");
                    assert!(mix.share(*k) > 0 || n == 0);
                }
            }
        }
    }

    #[test]
    fn assignment_is_seeded_and_respects_the_counts() {
        let mix = Mix::parse("wander=60,fight=30,chat=5,idle=5").unwrap();
        let a = mix.assign(200, 42);
        assert_eq!(a, mix.assign(200, 42), "same seed, same assignment");
        assert_ne!(a, mix.assign(200, 43), "another seed shuffles differently");
        for (kind, want) in Kind::ALL.iter().zip([120, 60, 10, 10]) {
            assert_eq!(a.iter().filter(|k| *k == kind).count(), want, "{kind}");
        }
        // Shuffled, not in blocks: the first 100 bots hold a fair share of the fighters, so a
        // ramp-up or the round-robin over rooms does not put all of one kind together.
        let fighters_first_half = a[..100].iter().filter(|k| **k == Kind::Fight).count();
        assert!((15..=45).contains(&fighters_first_half), "{fighters_first_half}");
        assert_eq!(Mix::default().assign(5, 1), vec![Kind::Wander; 5]);
    }
}
