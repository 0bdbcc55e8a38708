//! The network overlay (F3): what the connection is doing, for a player wondering why the game
//! feels off and for whoever tunes the netcode. Plain Rust, tested natively; `app` feeds it
//! and `ui` shows its text in `#netstats`.
//!
//! Jitter is the variation of snapshot arrival times, smoothed as RTP's interarrival jitter
//! (RFC 3550, 6.4.1): each gap between two snapshots is compared with the ticks between them, and
//! the absolute difference moves the estimate by 1/16. Rates count over windows of at least a
//! second, so the figures hold still long enough to read.

/// How long a rate window lasts at least, in ms.
const RATE_WINDOW_MS: f64 = 1000.0;
/// RFC 3550's smoothing: each new difference moves the jitter estimate by 1/16 of the way.
const JITTER_GAIN: f64 = 1.0 / 16.0;

/// The client core's running totals, read when the overlay samples.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Totals {
    /// When they were read, in ms.
    pub at_ms: f64,
    /// Snapshots received.
    pub snapshots: u64,
    /// Bytes received (server messages).
    pub down: u64,
    /// Bytes sent (client messages).
    pub up: u64,
    /// Prediction corrections so far, and their total length in world units.
    pub corrections: u64,
    pub correction_units: f64,
}

/// Per-second rates over the last complete window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rates {
    /// Snapshots per second.
    pub snapshots: f64,
    /// Bytes per second received.
    pub down: f64,
    /// Bytes per second sent.
    pub up: f64,
    /// Prediction corrections per second, and their mean length in world units.
    pub corrections: f64,
    pub correction_size: f64,
}

/// See the module docs.
#[derive(Debug, Clone)]
pub struct NetMeter {
    tick_ms: f64,
    last_arrival_ms: Option<f64>,
    jitter_ms: f64,
    /// The totals at the start of the current window.
    mark: Option<Totals>,
    rates: Option<Rates>,
}

/// What the overlay shows besides the meter's own figures.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Extra {
    /// The last measured round trip, if any.
    pub ping_ms: Option<f64>,
    /// How far behind the newest snapshot other ships are drawn, in ms.
    pub interp_delay_ms: f64,
    /// Whether our own ship is being predicted (not while dead, frozen or spectating).
    pub predicting: bool,
}

impl NetMeter {
    /// A meter for a server ticking every `tick_ms`.
    pub fn new(tick_ms: f64) -> Self {
        Self { tick_ms, last_arrival_ms: None, jitter_ms: 0.0, mark: None, rates: None }
    }

    /// A snapshot arrived at `now_ms`, `tick_gap` ticks after the previous one.
    pub fn on_snapshot(&mut self, now_ms: f64, tick_gap: u64) {
        if let Some(last) = self.last_arrival_ms.replace(now_ms) {
            let expected = self.tick_ms * tick_gap.max(1) as f64;
            let deviation = ((now_ms - last) - expected).abs();
            self.jitter_ms += (deviation - self.jitter_ms) * JITTER_GAIN;
        }
    }

    /// Reads the core's totals: closes the rate window once it is a second long.
    pub fn sample(&mut self, now: Totals) {
        let Some(mark) = self.mark else {
            self.mark = Some(now);
            return;
        };
        let span_ms = now.at_ms - mark.at_ms;
        if span_ms < RATE_WINDOW_MS {
            return;
        }
        let per_s = |a: u64, b: u64| a.saturating_sub(b) as f64 * 1000.0 / span_ms;
        self.rates = Some(Rates {
            snapshots: per_s(now.snapshots, mark.snapshots),
            down: per_s(now.down, mark.down),
            up: per_s(now.up, mark.up),
            corrections: per_s(now.corrections, mark.corrections),
            correction_size: (now.correction_units - mark.correction_units)
                / now.corrections.saturating_sub(mark.corrections).max(1) as f64,
        });
        self.mark = Some(now);
    }

    /// Starts the rates afresh (the overlay was hidden: a window spanning that time would show
    /// an average of minutes).
    pub fn restart_rates(&mut self) {
        (self.mark, self.rates) = (None, None);
    }

    /// The smoothed snapshot arrival jitter, in ms.
    pub fn jitter_ms(&self) -> f64 {
        self.jitter_ms
    }

    /// The rates of the last complete window (none before the first second).
    pub fn rates(&self) -> Option<Rates> {
        self.rates
    }

    /// The overlay's text, one figure per line.
    pub fn text(&self, extra: Extra) -> String {
        let ms = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |v| format!("{} ms", whole(v)));
        let rate = |f: fn(&Rates) -> f64, unit: &str, scale: f64| {
            self.rates.map_or_else(|| "–".to_owned(), |r| format!("{} {unit}", tenths(f(&r) / scale)))
        };
        format!(
            "ping        {}\njitter      {} ms\nsnapshots   {}\ndown        {}\nup          {}\ninterp      {} ms\n\
             corrections {}",
            ms(extra.ping_ms),
            tenths(self.jitter_ms),
            rate(|r| r.snapshots, "/s", 1.0),
            rate(|r| r.down, "KB/s", 1000.0),
            rate(|r| r.up, "KB/s", 1000.0),
            whole(extra.interp_delay_ms),
            match self.rates {
                Some(r) if extra.predicting => format!("{} /s, {} u", tenths(r.corrections), tenths(r.correction_size)),
                _ if extra.predicting => "–".to_owned(),
                _ => "off".to_owned(),
            },
        )
    }
}

// Numbers are written through integers: Rust's float formatting would add about 10 KB to the
// gzipped page, which has a 100 KB budget.

/// `v` rounded to a whole number (negative reads as 0).
fn whole(v: f64) -> u64 {
    v.max(0.0).round() as u64
}

/// `v` with one decimal (negative reads as 0).
fn tenths(v: f64) -> String {
    let t = whole(v * 10.0);
    format!("{}.{}", t / 10, t % 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TICK: f64 = 1000.0 / 30.0;

    #[test]
    fn steady_arrivals_have_no_jitter_and_late_ones_raise_it() {
        let mut m = NetMeter::new(TICK);
        for i in 0..100 {
            m.on_snapshot(f64::from(i) * TICK, 1);
        }
        assert!(m.jitter_ms() < 1e-9, "{}", m.jitter_ms());
        // Alternately 10 ms late and on time: every gap is 10 ms off.
        for i in 100..400 {
            let late = if i % 2 == 0 { 10.0 } else { 0.0 };
            m.on_snapshot(f64::from(i) * TICK + late, 1);
        }
        assert!((m.jitter_ms() - 10.0).abs() < 0.5, "{}", m.jitter_ms());
    }

    #[test]
    fn a_skipped_tick_is_not_jitter() {
        let mut m = NetMeter::new(TICK);
        m.on_snapshot(0.0, 1);
        m.on_snapshot(2.0 * TICK, 2);
        assert!(m.jitter_ms() < 1e-9);
    }

    #[test]
    fn rates_count_over_a_second_or_more() {
        let mut m = NetMeter::new(TICK);
        let totals = |at_ms, snapshots, down, up, corrections, correction_units| Totals {
            at_ms,
            snapshots,
            down,
            up,
            corrections,
            correction_units,
        };
        m.sample(totals(0.0, 0, 0, 0, 0, 0.0));
        m.sample(totals(500.0, 15, 1500, 600, 1, 4.0));
        assert_eq!(m.rates(), None, "half a second is not a window yet");
        m.sample(totals(2000.0, 60, 6000, 2400, 3, 10.0));
        assert_eq!(
            m.rates(),
            Some(Rates { snapshots: 30.0, down: 3000.0, up: 1200.0, corrections: 1.5, correction_size: 10.0 / 3.0 })
        );
        let text = m.text(Extra { ping_ms: Some(41.6), interp_delay_ms: 66.7, predicting: true });
        assert_eq!(
            text,
            "ping        42 ms\njitter      0.0 ms\nsnapshots   30.0 /s\ndown        3.0 KB/s\nup          1.2 KB/s\n\
             interp      67 ms\ncorrections 1.5 /s, 3.3 u"
        );
        assert!(m.text(Extra { predicting: false, ..Extra::default() }).ends_with("corrections off"));
        m.restart_rates();
        assert_eq!(m.rates(), None, "after a restart, no rate until a new window closes");
    }

    #[test]
    fn before_any_figure_the_overlay_says_so() {
        let text = NetMeter::new(TICK).text(Extra { ping_ms: None, interp_delay_ms: 66.7, predicting: true });
        assert!(text.starts_with("ping        –\n"), "{text}");
        assert!(text.contains("snapshots   –\n"), "{text}");
    }
}
