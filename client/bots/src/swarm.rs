//! A run: start the bots staggered over the ramp-up, end them together, and gather what they
//! saw into one [`Summary`].

use std::sync::Arc;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::bot;
use crate::cli::Params;
use crate::report::{BotReport, Outcome, Summary};
use crate::samples::Shared;

/// Runs `params.count` bots until the ramp-up plus the duration have passed, or until `stop`
/// is cancelled, and summarises them.
pub async fn run(params: &Params, stop: CancellationToken) -> Summary {
    let samples = Arc::new(Shared::default());
    let epoch = Instant::now();
    let ramp_up = params.ramp_up();
    // Everyone ends together, so the last bot still plays the full duration.
    let end_at = epoch + ramp_up + params.duration();
    let url: Arc<str> = params.url.as_str().into();
    let bots: Vec<_> = (0..params.count)
        .map(|index| {
            let spec = bot::Spec {
                index,
                url: url.clone(),
                room: params.hello_room(),
                seed: params.seed,
                epoch,
                start_at: epoch + ramp_up.mul_f64(f64::from(index) / f64::from(params.count)),
                end_at,
                stop: stop.clone(),
                samples: samples.clone(),
            };
            tokio::spawn(bot::run(spec))
        })
        .collect();
    let mut reports = Vec::with_capacity(bots.len());
    for handle in bots {
        // A bot task only fails by panicking (a bug); count it rather than lose the run.
        let report = handle.await.unwrap_or_else(|e| BotReport::new(Outcome::Failed(format!("bot task failed: {e}"))));
        reports.push(report);
    }
    let mut summary = Summary::new(params.clone(), &reports, &samples.snapshot(), epoch.elapsed());
    summary.stopped_early = stop.is_cancelled();
    summary
}
