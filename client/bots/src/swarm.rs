//! A run: assign behaviours and rooms, start the bots staggered over the ramp-up (at most
//! `--max-connecting` connection attempts at a time), end them together, show progress on a
//! terminal, and gather what they saw into one [`Summary`]. The `--misbehave` share runs as
//! [`rogue`] bots with timing samples and live counters of their own, so no figure but their
//! own tally includes them (nor the `--stats` lines); the `--spectators` bots likewise, with a
//! summary of their own ([`crate::spectators`]).

use std::fs::File;
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::bot;
use crate::cli::Params;
use crate::live::Live;
use crate::misbehave;
use crate::mix::Kind;
use crate::progress;
use crate::report::{BotReport, Outcome, Summary};
use crate::rogue;
use crate::samples::Shared;
use crate::shards::Shards;
use crate::spectators::SpectatorSummary;
use crate::stats;
use crate::stop::Stop;

/// Runs `params.count` bots until the ramp-up plus the duration have passed, or until `stop`
/// is given, and summarises them. `progress` names the terminal to draw the live line on, if any,
/// and `stats_file` the `--stats` file, opened by the caller (its interval is in `params`). The bots
/// run on `shards`; this task, the progress line and the stats only wait and count. Fails, before
/// any bot starts, only when the run's end is beyond what the clock can hold (the options allow
/// a year of each, far inside it).
pub async fn run(
    params: &Params,
    shards: &Shards,
    stop: Stop,
    progress: Option<progress::Terminal>,
    stats_file: Option<File>,
) -> Result<Summary, String> {
    let samples = Arc::new(Shared::default());
    let live = Arc::new(Live::default());
    let connecting = Arc::new(Semaphore::new(params.max_connecting as usize));
    let epoch = Instant::now();
    let ramp_up = params.ramp_up();
    // Everyone ends together, so the last bot still plays the full duration.
    let end_at = epoch.checked_add(ramp_up).and_then(|at| at.checked_add(params.duration())).ok_or_else(|| {
        format!("a ramp-up of {:.0} s and a run of {:.0} s end beyond the clock", params.ramp_up, params.duration)
    })?;
    let url: Arc<str> = params.url.as_str().into();
    let misbehaviours = params.misbehave.assign(params.count);
    let well_behaved = misbehaviours.iter().filter(|m| m.is_none()).count() as u32;
    let mut kinds = params.mix.assign(well_behaved, params.seed).into_iter();
    // Where the misbehaving bots' samples and counters go, never read.
    let (rogue_samples, rogue_live) = (Arc::new(Shared::default()), Arc::new(Live::default()));
    let mut rogues = Vec::new();
    let bots: Vec<_> = (0..params.count)
        .zip(misbehaviours)
        .filter_map(|(index, misbehaviour)| {
            // `reconnect` bots play as wanderers; the other rogues never get to play.
            let kind = match misbehaviour {
                // One behaviour was drawn per well-behaved bot.
                None => kinds.next().unwrap_or(Kind::Wander),
                Some(_) => Kind::Wander,
            };
            let rogue = misbehaviour.is_some();
            let spec = bot::Spec {
                index,
                kind,
                spectate: false,
                url: url.clone(),
                room: params.placement.for_bot(index),
                seed: params.seed,
                predict: params.predict,
                epoch,
                start_at: epoch + ramp_up.mul_f64(f64::from(index) / f64::from(params.count)),
                end_at,
                stop: stop.clone(),
                samples: if rogue { rogue_samples.clone() } else { samples.clone() },
                live: if rogue { rogue_live.clone() } else { live.clone() },
                connecting: connecting.clone(),
                source: params.source_for_bot(index),
            };
            match misbehaviour {
                Some(m) => {
                    rogues.push(shards.spawn(index, rogue::run(spec, m)));
                    None
                }
                None => Some((kind, shards.spawn(index, bot::run(spec)))),
            }
        })
        .collect();
    // The spectator bots: indices after the players' (names, random streams, source
    // addresses), rooms and ramp-up as the players', their own samples and counters.
    let (watch_samples, watch_live) = (Arc::new(Shared::default()), Arc::new(Live::default()));
    let watchers: Vec<_> = (0..params.spectators)
        .map(|i| {
            let index = params.count.saturating_add(i);
            let spec = bot::Spec {
                index,
                kind: Kind::Idle,
                spectate: true,
                url: url.clone(),
                room: params.placement.for_bot(i),
                seed: params.seed,
                predict: false,
                epoch,
                start_at: epoch + ramp_up.mul_f64(f64::from(i) / f64::from(params.spectators)),
                end_at,
                stop: stop.clone(),
                samples: watch_samples.clone(),
                live: watch_live.clone(),
                connecting: connecting.clone(),
                source: params.source_for_bot(index),
            };
            shards.spawn(index, bot::run(spec))
        })
        .collect();

    let progress_done = CancellationToken::new();
    let progress = progress.map(|terminal| {
        tokio::spawn(progress::run(
            terminal,
            live.clone(),
            samples.clone(),
            progress::Plan {
                target: well_behaved,
                ramp_up_s: params.ramp_up,
                total_s: params.ramp_up + params.duration,
            },
            epoch,
            progress_done.clone(),
        ))
    });

    let stats = params.stats.clone().zip(stats_file).map(|((path, every), file)| {
        let (live, samples, done) = (live.clone(), samples.clone(), progress_done.clone());
        let run_end = stats::RunEnd { epoch, end_at, stop: stop.clone() };
        tokio::spawn(async move {
            if let Err(e) = stats::run(live, samples, file, every, run_end, done).await {
                tracing::warn!(error = %e, path = %path.display(), "could not write the --stats file");
            }
        })
    });

    let mut reports = Vec::with_capacity(bots.len());
    for (kind, handle) in bots {
        // A bot task only fails by panicking (a bug); count it rather than lose the run.
        let report =
            handle.await.unwrap_or_else(|e| BotReport::new(Outcome::Failed(format!("bot task failed: {e}")), kind));
        reports.push(report);
    }
    let mut watch_reports = Vec::with_capacity(watchers.len());
    for handle in watchers {
        let report = handle
            .await
            .unwrap_or_else(|e| BotReport::new(Outcome::Failed(format!("bot task failed: {e}")), Kind::Idle));
        watch_reports.push(report);
    }
    let mut rogue_reports = Vec::with_capacity(rogues.len());
    for handle in rogues {
        match handle.await {
            Ok(report) => rogue_reports.push(report),
            // Only a panic (a bug) gets here; the tally then lacks that bot.
            Err(e) => tracing::warn!(error = %e, "misbehaving bot task failed"),
        }
    }
    progress_done.cancel();
    if let Some(progress) = progress {
        // It only draws; if it panicked, the summary is still worth printing.
        let _ = progress.await;
    }
    if let Some(stats) = stats {
        // It logs its own errors; a panic would only cost the stats file its last line.
        let _ = stats.await;
    }
    let mut summary = Summary::new(params.clone(), &reports, &samples.snapshot(), epoch.elapsed());
    summary.stopped_early = stop.is_stopped();
    summary.misbehaving = misbehave::summarise(&rogue_reports);
    if params.spectators > 0 {
        summary =
            summary.with_spectators(SpectatorSummary::new(params.clone(), &watch_reports, &watch_samples.snapshot()));
    }
    Ok(summary)
}
