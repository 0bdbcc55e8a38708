//! Everything the Skirmish server and its clients must agree on.
//!
//! Layout:
//! - [`protocol`]: the messages on the wire (`ClientMsg`, `ServerMsg`), one documented enum each.
//! - [`codec`]: MessagePack encoding, and strict decoding of untrusted bytes.
//! - [`delta`]: the entities a snapshot carries and the delta code against a baseline.
//! - [`bits`]: the bit stream the packed entity records and the radar use.
//! - [`radar`]: the radar's cells packed for the wire.
//! - [`consts`]: tick rate, protocol version and limits, with units in their names.
//! - [`tuning`]: every game tunable (speeds, damage, timers), in one place.
//! - [`sim`]: the deterministic movement step the server runs and clients can predict with.
//! - [`schedule`]: the drift-free fixed-tick arithmetic.

pub mod bits;
pub mod codec;
pub mod consts;
pub mod delta;
pub mod protocol;
pub mod radar;
pub mod schedule;
pub mod sim;
pub mod tuning;

pub use codec::{DecodeError, decode_client, decode_server, encode_client, encode_server};
pub use protocol::*;
