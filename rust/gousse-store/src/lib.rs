#![doc = include_str!("../README.md")]

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

mod hosts;
pub use hosts::{HostInsert, HostRecord, SubscriptionRecord};

/// How long a writer waits for another connection's lock before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The schema version this build writes and understands.
pub const SCHEMA_VERSION: u32 = 3;

/// One step of the schema: applied, in order, to a database at `version - 1`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Migration {
    /// The version the database has after this step.
    pub(crate) version: u32,
    /// The SQL of the step (several statements allowed).
    pub(crate) sql: &'static str,
}

/// The ordered migrations. To change the schema, append a `Migration` with the next
/// version and bump [`SCHEMA_VERSION`]; never edit a step that has shipped.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: "
        CREATE TABLE router_infos (
            hash      BLOB PRIMARY KEY CHECK (length(hash) = 32),
            published INTEGER NOT NULL,
            caps      TEXT NOT NULL,
            floodfill INTEGER NOT NULL,
            net_id    INTEGER NOT NULL,
            addresses TEXT NOT NULL,
            bytes     BLOB NOT NULL,
            stored_at INTEGER NOT NULL
        );
        CREATE INDEX router_infos_published ON router_infos (published);
        CREATE INDEX router_infos_floodfill ON router_infos (floodfill);
        CREATE TABLE peer_profiles (
            hash         BLOB PRIMARY KEY CHECK (length(hash) = 32),
            connect_ok   INTEGER NOT NULL DEFAULT 0,
            connect_fail INTEGER NOT NULL DEFAULT 0,
            lookup_ok    INTEGER NOT NULL DEFAULT 0,
            lookup_fail  INTEGER NOT NULL DEFAULT 0,
            last_ok_at   INTEGER,
            last_fail_at INTEGER
        );
        CREATE TABLE router_state (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
    ",
    },
    Migration {
        // Tunnel build outcomes per peer (tunnel pools choose hops by them).
        version: 2,
        sql: "
        ALTER TABLE peer_profiles ADD COLUMN tunnel_ok INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE peer_profiles ADD COLUMN tunnel_reject INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE peer_profiles ADD COLUMN tunnel_timeout INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE peer_profiles ADD COLUMN tunnel_latency_ms_sum INTEGER NOT NULL DEFAULT 0;
    ",
    },
    Migration {
        // The address book (gousse-addressbook): names, and hosts.txt subscriptions.
        version: 3,
        sql: "
        CREATE TABLE hosts (
            name        TEXT PRIMARY KEY,
            hash        BLOB NOT NULL CHECK (length(hash) = 32),
            destination BLOB NOT NULL,
            source      TEXT NOT NULL,
            added_at    INTEGER NOT NULL
        );
        CREATE INDEX hosts_hash ON hosts (hash);
        CREATE TABLE subscriptions (
            url             TEXT PRIMARY KEY,
            added_at        INTEGER NOT NULL,
            last_fetched_at INTEGER,
            last_success_at INTEGER,
            etag            TEXT,
            last_modified   TEXT,
            failures        INTEGER NOT NULL DEFAULT 0
        );
    ",
    },
];

/// Errors of the store. Each says what the store was doing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database file could not be opened or configured.
    #[error("cannot open the netDb store {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// The file was written by a newer Gousse whose schema this build does not know.
    #[error(
        "the netDb store has schema version {found}, newer than the {supported} this build \
         supports; use a newer Gousse or move the file away"
    )]
    SchemaTooNew {
        /// The version in the file.
        found: u32,
        /// [`SCHEMA_VERSION`].
        supported: u32,
    },
    /// SQLite refused to switch to WAL journal mode.
    #[error("the netDb store cannot use WAL journal mode (SQLite answered {0:?})")]
    NoWal(String),
    /// A statement failed.
    #[error("netDb store: {context}: {source}")]
    Sqlite {
        /// What the store was doing.
        context: &'static str,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// A row holds a value this build cannot have written.
    #[error("netDb store: corrupt row in {table}: {what}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// What is wrong.
        what: String,
    },
    /// A value does not fit SQLite's signed 64-bit integers.
    #[error("netDb store: {field} = {value} is out of range")]
    OutOfRange {
        /// The field.
        field: &'static str,
        /// The value.
        value: u64,
    },
}

/// Result with the store's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

trait Context<T> {
    fn ctx(self, context: &'static str) -> Result<T>;
}

impl<T> Context<T> for rusqlite::Result<T> {
    fn ctx(self, context: &'static str) -> Result<T> {
        self.map_err(|source| Error::Sqlite { context, source })
    }
}

fn to_i64(field: &'static str, value: u64) -> Result<i64> {
    i64::try_from(value).map_err(|_| Error::OutOfRange { field, value })
}

fn from_i64(table: &'static str, field: &'static str, value: i64) -> Result<u64> {
    u64::try_from(value).map_err(|_| Error::Corrupt {
        table,
        what: format!("{field} is negative ({value})"),
    })
}

fn hash_from(table: &'static str, blob: Vec<u8>) -> Result<[u8; 32]> {
    <[u8; 32]>::try_from(blob.as_slice()).map_err(|_| Error::Corrupt {
        table,
        what: format!("hash of {} bytes", blob.len()),
    })
}

/// A RouterInfo as stored: the exact signed bytes plus the fields the router indexed
/// when it parsed and verified them (this crate does not parse RouterInfos).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouterInfoRecord {
    /// SHA-256 of the RouterIdentity (common-structures.rst, "RouterInfo").
    pub hash: [u8; 32],
    /// The RouterInfo's `published` date, milliseconds since the epoch.
    pub published: u64,
    /// The `caps` option, e.g. "XfR".
    pub caps: String,
    /// Whether `caps` contains 'f'.
    pub floodfill: bool,
    /// The `netId` option (2 on the real network).
    pub net_id: u8,
    /// The addresses for people and queries, e.g. "ntcp2 198.18.0.1:12345; ssu2 ...".
    pub addresses: String,
    /// The exact signed RouterInfo bytes, as received.
    pub bytes: Vec<u8>,
    /// When we stored it, milliseconds since the epoch.
    pub stored_at: u64,
}

/// What we learned of a peer by talking to it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerProfile {
    /// The peer's router hash.
    pub hash: [u8; 32],
    /// Successful connections.
    pub connect_ok: u64,
    /// Failed connections.
    pub connect_fail: u64,
    /// netDb lookups it answered.
    pub lookup_ok: u64,
    /// netDb lookups it failed or ignored.
    pub lookup_fail: u64,
    /// Time of the last success (connect or lookup), ms since the epoch.
    pub last_ok_at: Option<u64>,
    /// Time of the last failure (connect or lookup), ms since the epoch.
    pub last_fail_at: Option<u64>,
    /// Tunnel builds through it that it accepted.
    pub tunnel_ok: u64,
    /// Tunnel builds it rejected.
    pub tunnel_reject: u64,
    /// Tunnel builds through it that timed out (no reply from someone on the path).
    pub tunnel_timeout: u64,
    /// Sum of the build reply times of the accepted builds, ms (average = sum / ok).
    pub tunnel_latency_ms_sum: u64,
}

/// How a tunnel build went for one hop, for [`Store::record_tunnel_build`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TunnelBuildOutcome {
    /// The hop accepted; the whole build replied after this many ms.
    Accepted {
        /// Build reply time.
        latency_ms: u64,
    },
    /// The hop rejected the build.
    Rejected,
    /// The build timed out.
    TimedOut,
}

/// The netDb's persistence: one SQLite connection.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens (creating if needed) the store at `path`, in WAL mode, migrating an
    /// older schema and refusing a newer one ([`Error::SchemaTooNew`]).
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        let path = path.as_ref();
        let open_err = |source| Error::Open {
            path: path.to_owned(),
            source,
        };
        let conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(open_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::NoWal(mode));
        }
        Self::configure(conn, MIGRATIONS)
    }

    /// An in-memory store (tests, or a router told to keep nothing on disk).
    pub fn open_in_memory() -> Result<Store> {
        let conn = Connection::open_in_memory().ctx("opening an in-memory database")?;
        Self::configure(conn, MIGRATIONS)
    }

    fn configure(mut conn: Connection, migrations: &[Migration]) -> Result<Store> {
        // synchronous=NORMAL is safe with WAL: a commit appends to the WAL and only
        // checkpoints fsync, so a killed process (kill -9, panic) never loses a
        // committed transaction (the OS still holds the written pages) and the file is
        // never corrupted. A power loss or OS crash may roll back the last few
        // commits, but never corrupts the database; for the netDb that is fine, as
        // RouterInfos are re-learned from peers and profiles are statistics.
        conn.pragma_update(None, "synchronous", "NORMAL")
            .ctx("setting synchronous=NORMAL")?;
        migrate(&mut conn, migrations)?;
        Ok(Store { conn })
    }

    /// The schema version recorded in the file.
    pub fn schema_version(&self) -> Result<u32> {
        read_version(&self.conn)
    }

    /// SQLite's `PRAGMA integrity_check`: `"ok"`, or its findings joined by newlines.
    pub fn integrity_check(&self) -> Result<String> {
        let mut stmt = self
            .conn
            .prepare("PRAGMA integrity_check")
            .ctx("checking integrity")?;
        let rows = stmt
            .query_map([], |row| row.get::<_, String>(0))
            .ctx("checking integrity")?
            .collect::<rusqlite::Result<Vec<_>>>()
            .ctx("checking integrity")?;
        Ok(rows.join("\n"))
    }

    /// Stores RouterInfos in one transaction. A row already present is replaced only
    /// when the new `published` is newer. Returns how many rows were inserted or
    /// replaced.
    pub fn put_router_infos(&mut self, records: &[RouterInfoRecord]) -> Result<usize> {
        const CTX: &str = "storing RouterInfos";
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx(CTX)?;
        let mut written = 0;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO router_infos
                         (hash, published, caps, floodfill, net_id, addresses, bytes, stored_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                     ON CONFLICT (hash) DO UPDATE SET
                         published = excluded.published, caps = excluded.caps,
                         floodfill = excluded.floodfill, net_id = excluded.net_id,
                         addresses = excluded.addresses, bytes = excluded.bytes,
                         stored_at = excluded.stored_at
                     WHERE excluded.published > router_infos.published",
                )
                .ctx(CTX)?;
            for r in records {
                written += stmt
                    .execute(params![
                        &r.hash[..],
                        to_i64("published", r.published)?,
                        r.caps,
                        r.floodfill,
                        r.net_id,
                        r.addresses,
                        r.bytes,
                        to_i64("stored_at", r.stored_at)?,
                    ])
                    .ctx(CTX)?;
            }
        }
        tx.commit().ctx(CTX)?;
        Ok(written)
    }

    /// Every stored RouterInfo.
    pub fn load_router_infos(&self) -> Result<Vec<RouterInfoRecord>> {
        const CTX: &str = "loading RouterInfos";
        const T: &str = "router_infos";
        let mut stmt = self
            .conn
            .prepare(
                "SELECT hash, published, caps, floodfill, net_id, addresses, bytes, stored_at
                 FROM router_infos",
            )
            .ctx(CTX)?;
        let mut rows = stmt.query([]).ctx(CTX)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().ctx(CTX)? {
            let net_id: i64 = row.get(4).ctx(CTX)?;
            out.push(RouterInfoRecord {
                hash: hash_from(T, row.get(0).ctx(CTX)?)?,
                published: from_i64(T, "published", row.get(1).ctx(CTX)?)?,
                caps: row.get(2).ctx(CTX)?,
                floodfill: row.get(3).ctx(CTX)?,
                net_id: u8::try_from(net_id).map_err(|_| Error::Corrupt {
                    table: T,
                    what: format!("net_id {net_id}"),
                })?,
                addresses: row.get(5).ctx(CTX)?,
                bytes: row.get(6).ctx(CTX)?,
                stored_at: from_i64(T, "stored_at", row.get(7).ctx(CTX)?)?,
            });
        }
        Ok(out)
    }

    /// Removes RouterInfos (in one transaction); returns how many were present.
    pub fn remove_router_infos(&mut self, hashes: &[[u8; 32]]) -> Result<usize> {
        const CTX: &str = "removing RouterInfos";
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx(CTX)?;
        let mut removed = 0;
        {
            let mut stmt = tx
                .prepare_cached("DELETE FROM router_infos WHERE hash = ?1")
                .ctx(CTX)?;
            for h in hashes {
                removed += stmt.execute([&h[..]]).ctx(CTX)?;
            }
        }
        tx.commit().ctx(CTX)?;
        Ok(removed)
    }

    /// How many RouterInfos are stored.
    pub fn count(&self) -> Result<u64> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM router_infos", [], |r| r.get(0))
            .ctx("counting RouterInfos")?;
        from_i64("router_infos", "count", n)
    }

    /// Counts a connection attempt to `hash` that succeeded (`ok`) or failed at `at_ms`.
    pub fn record_connect(&mut self, hash: &[u8; 32], ok: bool, at_ms: u64) -> Result<()> {
        self.bump(hash, ok, at_ms, "connect")
    }

    /// Counts a netDb lookup sent to `hash` that was answered (`ok`) or not at `at_ms`.
    pub fn record_lookup(&mut self, hash: &[u8; 32], ok: bool, at_ms: u64) -> Result<()> {
        self.bump(hash, ok, at_ms, "lookup")
    }

    /// Records a tunnel build outcome for the hop `hash` at `at_ms`.
    pub fn record_tunnel_build(
        &mut self,
        hash: &[u8; 32],
        outcome: TunnelBuildOutcome,
        at_ms: u64,
    ) -> Result<()> {
        const CTX: &str = "recording a tunnel build";
        let at = to_i64("at_ms", at_ms)?;
        // Column names come from this fixed set, never from input.
        let (counter, time, latency) = match outcome {
            TunnelBuildOutcome::Accepted { latency_ms } => {
                ("tunnel_ok", "last_ok_at", to_i64("latency_ms", latency_ms)?)
            }
            TunnelBuildOutcome::Rejected => ("tunnel_reject", "last_fail_at", 0),
            TunnelBuildOutcome::TimedOut => ("tunnel_timeout", "last_fail_at", 0),
        };
        let sql = format!(
            "INSERT INTO peer_profiles (hash, {counter}, {time}, tunnel_latency_ms_sum)
             VALUES (?1, 1, ?2, ?3)
             ON CONFLICT (hash) DO UPDATE SET {counter} = {counter} + 1,
                 {time} = max(coalesce({time}, 0), ?2),
                 tunnel_latency_ms_sum = tunnel_latency_ms_sum + ?3"
        );
        self.conn
            .prepare_cached(&sql)
            .ctx(CTX)?
            .execute(params![&hash[..], at, latency])
            .ctx(CTX)?;
        Ok(())
    }

    fn bump(&mut self, hash: &[u8; 32], ok: bool, at_ms: u64, kind: &str) -> Result<()> {
        const CTX: &str = "updating a peer profile";
        let at = to_i64("at_ms", at_ms)?;
        // Column names come from this fixed set, never from input.
        let (counter, time) = match (kind, ok) {
            ("connect", true) => ("connect_ok", "last_ok_at"),
            ("connect", false) => ("connect_fail", "last_fail_at"),
            (_, true) => ("lookup_ok", "last_ok_at"),
            (_, false) => ("lookup_fail", "last_fail_at"),
        };
        let sql = format!(
            "INSERT INTO peer_profiles (hash, {counter}, {time}) VALUES (?1, 1, ?2)
             ON CONFLICT (hash) DO UPDATE SET {counter} = {counter} + 1,
                 {time} = max(coalesce({time}, 0), ?2)"
        );
        self.conn
            .prepare_cached(&sql)
            .ctx(CTX)?
            .execute(params![&hash[..], at])
            .ctx(CTX)?;
        Ok(())
    }

    /// Every peer profile.
    pub fn profiles(&self) -> Result<Vec<PeerProfile>> {
        const CTX: &str = "loading peer profiles";
        const T: &str = "peer_profiles";
        let mut stmt = self
            .conn
            .prepare(
                "SELECT hash, connect_ok, connect_fail, lookup_ok, lookup_fail,
                        last_ok_at, last_fail_at, tunnel_ok, tunnel_reject, tunnel_timeout,
                        tunnel_latency_ms_sum FROM peer_profiles",
            )
            .ctx(CTX)?;
        let mut rows = stmt.query([]).ctx(CTX)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().ctx(CTX)? {
            let opt = |i: usize, f: &'static str| -> Result<Option<u64>> {
                row.get::<_, Option<i64>>(i)
                    .ctx(CTX)?
                    .map(|v| from_i64(T, f, v))
                    .transpose()
            };
            out.push(PeerProfile {
                hash: hash_from(T, row.get(0).ctx(CTX)?)?,
                connect_ok: from_i64(T, "connect_ok", row.get(1).ctx(CTX)?)?,
                connect_fail: from_i64(T, "connect_fail", row.get(2).ctx(CTX)?)?,
                lookup_ok: from_i64(T, "lookup_ok", row.get(3).ctx(CTX)?)?,
                lookup_fail: from_i64(T, "lookup_fail", row.get(4).ctx(CTX)?)?,
                last_ok_at: opt(5, "last_ok_at")?,
                last_fail_at: opt(6, "last_fail_at")?,
                tunnel_ok: from_i64(T, "tunnel_ok", row.get(7).ctx(CTX)?)?,
                tunnel_reject: from_i64(T, "tunnel_reject", row.get(8).ctx(CTX)?)?,
                tunnel_timeout: from_i64(T, "tunnel_timeout", row.get(9).ctx(CTX)?)?,
                tunnel_latency_ms_sum: from_i64(T, "tunnel_latency_ms_sum", row.get(10).ctx(CTX)?)?,
            });
        }
        Ok(out)
    }

    /// Removes profiles with no activity (success or failure) at or after
    /// `before_ms`, so the table stays bounded; returns how many went.
    pub fn prune_profiles(&mut self, before_ms: u64) -> Result<usize> {
        let before = to_i64("before_ms", before_ms)?;
        self.conn
            .execute(
                "DELETE FROM peer_profiles
                 WHERE max(coalesce(last_ok_at, 0), coalesce(last_fail_at, 0)) < ?1",
                [before],
            )
            .ctx("pruning peer profiles")
    }

    /// A router state value (e.g. our published port), if set.
    pub fn state(&self, key: &str) -> Result<Option<String>> {
        self.conn
            .query_row(
                "SELECT value FROM router_state WHERE key = ?1",
                [key],
                |r| r.get(0),
            )
            .optional()
            .ctx("reading router state")
    }

    /// Sets a router state value.
    pub fn set_state(&mut self, key: &str, value: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO router_state (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [key, value],
            )
            .ctx("writing router state")?;
        Ok(())
    }

    /// Removes a router state value; returns whether it was set.
    pub fn remove_state(&mut self, key: &str) -> Result<bool> {
        let n = self
            .conn
            .execute("DELETE FROM router_state WHERE key = ?1", [key])
            .ctx("removing router state")?;
        Ok(n > 0)
    }
}

fn read_version(conn: &Connection) -> Result<u32> {
    let v: Option<i64> = conn
        .query_row("SELECT max(version) FROM schema_version", [], |r| r.get(0))
        .ctx("reading the schema version")?;
    let v = v.unwrap_or(0);
    u32::try_from(v).map_err(|_| Error::Corrupt {
        table: "schema_version",
        what: format!("version {v}"),
    })
}

/// Brings the database to the last version of `migrations`, in one transaction:
/// either every pending step is applied or none is.
fn migrate(conn: &mut Connection, migrations: &[Migration]) -> Result<()> {
    const CTX: &str = "migrating the schema";
    let latest = migrations.last().map_or(0, |m| m.version);
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .ctx(CTX)?;
    tx.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        .ctx(CTX)?;
    let found = read_version(&tx)?;
    if found > latest {
        return Err(Error::SchemaTooNew {
            found,
            supported: latest,
        });
    }
    for m in migrations.iter().filter(|m| m.version > found) {
        tx.execute_batch(m.sql).ctx(CTX)?;
        tx.execute("DELETE FROM schema_version", []).ctx(CTX)?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES (?1)",
            [m.version],
        )
        .ctx(CTX)?;
    }
    tx.commit().ctx(CTX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod test {
    use super::*;

    fn rec(n: u8, published: u64) -> RouterInfoRecord {
        RouterInfoRecord {
            hash: [n; 32],
            published,
            caps: "XfR".into(),
            floodfill: true,
            net_id: 2,
            addresses: format!("ntcp2 198.18.0.{n}:12345"),
            bytes: vec![n; 100],
            stored_at: published.saturating_add(5),
        }
    }

    #[test]
    fn migrations_are_ordered_and_end_at_schema_version() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version as usize, i + 1);
        }
        assert_eq!(MIGRATIONS.last().unwrap().version, SCHEMA_VERSION);
    }

    #[test]
    fn put_load_replace_only_newer() {
        let mut s = Store::open_in_memory().unwrap();
        assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(
            s.put_router_infos(&[rec(1, 1000), rec(2, 1000)]).unwrap(),
            2
        );
        assert_eq!(s.count().unwrap(), 2);
        // Older and equal `published`: kept as is.
        let mut older = rec(1, 999);
        older.caps = "L".into();
        assert_eq!(s.put_router_infos(&[older, rec(2, 1000)]).unwrap(), 0);
        // Newer: replaced.
        let mut newer = rec(1, 2000);
        newer.addresses = "ssu2 198.18.0.9:1".into();
        assert_eq!(s.put_router_infos(&[newer.clone()]).unwrap(), 1);
        let mut all = s.load_router_infos().unwrap();
        all.sort_by_key(|r| r.hash);
        assert_eq!(all, vec![newer, rec(2, 1000)]);
        assert_eq!(s.remove_router_infos(&[[1; 32], [7; 32]]).unwrap(), 1);
        assert_eq!(s.count().unwrap(), 1);
    }

    #[test]
    fn a_failed_batch_writes_nothing() {
        let mut s = Store::open_in_memory().unwrap();
        let bad = rec(3, u64::MAX); // does not fit an INTEGER
        let e = s.put_router_infos(&[rec(1, 1), bad]).unwrap_err();
        assert!(e.to_string().contains("published"), "{e}");
        assert_eq!(s.count().unwrap(), 0);
    }

    #[test]
    fn profiles_count_and_prune() {
        let mut s = Store::open_in_memory().unwrap();
        let (a, b) = ([1u8; 32], [2u8; 32]);
        s.record_connect(&a, true, 100).unwrap();
        s.record_connect(&a, false, 200).unwrap();
        s.record_connect(&a, true, 50).unwrap(); // late report: last_ok_at stays 100
        s.record_lookup(&a, true, 300).unwrap();
        s.record_lookup(&b, false, 10).unwrap();
        let mut p = s.profiles().unwrap();
        p.sort_by_key(|p| p.hash);
        assert_eq!(
            p[0],
            PeerProfile {
                hash: a,
                connect_ok: 2,
                connect_fail: 1,
                lookup_ok: 1,
                lookup_fail: 0,
                last_ok_at: Some(300),
                last_fail_at: Some(200),
                ..PeerProfile::default()
            }
        );
        assert_eq!((p[1].lookup_fail, p[1].last_ok_at), (1, None));
        assert_eq!(s.prune_profiles(100).unwrap(), 1);
        assert_eq!(s.profiles().unwrap().len(), 1);
    }

    #[test]
    fn state_values() {
        let mut s = Store::open_in_memory().unwrap();
        assert_eq!(s.state("ntcp2.port").unwrap(), None);
        s.set_state("ntcp2.port", "12345").unwrap();
        s.set_state("ntcp2.port", "23456").unwrap();
        assert_eq!(s.state("ntcp2.port").unwrap().as_deref(), Some("23456"));
        assert!(s.remove_state("ntcp2.port").unwrap());
        assert!(!s.remove_state("ntcp2.port").unwrap());
    }

    #[test]
    fn file_store_is_wal_and_persists() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("netdb.sqlite");
        {
            let mut s = Store::open(&path).unwrap();
            s.put_router_infos(&[rec(1, 1)]).unwrap();
            s.set_state("port", "1").unwrap();
        }
        let s = Store::open(&path).unwrap();
        let mode: String = s
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let sync: i64 = s
            .conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap();
        assert_eq!(sync, 1, "NORMAL");
        assert_eq!(s.load_router_infos().unwrap(), vec![rec(1, 1)]);
        assert_eq!(s.state("port").unwrap().as_deref(), Some("1"));
        assert_eq!(s.integrity_check().unwrap(), "ok");
    }

    /// A version-1 file (before tunnel profiles) is migrated to this build's schema
    /// with its data kept; a file from a later build is refused.
    #[test]
    fn old_version_is_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("netdb.sqlite");
        {
            let mut s =
                Store::configure(Connection::open(&path).unwrap(), &MIGRATIONS[..1]).unwrap();
            assert_eq!(s.schema_version().unwrap(), 1);
            s.put_router_infos(&[rec(1, 1)]).unwrap();
            s.record_connect(&[7; 32], true, 5).unwrap();
        }
        let mut s = Store::open(&path).unwrap();
        assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(s.load_router_infos().unwrap(), vec![rec(1, 1)]);
        let p = s.profiles().unwrap();
        assert_eq!((p.len(), p[0].connect_ok, p[0].tunnel_ok), (1, 1, 0));
        s.record_tunnel_build(&[7; 32], TunnelBuildOutcome::Accepted { latency_ms: 40 }, 6)
            .unwrap();
        assert_eq!(s.profiles().unwrap()[0].tunnel_latency_ms_sum, 40);
        drop(s);
        // A later build adds a step; this build then refuses the file.
        let mut next = MIGRATIONS.to_vec();
        next.push(Migration {
            version: SCHEMA_VERSION + 1,
            sql: "ALTER TABLE router_infos ADD COLUMN country TEXT NOT NULL DEFAULT '??';",
        });
        let s = Store::configure(Connection::open(&path).unwrap(), &next).unwrap();
        let country: String = s
            .conn
            .query_row("SELECT country FROM router_infos", [], |r| r.get(0))
            .unwrap();
        assert_eq!(country, "??");
        drop(s);
        let e = Store::open(&path).unwrap_err();
        assert!(matches!(e, Error::SchemaTooNew { found, supported }
            if found == SCHEMA_VERSION + 1 && supported == SCHEMA_VERSION));
    }

    #[test]
    fn tunnel_build_outcomes_are_counted() {
        let mut s = Store::open_in_memory().unwrap();
        let h = [3u8; 32];
        s.record_tunnel_build(&h, TunnelBuildOutcome::Accepted { latency_ms: 100 }, 10)
            .unwrap();
        s.record_tunnel_build(&h, TunnelBuildOutcome::Accepted { latency_ms: 50 }, 11)
            .unwrap();
        s.record_tunnel_build(&h, TunnelBuildOutcome::Rejected, 12)
            .unwrap();
        s.record_tunnel_build(&h, TunnelBuildOutcome::TimedOut, 13)
            .unwrap();
        let p = &s.profiles().unwrap()[0];
        assert_eq!((p.tunnel_ok, p.tunnel_reject, p.tunnel_timeout), (2, 1, 1));
        assert_eq!(p.tunnel_latency_ms_sum, 150);
        assert_eq!((p.last_ok_at, p.last_fail_at), (Some(11), Some(13)));
    }

    #[test]
    fn version_zero_file_is_migrated() {
        // A file with the version table but no schema yet (as left by a crash during
        // the very first open, were migration not one transaction).
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("netdb.sqlite");
        Connection::open(&path)
            .unwrap()
            .execute_batch("CREATE TABLE schema_version (version INTEGER NOT NULL)")
            .unwrap();
        let s = Store::open(&path).unwrap();
        assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(s.count().unwrap(), 0);
    }

    #[test]
    fn newer_version_refused_with_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("netdb.sqlite");
        drop(Store::open(&path).unwrap());
        Connection::open(&path)
            .unwrap()
            .execute("UPDATE schema_version SET version = 99", [])
            .unwrap();
        let e = Store::open(&path).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "the netDb store has schema version 99, newer than the {SCHEMA_VERSION} this \
                 build supports; use a newer Gousse or move the file away"
            )
        );
    }

    #[test]
    fn not_a_database_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junk.sqlite");
        std::fs::write(&path, vec![0x55u8; 4096]).unwrap();
        let e = Store::open(&path).unwrap_err().to_string();
        assert!(e.contains("junk.sqlite"), "{e}");
    }
}
