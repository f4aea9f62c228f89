//! The address book's tables (schema version 3): `hosts` (host name to Destination)
//! and `subscriptions` (hosts.txt feeds with their HTTP cache validators).
//!
//! This module stores what it is given: name validation, Destination parsing, the
//! b32 hash and the import policy live in `gousse-addressbook` (naming.md,
//! "Naming Rules"; subscription.rst).

use rusqlite::{params, OptionalExtension, Row, TransactionBehavior};

use crate::{from_i64, hash_from, to_i64, Context, Error, Result, Store};

/// One address book entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostRecord {
    /// The host name, lower case, ending in `.i2p` (validated by the caller).
    pub name: String,
    /// SHA-256 of `destination`: the `.b32.i2p` hash (naming.md, "Base32 Names").
    pub hash: [u8; 32],
    /// The serialized Destination.
    pub destination: Vec<u8>,
    /// Where the entry came from: a subscription URL, `"user"`, `"addresshelper"`.
    pub source: String,
    /// When it was added, milliseconds since the epoch.
    pub added_at: u64,
}

/// What [`Store::insert_hosts`] did with one record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostInsert {
    /// The name was new and is now stored.
    Added,
    /// The name was already stored with the same destination hash.
    AlreadyPresent,
    /// The name was already stored with another destination; it was kept.
    Conflict {
        /// The hash of the destination that was kept.
        existing_hash: [u8; 32],
    },
}

/// A hosts.txt subscription as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubscriptionRecord {
    /// The feed URL (usually an `http://….i2p/hosts.txt`).
    pub url: String,
    /// When it was added, milliseconds since the epoch.
    pub added_at: u64,
    /// When the last fetch attempt ended, milliseconds since the epoch.
    pub last_fetched_at: Option<u64>,
    /// When the last fetch succeeded (body or 304), milliseconds since the epoch.
    pub last_success_at: Option<u64>,
    /// The `ETag` of the last body, for `If-None-Match`.
    pub etag: Option<String>,
    /// The `Last-Modified` of the last body, for `If-Modified-Since`.
    pub last_modified: Option<String>,
    /// Failed attempts since the last success.
    pub failures: u32,
}

const HOSTS: &str = "hosts";
const HOST_COLUMNS: &str = "name, hash, destination, source, added_at";

/// A `hosts` row as SQLite returns it: name, hash, destination, source, added_at.
type RawHost = (String, Vec<u8>, Vec<u8>, String, i64);

fn host_from_row(row: &Row<'_>) -> rusqlite::Result<RawHost> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
}

fn host_record(raw: RawHost) -> Result<HostRecord> {
    let (name, hash, destination, source, added_at) = raw;
    Ok(HostRecord {
        name,
        hash: hash_from(HOSTS, hash)?,
        destination,
        source,
        added_at: from_i64(HOSTS, "added_at", added_at)?,
    })
}

impl Store {
    /// Inserts host records in one transaction without ever replacing a stored name;
    /// returns, for each record in order, what happened to it.
    pub fn insert_hosts(&mut self, records: &[HostRecord]) -> Result<Vec<HostInsert>> {
        const CTX: &str = "importing hosts";
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx(CTX)?;
        let mut out = Vec::with_capacity(records.len());
        {
            let mut find = tx
                .prepare_cached("SELECT hash FROM hosts WHERE name = ?1")
                .ctx(CTX)?;
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO hosts (name, hash, destination, source, added_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .ctx(CTX)?;
            for r in records {
                let existing: Option<Vec<u8>> = find
                    .query_row([&r.name], |row| row.get(0))
                    .optional()
                    .ctx(CTX)?;
                let outcome = match existing {
                    Some(h) => {
                        let existing_hash = hash_from(HOSTS, h)?;
                        if existing_hash == r.hash {
                            HostInsert::AlreadyPresent
                        } else {
                            HostInsert::Conflict { existing_hash }
                        }
                    }
                    None => {
                        insert
                            .execute(params![
                                r.name,
                                &r.hash[..],
                                r.destination,
                                r.source,
                                to_i64("added_at", r.added_at)?
                            ])
                            .ctx(CTX)?;
                        HostInsert::Added
                    }
                };
                out.push(outcome);
            }
        }
        tx.commit().ctx(CTX)?;
        Ok(out)
    }

    /// Stores a host record, replacing any entry of the same name (an explicit user
    /// decision, or a signed change command).
    pub fn put_host(&mut self, r: &HostRecord) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO hosts (name, hash, destination, source, added_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (name) DO UPDATE SET hash = excluded.hash,
                     destination = excluded.destination, source = excluded.source,
                     added_at = excluded.added_at",
                params![
                    r.name,
                    &r.hash[..],
                    r.destination,
                    r.source,
                    to_i64("added_at", r.added_at)?
                ],
            )
            .ctx("storing a host")?;
        Ok(())
    }

    /// The entry for `name` (exact match; callers lower-case first).
    pub fn host(&self, name: &str) -> Result<Option<HostRecord>> {
        let sql = format!("SELECT {HOST_COLUMNS} FROM hosts WHERE name = ?1");
        let raw = self
            .conn
            .query_row(&sql, [name], host_from_row)
            .optional()
            .ctx("looking up a host")?;
        raw.map(host_record).transpose()
    }

    /// Every entry whose destination hashes to `hash`, by name.
    pub fn hosts_by_hash(&self, hash: &[u8; 32]) -> Result<Vec<HostRecord>> {
        let sql = format!("SELECT {HOST_COLUMNS} FROM hosts WHERE hash = ?1 ORDER BY name");
        self.query_hosts(&sql, params![&hash[..]], "looking up hosts by hash")
    }

    /// Up to `limit` entries whose name contains `needle` (a plain substring, no
    /// wildcards), by name.
    pub fn search_hosts(&self, needle: &str, limit: u32) -> Result<Vec<HostRecord>> {
        let sql = format!(
            "SELECT {HOST_COLUMNS} FROM hosts WHERE instr(name, ?1) > 0 ORDER BY name LIMIT ?2"
        );
        self.query_hosts(&sql, params![needle, limit], "searching hosts")
    }

    fn query_hosts(
        &self,
        sql: &str,
        p: impl rusqlite::Params,
        ctx: &'static str,
    ) -> Result<Vec<HostRecord>> {
        let mut stmt = self.conn.prepare_cached(sql).ctx(ctx)?;
        let rows = stmt
            .query_map(p, host_from_row)
            .ctx(ctx)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .ctx(ctx)?;
        rows.into_iter().map(host_record).collect()
    }

    /// Removes the entry for `name`; returns whether there was one.
    pub fn remove_host(&mut self, name: &str) -> Result<bool> {
        let n = self
            .conn
            .execute("DELETE FROM hosts WHERE name = ?1", [name])
            .ctx("removing a host")?;
        Ok(n > 0)
    }

    /// Removes every entry whose destination hashes to `hash`; returns how many.
    pub fn remove_hosts_by_hash(&mut self, hash: &[u8; 32]) -> Result<usize> {
        self.conn
            .execute("DELETE FROM hosts WHERE hash = ?1", [&hash[..]])
            .ctx("removing hosts by hash")
    }

    /// Number of address book entries.
    pub fn host_count(&self) -> Result<u64> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM hosts", [], |r| r.get(0))
            .ctx("counting hosts")?;
        from_i64(HOSTS, "count", n)
    }

    /// Every subscription, by URL.
    pub fn subscriptions(&self) -> Result<Vec<SubscriptionRecord>> {
        const CTX: &str = "loading subscriptions";
        const T: &str = "subscriptions";
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT url, added_at, last_fetched_at, last_success_at, etag, last_modified,
                        failures
                 FROM subscriptions ORDER BY url",
            )
            .ctx(CTX)?;
        type Raw = (
            String,
            i64,
            Option<i64>,
            Option<i64>,
            Option<String>,
            Option<String>,
            i64,
        );
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            })
            .ctx(CTX)?
            .collect::<rusqlite::Result<Vec<Raw>>>()
            .ctx(CTX)?;
        let opt = |field, v: Option<i64>| v.map(|v| from_i64(T, field, v)).transpose();
        rows.into_iter()
            .map(|(url, added, fetched, success, etag, lm, failures)| {
                Ok(SubscriptionRecord {
                    url,
                    added_at: from_i64(T, "added_at", added)?,
                    last_fetched_at: opt("last_fetched_at", fetched)?,
                    last_success_at: opt("last_success_at", success)?,
                    etag,
                    last_modified: lm,
                    failures: u32::try_from(failures).map_err(|_| Error::Corrupt {
                        table: T,
                        what: format!("failures = {failures}"),
                    })?,
                })
            })
            .collect()
    }

    /// Adds or updates a subscription (keyed by URL).
    pub fn put_subscription(&mut self, s: &SubscriptionRecord) -> Result<()> {
        let opt = |field, v: Option<u64>| v.map(|v| to_i64(field, v)).transpose();
        self.conn
            .execute(
                "INSERT INTO subscriptions (url, added_at, last_fetched_at, last_success_at,
                                            etag, last_modified, failures)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (url) DO UPDATE SET added_at = excluded.added_at,
                     last_fetched_at = excluded.last_fetched_at,
                     last_success_at = excluded.last_success_at, etag = excluded.etag,
                     last_modified = excluded.last_modified, failures = excluded.failures",
                params![
                    s.url,
                    to_i64("added_at", s.added_at)?,
                    opt("last_fetched_at", s.last_fetched_at)?,
                    opt("last_success_at", s.last_success_at)?,
                    s.etag,
                    s.last_modified,
                    s.failures
                ],
            )
            .ctx("storing a subscription")?;
        Ok(())
    }

    /// Removes a subscription; returns whether it existed.
    pub fn remove_subscription(&mut self, url: &str) -> Result<bool> {
        let n = self
            .conn
            .execute("DELETE FROM subscriptions WHERE url = ?1", [url])
            .ctx("removing a subscription")?;
        Ok(n > 0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod test {
    use super::*;

    fn host(name: &str, n: u8) -> HostRecord {
        HostRecord {
            name: name.into(),
            hash: [n; 32],
            destination: vec![n; 391],
            source: "test".into(),
            added_at: 1000,
        }
    }

    #[test]
    fn insert_never_overwrites_and_reports_each_record() {
        let mut s = Store::open_in_memory().unwrap();
        let got = s
            .insert_hosts(&[host("a.i2p", 1), host("b.i2p", 2)])
            .unwrap();
        assert_eq!(got, vec![HostInsert::Added, HostInsert::Added]);
        let got = s
            .insert_hosts(&[host("a.i2p", 1), host("b.i2p", 9), host("c.i2p", 3)])
            .unwrap();
        assert_eq!(
            got,
            vec![
                HostInsert::AlreadyPresent,
                HostInsert::Conflict {
                    existing_hash: [2; 32]
                },
                HostInsert::Added
            ]
        );
        assert_eq!(s.host("b.i2p").unwrap().unwrap(), host("b.i2p", 2));
        assert_eq!(s.host_count().unwrap(), 3);
        assert_eq!(s.host("zz.i2p").unwrap(), None);
    }

    #[test]
    fn put_replaces_remove_and_lookup_by_hash() {
        let mut s = Store::open_in_memory().unwrap();
        s.put_host(&host("a.i2p", 1)).unwrap();
        s.put_host(&host("alias.i2p", 1)).unwrap();
        s.put_host(&host("a.i2p", 5)).unwrap();
        assert_eq!(s.host("a.i2p").unwrap().unwrap().hash, [5; 32]);
        let by = s.hosts_by_hash(&[1; 32]).unwrap();
        assert_eq!(by, vec![host("alias.i2p", 1)]);
        assert!(s.remove_host("a.i2p").unwrap());
        assert!(!s.remove_host("a.i2p").unwrap());
        assert_eq!(s.remove_hosts_by_hash(&[1; 32]).unwrap(), 1);
        assert_eq!(s.host_count().unwrap(), 0);
    }

    #[test]
    fn search_is_a_plain_substring_with_limit() {
        let mut s = Store::open_in_memory().unwrap();
        for (i, n) in ["forum.i2p", "zzz.i2p", "i2pforum.i2p", "x_y.i2p", "xay.i2p"]
            .iter()
            .enumerate()
        {
            s.put_host(&host(n, i as u8)).unwrap();
        }
        let names = |v: Vec<HostRecord>| v.into_iter().map(|h| h.name).collect::<Vec<_>>();
        assert_eq!(
            names(s.search_hosts("forum", 10).unwrap()),
            vec!["forum.i2p", "i2pforum.i2p"]
        );
        assert_eq!(
            names(s.search_hosts("forum", 1).unwrap()),
            vec!["forum.i2p"]
        );
        // `_` and `%` are not wildcards.
        assert_eq!(names(s.search_hosts("x_", 10).unwrap()), vec!["x_y.i2p"]);
        assert!(s.search_hosts("%", 10).unwrap().is_empty());
    }

    #[test]
    fn subscriptions_round_trip() {
        let mut s = Store::open_in_memory().unwrap();
        let mut sub = SubscriptionRecord {
            url: "http://i2p-projekt.i2p/hosts.txt".into(),
            added_at: 5,
            last_fetched_at: None,
            last_success_at: None,
            etag: None,
            last_modified: None,
            failures: 0,
        };
        s.put_subscription(&sub).unwrap();
        sub.last_fetched_at = Some(10);
        sub.last_success_at = Some(10);
        sub.etag = Some("\"abc\"".into());
        sub.last_modified = Some("Tue, 01 Jan 2030 00:00:00 GMT".into());
        sub.failures = 2;
        s.put_subscription(&sub).unwrap();
        assert_eq!(s.subscriptions().unwrap(), vec![sub.clone()]);
        assert!(s.remove_subscription(&sub.url).unwrap());
        assert!(s.subscriptions().unwrap().is_empty());
    }
}
