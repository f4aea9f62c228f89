//! The bridge's sessions: IDs, destinations in use, subsessions, pending ACCEPTs and
//! FORWARDs, and the routing of incoming streams and datagrams to them.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use i2p_wire::{Destination, Hash};
use tokio::sync::{mpsc, oneshot, watch};

use crate::backend::{
    ReceivedDatagram, PROTO_DATAGRAM, PROTO_DATAGRAM2, PROTO_DATAGRAM3, PROTO_STREAMING,
};
use crate::command::{PortOptions, Style};
use crate::version::Version;

/// Incoming streams kept for a later ACCEPT when none is pending.
pub(crate) const ACCEPT_BACKLOG: usize = 16;
/// How long such a stream waits for an ACCEPT.
pub(crate) const ACCEPT_BACKLOG_AGE: Duration = Duration::from_secs(30);

/// Locks a mutex, ignoring poisoning (no invariant spans a panic here).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A destination run for a session (shared by a PRIMARY and its subsessions).
#[derive(Debug)]
pub(crate) struct Dest {
    /// The backend's id.
    pub(crate) id: u32,
    /// The public destination.
    pub(crate) destination: Destination,
}

/// Where received datagrams of a session go.
#[derive(Debug, Clone)]
pub(crate) enum Deliver {
    /// Not a datagram session.
    None,
    /// Forwarded over UDP to HOST:PORT.
    Udp(SocketAddr),
    /// Written on the session's control socket.
    Control(mpsc::Sender<ReceivedDatagram>),
}

/// A FORWARD registration.
#[derive(Debug, Clone)]
pub(crate) struct Forward {
    /// Where to connect.
    pub(crate) addr: SocketAddr,
    /// SILENT.
    pub(crate) silent: bool,
    /// The version of the connection that sent FORWARD (ports on the line in 3.2+).
    pub(crate) version: Version,
    /// Identifies the registration, so a closing socket clears only its own.
    pub(crate) token: u64,
}

/// ACCEPT / FORWARD state of a STREAM session.
pub(crate) struct AcceptState<S> {
    /// Pending ACCEPTs, oldest first.
    pub(crate) waiters: VecDeque<oneshot::Sender<S>>,
    /// The active FORWARD.
    pub(crate) forward: Option<Forward>,
    /// Streams that arrived with no ACCEPT pending.
    pub(crate) backlog: VecDeque<(Instant, S)>,
}

impl<S> Default for AcceptState<S> {
    fn default() -> Self {
        Self {
            waiters: VecDeque::new(),
            forward: None,
            backlog: VecDeque::new(),
        }
    }
}

impl<S> AcceptState<S> {
    /// Pending ACCEPTs whose client is still there.
    pub(crate) fn live_waiters(&mut self) -> usize {
        self.waiters.retain(|w| !w.is_closed());
        self.waiters.len()
    }

    /// A backlog stream young enough to hand out.
    pub(crate) fn take_backlog(&mut self, now: Instant) -> Option<S> {
        while let Some((t, s)) = self.backlog.pop_front() {
            if now.saturating_duration_since(t) < ACCEPT_BACKLOG_AGE {
                return Some(s);
            }
        }
        None
    }
}

/// One SAM session or subsession.
pub(crate) struct Session<S> {
    /// Its ID.
    pub(crate) id: String,
    /// STYLE.
    pub(crate) style: Style,
    /// Its destination.
    pub(crate) dest: Arc<Dest>,
    /// The PRIMARY's ID, for a subsession.
    pub(crate) primary: Option<String>,
    /// Default FROM_PORT / TO_PORT / PROTOCOL for what it sends.
    pub(crate) ports: PortOptions,
    /// LISTEN_PORT (0: any) for subsession routing.
    pub(crate) listen_port: u16,
    /// LISTEN_PROTOCOL (RAW subsessions; 0: any).
    pub(crate) listen_protocol: u8,
    /// HEADER (RAW).
    pub(crate) header: bool,
    /// The version of the socket that created it.
    pub(crate) version: Version,
    /// Where received datagrams go.
    pub(crate) deliver: Deliver,
    /// ACCEPT / FORWARD state.
    pub(crate) accept: Mutex<AcceptState<S>>,
    /// Open streams.
    pub(crate) streams: AtomicUsize,
    /// Set to true when the session closes; stream tasks watch it.
    pub(crate) closed: watch::Sender<bool>,
}

impl<S> Session<S> {
    /// Whether datagrams with `protocol` may go to this session's style.
    fn takes_protocol(&self, protocol: u8) -> bool {
        match self.style {
            Style::Datagram => protocol == PROTO_DATAGRAM,
            Style::Datagram2 => protocol == PROTO_DATAGRAM2,
            Style::Datagram3 => protocol == PROTO_DATAGRAM3,
            Style::Raw => {
                // "Incoming streaming traffic (protocol 6) will never be routed to a RAW
                // subsession, even if its LISTEN_PROTCOL is 0."
                ![
                    PROTO_STREAMING,
                    PROTO_DATAGRAM,
                    PROTO_DATAGRAM2,
                    PROTO_DATAGRAM3,
                ]
                .contains(&protocol)
                    && (self.primary.is_none()
                        || self.listen_protocol == 0
                        || self.listen_protocol == protocol)
            }
            _ => false,
        }
    }

    /// Marks it closed: streams end, pending ACCEPTs fail.
    pub(crate) fn close(&self) {
        self.closed.send_replace(true);
        let mut a = lock(&self.accept);
        a.waiters.clear();
        a.backlog.clear();
        a.forward = None;
    }
}

/// Counts one stream of a session while alive.
pub(crate) struct StreamSlot<S> {
    session: Arc<Session<S>>,
}

impl<S> StreamSlot<S> {
    /// Takes a slot if fewer than `max` streams are open.
    pub(crate) fn acquire(session: &Arc<Session<S>>, max: usize) -> Option<Self> {
        session
            .streams
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| Self {
                session: session.clone(),
            })
    }
}

impl<S> Drop for StreamSlot<S> {
    fn drop(&mut self) {
        self.session.streams.fetch_sub(1, Ordering::AcqRel);
    }
}

/// All sessions of the bridge.
pub(crate) struct Registry<S> {
    /// By ID (sessions and subsessions: "Session IDs, including subsession IDs for
    /// PRIMARY sessions, must be globally unique on the SAM server").
    pub(crate) sessions: HashMap<String, Arc<Session<S>>>,
    /// IDs being created (backend still building tunnels).
    pub(crate) reserved_ids: HashSet<String>,
    /// Destinations in use (running or being created).
    pub(crate) dests: HashSet<Hash>,
}

impl<S> Default for Registry<S> {
    fn default() -> Self {
        Self {
            sessions: HashMap::new(),
            reserved_ids: HashSet::new(),
            dests: HashSet::new(),
        }
    }
}

impl<S> Registry<S> {
    /// Whether `id` is taken.
    pub(crate) fn id_taken(&self, id: &str) -> bool {
        self.sessions.contains_key(id) || self.reserved_ids.contains(id)
    }

    /// Number of sessions, subsessions and creations in progress.
    pub(crate) fn count(&self) -> usize {
        self.sessions.len() + self.reserved_ids.len()
    }

    /// The sessions using `dest`.
    pub(crate) fn of_dest<'a>(
        &'a self,
        dest: &'a Arc<Dest>,
    ) -> impl Iterator<Item = &'a Arc<Session<S>>> + 'a {
        self.sessions
            .values()
            .filter(move |s| Arc::ptr_eq(&s.dest, dest))
    }

    /// The destination of one of our sessions, by hash.
    pub(crate) fn local_destination(&self, hash: &Hash) -> Option<Destination> {
        self.sessions
            .values()
            .find(|s| s.dest.destination.hash() == *hash)
            .map(|s| s.dest.destination.clone())
    }

    /// The STREAM session an incoming stream to our port `to_port` goes to: the plain
    /// STREAM session, or the subsession listening on that port, else on port 0 ("the
    /// port 0 service is the default").
    pub(crate) fn route_stream(&self, dest: &Arc<Dest>, to_port: u16) -> Option<Arc<Session<S>>> {
        let streams: Vec<_> = self
            .of_dest(dest)
            .filter(|s| s.style == Style::Stream)
            .collect();
        streams
            .iter()
            .find(|s| s.primary.is_none())
            .or_else(|| streams.iter().find(|s| s.listen_port == to_port))
            .or_else(|| streams.iter().find(|s| s.listen_port == 0))
            .map(|s| (*s).clone())
    }

    /// The session a datagram goes to, by protocol and port.
    pub(crate) fn route_datagram(
        &self,
        dest: &Arc<Dest>,
        protocol: u8,
        to_port: u16,
    ) -> Option<Arc<Session<S>>> {
        let takers: Vec<_> = self
            .of_dest(dest)
            .filter(|s| s.takes_protocol(protocol))
            .collect();
        takers
            .iter()
            .find(|s| s.primary.is_none())
            .or_else(|| takers.iter().find(|s| s.listen_port == to_port))
            .or_else(|| takers.iter().find(|s| s.listen_port == 0))
            .map(|s| (*s).clone())
    }

    /// Removes a session and, for a PRIMARY or plain session, its subsessions and its
    /// destination. Returns the removed sessions (already closed).
    pub(crate) fn remove_all(&mut self, dest: &Arc<Dest>) -> Vec<Arc<Session<S>>> {
        let ids: Vec<String> = self.of_dest(dest).map(|s| s.id.clone()).collect();
        let removed: Vec<_> = ids
            .iter()
            .filter_map(|id| self.sessions.remove(id))
            .collect();
        self.dests.remove(&dest.destination.hash());
        for s in &removed {
            s.close();
        }
        removed
    }
}
