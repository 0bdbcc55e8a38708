//! Fuzzes what the server does first with every frame a client sends: `decode_client`, the size
//! cap, depth limit and validation included. It must never panic, and whatever it accepts must
//! re-encode to bytes that decode to the same message.

#![no_main]

use libfuzzer_sys::fuzz_target;
use skirmish_shared::consts::MAX_FRAME_BYTES;
use skirmish_shared::{decode_client, encode_client};

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = decode_client(data, MAX_FRAME_BYTES) {
        let again = decode_client(&encode_client(&msg), MAX_FRAME_BYTES).expect("a re-encoded message decodes");
        assert_eq!(again, msg);
    }
});
