//! Client messages to MessagePack through `rmp`'s primitives, byte for byte what
//! `skirmish_shared::encode_client` (rmp-serde) writes: a message is a one-entry map from its
//! variant's name to its struct, a struct an array of its fields in order, integers in their
//! smallest encoding, `f32` as float 32, a `Vec2` an array of two, `None` nil.
//!
//! Why not `encode_client`? Every browser downloads this code, and rmp-serde's serialiser with
//! the serde impls of six messages cost the page about 2 KB gzipped, the room the client's own
//! prediction needed within the 100 KB budget; these few lines cost a tenth of it. The tests
//! hold it to rmp-serde's output for every variant, so the two cannot drift apart.

use rmp::encode::{self, ValueWriteError};
use skirmish_shared::ClientMsg;

/// The message as rmp-serde would write it.
pub fn client_msg(msg: &ClientMsg) -> Vec<u8> {
    let mut out = Vec::with_capacity(32);
    // Writes into a `Vec` cannot fail.
    let _ = write(&mut out, msg);
    out
}

fn write(w: &mut Vec<u8>, msg: &ClientMsg) -> Result<(), ValueWriteError> {
    let opt_str = |w: &mut Vec<u8>, s: Option<&str>| match s {
        Some(s) => encode::write_str(w, s),
        None => encode::write_nil(w).map_err(ValueWriteError::InvalidMarkerWrite),
    };
    let head = |w: &mut Vec<u8>, tag: &str, fields: u32| {
        encode::write_map_len(w, 1)?;
        encode::write_str(w, tag)?;
        encode::write_array_len(w, fields).map(drop)
    };
    match msg {
        ClientMsg::Hello(h) => {
            head(w, "h", 6)?;
            encode::write_uint(w, h.version.into())?;
            encode::write_str(w, &h.name)?;
            opt_str(w, h.room.as_deref())?;
            encode::write_bool(w, h.spectate).map_err(ValueWriteError::InvalidMarkerWrite)?;
            encode::write_bool(w, h.private).map_err(ValueWriteError::InvalidMarkerWrite)?;
            opt_str(w, h.rejoin.as_deref())?;
        }
        ClientMsg::Input(i) => {
            head(w, "i", 6)?;
            encode::write_uint(w, i.seq.into())?;
            encode::write_array_len(w, 2)?;
            encode::write_f32(w, i.mv.x)?;
            encode::write_f32(w, i.mv.y)?;
            encode::write_f32(w, i.aim)?;
            encode::write_uint(w, i.buttons.into())?;
            encode::write_uint(w, i.ack)?;
            encode::write_uint(w, i.view_tick)?;
        }
        ClientMsg::Ping(p) => {
            head(w, "p", 1)?;
            encode::write_uint(w, p.id.into())?;
        }
        ClientMsg::Chat(c) => {
            head(w, "c", 1)?;
            encode::write_str(w, &c.text)?;
        }
        ClientMsg::Ack(a) => {
            head(w, "a", 1)?;
            encode::write_uint(w, a.tick)?;
        }
        ClientMsg::Follow(f) => {
            head(w, "f", 1)?;
            match f.id {
                Some(id) => encode::write_uint(w, id.into()).map(drop)?,
                None => encode::write_nil(w).map_err(ValueWriteError::InvalidMarkerWrite)?,
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use glam::Vec2;
    use proptest::prelude::*;
    use skirmish_shared::{Ack, Chat, Follow, Hello, Input, Ping, encode_client};

    use super::*;

    fn same(msg: &ClientMsg) {
        assert_eq!(client_msg(msg), encode_client(msg), "{msg:?}");
    }

    /// Every variant, so a new one fails to compile here (the match) until it is encoded.
    #[test]
    fn every_variant_matches_rmp_serde() {
        let samples = [
            ClientMsg::Hello(Hello {
                version: 3,
                name: "ann".into(),
                room: Some("den".into()),
                spectate: true,
                private: false,
                rejoin: None,
            }),
            ClientMsg::Hello(Hello {
                version: 300,
                name: "é".repeat(40),
                room: None,
                spectate: false,
                private: true,
                rejoin: Some("x".repeat(300)),
            }),
            ClientMsg::Input(Input::default()),
            ClientMsg::Input(Input {
                seq: u32::MAX,
                mv: Vec2::new(-1.0, 0.5),
                aim: -3.1,
                buttons: 255,
                ack: u64::MAX,
                view_tick: 70_000,
            }),
            ClientMsg::Ping(Ping { id: 200 }),
            ClientMsg::Chat(Chat { text: "gg ".repeat(100) }),
            ClientMsg::Ack(Ack { tick: 65_536 }),
            ClientMsg::Follow(Follow { id: Some(7) }),
            ClientMsg::Follow(Follow { id: None }),
        ];
        for msg in &samples {
            match msg {
                ClientMsg::Hello(_)
                | ClientMsg::Input(_)
                | ClientMsg::Ping(_)
                | ClientMsg::Chat(_)
                | ClientMsg::Ack(_)
                | ClientMsg::Follow(_) => same(msg),
            }
        }
    }

    proptest! {
        #[test]
        fn inputs_match_rmp_serde(
            seq: u32, x: f32, y: f32, aim: f32, buttons: u8, ack: u64, view_tick: u64, ping: u32, tick: u64,
        ) {
            same(&ClientMsg::Input(Input { seq, mv: Vec2::new(x, y), aim, buttons, ack, view_tick }));
            same(&ClientMsg::Ping(Ping { id: ping }));
            same(&ClientMsg::Ack(Ack { tick }));
            same(&ClientMsg::Follow(Follow { id: Some(ping) }));
        }

        #[test]
        fn strings_match_rmp_serde(name in ".{0,40}", room in proptest::option::of(".{0,300}"), spectate: bool) {
            same(&ClientMsg::Hello(Hello { version: 3, name: name.clone(), room, spectate, private: !spectate, rejoin: None }));
            same(&ClientMsg::Chat(Chat { text: name }));
        }
    }
}
