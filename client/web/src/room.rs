//! The room in the page's link and in its Invite panel: a `?room=` the server would refuse is
//! caught before connecting (it would otherwise end in a 1007 close), and the panel's QR code is
//! of the room we are in, so a friend scanning it from a private room lands in that room.

use skirmish_shared::codec::check_room;
use skirmish_shared::consts::MAX_ROOM_CHARS;

/// Why the page will not join `room` from its link, or `None` when the server would accept
/// the name (`check_room`, the server's own rule).
pub fn link_problem(room: &str) -> Option<String> {
    check_room(room).err().map(|_| {
        format!("This link's room name is not valid: room names are 1 to {MAX_ROOM_CHARS} of A-Z a-z 0-9 - _.")
    })
}

/// `#invitecode`'s source: the QR code of `room`'s link, or of the server's page in the lobby.
/// Relative, like every address of the page, so it works behind a path prefix.
pub fn invite_src(room: Option<&str>) -> String {
    let Some(room) = room else { return "invite.svg".to_owned() };
    let mut src = String::from("invite.svg?room=");
    // Valid names need no escaping; anything else must not break out of the parameter.
    for b in room.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            src.push(char::from(b));
        } else {
            src.push_str(&format!("%{b:02X}"));
        }
    }
    src
}

/// The Invite panel's heading, saying what the code joins.
pub fn invite_title(room: Option<&str>) -> String {
    room.map_or_else(|| "Join this game".to_owned(), |room| format!("Join room {room}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_to_rooms_the_server_would_refuse_are_caught() {
        for ok in ["play-1", "p-abc23", "A_b-9", &"x".repeat(MAX_ROOM_CHARS)] {
            assert_eq!(link_problem(ok), None, "{ok}");
        }
        for bad in ["", "no such", "é", "a/b", &"x".repeat(MAX_ROOM_CHARS + 1)] {
            let why = link_problem(bad).unwrap_or_else(|| panic!("{bad:?} passed"));
            assert!(why.contains("1 to 32 of A-Z a-z 0-9 - _"), "{why}");
        }
    }

    #[test]
    fn the_invite_is_of_the_room_we_are_in() {
        assert_eq!(invite_src(None), "invite.svg");
        assert_eq!(invite_src(Some("play-1")), "invite.svg?room=play-1");
        assert_eq!(invite_src(Some("a b&c=é")), "invite.svg?room=a%20b%26c%3D%C3%A9");
        assert_eq!(invite_title(None), "Join this game");
        assert_eq!(invite_title(Some("p-abc")), "Join room p-abc");
    }
}
