//! Writes a connection's outgoing WebSocket frames straight into its TCP socket.
//!
//! actix-ws hands every frame to a channel that the HTTP dispatcher drains into its own 8 KiB
//! write buffer and then into the socket: per snapshot a channel send, a second task woken, the
//! frame encoded and copied, a `write(2)`. perf put that plumbing at a third of the server's
//! time in a room of 1000. Here the session's writer task writes the frames itself: each
//! frame's header (2–10 bytes: a server's frames are not masked, RFC 6455 §5.1) goes beside the
//! payload in one non-blocking `sendmsg` per wake-up, every frame waiting gathered into it, with
//! no copy.
//!
//! What the kernel does not take (a full send buffer: the client reads slower than we send)
//! is copied here and written first once the socket is writable again, so the byte stream
//! stays whole; the writer holds newer output in the outbox meanwhile (latest-wins).
//!
//! The upgrade hands the socket over once our `101 Switching Protocols` is written whole
//! (`crate::http`), so from the session's first moment nothing else writes to it; reading is
//! `crate::ws_reader`'s, on a descriptor of its own.

use std::io::{self, IoSlice};

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::Interest;
use tokio::net::TcpStream;

use crate::outbox::Frame;
use crate::socket::ConnSocket;

/// Frames gathered into one `sendmsg` (up to `SLICES` slices each, on the stack; Linux allows
/// 1024). A wake-up usually finds one to three.
const MAX_FRAMES_PER_WRITE: usize = 64;
/// Slices of one frame: its header and its payload's parts (up to three: `Frame::Gathered`).
const SLICES: usize = 4;
/// Longest frame header of a server: 2 bytes, then a 64-bit length.
const MAX_HEADER: usize = 10;

/// Opcodes (RFC 6455 §5.2).
const OP_BINARY: u8 = 0x2;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;
const OP_PONG: u8 = 0xA;
/// FIN: every frame we send is a whole message.
const FIN: u8 = 0x80;

/// See the module docs. One per connection, owned by its writer task.
pub struct WsWriter {
    socket: ConnSocket,
    /// One more descriptor of the socket, registered with the runtime to wait until it is
    /// writable: made the first time a write is refused (most connections never need it).
    ready: Option<TcpStream>,
    /// Bytes of frames already begun that the kernel has not taken yet: they go first.
    pending: BytesMut,
}

impl WsWriter {
    /// A writer on `socket`, the connection's duplicated descriptor (non-blocking, as the
    /// descriptor actix registered: they share one open file).
    pub fn new(socket: ConnSocket) -> Self {
        Self { socket, ready: None, pending: BytesMut::new() }
    }

    /// True while bytes of a frame already begun wait for the socket.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Writes what waits from an earlier write. `Ok(true)` once nothing does.
    pub fn flush(&mut self) -> io::Result<bool> {
        if self.pending.is_empty() {
            return Ok(true);
        }
        while !self.pending.is_empty() {
            match self.socket.send(&[IoSlice::new(&self.pending)]) {
                Ok(n) => self.pending.advance(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(e),
            }
        }
        // Written out: its buffer goes back rather than stay the size of the largest backlog
        // this connection ever had (most connections never need one again).
        self.pending = BytesMut::new();
        Ok(true)
    }

    /// Writes `frames` in order, after anything pending, and empties the vector. What the
    /// kernel does not take now is kept and goes first next time: `Ok(false)` then. An error
    /// means the connection is gone.
    pub fn write(&mut self, frames: &mut Vec<Frame>) -> io::Result<bool> {
        let mut complete = self.flush()?;
        let mut rest = frames.as_slice();
        while !rest.is_empty() {
            let (now, later) = rest.split_at(rest.len().min(MAX_FRAMES_PER_WRITE));
            rest = later;
            if complete {
                complete = self.write_batch(now)?;
            } else {
                // The socket is full: the rest waits behind what is pending, in order.
                for frame in now {
                    let (op, payload) = parts(frame);
                    let (header, len) = header(op, frame.payload_len());
                    self.pending.extend_from_slice(&header[..len]);
                    for part in payload {
                        self.pending.extend_from_slice(part);
                    }
                }
            }
        }
        frames.clear();
        Ok(complete)
    }

    /// One `sendmsg` with every frame of `batch`; the untaken tail into `pending`.
    fn write_batch(&mut self, batch: &[Frame]) -> io::Result<bool> {
        // On the stack: no allocation per write on the 30 Hz path.
        let mut headers = [([0u8; MAX_HEADER], 0); MAX_FRAMES_PER_WRITE];
        for (slot, frame) in headers.iter_mut().zip(batch) {
            *slot = header(parts(frame).0, frame.payload_len());
        }
        let mut slices = [IoSlice::new(&[]); SLICES * MAX_FRAMES_PER_WRITE];
        let (mut used, mut total) = (0, 0);
        for (frame, (header, len)) in batch.iter().zip(&headers) {
            slices[used] = IoSlice::new(&header[..*len]);
            used += 1;
            total += len;
            for part in parts(frame).1.into_iter().filter(|p| !p.is_empty()) {
                slices[used] = IoSlice::new(part);
                used += 1;
                total += part.len();
            }
        }
        let slices = &slices[..used];
        let written = match self.socket.send(slices) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
            Err(e) => return Err(e),
        };
        if written == total {
            return Ok(true);
        }
        let mut skip = written;
        for slice in slices {
            if skip >= slice.len() {
                skip -= slice.len();
            } else {
                self.pending.extend_from_slice(&slice[skip..]);
                skip = 0;
            }
        }
        Ok(false)
    }

    /// Waits until the socket takes writes again (its send queue fell under two thirds of the
    /// buffer, where `poll(2)` reports `POLLOUT`). The first call registers the socket.
    pub async fn writable(&mut self) -> io::Result<()> {
        if self.ready.is_none() {
            // Non-blocking already: the flag belongs to the open file all descriptors share.
            let stream = std::net::TcpStream::from(self.socket.try_clone_fd()?);
            self.ready = Some(TcpStream::from_std(stream)?);
        }
        let Some(ready) = &self.ready else { return Ok(()) };
        let socket = &self.socket;
        loop {
            ready.writable().await?;
            // The runtime remembers the last edge; the kernel says whether it still holds (a
            // `WouldBlock` here clears the remembered readiness until the next edge).
            let drained = || if socket.backed_up() { Err(io::Error::from(io::ErrorKind::WouldBlock)) } else { Ok(()) };
            match ready.try_io(Interest::WRITABLE, drained) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                result => return result,
            }
        }
    }
}

/// A Close frame's payload: the code, big-endian, then the reason (RFC 6455 §5.5.1).
pub fn close_payload(code: u16, reason: &str) -> Bytes {
    let mut payload = Vec::with_capacity(2 + reason.len());
    payload.extend_from_slice(&code.to_be_bytes());
    payload.extend_from_slice(reason.as_bytes());
    Bytes::from(payload)
}

/// A frame's opcode and its payload's parts, in order (unused ones empty).
fn parts(frame: &Frame) -> (u8, [&[u8]; 3]) {
    match frame {
        Frame::Binary(bytes) => (OP_BINARY, [bytes, &[], &[]]),
        Frame::Gathered([a, b, c]) => (OP_BINARY, [a, b, c]),
        Frame::Ping => (OP_PING, [&[]; 3]),
        Frame::Pong(bytes) => (OP_PONG, [bytes, &[], &[]]),
        Frame::Close(bytes) => (OP_CLOSE, [bytes, &[], &[]]),
    }
}

/// The header of an unmasked, final frame with opcode `op` and a payload of `len` bytes.
fn header(op: u8, len: usize) -> ([u8; MAX_HEADER], usize) {
    let mut h = [0u8; MAX_HEADER];
    h[0] = FIN | op;
    let n = if len < 126 {
        h[1] = len as u8;
        2
    } else if let Ok(len) = u16::try_from(len) {
        h[1] = 126;
        h[2..4].copy_from_slice(&len.to_be_bytes());
        4
    } else {
        h[1] = 127;
        h[2..10].copy_from_slice(&(len as u64).to_be_bytes());
        10
    };
    (h, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_follow_rfc_6455() {
        let (h, n) = header(OP_BINARY, 5);
        assert_eq!(&h[..n], [0x82, 5]);
        let (h, n) = header(OP_BINARY, 125);
        assert_eq!(&h[..n], [0x82, 125]);
        let (h, n) = header(OP_BINARY, 126);
        assert_eq!(&h[..n], [0x82, 126, 0, 126]);
        let (h, n) = header(OP_PONG, 65_535);
        assert_eq!(&h[..n], [0x8A, 126, 0xFF, 0xFF]);
        let (h, n) = header(OP_CLOSE, 65_536);
        assert_eq!(&h[..n], [0x88, 127, 0, 0, 0, 0, 0, 1, 0, 0]);
        assert_eq!(close_payload(1008, "no"), Bytes::from_static(&[0x03, 0xF0, b'n', b'o']));
    }

    /// Over a real loopback connection whose reader starts late: writes the kernel refuses wait
    /// in the writer, and the real WebSocket client (tungstenite) reads every frame whole and
    /// in order, then the Close with its code and reason.
    #[tokio::test]
    async fn a_reader_that_falls_behind_gets_every_frame_in_order() {
        use futures_util::StreamExt as _;
        use tokio_tungstenite::tungstenite::protocol::Role;
        use tokio_tungstenite::{WebSocketStream, tungstenite::Message};

        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        server.set_nonblocking(true).unwrap();
        socket2::SockRef::from(&server).set_send_buffer_size(4096).unwrap();
        let mut writer = WsWriter::new(ConnSocket::new(server.into()));

        // Every third frame in three parts, every third with an empty middle: the client must
        // read each as the one message its parts make.
        let frame = |i: u32| {
            let whole = Bytes::from([i.to_be_bytes().as_slice(), &[7u8; 996]].concat());
            match i % 3 {
                0 => Frame::Binary(whole),
                1 => Frame::Gathered([whole.slice(..4), whole.slice(4..504), whole.slice(504..)]),
                _ => Frame::Gathered([whole.slice(..700), Bytes::new(), whole.slice(700..)]),
            }
        };
        // More frames at once than one `sendmsg` takes, and more bytes than the two sockets'
        // buffers hold while the client reads nothing.
        let mut first: Vec<Frame> = (0..2000).map(frame).collect();
        assert!(!writer.write(&mut first).unwrap(), "2 MB fit in the socket buffers");
        let mut sent = 2000u32;
        let mut pings = 0u32;
        let mut extra = 0;
        while extra < 50 {
            let mut frames = vec![frame(sent), Frame::Ping];
            sent += 1;
            pings += 1;
            // Pending bytes wait ahead, so every later write reports the socket full.
            assert!(!writer.write(&mut frames).unwrap());
            extra += 1;
            assert!(frames.is_empty());
        }
        assert!(writer.has_pending());
        writer.write(&mut vec![Frame::Close(close_payload(1001, "bye"))]).unwrap();

        client.set_nonblocking(true).unwrap();
        let client = tokio::net::TcpStream::from_std(client).unwrap();
        let reader = tokio::spawn(async move {
            let mut ws = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
            let mut next = 0u32;
            let mut pings = 0;
            while let Some(msg) = ws.next().await {
                match msg.unwrap() {
                    Message::Binary(b) => {
                        assert_eq!(b.len(), 1000);
                        assert_eq!(u32::from_be_bytes(b[..4].try_into().unwrap()), next);
                        next += 1;
                    }
                    Message::Ping(_) => pings += 1,
                    Message::Close(Some(close)) => {
                        assert_eq!((u16::from(close.code), close.reason.as_str()), (1001, "bye"));
                        return (next, pings);
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
            panic!("the stream ended without a Close");
        });
        while !writer.flush().unwrap() {
            writer.writable().await.unwrap();
        }
        assert_eq!(reader.await.unwrap(), (sent, pings));
    }
}
