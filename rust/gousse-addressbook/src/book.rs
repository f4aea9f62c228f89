//! The address book over gousse-store's `hosts` and `subscriptions` tables
//! (naming.md, "Address Book").

use i2p_crypto::hash::sha256;

use gousse_store::{HostInsert, HostRecord, Store};

use crate::hosts_txt::{self, Action, BodyError, LineError, Record, Signed};
use crate::name::{HostKind, HostName, NameError};
use crate::subscription::{FetchOutcome, FetchRequest, Schedule, Subscription};

/// An address book entry: name, destination, its hash, source and time added.
pub type Entry = HostRecord;

/// At most this many line errors and conflicting names are kept in an
/// [`ImportReport`] (the counts stay exact).
pub const MAX_REPORTED: usize = 100;

/// At most this many subscriptions.
pub const MAX_SUBSCRIPTIONS: usize = 100;

/// Longest subscription URL accepted.
pub const MAX_URL_LEN: usize = 2048;

/// Errors of the address book.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BookError {
    /// The database failed.
    #[error("address book storage: {0}")]
    Store(#[from] gousse_store::Error),
    /// A host name breaks the naming rules.
    #[error("invalid host name: {0}")]
    Name(#[from] NameError),
    /// A destination does not parse.
    #[error("invalid destination: {0}")]
    Destination(LineError),
    /// A hosts.txt body was refused as a whole.
    #[error(transparent)]
    Body(#[from] BodyError),
    /// A subscription URL that is not `http://`, or too long.
    #[error(
        "a subscription URL must start with http:// and have at most {MAX_URL_LEN} characters"
    )]
    BadUrl,
    /// [`MAX_SUBSCRIPTIONS`] reached.
    #[error("at most {MAX_SUBSCRIPTIONS} subscriptions")]
    TooManySubscriptions,
    /// [`AddressBook::apply_fetch`] for a URL that is not subscribed.
    #[error("no subscription for {0}")]
    UnknownSubscription(String),
}

/// What [`AddressBook::import_hosts_txt`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// New names stored.
    pub added: usize,
    /// Names already stored with the same destination.
    pub skipped: usize,
    /// Names already stored with another destination (kept; first come, first served).
    pub conflicting: usize,
    /// The first [`MAX_REPORTED`] conflicting names.
    pub conflicts: Vec<String>,
    /// Names removed by signed remove commands.
    pub removed: usize,
    /// Names changed by signed change commands.
    pub changed: usize,
    /// Valid commands not applied (`adddest`, `update`, unknown actions, commands that
    /// do not match what we store).
    pub ignored: usize,
    /// Lines refused.
    pub invalid: usize,
    /// The first [`MAX_REPORTED`] refused lines: line number and reason.
    pub errors: Vec<(usize, LineError)>,
}

/// What a host a client asks for resolves to locally.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolved {
    /// A full destination from the address book.
    Destination(Vec<u8>),
    /// Only the hash, from a `.b32.i2p` name we hold no destination for: the
    /// router must look the LeaseSet up.
    Hash([u8; 32]),
    /// A `.i2p` name not in the address book.
    NotFound,
    /// An encrypted LeaseSet address (b32encrypted.rst): the router looks up and
    /// opens the LeaseSet with it.
    EncryptedB32(i2p_wire::BlindedAddress),
    /// A malformed `.b32.i2p` address.
    BadB32,
    /// Not an I2P host.
    NotI2p,
}

/// The address book: names to destinations, and hosts.txt subscriptions.
#[derive(Debug)]
pub struct AddressBook {
    store: Store,
}

fn record(name: &HostName, destination: &[u8], source: &str, now: u64) -> HostRecord {
    HostRecord {
        name: name.as_str().to_owned(),
        hash: sha256(destination),
        destination: destination.to_vec(),
        source: source.to_owned(),
        added_at: now,
    }
}

fn check_destination(destination: &[u8]) -> Result<(), BookError> {
    use i2p_wire::Readable;
    i2p_wire::Destination::from_bytes(destination)
        .map(|_| ())
        .map_err(|e| BookError::Destination(LineError::Destination(e.to_string())))
}

impl AddressBook {
    /// An address book over `store` (migrated to schema 3 or later by `Store::open`).
    pub fn new(store: Store) -> AddressBook {
        AddressBook { store }
    }

    /// An address book that keeps nothing on disk.
    pub fn open_in_memory() -> Result<AddressBook, BookError> {
        Ok(AddressBook::new(Store::open_in_memory()?))
    }

    /// Adds `name` unless it is already stored (then says whether with the same
    /// destination or another; nothing is overwritten).
    pub fn add(
        &mut self,
        name: &str,
        destination: &[u8],
        source: &str,
        now: u64,
    ) -> Result<HostInsert, BookError> {
        let name = HostName::parse(name)?;
        check_destination(destination)?;
        let out = self
            .store
            .insert_hosts(&[record(&name, destination, source, now)])?;
        Ok(out.first().copied().unwrap_or(HostInsert::AlreadyPresent))
    }

    /// Stores `name`, replacing any destination it had: only on an explicit decision
    /// of the user (e.g. a confirmed address helper).
    pub fn replace(
        &mut self,
        name: &str,
        destination: &[u8],
        source: &str,
        now: u64,
    ) -> Result<(), BookError> {
        let name = HostName::parse(name)?;
        check_destination(destination)?;
        Ok(self
            .store
            .put_host(&record(&name, destination, source, now))?)
    }

    /// Removes `name`; returns whether it was stored.
    pub fn remove(&mut self, name: &str) -> Result<bool, BookError> {
        Ok(self.store.remove_host(&name.to_ascii_lowercase())?)
    }

    /// The entry for `name` (case-insensitive).
    pub fn lookup(&self, name: &str) -> Result<Option<Entry>, BookError> {
        Ok(self.store.host(&name.to_ascii_lowercase())?)
    }

    /// The entries whose destination hashes to `hash` (reverse lookup of a b32).
    pub fn lookup_b32(&self, hash: &[u8; 32]) -> Result<Vec<Entry>, BookError> {
        Ok(self.store.hosts_by_hash(hash)?)
    }

    /// Up to `limit` entries whose name contains `needle` (case-insensitive).
    pub fn search(&self, needle: &str, limit: u32) -> Result<Vec<Entry>, BookError> {
        Ok(self
            .store
            .search_hosts(&needle.to_ascii_lowercase(), limit)?)
    }

    /// Number of entries.
    pub fn count(&self) -> Result<u64, BookError> {
        Ok(self.store.host_count()?)
    }

    /// Resolves a host as a client proxy asks for it, without the network.
    pub fn resolve(&self, host: &str) -> Result<Resolved, BookError> {
        Ok(match HostKind::classify(host) {
            HostKind::B32(hash) => match self.lookup_b32(&hash)?.into_iter().next() {
                Some(e) => Resolved::Destination(e.destination),
                None => Resolved::Hash(hash),
            },
            HostKind::Name(n) => match self.lookup(&n)? {
                Some(e) => Resolved::Destination(e.destination),
                None => Resolved::NotFound,
            },
            HostKind::EncryptedB32(a) => Resolved::EncryptedB32(a),
            HostKind::BadB32 => Resolved::BadB32,
            HostKind::NotI2p => Resolved::NotI2p,
        })
    }

    /// Imports a hosts.txt body from `source` (naming.md, "Incoming Subscriptions and
    /// Merging": "Naming conflicts are resolved on a first-come first-served basis").
    /// New names are added in one transaction and never overwrite; then the signed
    /// commands of subscription.rst are applied where they match what is stored.
    pub fn import_hosts_txt(
        &mut self,
        source: &str,
        body: &[u8],
        now: u64,
    ) -> Result<ImportReport, BookError> {
        let mut report = ImportReport::default();
        let mut adds: Vec<HostRecord> = Vec::new();
        let mut commands: Vec<Record> = Vec::new();
        for (line, parsed) in hosts_txt::parse_hosts_txt(body)? {
            match parsed {
                Err(e) => {
                    report.invalid += 1;
                    if report.errors.len() < MAX_REPORTED {
                        report.errors.push((line, e));
                    }
                }
                Ok(r) => match r.action {
                    Action::Add | Action::AddName { .. } | Action::AddSubdomain { .. } => {
                        adds.push(record(&r.name, &r.destination, source, now));
                    }
                    _ => commands.push(r),
                },
            }
        }
        let outcomes = self.store.insert_hosts(&adds)?;
        for (rec, outcome) in adds.iter().zip(outcomes) {
            match outcome {
                HostInsert::Added => report.added += 1,
                HostInsert::AlreadyPresent => report.skipped += 1,
                HostInsert::Conflict { .. } => report.conflict(&rec.name),
            }
        }
        for c in commands {
            self.apply_command(c, source, now, &mut report)?;
        }
        Ok(report)
    }

    fn apply_command(
        &mut self,
        c: Record,
        source: &str,
        now: u64,
        report: &mut ImportReport,
    ) -> Result<(), BookError> {
        // Only fully verified commands change or remove what we store.
        if c.signed != Signed::Verified {
            report.ignored += 1;
            return Ok(());
        }
        let stored = self.store.host(c.name.as_str())?;
        match &c.action {
            Action::ChangeDest { old_dest } => match stored {
                Some(s) if s.hash == sha256(old_dest) => {
                    self.store
                        .put_host(&record(&c.name, &c.destination, source, now))?;
                    report.changed += 1;
                }
                Some(s) if s.hash == c.hash => report.skipped += 1,
                Some(_) => report.conflict(c.name.as_str()),
                None => {
                    self.store
                        .insert_hosts(&[record(&c.name, &c.destination, source, now)])?;
                    report.added += 1;
                }
            },
            Action::ChangeName { old_name } => {
                let old = self.store.host(old_name.as_str())?;
                match (old, stored) {
                    (_, Some(s)) if s.hash != c.hash => report.conflict(c.name.as_str()),
                    (Some(o), _) if o.hash == c.hash => {
                        self.store.remove_host(old_name.as_str())?;
                        self.store
                            .insert_hosts(&[record(&c.name, &c.destination, source, now)])?;
                        report.changed += 1;
                    }
                    _ => report.ignored += 1,
                }
            }
            Action::Remove => match stored {
                Some(s) if s.hash == c.hash => {
                    self.store.remove_host(c.name.as_str())?;
                    report.removed += 1;
                }
                _ => report.ignored += 1,
            },
            Action::RemoveAll => {
                let n = self.store.remove_hosts_by_hash(&c.hash)?;
                if n == 0 {
                    report.ignored += 1;
                }
                report.removed += n;
            }
            _ => report.ignored += 1,
        }
        Ok(())
    }

    /// Every subscription, by URL.
    pub fn subscriptions(&self) -> Result<Vec<Subscription>, BookError> {
        Ok(self.store.subscriptions()?)
    }

    /// Subscribes to `url`; returns false if it already was.
    pub fn add_subscription(&mut self, url: &str, now: u64) -> Result<bool, BookError> {
        if !url.starts_with("http://") || url.len() > MAX_URL_LEN {
            return Err(BookError::BadUrl);
        }
        let subs = self.store.subscriptions()?;
        if subs.iter().any(|s| s.url == url) {
            return Ok(false);
        }
        if subs.len() >= MAX_SUBSCRIPTIONS {
            return Err(BookError::TooManySubscriptions);
        }
        self.store.put_subscription(&Subscription {
            url: url.to_owned(),
            added_at: now,
            last_fetched_at: None,
            last_success_at: None,
            etag: None,
            last_modified: None,
            failures: 0,
        })?;
        Ok(true)
    }

    /// Unsubscribes from `url`; returns whether it was subscribed. Names it brought
    /// stay.
    pub fn remove_subscription(&mut self, url: &str) -> Result<bool, BookError> {
        Ok(self.store.remove_subscription(url)?)
    }

    /// The fetch to make now, if a subscription is due.
    pub fn due_fetch(
        &self,
        schedule: &Schedule,
        now: u64,
    ) -> Result<Option<FetchRequest>, BookError> {
        let subs = self.store.subscriptions()?;
        Ok(schedule
            .next_due(&subs, now)
            .map(FetchRequest::for_subscription))
    }

    /// Records the outcome of fetching `url` at `now` and imports a body (with the
    /// URL as the entries' source). Returns the import report when there was a body.
    pub fn apply_fetch(
        &mut self,
        url: &str,
        now: u64,
        outcome: FetchOutcome,
    ) -> Result<Option<ImportReport>, BookError> {
        let mut sub = self
            .store
            .subscriptions()?
            .into_iter()
            .find(|s| s.url == url)
            .ok_or_else(|| BookError::UnknownSubscription(url.chars().take(200).collect()))?;
        sub.last_fetched_at = Some(now);
        let report = match outcome {
            FetchOutcome::NotModified => {
                sub.failures = 0;
                sub.last_success_at = Some(now);
                None
            }
            FetchOutcome::Body {
                body,
                etag,
                last_modified,
            } => match self.import_hosts_txt(url, &body, now) {
                Ok(r) => {
                    sub.failures = 0;
                    sub.last_success_at = Some(now);
                    sub.etag = etag;
                    sub.last_modified = last_modified;
                    Some(r)
                }
                Err(BookError::Body(e)) => {
                    // A body refused as a whole counts as a failed fetch.
                    sub.failures = sub.failures.saturating_add(1);
                    self.store.put_subscription(&sub)?;
                    return Err(BookError::Body(e));
                }
                Err(e) => return Err(e),
            },
            FetchOutcome::Failed { .. } => {
                sub.failures = sub.failures.saturating_add(1);
                None
            }
        };
        self.store.put_subscription(&sub)?;
        Ok(report)
    }
}

impl ImportReport {
    fn conflict(&mut self, name: &str) {
        self.conflicting += 1;
        if self.conflicts.len() < MAX_REPORTED {
            self.conflicts.push(name.to_owned());
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod test {
    use super::*;
    use crate::hosts_txt::test::{dsa_dest, ed_dest};
    use crate::hosts_txt::{signed_add_line, MAX_BODY_LEN};
    use crate::name::b32_name;
    use i2p_wire::base64;

    fn line(name: &str, d: &[u8]) -> String {
        format!("{name}={}\n", base64::encode(d))
    }

    #[test]
    fn add_lookup_remove_search() {
        let mut b = AddressBook::open_in_memory().unwrap();
        let d1 = dsa_dest(1);
        let d2 = dsa_dest(2);
        assert_eq!(
            b.add("Forum.i2p", &d1, "user", 10).unwrap(),
            HostInsert::Added
        );
        assert_eq!(
            b.add("forum.i2p", &d2, "user", 11).unwrap(),
            HostInsert::Conflict {
                existing_hash: sha256(&d1)
            }
        );
        assert_eq!(b.lookup("FORUM.i2p").unwrap().unwrap().destination, d1);
        assert!(matches!(
            b.add("bad_name.i2p", &d1, "user", 1),
            Err(BookError::Name(NameError::BadCharacter('_')))
        ));
        assert!(matches!(
            b.add("ok.i2p", &[1, 2, 3], "user", 1),
            Err(BookError::Destination(_))
        ));
        b.add("zzz.i2p", &d2, "user", 12).unwrap();
        let found: Vec<String> = b
            .search("Z", 10)
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(found, vec!["zzz.i2p"]);
        assert_eq!(b.lookup_b32(&sha256(&d2)).unwrap()[0].name, "zzz.i2p");
        b.replace("forum.i2p", &d2, "addresshelper", 13).unwrap();
        assert_eq!(
            b.lookup("forum.i2p").unwrap().unwrap().source,
            "addresshelper"
        );
        assert!(b.remove("forum.i2p").unwrap());
        assert_eq!(b.lookup("forum.i2p").unwrap(), None);
        assert_eq!(b.count().unwrap(), 1);
    }

    #[test]
    fn resolve_names_and_b32() {
        let mut b = AddressBook::open_in_memory().unwrap();
        let d = dsa_dest(4);
        b.add("site.i2p", &d, "user", 1).unwrap();
        assert_eq!(
            b.resolve("site.i2p").unwrap(),
            Resolved::Destination(d.clone())
        );
        assert_eq!(
            b.resolve(&b32_name(&d)).unwrap(),
            Resolved::Destination(d.clone()),
            "a b32 we hold the destination of"
        );
        let other = dsa_dest(5);
        assert_eq!(
            b.resolve(&b32_name(&other)).unwrap(),
            Resolved::Hash(sha256(&other))
        );
        assert_eq!(b.resolve("nope.i2p").unwrap(), Resolved::NotFound);
        assert_eq!(b.resolve("example.com").unwrap(), Resolved::NotI2p);
        let keys = i2p_wire::DestinationKeys::generate();
        let b33 = i2p_wire::BlindedAddress::from_destination(keys.destination()).unwrap();
        assert_eq!(
            b.resolve(&b33.to_host()).unwrap(),
            Resolved::EncryptedB32(b33)
        );
    }

    #[test]
    fn import_reports_added_skipped_conflicting_invalid() {
        let mut b = AddressBook::open_in_memory().unwrap();
        let (d1, d2, d3) = (dsa_dest(1), dsa_dest(2), dsa_dest(3));
        b.add("mine.i2p", &d1, "user", 1).unwrap();
        let body = format!(
            "# feed\n{}{}{}{}not a line\nproxy.i2p={}\n",
            line("mine.i2p", &d2),
            line("same.i2p", &d3),
            line("new.i2p", &d2),
            line("same.i2p", &d3),
            base64::encode(&d3)
        );
        b.add("same.i2p", &d3, "user", 1).unwrap();
        let r = b
            .import_hosts_txt("http://feed.i2p/hosts.txt", body.as_bytes(), 50)
            .unwrap();
        assert_eq!((r.added, r.skipped, r.conflicting, r.invalid), (1, 2, 1, 2));
        assert_eq!(r.conflicts, vec!["mine.i2p"]);
        assert_eq!(r.errors[0].0, 6);
        assert_eq!(r.errors[1].0, 7);
        assert!(
            r.errors[1].1.to_string().contains("reserved"),
            "{}",
            r.errors[1].1
        );
        // The user's entry was not overwritten.
        assert_eq!(b.lookup("mine.i2p").unwrap().unwrap().destination, d1);
        let new = b.lookup("new.i2p").unwrap().unwrap();
        assert_eq!(
            (new.source.as_str(), new.added_at),
            ("http://feed.i2p/hosts.txt", 50)
        );
    }

    #[test]
    fn signed_commands_apply_only_when_they_match() {
        let mut b = AddressBook::open_in_memory().unwrap();
        let (sk, d) = ed_dest();
        let n = HostName::parse("signed.i2p").unwrap();
        let add = signed_add_line(&n, &d, &[("date", "1")], |m| sk.sign(m).to_vec());
        let r = b.import_hosts_txt("feed", add.as_bytes(), 1).unwrap();
        assert_eq!(r.added, 1);
        // A forged add for a new name is refused.
        let other = i2p_crypto::ed25519::SigningKey::random();
        let n2 = HostName::parse("forged.i2p").unwrap();
        let forged = signed_add_line(&n2, &d, &[], |m| other.sign(m).to_vec());
        let r = b.import_hosts_txt("feed", forged.as_bytes(), 2).unwrap();
        assert_eq!((r.added, r.invalid), (0, 1));
        assert_eq!(r.errors[0].1, LineError::BadSignature("sig"));
        // Signed remove.
        let pairs = format!("action=remove#dest={}#name=signed.i2p", base64::encode(&d));
        let sig = base64::encode(&sk.sign(format!("#!{pairs}").as_bytes()));
        let r = b
            .import_hosts_txt("feed", format!("#!{pairs}#sig={sig}\n").as_bytes(), 3)
            .unwrap();
        assert_eq!(r.removed, 1);
        assert_eq!(b.lookup("signed.i2p").unwrap(), None);
    }

    #[test]
    fn signed_changedest_replaces_only_the_old_destination() {
        let mut b = AddressBook::open_in_memory().unwrap();
        let (old_sk, old_d) = ed_dest();
        let (new_sk, new_d) = ed_dest();
        b.add("site.i2p", &old_d, "user", 1).unwrap();
        let head = format!("site.i2p={}", base64::encode(&new_d));
        let pairs = format!("action=changedest#olddest={}", base64::encode(&old_d));
        let inner = format!("{head}#!{pairs}");
        let oldsig = base64::encode(&old_sk.sign(inner.as_bytes()));
        let outer = format!("{head}#!{pairs}#oldsig={oldsig}");
        let sig = base64::encode(&new_sk.sign(outer.as_bytes()));
        let r = b
            .import_hosts_txt("feed", format!("{outer}#sig={sig}").as_bytes(), 2)
            .unwrap();
        assert_eq!(r.changed, 1);
        assert_eq!(b.lookup("site.i2p").unwrap().unwrap().destination, new_d);
    }

    #[test]
    fn signed_changename_and_removeall() {
        let mut b = AddressBook::open_in_memory().unwrap();
        let (sk, d) = ed_dest();
        let b64 = base64::encode(&d);
        b.add("old.i2p", &d, "user", 1).unwrap();
        b.add("alias.i2p", &d, "user", 1).unwrap();
        let head = format!("new.i2p={b64}");
        let msg = format!("{head}#!action=changename#oldname=old.i2p");
        let sig = base64::encode(&sk.sign(msg.as_bytes()));
        let r = b
            .import_hosts_txt("feed", format!("{msg}#sig={sig}").as_bytes(), 2)
            .unwrap();
        assert_eq!(r.changed, 1);
        assert_eq!(b.lookup("old.i2p").unwrap(), None);
        assert_eq!(b.lookup("new.i2p").unwrap().unwrap().destination, d);
        // removeall: every name of that destination goes.
        let pairs = format!("action=removeall#dest={b64}#name=new.i2p");
        let sig = base64::encode(&sk.sign(format!("#!{pairs}").as_bytes()));
        let r = b
            .import_hosts_txt("feed", format!("#!{pairs}#sig={sig}").as_bytes(), 3)
            .unwrap();
        assert_eq!(r.removed, 2);
        assert_eq!(b.count().unwrap(), 0);
    }

    #[test]
    fn subscriptions_fetch_cycle() {
        let mut b = AddressBook::open_in_memory().unwrap();
        let url = "http://feed.i2p/hosts.txt";
        assert!(matches!(
            b.add_subscription("ftp://x", 0),
            Err(BookError::BadUrl)
        ));
        assert!(b.add_subscription(url, 1000).unwrap());
        assert!(!b.add_subscription(url, 1000).unwrap());
        let s = Schedule::default();
        let req = b.due_fetch(&s, 1000).unwrap().unwrap();
        assert_eq!((req.url.as_str(), req.if_none_match), (url, None));
        let body = line("fed.i2p", &dsa_dest(9)).into_bytes();
        let r = b
            .apply_fetch(
                url,
                2000,
                FetchOutcome::Body {
                    body,
                    etag: Some("\"e1\"".into()),
                    last_modified: None,
                },
            )
            .unwrap()
            .unwrap();
        assert_eq!(r.added, 1);
        assert_eq!(b.due_fetch(&s, 3000).unwrap(), None, "not due again yet");
        let later = 2000 + 12 * 3600 * 1000;
        let req = b.due_fetch(&s, later).unwrap().unwrap();
        assert_eq!(req.if_none_match.as_deref(), Some("\"e1\""));
        // A failure backs off 5 minutes, not 12 hours.
        b.apply_fetch(
            url,
            later,
            FetchOutcome::Failed {
                reason: "timeout".into(),
            },
        )
        .unwrap();
        assert_eq!(b.subscriptions().unwrap()[0].failures, 1);
        assert!(b
            .due_fetch(&s, later + 5 * 60 * 1000 - 1)
            .unwrap()
            .is_none());
        assert!(b.due_fetch(&s, later + 5 * 60 * 1000).unwrap().is_some());
        assert_eq!(
            b.apply_fetch(url, later + 1, FetchOutcome::NotModified)
                .unwrap(),
            None
        );
        assert_eq!(b.subscriptions().unwrap()[0].failures, 0);
        // An oversized body is a failure.
        let e = b
            .apply_fetch(
                url,
                later + 2,
                FetchOutcome::Body {
                    body: vec![b'\n'; MAX_BODY_LEN + 1],
                    etag: None,
                    last_modified: None,
                },
            )
            .unwrap_err();
        assert!(matches!(e, BookError::Body(_)));
        assert_eq!(b.subscriptions().unwrap()[0].failures, 1);
        assert!(matches!(
            b.apply_fetch("http://other.i2p/", 1, FetchOutcome::NotModified),
            Err(BookError::UnknownSubscription(_))
        ));
    }
}
