//! Acceptance: "After `kill -9` during heavy netDb writes, the database opens and its
//! content is consistent."
//!
//! `kill_9_during_heavy_writes` re-executes this test binary to run `writer` as a
//! child process (told so by `GOUSSE_STORE_CRASH_DB`): it writes batches of
//! RouterInfo records in a tight loop of transactions and prints `COMMITTED n` after
//! each commit returns. The parent SIGKILLs it at a random moment, five times on the
//! same file, and after each kill reopens the store and checks:
//! - `PRAGMA integrity_check` is "ok" and the schema version is intact;
//! - every row is consistent: its hash is SHA-256 of the first `IDENT_LEN` bytes of
//!   its blob (as a router hash is of its RouterIdentity), and the indexed columns
//!   equal what the blob encodes;
//! - every acknowledged batch is entirely present, no batch is partly present
//!   (transactions are atomic), and the only unacknowledged batches present are
//!   those the killed writers were committing (committed, then killed before they
//!   could print).
//!
//! Run alone, `writer` writes a bounded number of batches and checks the same
//! invariants, so it is a test of the writer and the checker too.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use gousse_store::{RouterInfoRecord, Store, SCHEMA_VERSION};
use i2p_crypto::hash::sha256;
use i2p_crypto::random_below;

const CHILD_DB: &str = "GOUSSE_STORE_CRASH_DB";
const CHILD_START: &str = "GOUSSE_STORE_CRASH_START";
/// New records per batch.
const PER_BATCH: u64 = 50;
/// Records of an earlier batch re-put with a newer `published` in each batch.
const UPDATES: u64 = 10;
/// The size of a RouterIdentity with an Ed25519/X25519 key set and a key certificate.
const IDENT_LEN: usize = 391;

fn ident(batch: u64, i: u64) -> Vec<u8> {
    let mut v = format!("ident:{batch}:{i}:").into_bytes();
    v.resize(IDENT_LEN, b'.');
    v
}

/// The fields a record's blob encodes, between the identity and the padding.
fn meta(published: u64, caps: &str, ff: bool, net_id: u8, addresses: &str) -> String {
    format!(
        "published={published}|caps={caps}|ff={}|net={net_id}|addr={addresses}",
        ff as u8
    )
}

fn record(batch: u64, i: u64, published: u64) -> RouterInfoRecord {
    let ff = (batch + i).is_multiple_of(3);
    let caps = if ff { "XfR" } else { "LU" };
    let net_id = 2;
    let addresses = format!("ntcp2 198.18.{}.{}:{}", batch % 256, i, 10_000 + i);
    let id = ident(batch, i);
    let hash = sha256(&id);
    let m = meta(published, caps, ff, net_id, &addresses);
    let mut bytes = id;
    bytes.extend_from_slice(&(m.len() as u16).to_be_bytes());
    bytes.extend_from_slice(m.as_bytes());
    let mut pad = vec![0u8; 200 + random_below(600) as usize];
    i2p_crypto::random_bytes(&mut pad);
    bytes.extend_from_slice(&pad);
    RouterInfoRecord {
        hash,
        published,
        caps: caps.into(),
        floodfill: ff,
        net_id,
        addresses,
        bytes,
        stored_at: published + 1,
    }
}

/// Checks one row against what its blob encodes; returns its batch number.
fn check_row(r: &RouterInfoRecord) -> u64 {
    let id = &r.bytes[..IDENT_LEN];
    assert_eq!(r.hash, sha256(id), "hash is not SHA-256 of the identity");
    let len = u16::from_be_bytes([r.bytes[IDENT_LEN], r.bytes[IDENT_LEN + 1]]) as usize;
    let m = std::str::from_utf8(&r.bytes[IDENT_LEN + 2..IDENT_LEN + 2 + len]).unwrap();
    assert_eq!(
        m,
        meta(r.published, &r.caps, r.floodfill, r.net_id, &r.addresses),
        "indexed columns differ from the blob"
    );
    assert_eq!(r.stored_at, r.published + 1);
    let id = std::str::from_utf8(id).unwrap();
    id.split(':').nth(1).unwrap().parse().unwrap()
}

/// Checks the whole file; `acked` are the batches the writer reported committed,
/// `in_flight` the batch each killed writer was committing (present or not).
fn check_db(path: &Path, acked: &BTreeSet<u64>, in_flight: &BTreeSet<u64>) {
    let store = Store::open(path).unwrap();
    assert_eq!(store.integrity_check().unwrap(), "ok");
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let rows = store.load_router_infos().unwrap();
    assert_eq!(store.count().unwrap(), rows.len() as u64);
    let hashes: BTreeSet<[u8; 32]> = rows.iter().map(|r| r.hash).collect();
    let mut per_batch: BTreeMap<u64, u64> = BTreeMap::new();
    for r in &rows {
        *per_batch.entry(check_row(r)).or_default() += 1;
    }
    for b in acked {
        for i in 0..PER_BATCH {
            assert!(
                hashes.contains(&sha256(&ident(*b, i))),
                "acknowledged batch {b} lost record {i}"
            );
        }
    }
    for (b, n) in &per_batch {
        assert_eq!(*n, PER_BATCH, "batch {b} is partly present");
        assert!(
            acked.contains(b) || in_flight.contains(b),
            "batch {b} is present but was neither acknowledged nor in flight"
        );
    }
    let profiles = store.profiles().unwrap();
    let connects: u64 = profiles.iter().map(|p| p.connect_ok).sum();
    assert!(connects >= acked.len() as u64);
}

/// Writes batches `start..start+count` (forever when `count` is `None`), calling
/// `ack` after each commit.
fn write_batches(path: &Path, start: u64, count: Option<u64>, mut ack: impl FnMut(u64)) {
    let mut store = Store::open(path).unwrap();
    let mut b = start;
    loop {
        if let Some(c) = count {
            if b >= start + c {
                break;
            }
        }
        let published = b * 10 + 1;
        let mut recs: Vec<_> = (0..PER_BATCH).map(|i| record(b, i, published)).collect();
        if b > start {
            let old = start + random_below(b - start);
            recs.extend((0..UPDATES).map(|i| record(old, i, published + 1)));
        }
        let written = store.put_router_infos(&recs).unwrap();
        assert_eq!(written, recs.len());
        store.record_connect(&recs[0].hash, true, b).unwrap();
        store.set_state("last_batch", &b.to_string()).unwrap();
        ack(b);
        b += 1;
    }
}

#[test]
fn writer() {
    if let Ok(path) = std::env::var(CHILD_DB) {
        let start = std::env::var(CHILD_START).unwrap().parse().unwrap();
        let mut out = std::io::stdout();
        write_batches(Path::new(&path), start, None, |b| {
            writeln!(out, "COMMITTED {b}").unwrap();
            out.flush().unwrap();
        });
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("netdb.sqlite");
    let mut acked = BTreeSet::new();
    write_batches(&path, 1, Some(20), |b| {
        acked.insert(b);
    });
    check_db(&path, &acked, &BTreeSet::new());
    assert_eq!(Store::open(&path).unwrap().count().unwrap(), 20 * PER_BATCH);
}

#[test]
fn kill_9_during_heavy_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("netdb.sqlite");
    let exe = std::env::current_exe().unwrap();
    let mut acked = BTreeSet::new();
    let mut in_flight = BTreeSet::new();
    for round in 1..=5u64 {
        let mut child = Command::new(&exe)
            .args(["--exact", "writer", "--nocapture", "--test-threads=1"])
            .env(CHILD_DB, &path)
            .env(CHILD_START, (round * 1_000_000).to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // libtest may print "test writer ... " before the first line.
                if let Some((_, n)) = line.split_once("COMMITTED ") {
                    let _ = tx.send(n.parse::<u64>().unwrap());
                }
            }
        });
        let first = rx.recv_timeout(Duration::from_secs(60));
        if first.is_ok() {
            // A random moment within the write loop.
            std::thread::sleep(Duration::from_millis(20 + random_below(400)));
        }
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        reader.join().unwrap();
        let first = first.expect("the writer committed nothing within 60 s");
        let before = acked.len();
        acked.insert(first);
        acked.extend(rx.try_iter());
        assert!(acked.len() > before);
        in_flight.insert(acked.last().unwrap() + 1);
        check_db(&path, &acked, &in_flight);
    }
}
