//! Reads a connection's incoming WebSocket frames straight from its TCP socket, with a buffer
//! sized for what clients send.
//!
//! actix-http's connection task keeps an 8 KiB read buffer and an 8 KiB write buffer for as long
//! as the connection lives, fixed sizes it does not let us change, and actix-ws reads through it:
//! 16 of the 33 KiB a player cost the server in a room of 1000 (heaptrack). A client sends an
//! input of about 30 bytes a tick, so after the upgrade ([`crate::http`] takes the socket from
//! actix-http, which then lets its buffers go) the session reads with a buffer of its own that
//! starts at `READ_CHUNK` bytes and grows only for a frame that needs it (at most the frame
//! limit). Frames are decoded by actix-http's WebSocket codec, the one actix-ws uses; a frame
//! whose header declares more than the limit is refused here as soon as the header is in, because
//! the codec (3.20) only says so once the whole declared payload has been buffered: a client
//! declaring 2^40 bytes could otherwise grow a session's buffer as fast as it can send.
//!
//! Dropping the reader does not end our side of the stream: the reader ends at a bad frame while
//! the session's writer still has the Close that says why to write (behind a backed-up socket,
//! a simulated link or a busy thread), and a FIN sent ahead of it makes the client see the stream
//! end with no Close. The session ends our side once its writer is done (`player_session.rs`).
//! What the client still sends is read and discarded for a short linger, so closing with unread
//! data never turns into a reset that makes the client's kernel throw away our Close frame.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use actix_http::ws::ProtocolError;
use actix_http::ws::{Codec, Frame};
use bytes::{Bytes, BytesMut};
use futures_util::Stream;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio_util::codec::Decoder;
use tokio_util::io::poll_read_buf;

/// Free space the buffer keeps for a read: a few inputs' worth. A bigger frame grows the buffer
/// as far as it needs, never past the limit: one declaring more is refused from its header.
const READ_CHUNK: usize = 256;

/// Why reading a connection ended.
#[derive(Debug)]
pub enum ReadError {
    /// The client broke RFC 6455 (a frame over the limit is [`ProtocolError::Overflow`]). The
    /// codec's `Io` variant lands here too: it uses it for reserved bits set, not for the socket.
    Protocol(ProtocolError),
    /// The socket failed (a reset, a read error): nobody is left to read a Close.
    Io(io::Error),
}

/// The payload length the header at the start of `buf` declares, once enough of it is there
/// (RFC 6455 §5.2: 7 bits, or 126 and 16 more, or 127 and 64 more).
fn declared_len(buf: &[u8]) -> Option<u64> {
    match buf.get(1)? & 0x7F {
        126 => Some(u64::from(u16::from_be_bytes(buf.get(2..4)?.try_into().ok()?))),
        127 => Some(u64::from_be_bytes(buf.get(2..10)?.try_into().ok()?)),
        short => Some(u64::from(short)),
    }
}

/// The incoming half of one WebSocket connection (see the module docs).
pub struct WsReader {
    /// `None` only once dropped (the linger task has it).
    io: Option<TcpStream>,
    /// What the HTTP layer read past the upgrade request, not yet decoded: fed to `buf` a
    /// chunk at a time, as the socket would be, so that `buf` keeps its usual size.
    pending: Bytes,
    buf: BytesMut,
    codec: Codec,
    /// The largest payload accepted, in bytes.
    max_frame: usize,
    /// The client ended its stream or the read failed: decode what is left, then end.
    eof: bool,
    /// How long a dropped reader reads and discards before the socket closes.
    linger: Duration,
}

impl WsReader {
    /// A reader on `io`, starting with `already_read` (bytes the HTTP layer read past the
    /// upgrade request: a client may send its first frame without waiting for our answer),
    /// refusing frames over `max_frame` bytes.
    pub fn new(io: TcpStream, already_read: &[u8], max_frame: usize, linger: Duration) -> Self {
        // Not one buffer the size of what was read: that allocation (tens of KiB when a client
        // sends many frames with its upgrade request) would stay with the connection for its
        // whole life, as `BytesMut` reuses or remembers its first capacity.
        Self {
            io: Some(io),
            pending: Bytes::copy_from_slice(already_read),
            buf: BytesMut::with_capacity(READ_CHUNK),
            codec: Codec::new().max_size(max_frame),
            max_frame,
            eof: false,
            linger,
        }
    }
}

impl Stream for WsReader {
    type Item = Result<Frame, ReadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            // What is left after the frames decoded is the start of one frame at most.
            let error = match this.codec.decode(&mut this.buf) {
                Ok(Some(frame)) => return Poll::Ready(Some(Ok(frame))),
                Ok(None) if declared_len(&this.buf).is_some_and(|len| len > this.max_frame as u64) => {
                    Some(ProtocolError::Overflow)
                }
                Ok(None) => None,
                Err(e) => Some(e),
            };
            if let Some(e) = error {
                // Nothing after a protocol error is trustworthy.
                this.eof = true;
                this.buf = BytesMut::new();
                this.pending = Bytes::new();
                return Poll::Ready(Some(Err(ReadError::Protocol(e))));
            }
            if !this.pending.is_empty() {
                let chunk = this.pending.split_to(this.pending.len().min(READ_CHUNK));
                this.buf.extend_from_slice(&chunk);
                continue;
            }
            if this.eof {
                return Poll::Ready(None);
            }
            let Some(io) = &mut this.io else { return Poll::Ready(None) };
            // Room for the rest of a frame begun, or a fresh chunk; given back to the same
            // allocation once the frames decoded from it are dropped.
            this.buf.reserve(READ_CHUNK);
            // tokio's `poll_read`, not `try_read`: a read that leaves room in the buffer has
            // drained the socket, and tokio then waits for the next readiness edge without
            // asking. `try_read` only learns that from a second read that fails: a wasted
            // system call per input, 30 000 a second at 1000 players.
            match ready!(poll_read_buf(Pin::new(io), cx, &mut this.buf)) {
                Ok(0) => this.eof = true,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    this.eof = true;
                    return Poll::Ready(Some(Err(ReadError::Io(e))));
                }
            }
        }
    }
}

impl Drop for WsReader {
    fn drop(&mut self) {
        let Some(io) = self.io.take() else { return };
        let linger = self.linger;
        // Outside a runtime (a server stopping) the socket just closes.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(linger_then_close(io, linger));
        }
    }
}

/// Reads and discards until the client ends its side or `linger` passes; then this descriptor
/// closes (the socket itself once the writer's is closed too). Our side is not shut here: see
/// the module's documentation.
async fn linger_then_close(mut io: TcpStream, linger: Duration) {
    let discard = async {
        let mut sink = [0u8; 512];
        while matches!(io.read(&mut sink).await, Ok(n) if n > 0) {}
    };
    let _ = tokio::time::timeout(linger, discard).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::{SinkExt as _, StreamExt as _};
    use tokio::io::AsyncWriteExt as _;
    use tokio_tungstenite::tungstenite::protocol::Role;
    use tokio_tungstenite::{WebSocketStream, tungstenite};

    async fn pair() -> (TcpStream, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (server, client)
    }

    /// A real client (tungstenite, masking its frames) sends frames of every kind, one of them
    /// bigger than a read; the reader gives each whole and in order, the bytes read before it
    /// existed first, then ends with the client's stream.
    #[tokio::test]
    async fn frames_from_a_real_client_arrive_whole_and_in_order() {
        let (server, client) = pair().await;
        let mut ws = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
        let big = vec![9u8; 3000];
        ws.send(tungstenite::Message::binary(vec![1u8, 2, 3])).await.unwrap();
        ws.send(tungstenite::Message::binary(big.clone())).await.unwrap();
        ws.send(tungstenite::Message::Ping(vec![7u8].into())).await.unwrap();
        ws.send(tungstenite::Message::text("hi")).await.unwrap();
        ws.close(None).await.unwrap();
        drop(ws);

        // What the HTTP layer read already: an empty binary frame, masked as a client's must be.
        let masked_empty_binary = [0x82u8, 0x80, 1, 2, 3, 4];
        let mut reader = WsReader::new(server, &masked_empty_binary, 4096, Duration::from_millis(50));
        let mut got = Vec::new();
        while let Some(message) = reader.next().await {
            got.push(message.unwrap());
        }
        assert!(matches!(&got[0], Frame::Binary(b) if b.is_empty()), "{:?}", got[0]);
        assert!(matches!(&got[1], Frame::Binary(b) if b[..] == [1, 2, 3]));
        assert!(matches!(&got[2], Frame::Binary(b) if b[..] == big[..]));
        assert!(matches!(&got[3], Frame::Ping(b) if b[..] == [7]));
        assert!(matches!(&got[4], Frame::Text(t) if t[..] == *b"hi"));
        assert!(matches!(&got[5], Frame::Close(_)));
        assert_eq!(got.len(), 6);
        assert!(reader.buf.capacity() < 8192, "the buffer grew to {}", reader.buf.capacity());
    }

    /// Found by an outside attack: frames sent in the same write as the upgrade request made the
    /// reader's buffer as big as all of them (40 KB and more), and it stayed that size for the
    /// connection's life. They are decoded through a buffer of the usual size.
    #[tokio::test]
    async fn frames_read_with_the_upgrade_request_leave_no_big_buffer() {
        let (server, client) = pair().await;
        let mut ws = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
        let masked_binary = [0x82u8, 0x84, 1, 2, 3, 4, 9, 9, 9, 9];
        let already_read = masked_binary.repeat(4000);
        let mut reader = WsReader::new(server, &already_read, 4096, Duration::from_millis(50));
        for _ in 0..4000 {
            assert!(matches!(reader.next().await, Some(Ok(Frame::Binary(b))) if b[..] == [8, 11, 10, 13]));
        }
        ws.send(tungstenite::Message::binary(vec![1u8; 300])).await.unwrap();
        assert!(matches!(reader.next().await, Some(Ok(Frame::Binary(b))) if b.len() == 300));
        assert!(reader.buf.capacity() < 8192, "the buffer kept {} bytes", reader.buf.capacity());
    }

    /// A frame over the limit is refused as an overflow, not read whole.
    #[tokio::test]
    async fn a_frame_over_the_limit_is_an_overflow() {
        let (server, client) = pair().await;
        let mut ws = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
        ws.send(tungstenite::Message::binary(vec![0u8; 5000])).await.unwrap();
        let mut reader = WsReader::new(server, &[], 4096, Duration::from_millis(50));
        assert!(matches!(reader.next().await, Some(Err(ReadError::Protocol(ProtocolError::Overflow)))));
        assert!(reader.next().await.is_none(), "nothing after a protocol error");
    }

    /// A header declaring more than the limit is refused as soon as it is in, whatever follows:
    /// the payload is never waited for, so it cannot grow the buffer.
    #[tokio::test]
    async fn a_header_declaring_too_much_is_refused_before_its_payload() {
        for declared in [4097u64, 1 << 40] {
            let (server, mut client) = pair().await;
            // Masked binary, a 64-bit length, the mask, then a little of the promised payload.
            let mut frame = vec![0x82u8, 0x80 | 127];
            frame.extend_from_slice(&declared.to_be_bytes());
            frame.extend_from_slice(&[1, 2, 3, 4]);
            frame.extend_from_slice(&[0u8; 100]);
            client.write_all(&frame).await.unwrap();
            let mut reader = WsReader::new(server, &[], 4096, Duration::from_millis(50));
            let next = tokio::time::timeout(Duration::from_secs(10), reader.next()).await.expect("refused at once");
            assert!(matches!(next, Some(Err(ReadError::Protocol(ProtocolError::Overflow)))), "{declared}: {next:?}");
            assert!(reader.buf.capacity() < 4096, "{declared}: the buffer grew to {}", reader.buf.capacity());
        }
        // A 16-bit length at the limit is still read whole.
        let (server, client) = pair().await;
        let mut ws = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
        ws.send(tungstenite::Message::binary(vec![5u8; 4096])).await.unwrap();
        let mut reader = WsReader::new(server, &[], 4096, Duration::from_millis(50));
        assert!(matches!(reader.next().await, Some(Ok(Frame::Binary(b))) if b.len() == 4096));
    }

    /// Reserved bits set (no extension is negotiated) are the client's protocol error, which the
    /// codec reports as `Io`: not taken for a broken socket.
    #[tokio::test]
    async fn reserved_bits_are_a_protocol_error_not_a_lost_socket() {
        let (server, _client) = pair().await;
        // FIN + RSV1 + binary, masked, empty.
        let mut reader = WsReader::new(server, &[0xC2, 0x80, 1, 2, 3, 4], 4096, Duration::from_millis(50));
        assert!(matches!(reader.next().await, Some(Err(ReadError::Protocol(_)))));
    }

    /// Dropping the reader shuts our side: the client reads the end of the stream.
    #[tokio::test]
    async fn dropping_the_reader_ends_the_stream_for_the_client() {
        let (server, mut client) = pair().await;
        drop(WsReader::new(server, &[], 4096, Duration::from_secs(5)));
        let mut byte = [0u8; 1];
        let read = tokio::time::timeout(Duration::from_secs(10), client.read(&mut byte)).await;
        assert!(matches!(read, Ok(Ok(0))), "{read:?}");
    }
}
