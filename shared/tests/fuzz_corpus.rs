//! Replays the committed fuzzing corpus (`fuzz/corpus/`) on stable, as part of `cargo test`:
//! every input the fuzzers keep (the protocol examples, hostile frames, inputs that once
//! crashed) goes through the same checks as the `client_msg` fuzz target, so a regression shows
//! without nightly. The server-frame target's checks need the client core: see
//! `client/core/tests/fuzz_corpus.rs`.

use std::path::PathBuf;

use skirmish_shared::consts::MAX_FRAME_BYTES;
use skirmish_shared::{decode_client, decode_server, encode_client};

/// Every file of one corpus directory.
fn corpus(name: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(name);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    files.sort();
    files.into_iter().map(|p| (p.clone(), std::fs::read(&p).expect("a corpus file"))).collect()
}

#[test]
fn the_client_message_corpus_decodes_or_fails_cleanly_and_round_trips() {
    let files = corpus("client_msg");
    assert!(files.len() >= 20, "the corpus is there: {} files", files.len());
    let mut accepted = 0;
    for (path, data) in &files {
        if let Ok(msg) = decode_client(data, MAX_FRAME_BYTES) {
            let again = decode_client(&encode_client(&msg), MAX_FRAME_BYTES);
            assert_eq!(again.as_ref(), Ok(&msg), "{} does not round-trip", path.display());
            accepted += 1;
        }
    }
    assert!(accepted > 0 && accepted < files.len(), "both valid and hostile inputs: {accepted} of {}", files.len());
}

#[test]
fn the_server_message_corpus_never_panics_the_reference_decoder() {
    let files = corpus("server_msg");
    assert!(files.len() >= 20, "the corpus is there: {} files", files.len());
    let accepted = files.iter().filter(|(_, data)| decode_server(data).is_ok()).count();
    assert!(accepted > 0 && accepted < files.len(), "both valid and hostile inputs: {accepted} of {}", files.len());
}
