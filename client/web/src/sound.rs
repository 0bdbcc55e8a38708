//! Sound effects through plain `<audio>` elements: a few per sound, used in turn, so rapid shots
//! overlap instead of cutting each other off. Files load on the first join (a user gesture, which
//! browsers require before playing audio) unless muted; nothing loads while muted.

use wasm_bindgen::prelude::*;
use web_sys::HtmlAudioElement;

use crate::cues::Sound;

/// Elements per sound: shots come up to 15 a second with rapid fire.
fn voices(sound: Sound) -> usize {
    if sound == Sound::Shoot { 5 } else { 3 }
}

/// Loudness per sound, 0 to 1: our own gun must not drown the rest.
fn volume(sound: Sound) -> f64 {
    match sound {
        Sound::Shoot => 0.3,
        Sound::Hit => 0.6,
        Sound::Explosion => 0.55,
        Sound::Pickup => 0.6,
    }
}

pub struct Sounds {
    muted: bool,
    /// One pool per [`Sound::ALL`] entry, empty until loaded.
    pools: Vec<Vec<HtmlAudioElement>>,
    next: Vec<usize>,
    /// Swallows the rejection `play()` gives when the browser refuses autoplay.
    ignore: Closure<dyn FnMut(JsValue)>,
}

impl Sounds {
    pub fn new(muted: bool) -> Sounds {
        Sounds { muted, pools: Vec::new(), next: vec![0; Sound::ALL.len()], ignore: Closure::new(|_: JsValue| {}) }
    }

    pub fn muted(&self) -> bool {
        self.muted
    }

    pub fn set_muted(&mut self, muted: bool) {
        self.muted = muted;
        if !muted {
            self.load();
        }
    }

    /// Creates the elements (the browser fetches the files) unless muted or done already.
    pub fn load(&mut self) {
        if self.muted || !self.pools.is_empty() {
            return;
        }
        for sound in Sound::ALL {
            let pool = (0..voices(sound))
                .filter_map(|_| {
                    let el = HtmlAudioElement::new_with_src(sound.file()).ok()?;
                    el.set_preload("auto");
                    el.set_volume(volume(sound));
                    Some(el)
                })
                .collect();
            self.pools.push(pool);
        }
    }

    pub fn play(&mut self, sound: Sound) {
        // Nor from a hidden page: the game went on making noise behind the tab or app the
        // player switched to (from an outside test on a phone).
        if self.muted || web_sys::window().and_then(|w| w.document()).is_some_and(|d| d.hidden()) {
            return;
        }
        self.load();
        let slot = Sound::ALL.iter().position(|&s| s == sound).unwrap_or(0);
        let (Some(pool), Some(next)) = (self.pools.get(slot), self.next.get_mut(slot)) else { return };
        let Some(el) = pool.get(*next % pool.len().max(1)) else { return };
        *next = next.wrapping_add(1);
        el.set_current_time(0.0);
        if let Ok(promise) = el.play() {
            let _ = promise.catch(&self.ignore);
        }
    }
}
