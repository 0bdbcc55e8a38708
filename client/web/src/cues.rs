//! What changed between two snapshots that deserves a sound or an effect: our shots, hits on us,
//! pickups we collected, ships that blew up. The protocol sends state, not events, for these, so
//! they are read off state changes between views here; a ship that leaves the view is not a
//! death. Explosions then live a moment in [`Effects`].

use glam::Vec2;
use skirmish_client::View;
use skirmish_shared::{PlayerId, PlayerState};

/// The sound effects (files `assets/sounds/<name>.wav`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sound {
    /// We fired.
    Shoot,
    /// We were hit and survived.
    Hit,
    /// A ship was destroyed.
    Explosion,
    /// We collected a pickup.
    Pickup,
}

impl Sound {
    /// Every sound, in a fixed order (the index of each is its slot in the player).
    pub const ALL: [Sound; 4] = [Sound::Shoot, Sound::Hit, Sound::Explosion, Sound::Pickup];

    /// Its file under `/sounds/`.
    pub fn file(self) -> &'static str {
        match self {
            Sound::Shoot => "sounds/shoot.wav",
            Sound::Hit => "sounds/hit.wav",
            Sound::Explosion => "sounds/explosion.wav",
            Sound::Pickup => "sounds/pickup.wav",
        }
    }
}

/// A ship that was alive in the previous snapshot and is dead in this one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Blast {
    /// Who died (for the colour).
    pub id: PlayerId,
    /// Where.
    pub pos: Vec2,
}

/// The part of the previous view that changes are measured against; its lists are reused.
#[derive(Debug, Default)]
pub struct Cues {
    /// The previous view's ships, by id.
    players: Vec<PlayerState>,
    /// Ids of our bullets in the previous view, and the list being built for this one.
    my_bullets: Vec<u32>,
    scratch: Vec<u32>,
    seen: bool,
}

impl Cues {
    /// Compares `view` with the previous one: the sounds to play and the ships that blew up
    /// (both empty, allocating nothing, when nothing happened). The first view only sets the
    /// baseline.
    pub fn observe(&mut self, me: Option<PlayerId>, view: &View) -> (Vec<Sound>, Vec<Blast>) {
        let mut sounds = Vec::new();
        let mut blasts = Vec::new();
        self.scratch.clear();
        self.scratch.extend(view.bullets.iter().filter(|b| Some(b.owner) == me).map(|b| b.id));
        if self.seen {
            for p in &view.players {
                let Ok(i) = self.players.binary_search_by_key(&p.id, |q| q.id) else { continue };
                let before = &self.players[i];
                if before.alive() && !p.alive() {
                    blasts.push(Blast { id: p.id, pos: p.pos });
                }
                if Some(p.id) != me || !(before.alive() && p.alive()) {
                    continue;
                }
                if p.health < before.health {
                    sounds.push(Sound::Hit);
                }
                let rapid_started = p.flags & !before.flags & PlayerState::RAPID_FIRE != 0;
                if p.health > before.health || rapid_started {
                    sounds.push(Sound::Pickup);
                }
            }
            if self.scratch.iter().any(|id| !self.my_bullets.contains(id)) {
                sounds.push(Sound::Shoot);
            }
            if !blasts.is_empty() {
                sounds.push(Sound::Explosion);
            }
        }
        self.players.clone_from(&view.players);
        std::mem::swap(&mut self.my_bullets, &mut self.scratch);
        self.seen = true;
        (sounds, blasts)
    }
}

/// How long an explosion is drawn, in ms.
pub const BLAST_MS: f64 = 700.0;

/// Explosions being drawn.
#[derive(Debug, Default)]
pub struct Effects {
    blasts: Vec<(Vec2, u32, f64)>,
}

impl Effects {
    /// Starts an explosion of `colour` at `pos`, drawn from `start_ms` on (the draw delay of the
    /// ships, so it goes off when the ship vanishes on screen).
    pub fn add(&mut self, pos: Vec2, colour: u32, start_ms: f64) {
        self.blasts.push((pos, colour, start_ms));
    }

    /// Explosions showing at `now_ms`, each with its progress from 0 to 1; finished ones are
    /// dropped.
    pub fn live(&mut self, now_ms: f64) -> impl Iterator<Item = (Vec2, u32, f32)> + '_ {
        self.blasts.retain(|b| now_ms - b.2 < BLAST_MS);
        self.blasts
            .iter()
            .filter(move |b| now_ms >= b.2)
            .map(move |&(pos, colour, start)| (pos, colour, ((now_ms - start) / BLAST_MS) as f32))
    }
}

#[cfg(test)]
mod tests {
    use skirmish_shared::BulletState;

    use super::*;

    fn ship(id: PlayerId, health: u8, flags: u8) -> PlayerState {
        PlayerState { id, pos: Vec2::new(f32::from(health), 7.0), health, flags, ..Default::default() }
    }

    fn snap(players: Vec<PlayerState>, bullets: &[(u32, PlayerId)]) -> View {
        let bullets = bullets.iter().map(|&(id, owner)| BulletState { id, owner, ..Default::default() }).collect();
        View { players, bullets, ..Default::default() }
    }

    const ALIVE: u8 = PlayerState::ALIVE;

    #[test]
    fn the_first_snapshot_is_only_a_baseline() {
        let mut cues = Cues::default();
        let (sounds, blasts) = cues.observe(Some(1), &snap(vec![ship(1, 100, ALIVE)], &[(5, 1)]));
        assert!(sounds.is_empty() && blasts.is_empty());
    }

    #[test]
    fn our_new_bullets_hits_and_pickups_make_sounds() {
        let mut cues = Cues::default();
        cues.observe(Some(1), &snap(vec![ship(1, 100, ALIVE)], &[(5, 1), (6, 2)]));
        let (sounds, _) = cues.observe(Some(1), &snap(vec![ship(1, 100, ALIVE)], &[(5, 1), (7, 2)]));
        assert!(sounds.is_empty(), "someone else's shot: {sounds:?}");
        let (sounds, _) = cues.observe(Some(1), &snap(vec![ship(1, 80, ALIVE)], &[(8, 1)]));
        assert_eq!(sounds, [Sound::Hit, Sound::Shoot]);
        let (sounds, _) = cues.observe(Some(1), &snap(vec![ship(1, 100, ALIVE)], &[(8, 1)]));
        assert_eq!(sounds, [Sound::Pickup], "health went up");
        let rapid = ALIVE | PlayerState::RAPID_FIRE;
        let (sounds, _) = cues.observe(Some(1), &snap(vec![ship(1, 100, rapid)], &[]));
        assert_eq!(sounds, [Sound::Pickup], "rapid fire started");
        let (sounds, _) = cues.observe(Some(1), &snap(vec![ship(1, 100, rapid)], &[]));
        assert!(sounds.is_empty());
    }

    #[test]
    fn deaths_blow_up_and_respawns_are_silent() {
        let mut cues = Cues::default();
        cues.observe(Some(1), &snap(vec![ship(1, 20, ALIVE), ship(2, 100, ALIVE)], &[]));
        let (sounds, blasts) = cues.observe(Some(1), &snap(vec![ship(1, 0, 0), ship(2, 100, ALIVE)], &[]));
        assert_eq!(sounds, [Sound::Explosion], "no hit sound for the killing shot");
        assert_eq!(blasts, [Blast { id: 1, pos: Vec2::new(0.0, 7.0) }]);
        let (sounds, blasts) = cues.observe(Some(1), &snap(vec![ship(1, 100, ALIVE), ship(2, 100, ALIVE)], &[]));
        assert!(sounds.is_empty() && blasts.is_empty(), "respawning is not a pickup: {sounds:?}");
    }

    #[test]
    fn ships_leaving_and_entering_the_view_are_silent() {
        let mut cues = Cues::default();
        cues.observe(Some(1), &snap(vec![ship(1, 100, ALIVE), ship(2, 100, ALIVE)], &[]));
        let (sounds, blasts) = cues.observe(Some(1), &snap(vec![ship(1, 100, ALIVE)], &[]));
        assert!(sounds.is_empty() && blasts.is_empty(), "#2 left the view, it did not die");
        let (sounds, blasts) = cues.observe(Some(1), &snap(vec![ship(1, 100, ALIVE), ship(3, 0, 0)], &[]));
        assert!(sounds.is_empty() && blasts.is_empty(), "#3 came into view dead: {sounds:?}");
    }

    #[test]
    fn effects_start_late_and_expire() {
        let mut fx = Effects::default();
        fx.add(Vec2::ONE, 0xff0000, 100.0);
        assert_eq!(fx.live(50.0).count(), 0, "not yet");
        let (_, colour, t) = fx.live(100.0 + BLAST_MS / 2.0).next().unwrap_or_default();
        assert_eq!((colour, t), (0xff0000, 0.5));
        assert_eq!(fx.live(100.0 + BLAST_MS).count(), 0);
        assert!(fx.blasts.is_empty());
    }
}
