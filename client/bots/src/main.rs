//! `skirmish-bots`: headless bots that load-test a Skirmish server through the client core.
//!
//! Layout: [`cli`] options, [`swarm`] the run, [`bot`] one bot's connection and loop, [`wander`]
//! its behaviour, [`samples`] shared timing histograms, [`report`] the summary and its JSON.

mod bot;
mod cli;
mod report;
mod samples;
mod swarm;
mod wander;

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser as _;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    // Printed here rather than by returning the error from `main`, which would add a
    // backtrace whenever RUST_BACKTRACE is set: the message is for the person running the test.
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[tokio::main]
async fn run() -> anyhow::Result<()> {
    // Per-bot errors are logged at debug (`RUST_LOG=skirmish_bots=debug`); the summary counts them.
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")))
        .with_writer(std::io::stderr)
        .init();
    let cli = cli::Cli::parse();
    let params = cli.params()?;
    println!(
        "skirmish-bots: {} bots → {} (room {}) for {:.1} s after {:.1} s ramp-up, seed {} (--seed {} repeats it)",
        params.count, params.url, params.room, params.duration, params.ramp_up, params.seed, params.seed
    );

    let stop = CancellationToken::new();
    tokio::spawn(stop_on_ctrl_c(stop.clone()));
    let summary = swarm::run(&params, stop).await;
    println!("{summary}");

    if let Some(path) = &cli.json {
        let json = serde_json::to_string_pretty(&summary).context("serialising the summary")?;
        std::fs::write(path, json + "\n").with_context(|| format!("writing {}", path.display()))?;
    }
    if summary.connected == 0 {
        anyhow::bail!("no bot connected to {}: {}", params.url, summary.failures_line());
    }
    Ok(())
}

/// First Ctrl-C: end the run early, still with a summary. Second: quit at once.
async fn stop_on_ctrl_c(stop: CancellationToken) {
    if tokio::signal::ctrl_c().await.is_err() {
        return; // No signal handling available: Ctrl-C keeps its default effect.
    }
    eprintln!("stopping: bots are closing (Ctrl-C again to quit at once)");
    stop.cancel();
    if tokio::signal::ctrl_c().await.is_ok() {
        std::process::exit(130);
    }
}
