//! `skirmish-bots`: headless bots that load-test a Skirmish server through the client core.
//!
//! Layout: [`cli`] options, [`swarm`] the run, [`shards`] the threads the bots run on, [`bot`]
//! one bot's connection and loop; its
//! behaviour from [`mix`] via [`behaviour`] ([`wander`], [`fight`], [`chatter`]); [`samples`]
//! shared timing histograms, [`live`] counters for the [`progress`] line, [`report`] the summary,
//! its JSON and thresholds, [`stats`] the figures over time of `--stats`, [`nofile`] the
//! open-file limit; [`misbehave`] picks the bots that break the rules on purpose and tallies what
//! the server did, [`rogue`] runs them.
//!
//! Exit status: 0 passed, 1 no bot connected or the run could not start, 2 a threshold failed.

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
mod stats;
mod stop;
mod swarm;
mod wander;

use std::io::IsTerminal as _;
use std::num::NonZeroUsize;
use std::process::ExitCode;

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
}

/// jemalloc, the server's allocator too (see `server/src/main.rs`). For the bots themselves its
/// gain is within the noise: a median 523 → 489 µs per bot-second at 1000 bots, in runs that
/// spread wider (`scripts/capacity.py --steps 1000`, three alternating pairs).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    // Per-bot errors are logged at debug (`RUST_LOG=skirmish_bots=debug`); the summary counts them.
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")))
        .with_writer(std::io::stderr)
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
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: cli::Cli) -> anyhow::Result<Verdict> {
    let params = cli.params().map_err(anyhow::Error::msg)?;
    let open_files = match nofile::raise() {
        Ok(limit) => {
            nofile::check(limit, params.count).map_err(anyhow::Error::msg)?;
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
    runtime.block_on(run_swarm(&cli, &params, &shards, &open_files))
}

async fn run_swarm(
    cli: &cli::Cli,
    params: &cli::Params,
    shards: &shards::Shards,
    open_files: &str,
) -> anyhow::Result<Verdict> {
    let misbehave =
        if params.misbehave.is_empty() { String::new() } else { format!(", misbehaving {}", params.misbehave) };
    println!(
        "skirmish-bots: {} bots → {} ({}, mix {}{misbehave}) for {:.1} s after {:.1} s ramp-up, seed {} (--seed {} \
         repeats it), {} thread{}, open-file limit {open_files}",
        params.count,
        params.url,
        params.rooms_text(),
        params.mix,
        params.duration,
        params.ramp_up,
        params.seed,
        params.seed,
        params.threads,
        if params.threads.get() == 1 { "" } else { "s" }
    );

    let stop = Stop::new();
    tokio::spawn(stop_on_ctrl_c(stop.clone()));
    let summary = swarm::run(params, shards, stop, std::io::stdout().is_terminal()).await;
    println!("{summary}");

    if let Some(path) = &cli.json {
        let json = serde_json::to_string_pretty(&summary).context("serialising the summary")?;
        std::fs::write(path, json + "\n").with_context(|| format!("writing {}", path.display()))?;
    }
    // A run of misbehaving bots only has no well-behaved bot to connect.
    let well_behaved: u32 = summary.behaviours.values().sum();
    if summary.connected == 0 && well_behaved > 0 {
        anyhow::bail!("no bot connected to {}: {}", params.url, summary.failures_line());
    }
    let failed = summary.failed_thresholds();
    Ok(if failed.is_empty() { Verdict::Passed } else { Verdict::ThresholdsFailed(failed) })
}

/// First Ctrl-C: end the run early, still with a summary. Second: quit at once.
async fn stop_on_ctrl_c(stop: Stop) {
    if tokio::signal::ctrl_c().await.is_err() {
        return; // No signal handling available: Ctrl-C keeps its default effect.
    }
    eprintln!("\nstopping: bots are closing (Ctrl-C again to quit at once)");
    stop.stop();
    if tokio::signal::ctrl_c().await.is_ok() {
        std::process::exit(130);
    }
}
