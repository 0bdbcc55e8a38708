//! A bit stream for the packed entity records of delta snapshots (see [`crate::delta`]).
//!
//! MSB-first within each byte, so a hex dump reads left to right as `PROTOCOL.md` describes it.
//! Besides plain fixed-width fields it has three variable-length integer codes, chosen for what
//! snapshots and the radar carry: [`BitWriter::uvar`] (ids, counts), [`BitWriter::svar`] (small
//! signed changes such as a ship's movement since the baseline) and [`BitWriter::gamma`] (small
//! positive numbers, mostly 1, in the radar: see [`crate::radar`]).

/// Appends bits to a reused byte buffer.
#[derive(Debug, Default)]
pub struct BitWriter {
    /// Whole bytes written.
    bytes: Vec<u8>,
    /// Bits not yet in `bytes`, in the low `pending` bits (fewer than 64 between calls): they go
    /// out eight bytes at a time, a fixed-size copy, rather than a byte push per field.
    acc: u64,
    pending: u32,
    /// `bytes` plus the pending bits padded with zeros, for [`BitWriter::as_bytes`].
    padded: Vec<u8>,
}

impl BitWriter {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets what was written but keeps the buffer's capacity.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.acc = 0;
        self.pending = 0;
    }

    /// Bits written so far.
    pub fn bit_len(&self) -> u64 {
        self.bytes.len() as u64 * 8 + u64::from(self.pending)
    }

    /// The bytes written; the last one is padded with zero bits.
    pub fn as_bytes(&mut self) -> &[u8] {
        if self.pending == 0 {
            return &self.bytes;
        }
        self.padded.clear();
        self.padded.extend_from_slice(&self.bytes);
        // The pending bits left-aligned, as many bytes as they reach into.
        let tail = (self.acc << (64 - self.pending)).to_be_bytes();
        self.padded.extend_from_slice(&tail[..self.pending.div_ceil(8) as usize]);
        &self.padded
    }

    /// Writes the low `n` bits of `value` (`n` ≤ 64), most significant first.
    pub fn bits(&mut self, value: u64, n: u32) {
        debug_assert!(n <= 64);
        if n == 0 {
            return;
        }
        let value = if n == 64 { value } else { value & ((1u64 << n) - 1) };
        // 1..=64 bits of room in the accumulator.
        let room = 64 - self.pending;
        if n < room {
            self.acc = (self.acc << n) | value;
            self.pending += n;
            return;
        }
        // The value's top `room` bits complete a word; the other `rest` wait in the accumulator.
        let rest = n - room;
        let head = value >> rest;
        let word = if room == 64 { head } else { (self.acc << room) | head };
        self.bytes.extend_from_slice(&word.to_be_bytes());
        self.acc = if rest == 0 { 0 } else { value & ((1u64 << rest) - 1) };
        self.pending = rest;
    }

    /// One bit.
    pub fn bit(&mut self, on: bool) {
        self.bits(u64::from(on), 1);
    }

    /// An unsigned integer in groups of four bits, each followed by a continuation bit:
    /// 0–15 take 5 bits, up to 255 take 10, and so on.
    pub fn uvar(&mut self, mut value: u64) {
        // Two groups (ids' gaps, counts up to 255) as one write; one group is the loop's one
        // write already.
        if (16..256).contains(&value) {
            return self.bits(((value & 15) << 6) | 0b10_0000 | ((value >> 4) << 1), 10);
        }
        loop {
            let more = value >= 16;
            self.bits(((value & 15) << 1) | u64::from(more), 5);
            value >>= 4;
            if !more {
                break;
            }
        }
    }

    /// A signed integer, zigzag-mapped (0, −1, 1, −2, … → 0, 1, 2, 3, …) then written with a
    /// size prefix: `0` + 6 bits, `10` + 9 bits, `110` + 12 bits, `111` + 32 bits.
    pub fn svar(&mut self, value: i64) {
        let z = zigzag(value);
        // Prefix and value in one write.
        if z < 1 << 6 {
            self.bits(z, 7);
        } else if z < 1 << 9 {
            self.bits((0b10 << 9) | z, 11);
        } else if z < 1 << 12 {
            self.bits((0b110 << 12) | z, 15);
        } else {
            // Callers write differences of 32-bit values; wider ones are a bug of ours.
            debug_assert!(z < 1 << 32, "svar out of range: {value}");
            self.bits((0b111 << 32) | (z & 0xffff_ffff), 35);
        }
    }

    /// A positive integer in Elias gamma code: as many `0` bits as its binary form has digits
    /// after the leading 1, then the binary form. 1 is `1`, 2–3 take 3 bits, 4–7 take 5, and so
    /// on; `value` ≤ `u32::MAX` (0 cannot be written: callers add 1 to what can be 0).
    pub fn gamma(&mut self, value: u32) {
        debug_assert!(value >= 1, "gamma codes start at 1");
        let value = value.max(1);
        let digits = 32 - value.leading_zeros();
        self.bits(0, digits - 1);
        self.bits(u64::from(value), digits);
    }
}

/// Reads bits written by [`BitWriter`]; every read fails cleanly at the end of the input.
#[derive(Debug)]
pub struct BitReader<'a> {
    bytes: &'a [u8],
    /// Position in bits from the start.
    pos: u64,
}

/// The input ended inside a value.
pub const END_OF_BITS: &str = "packed entity records end too soon";

impl<'a> BitReader<'a> {
    /// A reader at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    /// Bits not read yet (including the padding of the last byte).
    pub fn remaining(&self) -> u64 {
        self.bytes.len() as u64 * 8 - self.pos
    }

    /// Reads `n` bits (`n` ≤ 64), most significant first.
    pub fn bits(&mut self, n: u32) -> Result<u64, &'static str> {
        if u64::from(n) > self.remaining() {
            return Err(END_OF_BITS);
        }
        if n == 0 {
            return Ok(0);
        }
        let at = (self.pos / 8) as usize;
        let offset = (self.pos % 8) as u32;
        // Eight bytes from here hold the whole field when it ends within them: one load and
        // two shifts instead of a step per byte (the bots decode every snapshot of a thousand).
        if let Some(window) = self.bytes.get(at..at + 8)
            && offset + n <= 64
        {
            let word = u64::from_be_bytes(window.try_into().expect("eight bytes"));
            self.pos += u64::from(n);
            return Ok((word << offset) >> (64 - n));
        }
        // Near the end of the input: a step per byte.
        let mut value = 0u64;
        let mut left = n;
        while left > 0 {
            // In range: checked against `remaining` above.
            let byte = self.bytes[(self.pos / 8) as usize];
            let offset = (self.pos % 8) as u32;
            let room = 8 - offset;
            let take = room.min(left);
            let chunk = (byte >> (room - take)) & (((1u16 << take) - 1) as u8);
            value = (value << take) | u64::from(chunk);
            self.pos += u64::from(take);
            left -= take;
        }
        Ok(value)
    }

    /// One bit.
    pub fn bit(&mut self) -> Result<bool, &'static str> {
        Ok(self.bits(1)? == 1)
    }

    /// See [`BitWriter::uvar`]. More than 64 bits of value is malformed.
    pub fn uvar(&mut self) -> Result<u64, &'static str> {
        let mut value = 0u64;
        for shift in (0..64).step_by(4) {
            value |= self.bits(4)? << shift;
            if !self.bit()? {
                return Ok(value);
            }
        }
        Err("variable-length integer too long")
    }

    /// See [`BitWriter::svar`].
    pub fn svar(&mut self) -> Result<i64, &'static str> {
        let z = if !self.bit()? {
            self.bits(6)?
        } else if !self.bit()? {
            self.bits(9)?
        } else if !self.bit()? {
            self.bits(12)?
        } else {
            self.bits(32)?
        };
        Ok(unzigzag(z))
    }

    /// See [`BitWriter::gamma`]. More than 31 leading zeros is malformed.
    pub fn gamma(&mut self) -> Result<u32, &'static str> {
        let mut zeros = 0;
        while !self.bit()? {
            zeros += 1;
            if zeros > 31 {
                return Err("gamma code too long");
            }
        }
        // The leading 1 was just read.
        Ok(((1u64 << zeros) | self.bits(zeros)?) as u32)
    }

    /// True when only zero padding (less than a byte) is left: what a well-formed record
    /// stream ends with.
    pub fn at_padding(&self) -> bool {
        self.remaining() < 8
            && (self.remaining() == 0 || self.bytes[self.bytes.len() - 1] & ((1u8 << self.remaining()) - 1) == 0)
    }
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(z: u64) -> i64 {
    ((z >> 1) as i64) ^ -((z & 1) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip_across_byte_boundaries() {
        let mut w = BitWriter::new();
        w.bits(0b101, 3);
        w.bits(0xABCDE, 20);
        w.bit(true);
        w.bits(u64::MAX, 64);
        w.uvar(0);
        w.uvar(15);
        w.uvar(16);
        w.uvar(123_456_789);
        for v in [0, -1, 1, 31, -32, 32, 255, -256, 256, 2047, -2048, 2048, i64::from(i32::MIN), i64::from(i32::MAX)] {
            w.svar(v);
        }
        let len = w.bit_len();
        let bytes = w.as_bytes().to_vec();
        let mut r = BitReader::new(&bytes);
        assert_eq!(r.bits(3), Ok(0b101));
        assert_eq!(r.bits(20), Ok(0xABCDE));
        assert_eq!(r.bit(), Ok(true));
        assert_eq!(r.bits(64), Ok(u64::MAX));
        assert_eq!([r.uvar(), r.uvar(), r.uvar(), r.uvar()], [Ok(0), Ok(15), Ok(16), Ok(123_456_789)]);
        for v in [0, -1, 1, 31, -32, 32, 255, -256, 256, 2047, -2048, 2048, i64::from(i32::MIN), i64::from(i32::MAX)] {
            assert_eq!(r.svar(), Ok(v));
        }
        assert_eq!(r.remaining(), bytes.len() as u64 * 8 - len);
        assert!(r.at_padding());
    }

    #[test]
    fn sizes_are_as_documented() {
        let size = |f: &dyn Fn(&mut BitWriter)| {
            let mut w = BitWriter::new();
            f(&mut w);
            w.bit_len()
        };
        assert_eq!(size(&|w| w.uvar(15)), 5);
        assert_eq!(size(&|w| w.uvar(255)), 10);
        assert_eq!(size(&|w| w.svar(-32)), 7);
        assert_eq!(size(&|w| w.svar(31)), 7);
        assert_eq!(size(&|w| w.svar(-256)), 11);
        assert_eq!(size(&|w| w.svar(2047)), 15);
        assert_eq!(size(&|w| w.svar(2048)), 35);
        assert_eq!(size(&|w| w.gamma(1)), 1);
        assert_eq!(size(&|w| w.gamma(3)), 3);
        assert_eq!(size(&|w| w.gamma(4)), 5);
        assert_eq!(size(&|w| w.gamma(u32::MAX)), 63);
    }

    /// One call of the writer, for the property test.
    #[derive(Debug, Clone)]
    enum Op {
        Bits(u64, u32),
        Uvar(u64),
        Svar(i64),
        Gamma(u32),
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        prop_oneof![
            (any::<u64>(), 0u32..=64).prop_map(|(v, n)| Op::Bits(v, n)),
            // Mostly small values, where the codes' size classes change.
            prop_oneof![0u64..300, any::<u64>()].prop_map(Op::Uvar),
            prop_oneof![-5000i64..5000, any::<i32>().prop_map(i64::from)].prop_map(Op::Svar),
            prop_oneof![1u32..20, 1u32..=u32::MAX].prop_map(Op::Gamma),
        ]
    }

    /// The codes as `PROTOCOL.md` spells them, one bit at a time: what the writer's batched
    /// writes must reproduce exactly.
    fn reference(ops: &[Op]) -> Vec<u8> {
        let mut out: Vec<bool> = Vec::new();
        let mut put = |v: u64, n: u32| out.extend((0..n).rev().map(|i| (v >> i) & 1 == 1));
        for op in ops {
            match *op {
                Op::Bits(v, n) => put(v, n),
                Op::Uvar(mut v) => loop {
                    put(v & 15, 4);
                    put(u64::from(v >= 16), 1);
                    if v < 16 {
                        break;
                    }
                    v >>= 4;
                },
                Op::Svar(v) => {
                    let z = zigzag(v);
                    let (prefix, width) = match z {
                        0..64 => ((0, 1), 6),
                        64..512 => ((0b10, 2), 9),
                        512..4096 => ((0b110, 3), 12),
                        _ => ((0b111, 3), 32),
                    };
                    put(prefix.0, prefix.1);
                    put(z, width);
                }
                Op::Gamma(v) => {
                    let digits = 64 - u64::from(v).leading_zeros();
                    put(0, digits - 1);
                    put(u64::from(v), digits);
                }
            }
        }
        out.chunks(8).map(|c| c.iter().enumerate().fold(0u8, |b, (i, &on)| b | (u8::from(on) << (7 - i)))).collect()
    }

    proptest::proptest! {
        #[test]
        fn the_writer_matches_the_documented_codes_and_the_reader_reads_them_back(
            ops in proptest::collection::vec(op(), 0..60)
        ) {
            let mut w = BitWriter::new();
            for op in &ops {
                match *op {
                    Op::Bits(v, n) => w.bits(v, n),
                    Op::Uvar(v) => w.uvar(v),
                    Op::Svar(v) => w.svar(v),
                    Op::Gamma(v) => w.gamma(v),
                }
            }
            let bytes = w.as_bytes().to_vec();
            proptest::prop_assert_eq!(&bytes, &reference(&ops));
            let mut r = BitReader::new(&bytes);
            for op in &ops {
                match *op {
                    Op::Bits(v, n) => {
                        let mask = if n == 64 { u64::MAX } else { (1u64 << n) - 1 };
                        proptest::prop_assert_eq!(r.bits(n), Ok(v & mask));
                    }
                    Op::Uvar(v) => proptest::prop_assert_eq!(r.uvar(), Ok(v)),
                    Op::Svar(v) => proptest::prop_assert_eq!(r.svar(), Ok(v)),
                    Op::Gamma(v) => proptest::prop_assert_eq!(r.gamma(), Ok(v)),
                }
            }
            proptest::prop_assert!(r.at_padding());
        }
    }

    #[test]
    fn reading_past_the_end_fails() {
        let mut r = BitReader::new(&[0xff]);
        assert_eq!(r.bits(9), Err(END_OF_BITS));
        assert_eq!(r.uvar(), Err(END_OF_BITS));
        let mut r = BitReader::new(&[0xff; 20]);
        assert!(r.uvar().is_err(), "an endless uvar is refused");
        let mut r = BitReader::new(&[0; 20]);
        assert_eq!(r.gamma(), Err("gamma code too long"));
        let mut r = BitReader::new(&[0x00, 0x01]);
        assert_eq!(r.gamma(), Err(END_OF_BITS), "15 zeros ask for 15 more bits than there are");
    }
}
