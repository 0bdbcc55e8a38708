//! `GET /metrics` in the Prometheus text format (0.0.4), rendered by an actix route on the game
//! port. Each server owns its registry, reading that server's [`Stats`] at scrape time, so
//! several servers in one process (tests) never mix their numbers.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use crate::admission::Refusal;
use crate::stats::{DisconnectReason, Stats};

/// The `Content-Type` of the Prometheus text format.
pub use prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// A registry over one server's counters.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
}

impl Metrics {
    /// Registers every series of `stats` under the `skirmish_` prefix.
    pub fn new(stats: Arc<Stats>) -> Self {
        let mut registry = Registry::with_prefix("skirmish");
        registry.register(
            "tick_duration_seconds",
            "Time one room spends per wake-up: simulate, build and hand out the snapshot",
            stats.tick_seconds.clone(),
        );
        registry.register(
            "tick_cpu_seconds",
            "CPU time of the room's thread per wake-up (the duration without waits for a core)",
            stats.tick_cpu_seconds.clone(),
        );
        registry.register(
            "ships_in_view",
            "Other ships in each snapshot's area of interest",
            stats.ships_in_view.clone(),
        );
        registry.register_collector(Box::new(StatsCollector { stats }));
        Self { registry }
    }

    /// The text exposition of every series.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry);
        out
    }
}

/// Reads the atomics at scrape time, so the 30 Hz path only ever does relaxed increments.
#[derive(Debug)]
struct StatsCollector {
    stats: Arc<Stats>,
}

impl StatsCollector {
    fn counter(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: &AtomicU64) -> std::fmt::Result {
        let metric = ConstCounter::new(Stats::get(value));
        metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
    }

    fn gauge(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: &AtomicU64) -> std::fmt::Result {
        let metric = ConstGauge::new(Stats::get(value) as i64);
        metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
    }
}

impl Collector for StatsCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let s = &self.stats;
        Self::gauge(&mut encoder, "connections", "Open WebSocket connections", &s.connections)?;
        Self::gauge(&mut encoder, "players", "Players and spectators in rooms", &s.players)?;
        Self::gauge(&mut encoder, "rooms", "Rooms alive", &s.rooms)?;
        Self::counter(&mut encoder, "ticks", "Simulation ticks run, all rooms", &s.ticks)?;
        Self::counter(
            &mut encoder,
            "ticks_skipped",
            "Ticks skipped after a stall beyond the catch-up cap",
            &s.ticks_skipped,
        )?;
        Self::counter(
            &mut encoder,
            "tick_overruns",
            "Room wake-ups that were late or took longer than a tick",
            &s.tick_overruns,
        )?;
        Self::counter(&mut encoder, "snapshots_sent", "Snapshot frames handed to sockets", &s.snapshots_sent)?;
        Self::counter(&mut encoder, "snapshot_bytes", "Bytes of snapshot frames handed to sockets", &s.snapshot_bytes)?;
        Self::counter(
            &mut encoder,
            "ship_records",
            "Ship records that entered or changed in snapshots (unchanged ships excluded)",
            &s.ship_records,
        )?;
        Self::counter(
            &mut encoder,
            "ship_record_bits",
            "Bits of the ships sections of snapshots, unchanged ships' bits included",
            &s.ship_record_bits,
        )?;
        Self::counter(
            &mut encoder,
            "full_snapshots",
            "Snapshots sent whole because the client had no usable baseline",
            &s.full_snapshots,
        )?;
        Self::counter(
            &mut encoder,
            "snapshots_dropped",
            "Snapshots replaced by a newer one before they could be sent (latest-wins)",
            &s.snapshots_dropped,
        )?;
        Self::counter(
            &mut encoder,
            "writes_held",
            "Times a session held its output back because the client's socket was backed up",
            &s.writes_held,
        )?;
        Self::counter(
            &mut encoder,
            "inputs_dropped",
            "Client messages dropped: over the rate limit, out of order or from spectators",
            &s.inputs_dropped,
        )?;
        Self::counter(
            &mut encoder,
            "inputs_repeated",
            "Player ticks with no buffered input, which repeated the input in force",
            &s.inputs_repeated,
        )?;
        Self::counter(
            &mut encoder,
            "inputs_overflowed",
            "Inputs dropped from a full input buffer (the oldest goes) before their tick",
            &s.inputs_overflowed,
        )?;
        Self::counter(
            &mut encoder,
            "inputs_waiting",
            "Player ticks that left an input waiting in the buffer, to be applied a tick late or more",
            &s.inputs_waiting,
        )?;
        let mut family =
            encoder.encode_descriptor("disconnects", "Connections ended, by reason", None, MetricType::Counter)?;
        for reason in DisconnectReason::ALL {
            let labels = [("reason", reason.label())];
            ConstCounter::new(s.disconnects_by(reason)).encode(family.encode_family(&labels)?)?;
        }
        let mut family = encoder.encode_descriptor(
            "connections_refused",
            "WebSocket upgrades refused before a socket existed, by reason",
            None,
            MetricType::Counter,
        )?;
        for why in Refusal::ALL {
            let labels = [("reason", why.label())];
            ConstCounter::new(s.refused_by(why)).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_series_with_current_values() {
        let stats = Arc::new(Stats::default());
        let metrics = Metrics::new(stats.clone());
        Stats::add(&stats.snapshots_sent, 7);
        Stats::inc(&stats.players);
        stats.tick_seconds.observe(0.0004);
        stats.tick_cpu_seconds.observe(0.003);
        stats.disconnected(DisconnectReason::Stalled);
        stats.refused(Refusal::PerIp);
        Stats::add(&stats.inputs_repeated, 3);
        Stats::inc(&stats.inputs_overflowed);
        let text = metrics.render();
        for line in [
            "skirmish_snapshots_sent_total 7",
            "skirmish_players 1",
            "skirmish_tick_duration_seconds_count 1",
            "skirmish_tick_duration_seconds_bucket{le=\"0.0005\"} 1",
            "skirmish_tick_cpu_seconds_bucket{le=\"0.002\"} 0",
            "skirmish_tick_cpu_seconds_bucket{le=\"0.003\"} 1",
            "skirmish_disconnects_total{reason=\"stalled\"} 1",
            "skirmish_connections_refused_total{reason=\"per_ip\"} 1",
            "skirmish_connections_refused_total{reason=\"global\"} 0",
            "skirmish_inputs_repeated_total 3",
            "skirmish_inputs_overflowed_total 1",
            "# TYPE skirmish_tick_duration_seconds histogram",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
        // A second scrape does not double-count.
        Stats::add(&stats.snapshots_sent, 1);
        let text = metrics.render();
        assert!(text.contains("skirmish_snapshots_sent_total 8"), "{text}");
        assert!(text.contains("skirmish_disconnects_total{reason=\"stalled\"} 1"), "{text}");
    }
}
