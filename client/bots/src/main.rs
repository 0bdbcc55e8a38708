//! `skirmish-bots`: headless bots that load-test a Skirmish server through the client core.
//!
//! Layout: [`cli`] options, [`swarm`] the run, [`shards`] the threads the bots run on, [`bot`]
//! one bot's connection and loop, [`stalls`] the server stalls its tick numbers hide; its
//! behaviour from [`mix`] via [`behaviour`] ([`wander`], [`fight`], [`chatter`]); [`samples`]
//! shared timing histograms, [`live`] counters for the [`progress`] line, [`report`] the summary,
//! its JSON and thresholds, [`stats`] the figures over time of `--stats`, [`nofile`] the
//! open-file limit; [`misbehave`] picks the bots that break the rules on purpose and tallies what
//! the server did, [`rogue`] runs them; [`spectators`] the `--spectators` bots' follow switches
//! and their summary apart.
//!
//! Exit status: 0 passed, 1 no bot connected or the run could not start, 2 a threshold failed,
//! 130 or 143 stopped early by SIGINT (Ctrl-C) or SIGTERM, after the summary and `--json`.

mod behaviour;
mod bot;
mod chatter;
mod cli;
mod fight;
mod live;
mod misbehave;
mod mix;
mod nofile;
mod progress;
mod report;
mod rogue;
mod samples;
mod shards;
mod spectators;
mod stalls;
mod stats;
mod stop;
mod swarm;
mod wander;

use std::fs::File;
use std::io::{IsTerminal as _, Write as _};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use anyhow::Context as _;
use clap::Parser as _;
use tracing_subscriber::EnvFilter;

use crate::stop::Stop;

/// Exit status of a run whose thresholds failed; 1 stays for runs that could not measure.
const EXIT_THRESHOLD_FAILED: u8 = 2;

/// How a run that completed went.
enum Verdict {
    Passed,
    /// The failed thresholds, one line each.
    ThresholdsFailed(Vec<String>),
    /// A signal stopped it early (its number): the figures cover only part of the run, so it
    /// neither passed nor failed. The exit status is the shell's for that signal, 128 + n.
    Stopped(u8),
}

/// Where `--json` goes. A temporary file beside it is created before the bots start, so a path
/// that cannot be written is reported at once rather than after the whole run, and renamed into
/// place once the JSON is in it: a run killed before its end (SIGKILL, a second Ctrl-C) leaves
/// no empty, invalid file under the name CI reads.
enum JsonOut {
    File {
        /// The `--json` path.
        path: PathBuf,
        /// The temporary file beside it: removed if the run ends without its JSON.
        temp: TempFile,
        file: File,
    },
    /// `--json -`: the JSON alone on stdout; the human output moves to stderr.
    Stdout,
}

impl JsonOut {
    fn open(path: &Path) -> anyhow::Result<Self> {
        if path.as_os_str() == "-" {
            return Ok(JsonOut::Stdout);
        }
        let name = path.file_name().with_context(|| format!("--json {} names no file", path.display()))?;
        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(name);
        temp_name.push(format!(".{}.tmp", std::process::id()));
        let temp = path.with_file_name(temp_name);
        let file = File::create(&temp).with_context(|| format!("cannot write --json {}", path.display()))?;
        Ok(JsonOut::File { path: path.to_owned(), temp: TempFile(Some(temp)), file })
    }

    fn write(self, json: &str) -> anyhow::Result<()> {
        match self {
            JsonOut::File { path, mut temp, mut file } => file
                .write_all(json.as_bytes())
                .and_then(|()| file.sync_all())
                .and_then(|()| temp.rename_to(&path))
                .with_context(|| format!("writing {}", path.display())),
            JsonOut::Stdout => {
                std::io::stdout().lock().write_all(json.as_bytes()).context("writing the JSON to stdout")
            }
        }
    }
}

/// A temporary file, removed when dropped unless renamed into place first.
struct TempFile(Option<PathBuf>);

impl TempFile {
    fn rename_to(&mut self, path: &Path) -> std::io::Result<()> {
        let Some(temp) = &self.0 else { return Ok(()) };
        std::fs::rename(temp, path)?;
        self.0 = None;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(temp) = self.0.take() {
            // Best effort: a leftover temporary file is only clutter.
            let _ = std::fs::remove_file(temp);
        }
    }
}

/// jemalloc, the server's allocator too (see `server/src/main.rs`). For the bots themselves its
/// gain is within the noise: a median 523 → 489 µs per bot-second at 1000 bots, in runs that
/// spread wider (`scripts/capacity.py --steps 1000`, three alternating pairs).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    // Per-bot errors are logged at debug (`RUST_LOG=skirmish_bots=debug`); the summary counts them.
    // Colours only for a terminal: in a file or a CI log the escape codes are noise.
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout and succeed. Usage errors exit 1, not clap's 2, so
            // that 2 means exactly "a threshold failed" to CI.
            let _ = e.print();
            return if e.use_stderr() { ExitCode::FAILURE } else { ExitCode::SUCCESS };
        }
    };
    // Printed here rather than by returning the error from `main`, which would add a
    // backtrace whenever RUST_BACKTRACE is set: the message is for the person running the test.
    match run(cli) {
        Ok(Verdict::Passed) => ExitCode::SUCCESS,
        Ok(Verdict::ThresholdsFailed(failed)) => {
            for line in failed {
                eprintln!("threshold failed: {line}");
            }
            ExitCode::from(EXIT_THRESHOLD_FAILED)
        }
        Ok(Verdict::Stopped(signal)) => {
            eprintln!("stopped early by {}: the run neither passed nor failed", signal_name(signal));
            ExitCode::from(128 + signal)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: cli::Cli) -> anyhow::Result<Verdict> {
    let params = cli.params().map_err(anyhow::Error::msg)?;
    let json = cli.json.as_deref().map(JsonOut::open).transpose()?;
    // Like the JSON's, a path that cannot be written stops the run before it starts.
    let stats = params
        .stats
        .as_ref()
        .map(|(path, _)| File::create(path).with_context(|| format!("cannot write --stats {}", path.display())))
        .transpose()?;
    let open_files = match nofile::raise() {
        Ok(limit) => {
            nofile::check(limit, params.all_bots()).map_err(anyhow::Error::msg)?;
            limit.to_string()
        }
        // Not fatal: the limit may well be enough; if not, the failures will say so.
        Err(e) => {
            tracing::warn!(error = %e, "could not read or raise the open-file limit");
            "unknown".to_owned()
        }
    };
    // The bots play on single-threaded runtimes, one per core unless `--threads` says (see
    // `shards`); this one only starts them, draws progress and gathers the reports.
    let threads = NonZeroUsize::try_from(params.threads).context("--threads")?;
    let shards = shards::Shards::start(threads).context("starting the bots' threads")?;
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the async runtime")?;
    runtime.block_on(run_swarm(json, stats, &params, &shards, &open_files))
}

async fn run_swarm(
    json: Option<JsonOut>,
    stats: Option<File>,
    params: &cli::Params,
    shards: &shards::Shards,
    open_files: &str,
) -> anyhow::Result<Verdict> {
    // The human output: stdout, unless the JSON takes it.
    let to_stderr = matches!(json, Some(JsonOut::Stdout));
    let human = |text: &str| if to_stderr { eprintln!("{text}") } else { println!("{text}") };
    human(&format!(
        "skirmish-bots: {} bots{} → {} ({}, {}) for {:.1} s after {:.1} s ramp-up, seed {} (--seed {} \
         repeats it), {} thread{}, open-file limit {open_files}",
        params.count,
        if params.spectators > 0 { format!(" + {} spectators", params.spectators) } else { String::new() },
        params.url,
        params.rooms_text(),
        params.behaviour_text(),
        params.duration,
        params.ramp_up,
        params.seed,
        params.seed,
        params.threads,
        if params.threads.get() == 1 { "" } else { "s" }
    ));

    let stop = Stop::new();
    let stopped_by = Arc::new(AtomicU8::new(0));
    tokio::spawn(stop_on_signals(stop.clone(), stopped_by.clone()));
    let progress = if to_stderr {
        std::io::stderr().is_terminal().then_some(progress::Terminal::Stderr)
    } else {
        std::io::stdout().is_terminal().then_some(progress::Terminal::Stdout)
    };
    let summary = swarm::run(params, shards, stop, progress, stats).await.map_err(anyhow::Error::msg)?;
    human(&summary.to_string());

    if let Some(out) = json {
        let text = serde_json::to_string_pretty(&summary).context("serialising the summary")?;
        out.write(&(text + "\n"))?;
    }
    let signal = stopped_by.load(Ordering::Relaxed);
    if signal != 0 {
        return Ok(Verdict::Stopped(signal));
    }
    if let Some(why) = summary.nobody_connected() {
        anyhow::bail!(why);
    }
    let failed = summary.failed_thresholds();
    Ok(if failed.is_empty() { Verdict::Passed } else { Verdict::ThresholdsFailed(failed) })
}

const SIGINT: u8 = 2;
const SIGTERM: u8 = 15;

fn signal_name(signal: u8) -> &'static str {
    if signal == SIGTERM { "SIGTERM" } else { "SIGINT (Ctrl-C)" }
}

/// The first SIGINT (Ctrl-C) or SIGTERM (what `timeout`, CI cancels, `docker stop` and
/// Kubernetes send) ends the run early, still with its summary and `--json`, and is noted in
/// `stopped_by`; a second signal of either kind quits at once.
async fn stop_on_signals(stop: Stop, stopped_by: Arc<AtomicU8>) {
    let mut signals = Signals::new();
    // `None`: no signal can be watched, and they keep their default effect.
    let Some(first) = signals.next().await else { return };
    stopped_by.store(first, Ordering::Relaxed);
    eprintln!("\nstopping on {}: bots are closing (Ctrl-C again to quit at once)", signal_name(first));
    stop.stop();
    if let Some(second) = signals.next().await {
        std::process::exit(128 + i32::from(second));
    }
}

/// SIGINT and SIGTERM as one stream of signal numbers.
struct Signals {
    /// SIGTERM's stream; `None` where it cannot be watched (or does not exist).
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn new() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Signals { term: signal(SignalKind::terminate()).ok() }
        }
        #[cfg(not(unix))]
        {
            Signals {}
        }
    }

    /// The next signal's number; `None` when neither can be watched.
    async fn next(&mut self) -> Option<u8> {
        let interrupt = async { tokio::signal::ctrl_c().await.ok().map(|()| SIGINT) };
        #[cfg(unix)]
        if let Some(term) = &mut self.term {
            return tokio::select! {
                Some(signal) = interrupt => Some(signal),
                _ = term.recv() => Some(SIGTERM),
            };
        }
        interrupt.await
    }
}
