//! `skirmish`: the game server binary. Thin: parse the config, set up logging, bind, print where
//! to connect, and run until Ctrl-C, SIGTERM or SIGHUP (a second Ctrl-C skips the drain).

use std::io::IsTerminal as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::Context as _;
use skirmish_server::maps::MapList;
use skirmish_server::{Config, Stats, run};
use tracing_appender::non_blocking::{ErrorCounter, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

/// jemalloc, not the system's malloc: with glibc's malloc a tick at 1000 bots cost 11 % more of
/// the room thread's CPU (2.29–2.33 ms against 1.97–2.07, alternating runs of
/// `scripts/capacity.py --steps 1000`). The tick bench, which frees everything on the thread
/// that allocated it, does not move; in the server the connection threads free what the room's
/// thread allocated (each tick's snapshot buffer), probably where jemalloc gains (not
/// measured directly).
/// `--no-default-features` leaves it out (`scripts/heap_profile.sh`: heaptrack sees only malloc).
#[cfg(jemalloc)]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Lets jemalloc return freed pages to the system on a thread of its own. Without it, pages
/// are returned only as a side effect of later allocations, and an idle server allocates almost
/// nothing: once a big match's players had all left, it kept what they had used
/// (`bash scripts/idle_rss.sh 1000`: anonymous memory 2.1 MiB fresh, 13.9 with 1000 players,
/// still 13.7 a minute after they left and the room was gone, while heaptrack saw the heap back
/// at 0.5 MB). With it, 7.9 MiB a minute after; most of the rest is the idle worker threads'
/// caches (4 MiB less with `_RJEM_MALLOC_CONF=tcache:false`). A host that runs one big match on a
/// machine it also uses gets its memory back. One thread is enough (jemalloc would start one
/// per arena, four here): it sleeps until there is something to return, so an idle server wakes
/// no more often than without it. The server's CPU under load did not move (three alternating
/// pairs of `scripts/capacity.py --steps 1000`).
#[cfg(jemalloc)]
fn give_back_idle_memory() {
    let started = tikv_jemalloc_ctl::max_background_threads::write(1)
        .and_then(|()| tikv_jemalloc_ctl::background_thread::write(true));
    if let Err(e) = started {
        tracing::warn!(error = %e, "cannot start jemalloc's background thread: freed memory is returned more slowly");
    }
}

#[cfg(not(jemalloc))]
fn give_back_idle_memory() {}

/// Log lines held for stderr while it does not take them (about 3 MB of typical lines): several
/// seconds of a big room's joins. Past it lines are dropped and counted, never waited for.
const LOG_LINES_BUFFERED: usize = 16_384;

/// The log writer's thread, held so that the lines still queued are written before the process
/// ends: dropped at the end of `main` (whatever it returns) and before a second Ctrl-C's exit.
static LOG_WRITER: Mutex<Option<WorkerGuard>> = Mutex::new(None);

/// Writes out the log lines still queued, waiting at most about a second for a stderr that takes
/// nothing; later lines are dropped.
fn flush_logs() {
    let guard = LOG_WRITER.lock().map(|mut held| held.take()).unwrap_or_else(|poisoned| poisoned.into_inner().take());
    drop(guard);
}

/// The panic hook: an ERROR line with the thread and, when `RUST_BACKTRACE` asks, the
/// backtrace. The main thread's panic ends the process, so the queued lines are written first.
fn log_panic(info: &std::panic::PanicHookInfo<'_>) {
    let current = std::thread::current();
    let thread = current.name().unwrap_or("unnamed");
    let payload = info.payload();
    let text = payload.downcast_ref::<&str>().copied().or_else(|| payload.downcast_ref::<String>().map(String::as_str));
    let message = text.unwrap_or("(a value that is not text)");
    let location = info.location().map(tracing::field::display);
    let backtrace = std::backtrace::Backtrace::capture();
    if backtrace.status() == std::backtrace::BacktraceStatus::Captured {
        tracing::error!(thread, location, %backtrace, "panic: {message}");
    } else {
        tracing::error!(thread, location, "panic: {message} (RUST_BACKTRACE=1 logs its backtrace)");
    }
    if thread == "main" {
        flush_logs();
    }
}

fn main() -> anyhow::Result<()> {
    let result = serve();
    flush_logs();
    result
}

fn serve() -> anyhow::Result<()> {
    let mut config = match skirmish_server::config_file::load(std::env::args_os()) {
        Ok(config) => config,
        Err(skirmish_server::config_file::LoadError::Args(e)) => e.exit(),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    if config.print_config {
        match skirmish_server::config_file::to_toml(std::env::args_os()) {
            Ok(text) => print!("{text}"),
            Err(e) => anyhow::bail!("{e}"),
        }
        return Ok(());
    }
    // Logs to stderr, so stdout holds only the banner (the URLs to share); colours only on a
    // terminal, so a log file or journal gets plain text. From a thread of their own, through a
    // bounded queue that drops what does not fit: written by each thread itself, a stderr that
    // took nothing (a terminal paused with Ctrl-S, `| less` left open, a stalled log shipper)
    // stopped the first room thread that logged a join, and then every connection and the
    // whole server, once the pipe's 64 KiB were full; and a write that failed (a full disk, a
    // reader gone) panicked the thread that logged, a room or the lobby, leaving it dead (from
    // chaos tests of a host). Lines lost either way are counted in `/metrics` and said in the
    // log once stderr takes lines again. actix-http logs some client errors at ERROR, which
    // any client could then write at will: its WebSocket codec (a control frame inside a
    // fragmented message) and its HTTP/1 dispatcher (a request that does not parse, answered
    // 400). Off by default; the session logs every close with its reason.
    // A `RUST_LOG` that does not parse is said so, not silently replaced by the default (from
    // an outside test of a deployment).
    let default_filter = || EnvFilter::new("info,actix_http::ws::codec=off,actix_http::h1::dispatcher=off");
    let (filter, not_understood) = match std::env::var("RUST_LOG") {
        Ok(asked) if !asked.trim().is_empty() => match EnvFilter::try_new(&asked) {
            Ok(filter) => (filter, None),
            Err(e) => (default_filter(), Some((asked, e))),
        },
        _ => (default_filter(), None),
    };
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(LOG_LINES_BUFFERED)
        .thread_name("skirmish-log")
        .finish(Stderr { told: 0 });
    if let Ok(mut held) = LOG_WRITER.lock() {
        *held = Some(guard);
    }
    let _ = DROPPED_LOG_LINES.set(writer.error_counter());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    skirmish_server::metrics::report_lost_log_lines(lost_log_lines);
    // A panic (a bug) is logged like any line, naming its thread: the default hook writes to
    // stderr itself, past the log's queue, and a stderr that takes nothing would stop the thread
    // that panicked there for good (a room's: every room on that thread), before the room could
    // be closed and opened afresh (`skirmish_server::panic_watch`).
    std::panic::set_hook(Box::new(log_panic));
    if let Some((asked, error)) = not_understood {
        tracing::warn!(rust_log = ?asked, %error, "RUST_LOG not understood: logging as by default");
    }
    config.check().map_err(anyhow::Error::msg)?;
    give_back_idle_memory();
    // jemalloc is this binary's allocator: `/metrics` may show its heap figures.
    #[cfg(jemalloc)]
    skirmish_server::metrics::report_heap();
    // Before binding: a bad map file stops the server with its name and problem, nothing else.
    let maps = MapList::load_rotation(config.maps.as_deref(), config.map.as_deref(), &config.rotation)
        .with_context(|| format!("cannot load the maps (set by {})", config.set_by(&["map", "rotation", "maps"])))?;
    match skirmish_server::socket::raise_open_file_limit() {
        // About 30 descriptors are the server's own at rest (its runtimes, workers and
        // listener), a few more per room; each player holds two. It said "about 0 players fit"
        // at a limit of 64, where 17 did (from a chaos test of a host).
        Ok(limit) if limit < 4096 => tracing::warn!(
            limit,
            "open-file limit is low: about {} players fit; raise it with `ulimit -n`",
            limit.saturating_sub(32) / 2
        ),
        Ok(limit) => tracing::debug!(limit, "open-file limit"),
        Err(e) => tracing::warn!(error = %e, "cannot raise the open-file limit"),
    }
    let listener = skirmish_server::socket::listen(SocketAddr::new(config.bind, config.port), config.backlog)
        .with_context(|| format!("cannot listen on {}:{}", config.bind, config.port))?;
    let addr = listener.local_addr().context("listening socket has no address")?;
    // No token configured (an empty or blank one, as `SKIRMISH_ADMIN_TOKEN=` gives, is none, as
    // the admin page takes it): one for this run, shown to whoever started the server.
    let generated_admin_token = skirmish_server::admin::configured(config.admin_token.as_deref())
        .is_none()
        .then(|| format!("{:032x}", rand::random::<u128>()));
    if generated_admin_token.is_some() {
        config.admin_token.clone_from(&generated_admin_token);
    }
    actix_web::rt::System::new().block_on(async move {
        // Handlers first: whoever reads the banner may stop the server at once, and a SIGTERM
        // before them would kill it undrained.
        let stop = shutdown_signal();
        print_banner(addr, &config, generated_admin_token.as_deref());
        warn_of_a_container_address(addr, &config);
        run(config, maps, listener, Arc::new(Stats::default()), stop).await
    })?;
    tracing::info!("stopped");
    Ok(())
}

/// Catches SIGINT (Ctrl-C), SIGTERM and SIGHUP from the call on (inside the runtime); the
/// future resolves on the first. SIGHUP (a closed terminal or ssh session, or an admin asking
/// for a reload, which Skirmish does not do) drains as SIGTERM does: it used to end the process
/// at once, with no line in the log and no Close for the players (from an outside test).
fn shutdown_signal() -> impl Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    // A server started under `nohup` (or a supervisor that ignores SIGHUP for it) must keep
    // ignoring it: a handler of ours would replace the ignoring, and the server would stop
    // when the terminal closed (from an outside test: every ssh logout restarted it).
    let hangup = (!hangup_ignored()).then(|| signal(SignalKind::hangup()));
    let handlers = (signal(SignalKind::terminate()), signal(SignalKind::interrupt()), hangup.transpose());
    ignore_user_signals();
    async move {
        let (mut term, mut int, mut hup) = match handlers {
            (Ok(term), Ok(int), Ok(hup)) => (term, int, hup),
            _ => {
                tracing::error!("cannot install signal handlers; stop the server with SIGKILL");
                return std::future::pending().await;
            }
        };
        let hangup = async {
            match &mut hup {
                Some(hup) => hup.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM received"),
            _ = int.recv() => tracing::info!("SIGINT received (Ctrl-C again to exit at once)"),
            _ = hangup => tracing::info!(
                "SIGHUP received (a closed terminal, or a reload asked: there is none): stopping as for SIGTERM"
            ),
        }
        // A host who presses Ctrl-C twice does not want to wait for the drain.
        actix_web::rt::spawn(async move {
            if int.recv().await.is_some() {
                tracing::warn!("second SIGINT: exiting without finishing the drain");
                flush_logs();
                std::process::exit(EXIT_INTERRUPTED);
            }
        });
    }
}

/// SIGUSR1 and SIGUSR2 are logged and ignored. Their default ends the process at once, with no
/// Close for the players and no line in the log, and log-rotation setups send SIGUSR1 to ask a
/// server to reopen its log files (from a chaos test of a host). This one writes to stderr: it
/// has none to reopen.
fn ignore_user_signals() {
    use tokio::signal::unix::{SignalKind, signal};
    for (kind, name) in [(SignalKind::user_defined1(), "SIGUSR1"), (SignalKind::user_defined2(), "SIGUSR2")] {
        match signal(kind) {
            Ok(mut received) => {
                actix_web::rt::spawn(async move {
                    while received.recv().await.is_some() {
                        tracing::info!(
                            "{name} received: ignored (logs go to stderr, there is no log file to reopen; \
                             SIGTERM, SIGINT or SIGHUP stop the server)"
                        );
                    }
                });
            }
            Err(e) => tracing::warn!(error = %e, "cannot handle {name}: it would end the server at once"),
        }
    }
}

/// Whether SIGHUP was ignored when the server started (`nohup`): bit 0 of the `SigIgn` mask in
/// `/proc/self/status`, since asking for a signal's disposition takes unsafe code. Where there
/// is no such file, taken as not ignored.
fn hangup_ignored() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let mask = status.lines().find_map(|line| line.strip_prefix("SigIgn:"))?;
            u64::from_str_radix(mask.trim(), 16).ok()
        })
        .is_some_and(|mask| mask & 1 != 0)
}

/// Log lines dropped from the log writer's full queue (set once the writer exists).
static DROPPED_LOG_LINES: OnceLock<ErrorCounter> = OnceLock::new();

/// Log lines whose write to stderr failed ([`Stderr`]).
static FAILED_LOG_LINES: AtomicU64 = AtomicU64::new(0);

/// The log lines lost so far: dropped from the full queue, or failed to write.
fn lost_log_lines() -> u64 {
    let dropped = DROPPED_LOG_LINES.get().map_or(0, |d| d.dropped_lines() as u64);
    dropped + FAILED_LOG_LINES.load(Ordering::Relaxed)
}

/// stderr for the log writer's thread. It counts the lines stderr could not take (a full
/// disk, a reader gone), lost as the queue's overflow is and counted with it, where the
/// writer itself would drop them unsaid. And before the first line it writes after any were
/// lost, it writes a line of its own saying how many: written here, it is written only if
/// stderr takes it, so its count runs from the last such line that stderr did take (one
/// queued like any line was lost with the rest, and said "1" once the disk had room again,
/// from a chaos test).
struct Stderr {
    /// Lost lines already told of, in a line stderr took.
    told: u64,
}

impl Stderr {
    /// The line telling of `lost - told` lost lines, formatted as the log's own lines are.
    fn lost_line(&self, lost: u64) -> String {
        use tracing_subscriber::fmt::time::{FormatTime as _, SystemTime};
        let mut line = String::new();
        let _ = SystemTime.format_time(&mut tracing_subscriber::fmt::format::Writer::new(&mut line));
        line.push_str(&format!(
            "  WARN skirmish: log lines lost: stderr did not take them (a terminal paused with Ctrl-S, a pipe \
             nobody reads, a stalled log shipper, a full disk); the game went on lost={} since_start={lost}\n",
            lost - self.told
        ));
        line
    }
}

impl std::io::Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        std::io::stderr().write(buf)
    }

    fn write_all(&mut self, line: &[u8]) -> std::io::Result<()> {
        let lost = lost_log_lines();
        if lost > self.told {
            match std::io::stderr().write_all(self.lost_line(lost).as_bytes()) {
                Ok(()) => self.told = lost,
                Err(e) => {
                    FAILED_LOG_LINES.fetch_add(1, Ordering::Relaxed);
                    return Err(e);
                }
            }
        }
        let written = std::io::stderr().write_all(line);
        if written.is_err() {
            FAILED_LOG_LINES.fetch_add(1, Ordering::Relaxed);
        }
        written
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// The exit status of a second Ctrl-C, as shells report a process ended by SIGINT.
const EXIT_INTERRUPTED: i32 = 130;

/// In a container (docker's `/.dockerenv`, podman's `/run/.containerenv`) the address the
/// server sees is the container's own, which nobody outside reaches: the invite needs
/// `--public-url`. Not under Agones, whose players get their address from the allocator.
fn warn_of_a_container_address(addr: SocketAddr, config: &Config) {
    let in_container = ["/.dockerenv", "/run/.containerenv"].iter().any(|f| std::path::Path::new(f).exists());
    if in_container
        && config.public_url.as_deref().is_none_or(str::is_empty)
        && config.agones_port().is_none()
        && !addr.ip().is_loopback()
    {
        let invite = skirmish_server::invite::url(addr, None);
        tracing::warn!(
            "running in a container: the invite {invite} is probably the container's own address; \
             set --public-url (SKIRMISH_PUBLIC_URL) to the one players reach, such as http://HOST-LAN-IP:PORT/"
        );
    }
}

/// The start-up banner: the URL to invite people to (with its QR code when stdout is a
/// terminal), then the other URLs this server answers on. Written at once, and a stdout that
/// cannot take it (`> /dev/full`, a full disk, a closed pipe) is logged, not fatal: it used to
/// panic and stop the server before it served anyone (from a chaos test of a host).
fn print_banner(addr: SocketAddr, config: &Config, admin_token: Option<&str>) {
    use std::fmt::Write as _;
    use std::io::{IsTerminal as _, Write as _};
    // Writing into a String cannot fail.
    let mut out = String::new();
    let port = addr.port();
    let invite = skirmish_server::invite::url(addr, config.public_url.as_deref());
    out.push('\n');
    let _ = writeln!(out, "  Skirmish is running.");
    out.push('\n');
    let _ = writeln!(out, "  Invite:  {invite}");
    if !config.no_qr && std::io::stdout().is_terminal() {
        out.push('\n');
        for line in skirmish_server::invite::terminal(&invite).lines() {
            let _ = writeln!(out, "  {line}");
        }
        out.push('\n');
        let _ = writeln!(out, "  Scan it with a phone on the same network, or open the page's Invite button.");
    }
    out.push('\n');
    if addr.ip().is_unspecified() {
        let _ = writeln!(out, "  Local:   http://localhost:{port}/");
        let mut lan: Vec<IpAddr> = if_addrs::get_if_addrs()
            .unwrap_or_default()
            .into_iter()
            .filter(|i| !i.is_loopback() && !skirmish_server::invite::is_virtual(&i.name))
            .map(|i| i.ip())
            .filter(|ip| ip.is_ipv4() || addr.is_ipv6())
            .collect();
        lan.sort();
        lan.dedup();
        for ip in lan {
            let _ = writeln!(out, "  Network: http://{}/", SocketAddr::new(ip, port));
        }
    } else if addr.ip().is_loopback() {
        let _ = writeln!(out, "  Local:   http://{addr}/");
    } else {
        let _ = writeln!(out, "  Network: http://{addr}/");
    }
    let host = if addr.ip().is_unspecified() { format!("localhost:{port}") } else { addr.to_string() };
    let _ = match admin_token {
        Some(token) => writeln!(out, "  Admin:   http://{host}/admin  (token for this run: {token})"),
        None => writeln!(out, "  Admin:   http://{host}/admin  (token from {})", config.origins.of("admin-token")),
    };
    out.push('\n');
    let _ = writeln!(out, "  Press Ctrl-C to stop.");
    out.push('\n');
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_all(out.as_bytes()).and_then(|()| stdout.flush()) {
        let invite = skirmish_server::invite::url(addr, config.public_url.as_deref());
        let token = if admin_token.is_some() { " (and this run's admin token: set --admin-token)" } else { "" };
        tracing::warn!(
            error = %e,
            "cannot write the start-up banner to stdout{token}; the server runs: invite {invite}"
        );
    }
}
