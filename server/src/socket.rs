//! The server's TCP sockets: the listener, the options every connection gets, and a second
//! handle on each WebSocket's socket ([`ConnSocket`]), through which the session's writer task
//! writes its frames (`crate::ws_writer`) while the session reads through the first
//! (`crate::ws_reader`), and through which a connection is shut or cut.

use std::io::{self, IoSlice};
use std::net::Shutdown;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;

use actix_web::dev::Extensions;
use tokio::net::TcpStream;

/// Binds a listening socket with `backlog` (std's `TcpListener::bind` fixes it at 128) and
/// `SO_REUSEADDR`, so a restarted server can bind while old connections sit in TIME_WAIT.
pub fn listen(addr: std::net::SocketAddr, backlog: u32) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(i32::try_from(backlog).unwrap_or(i32::MAX))?;
    Ok(socket.into())
}

/// Raises this process's soft open-file limit to its hard limit and returns the limit now in
/// force. Each WebSocket holds two descriptors (the reader's and the writer's [`ConnSocket`]),
/// so the usual soft limit of 1024 would cap a server near 500 players.
pub fn raise_open_file_limit() -> std::io::Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX)
}

/// The writer's descriptor of one WebSocket's socket.
#[derive(Debug, Clone)]
pub struct ConnSocket(Arc<OwnedFd>);

impl ConnSocket {
    /// Wraps a connected TCP socket's descriptor.
    pub fn new(fd: OwnedFd) -> Self {
        Self(Arc::new(fd))
    }

    /// Another descriptor of the same socket.
    pub fn try_clone_fd(&self) -> io::Result<OwnedFd> {
        self.0.try_clone()
    }

    /// One non-blocking `sendmsg` of `bufs`, in order; returns the bytes the kernel took
    /// (`WouldBlock` when it took none). No `SIGPIPE` on a connection the peer has reset: the
    /// error comes back instead.
    pub fn send(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        use rustix::net::{SendAncillaryBuffer, SendFlags, sendmsg};
        loop {
            let flags = SendFlags::DONTWAIT | SendFlags::NOSIGNAL;
            match sendmsg(&*self.0, bufs, &mut SendAncillaryBuffer::default(), flags) {
                Err(rustix::io::Errno::INTR) => {}
                result => return result.map_err(io::Error::from),
            }
        }
    }

    /// Lets at most `bytes` wait unsent in the kernel (`TCP_NOTSENT_LOWAT`): past that, a write
    /// takes nothing more and `poll` reports the socket not writable, so the session's writer
    /// holds and latest-wins replaces its waiting snapshot. Without it the send buffer
    /// (`--socket-send-buffer`) held seconds of v3's small snapshots for a client on a slow
    /// link, each older than the last one it read (from an outside test of a LAN host: a phone
    /// at 6 KB/s saw its view fall 10 s behind). What is sent and not yet acknowledged (the
    /// bytes in flight) is not counted; that is the link's own queue.
    pub fn limit_unsent(&self, bytes: u32) -> io::Result<()> {
        socket2::SockRef::from(&*self.0).set_tcp_notsent_lowat(bytes)
    }

    /// Cuts the connection in both directions. Errors (already closed) are irrelevant.
    pub fn shutdown(&self) {
        self.shutdown_how(Shutdown::Both);
    }

    /// True when the kernel would not take a write now: the send queue is over two thirds of
    /// its buffer (the point where `poll(2)` stops reporting `POLLOUT`), because the client
    /// reads slower than we send or not at all. Asked after a refused write, when the runtime
    /// reports the socket writable, to tell a drained socket from a stale readiness. One `poll`
    /// with a zero timeout; an error (the socket is gone) reads as not backed up, so the write
    /// goes ahead and fails the usual way.
    pub fn backed_up(&self) -> bool {
        use rustix::event::{PollFd, PollFlags, Timespec, poll};
        let mut fds = [PollFd::new(&*self.0, PollFlags::OUT)];
        let now = Timespec { tv_sec: 0, tv_nsec: 0 };
        // 0: nothing ready within the zero timeout, so not writable. 1: `revents` says what.
        match poll(&mut fds, Some(&now)) {
            Ok(0) => true,
            Ok(_) => fds[0].revents().is_empty(),
            Err(_) => false,
        }
    }

    /// Ends our side of the stream (a FIN after what is already written); the client can
    /// still send, and its data is still read, so nothing provokes a reset.
    pub fn shutdown_write(&self) {
        self.shutdown_how(Shutdown::Write);
    }

    /// Ends our reading side: reads return end of stream from now on. What an HTTP connection
    /// whose request ran out of time gets, so that actix-http, which would go on reading the
    /// request's body after answering with no timer of its own, sees the end and closes it.
    pub fn stop_reading(&self) {
        self.shutdown_how(Shutdown::Read);
    }

    fn shutdown_how(&self, how: Shutdown) {
        if let Ok(fd) = self.0.try_clone() {
            let _ = std::net::TcpStream::from(fd).shutdown(how);
        }
    }
}

/// The most a WebSocket's socket keeps unsent (see [`ConnSocket::limit_unsent`]): a second or
/// so of a busy room's snapshots for one player (about 3 KiB a second at 40 players), and more
/// than any one frame the server sends in play; a bigger frame (a big room's `Welcome`) goes
/// out in parts as the link takes them.
pub const UNSENT_LIMIT: u32 = 4096;

/// How long the kernel lets our bytes wait for a peer that acknowledges none of them, or keeps a
/// zero window, before it resets the connection (`TCP_USER_TIMEOUT`): twice the longer of the
/// send stall timeout and the client timeout, so for a WebSocket the session's own checks
/// answer first, with a close code. It is what ends an HTTP response the client never reads,
/// which actix-http would otherwise hold, buffer and descriptor, for as long as the client
/// likes.
pub fn user_timeout(config: &crate::config::Config) -> std::time::Duration {
    config.send_stall_timeout.max(config.client_timeout) * 2
}

/// The HTTP service's `on_connect_ext` hook: turns Nagle off, caps the kernel send buffer at
/// `send_buffer` bytes (0 leaves the OS default) and sets [`user_timeout`] (0 leaves it off).
pub fn on_connect(
    send_buffer: usize,
    user_timeout: std::time::Duration,
) -> impl Fn(&TcpStream, &mut Extensions) + Clone + 'static {
    let user_timeout_ms = u32::try_from(user_timeout.as_millis()).unwrap_or(u32::MAX);
    move |tcp, extensions| {
        // A second descriptor of the socket, in actix-http's connection data: the request
        // timeout ends its reading side through it (`ConnSocket::stop_reading`), and a
        // WebSocket's writer takes it over at the upgrade.
        match tcp.as_fd().try_clone_to_owned() {
            Ok(fd) => {
                extensions.insert(ConnSocket::new(fd));
            }
            Err(e) => tracing::debug!(error = %e, "cannot duplicate an HTTP connection's socket"),
        }
        if user_timeout_ms > 0
            && let Err(e) = rustix::net::sockopt::set_tcp_user_timeout(tcp, user_timeout_ms)
        {
            tracing::debug!(error = %e, "cannot set TCP_USER_TIMEOUT");
        }
        // Snapshots are small and time-critical: without this, Nagle holds each one back until
        // the client's delayed ACK (which rides on its next input), adding up to a tick.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        if send_buffer > 0
            && let Err(e) = socket2::SockRef::from(tcp).set_send_buffer_size(send_buffer)
        {
            tracing::debug!(error = %e, "cannot set SO_SNDBUF");
        }
    }
}
