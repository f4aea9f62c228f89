//! The router's address book (naming.md, subscription.rst): opened beside the netDb,
//! seeded from a `hosts.txt` in the data directory, kept fresh by fetching the
//! subscribed feeds over I2P on a schedule, and shared by the proxies, the SAM bridge
//! and the console.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gousse_addressbook::{AddressBook, FetchOutcome, FetchRequest, Resolved, Schedule};
use i2p_wire::Hash;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use crate::i2ptunnel::RouterHandle;

/// The address book, shared.
pub type SharedBook = Arc<Mutex<AddressBook>>;

/// The feeds of the real network that i2pd subscribes to by default.
pub const DEFAULT_SUBSCRIPTIONS: &[&str] = &[
    "http://reg.i2p/hosts.txt",
    "http://identiguy.i2p/hosts.txt",
    "http://stats.i2p/cgi-bin/newhosts.txt",
    "http://i2p-projekt.i2p/hosts.txt",
];

/// How often the schedule is looked at.
const CHECK_EVERY: Duration = Duration::from_secs(60);
/// A whole feed fetch (lookup, stream, body) gives up after this long.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// Largest response head of a feed.
const MAX_HEAD: usize = 16 * 1024;

fn now_ms() -> u64 {
    crate::core::unix_ms()
}

/// Opens the address book in the router's database file and imports `hosts.txt`
/// from the data directory if there is one (names already present are kept).
pub(crate) fn open(data_dir: &Path, db: &Path) -> Result<SharedBook, crate::StartError> {
    let mut book = AddressBook::new(gousse_store::Store::open(db)?);
    let hosts = data_dir.join("hosts.txt");
    if let Ok(body) = std::fs::read(&hosts) {
        match book.import_hosts_txt("hosts.txt", &body, now_ms()) {
            Ok(r) => {
                info!(target: "gousse::naming", added = r.added, skipped = r.skipped, conflicting = r.conflicting, invalid = r.invalid, "hosts.txt imported")
            }
            Err(e) => warn!(target: "gousse::naming", "hosts.txt: {e}"),
        }
    }
    Ok(Arc::new(Mutex::new(book)))
}

/// Subscribes to `urls` (idempotent).
pub(crate) fn subscribe(book: &SharedBook, urls: &[String]) {
    let Ok(mut b) = book.lock() else { return };
    for url in urls {
        match b.add_subscription(url, now_ms()) {
            Ok(true) => info!(target: "gousse::naming", %url, "subscribed"),
            Ok(false) => {}
            Err(e) => warn!(target: "gousse::naming", %url, "subscription refused: {e}"),
        }
    }
}

/// The hash a host name resolves to without the network: a `.b32.i2p` name, or a
/// name in the address book.
pub fn resolve_hash(book: &SharedBook, host: &str) -> Result<Hash, String> {
    let resolved = book
        .lock()
        .map_err(|_| "address book unavailable".to_owned())?
        .resolve(host)
        .map_err(|e| e.to_string())?;
    match resolved {
        Resolved::Hash(h) => Ok(Hash(h)),
        Resolved::Destination(d) => <i2p_wire::Destination as i2p_wire::Readable>::from_bytes(&d)
            .map(|d| d.hash())
            .map_err(|e| format!("{host}: stored destination is damaged: {e}")),
        Resolved::NotFound => Err(format!("{host} is not in the address book")),
        other => Err(format!("{host}: {other:?}")),
    }
}

/// One address book entry as people see it: name, b32 address, source.
pub type ShownEntry = (String, String, String);

/// Up to `limit` names containing `needle`.
pub fn search(book: &SharedBook, needle: &str, limit: usize) -> Result<Vec<ShownEntry>, String> {
    let entries = book
        .lock()
        .map_err(|_| "address book unavailable".to_owned())?
        .search(needle, u32::try_from(limit).unwrap_or(u32::MAX))
        .map_err(|e| e.to_string())?;
    Ok(entries
        .into_iter()
        .map(|e| {
            (
                e.name,
                gousse_addressbook::b32_name_of_hash(&e.hash),
                e.source,
            )
        })
        .collect())
}

/// Adds `name` for a destination a person gave as base64 (a destination, or a private
/// key file, whose destination part is taken). Nothing is overwritten.
pub fn add_by_user(book: &SharedBook, name: &str, destination: &str) -> Result<ShownEntry, String> {
    let bytes = i2p_wire::base64::decode(destination.trim())
        .map_err(|_| "the destination is not I2P base64".to_owned())?;
    let mut r = i2p_wire::Reader::with_object(&bytes, "Destination");
    let dest: i2p_wire::Destination = r.extract().map_err(|e| format!("not a destination: {e}"))?;
    let dest_bytes = i2p_wire::Writeable::to_bytes(&dest);
    let outcome = book
        .lock()
        .map_err(|_| "address book unavailable".to_owned())?
        .add(name, &dest_bytes, "user", now_ms())
        .map_err(|e| e.to_string())?;
    match outcome {
        gousse_addressbook::HostInsert::Added => Ok((
            name.to_ascii_lowercase(),
            dest.b32_address(),
            "user".to_owned(),
        )),
        gousse_addressbook::HostInsert::AlreadyPresent => Err(format!(
            "{name} is already in the address book with this destination"
        )),
        gousse_addressbook::HostInsert::Conflict { existing_hash } => Err(format!(
            "{name} is already in the address book for another destination ({}); nothing changed",
            gousse_addressbook::b32_name_of_hash(&existing_hash)
        )),
    }
}

/// Fetches due feeds, one at a time, through streams from destination `dest`.
pub(crate) fn spawn_subscriptions(
    book: SharedBook,
    handle: RouterHandle,
    dest: u32,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let schedule = Schedule::default();
        loop {
            tokio::time::sleep(CHECK_EVERY).await;
            let due = match book.lock() {
                Ok(b) => b.due_fetch(&schedule, now_ms()),
                Err(_) => return,
            };
            let req = match due {
                Ok(Some(r)) => r,
                Ok(None) => continue,
                Err(e) => {
                    warn!(target: "gousse::naming", "subscriptions: {e}");
                    continue;
                }
            };
            let outcome = match tokio::time::timeout(
                FETCH_TIMEOUT,
                fetch(&book, &handle, dest, &req),
            )
            .await
            {
                Ok(o) => o,
                Err(_) => FetchOutcome::Failed {
                    reason: "timed out".into(),
                },
            };
            if let FetchOutcome::Failed { reason } = &outcome {
                debug!(target: "gousse::naming", url = %req.url, "feed fetch failed: {reason}");
            }
            let Ok(mut b) = book.lock() else { return };
            match b.apply_fetch(&req.url, now_ms(), outcome) {
                Ok(Some(r)) => {
                    info!(target: "gousse::naming", url = %req.url, added = r.added, conflicting = r.conflicting, invalid = r.invalid, "feed imported")
                }
                Ok(None) => {}
                Err(e) => warn!(target: "gousse::naming", url = %req.url, "{e}"),
            }
        }
    })
}

/// One feed fetch: HTTP/1.1 GET over an I2P stream, with the cache validators.
async fn fetch(
    book: &SharedBook,
    handle: &RouterHandle,
    dest: u32,
    req: &FetchRequest,
) -> FetchOutcome {
    let failed = |reason: String| FetchOutcome::Failed { reason };
    let Some(rest) = req.url.strip_prefix("http://") else {
        return failed("not an http:// URL".into());
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => match p.parse::<u16>() {
            Ok(p) => (h, p),
            Err(_) => return failed(format!("bad port in {}", req.url)),
        },
        None => (authority, 80),
    };
    let remote = match resolve_hash(book, &host.to_ascii_lowercase()) {
        Ok(h) => h,
        Err(e) => return failed(e),
    };
    let mut stream = match handle.connect_stream(dest, remote, port).await {
        Ok(s) => s,
        Err(e) => return failed(e.to_string()),
    };
    let mut request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Wget/1.11.4\r\nAccept-Encoding: identity\r\nConnection: close\r\n"
    );
    if let Some(etag) = &req.if_none_match {
        request.push_str(&format!("If-None-Match: {etag}\r\n"));
    }
    if let Some(lm) = &req.if_modified_since {
        request.push_str(&format!("If-Modified-Since: {lm}\r\n"));
    }
    request.push_str("\r\n");
    if let Err(e) = stream.write_all(request.as_bytes()).await {
        return failed(e.to_string());
    }
    let mut response = Vec::new();
    let limit = gousse_addressbook::hosts_txt::MAX_BODY_LEN + MAX_HEAD;
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        match stream.read(&mut chunk).await {
            Ok(0) => break,
            Ok(n) => {
                response.extend_from_slice(&chunk[..n]);
                if response.len() > limit {
                    return failed("feed too large".into());
                }
            }
            Err(e) => return failed(e.to_string()),
        }
    }
    parse_response(&response)
}

/// A feed's HTTP response: 200 with its body and validators, 304, or a failure.
fn parse_response(response: &[u8]) -> FetchOutcome {
    let failed = |reason: String| FetchOutcome::Failed { reason };
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Response::new(&mut headers);
    let body_at = match parsed.parse(response) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return failed("incomplete response head".into()),
        Err(e) => return failed(format!("bad response head: {e}")),
    };
    let header = |name: &str| {
        parsed
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .and_then(|h| std::str::from_utf8(h.value).ok())
            .map(str::to_owned)
    };
    match parsed.code {
        Some(304) => FetchOutcome::NotModified,
        Some(200) => {
            if header("Transfer-Encoding")
                .is_some_and(|t| t.to_ascii_lowercase().contains("chunked"))
            {
                return failed("chunked responses are not supported".into());
            }
            FetchOutcome::Body {
                body: response.get(body_at..).unwrap_or_default().to_vec(),
                etag: header("ETag"),
                last_modified: header("Last-Modified"),
            }
        }
        Some(code) => failed(format!("HTTP status {code}")),
        None => failed("no status".into()),
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn feed_responses() {
        let ok = b"HTTP/1.1 200 OK\r\nETag: \"x1\"\r\nLast-Modified: Tue, 01 Dec 2026 00:00:00 GMT\r\n\r\nname.i2p=AAAA\n";
        match parse_response(ok) {
            FetchOutcome::Body {
                body,
                etag,
                last_modified,
            } => {
                assert_eq!(body, b"name.i2p=AAAA\n");
                assert_eq!(etag.as_deref(), Some("\"x1\""));
                assert!(last_modified.is_some());
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_response(b"HTTP/1.1 304 Not Modified\r\n\r\n"),
            FetchOutcome::NotModified
        ));
        for bad in [
            &b"HTTP/1.1 404 Not Found\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            b"garbage",
            b"HTTP/1.1 200 OK\r\n",
        ] {
            assert!(matches!(parse_response(bad), FetchOutcome::Failed { .. }));
        }
    }

    #[test]
    fn names_resolve_from_the_book() {
        let book: SharedBook = Arc::new(Mutex::new(AddressBook::open_in_memory().unwrap()));
        let keys = i2p_wire::DestinationKeys::generate();
        let dest = keys.destination();
        book.lock()
            .unwrap()
            .add("site.i2p", &i2p_wire::Writeable::to_bytes(dest), "test", 0)
            .unwrap();
        assert_eq!(resolve_hash(&book, "site.i2p"), Ok(dest.hash()));
        assert_eq!(resolve_hash(&book, &dest.b32_address()), Ok(dest.hash()));
        assert!(resolve_hash(&book, "other.i2p")
            .unwrap_err()
            .contains("not in the address book"));
        // What a person does in the console.
        let other = i2p_wire::DestinationKeys::generate();
        let (name, b32, source) =
            add_by_user(&book, "Other.i2p", &other.destination().to_base64()).unwrap();
        assert_eq!((name.as_str(), source.as_str()), ("other.i2p", "user"));
        assert_eq!(b32, other.destination().b32_address());
        let from_key_file = i2p_wire::base64::encode(&other.to_bytes());
        assert!(add_by_user(&book, "other.i2p", &from_key_file)
            .unwrap_err()
            .contains("already"));
        assert!(
            add_by_user(&book, "site.i2p", &other.destination().to_base64())
                .unwrap_err()
                .contains("another destination")
        );
        assert!(add_by_user(&book, "x.i2p", "not base64!").is_err());
        assert!(add_by_user(&book, "bad name", &other.destination().to_base64()).is_err());
        assert_eq!(search(&book, "i2p", 10).unwrap().len(), 2);
        assert_eq!(search(&book, "oth", 10).unwrap()[0].0, "other.i2p");
    }
}
