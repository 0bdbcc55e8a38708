//! What the DOM HUD says: status, clock, health, score, ping, FPS, the scoreboard rows and the
//! results. Plain strings and rows here (unit-tested natively); `ui` puts them in the page with
//! `textContent`. Tests read these elements over WebDriver, so their wording is an interface:
//! `#status` always contains "connecting", "joining", "playing", "spectating" or "Disconnected".

use std::collections::BTreeMap;

use skirmish_client::{ConnState, IdMap};
use skirmish_shared::consts::{SCOREBOARD_TOP, SCORES_ALL_MAX_PLAYERS};
use skirmish_shared::{Phase, PlayerId, PlayerInfo, PlayerState, Results, ScoreLine};

/// Lines the live scoreboard shows (plus ours when it is lower): a room of thousands would
/// otherwise fill the page and be rebuilt at every kill. The server keeps exactly these lines
/// current for everyone in a big room.
pub const SCOREBOARD_ROWS: usize = SCOREBOARD_TOP;

/// The status line for a connection state.
pub fn status_text(state: &ConnState, name: &str, room: &str, spectator: bool) -> String {
    match state {
        ConnState::Connecting => "connecting…".to_owned(),
        ConnState::Joining => "joining…".to_owned(),
        ConnState::Playing if spectator => format!("spectating as {name} in room {room}"),
        ConnState::Playing => format!("playing as {name} in room {room}"),
        ConnState::Closed { code, reason } => closed_text(*code, reason),
    }
}

/// "Disconnected (1012: server restarting)"; browsers give 1006 and no reason when the
/// connection dropped without a close frame, so that case gets words of its own.
pub fn closed_text(code: u16, reason: &str) -> String {
    match (code, reason.trim()) {
        (1006, "") => "Disconnected (1006: connection lost)".to_owned(),
        (code, "") => format!("Disconnected ({code})"),
        (code, reason) => format!("Disconnected ({code}: {reason})"),
    }
}

/// The ping display.
pub fn ping_text(rtt_ms: Option<f64>) -> String {
    match rtt_ms {
        // Rounded through an integer: float formatting would add kilobytes to the wasm.
        Some(ms) => format!("ping {} ms", ms.max(0.0).round() as u64),
        None => "ping – ms".to_owned(),
    }
}

/// The player count display (spectators not counted).
pub fn players_text(count: usize) -> String {
    match count {
        1 => "1 player".to_owned(),
        n => format!("{n} players"),
    }
}

/// The match clock: the phase's label, with the time left where it has an end.
pub fn clock_text(phase: Phase, ms_left: u32) -> String {
    // Rounded up: "0:00" only once time is really up, and "Starting in 1" during the last second.
    let secs = ms_left.div_ceil(1000);
    match phase {
        Phase::Waiting => "Waiting for players".to_owned(),
        Phase::Countdown => format!("Starting in {secs}"),
        Phase::Playing => format!("{}:{:02}", secs / 60, secs % 60),
        // Also the clock under the results panel, and the line a spectator sees without it.
        Phase::Results => format!("Next match in {secs}"),
    }
}

/// `#health`: our health as a number, "–" with no ship (spectating, not yet spawned).
pub fn health_text(me: Option<&PlayerState>) -> String {
    me.map_or_else(|| "–".to_owned(), |s| s.health.to_string())
}

/// `#score`: our kills and deaths this match, or those of the player a spectator follows (none
/// without a score line yet).
pub fn score_text(me: Option<&ScoreLine>) -> String {
    let (k, d) = me.map_or((0, 0), |s| (s.kills, s.deaths));
    let plural = |n: u16, word: &str| if n == 1 { format!("1 {word}") } else { format!("{n} {word}s") };
    format!("{} · {}", plural(k, "kill"), plural(d, "death"))
}

/// Frames per second over half-second windows: steady enough to read, quick to react.
#[derive(Debug, Default)]
pub struct FpsMeter {
    window_start_ms: Option<f64>,
    frames: u32,
    fps: Option<u32>,
}

impl FpsMeter {
    /// Counts a frame drawn at `now_ms`; returns the rate of the last full window, if any.
    pub fn frame(&mut self, now_ms: f64) -> Option<u32> {
        let start = *self.window_start_ms.get_or_insert(now_ms);
        self.frames += 1;
        let elapsed = now_ms - start;
        if elapsed >= 500.0 {
            self.fps = Some((f64::from(self.frames - 1) * 1000.0 / elapsed).round() as u32);
            self.window_start_ms = Some(now_ms);
            self.frames = 1;
        }
        self.fps
    }
}

/// `#fps`.
pub fn fps_text(fps: Option<u32>) -> String {
    fps.map_or_else(|| "– fps".to_owned(), |f| format!("{f} fps"))
}

/// One scoreboard line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Place on the board, from 1; `None` below the top of a big room, where the others' lines
    /// are not all current and only "below the top" is known.
    pub rank: Option<usize>,
    /// The player.
    pub id: PlayerId,
    /// Name, as the server accepted it.
    pub name: String,
    /// Colour as `0xRRGGBB`.
    pub colour: u32,
    /// Kills this match.
    pub kills: u16,
    /// Deaths this match.
    pub deaths: u16,
    /// True for our own line.
    pub me: bool,
}

/// The live scoreboard: every player in the room (not only those in view), with the score table's
/// kills and deaths (none without a line yet), best first (most kills, then fewest deaths, then
/// who joined first: [`ScoreLine::rank_key`]). Spectators have no line. The first
/// [`SCOREBOARD_ROWS`] lines, and ours after them when it is lower, without its place in a room
/// of more than [`SCORES_ALL_MAX_PLAYERS`] players, where the server keeps only the top and our
/// own line current (the top is still exact), or while `roster_complete` is false: a newcomer's
/// roster of a big room comes in chunks, and until the last one the room looks smaller than it
/// is (the top is in the first chunk, so it is exact from the start).
pub fn scoreboard(
    scores: &IdMap<ScoreLine>,
    roster: &BTreeMap<PlayerId, PlayerInfo>,
    roster_complete: bool,
    me: Option<PlayerId>,
) -> Vec<Row> {
    // Each line as one number that orders best first; only the top lines are kept, in order, by
    // insertion (no general sort: its code would cost the download several kilobytes).
    let key = |id: PlayerId| scores.get(&id).copied().unwrap_or(ScoreLine { id, kills: 0, deaths: 0 }).rank_key();
    let players = || roster.values().filter(|p| !p.spectator).map(|p| key(p.id));
    let mut top: Vec<u64> = Vec::with_capacity(SCOREBOARD_ROWS + 1);
    for k in players() {
        let at = top.partition_point(|&t| t < k);
        if at < SCOREBOARD_ROWS {
            top.insert(at, k);
            top.truncate(SCOREBOARD_ROWS);
        }
    }
    let row = |rank: Option<usize>, k: u64| {
        let id = k as PlayerId;
        let info = roster.get(&id);
        Row {
            rank,
            id,
            name: info.map_or_else(|| format!("#{id}"), |i| i.name.clone()),
            colour: info.map_or(0xffffff, |i| i.colour),
            kills: u16::MAX - (k >> 48) as u16,
            deaths: (k >> 32) as u16,
            me: Some(id) == me,
        }
    };
    let mut rows: Vec<Row> = top.iter().enumerate().map(|(i, &k)| row(Some(i + 1), k)).collect();
    if let Some(mine) = me.filter(|id| roster.get(id).is_some_and(|p| !p.spectator)).map(key)
        && !top.contains(&mine)
    {
        let all_current = roster_complete && players().count() <= SCORES_ALL_MAX_PLAYERS;
        rows.push(row(all_current.then(|| players().filter(|&k| k < mine).count() + 1), mine));
    }
    rows
}

/// A row's place as a board of `rows` rows writes it: our own row below the top of a big room
/// (the last row, without a rank) only says that it is below.
pub fn rank_text(rank: Option<usize>, rows: usize) -> String {
    rank.map_or_else(|| format!("{rows}+"), |r| r.to_string())
}

/// The final scoreboard from `Results` (already best first), colours from the roster. A big
/// room's results hold only the best lines; when ours is not among them, `mine` (our line of the
/// score table, current for our own player) follows them without a rank, as on the live board.
pub fn results_rows(
    results: &Results,
    roster: &BTreeMap<PlayerId, PlayerInfo>,
    me: Option<PlayerId>,
    mine: Option<ScoreLine>,
) -> Vec<Row> {
    let colour = |id: PlayerId| roster.get(&id).map_or(0xffffff, |i| i.colour);
    let mut rows: Vec<Row> = results
        .scores
        .iter()
        .enumerate()
        .map(|(i, s)| Row {
            rank: Some(i + 1),
            id: s.id,
            name: s.name.clone(),
            colour: colour(s.id),
            kills: s.kills,
            deaths: s.deaths,
            me: Some(s.id) == me,
        })
        .collect();
    if let Some(line) = mine.filter(|l| Some(l.id) == me && !rows.iter().any(|r| r.me)) {
        let name = roster.get(&line.id).map_or_else(|| format!("#{}", line.id), |i| i.name.clone());
        let (id, kills, deaths) = (line.id, line.kills, line.deaths);
        rows.push(Row { rank: None, id, name, colour: colour(id), kills, deaths, me: true });
    }
    rows
}

/// The results headline.
pub fn winner_text(results: &Results, me: Option<PlayerId>) -> String {
    match results.winner {
        Some(id) if Some(id) == me => "You win!".to_owned(),
        Some(id) => match results.scores.iter().find(|s| s.id == id) {
            Some(s) => format!("{} wins!", s.name),
            None => "Match over".to_owned(),
        },
        None => "Match over: no winner".to_owned(),
    }
}

/// The CSS `#rrggbb` form of a `0xRRGGBB` colour.
pub fn css_colour(rgb: u32) -> String {
    format!("#{:06x}", rgb & 0x00ff_ffff)
}

/// The big centred line: the countdown, or the wait to respawn (of the watched player, for a
/// spectator, whose HUD is that player's).
pub fn banner_text(phase: Phase, ms_left: u32, shown: Option<&PlayerState>) -> String {
    match phase {
        Phase::Countdown => clock_text(phase, ms_left),
        Phase::Results => String::new(),
        _ if shown.is_some_and(|s| !s.alive()) => "Destroyed: respawning…".to_owned(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use skirmish_shared::Score;

    use super::*;

    #[test]
    fn the_banner_counts_down_and_says_when_the_shown_ship_is_destroyed() {
        let alive = PlayerState { health: 100, flags: PlayerState::ALIVE, ..Default::default() };
        let dead = PlayerState::default();
        assert_eq!(banner_text(Phase::Countdown, 2500, Some(&alive)), clock_text(Phase::Countdown, 2500));
        assert_eq!(banner_text(Phase::Playing, 0, Some(&alive)), "");
        // The shown ship is ours, or for a spectator the watched player's (it had no banner).
        assert_eq!(banner_text(Phase::Playing, 0, Some(&dead)), "Destroyed: respawning…");
        assert_eq!(banner_text(Phase::Results, 0, Some(&dead)), "");
        assert_eq!(banner_text(Phase::Playing, 0, None), "", "nobody shown");
    }

    #[test]
    fn status_names_the_state() {
        assert!(status_text(&ConnState::Playing, "Ann", "main", false).contains("playing"));
        assert!(status_text(&ConnState::Playing, "Ann", "main", true).starts_with("spectating as Ann"));
        let closed = ConnState::Closed { code: 1012, reason: "server restarting".into() };
        assert_eq!(status_text(&closed, "Ann", "main", false), "Disconnected (1012: server restarting)");
        assert_eq!(closed_text(1006, ""), "Disconnected (1006: connection lost)");
        assert_eq!(closed_text(1000, " "), "Disconnected (1000)");
    }

    #[test]
    fn ping_and_players() {
        assert_eq!(ping_text(Some(23.4)), "ping 23 ms");
        assert_eq!(ping_text(None), "ping – ms");
        assert_eq!(players_text(1), "1 player");
        assert_eq!(players_text(3), "3 players");
    }

    #[test]
    fn the_clock_labels_each_phase() {
        assert_eq!(clock_text(Phase::Waiting, 0), "Waiting for players");
        assert_eq!(clock_text(Phase::Countdown, 2001), "Starting in 3");
        assert_eq!(clock_text(Phase::Countdown, 1), "Starting in 1");
        assert_eq!(clock_text(Phase::Playing, 300_000), "5:00");
        assert_eq!(clock_text(Phase::Playing, 65_500), "1:06");
        assert_eq!(clock_text(Phase::Playing, 0), "0:00");
        assert_eq!(clock_text(Phase::Results, 9000), "Next match in 9");
    }

    #[test]
    fn health_and_score() {
        let me = PlayerState { health: 60, ..Default::default() };
        assert_eq!(health_text(Some(&me)), "60");
        assert_eq!(health_text(None), "–");
        assert_eq!(score_text(Some(&ScoreLine { id: 1, kills: 3, deaths: 1 })), "3 kills · 1 death");
        assert_eq!(score_text(None), "0 kills · 0 deaths");
    }

    #[test]
    fn fps_is_counted_over_half_seconds() {
        let mut m = FpsMeter::default();
        assert_eq!(m.frame(0.0), None, "nothing to say before a full window");
        let mut shown = None;
        for i in 1..=40 {
            shown = m.frame(f64::from(i) * 1000.0 / 60.0);
        }
        assert_eq!(shown, Some(60), "kept between windows");
        assert_eq!(fps_text(shown), "60 fps");
        assert_eq!(fps_text(None), "– fps");
    }

    fn info(id: PlayerId, name: &str, spectator: bool) -> (PlayerId, PlayerInfo) {
        (id, PlayerInfo { id, name: name.into(), colour: 0x112233, spectator })
    }

    #[test]
    fn the_scoreboard_ranks_players_and_leaves_out_spectators() {
        let roster = BTreeMap::from([
            info(1, "ann", false),
            info(2, "bob", false),
            info(3, "cy", false),
            info(4, "eve", true),
            info(5, "dan", false),
        ]);
        let line = |id, kills, deaths| (id, ScoreLine { id, kills, deaths });
        // Dan has no line yet (0/0); Eve spectates; #7 left (a line, no roster entry).
        let scores: IdMap<ScoreLine> =
            [line(1, 2, 5), line(2, 4, 0), line(3, 2, 1), line(4, 9, 0), line(7, 9, 9)].into_iter().collect();
        let rows = scoreboard(&scores, &roster, true, Some(3));
        let order: Vec<_> = rows.iter().map(|r| (r.rank.unwrap(), r.name.as_str(), r.kills, r.deaths, r.me)).collect();
        assert_eq!(
            order,
            [(1, "bob", 4, 0, false), (2, "cy", 2, 1, true), (3, "ann", 2, 5, false), (4, "dan", 0, 0, false)]
        );
        assert_eq!(css_colour(rows[0].colour), "#112233");
    }

    #[test]
    fn a_long_board_shows_the_top_lines_and_ours() {
        let n = SCORES_ALL_MAX_PLAYERS as u32;
        let roster: BTreeMap<_, _> = (1..=n).map(|id| info(id, "p", false)).collect();
        // Player id k has k kills: the best is the last, and #1 (us) is last on the board.
        let scores = (1..=n).map(|id| (id, ScoreLine { id, kills: id as u16, deaths: 0 })).collect();
        let rows = scoreboard(&scores, &roster, true, Some(1));
        assert_eq!(rows.len(), SCOREBOARD_ROWS + 1);
        assert_eq!((rows[0].id, rows[0].rank), (n, Some(1)));
        let mine = &rows[SCOREBOARD_ROWS];
        assert_eq!((mine.id, mine.rank, mine.me), (1, Some(n as usize), true), "every line is current: our place");
        assert_eq!(scoreboard(&scores, &roster, true, Some(n - 5)).len(), SCOREBOARD_ROWS, "ours is already shown");
    }

    #[test]
    fn a_big_room_shows_our_line_without_a_place_below_the_top() {
        let n = SCORES_ALL_MAX_PLAYERS as u32 + 1;
        let roster: BTreeMap<_, _> = (1..=n).map(|id| info(id, "p", false)).collect();
        let scores = (1..=n).map(|id| (id, ScoreLine { id, kills: id as u16, deaths: 0 })).collect();
        let rows = scoreboard(&scores, &roster, true, Some(1));
        assert_eq!(rows.len(), SCOREBOARD_ROWS + 1);
        assert_eq!((rows[0].id, rows[0].rank), (n, Some(1)), "the top keeps its places");
        let mine = &rows[SCOREBOARD_ROWS];
        assert_eq!((mine.id, mine.rank, mine.kills), (1, None, 1), "our line, place unknown");
        assert_eq!(rank_text(mine.rank, SCOREBOARD_ROWS + 1), format!("{}+", SCOREBOARD_ROWS + 1));
    }

    #[test]
    fn our_place_waits_for_the_whole_roster() {
        // The first chunks of a big room's roster: it looks like a room of 64.
        let n = 64;
        let roster: BTreeMap<_, _> = (1..=n).map(|id| info(id, "p", false)).collect();
        let scores = (1..=n).map(|id| (id, ScoreLine { id, kills: id as u16, deaths: 0 })).collect();
        let mine = scoreboard(&scores, &roster, false, Some(1)).pop().expect("our row");
        assert_eq!((mine.id, mine.rank), (1, None), "below the top, place not known yet");
        let mine = scoreboard(&scores, &roster, true, Some(1)).pop().expect("our row");
        assert_eq!((mine.id, mine.rank), (1, Some(n as usize)), "the whole roster: a room of 64");
    }

    #[test]
    fn results_name_the_winner() {
        let score = |id, name: &str| Score { id, name: name.into(), kills: 1, deaths: 0 };
        let results = Results { winner: Some(2), scores: vec![score(2, "bob"), score(1, "ann")], next_map: "x".into() };
        assert_eq!(winner_text(&results, Some(1)), "bob wins!");
        assert_eq!(winner_text(&results, Some(2)), "You win!");
        assert_eq!(winner_text(&Results { winner: None, ..results.clone() }, None), "Match over: no winner");
        let ann = ScoreLine { id: 1, kills: 1, deaths: 0 };
        let rows = results_rows(&results, &BTreeMap::from([info(1, "ann", false)]), Some(1), Some(ann));
        assert_eq!(rows.len(), 2, "our line is among the results: not again");
        assert_eq!((rows[1].colour, rows[1].me, rows[0].colour), (0x112233, true, 0xffffff));
        assert_eq!((rows[0].rank, rows[1].rank), (Some(1), Some(2)));
    }

    #[test]
    fn in_a_big_room_our_line_follows_the_best_in_the_results() {
        let score = |id| Score { id, name: format!("p{id}"), kills: 100 - id as u16, deaths: 0 };
        let best: Vec<Score> = (2..=33).map(score).collect();
        let results = Results { winner: Some(2), scores: best, next_map: "x".into() };
        let roster = BTreeMap::from([info(40, "ann", false)]);
        let mine = ScoreLine { id: 40, kills: 3, deaths: 7 };
        let rows = results_rows(&results, &roster, Some(40), Some(mine));
        assert_eq!(rows.len(), 33);
        let last = rows.last().unwrap();
        assert_eq!((last.id, last.name.as_str(), last.kills, last.deaths, last.me), (40, "ann", 3, 7, true));
        assert_eq!(rank_text(last.rank, rows.len()), "33+");
        assert!(rows[..32].iter().all(|r| !r.me && r.rank.is_some()));
        // A spectator has no line of its own.
        assert_eq!(results_rows(&results, &roster, Some(41), None).len(), 32);
    }
}
