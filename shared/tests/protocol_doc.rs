//! Keeps PROTOCOL.md honest: every hex example in it must decode with the real codec and
//! re-encode to exactly the same bytes.

use skirmish_shared::consts::MAX_FRAME_BYTES;
use skirmish_shared::{decode_client, decode_server, encode_client, encode_server};

#[test]
fn every_hex_example_in_protocol_md_round_trips() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../PROTOCOL.md")).expect("PROTOCOL.md");
    let mut examples = 0;
    let mut lines = doc.lines();
    while let Some(line) = lines.next() {
        if line.trim() != "```hex" {
            continue;
        }
        let hex: String = lines.by_ref().take_while(|l| l.trim() != "```").collect::<Vec<_>>().join(" ");
        let bytes: Vec<u8> = hex.split_whitespace().map(|b| u8::from_str_radix(b, 16).expect("hex byte")).collect();
        let reencoded = match decode_client(&bytes, MAX_FRAME_BYTES) {
            Ok(msg) => encode_client(&msg),
            Err(_) => encode_server(&decode_server(&bytes).unwrap_or_else(|e| panic!("example {hex}: {e}"))),
        };
        assert_eq!(reencoded, bytes, "example {hex} does not match the encoder");
        examples += 1;
    }
    assert_eq!(examples, 14, "one example per message (two for chat lines)");
}
