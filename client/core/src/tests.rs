//! Unit tests of the client core, driven with server messages encoded as the server encodes them
//! (`delta::encode`, `encode_server`) and a fake clock.

use glam::IVec2;
use skirmish_shared::bits::BitWriter;
use skirmish_shared::delta::{self, BulletEnt, Frame, PickupEnt, ShipEnt};
use skirmish_shared::{BulletState, Left, OwnState, PickupKind, Snapshot, Welcome, decode_client, encode_server};

use super::*;

const TICK_MS: f64 = 1000.0 / 30.0;

fn bytes(msg: ServerMsg) -> Vec<u8> {
    encode_server(&msg)
}

fn welcome_as(id: PlayerId, spectator: bool) -> Vec<u8> {
    bytes(ServerMsg::Welcome(Welcome {
        id,
        arena: Vec2::new(1600.0, 1000.0),
        tick_rate: 30,
        colour: 0xff0000,
        room: "main".into(),
        players: vec![PlayerInfo { id, name: "me".into(), colour: 0xff0000, spectator }],
        spectator,
        rejoin: String::new(),
    }))
}

/// Feeds one frame; the events it gave.
fn feed(c: &mut Client, frame: &[u8], now_ms: f64) -> Result<Vec<Event>, ClientError> {
    let mut events = Vec::new();
    c.on_message(frame, now_ms, &mut events).map(|()| events)
}

/// Feeds one frame that must give exactly one event.
fn one(c: &mut Client, frame: &[u8], now_ms: f64) -> Event {
    let mut events = feed(c, frame, now_ms).expect("accepted");
    assert_eq!(events.len(), 1, "{events:?}");
    events.pop().expect("one event")
}

/// Another ship at (`x`, `y`) world units (which must be whole or half units).
fn ship(id: PlayerId, x: f32, y: f32) -> ShipEnt {
    ShipEnt { id, pos: (Vec2::new(x, y) * 2.0).as_ivec2(), aim: 64, health: 100, flags: PlayerState::ALIVE }
}

/// Our own ship at `x` world units, having consumed input `ack`.
fn own(id: PlayerId, x: f32, ack: u32) -> OwnState {
    OwnState {
        id,
        pos: IVec2::new((x * 8.0) as i32, 800),
        vel: IVec2::new(16 * 50, 0),
        aim: 128,
        ack,
        health: 100,
        flags: PlayerState::ALIVE,
        cooldown: 0,
        rapid_ticks: 0,
    }
}

fn frame(tick: u64, ships: Vec<ShipEnt>) -> Frame {
    Frame { tick, ships, ..Frame::default() }
}

/// A snapshot of `cur` as a delta against `base` (`None`: a full snapshot).
fn snapshot(base: Option<&Frame>, cur: &Frame, me: Option<OwnState>) -> Vec<u8> {
    let empty = Frame::default();
    let mut w = BitWriter::new();
    delta::encode(&mut w, cur.tick, base.unwrap_or(&empty).lists(), cur.lists());
    bytes(ServerMsg::Snapshot(Snapshot {
        tick: cur.tick,
        base: base.map_or(0, |b| b.tick),
        phase: Phase::Playing,
        time_left_ms: 1000,
        me,
        ents: w.as_bytes().to_vec(),
    }))
}

/// A full snapshot with only our ship (id 7) at `x`, having consumed input `ack`.
fn own_only(tick: u64, x: f32, ack: u32) -> Vec<u8> {
    snapshot(None, &frame(tick, vec![]), Some(own(7, x, ack)))
}

fn joined() -> Client {
    let mut c = Client::new("me", Some("lan".into()));
    c.on_open();
    assert_eq!(one(&mut c, &welcome_as(7, false), 0.0), Event::Welcome { id: 7 });
    c
}

fn decoded(frame: Option<Vec<u8>>) -> ClientMsg {
    decode_client(&frame.expect("a frame"), MAX_FRAME_BYTES).expect("a valid client message")
}

#[test]
fn states_follow_the_handshake() {
    let mut c = Client::new("me", None);
    assert_eq!(c.state(), &ConnState::Connecting);
    assert!(c.input(Vec2::X, 0.0, 0, 0.0).is_none(), "no input before Welcome");
    c.on_open();
    assert_eq!(c.state(), &ConnState::Joining);
    assert!(feed(&mut c, &own_only(1, 0.0, 0), 0.0).is_err(), "snapshot before Welcome");
    assert!(c.ack_frame().is_none());
    one(&mut c, &welcome_as(1, false), 0.0);
    assert_eq!(c.state(), &ConnState::Playing);
    assert!(feed(&mut c, &welcome_as(1, false), 0.0).is_err(), "second Welcome");
    c.on_close(1012, "restart");
    assert_eq!(c.state(), &ConnState::Closed { code: 1012, reason: "restart".into() });
}

#[test]
fn hello_names_the_room_and_leaves_private_and_rejoin_unset_unless_asked() {
    let mut c = Client::new("me", Some("lan".into())).ask_to_spectate(true);
    let ClientMsg::Hello(h) = decoded(Some(c.on_open())) else { panic!("not Hello") };
    assert_eq!(h.version, PROTOCOL_VERSION);
    assert_eq!(h.room.as_deref(), Some("lan"));
    assert!(h.spectate && !h.private && h.rejoin.is_none());
}

#[test]
fn inputs_are_sequenced_clamped_and_acknowledge_the_newest_snapshot() {
    let mut c = joined();
    let (ClientMsg::Input(a), ClientMsg::Input(b)) = (
        decoded(c.input(Vec2::new(5.0, f32::NAN), 100.0, 1, 0.0)),
        decoded(c.input(Vec2::new(-0.5, 0.5), 1.0, 0, 0.0)),
    ) else {
        panic!("not inputs")
    };
    assert_eq!((a.seq, b.seq), (1, 2));
    assert_eq!(a.mv, Vec2::ZERO, "NaN stick becomes no input");
    assert!(a.aim.abs() <= std::f32::consts::PI + 1e-4, "aim wrapped: {}", a.aim);
    assert_eq!(b.mv, Vec2::new(-0.5, 0.5));
    assert_eq!((a.ack, a.view_tick), (0, 0), "nothing received, nothing drawn");
    assert_eq!(c.stats().inputs_sent, 2);

    one(&mut c, &own_only(10, 0.0, 0), 1000.0);
    let ClientMsg::Input(i) = decoded(c.input(Vec2::X, 0.0, 0, 1000.0 + 1.5 * TICK_MS)) else { panic!("not input") };
    assert_eq!(i.ack, 10, "the newest snapshot is the baseline");
    assert_eq!(i.view_tick, 9, "drawn two ticks behind the newest, which arrived 1.5 ticks ago");
    assert_eq!(c.newest_tick(), 10);
}

#[test]
fn acks_give_latency_once_per_input() {
    let mut c = joined();
    c.input(Vec2::X, 0.0, 0, 1000.0);
    c.input(Vec2::X, 0.0, 0, 1033.0);
    c.input(Vec2::X, 0.0, 0, 1066.0);
    let ev = one(&mut c, &own_only(10, 0.0, 2), 1070.0);
    assert_eq!(ev, Event::Snapshot { tick: 10, tick_gap: 1, acked_latency_ms: vec![70.0, 37.0] });
    // The same ack again measures nothing new.
    let ev = one(&mut c, &own_only(11, 0.0, 2), 1100.0);
    assert_eq!(ev, Event::Snapshot { tick: 11, tick_gap: 1, acked_latency_ms: vec![] });
    let ev = one(&mut c, &own_only(14, 0.0, 3), 1166.0);
    assert_eq!(ev, Event::Snapshot { tick: 14, tick_gap: 3, acked_latency_ms: vec![100.0] });
    assert_eq!(c.stats().snapshots, 3);
    assert_eq!(c.stats().ticks_missed, 2);
}

#[test]
fn full_then_delta_snapshots_reproduce_the_view() {
    let mut c = joined();
    let bullet =
        BulletEnt { id: 4, owner: 9, origin: IVec2::new(800, 800), vel: IVec2::new(900 * 16, 0), tick: 1, seq: 0 };
    let pickup = PickupEnt { id: 2, kind: 1, pos: IVec2::new(80, 160) };
    let f1 = Frame {
        tick: 1,
        ships: vec![ship(3, 10.0, 20.0), ship(9, 500.5, 600.0)],
        bullets: vec![bullet],
        pickups: vec![pickup],
    };
    one(&mut c, &snapshot(None, &f1, Some(own(7, 100.0, 0))), 0.0);
    let v = c.latest().expect("a view");
    assert_eq!(v.tick, 1);
    assert_eq!(v.players.iter().map(|p| p.id).collect::<Vec<_>>(), [3, 7, 9], "by id, our ship included");
    let me = c.my_state().expect("our ship");
    assert_eq!((me.pos, me.vel, me.health), (Vec2::new(100.0, 100.0), Vec2::new(50.0, 0.0), 100));
    assert!((me.aim - std::f32::consts::PI).abs() < 1e-6, "128/256 of a turn");
    let other = v.player(9).expect("ship 9");
    assert_eq!((other.pos, other.vel), (Vec2::new(500.5, 600.0), Vec2::ZERO), "no velocity from one view");
    assert!((other.aim - std::f32::consts::FRAC_PI_2).abs() < 1e-6);
    assert_eq!(v.bullets, [BulletState { id: 4, owner: 9, pos: Vec2::new(100.0, 100.0), vel: Vec2::new(900.0, 0.0) }]);
    assert_eq!(v.pickups, [PickupState { id: 2, kind: PickupKind::RapidFire, pos: Vec2::new(10.0, 20.0) }]);

    // Tick 2 against 1: ship 9 moves 10 units right, ship 3 leaves, ship 12 enters, the bullet
    // flies on, the pickup is taken.
    let f2 = Frame {
        tick: 2,
        ships: vec![ship(9, 510.5, 600.0), ship(12, 1.0, 1.0)],
        bullets: vec![bullet],
        pickups: vec![],
    };
    one(&mut c, &snapshot(Some(&f1), &f2, Some(own(7, 101.0, 0))), TICK_MS);
    let v = c.latest().expect("a view");
    assert_eq!(v.players.iter().map(|p| p.id).collect::<Vec<_>>(), [7, 9, 12]);
    let other = v.player(9).expect("ship 9");
    assert_eq!(other.pos, Vec2::new(510.5, 600.0));
    assert!((other.vel - Vec2::new(300.0, 0.0)).length() < 1e-3, "10 units in a tick: {}", other.vel);
    assert_eq!(v.player(12).expect("ship 12").vel, Vec2::ZERO, "new in view");
    assert!((v.bullets[0].pos - Vec2::new(130.0, 100.0)).length() < 1e-3, "{:?}", v.bullets);
    assert!(v.pickups.is_empty());

    // Tick 4 against 2 (3 was skipped): unchanged ships are carried over; a dead ship has no
    // velocity.
    let mut f4 = f2.clone();
    f4.tick = 4;
    f4.ships[1] = ShipEnt { flags: 0, health: 0, ..ship(12, 50.0, 1.0) };
    f4.bullets.clear();
    let ev = one(&mut c, &snapshot(Some(&f2), &f4, Some(own(7, 102.0, 0))), 3.0 * TICK_MS);
    assert_eq!(ev, Event::Snapshot { tick: 4, tick_gap: 2, acked_latency_ms: vec![] });
    let v = c.latest().expect("a view");
    assert_eq!(v.player(9).map(|p| (p.pos, p.vel)), Some((Vec2::new(510.5, 600.0), Vec2::ZERO)));
    assert_eq!(v.player(12).map(|p| (p.alive(), p.vel)), Some((false, Vec2::ZERO)));
    assert!(v.bullets.is_empty());
    assert_eq!(c.subject(), Some(7));
}

#[test]
fn an_unknown_base_asks_for_a_full_snapshot_and_one_recovers() {
    let mut c = joined();
    let f1 = frame(1, vec![ship(3, 10.0, 10.0)]);
    let f2 = frame(2, vec![ship(3, 12.0, 10.0)]);
    one(&mut c, &snapshot(None, &f1, Some(own(7, 0.0, 0))), 0.0);
    one(&mut c, &snapshot(Some(&f1), &f2, Some(own(7, 0.0, 0))), TICK_MS);
    let ClientMsg::Input(i) = decoded(c.input(Vec2::ZERO, 0.0, 0, TICK_MS)) else { panic!("not input") };
    assert_eq!(i.ack, 2);

    // A delta against tick 99, which this client never had.
    let f99 = frame(99, vec![]);
    let f3 = frame(3, vec![ship(3, 14.0, 10.0)]);
    let bad = snapshot(Some(&f99), &f3, Some(own(7, 0.0, 0)));
    assert_eq!(feed(&mut c, &bad, 2.0 * TICK_MS), Err(ClientError::UnknownBase));
    assert_eq!(c.latest().map(|v| v.tick), Some(2), "nothing applied");
    let ClientMsg::Input(i) = decoded(c.input(Vec2::ZERO, 0.0, 0, 2.0 * TICK_MS)) else { panic!("not input") };
    assert_eq!(i.ack, 0, "asks for a full snapshot");
    assert!(c.ack_frame().is_none(), "0 already acknowledged in the input");

    // Deltas against a held baseline still apply meanwhile; the request stands.
    let f4 = frame(4, vec![ship(3, 16.0, 10.0)]);
    one(&mut c, &snapshot(Some(&f2), &f4, Some(own(7, 0.0, 0))), 3.0 * TICK_MS);
    let ClientMsg::Input(i) = decoded(c.input(Vec2::ZERO, 0.0, 0, 3.0 * TICK_MS)) else { panic!("not input") };
    assert_eq!(i.ack, 0);

    // The full snapshot recovers.
    let f5 = frame(5, vec![ship(3, 18.0, 10.0), ship(8, 1.0, 1.0)]);
    one(&mut c, &snapshot(None, &f5, Some(own(7, 0.0, 0))), 4.0 * TICK_MS);
    assert_eq!(c.latest().map(|v| v.players.len()), Some(3));
    let ClientMsg::Input(i) = decoded(c.input(Vec2::ZERO, 0.0, 0, 4.0 * TICK_MS)) else { panic!("not input") };
    assert_eq!(i.ack, 5);
    let f6 = frame(6, vec![ship(8, 2.0, 1.0)]);
    one(&mut c, &snapshot(Some(&f5), &f6, Some(own(7, 0.0, 0))), 5.0 * TICK_MS);
    assert_eq!(c.latest().map(|v| v.players.iter().map(|p| p.id).collect::<Vec<_>>()), Some(vec![7, 8]));

    // Malformed records are refused the same way.
    let mut broken = Snapshot { tick: 7, base: 6, ..Default::default() };
    broken.ents = vec![0xff; 3];
    assert!(matches!(feed(&mut c, &bytes(ServerMsg::Snapshot(broken)), 0.0), Err(ClientError::Records(_))));
    let ClientMsg::Ack(a) = decoded(c.ack_frame()) else { panic!("not an ack") };
    assert_eq!(a.tick, 0);
}

#[test]
fn a_batch_gives_one_event_per_message() {
    let mut c = joined();
    let eve = PlayerInfo { id: 9, name: "Eve".into(), colour: 0x00ff00, spectator: false };
    let batch = ServerMsg::Batch(vec![
        ServerMsg::Joined(eve.clone()),
        ServerMsg::Chat(ChatLine { from: Some(9), text: "hi".into() }),
        ServerMsg::Kill(Kill { killer: 9, victim: 7 }),
        ServerMsg::Scores(vec![ScoreLine { id: 9, kills: 1, deaths: 0 }]),
        ServerMsg::Radar(Radar { width: 2, height: 1, cells: vec![0, 3] }),
    ]);
    let events = feed(&mut c, &bytes(batch), 5.0).expect("accepted");
    assert_eq!(
        events,
        [
            Event::Joined(eve),
            Event::Chat(ChatEntry { from: Some("Eve".into()), colour: 0x00ff00, text: "hi".into() }),
            Event::Kill(Kill { killer: 9, victim: 7 }),
            Event::Scores(vec![ScoreLine { id: 9, kills: 1, deaths: 0 }]),
            Event::Radar,
        ]
    );
    // A message that makes no sense is refused; the rest of its batch still applies.
    let batch = ServerMsg::Batch(vec![ServerMsg::Pong(Ping { id: 99 }), ServerMsg::Left(Left { id: 9 })]);
    let mut events = Vec::new();
    assert!(c.on_message(&bytes(batch), 6.0, &mut events).is_err());
    assert_eq!(events, [Event::Left(9)]);
    assert!(!c.roster().contains_key(&9));
}

#[test]
fn scores_follow_the_table_and_restart_with_each_match() {
    let mut c = joined();
    let info = |phase| MatchInfo { phase, map: Default::default(), score_limit: 20, match_secs: 300 };
    // After Welcome: the match and the whole table.
    one(&mut c, &bytes(ServerMsg::Match(info(Phase::Playing))), 0.0);
    let table = vec![ScoreLine { id: 7, kills: 2, deaths: 1 }, ScoreLine { id: 9, kills: 5, deaths: 0 }];
    one(&mut c, &bytes(ServerMsg::Scores(table)), 0.0);
    one(&mut c, &snapshot(None, &frame(1, vec![ship(9, 1.0, 1.0), ship(11, 2.0, 2.0)]), Some(own(7, 0.0, 0))), 0.0);
    let kd = |c: &Client, id| c.latest().and_then(|v| v.player(id)).map(|p| (p.kills, p.deaths));
    assert_eq!((kd(&c, 7), kd(&c, 9), kd(&c, 11)), (Some((2, 1)), Some((5, 0)), Some((0, 0))));

    // Changes only; the next view shows them, and carries the others' over.
    one(&mut c, &bytes(ServerMsg::Scores(vec![ScoreLine { id: 7, kills: 3, deaths: 1 }])), 0.0);
    assert_eq!(c.scores()[&7], ScoreLine { id: 7, kills: 3, deaths: 1 });
    assert_eq!(c.scores()[&9].kills, 5);
    let f1 = frame(1, vec![ship(9, 1.0, 1.0), ship(11, 2.0, 2.0)]);
    let f2 = frame(2, vec![ship(9, 1.0, 1.0), ship(11, 2.0, 2.0), ship(12, 3.0, 3.0)]);
    one(&mut c, &snapshot(Some(&f1), &f2, Some(own(7, 0.0, 0))), TICK_MS);
    assert_eq!((kd(&c, 7), kd(&c, 9), kd(&c, 12)), (Some((3, 1)), Some((5, 0)), Some((0, 0))));
    one(&mut c, &bytes(ServerMsg::Scores(vec![ScoreLine { id: 12, kills: 1, deaths: 0 }])), 0.0);
    let f3 = frame(3, f2.ships.clone());
    one(&mut c, &snapshot(Some(&f2), &f3, Some(own(7, 0.0, 0))), 2.0 * TICK_MS);
    assert_eq!((kd(&c, 7), kd(&c, 9), kd(&c, 12)), (Some((3, 1)), Some((5, 0)), Some((1, 0))));
    one(&mut c, &bytes(ServerMsg::Left(Left { id: 9 })), 0.0);
    assert!(!c.scores().contains_key(&9), "who left is off the table");

    // The results keep the table; the next match starts from zero, whether it counts down at
    // once or waits for players first.
    one(&mut c, &bytes(ServerMsg::Match(info(Phase::Results))), 0.0);
    assert_eq!(c.scores()[&7].kills, 3);
    one(&mut c, &bytes(ServerMsg::Match(info(Phase::Countdown))), 0.0);
    assert_eq!(c.scores()[&7], ScoreLine { id: 7, kills: 0, deaths: 0 });
    let f4 = frame(4, f3.ships.clone());
    one(&mut c, &snapshot(Some(&f3), &f4, Some(own(7, 0.0, 0))), 3.0 * TICK_MS);
    assert_eq!((kd(&c, 7), kd(&c, 12)), (Some((0, 0)), Some((0, 0))), "views follow the reset");
    one(&mut c, &bytes(ServerMsg::Scores(vec![ScoreLine { id: 7, kills: 0, deaths: 0 }])), 0.0);
    one(&mut c, &bytes(ServerMsg::Match(info(Phase::Playing))), 0.0);
    one(&mut c, &bytes(ServerMsg::Scores(vec![ScoreLine { id: 7, kills: 1, deaths: 0 }])), 0.0);
    assert_eq!(c.scores()[&7].kills, 1, "countdown to playing is the same match");
    one(&mut c, &bytes(ServerMsg::Match(info(Phase::Results))), 0.0);
    one(&mut c, &bytes(ServerMsg::Match(info(Phase::Waiting))), 0.0);
    assert_eq!(c.scores()[&7].kills, 0);
    // Kills while waiting do not count; the countdown starts from zero again.
    one(&mut c, &bytes(ServerMsg::Scores(vec![ScoreLine { id: 7, kills: 4, deaths: 0 }])), 0.0);
    one(&mut c, &bytes(ServerMsg::Match(info(Phase::Countdown))), 0.0);
    assert_eq!(c.scores()[&7].kills, 0);
}

#[test]
fn the_roster_is_complete_after_a_short_welcome_or_roster() {
    let info = |id: PlayerId| PlayerInfo { id, name: format!("p{id}"), colour: 1, spectator: false };
    let c = joined();
    assert!(c.roster_complete(), "a Welcome of one player lists everyone");

    // A full Welcome: chunks follow until a short one, which may be empty.
    let full = |ids: std::ops::RangeInclusive<PlayerId>| ids.map(info).collect::<Vec<_>>();
    let mut c = Client::new("me", None);
    c.on_open();
    let welcome = Welcome {
        id: 7,
        arena: Vec2::splat(1000.0),
        tick_rate: 30,
        colour: 1,
        room: "main".into(),
        players: full(7..=7 + ROSTER_CHUNK_PLAYERS as u32 - 1),
        spectator: false,
        rejoin: String::new(),
    };
    one(&mut c, &bytes(ServerMsg::Welcome(welcome)), 0.0);
    assert!(!c.roster_complete(), "a full Welcome: more may come");
    assert_eq!(one(&mut c, &bytes(ServerMsg::Roster(full(100..=131))), 0.0), Event::Roster(32));
    assert!(!c.roster_complete(), "a full chunk: more may come");
    assert_eq!(one(&mut c, &bytes(ServerMsg::Roster(vec![])), 0.0), Event::Roster(0));
    assert!(c.roster_complete(), "a short chunk, here empty, ends it");
    assert_eq!(c.roster().len(), 64);
}

#[test]
fn the_radar_is_kept_until_the_next() {
    let mut c = joined();
    assert!(c.radar().is_none());
    let radar = Radar { width: 3, height: 2, cells: vec![0, 1, 0, 0, 0, 7] };
    assert_eq!(one(&mut c, &bytes(ServerMsg::Radar(radar.clone())), 0.0), Event::Radar);
    assert_eq!(c.radar(), Some(&radar));
    let next = Radar { width: 3, height: 2, cells: vec![0; 6] };
    one(&mut c, &bytes(ServerMsg::Radar(next.clone())), 0.0);
    assert_eq!(c.radar(), Some(&next));
}

#[test]
fn a_spectator_acknowledges_and_chooses_whom_to_follow() {
    let mut c = Client::new("eye", None).ask_to_spectate(true);
    c.on_open();
    assert!(c.follow(Some(3)).is_none(), "not before Welcome");
    one(&mut c, &welcome_as(20, true), 0.0);
    assert!(c.is_spectator());
    assert!(c.ack_frame().is_none(), "nothing to acknowledge yet");
    let ClientMsg::Follow(f) = decoded(c.follow(Some(3))) else { panic!("not Follow") };
    assert_eq!(f.id, Some(3));
    let ClientMsg::Follow(f) = decoded(c.follow(None)) else { panic!("not Follow") };
    assert_eq!(f.id, None);

    // The view is the followed player's; its input acks are not ours to measure (even if the
    // spectator sent an input of its own, which the server ignores).
    c.input(Vec2::ZERO, 0.0, 0, 0.0);
    let f1 = frame(1, vec![ship(5, 1.0, 1.0)]);
    let ev = one(&mut c, &snapshot(None, &f1, Some(own(3, 10.0, 40))), 0.0);
    assert_eq!(ev, Event::Snapshot { tick: 1, tick_gap: 1, acked_latency_ms: vec![] });
    assert_eq!(c.subject(), Some(3));
    assert!(c.my_state().is_none(), "a spectator has no ship");
    assert!(c.ships(0.0).iter().any(|s| s.id == 3 && s.me), "the followed ship is the focus");
    let ClientMsg::Ack(a) = decoded(c.ack_frame()) else { panic!("not an ack") };
    assert_eq!(a.tick, 1);
    assert!(c.ack_frame().is_none(), "once per snapshot");
    let f2 = frame(2, vec![ship(5, 2.0, 1.0)]);
    one(&mut c, &snapshot(Some(&f1), &f2, Some(own(3, 10.0, 41))), TICK_MS);
    let ClientMsg::Ack(a) = decoded(c.ack_frame()) else { panic!("not an ack") };
    assert_eq!(a.tick, 2);

    // Nobody to follow.
    one(&mut c, &snapshot(Some(&f2), &frame(3, vec![]), None), 2.0 * TICK_MS);
    assert_eq!((c.subject(), c.latest().map(|v| v.players.len())), (None, Some(0)));

    let mut player = joined();
    assert!(player.follow(Some(3)).is_none(), "players may not follow: the server would close");
}

#[test]
fn views_reuse_their_buffers() {
    let mut c = joined();
    let mut base: Option<Frame> = None;
    let mut buffers = std::collections::BTreeSet::new();
    for tick in 1..=100u64 {
        let cur = frame(tick, (1..=30).map(|id| ship(id * 2, tick as f32, id as f32)).collect());
        let msg = snapshot(base.as_ref(), &cur, Some(own(7, 0.0, 0)));
        one(&mut c, &msg, tick as f64 * TICK_MS);
        // Acknowledged at once: the server's next baseline is this tick.
        base = Some(cur);
        if tick > 20 {
            buffers.insert(c.latest().expect("a view").players.as_ptr() as usize);
        }
    }
    assert!(buffers.len() <= 10, "{} player lists for 80 snapshots", buffers.len());
}

#[test]
fn roster_follows_joins_and_leaves() {
    let mut c = joined();
    let bob = PlayerInfo { id: 9, name: "bob".into(), colour: 0x00ff00, spectator: false };
    assert_eq!(one(&mut c, &bytes(ServerMsg::Joined(bob.clone())), 0.0), Event::Joined(bob));
    assert_eq!(c.roster().len(), 2);
    one(&mut c, &snapshot(None, &frame(1, vec![ship(9, 20.0, 0.0)]), Some(own(7, 10.0, 0))), 0.0);
    let ships = c.ships(0.0);
    assert_eq!(ships.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["me", "bob"]);
    assert!(ships[0].me && !ships[1].me);
    assert_eq!(one(&mut c, &bytes(ServerMsg::Left(Left { id: 9 })), 0.0), Event::Left(9));
    assert_eq!(c.roster().len(), 1);
}

#[test]
fn roster_chunks_after_welcome_name_the_ships_already_there() {
    let mut c = joined();
    one(&mut c, &snapshot(None, &frame(1, vec![ship(9, 20.0, 0.0)]), Some(own(7, 10.0, 0))), 0.0);
    // A ship whose roster line has not come yet is drawn, unnamed.
    assert_eq!(c.ships(0.0).iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["me", "?"]);
    let ada = PlayerInfo { id: 9, name: "Ada".into(), colour: 0x112233, spectator: false };
    let eve = PlayerInfo { id: 10, name: "Eve".into(), colour: 0x445566, spectator: true };
    let chunk = ServerMsg::Roster(vec![ada.clone(), eve.clone()]);
    assert_eq!(one(&mut c, &bytes(chunk), 0.0), Event::Roster(2));
    assert_eq!(c.roster().get(&9), Some(&ada));
    assert_eq!(c.roster().get(&10), Some(&eve));
    let ships = c.ships(0.0);
    assert_eq!((ships[1].name.as_str(), ships[1].colour), ("Ada", 0x112233));
}

#[test]
fn pong_measures_round_trip() {
    let mut c = joined();
    let ping = c.ping(500.0);
    assert!(c.ping(600.0).is_none(), "one ping outstanding at a time");
    let ClientMsg::Ping(p) = decoded(ping) else { panic!("not a ping") };
    assert_eq!(one(&mut c, &bytes(ServerMsg::Pong(p)), 542.0), Event::Pong { rtt_ms: 42.0 });
    assert_eq!(c.rtt_ms(), Some(42.0));
    assert!(feed(&mut c, &bytes(ServerMsg::Pong(Ping { id: 999 })), 600.0).is_err());
    // While an answer is awaited longer than the last round trip, the ping shown is that wait:
    // on a link seconds behind, the last good round trip said nothing was wrong.
    assert_eq!(c.ping_ms(1000.0), Some(42.0));
    let _ = c.ping(2000.0).expect("the next ping");
    assert_eq!(c.ping_ms(2030.0), Some(42.0), "within the last round trip");
    assert_eq!(c.ping_ms(2500.0), Some(500.0));
    assert_eq!(c.ping_ms(9000.0), Some(7000.0), "counted from the first unanswered, lost ones too");
    let _ = c.ping(9000.0).expect("the one before counts as lost");
    assert_eq!(c.ping_ms(9500.0), Some(7500.0));
    // A connection that is gone has no round trip: the HUD must not go on showing the last.
    c.on_close(1006, "");
    assert_eq!(c.rtt_ms(), None);
    assert_eq!(c.ping_ms(9500.0), None);
}

#[test]
fn an_unanswered_ping_counts_as_lost_after_the_shared_limit() {
    use skirmish_shared::consts::PING_LOST_AFTER_MS;
    let mut c = joined();
    let lost = PING_LOST_AFTER_MS as f64;
    let first = decoded(c.ping(1000.0));
    assert!(c.ping(1000.0 + lost - 1.0).is_none(), "still outstanding");
    let ClientMsg::Ping(second) = decoded(c.ping(1000.0 + lost)) else { panic!("not a ping") };
    let ClientMsg::Ping(first) = first else { panic!("not a ping") };
    assert_ne!(first.id, second.id);
    // The late answer to the lost one is not taken for the new one's round trip, nor for an
    // error (a link slower than the limit sends it).
    assert_eq!(feed(&mut c, &bytes(ServerMsg::Pong(first)), 1000.0 + lost + 10.0), Ok(vec![]));
    assert_eq!(c.rtt_ms(), None);
    assert!(feed(&mut c, &bytes(ServerMsg::Pong(Ping { id: 0 })), 1000.0 + lost + 10.0).is_err(), "never sent");
}

#[test]
fn interpolates_between_snapshots() {
    let mut c = joined();
    let mut base: Option<Frame> = None;
    for (i, x) in [0.0f32, 30.0, 60.0, 90.0].iter().enumerate() {
        let cur = frame(i as u64 + 1, vec![ship(9, *x, 0.0)]);
        one(&mut c, &snapshot(base.as_ref(), &cur, None), i as f64 * TICK_MS);
        base = Some(cur);
    }
    // At the newest arrival the draw time is 2 ticks back: tick 2, x = 30.
    let at_newest = c.ships(3.0 * TICK_MS)[0].pos.x;
    assert!((at_newest - 30.0).abs() < 1e-3, "{at_newest}");
    // Half a tick later: halfway between ticks 2 and 3.
    let half = c.ships(3.5 * TICK_MS)[0].pos.x;
    assert!((half - 45.0).abs() < 1e-3, "{half}");
    // Past the newest snapshot it goes on along its motion a little (3 ticks of 30 units),
    // then holds instead of running off.
    let late = c.ships(6.0 * TICK_MS)[0].pos.x;
    assert!((late - 120.0).abs() < 1e-3, "{late}");
    assert_eq!(c.ships(10_000.0)[0].pos.x, 90.0 + MAX_EXTRAPOLATION_TICKS as f32 * 30.0);
}

#[test]
fn with_jittered_arrivals_a_ship_at_constant_speed_never_goes_backwards() {
    // 20 s of snapshots of a ship flying +x at 10 units a tick, each arriving 0–80 ms late
    // (in order, as over TCP), drawn at 60 frames a second.
    let mut c = joined();
    let mut base: Option<Frame> = None;
    let mut noise = 7_u64;
    let (mut arrival, mut frame_at, mut last_x) = (0.0_f64, 0.0_f64, f32::MIN);
    for tick in 1..=600_u64 {
        noise = noise.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let late_ms = (noise >> 40) as f64 / f64::from(1u32 << 24) * 80.0;
        arrival = arrival.max(tick as f64 * TICK_MS + late_ms);
        while frame_at < arrival {
            if let Some(s) = c.ships(frame_at).first() {
                assert!(s.pos.x >= last_x, "drawn backwards at {frame_at} ms: {last_x} → {}", s.pos.x);
                last_x = s.pos.x;
            }
            frame_at += 1000.0 / 60.0;
        }
        let cur = frame(tick, vec![ship(9, tick as f32 * 10.0, 0.0)]);
        one(&mut c, &snapshot(base.as_ref(), &cur, None), arrival);
        base = Some(cur);
    }
    assert!(last_x > 5000.0, "{last_x}");
    assert!(c.clock().jitter_ms() > 5.0 && c.clock().target_delay() > 2.0, "{:?}", c.clock());
}

#[test]
fn bullets_advance_along_their_path() {
    let mut c = joined();
    // Fired at tick 1 from x = 0 at 900 units/s: 30 units per tick.
    let bullet = BulletEnt { id: 1, owner: 7, origin: IVec2::ZERO, vel: IVec2::new(900 * 16, 0), tick: 1, seq: 3 };
    let mut base: Option<Frame> = None;
    for tick in 1..=3u64 {
        let cur = Frame { tick, bullets: vec![bullet], ..Frame::default() };
        one(&mut c, &snapshot(base.as_ref(), &cur, None), (tick - 1) as f64 * TICK_MS);
        base = Some(cur);
    }
    // Draw time is tick 1.5 at the newest arrival + half a tick: halfway from 0 to 30.
    let b = c.bullets(2.5 * TICK_MS);
    assert_eq!(b.len(), 1);
    assert!((b[0].pos.x - 15.0).abs() < 1e-3, "{:?}", b[0]);
    assert_eq!(b[0].colour, 0xff0000);
}

#[test]
fn garbage_from_the_server_is_an_error() {
    let mut c = joined();
    let mut events = Vec::new();
    assert!(matches!(c.on_message(&[0xc1, 0xff], 0.0, &mut events), Err(ClientError::Decode(_))));
    assert!(c.on_message(&vec![0x91; 10_000], 0.0, &mut events).is_err());
    assert!(events.is_empty());
}

#[test]
fn chat_lines_resolve_names_and_are_bounded() {
    let mut c = joined();
    let line = ServerMsg::Chat(ChatLine { from: Some(7), text: "<b>hi</b>".into() });
    let Event::Chat(entry) = one(&mut c, &bytes(line), 0.0) else { panic!("not chat") };
    assert_eq!(entry, ChatEntry { from: Some("me".into()), colour: 0xff0000, text: "<b>hi</b>".into() });
    let system = bytes(ServerMsg::Chat(ChatLine { from: None, text: "bob joined".into() }));
    for _ in 0..MAX_CHAT_LOG + 5 {
        one(&mut c, &system, 0.0);
    }
    assert_eq!(c.chat_log().len(), MAX_CHAT_LOG);
    assert_eq!(c.chat_log().back().unwrap().from, None);
}

#[test]
fn outgoing_chat_is_trimmed_cut_and_checked() {
    let mut c = joined();
    let ClientMsg::Chat(chat) = decoded(c.chat("  hello  ")) else { panic!("not chat") };
    assert_eq!(chat.text, "hello");
    let ClientMsg::Chat(chat) = decoded(c.chat(&"y".repeat(500))) else { panic!("not chat") };
    assert_eq!(chat.text.chars().count(), MAX_CHAT_CHARS);
    assert!(c.chat("   ").is_none());
    assert!(c.chat("bad\u{202E}").is_none());
    // What the page tells the player instead of sending: the rule broken, none for nothing.
    assert_eq!(Client::chat_refusal("bad\u{202E}"), Some("chat line has control, bidi or zero-width characters"));
    assert_eq!(Client::chat_refusal("soft\u{AD}hyphen"), Some("chat line has control, bidi or zero-width characters"));
    assert_eq!(Client::chat_refusal("shrug \u{1F937}\u{200D}\u{2642}"), None, "joined emoji are sent");
    assert_eq!(Client::chat_refusal("   "), None);
    assert_eq!(Client::chat_refusal(&"y".repeat(500)), None, "cut, then sent");
    assert_eq!(Client::chat_refusal("hello"), None);
}

#[test]
fn kills_feed_and_results_are_kept() {
    let mut c = joined();
    for victim in 0..20 {
        one(&mut c, &bytes(ServerMsg::Kill(Kill { killer: 7, victim })), f64::from(victim));
    }
    assert_eq!(c.kill_feed().count(), MAX_KILL_FEED);
    // A player who leaves is still named where it outlives it (the kill feed), for a while.
    let joined =
        |id: PlayerId| ServerMsg::Joined(PlayerInfo { id, name: format!("P{id}"), colour: 7, spectator: false });
    one(&mut c, &bytes(joined(7)), 0.0);
    one(&mut c, &bytes(ServerMsg::Left(Left { id: 7 })), 0.0);
    assert!(c.roster().get(&7).is_none());
    assert_eq!(c.player(7).map(|p| p.name.as_str()), Some("P7"));
    for id in 100..100 + 2 * MAX_KILL_FEED as PlayerId {
        one(&mut c, &bytes(joined(id)), 0.0);
        one(&mut c, &bytes(ServerMsg::Left(Left { id })), 0.0);
    }
    assert!(c.player(7).is_none(), "only the last {} departures are kept", 2 * MAX_KILL_FEED);
    assert_eq!(c.player(100).map(|p| p.name.as_str()), Some("P100"));
    let results = Results { winner: Some(7), scores: vec![], next_map: "x".into() };
    one(&mut c, &bytes(ServerMsg::Results(results.clone())), 0.0);
    assert_eq!(c.results(), Some(&results));
    let info = MatchInfo { phase: Phase::Countdown, map: Default::default(), score_limit: 20, match_secs: 300 };
    one(&mut c, &bytes(ServerMsg::Match(info)), 0.0);
    assert_eq!(c.results(), None, "a new match clears the results");
}

#[test]
fn the_protocol_doc_snapshots_decode_into_views() {
    let hex = |s: &str| -> Vec<u8> { s.split_whitespace().map(|b| u8::from_str_radix(b, 16).expect("hex")).collect() };
    let mut c = Client::new("Ada", None);
    c.on_open();
    one(&mut c, &welcome_as(1, false), 0.0);
    // PROTOCOL.md: a full snapshot at tick 120, then a delta against it.
    let full = hex(
        "81 a1 73 96 78 00 a1 70 ce 00 04 80 58 99 01 92 cd 19 00 cd 0f a0 92 00 00 14 07 64 01 00 00 c4 1e 11 00 01 f4 40 01 32 20 28 22 90 80 06 60 00 03 e8 0e 10 00 00 08 a1 20 00 4b 00 00 32 00",
    );
    let delta = hex(
        "81 a1 73 96 79 78 a1 70 ce 00 04 80 36 99 01 92 cd 19 00 cd 0f a0 92 00 00 14 08 64 01 00 00 c4 05 a0 70 00 03 00",
    );
    one(&mut c, &full, 0.0);
    let v = c.latest().expect("a view");
    assert_eq!((v.tick, v.phase, v.time_left_ms), (120, Phase::Playing, 295_000));
    assert_eq!(c.my_state().map(|p| (p.pos, p.ack)), Some((Vec2::new(800.0, 500.0), 7)));
    assert_eq!((v.players.len(), v.bullets.len(), v.pickups.len()), (2, 1, 1), "{v:?}");
    let before = v.player(2).expect("ship 2").pos;
    one(&mut c, &delta, TICK_MS);
    let v = c.latest().expect("a view");
    assert_ne!(v.player(2).expect("ship 2").pos, before, "ship 2 moved");
    assert_eq!((v.bullets.len(), v.pickups.len()), (1, 0), "the bullet flies on, the pickup was taken");
    assert_eq!(c.my_state().map(|p| p.ack), Some(8));
}

/// A server ticking at 30 Hz and a client whose clock runs `rate` times as fast, on a link with
/// `latency_ms` each way and no jitter, for `seconds`: snapshot `n` leaves at `n` ticks of
/// server time; the client looks every `poll_ms` of its own time and sends when
/// [`Client::input_due_ms`] says. Returns how many inputs reached the server between each two
/// ticks (index `n`: after tick `n`, up to tick `n + 1`, the one that applies them).
fn inputs_per_tick(rate: f64, latency_ms: f64, poll_ms: f64, seconds: f64) -> Vec<u32> {
    let mut c = joined();
    // Local time = offset + rate × server time.
    let offset = 12_345.6;
    let (local, server) = (|t: f64| offset + rate * t, |l: f64| (l - offset) / rate);
    let ticks = (seconds * 30.0) as u64;
    let mut counts = vec![0u32; ticks as usize + 10];
    let mut next_snapshot = 1u64;
    let mut now = local(0.0);
    while server(now) < ticks as f64 * TICK_MS {
        while (next_snapshot as f64) * TICK_MS + latency_ms <= server(now) {
            feed(&mut c, &own_only(next_snapshot, 0.0, 0), now).expect("snapshot");
            next_snapshot += 1;
        }
        if now >= c.input_due_ms() {
            c.input(Vec2::X, 0.0, 0, now).expect("playing");
            let arrives = server(now) + latency_ms;
            counts[(arrives / TICK_MS).floor() as usize] += 1;
        }
        now += poll_ms;
    }
    counts.truncate(ticks as usize - 1);
    counts
}

#[test]
fn the_client_sends_one_input_per_server_tick_whatever_its_clock_does() {
    for (rate, latency_ms, poll_ms) in [
        (1.001, 0.2, 1.0),  // loopback, client clock 0.1 % fast
        (0.999, 0.2, 1.0),  // loopback, 0.1 % slow
        (1.01, 75.0, 4.0),  // a distant server, a clock 1 % fast, a coarse timer
        (0.99, 75.0, 0.25), // and 1 % slow
    ] {
        let counts = inputs_per_tick(rate, latency_ms, poll_ms, 120.0);
        // From 5 s on (the estimate settles within a few snapshots): every tick gets exactly
        // one input, so none is dropped or repeated, and each waits less than a tick.
        let settled = &counts[150..];
        let wrong: Vec<(usize, u32)> =
            settled.iter().enumerate().filter(|(_, n)| **n != 1).map(|(i, n)| (i + 150, *n)).collect();
        assert!(wrong.is_empty(), "rate {rate}, latency {latency_ms} ms: ticks without exactly one input: {wrong:?}");
    }
}

#[test]
fn before_the_first_snapshot_inputs_follow_the_input_period() {
    let mut c = joined();
    assert!(c.input_due_ms() < 0.0, "the first input is due at once");
    c.input(Vec2::X, 0.0, 0, 500.0);
    assert_eq!(c.input_due_ms(), 500.0 + f64::from(skirmish_shared::consts::INPUT_PERIOD_MS));
    // Snapshot 10 arrives at 1000 ms: an input is due (the timer's was). Sent then, at the
    // tick's edge, it fills the slot nearest to it, so the next is due at the following
    // tick's half (not half a tick later, which the server would get in the same tick).
    one(&mut c, &own_only(10, 0.0, 0), 1000.0);
    assert!(c.input_due_ms() <= 1000.0);
    c.input(Vec2::X, 0.0, 0, 1000.0);
    assert!((c.input_due_ms() - (1000.0 + 1.5 * TICK_MS)).abs() < 1e-6, "{}", c.input_due_ms());
    c.input(Vec2::X, 0.0, 0, c.input_due_ms());
    assert!((c.input_due_ms() - (1000.0 + 2.5 * TICK_MS)).abs() < 1e-6, "sent exactly when due: the next tick's");
    c.input(Vec2::X, 0.0, 0, c.input_due_ms() - 1.0);
    assert!((c.input_due_ms() - (1000.0 + 3.5 * TICK_MS)).abs() < 1e-6, "sent a little early: that slot's input");
}

/// What [`buffered_server`] saw, tick by tick.
#[derive(Debug, Default)]
struct ServerSide {
    /// Seqs in the order the server applied them.
    applied: Vec<u32>,
    /// Ticks that found the buffer empty and repeated the input in force.
    repeats: Vec<u64>,
    /// Ticks that left an input waiting for a later tick.
    waiting: Vec<u64>,
}

/// A server that applies one input per tick from its buffer, as the room does (without its
/// one-second drain), and a client sending when [`Client::input_due_ms`] says, for `seconds`.
/// Snapshot `n` leaves at `n` ticks and carries the seq tick `n` applied and whether an input
/// was left waiting; it arrives 0.2 ms later. An input sent at server time `t` with seq `s` arrives `up_ms(t, s)` later, never
/// before the one sent before it (one TCP stream).
fn buffered_server(seconds: f64, up_ms: impl Fn(f64, u32) -> f64) -> ServerSide {
    buffered_server_with(joined(), seconds, up_ms).0
}

/// When the page looks whether to send an input.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Page {
    /// On a fine timer (every 0.25 ms), sending when [`Client::input_due_ms`] says.
    Shown,
    /// Only when a snapshot arrives (with [`Client::input_due_by_next_snapshot`]) and on a
    /// timer that runs once a second: a hidden browser tab, whose timers are throttled but
    /// whose messages are not.
    Hidden,
}

/// [`buffered_server`] with a given client, returned at the end.
fn buffered_server_with(c: Client, seconds: f64, up_ms: impl Fn(f64, u32) -> f64) -> (ServerSide, Client) {
    buffered_server_as(Page::Shown, c, seconds, up_ms)
}

/// [`buffered_server_with`] for a page that looks when `page` says.
fn buffered_server_as(
    page: Page,
    mut c: Client,
    seconds: f64,
    up_ms: impl Fn(f64, u32) -> f64,
) -> (ServerSide, Client) {
    let offset = 777.7; // the client's clock = server time + offset
    let ticks = (seconds * 30.0) as u64;
    let mut side = ServerSide::default();
    let (mut in_flight, mut buffer) = (VecDeque::<(f64, u32)>::new(), VecDeque::<u32>::new());
    let mut snapshots = VecDeque::<(f64, u64, u32, bool)>::new();
    let (mut next_seq, mut last_applied, mut t) = (1u32, 0u32, 0.0);
    for tick in 1..=ticks {
        let tick_at = tick as f64 * TICK_MS;
        while t < tick_at {
            let mut arrived = false;
            while let Some(&(at, n, ack, waiting)) = snapshots.front()
                && at <= t
            {
                let mut me = own(7, 0.0, ack);
                if waiting {
                    me.flags |= PlayerState::INPUT_WAITING;
                }
                feed(&mut c, &snapshot(None, &frame(n, vec![]), Some(me)), t + offset).expect("snapshot");
                snapshots.pop_front();
                arrived = true;
            }
            let due = match page {
                Page::Shown => t + offset >= c.input_due_ms(),
                Page::Hidden => {
                    let timer = (t / 0.25) as u64 % 4000 == 1234;
                    (arrived && c.input_due_by_next_snapshot(t + offset)) || (timer && t + offset >= c.input_due_ms())
                }
            };
            if due {
                c.input(Vec2::X, 0.0, 0, t + offset).expect("playing");
                let after = in_flight.back().map_or(0.0, |&(at, _)| at);
                in_flight.push_back(((t + up_ms(t, next_seq)).max(after), next_seq));
                next_seq += 1;
            }
            t += 0.25;
        }
        while let Some(&(at, seq)) = in_flight.front()
            && at <= tick_at
        {
            buffer.push_back(seq);
            in_flight.pop_front();
        }
        match buffer.pop_front() {
            Some(seq) => {
                side.applied.push(seq);
                last_applied = seq;
            }
            None if last_applied > 0 => side.repeats.push(tick),
            None => {}
        }
        if !buffer.is_empty() {
            side.waiting.push(tick);
        }
        snapshots.push_back((tick_at + 0.2, tick, last_applied, !buffer.is_empty()));
    }
    (side, c)
}

/// Ticks from `from` on in `ticks`.
fn from(ticks: &[u64], from: u64) -> Vec<u64> {
    ticks.iter().copied().filter(|&t| t >= from).collect()
}

#[test]
fn an_input_that_missed_its_tick_leaves_no_backlog_behind() {
    // On a clean 1 ms link, input 300 (10 s in) is held up 40 ms: it misses its tick.
    let side = buffered_server(20.0, |_, seq| if seq == 300 { 41.0 } else { 1.0 });
    assert_eq!(side.applied, (1..=side.applied.len() as u32).collect::<Vec<_>>(), "every input once, in order");
    let settled = 150;
    let repeats = from(&side.repeats, settled);
    assert_eq!(repeats.len(), 1, "the tick it missed repeats: {repeats:?}");
    // That tick's input and the next land together, and one waits; the client sees it in the
    // next snapshot and leaves a slot out, so the next tick takes the waiting one: one
    // waiting tick, or two if the snapshot came too late for the slot (not thirty).
    let waiting = from(&side.waiting, settled);
    assert!(!waiting.is_empty() && waiting.len() <= 2, "waiting at {waiting:?}, repeat at {repeats:?}");
    assert!(waiting[0] > repeats[0] && waiting[waiting.len() - 1] <= repeats[0] + 3, "{waiting:?}");
}

#[test]
fn a_link_that_slows_down_then_speeds_up_leaves_no_backlog() {
    // The one-way delay goes from 1 ms to 60 ms 10 s in, and back to 1 ms 10 s later. Slowing
    // down leaves the server a couple of ticks without an input (repeats), nothing waits.
    // Speeding up brings the inputs still on the slow path and the first on the fast one
    // together: two wait, and the client drains them a slot per round trip.
    let up = |t: f64, _| if (10_000.0..20_000.0).contains(&t) { 60.0 } else { 1.0 };
    let side = buffered_server(30.0, up);
    assert_eq!(side.applied, (1..=side.applied.len() as u32).collect::<Vec<_>>(), "every input once, in order");
    let repeats = from(&side.repeats, 150);
    assert!(!repeats.is_empty() && repeats.iter().all(|&t| (300..310).contains(&t)), "{repeats:?}");
    let waiting = from(&side.waiting, 150);
    assert!(!waiting.is_empty() && waiting.iter().all(|&t| (600..610).contains(&t)), "{waiting:?}");
}

#[test]
fn on_a_steady_link_no_slot_is_left_out() {
    let side = buffered_server(20.0, |_, _| 1.0);
    assert!(from(&side.repeats, 150).is_empty() && from(&side.waiting, 150).is_empty(), "{side:?}");
}

#[test]
fn inputs_that_miss_their_tick_move_the_phase_earlier_until_they_make_it() {
    // One input in twenty is held up 20 ms on the way: sent half a tick after the snapshot
    // (the default phase), it misses its tick. Each miss moves the phase earlier, until even
    // the held-up ones make it; then it creeps back a little and misses now and then.
    let spiky = |_, seq: u32| if seq.wrapping_mul(2_654_435_761).is_multiple_of(20) { 21.0 } else { 1.0 };
    let (side, c) = buffered_server_with(joined(), 60.0, spiky);
    assert_eq!(side.applied, (1..=side.applied.len() as u32).collect::<Vec<_>>(), "every input once, in order");
    let settled = 30 * 10;
    let repeats = from(&side.repeats, settled).len();
    let ticks = 30 * 50;
    // At the default phase every held-up input would miss: 75 repeats in these 50 s.
    assert!(repeats * 100 < ticks, "{repeats} repeats in {ticks} ticks");
    assert!(c.pace.phase < 0.4 && c.pace.phase >= 0.1, "phase {}", c.pace.phase);
    assert!(from(&side.waiting, settled).len() <= repeats * 2, "{:?}", from(&side.waiting, settled));

    // On a clean link the phase stays where it was chosen.
    let (side, c) = buffered_server_with(joined(), 20.0, |_, _| 1.0);
    assert!(side.repeats.is_empty() && c.pace.phase == pace::SEND_PHASE_TICKS, "{}", c.pace.phase);
}

#[test]
fn a_hidden_page_sends_one_input_per_tick_from_its_messages() {
    // A hidden tab looks only when a snapshot arrives (and once a second on its throttled
    // timer): it sends then the input due before the next snapshot, one a tick, none missing
    // its tick and none waiting, on a clean link and on a slow one.
    for up in [1.0, 45.0] {
        let (side, c) = buffered_server_as(Page::Hidden, joined(), 20.0, |_, _| up);
        assert_eq!(side.applied, (1..=side.applied.len() as u32).collect::<Vec<_>>(), "every input once, in order");
        let settled = 60;
        assert!(from(&side.repeats, settled).is_empty(), "{up} ms: ticks without an input: {:?}", side.repeats);
        assert!(from(&side.waiting, settled).is_empty(), "{up} ms: ticks leaving one waiting: {:?}", side.waiting);
        assert_eq!(c.inputs_left_out(), 0, "{up} ms");
    }
}

#[test]
fn an_input_sent_before_its_time_fills_the_slot_due() {
    // A hidden page sends as each snapshot arrives, half a tick before the input's time.
    let mut c = joined();
    let arrives = |n: u64| 1000.0 + (n - 10) as f64 * TICK_MS;
    for n in 10..=20 {
        one(&mut c, &own_only(n, 0.0, 0), arrives(n));
        if c.input_due_by_next_snapshot(arrives(n)) {
            c.input(Vec2::X, 0.0, 0, arrives(n)).expect("playing");
        }
        assert!(!c.input_due_by_next_snapshot(arrives(n)), "one input a snapshot");
    }
    // Snapshot 21 comes 3 ms early, nearer to slot 20's time than to slot 21's: the input sent
    // fills slot 21 all the same, so another message in this tick sends nothing more.
    let early = arrives(21) - 3.0;
    one(&mut c, &own_only(21, 0.0, 0), early);
    assert!(c.input_due_by_next_snapshot(early));
    c.input(Vec2::X, 0.0, 0, early).expect("playing");
    assert!(!c.input_due_by_next_snapshot(early + 1.0), "the second message of the tick sends another input");
    assert!((c.input_due_ms() - (arrives(22) + 0.5 * TICK_MS)).abs() < 1.0, "next due {}", c.input_due_ms());
}

#[test]
fn a_client_that_does_not_draw_keeps_the_frames_and_its_own_ship_only() {
    let mut drawing = joined();
    let mut headless = Client::new("me", Some("lan".into())).draws(false);
    headless.on_open();
    one(&mut headless, &welcome_as(7, false), 0.0);
    let f1 = frame(1, vec![ship(2, 100.0, 100.0), ship(3, 300.0, 100.0)]);
    let f2 = frame(2, vec![ship(2, 110.0, 100.0)]);
    let f3 = frame(3, vec![ship(2, 120.0, 100.0), ship(4, 500.0, 500.0)]);
    let frames = [
        snapshot(None, &f1, Some(own(7, 50.0, 0))),
        snapshot(Some(&f1), &f2, Some(own(7, 60.0, 0))),
        snapshot(Some(&f2), &f3, Some(own(7, 70.0, 0))),
    ];
    for (i, bytes) in frames.iter().enumerate() {
        let now = i as f64 * TICK_MS;
        assert_eq!(feed(&mut drawing, bytes, now), feed(&mut headless, bytes, now), "the same events");
    }
    // The protocol side is the same: acknowledgement, clock, own ship.
    assert_eq!(headless.newest_tick(), 3);
    assert_eq!(decoded(headless.ack_frame()), decoded(drawing.ack_frame()));
    assert_eq!(headless.input_due_ms(), drawing.input_due_ms());
    assert_eq!(headless.my_state().map(|p| p.pos), drawing.my_state().map(|p| p.pos));
    assert_eq!(headless.my_state().map(|p| p.id), Some(7));
    // The drawing client has every ship in its view; the other keeps only its own ...
    assert_eq!(drawing.latest().map(|v| v.players.len()), Some(3));
    assert_eq!(headless.latest().map(|v| v.players.len()), Some(1));
    assert!(headless.ships(3.0 * TICK_MS).iter().all(|s| s.me));
    // ... and reads the others from the newest frame and the one before, in both clients.
    let (newest, before) = headless.frames();
    assert_eq!(newest, Some(&f3));
    assert_eq!(before, Some(&f2));
    assert_eq!(drawing.frames(), (Some(&f3), Some(&f2)));
    // Nor does it keep the room's names or scores; the events are the same.
    let eve = PlayerInfo { id: 9, name: "eve".into(), colour: 0x00ff00, spectator: false };
    let batch = bytes(ServerMsg::Batch(vec![
        ServerMsg::Joined(eve.clone()),
        ServerMsg::Roster(vec![PlayerInfo { id: 10, ..eve.clone() }]),
        ServerMsg::Scores(vec![ScoreLine { id: 9, kills: 1, deaths: 0 }]),
    ]));
    assert_eq!(feed(&mut drawing, &batch, 100.0), feed(&mut headless, &batch, 100.0));
    assert_eq!(drawing.roster().len(), 3);
    assert_eq!(drawing.scores().get(&9), Some(&ScoreLine { id: 9, kills: 1, deaths: 0 }));
    assert!(headless.roster().is_empty());
    assert!(headless.scores().get(&9).is_none());
}

#[test]
fn a_forged_snapshot_tick_is_refused_and_inputs_stay_at_one_per_tick() {
    // A proxy rewrote one snapshot's tick (mitm.py's `tickmax`, `tickfar`, …). Before, u64::MAX
    // and jumps of 2^53 and more made every input due at once (a bot sent 160 000 a second until
    // the server closed it for flooding), and smaller jumps left every later snapshot refused as
    // older until the server dropped the client for not reading.
    for forged in [u64::MAX, 60 + (1 << 63), 60 + (1 << 53), 60 + (1 << 40), 60 + 1_000_000, 60 + 1000 * 30] {
        let mut c = joined();
        let (mut now, mut inputs, mut next_tick) = (1000.0, 0_u32, 1_u64);
        let arrival = |tick: u64| 1000.0 + tick as f64 * TICK_MS;
        while next_tick <= 300 {
            if now >= arrival(next_tick) {
                if next_tick == 60 {
                    let refused = feed(&mut c, &own_only(forged, 0.0, 0), now);
                    assert_eq!(refused.err(), Some(ClientError::TickTooFarAhead), "tick {forged}");
                }
                feed(&mut c, &own_only(next_tick, 0.0, 0), now)
                    .unwrap_or_else(|e| panic!("tick {next_tick} after the forged {forged}: {e}"));
                next_tick += 1;
            }
            if now >= c.input_due_ms() {
                let ClientMsg::Input(input) = decoded(c.input(Vec2::X, 0.0, 0, now)) else { panic!("not input") };
                assert!(input.ack < next_tick, "acknowledges only ticks the server sent: {input:?}");
                inputs += 1;
            }
            now += 0.25;
        }
        assert_eq!(c.newest_tick(), 300);
        // One input per tick: 300 ticks, the first few on the start-up timer.
        assert!((295..=302).contains(&inputs), "{inputs} inputs over 300 ticks after the forged tick {forged}");
    }
}
