//! The application's end of an I2P stream: an [`I2pStream`] is `AsyncRead` +
//! `AsyncWrite` like a TCP socket, while the streaming state machine lives in the
//! core task (the one owner of router state). Between them sits a small shared
//! buffer pair with bounded capacity each way:
//!
//! - the core pushes received bytes in ([`StreamShared::push_received`]) as far as
//!   there is room, and the application reads them out;
//! - the application writes bytes in, and the core takes them
//!   ([`StreamShared::take_outgoing`]) as the connection's send window allows.
//!
//! Either side wakes the other: the application through a coalesced notification on
//! the core's channel (at most one in flight per stream), the core through the
//! stored task wakers. Nothing here can grow without bound.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Bytes buffered each way between the core and the application.
/// The streaming layer holds a window's worth on each side; this is only the hand-off.
pub const STREAM_BUFFER: usize = 64 * 1024;

/// Tells the core that the application did something on a stream.
pub(crate) type Notify = Arc<dyn Fn() + Send + Sync>;

#[derive(Default)]
struct Inner {
    /// Received, not yet read by the application.
    rx: VecDeque<u8>,
    /// The remote closed its side: after `rx`, end of stream.
    rx_eof: bool,
    /// The core has received bytes it could not push for lack of room: the next
    /// read must tell it.
    more_waiting: bool,
    /// Written by the application, not yet taken by the core.
    tx: VecDeque<u8>,
    /// The application shut down its writing side.
    tx_closed: bool,
    /// The application dropped its end.
    dropped: bool,
    /// The stream failed (reset, timeout, router stopping): every operation fails.
    error: Option<(io::ErrorKind, String)>,
    read_waker: Option<Waker>,
    write_waker: Option<Waker>,
    /// A notification to the core is in flight.
    notified: bool,
}

/// The state both ends share.
pub(crate) struct StreamShared {
    inner: Mutex<Inner>,
    notify: Notify,
}

impl StreamShared {
    pub(crate) fn new(notify: Notify) -> Arc<Self> {
        Arc::new(Self {
            inner: Mutex::new(Inner::default()),
            notify,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A poisoned lock only means a panic elsewhere; the buffers stay usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn notify_core(&self, inner: &mut Inner) {
        if !inner.notified {
            inner.notified = true;
            (self.notify)();
        }
    }

    // ----- the core's side -----

    /// The core handled the notification; the next application event notifies again.
    pub(crate) fn clear_notified(&self) {
        self.lock().notified = false;
    }

    /// Room for received bytes. With none, the core holds more than fits: the
    /// application's read that makes room then notifies it. Both under one lock: a
    /// read between "no room" and "more waiting" found no mark, notified nobody,
    /// and left the application waiting on an empty buffer and the core waiting on
    /// the application (a 20 MB fetch stuck at 3.5 MB in the end-to-end benchmark).
    pub(crate) fn receive_room_or_wait(&self) -> usize {
        let mut g = self.lock();
        let room = STREAM_BUFFER.saturating_sub(g.rx.len());
        if room == 0 {
            g.more_waiting = true;
        }
        room
    }

    /// Pushes received bytes for the application, as many as fit; returns how many.
    pub(crate) fn push_received(&self, data: &[u8]) -> usize {
        let mut g = self.lock();
        let n = data.len().min(STREAM_BUFFER.saturating_sub(g.rx.len()));
        g.rx.extend(data.iter().take(n));
        if n > 0 {
            if let Some(w) = g.read_waker.take() {
                w.wake();
            }
        }
        n
    }

    /// The remote finished sending.
    pub(crate) fn set_eof(&self) {
        let mut g = self.lock();
        g.rx_eof = true;
        if let Some(w) = g.read_waker.take() {
            w.wake();
        }
    }

    /// The stream failed: the application's next operation returns this error.
    pub(crate) fn set_error(&self, kind: io::ErrorKind, why: impl Into<String>) {
        let mut g = self.lock();
        if g.error.is_none() {
            g.error = Some((kind, why.into()));
        }
        if let Some(w) = g.read_waker.take() {
            w.wake();
        }
        if let Some(w) = g.write_waker.take() {
            w.wake();
        }
    }

    /// Offers up to `max` bytes the application wrote to `take`, which returns how
    /// many it took; those leave the buffer. Returns that count.
    pub(crate) fn consume_outgoing(&self, max: usize, take: impl FnOnce(&[u8]) -> usize) -> usize {
        let mut g = self.lock();
        let avail = max.min(g.tx.len());
        if avail == 0 {
            return 0;
        }
        let n = take(&g.tx.make_contiguous()[..avail]).min(avail);
        g.tx.drain(..n);
        if n > 0 {
            if let Some(w) = g.write_waker.take() {
                w.wake();
            }
        }
        n
    }

    /// Whether the application closed its writing side and everything was taken.
    pub(crate) fn outgoing_finished(&self) -> bool {
        let g = self.lock();
        (g.tx_closed || g.dropped) && g.tx.is_empty()
    }

    /// Whether the application dropped its end.
    pub(crate) fn is_dropped(&self) -> bool {
        self.lock().dropped
    }
}

/// One I2P stream, for the application: read and write it like a TCP socket.
/// Shutting down the writing side sends CLOSE; dropping it closes the stream.
pub struct I2pStream {
    shared: Arc<StreamShared>,
    /// The remote destination.
    remote: i2p_wire::Destination,
    /// I2P ports: ours, the remote's.
    ports: (u16, u16),
}

impl std::fmt::Debug for I2pStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("I2pStream")
            .field("remote", &self.remote.hash())
            .finish_non_exhaustive()
    }
}

impl I2pStream {
    pub(crate) fn new(
        shared: Arc<StreamShared>,
        remote: i2p_wire::Destination,
        ports: (u16, u16),
    ) -> Self {
        Self {
            shared,
            remote,
            ports,
        }
    }

    /// Our I2P port of this stream.
    pub fn local_port(&self) -> u16 {
        self.ports.0
    }

    /// The remote's I2P port of this stream.
    pub fn remote_port(&self) -> u16 {
        self.ports.1
    }

    /// The hash of the destination at the other end.
    pub fn remote(&self) -> i2p_wire::Hash {
        self.remote.hash()
    }

    /// The destination at the other end (authenticated by its signed SYN).
    pub fn remote_destination(&self) -> &i2p_wire::Destination {
        &self.remote
    }
}

impl AsyncRead for I2pStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let shared = &self.shared;
        let mut g = shared.lock();
        if !g.rx.is_empty() {
            let n = buf.remaining().min(g.rx.len());
            let (a, b) = g.rx.as_slices();
            let from_a = n.min(a.len());
            buf.put_slice(&a[..from_a]);
            if n > from_a {
                buf.put_slice(&b[..n - from_a]);
            }
            g.rx.drain(..n);
            if g.more_waiting && g.rx.len() <= STREAM_BUFFER / 2 {
                // Room again for what the core holds. At half, not at the first
                // byte read: each wake-up of the core then moves at least half a
                // buffer, and the application still has the other half to read
                // meanwhile.
                g.more_waiting = false;
                shared.notify_core(&mut g);
            }
            return Poll::Ready(Ok(()));
        }
        if let Some((kind, why)) = &g.error {
            return Poll::Ready(Err(io::Error::new(*kind, why.clone())));
        }
        if g.rx_eof {
            return Poll::Ready(Ok(()));
        }
        g.read_waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl AsyncWrite for I2pStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let shared = &self.shared;
        let mut g = shared.lock();
        if let Some((kind, why)) = &g.error {
            return Poll::Ready(Err(io::Error::new(*kind, why.clone())));
        }
        if g.tx_closed {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "stream already shut down for writing",
            )));
        }
        let room = STREAM_BUFFER.saturating_sub(g.tx.len());
        if room == 0 {
            g.write_waker = Some(cx.waker().clone());
            shared.notify_core(&mut g);
            return Poll::Pending;
        }
        let n = room.min(data.len());
        g.tx.extend(data.iter().take(n));
        shared.notify_core(&mut g);
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let shared = &self.shared;
        let mut g = shared.lock();
        if let Some((kind, why)) = &g.error {
            return Poll::Ready(Err(io::Error::new(*kind, why.clone())));
        }
        if g.tx.is_empty() {
            return Poll::Ready(Ok(()));
        }
        g.write_waker = Some(cx.waker().clone());
        shared.notify_core(&mut g);
        Poll::Pending
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let shared = &self.shared;
        let mut g = shared.lock();
        if !g.tx_closed {
            g.tx_closed = true;
            shared.notify_core(&mut g);
        }
        Poll::Ready(Ok(()))
    }
}

impl Drop for I2pStream {
    fn drop(&mut self) {
        let shared = &self.shared;
        let mut g = shared.lock();
        g.dropped = true;
        shared.notify_core(&mut g);
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn pair() -> (Arc<StreamShared>, I2pStream, Arc<AtomicUsize>) {
        let count = Arc::new(AtomicUsize::new(0));
        let c = count.clone();
        let shared = StreamShared::new(Arc::new(move || {
            c.fetch_add(1, Ordering::SeqCst);
        }));
        let remote = i2p_wire::DestinationKeys::generate().destination().clone();
        let s = I2pStream::new(shared.clone(), remote, (0, 0));
        (shared, s, count)
    }

    #[tokio::test]
    async fn the_core_hears_of_room_once_half_the_buffer_is_read() {
        let (core, mut app, notified) = pair();
        assert_eq!(core.push_received(&vec![1u8; STREAM_BUFFER]), STREAM_BUFFER);
        assert_eq!(core.receive_room_or_wait(), 0, "full: the core waits");
        let mut chunk = vec![0u8; 4096];
        let mut read = 0;
        while read + chunk.len() < STREAM_BUFFER / 2 {
            app.read_exact(&mut chunk).await.unwrap();
            read += chunk.len();
            assert_eq!(notified.load(Ordering::SeqCst), 0, "after {read} bytes");
        }
        app.read_exact(&mut chunk).await.unwrap();
        assert_eq!(
            notified.load(Ordering::SeqCst),
            1,
            "half read: the core is told"
        );
    }

    /// The core on its own thread pushes whenever there is room and otherwise waits
    /// for the application's notification, as the router does; the application
    /// reads on another. No notification may be lost between them, or both wait
    /// forever.
    #[test]
    fn no_wake_up_is_lost_between_the_core_and_the_application() {
        const TOTAL: usize = 64 << 20;
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let shared = StreamShared::new(Arc::new(move || {
            let _ = tx.send(());
        }));
        let remote = i2p_wire::DestinationKeys::generate().destination().clone();
        let mut app = I2pStream::new(shared.clone(), remote, (0, 0));
        let core = std::thread::spawn(move || {
            let chunk = vec![5u8; 16 * 1024];
            let mut sent = 0;
            while sent < TOTAL {
                shared.clear_notified();
                loop {
                    let room = shared
                        .receive_room_or_wait()
                        .min(chunk.len())
                        .min(TOTAL - sent);
                    if room == 0 {
                        break;
                    }
                    sent += shared.push_received(&chunk[..room]);
                }
                if sent < TOTAL && rx.recv_timeout(Duration::from_secs(10)).is_err() {
                    return Err(format!("no notification after {sent} bytes"));
                }
            }
            shared.set_eof();
            Ok(())
        });
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let got = rt.block_on(async {
            let mut n = 0;
            let mut buf = vec![0u8; 7000];
            loop {
                let read = tokio::time::timeout(Duration::from_secs(15), app.read(&mut buf));
                match read.await {
                    Ok(Ok(0)) => break n,
                    Ok(Ok(k)) => n += k,
                    Ok(Err(e)) => panic!("read: {e}"),
                    Err(_) => panic!("the application waited in vain after {n} bytes"),
                }
            }
        });
        assert_eq!(core.join().unwrap(), Ok(()));
        assert_eq!(got, TOTAL);
    }

    #[tokio::test]
    async fn bytes_flow_both_ways_with_bounded_buffers() {
        let (core, mut app, notified) = pair();
        // Core -> application, bounded.
        let big = vec![7u8; STREAM_BUFFER + 10];
        assert_eq!(core.push_received(&big), STREAM_BUFFER);
        // The core holds the 10 bytes that did not fit.
        assert_eq!(core.receive_room_or_wait(), 0);
        let mut got = vec![0u8; STREAM_BUFFER];
        app.read_exact(&mut got).await.unwrap();
        assert!(got.iter().all(|b| *b == 7));
        assert_eq!(
            notified.load(Ordering::SeqCst),
            1,
            "the core hears of the room, once"
        );
        core.clear_notified();
        // Nothing held back: reading does not bother the core.
        core.push_received(b"small");
        let mut five = [0u8; 5];
        app.read_exact(&mut five).await.unwrap();
        assert_eq!(notified.load(Ordering::SeqCst), 1);
        // Application -> core, bounded: a write beyond the buffer waits for the core.
        core.clear_notified();
        let writer = tokio::spawn(async move {
            app.write_all(&vec![9u8; STREAM_BUFFER + 5]).await.unwrap();
            app.shutdown().await.unwrap();
            app
        });
        let mut taken = Vec::new();
        while taken.len() < STREAM_BUFFER + 5 {
            tokio::task::yield_now().await;
            core.clear_notified();
            core.consume_outgoing(64 * 1024, |chunk| {
                assert!(chunk.len() <= 64 * 1024);
                // Take all but one byte: the rest stays for the next round.
                let n = chunk.len().saturating_sub(1).max(chunk.len().min(1));
                taken.extend_from_slice(&chunk[..n]);
                n
            });
        }
        let app = writer.await.unwrap();
        assert!(taken.iter().all(|b| *b == 9));
        assert!(core.outgoing_finished());
        drop(app);
        assert!(core.is_dropped());
    }

    #[tokio::test]
    async fn eof_and_errors_reach_the_application() {
        let (core, mut app, _) = pair();
        core.push_received(b"last");
        core.set_eof();
        let mut s = String::new();
        app.read_to_string(&mut s).await.unwrap();
        assert_eq!(s, "last");
        let (core, mut app, _) = pair();
        core.set_error(io::ErrorKind::ConnectionReset, "reset by the remote");
        let e = app.read_u8().await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionReset);
        assert!(app.write_all(b"x").await.is_err());
    }
}
