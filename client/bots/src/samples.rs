//! Timing samples of all bots (snapshot gaps, input latency, ping round trips, input send lag)
//! in shared HdrHistograms. Each bot batches its samples and merges them under one short lock,
//! which keeps a bot's share to a few hundred bytes instead of a histogram of its own (tens of
//! KiB at three significant digits, more than its socket), and lets the progress line read the
//! latency of the last moments live.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use hdrhistogram::Histogram;

/// Largest value a histogram holds, in µs; longer samples are clamped to it (a minute without
/// a snapshot is a dead connection, whatever its exact length).
const MAX_SAMPLE_US: u64 = 60_000_000;
/// Significant digits kept: 0.1 % resolution, so 33.3 ms reads as 33.3 ms.
const SIGNIFICANT_DIGITS: u8 = 3;
/// Samples a bot buffers before merging: at 30 snapshots a second, a merge every second or two.
/// Bots also merge with each batch of snapshots they add to the live counters (every half
/// second), which keeps the `--stats` lines' latencies in step with their snapshots.
const BATCH_LEN: usize = 128;

/// Timing histograms, in µs.
#[derive(Debug, Clone)]
pub struct Histograms {
    /// Time between consecutive snapshots of one bot.
    pub gap_us: Histogram<u64>,
    /// From the time an input was due (one per server tick, as the client core paces them) to
    /// the first snapshot acknowledging it.
    pub latency_us: Histogram<u64>,
    /// Ping round trips.
    pub rtt_us: Histogram<u64>,
    /// How long after its slot an input actually went out: the bot process's own delay.
    pub send_lag_us: Histogram<u64>,
}

impl Histograms {
    /// Empty histograms.
    pub fn new() -> Self {
        Self { gap_us: histogram(), latency_us: histogram(), rtt_us: histogram(), send_lag_us: histogram() }
    }
}

impl Default for Histograms {
    fn default() -> Self {
        Self::new()
    }
}

/// An empty histogram with the bots' bounds and precision.
pub fn histogram() -> Histogram<u64> {
    // Cannot fail: the bounds and digits are constants within hdrhistogram's limits
    // (1 ≤ low, high ≥ 2·low, digits ≤ 5), and every test creates one.
    Histogram::new_with_bounds(1, MAX_SAMPLE_US, SIGNIFICANT_DIGITS).expect("constant histogram bounds are valid")
}

/// What the lock guards: the run's totals and the latencies merged since the progress line
/// last took them.
#[derive(Debug, Default)]
struct Inner {
    totals: Histograms,
    recent_latency_us: Option<Histogram<u64>>,
}

/// Histograms shared by all bots of a run.
#[derive(Debug, Default)]
pub struct Shared(Mutex<Inner>);

impl Shared {
    /// A copy of the totals so far.
    pub fn snapshot(&self) -> Histograms {
        self.lock().totals.clone()
    }

    /// The latencies merged since the last call (empty at first), for a live view.
    pub fn take_recent_latency(&self) -> Histogram<u64> {
        self.lock().recent_latency_us.take().unwrap_or_else(histogram)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Recording cannot leave the histograms half-updated, so a panic elsewhere while the
        // lock was held does not make them unusable.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One bot's not-yet-merged samples, in µs. Merged when a batch fills and when dropped.
#[derive(Debug)]
pub struct Samples {
    shared: Arc<Shared>,
    gap_us: Vec<u64>,
    latency_us: Vec<u64>,
    rtt_us: Vec<u64>,
    send_lag_us: Vec<u64>,
}

impl Samples {
    /// A buffer that merges into `shared`.
    pub fn new(shared: Arc<Shared>) -> Self {
        Self { shared, gap_us: Vec::new(), latency_us: Vec::new(), rtt_us: Vec::new(), send_lag_us: Vec::new() }
    }

    /// Records a snapshot gap.
    pub fn gap_ms(&mut self, ms: f64) {
        push(&mut self.gap_us, ms);
        self.flush_if_full();
    }

    /// Records an input → acknowledgement latency.
    pub fn latency_ms(&mut self, ms: f64) {
        push(&mut self.latency_us, ms);
        self.flush_if_full();
    }

    /// Records a ping round trip.
    pub fn rtt_ms(&mut self, ms: f64) {
        push(&mut self.rtt_us, ms);
        self.flush_if_full();
    }

    /// Records how late an input went out after its slot.
    pub fn send_lag_ms(&mut self, ms: f64) {
        push(&mut self.send_lag_us, ms);
        self.flush_if_full();
    }

    fn flush_if_full(&mut self) {
        if self.gap_us.len() + self.latency_us.len() + self.rtt_us.len() + self.send_lag_us.len() >= BATCH_LEN {
            self.flush();
        }
    }

    /// Merges the buffered samples into the shared histograms.
    pub fn flush(&mut self) {
        if self.gap_us.is_empty() && self.latency_us.is_empty() && self.rtt_us.is_empty() && self.send_lag_us.is_empty()
        {
            return;
        }
        let mut guard = self.shared.lock();
        let inner = &mut *guard;
        let recent = inner.recent_latency_us.get_or_insert_with(histogram);
        for &v in &self.latency_us {
            recent.saturating_record(v);
        }
        let h = &mut inner.totals;
        for (buffer, hist) in [
            (&mut self.gap_us, &mut h.gap_us),
            (&mut self.latency_us, &mut h.latency_us),
            (&mut self.rtt_us, &mut h.rtt_us),
            (&mut self.send_lag_us, &mut h.send_lag_us),
        ] {
            for v in buffer.drain(..) {
                hist.saturating_record(v);
            }
        }
    }
}

impl Drop for Samples {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Milliseconds to whole µs, clamped into the histogram's range (negative or NaN gives 0).
fn push(buffer: &mut Vec<u64>, ms: f64) {
    let us = (ms * 1000.0).round();
    let us = if us.is_nan() || us < 0.0 { 0 } else { (us as u64).min(MAX_SAMPLE_US) };
    buffer.push(us);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_reach_the_shared_histograms_when_flushed_or_dropped() {
        let shared = Arc::new(Shared::default());
        let mut a = Samples::new(shared.clone());
        let mut b = Samples::new(shared.clone());
        a.gap_ms(33.3);
        a.latency_ms(20.0);
        b.gap_ms(40.0);
        b.rtt_ms(1.5);
        b.send_lag_ms(0.5);
        assert_eq!(shared.snapshot().gap_us.len(), 0, "buffered until a flush");
        a.flush();
        assert_eq!(shared.snapshot().gap_us.len(), 1);
        drop(b);
        let h = shared.snapshot();
        assert_eq!((h.gap_us.len(), h.latency_us.len(), h.rtt_us.len(), h.send_lag_us.len()), (2, 1, 1, 1));
        assert!(h.gap_us.equivalent(h.gap_us.max(), 40_000));
        assert!(h.gap_us.equivalent(h.gap_us.min(), 33_300));
    }

    #[test]
    fn a_full_batch_merges_by_itself() {
        let shared = Arc::new(Shared::default());
        let mut s = Samples::new(shared.clone());
        for i in 0..BATCH_LEN {
            s.latency_ms(i as f64);
        }
        assert_eq!(shared.snapshot().latency_us.len(), BATCH_LEN as u64);
        s.rtt_ms(1.0);
        drop(s);
        assert_eq!(shared.snapshot().rtt_us.len(), 1);
    }

    #[test]
    fn recent_latency_is_what_arrived_since_the_last_take() {
        let shared = Arc::new(Shared::default());
        assert!(shared.take_recent_latency().is_empty());
        let mut s = Samples::new(shared.clone());
        s.latency_ms(10.0);
        s.latency_ms(30.0);
        s.flush();
        let recent = shared.take_recent_latency();
        assert_eq!(recent.len(), 2);
        assert!(shared.take_recent_latency().is_empty(), "taken");
        s.latency_ms(50.0);
        s.flush();
        assert_eq!(shared.take_recent_latency().len(), 1);
        assert_eq!(shared.snapshot().latency_us.len(), 3, "the totals keep everything");
    }

    #[test]
    fn odd_values_are_clamped() {
        let mut buffer = Vec::new();
        for ms in [-1.0, f64::NAN, f64::INFINITY, 1e12, 0.0004, 0.0006] {
            push(&mut buffer, ms);
        }
        assert_eq!(buffer, [0, 0, MAX_SAMPLE_US, MAX_SAMPLE_US, 0, 1]);
    }
}
