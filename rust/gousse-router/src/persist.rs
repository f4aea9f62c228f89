//! The netDb's SQLite writer: one thread owns the [`gousse_store::Store`] and writes
//! in batches, so the core task never waits on the disk. Each batch is one
//! transaction: a crash loses at most the last batch, never the database.

use std::sync::mpsc;
use std::time::Duration;

use gousse_store::{RouterInfoRecord, Store};
use i2p_wire::router_info::RouterInfo;
use tracing::warn;

/// Work for the writer.
#[derive(Debug)]
pub(crate) enum PersistCmd {
    /// Keep this RouterInfo (replaces an older one).
    Put(RouterInfoRecord),
    /// Drop these RouterInfos.
    Forget(Vec<[u8; 32]>),
    /// A connection attempt's outcome.
    Connect {
        hash: [u8; 32],
        ok: bool,
        at_ms: u64,
    },
    /// A lookup's outcome at a floodfill.
    Lookup {
        hash: [u8; 32],
        ok: bool,
        at_ms: u64,
    },
    /// A tunnel build outcome for one hop.
    TunnelBuild {
        hash: [u8; 32],
        outcome: gousse_store::TunnelBuildOutcome,
        at_ms: u64,
    },
    /// Write everything pending, then answer.
    Flush(std::sync::mpsc::SyncSender<()>),
}

/// Most records written in one transaction.
const MAX_BATCH: usize = 512;
/// Longest a record waits before its batch is written.
const BATCH_DELAY: Duration = Duration::from_millis(500);

/// Handle to the writer thread; dropping the sender ends it after a last flush.
pub(crate) struct Persister {
    tx: mpsc::Sender<PersistCmd>,
}

impl Persister {
    pub(crate) fn start(store: Store) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel();
        // Detached: it ends when the last sender is dropped, after a final batch;
        // `flush` is how callers wait for the disk.
        std::thread::Builder::new()
            .name("gousse-netdb-store".into())
            .spawn(move || run(store, rx))?;
        Ok(Self { tx })
    }

    /// Queues `cmd`; if the writer is gone (a fatal disk error was logged), drops it.
    pub(crate) fn send(&self, cmd: PersistCmd) {
        let _ = self.tx.send(cmd);
    }

    /// Writes what is pending and waits (bounded) for it.
    pub(crate) fn flush(&self) {
        let (tx, rx) = mpsc::sync_channel(1);
        if self.tx.send(PersistCmd::Flush(tx)).is_ok() {
            let _ = rx.recv_timeout(Duration::from_secs(10));
        }
    }
}

/// The record kept for a verified RouterInfo.
pub(crate) fn record(ri: &RouterInfo, now_ms: u64) -> RouterInfoRecord {
    let addresses = ri
        .addresses()
        .iter()
        .map(|a| {
            let style = a.transport().unwrap_or("?").to_ascii_lowercase();
            match a.socket_addr() {
                Some(sa) => format!("{style} {sa}"),
                None => style,
            }
        })
        .collect::<Vec<_>>()
        .join("; ");
    RouterInfoRecord {
        hash: ri.hash().0,
        published: ri.published(),
        caps: ri.caps().unwrap_or("").to_string(),
        floodfill: ri.is_floodfill(),
        net_id: ri.net_id().and_then(|n| u8::try_from(n).ok()).unwrap_or(2),
        addresses,
        bytes: ri.as_bytes().to_vec(),
        stored_at: now_ms,
    }
}

fn run(mut store: Store, rx: mpsc::Receiver<PersistCmd>) {
    let mut batch: Vec<RouterInfoRecord> = Vec::new();
    loop {
        let cmd = if batch.is_empty() {
            match rx.recv() {
                Ok(c) => Some(c),
                Err(_) => break,
            }
        } else {
            match rx.recv_timeout(BATCH_DELAY) {
                Ok(c) => Some(c),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        };
        match cmd {
            Some(PersistCmd::Put(r)) => {
                batch.retain(|b| b.hash != r.hash);
                batch.push(r);
                if batch.len() >= MAX_BATCH {
                    write_batch(&mut store, &mut batch);
                }
            }
            Some(PersistCmd::Forget(hashes)) => {
                write_batch(&mut store, &mut batch);
                if let Err(e) = store.remove_router_infos(&hashes) {
                    warn!(target: "gousse::netdb", "removing RouterInfos: {e}");
                }
            }
            Some(PersistCmd::Connect { hash, ok, at_ms }) => {
                if let Err(e) = store.record_connect(&hash, ok, at_ms) {
                    warn!(target: "gousse::netdb", "recording a connection: {e}");
                }
            }
            Some(PersistCmd::Lookup { hash, ok, at_ms }) => {
                if let Err(e) = store.record_lookup(&hash, ok, at_ms) {
                    warn!(target: "gousse::netdb", "recording a lookup: {e}");
                }
            }
            Some(PersistCmd::TunnelBuild {
                hash,
                outcome,
                at_ms,
            }) => {
                if let Err(e) = store.record_tunnel_build(&hash, outcome, at_ms) {
                    warn!(target: "gousse::netdb", "recording a tunnel build: {e}");
                }
            }
            Some(PersistCmd::Flush(done)) => {
                write_batch(&mut store, &mut batch);
                let _ = done.send(());
            }
            None => write_batch(&mut store, &mut batch),
        }
    }
    write_batch(&mut store, &mut batch);
}

fn write_batch(store: &mut Store, batch: &mut Vec<RouterInfoRecord>) {
    if batch.is_empty() {
        return;
    }
    if let Err(e) = store.put_router_infos(batch) {
        warn!(target: "gousse::netdb", "writing {} RouterInfos: {e}", batch.len());
    }
    batch.clear();
}
