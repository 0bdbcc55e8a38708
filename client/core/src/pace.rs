//! When the next input is due: one per server tick, on the server's tick clock as the
//! snapshots show it ([`TickClock`]), not on a free-running timer. The server applies one input
//! per tick from a small buffer; a 33 ms timer runs 1 % fast (and a browser's drifts further),
//! so it would overfill that buffer now and then and leave a tick without an input at other
//! times.
//!
//! And when to leave a slot out: an input that misses its tick (a late send, a hiccup on the
//! way) leaves the server a tick with nothing new, and then two inputs at the next, so from then
//! on every input waits a tick in the server's buffer: a tick of latency that the server's own
//! slow drain (a second, and it drops an input) would be the only end of. The server says so in
//! every snapshot ([`PlayerState::INPUT_WAITING`] in our own state's flags), and the client
//! then sends nothing for one slot: the server applies the waiting input in that tick, and the
//! backlog is gone within a round trip with no input lost. (This is the input-buffer feedback
//! Overwatch's netcode gives its clients.) Leaving a slot out while an input waits can never
//! leave the server a tick without one.
//!
//! And how early in the tick: a tick of ours that applied no input although one was on its way
//! (the snapshot's acknowledged seq did not move) means our input missed it, and the server
//! repeated the last one, which the prediction then corrects. Each miss moves the phase earlier
//! by `MISS_STEP` (to `PHASE_FLOOR` at most), and every `CALM_TICKS` ticks without one it
//! creeps back by `RELAX_STEP` towards the phase chosen: so a client whose inputs arrive with
//! jitter sends early enough to miss about one tick in `CALM_TICKS × MISS_STEP / RELAX_STEP`
//! (300), and one on a clean link keeps the latency of its chosen phase.
//!
//! And, whatever the clock says, never faster than the server can take: the tick clock is
//! only an estimate from what the server sent, so the due time is also held back by a rate
//! limit of its own (a generic cell rate: one input per `MIN_INPUT_SPACING_MS` in the long run,
//! at most `MAX_INPUT_BURST` at once after a lull). On a sane clock it never binds; on one that
//! went wrong it keeps the client to at most 1.25 inputs a tick instead of as many as it can
//! send.
//!
//! [`PlayerState::INPUT_WAITING`]: skirmish_shared::PlayerState::INPUT_WAITING

use skirmish_shared::consts::INPUT_PERIOD_MS;

use crate::clock::TickClock;

/// Where in a tick inputs go out by default, in ticks after the tick's snapshot arrives (on the
/// clock's average). On a short link an input then reaches the server half a tick before the
/// step that applies it: it waits about half a tick, and jitter up to half a tick either way
/// neither leaves a tick without an input nor brings one tick two.
pub const SEND_PHASE_TICKS: f64 = 0.5;
/// The range a client may choose its phase in ([`crate::Client::send_phase`]). Not later than
/// the default: the phase counts from this client's snapshot arriving, which in a big room can
/// leave the server several milliseconds after the tick began (it hands a whole room's
/// snapshots out), and an input sent late in the tick after that would now and then miss the
/// next tick, leaving the server nothing to apply (a repeat) and then two inputs at once (a tick
/// of delay until the backlog drains). Not earlier than a fifth of a tick, where a snapshot a
/// little late would move the input back into the current tick.
pub const SEND_PHASE_RANGE: (f64, f64) = (0.2, 0.5);
/// How much earlier (in ticks) inputs go out after one missed its tick.
const MISS_STEP: f64 = 0.05;
/// The earliest phase misses can bring it to, below the range a client chooses from: this
/// early, an input now and then reaches the server before a tick that started a few
/// milliseconds late, lands a tick early and waits, which the waiting flag drains at once; any
/// earlier and that would be the rule.
const PHASE_FLOOR: f64 = 0.1;
/// Ticks without a miss before the phase moves back by [`RELAX_STEP`] (two seconds).
const CALM_TICKS: u32 = 60;
/// How much later (in ticks) inputs go out after [`CALM_TICKS`] without a miss.
const RELAX_STEP: f64 = 0.01;
/// The rate limit's period: a little under a tick, so that a client clock that runs slow (by
/// up to a fifth) still sends one input per server tick, and the limit only stops a runaway.
const MIN_INPUT_SPACING_MS: f64 = INPUT_PERIOD_MS as f64 * 0.8;
/// Inputs the rate limit lets out at once after a lull: one input sent early by a throttled
/// page (see [`crate::Client::input_due_by_next_snapshot`]) and the next on time pass, a flood does not.
const MAX_INPUT_BURST: f64 = 3.0;
/// A last slot this many ticks past the tick arriving now was filled on a clock that has
/// since been set back: the server stalled (its ticks go on from where they stopped, behind the
/// real time that passed, and the clock resyncs to them) or a restarted server counts from 1.
/// The pacing then starts afresh instead of waiting, inputless, for the server's ticks to reach
/// the slots filled meanwhile (a 20 s stall left the player unable to move for 20 s more).
const SLOT_AHEAD_RESET: f64 = 15.0;

/// See the module docs. Plain floats, no `Option` or integer casts: this runs in the page,
/// whose download is counted in bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pace {
    /// The tick slot of the last input: the tick arriving when it went out, less the phase,
    /// floored (0: none since the clock started).
    slot: f64,
    /// When the last input went out, for the timer used before the first snapshot.
    sent_ms: f64,
    /// Where in the tick inputs go out now, in ticks after the tick's snapshot arrives…
    pub phase: f64,
    /// …and where the client chose them to, which `phase` returns to while none misses.
    pub chosen: f64,
    /// Ticks since the last miss or the last step back.
    calm: u32,
    /// The last input sent before the last slot left out: until a snapshot acknowledges it,
    /// the inputs sent before are still draining, and "an input waits" says nothing new.
    guard: u32,
    /// Slots left out since the start.
    pub skipped: u64,
    /// The rate limit's state (the theoretical arrival time of a generic cell rate algorithm):
    /// every input moves it a spacing on from itself or from when it went out, whichever is later,
    /// and the next input is not due before it less the burst's allowance.
    limit_ms: f64,
}

impl Default for Pace {
    fn default() -> Self {
        Self {
            slot: 0.0,
            sent_ms: f64::NEG_INFINITY,
            phase: SEND_PHASE_TICKS,
            chosen: SEND_PHASE_TICKS,
            calm: 0,
            guard: 0,
            skipped: 0,
            limit_ms: f64::NEG_INFINITY,
        }
    }
}

impl Pace {
    /// An input went out at `now_ms`: it fills the slot nearest to it, so the next one is due
    /// at least half a tick later. (Not the slot it is past: an input sent off the phase, the
    /// start-up timer's last or a late one, would leave the next slot due within the same
    /// tick, and the two would reach the server together and stand in its buffer, a tick of
    /// delay on every input after.) Never backwards: a clock estimate that moved later must
    /// not make a slot due twice. An input sent before its time (a hidden page sends, when a
    /// snapshot comes, the one due before the next) fills the slot that was due, not the one
    /// nearest to when it went out, which would make that slot due again.
    pub fn sent(&mut self, now_ms: f64, clock: &TickClock) {
        let at = now_ms.max(self.slot_due_ms(clock));
        self.sent_ms = now_ms;
        self.limit_ms = self.limit_ms.max(now_ms) + MIN_INPUT_SPACING_MS;
        if let Some(tick) = clock.newest(at) {
            let nearest = (tick - self.phase + 0.5).floor();
            self.slot = if self.slot > nearest + SLOT_AHEAD_RESET { nearest } else { self.slot.max(nearest) };
        }
    }

    /// A snapshot of our own ship: `waiting` if an input of ours was left in the server's
    /// buffer by its tick, `missed` if its tick (the one after the last snapshot's) applied
    /// none though one was on its way, `ack` the newest input it applied, `last_sent` the seq of
    /// the newest input sent. Leaves the next slot out when an input waits, and moves the phase
    /// (see the module docs).
    pub fn on_own_state(&mut self, waiting: bool, missed: bool, ack: u32, last_sent: u32) {
        // Not before the first paced input: the start-up timer's inputs have no slots.
        if self.slot == 0.0 {
            return;
        }
        if waiting && ack >= self.guard {
            self.slot += 1.0;
            self.skipped += 1;
            self.guard = last_sent;
        }
        if missed {
            self.phase = (self.phase - MISS_STEP).max(PHASE_FLOOR.min(self.chosen));
            self.calm = 0;
        } else {
            self.calm += 1;
            if self.calm >= CALM_TICKS {
                self.phase = (self.phase + RELAX_STEP).min(self.chosen);
                self.calm = 0;
            }
        }
    }

    /// When the next input is due (ms; in the past when one is due now): when its slot is,
    /// unless the rate limit holds it back.
    pub fn due_ms(&self, clock: &TickClock) -> f64 {
        let limit = self.limit_ms - (MAX_INPUT_BURST - 1.0) * MIN_INPUT_SPACING_MS;
        self.slot_due_ms(clock).max(limit)
    }

    /// When the next slot is due by the tick clock alone.
    fn slot_due_ms(&self, clock: &TickClock) -> f64 {
        let timer = self.sent_ms + f64::from(INPUT_PERIOD_MS);
        match clock.newest(timer) {
            // The first paced input: at the first phase point not sooner than the start-up
            // timer would have sent it, or it and the timer's last could reach the server in one
            // tick and stand in its buffer from then on, a tick of delay on every input. (Sent
            // at the timer's time instead, off the phase, it could land near a tick's edge and
            // the next, on the phase, in the same tick.)
            Some(tick) if self.slot == 0.0 || self.slot > tick + SLOT_AHEAD_RESET => {
                clock.arrival_ms((tick - self.phase).ceil() + self.phase).unwrap_or(timer)
            }
            Some(_) => clock.arrival_ms(self.slot + 1.0 + self.phase).unwrap_or(timer),
            None => timer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sends whenever due, polling every `poll_ms` from `from_ms` to `to_ms`; returns how many
    /// went out.
    fn send_when_due(pace: &mut Pace, clock: &TickClock, from_ms: f64, to_ms: f64, poll_ms: f64) -> u32 {
        let (mut now, mut sent) = (from_ms, 0);
        while now < to_ms {
            if now >= pace.due_ms(clock) {
                pace.sent(now, clock);
                sent += 1;
            }
            now += poll_ms;
        }
        sent
    }

    #[test]
    fn after_a_server_stall_inputs_go_on_at_once() {
        // A second of snapshots, then 20 s of none (inputs go on by the clock's reckoning), then
        // snapshots again from the next tick: the server's ticks went on from where they stopped.
        let tick_ms = 1000.0 / 30.0;
        let mut clock = TickClock::new(30);
        let mut pace = Pace::default();
        for k in 1..=30_u32 {
            clock.on_snapshot(u64::from(k), f64::from(k) * tick_ms);
            send_when_due(&mut pace, &clock, f64::from(k) * tick_ms, f64::from(k + 1) * tick_ms, 1.0);
        }
        let stall_end = 31.0 * tick_ms + 20_000.0;
        send_when_due(&mut pace, &clock, 31.0 * tick_ms, stall_end, 1.0);
        let mut sent = 0;
        for k in 31..=60_u32 {
            let at = stall_end + f64::from(k - 31) * tick_ms;
            clock.on_snapshot(u64::from(k), at);
            sent += send_when_due(&mut pace, &clock, at, at + tick_ms, 1.0);
        }
        // One a tick (the first tick or two may go to the fresh start).
        assert!((28..=31).contains(&sent), "{sent} inputs in the 30 ticks after the stall");
    }

    #[test]
    fn a_clock_gone_wrong_cannot_make_the_client_flood() {
        // A clock synced to a tick where one tick more is the same `f64` (what a forged tick of
        // 2^64 − 1 did): every slot was due at once, and a bot sent 160 000 inputs a second.
        let mut clock = TickClock::new(30);
        clock.on_snapshot(u64::MAX, 1000.0);
        let mut pace = Pace::default();
        let sent = send_when_due(&mut pace, &clock, 1000.0, 2000.0, 0.1);
        let most = (1000.0 / MIN_INPUT_SPACING_MS).ceil() + MAX_INPUT_BURST;
        assert!(f64::from(sent) <= most, "{sent} inputs in a second (at most {most})");
        // Nor in any one tick beyond the burst.
        let in_a_tick = send_when_due(&mut pace, &clock, 2000.0, 2000.0 + f64::from(INPUT_PERIOD_MS), 0.1);
        assert!(f64::from(in_a_tick) <= MAX_INPUT_BURST, "{in_a_tick} inputs in a tick");
    }

    #[test]
    fn the_limit_never_holds_back_a_sane_clock() {
        // Snapshots every tick on a clean link, the client's clock a tenth slow (its ticks are
        // 30 ms long): one input per tick, and never one held back by the limit.
        let mut clock = TickClock::new(30);
        let mut pace = Pace::default();
        let tick_local_ms = 1000.0 / 30.0 * 0.9;
        let mut sent = 0;
        let mut now = tick_local_ms;
        for k in 1..=300_u32 {
            let arrival = f64::from(k) * tick_local_ms;
            clock.on_snapshot(u64::from(k), arrival);
            while now < arrival + tick_local_ms {
                assert_eq!(pace.due_ms(&clock), pace.slot_due_ms(&clock), "held back at tick {k}");
                if now >= pace.due_ms(&clock) {
                    pace.sent(now, &clock);
                    sent += 1;
                }
                now += 0.25;
            }
        }
        assert!((298..=301).contains(&sent), "{sent} inputs for 300 ticks");
    }
}
