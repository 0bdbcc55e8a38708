//! The `Room` actor: owns one `World`, steps it on the drift-free 30 Hz schedule, encodes one
//! snapshot per tick and hands the same bytes to every player's session.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use bytes::Bytes;
use skirmish_shared::consts::{TICK_DURATION, TICK_RATE_HZ};
use skirmish_shared::schedule::{MAX_CATCHUP_STEPS, TickClock};
use skirmish_shared::{ChatLine, Input, Left, PlayerId, PlayerInfo, ServerMsg, Snapshot, Welcome, encode_server};

use crate::chat;
use crate::lobby::Lobby;
use crate::messages::{AddPlayer, ChatFrom, Leave, PlayerInput, ReliableFrame, RemovePlayer, SnapshotFrame, StopRoom};
use crate::player_session::PlayerSession;
use crate::stats::Stats;
use crate::world::{GameEvent, World};

/// Someone in this room: a player with a ship, or a spectator.
struct Member {
    info: PlayerInfo,
    session: Addr<PlayerSession>,
    /// The newest input not yet consumed. Inputs arriving between two ticks are merged into the
    /// newest (its `seq` acknowledges the older ones too): with client and server both at 30 Hz
    /// on different clocks, a queue consumed one per tick would random-walk up to its cap and
    /// add ticks of latency; latest-wins keeps input latency under one tick.
    latest: Option<Input>,
    /// Highest `seq` accepted, so the acknowledgement never moves backwards.
    last_seq: u32,
}

/// See the module docs.
pub struct Room {
    name: String,
    lobby: Addr<Lobby>,
    stats: Arc<Stats>,
    world: World,
    members: HashMap<PlayerId, Member>,
    clock: TickClock,
    /// Tick `n` is due at `start + due_nanos(n)`.
    start: Instant,
    /// Reused every tick so building a snapshot does not allocate the player list.
    snapshot: Snapshot,
    /// Reused every tick: the inputs the step consumes.
    tick_inputs: Vec<(PlayerId, Input)>,
    /// Reused every tick: what the step produced for players to hear about.
    events: Vec<GameEvent>,
}

impl Room {
    /// A room named `name` playing `world`; it starts ticking when started.
    pub fn new(name: String, lobby: Addr<Lobby>, stats: Arc<Stats>, world: World) -> Self {
        Self {
            name,
            lobby,
            stats,
            world,
            members: HashMap::new(),
            clock: TickClock::new(MAX_CATCHUP_STEPS),
            start: Instant::now(),
            snapshot: Snapshot::default(),
            tick_inputs: Vec::new(),
            events: Vec::new(),
        }
    }

    /// Sleeps until the next tick is due (never re-arming a fixed period, which drifts).
    fn schedule(&self, ctx: &mut Context<Self>) {
        let due = self.start + Duration::from_nanos(self.clock.next_due_nanos());
        ctx.run_later(due.saturating_duration_since(Instant::now()), |room, ctx| room.wake(ctx));
    }

    fn wake(&mut self, ctx: &mut Context<Self>) {
        let elapsed = u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let plan = self.clock.advance(elapsed);
        if plan.skipped > 0 {
            Stats::add(&self.stats.ticks_skipped, plan.skipped);
            tracing::warn!(room = %self.name, skipped = plan.skipped, "room fell behind; ticks skipped");
        }
        if plan.steps == 0 {
            return self.schedule(ctx);
        }
        let work = Instant::now();
        for _ in 0..plan.steps {
            self.step();
        }
        self.broadcast();
        let took = work.elapsed();
        self.stats.tick_seconds.observe(took.as_secs_f64());
        if plan.steps > 1 || took >= TICK_DURATION {
            Stats::inc(&self.stats.tick_overruns);
        }
        self.schedule(ctx);
    }

    fn step(&mut self) {
        self.tick_inputs.clear();
        for (id, member) in &mut self.members {
            if let Some(input) = member.latest.take() {
                self.tick_inputs.push((*id, input));
            }
        }
        self.world.step(&self.tick_inputs);
        Stats::inc(&self.stats.ticks);
        self.world.take_events(&mut self.events);
        if !self.events.is_empty() {
            let mut events = std::mem::take(&mut self.events);
            for event in events.drain(..) {
                self.announce(event);
            }
            self.events = events;
        }
    }

    /// Tells everyone about one game event (reliably, each message encoded once).
    fn announce(&mut self, event: GameEvent) {
        match event {
            GameEvent::Kill(kill) => {
                self.send_reliable(None, &ServerMsg::Kill(kill));
                let line = chat::kill_line(self.name_of(kill.killer), self.name_of(kill.victim));
                self.system_line(line);
            }
            GameEvent::Match(info) => {
                tracing::info!(room = %self.name, phase = ?info.phase, map = %info.map.name, "match phase");
                self.send_reliable(None, &ServerMsg::Match(info));
            }
            GameEvent::Results(results) => {
                tracing::info!(room = %self.name, winner = ?results.winner, next = %results.next_map, "match over");
                self.send_reliable(None, &ServerMsg::Results(results));
            }
        }
    }

    fn name_of(&self, id: PlayerId) -> &str {
        self.members.get(&id).map_or("someone", |m| m.info.name.as_str())
    }

    /// A system chat line (joins, leaves, kills) to everyone.
    fn system_line(&self, text: String) {
        self.send_reliable(None, &ServerMsg::Chat(ChatLine { from: None, text }));
    }

    /// Encodes the snapshot once and gives every session the same bytes.
    fn broadcast(&mut self) {
        let tick = self.clock.next_tick() - 1;
        self.world.snapshot_into(tick, &mut self.snapshot);
        let msg = ServerMsg::Snapshot(std::mem::take(&mut self.snapshot));
        let bytes = Bytes::from(encode_server(&msg));
        if let ServerMsg::Snapshot(snapshot) = msg {
            self.snapshot = snapshot;
        }
        let mut gone = Vec::new();
        for (id, member) in &self.members {
            if member.session.connected() {
                member.session.do_send(SnapshotFrame(bytes.clone()));
            } else {
                gone.push(*id);
            }
        }
        // A session that died without saying goodbye (e.g. before its join reply arrived) is
        // removed through the lobby, which keeps the authoritative membership.
        for id in gone {
            self.lobby.do_send(Leave { id, room: self.name.clone() });
        }
    }

    /// Encodes `msg` once and queues the same bytes to everyone (but `except`, if given).
    fn send_reliable(&self, except: Option<PlayerId>, msg: &ServerMsg) {
        let bytes = Bytes::from(encode_server(msg));
        for member in self.members.values().filter(|m| Some(m.info.id) != except) {
            member.session.do_send(ReliableFrame(bytes.clone()));
        }
    }

    /// The lowest palette slot no one in the room uses, so colours stay distinct.
    fn free_colour(&self) -> u32 {
        let used: Vec<u32> = self.members.values().map(|m| m.info.colour).collect();
        (0u32..).map(palette_colour).find(|c| !used.contains(c)).unwrap_or(0xffffff)
    }
}

/// Colour number `i`: hues spaced by the golden ratio, so any prefix of the sequence is spread
/// around the colour wheel.
pub fn palette_colour(i: u32) -> u32 {
    let hue = (f64::from(i) * 0.618_033_988_749_895 + 0.05).fract() * 6.0;
    let (s, l) = (0.75, 0.6);
    let c = (1.0 - (2.0 * l - 1.0f64).abs()) * s;
    let x = c * (1.0 - (hue % 2.0 - 1.0).abs());
    let (r, g, b) = match hue as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = l - c / 2.0;
    let byte = |v: f64| ((v + m) * 255.0).round().clamp(0.0, 255.0) as u32;
    (byte(r) << 16) | (byte(g) << 8) | byte(b)
}

impl Actor for Room {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.start = Instant::now();
        tracing::debug!(room = %self.name, hz = TICK_RATE_HZ, "room ticking");
        self.schedule(ctx);
    }
}

impl Handler<AddPlayer> for Room {
    type Result = ();

    fn handle(&mut self, msg: AddPlayer, _ctx: &mut Self::Context) {
        let name = unique_name(&msg.name, |n| self.members.values().any(|m| m.info.name == n));
        let info = PlayerInfo { id: msg.id, name, colour: self.free_colour(), spectator: msg.spectator };
        if !msg.spectator {
            // Joining mid-match means playing at once: the ship spawns now, whatever the phase.
            self.world.add_player(msg.id, &info.name);
        }
        self.members
            .insert(msg.id, Member { info: info.clone(), session: msg.session.clone(), latest: None, last_seq: 0 });
        Stats::inc(&self.stats.players);
        let mut players: Vec<PlayerInfo> = self.members.values().map(|m| m.info.clone()).collect();
        players.sort_by_key(|p| p.id);
        let welcome = ServerMsg::Welcome(Welcome {
            id: msg.id,
            arena: self.world.arena(),
            tick_rate: TICK_RATE_HZ,
            colour: info.colour,
            room: self.name.clone(),
            players,
            spectator: msg.spectator,
        });
        msg.session.do_send(ReliableFrame(Bytes::from(encode_server(&welcome))));
        let match_info = ServerMsg::Match(self.world.match_info());
        msg.session.do_send(ReliableFrame(Bytes::from(encode_server(&match_info))));
        self.send_reliable(Some(msg.id), &ServerMsg::Joined(info.clone()));
        self.system_line(chat::joined_line(&info.name));
        tracing::info!(
            room = %self.name, player = msg.id, name = %info.name, spectator = msg.spectator,
            members = self.members.len(), "player joined"
        );
    }
}

/// Two people may not share a name in one room: the later one gets a number appended (cut so
/// the result still fits `MAX_NAME_CHARS`).
pub fn unique_name(name: &str, taken: impl Fn(&str) -> bool) -> String {
    if !taken(name) {
        return name.to_owned();
    }
    (2u32..)
        .map(|i| {
            let suffix = format!("#{i}");
            let keep = skirmish_shared::consts::MAX_NAME_CHARS.saturating_sub(suffix.len());
            format!("{}{suffix}", name.chars().take(keep).collect::<String>().trim_end())
        })
        .find(|n| !taken(n))
        .unwrap_or_else(|| name.to_owned())
}

impl Handler<RemovePlayer> for Room {
    type Result = ();

    fn handle(&mut self, msg: RemovePlayer, _ctx: &mut Self::Context) {
        if let Some(member) = self.members.remove(&msg.id) {
            self.world.remove_player(msg.id);
            Stats::dec(&self.stats.players);
            self.send_reliable(Some(msg.id), &ServerMsg::Left(Left { id: msg.id }));
            self.system_line(chat::left_line(&member.info.name));
            tracing::info!(room = %self.name, player = msg.id, members = self.members.len(), "player left");
        }
    }
}

impl Handler<PlayerInput> for Room {
    type Result = ();

    fn handle(&mut self, msg: PlayerInput, _ctx: &mut Self::Context) {
        let Some(member) = self.members.get_mut(&msg.id) else { return };
        // One TCP stream keeps inputs in order; a lower seq can only come from a confused or
        // hostile client, and must not move the acknowledgement backwards. Spectators have no
        // ship to steer (their sessions drop inputs already; this is the backstop).
        if msg.input.seq <= member.last_seq || member.info.spectator {
            Stats::inc(&self.stats.inputs_dropped);
            return;
        }
        member.last_seq = msg.input.seq;
        member.latest = Some(msg.input);
    }
}

impl Handler<ChatFrom> for Room {
    type Result = ();

    fn handle(&mut self, msg: ChatFrom, _ctx: &mut Self::Context) {
        if self.members.contains_key(&msg.id) {
            self.send_reliable(None, &ServerMsg::Chat(ChatLine { from: Some(msg.id), text: msg.text }));
        }
    }
}

impl Handler<StopRoom> for Room {
    type Result = ();

    fn handle(&mut self, _msg: StopRoom, ctx: &mut Self::Context) {
        ctx.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::{palette_colour, unique_name};

    #[test]
    fn duplicate_names_get_a_number_and_still_fit() {
        let taken = ["Twin", "Twin#2", "ABCDEFGHIJKLMNOP"];
        let is_taken = |n: &str| taken.contains(&n);
        assert_eq!(unique_name("Solo", is_taken), "Solo");
        assert_eq!(unique_name("Twin", is_taken), "Twin#3");
        let long = unique_name("ABCDEFGHIJKLMNOP", is_taken);
        assert_eq!(long, "ABCDEFGHIJKLMN#2");
        assert_eq!(long.chars().count(), skirmish_shared::consts::MAX_NAME_CHARS);
        // A cut that leaves a trailing space trims it rather than showing "Some #2".
        assert_eq!(unique_name("Abcdefghijklm xy", |n| n == "Abcdefghijklm xy"), "Abcdefghijklm#2");
    }

    #[test]
    fn palette_colours_are_distinct_and_valid() {
        let colours: Vec<u32> = (0..64).map(palette_colour).collect();
        for (i, a) in colours.iter().enumerate() {
            assert!(*a <= 0xffffff);
            assert!(!colours[i + 1..].contains(a), "colour {i} repeats");
        }
    }
}
