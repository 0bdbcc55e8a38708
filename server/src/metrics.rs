//! `GET /metrics` in the Prometheus text format (0.0.4), rendered by an actix route on the game
//! port. Each server owns its registry, reading that server's [`Stats`] at scrape time, so
//! several servers in one process (tests) never mix their numbers. On Linux the standard
//! `process_*` series (CPU, memory, the file limit, start time) come too, read from `/proc` at
//! scrape time as Prometheus's own clients do: they let a dashboard, or `scripts/capacity.py
//! --server` running the bots on another machine, see what the server costs without a shell on
//! its host.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

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
    /// Registers every series of `stats` under the `skirmish_` prefix, and the process's own.
    pub fn new(stats: Arc<Stats>) -> Self {
        let mut root = Registry::default();
        root.register_collector(Box::new(ProcessCollector));
        let registry = root.sub_registry_with_prefix("skirmish");
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
        Self { registry: root }
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
        Self::gauge(
            &mut encoder,
            "http_connections",
            "Open TCP connections still plain HTTP: page loads, API calls, upgrades under way",
            &s.http_connections,
        )?;
        Self::gauge(&mut encoder, "players", "Players and spectators in rooms", &s.players)?;
        Self::gauge(
            &mut encoder,
            "spectators",
            "Spectators in rooms (counted in skirmish_players too)",
            &s.spectators,
        )?;
        Self::gauge(&mut encoder, "rooms", "Rooms alive", &s.rooms)?;
        Self::counter(
            &mut encoder,
            "rooms_failed",
            "Rooms ended by a panic in their own code (a bug, logged): their players closed with 1011",
            &s.rooms_failed,
        )?;
        Self::gauge(
            &mut encoder,
            "kept_seats",
            "Seats kept for lost players, waiting for a rejoin (ships away, not in skirmish_players)",
            &s.kept_seats,
        )?;
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
            "snapshots_thinned",
            "Snapshots not built for a client whose acknowledgements trail the room (sent fewer until it catches up)",
            &s.snapshots_thinned,
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
        Self::counter(
            &mut encoder,
            "http_connections_refused",
            "TCP connections closed unanswered at accept: their address had all its HTTP connections open",
            &s.http_refused,
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

/// The process's own figures under Prometheus's standard names (what its Go and Python clients
/// export), plus `skirmish_process_cpu_system_seconds_total`: the kernel's part of the CPU time,
/// which for this server is mostly its sockets, and the heap's two gauges ([`report_heap`]).
/// Nothing is written where `/proc` is missing.
#[derive(Debug)]
struct ProcessCollector;

/// Set once jemalloc is known to be the process's allocator ([`report_heap`]).
static HEAP_IS_JEMALLOC: AtomicBool = AtomicBool::new(false);

/// Adds `skirmish_heap_allocated_bytes` and `skirmish_heap_resident_bytes` to every scrape. The
/// binary calls it when jemalloc is its global allocator (`src/main.rs`): only then do jemalloc's
/// statistics describe the server's heap. A process that embeds the server on another allocator
/// would read jemalloc's own, near-empty figures, so the library does not assume it.
///
/// RSS alone cannot tell a leak from memory the allocator keeps: a soak's RSS that creeps while
/// `allocated` stays level is jemalloc's caches and fragmentation, not the program holding more.
pub fn report_heap() {
    HEAP_IS_JEMALLOC.store(true, Ordering::Relaxed);
}

/// Counts the log lines the binary lost ([`report_lost_log_lines`]).
type LostLogLines = Box<dyn Fn() -> u64 + Send + Sync>;

/// Set once by the binary ([`report_lost_log_lines`]).
static LOST_LOG_LINES: OnceLock<LostLogLines> = OnceLock::new();

/// Adds `skirmish_log_lines_lost_total` to every scrape, from `count`: the binary's log lines
/// lost because stderr did not take them (`src/main.rs` writes them from a bounded queue, so
/// that a stalled or failing stderr cannot stop the rooms). A dashboard sees the log has gaps;
/// the log itself says so only once stderr takes lines again.
pub fn report_lost_log_lines(count: impl Fn() -> u64 + Send + Sync + 'static) {
    let _ = LOST_LOG_LINES.set(Box::new(count));
}

/// jemalloc's figures, in bytes: (live allocations, physical pages it holds for them, its caches
/// and its metadata). Read after advancing its epoch, since it caches them until then.
#[cfg(jemalloc)]
fn heap_figures() -> Option<(u64, u64)> {
    if !HEAP_IS_JEMALLOC.load(Ordering::Relaxed) {
        return None;
    }
    tikv_jemalloc_ctl::epoch::advance().ok()?;
    let allocated = tikv_jemalloc_ctl::stats::allocated::read().ok()?;
    let resident = tikv_jemalloc_ctl::stats::resident::read().ok()?;
    Some((allocated as u64, resident as u64))
}

#[cfg(not(jemalloc))]
fn heap_figures() -> Option<(u64, u64)> {
    None
}

/// What `/proc/self/stat` and its neighbours say about the process at one moment.
#[derive(Debug, PartialEq)]
struct ProcessFigures {
    user_seconds: f64,
    system_seconds: f64,
    resident_bytes: u64,
    virtual_bytes: u64,
    /// Seconds after the boot that the process started.
    start_after_boot_seconds: f64,
}

impl ProcessFigures {
    /// Parses a `/proc/<pid>/stat` line (proc(5)), times in `ticks_per_second`, the resident set in
    /// pages of `page_size` bytes; `None` if it is not one.
    fn parse(stat: &str, ticks_per_second: u64, page_size: u64) -> Option<Self> {
        // The command name (field 2) may hold spaces and parentheses: the fields after it start
        // after its last `)`, with field 3 (the state) first.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
        let ticks = ticks_per_second.max(1) as f64;
        Some(Self {
            user_seconds: field(14)? as f64 / ticks,
            system_seconds: field(15)? as f64 / ticks,
            start_after_boot_seconds: field(22)? as f64 / ticks,
            virtual_bytes: field(23)?,
            resident_bytes: field(24)? * page_size,
        })
    }

    fn read() -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        Self::parse(&stat, rustix::param::clock_ticks_per_second(), rustix::param::page_size() as u64)
    }
}

/// The boot time, in seconds since the Unix epoch (`btime` in `/proc/stat`).
fn boot_time() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    stat.lines().find_map(|line| line.strip_prefix("btime ")?.trim().parse().ok())
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        if let Some(lost) = LOST_LOG_LINES.get() {
            let metric = ConstCounter::new(lost());
            metric.encode(encoder.encode_descriptor(
                "skirmish_log_lines_lost",
                "Log lines lost because stderr did not take them: dropped from a full queue (a paused terminal, \
                 a stalled pipe) or failed to write (a full disk, a reader gone)",
                None,
                metric.metric_type(),
            )?)?;
        }
        let Some(p) = ProcessFigures::read() else { return Ok(()) };
        let counter = |encoder: &mut DescriptorEncoder, name: &str, help: &str, value: f64| {
            let metric = ConstCounter::new(value);
            metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
        };
        let gauge = |encoder: &mut DescriptorEncoder, name: &str, help: &str, value: f64| {
            let metric = ConstGauge::new(value);
            metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
        };
        counter(
            &mut encoder,
            "process_cpu_seconds",
            "Total user and system CPU time spent in seconds",
            p.user_seconds + p.system_seconds,
        )?;
        counter(
            &mut encoder,
            "skirmish_process_cpu_system_seconds",
            "The kernel's part of process_cpu_seconds_total (mostly the sockets')",
            p.system_seconds,
        )?;
        gauge(&mut encoder, "process_resident_memory_bytes", "Resident memory size in bytes", p.resident_bytes as f64)?;
        gauge(&mut encoder, "process_virtual_memory_bytes", "Virtual memory size in bytes", p.virtual_bytes as f64)?;
        // No `process_open_fds`: counting `/proc/self/fd` takes milliseconds with ten thousand
        // connections, on a worker thread that also serves players, for anyone who asks for
        // /metrics; `skirmish_connections` counts the sockets.
        let max_fds = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
        if let Some(max) = max_fds {
            gauge(&mut encoder, "process_max_fds", "Maximum number of open file descriptors", max as f64)?;
        }
        if let Some((allocated, resident)) = heap_figures() {
            gauge(
                &mut encoder,
                "skirmish_heap_allocated_bytes",
                "Bytes in the server's live heap allocations (jemalloc's stats.allocated)",
                allocated as f64,
            )?;
            gauge(
                &mut encoder,
                "skirmish_heap_resident_bytes",
                "Bytes of memory the allocator holds: live allocations, its caches and its metadata (jemalloc's stats.resident)",
                resident as f64,
            )?;
        }
        if let Some(boot) = boot_time() {
            gauge(
                &mut encoder,
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds",
                boot as f64 + p.start_after_boot_seconds,
            )?;
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
        Stats::inc(&stats.spectators);
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
            "skirmish_spectators 1",
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

    #[test]
    fn parses_a_proc_stat_line_whose_name_holds_parentheses_and_spaces() {
        // A real line of `cat /proc/self/stat`, its name changed to one that would misplace every
        // field if split on the first `)`.
        let stat = "2418 (a) b (c)) S 2388 2418 2388 34816 2418 4194304 101 0 0 0 250 75 0 0 20 0 3 0 \
                    12345 9445376 1968 18446744073709551615 1 1 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
        let p = ProcessFigures::parse(stat, 100, 4096).expect("a stat line");
        assert_eq!(
            p,
            ProcessFigures {
                user_seconds: 2.5,
                system_seconds: 0.75,
                resident_bytes: 1968 * 4096,
                virtual_bytes: 9_445_376,
                start_after_boot_seconds: 123.45,
            }
        );
        assert_eq!(ProcessFigures::parse("2418 (cut short) S 1 2", 100, 4096), None);
        assert_eq!(ProcessFigures::parse("", 100, 4096), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn exports_the_process_series_under_their_standard_names() {
        let text = Metrics::new(Arc::new(Stats::default())).render();
        let value = |name: &str| -> f64 {
            let line = text
                .lines()
                .find(|l| l.starts_with(&format!("{name} ")))
                .unwrap_or_else(|| panic!("no {name} in\n{text}"));
            line.rsplit_once(' ').and_then(|(_, v)| v.parse().ok()).expect("a number")
        };
        assert!(value("process_resident_memory_bytes") > 0.0);
        assert!(value("process_cpu_seconds_total") >= value("skirmish_process_cpu_system_seconds_total"));
        assert!(value("process_max_fds") >= 3.0, "stdin, stdout and stderr at least");
        let started = value("process_start_time_seconds");
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_secs_f64();
        assert!(started <= now + 1.0 && started > now - 86_400.0 * 365.0, "started at {started}, now {now}");
        assert!(text.contains("# TYPE process_cpu_seconds_total counter"), "{text}");
    }
}
