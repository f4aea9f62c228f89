//! The address book pages and API as a client sees them: a real socket on port 0,
//! fake hooks over an in-memory list.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gousse_console::{
    Console, HostEntry, HostsAdd, HostsSearch, StatusSource, MAX_HOSTS_BODY_BYTES, MAX_HOSTS_LIMIT,
};
use gousse_router::Status;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The fake address book, and what its hooks were called with.
#[derive(Default)]
struct Book {
    entries: Vec<HostEntry>,
    /// `(query, limit)` of each search.
    searches: Vec<(String, usize)>,
    /// `(name, destination)` of each add, refused or not.
    adds: Vec<(String, String)>,
}

fn entry(name: &str, source: &str) -> HostEntry {
    HostEntry {
        name: name.into(),
        b32: fake_b32(name),
        source: source.into(),
    }
}

/// A made-up but well-formed b32 host for a name.
fn fake_b32(seed: &str) -> String {
    let letters: String = seed
        .bytes()
        .filter(u8::is_ascii_lowercase)
        .map(char::from)
        .collect();
    format!(
        "{:a<52}.b32.i2p",
        letters.chars().take(52).collect::<String>()
    )
}

/// The router side's checks, much simplified: names end in `.i2p`, use letters,
/// digits, dots and dashes, and are new; destinations are at least 16 Base 64
/// characters. Error strings quote what they refuse, as a real router might.
fn fake_add(book: &Mutex<Book>, name: String, destination: String) -> Result<HostEntry, String> {
    let mut book = book.lock().unwrap();
    book.adds.push((name.clone(), destination.clone()));
    let name_ok = name.ends_with(".i2p")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    if !name_ok {
        return Err(format!("invalid host name {name:?}"));
    }
    if book.entries.iter().any(|e| e.name == name) {
        return Err(format!("{name} is already in the address book"));
    }
    let dest_ok = destination.len() >= 16
        && destination
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'~' || b == b'=');
    if !dest_ok {
        return Err("invalid destination: not I2P Base 64".into());
    }
    let added = HostEntry {
        name: name.clone(),
        b32: fake_b32(&destination.to_ascii_lowercase()),
        source: "console".into(),
    };
    book.entries.push(added.clone());
    Ok(added)
}

struct Running {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), gousse_console::ConsoleError>>,
    book: Arc<Mutex<Book>>,
}

async fn start(entries: Vec<HostEntry>) -> Running {
    start_with(Some(entries)).await
}

async fn start_with(entries: Option<Vec<HostEntry>>) -> Running {
    let source: StatusSource = Arc::new(Status::default);
    let mut console = Console::bind(SocketAddr::from(([127, 0, 0, 1], 0)), source)
        .await
        .unwrap();
    let book = Arc::new(Mutex::new(Book::default()));
    if let Some(entries) = entries {
        book.lock().unwrap().entries = entries;
        let searched = Arc::clone(&book);
        let search: HostsSearch = Arc::new(move |q: String, limit: usize| {
            let mut book = searched.lock().unwrap();
            book.searches.push((q.clone(), limit));
            if q == "fail" {
                return Err("the database is <locked>".into());
            }
            Ok(book
                .entries
                .iter()
                .filter(|e| e.name.contains(&q))
                .take(limit)
                .cloned()
                .collect())
        });
        let added = Arc::clone(&book);
        let add: HostsAdd = Arc::new(move |name, destination| fake_add(&added, name, destination));
        console = console.with_hosts(search, add);
    }
    let addr = console.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(console.run(async {
        let _ = stopped.await;
    }));
    Running {
        addr,
        stop: Some(stop),
        task,
        book,
    }
}

impl Running {
    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("console stops promptly")
            .unwrap()
            .unwrap();
    }

    fn names(&self) -> Vec<String> {
        let book = self.book.lock().unwrap();
        book.entries.iter().map(|e| e.name.clone()).collect()
    }

    fn add_calls(&self) -> usize {
        self.book.lock().unwrap().adds.len()
    }
}

/// Sends raw bytes, half-closes, reads everything the server answers.
async fn exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let _ = stream.write_all(request).await;
    let _ = stream.shutdown().await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("server answers or closes within 10 s");
    let _ = read;
    String::from_utf8_lossy(&answer).into_owned()
}

/// (status code, head in lower case, body)
fn split(answer: &str) -> (u16, String, String) {
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((answer, ""));
    let code = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, head.to_ascii_lowercase(), body.to_owned())
}

async fn get(addr: SocketAddr, path: &str) -> (u16, String, String) {
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    split(&exchange(addr, req.as_bytes()).await)
}

/// A POST with the given header lines (each ending in CRLF) and body.
async fn post(addr: SocketAddr, path: &str, headers: &str, body: &[u8]) -> (u16, String, String) {
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    split(&exchange(addr, &req).await)
}

/// The form as the console's own page sends it.
async fn post_form(addr: SocketAddr, body: &str) -> (u16, String, String) {
    let headers =
        format!("Origin: http://{addr}\r\nContent-Type: application/x-www-form-urlencoded\r\n");
    post(addr, "/hosts", &headers, body.as_bytes()).await
}

async fn post_json(addr: SocketAddr, body: &str) -> (u16, serde_json::Value) {
    let (code, _, body) = post(
        addr,
        "/api/hosts",
        "Content-Type: application/json\r\n",
        body.as_bytes(),
    )
    .await;
    (
        code,
        serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
    )
}

const DEST: &str = "AbCdEfGhIjKlMnOp~-QrStUvWxYz0123456789==";

fn sample() -> Vec<HostEntry> {
    vec![
        entry("stats.i2p", "http://i2p-projekt.i2p/hosts.txt"),
        entry("stats-backup.i2p", "http://stats.i2p/cgi-bin/newhosts.txt"),
        entry("forum.i2p", "http://i2p-projekt.i2p/hosts.txt"),
    ]
}

#[tokio::test]
async fn search_page_lists_matching_names() {
    let console = start(sample()).await;
    let (code, head, body) = get(console.addr, "/hosts?q=stats").await;
    assert_eq!(code, 200, "{head}");
    assert!(head.contains("content-type: text/html"), "{head}");
    assert!(head.contains("form-action 'self'"), "{head}");
    assert!(head.contains("referrer-policy: same-origin"), "{head}");
    assert!(body.contains("<td>stats.i2p</td>"));
    assert!(body.contains("<td>stats-backup.i2p</td>"));
    assert!(!body.contains("forum.i2p"));
    let b32 = fake_b32("stats.i2p");
    assert!(
        body.contains(&format!("<a href=\"http://{b32}/\"")),
        "{body}"
    );
    assert!(body.contains("<td>http://stats.i2p/cgi-bin/newhosts.txt</td>"));
    assert!(
        body.contains(r#"value="stats""#),
        "the search is kept in the box"
    );
    // The page asks for one more than it shows, to know whether to say "and more".
    assert_eq!(
        console.book.lock().unwrap().searches,
        vec![("stats".to_owned(), gousse_console::HOSTS_PAGE_ROWS + 1)]
    );

    // Encoded search text, trimmed; no query lists everything.
    let (code, _, body) = get(console.addr, "/hosts?q=+for%75m+").await;
    assert_eq!(code, 200);
    assert!(body.contains("<td>forum.i2p</td>") && !body.contains("<td>stats.i2p</td>"));
    let (_, _, body) = get(console.addr, "/hosts").await;
    assert_eq!(body.matches("<tr><td>").count(), 3);
    let (_, _, body) = get(console.addr, "/hosts?q=nothing-like-it").await;
    assert!(body.contains("No name contains"), "{body}");

    // The status page links the address book.
    let (_, _, status_page) = get(console.addr, "/").await;
    assert!(status_page.contains(r#"<a href="/hosts">Address book</a>"#));
    console.stop().await;
}

#[tokio::test]
async fn long_result_lists_are_cut_at_200() {
    let many = (0..250)
        .map(|i| entry(&format!("site{i:03}.i2p"), "feed"))
        .collect();
    let console = start(many).await;
    let (code, _, body) = get(console.addr, "/hosts?q=site").await;
    assert_eq!(code, 200);
    assert_eq!(body.matches("<tr><td>").count(), 200);
    assert!(body.contains("Only the first 200 names are shown"));
    console.stop().await;
}

#[tokio::test]
async fn add_through_the_form() {
    let console = start(sample()).await;
    // A browser encodes `~` and `=`; the name has spaces around it.
    let (code, head, body) = post_form(
        console.addr,
        "name=+new.i2p+&destination=AbCdEfGhIjKlMnOp%7E-QrStUvWxYz0123456789%3D%3D%0D%0A",
    )
    .await;
    assert_eq!(code, 200, "{head}\n{body}");
    assert!(head.contains("content-type: text/html"), "{head}");
    assert!(body.contains("Added <b>new.i2p</b>"), "{body}");
    let b32 = fake_b32(&DEST.to_ascii_lowercase());
    assert!(body.contains(&format!("href=\"http://{b32}/\"")), "{body}");
    // The router got the decoded, trimmed values.
    assert_eq!(
        console.book.lock().unwrap().adds,
        vec![("new.i2p".to_owned(), DEST.to_owned())]
    );
    // And the name is found afterwards.
    let (_, _, body) = get(console.addr, "/hosts?q=new").await;
    assert!(body.contains("<td>new.i2p</td>"));
    assert!(body.contains("<td>console</td>"));
    console.stop().await;
}

#[tokio::test]
async fn refused_add_shows_the_escaped_message_and_keeps_the_form() {
    let console = start(sample()).await;
    let (code, _, body) = post_form(
        console.addr,
        "name=%3Cscript%3Ealert(1)%3C%2Fscript%3E.i2p&destination=%3C%2Ftextarea%3E%3Cb%3Ex",
    )
    .await;
    assert_eq!(code, 400);
    assert!(!body.contains("<script"), "{body}");
    assert!(!body.contains("<b>x"), "{body}");
    // The router's message, escaped.
    assert!(
        body.contains(
            "Not added: invalid host name &quot;&lt;script&gt;alert(1)&lt;/script&gt;.i2p&quot;"
        ),
        "{body}"
    );
    // The form is filled again, escaped, so the user can correct it.
    assert!(body.contains(r#"value="&lt;script&gt;alert(1)&lt;/script&gt;.i2p""#));
    assert!(body.contains("&lt;/textarea&gt;&lt;b&gt;x</textarea>"));

    // A duplicate is refused with the router's words.
    let (code, _, body) =
        post_form(console.addr, &format!("name=stats.i2p&destination={DEST}")).await;
    assert_eq!(code, 400);
    assert!(body.contains("Not added: stats.i2p is already in the address book"));
    assert_eq!(console.names().len(), 3, "nothing added");

    // Empty fields are refused before the router is asked.
    let calls = console.add_calls();
    let (code, _, body) = post_form(console.addr, "name=&destination=+").await;
    assert_eq!(code, 400);
    assert!(body.contains("enter both a name and a destination"));
    assert_eq!(console.add_calls(), calls);
    console.stop().await;
}

#[tokio::test]
async fn hostile_names_in_results_are_escaped() {
    let hostile = HostEntry {
        name: "<img src=x onerror=alert(1)>.i2p".into(),
        b32: "\"><script>alert(2)</script>".into(),
        source: "<iframe src=//evil>".into(),
    };
    let console = start(vec![hostile]).await;
    let (code, _, body) = get(console.addr, "/hosts?q=%3Cimg").await;
    assert_eq!(code, 200);
    for raw in ["<img", "<script", "<iframe", "alert(1)>"] {
        assert!(!body.contains(raw), "{raw} unescaped in {body}");
    }
    assert!(body.contains("<td>&lt;img src=x onerror=alert(1)&gt;.i2p</td>"));
    assert!(body.contains("<td>&lt;iframe src=//evil&gt;</td>"));
    assert!(body.contains("<code>&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;</code>"));
    assert!(
        !body.contains("href=\"http://&quot;"),
        "a b32 that is no host is not linked"
    );
    assert!(
        body.contains(r#"value="&lt;img""#),
        "the query is escaped too"
    );
    console.stop().await;
}

#[tokio::test]
async fn oversized_and_malformed_forms_are_refused() {
    let console = start(sample()).await;
    let form = "Origin: http://ADDR\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        .replace("ADDR", &console.addr.to_string());

    // Declared too large: refused before reading.
    let big = format!(
        "name=a.i2p&destination={}",
        "A".repeat(MAX_HOSTS_BODY_BYTES)
    );
    let (code, _, body) = post(console.addr, "/hosts", &form, big.as_bytes()).await;
    assert_eq!(code, 413);
    assert!(body.contains("at most 8192 bytes"), "{body}");

    // Sent too large without a length (chunked).
    let mut chunked = format!(
        "POST /hosts HTTP/1.1\r\nHost: {}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n{form}\r\n",
        console.addr
    )
    .into_bytes();
    for _ in 0..3 {
        chunked.extend_from_slice(format!("1000\r\n{}\r\n", "A".repeat(0x1000)).as_bytes());
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let (code, _, _) = split(&exchange(console.addr, &chunked).await);
    assert_eq!(code, 413);

    // Just under the bound is read.
    let fits = format!(
        "name=a.i2p&destination={}",
        "A".repeat(MAX_HOSTS_BODY_BYTES - "name=a.i2p&destination=".len())
    );
    assert_eq!(fits.len(), MAX_HOSTS_BODY_BYTES);
    let (code, _, body) = post(console.addr, "/hosts", &form, fits.as_bytes()).await;
    assert_eq!(code, 200, "{body}");

    let calls = console.add_calls();
    for bad in [
        &b"name=%zz.i2p&destination=AAAA"[..],
        b"name=a.i2p&destination=%",
        b"name=a.i2p",
        b"destination=AAAA",
        b"name=a.i2p&name=b.i2p&destination=AAAA",
        b"name=%FF&destination=AAAA",
        b"name=\xff\xfe&destination=AAAA",
        b"\x00\x01\x02",
    ] {
        let (code, _, body) = post(console.addr, "/hosts", &form, bad).await;
        assert_eq!(code, 400, "{bad:?}");
        assert!(body.contains("Not added:"), "{body}");
    }
    assert_eq!(console.add_calls(), calls, "the router was never asked");

    // A form post of another type.
    let json = format!(
        "Origin: http://{}\r\nContent-Type: application/json\r\n",
        console.addr
    );
    let (code, _, _) = post(console.addr, "/hosts", &json, b"{}").await;
    assert_eq!(code, 415);
    console.stop().await;
}

#[tokio::test]
async fn cross_origin_form_posts_are_refused() {
    let console = start(sample()).await;
    let body = format!("name=csrf.i2p&destination={DEST}");
    let addr = console.addr;
    let form_type = "Content-Type: application/x-www-form-urlencoded\r\n";
    for origin in [
        "Origin: http://evil.example\r\n".to_owned(),
        "Origin: null\r\n".to_owned(),
        format!(
            "Origin: http://127.0.0.1:{}\r\n",
            addr.port().wrapping_add(1)
        ),
        format!("Origin: http://{addr}.evil.example\r\n"),
        "Referer: http://evil.example/page\r\n".to_owned(),
        // Origin wins over a matching Referer.
        format!("Origin: http://evil.example\r\nReferer: http://{addr}/hosts\r\n"),
        // Neither header: refused too.
        String::new(),
    ] {
        let (code, _, answer) = post(
            addr,
            "/hosts",
            &format!("{origin}{form_type}"),
            body.as_bytes(),
        )
        .await;
        assert_eq!(code, 403, "{origin:?}");
        assert!(answer.contains("console's own page"), "{answer}");
    }
    assert_eq!(console.add_calls(), 0);
    assert!(!console.names().contains(&"csrf.i2p".to_owned()));

    // A browser that sends only Referer, from the console's page, is served.
    let headers = format!("Referer: http://{addr}/hosts?q=x\r\n{form_type}");
    let (code, _, _) = post(addr, "/hosts", &headers, body.as_bytes()).await;
    assert_eq!(code, 200);
    assert!(console.names().contains(&"csrf.i2p".to_owned()));
    console.stop().await;
}

#[tokio::test]
async fn json_search() {
    let console = start(sample()).await;
    let (code, head, body) = get(console.addr, "/api/hosts?q=stats").await;
    assert_eq!(code, 200);
    assert!(head.contains("content-type: application/json"), "{head}");
    let found: Vec<HostEntry> = serde_json::from_str(&body).unwrap();
    assert_eq!(found, sample()[..2].to_vec());
    // The field names are part of the API.
    let raw: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(raw[0]["name"], "stats.i2p");
    assert_eq!(raw[0]["b32"], fake_b32("stats.i2p"));
    assert_eq!(raw[0]["source"], "http://i2p-projekt.i2p/hosts.txt");

    let (_, _, body) = get(console.addr, "/api/hosts?limit=1").await;
    let found: Vec<HostEntry> = serde_json::from_str(&body).unwrap();
    assert_eq!(found, sample()[..1].to_vec());
    let (_, _, body) = get(console.addr, "/api/hosts?q=zzz").await;
    assert_eq!(body, "[]");
    // Limits: 200 by default, never above the maximum.
    get(console.addr, "/api/hosts").await;
    get(console.addr, "/api/hosts?limit=99999999").await;
    let searches = console.book.lock().unwrap().searches.clone();
    assert_eq!(searches[3], (String::new(), 200));
    assert_eq!(searches[4], (String::new(), MAX_HOSTS_LIMIT));

    for bad in [
        "/api/hosts?limit=-1",
        "/api/hosts?limit=x",
        "/api/hosts?q=%G0",
    ] {
        let (code, _, body) = get(console.addr, bad).await;
        assert_eq!(code, 400, "{bad}");
        let err: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert!(err["error"].is_string(), "{body}");
    }
    // A failing search is reported, on the page escaped.
    let (code, _, body) = get(console.addr, "/api/hosts?q=fail").await;
    assert_eq!(code, 500);
    assert!(body.contains("the database is <locked>"), "{body}");
    let (code, _, body) = get(console.addr, "/hosts?q=fail").await;
    assert_eq!(code, 500);
    assert!(body.contains("The search failed: the database is &lt;locked&gt;"));
    console.stop().await;
}

#[tokio::test]
async fn json_add() {
    let console = start(sample()).await;
    let (code, json) = post_json(
        console.addr,
        &format!(r#"{{"name": "api.i2p", "destination": "{DEST}"}}"#),
    )
    .await;
    assert_eq!(code, 200, "{json}");
    let added: HostEntry = serde_json::from_value(json).unwrap();
    assert_eq!(added.name, "api.i2p");
    assert_eq!(added.source, "console");
    assert!(console.names().contains(&"api.i2p".to_owned()));

    // Refused by the router: its message, as JSON.
    let (code, json) = post_json(
        console.addr,
        &format!(r#"{{"name": "api.i2p", "destination": "{DEST}"}}"#),
    )
    .await;
    assert_eq!(code, 400);
    assert_eq!(json["error"], "api.i2p is already in the address book");

    let calls = console.add_calls();
    for bad in [
        "",
        "not json",
        r#"{"name": "x.i2p"}"#,
        r#"{"name": 5, "destination": "AAAA"}"#,
        r#"{"name": "x.i2p", "destination": "AAAA", "extra": 1}"#,
        r#"["x.i2p", "AAAA"]"#,
    ] {
        let (code, json) = post_json(console.addr, bad).await;
        assert_eq!(code, 400, "{bad}");
        assert!(json["error"].is_string(), "{bad}: {json}");
    }
    assert_eq!(
        console.add_calls(),
        calls,
        "malformed bodies never reach the router"
    );

    // Same refusals as POST /api/transit.
    let body = format!(r#"{{"name": "b.i2p", "destination": "{DEST}"}}"#);
    let (code, _, _) = post(
        console.addr,
        "/api/hosts",
        "Content-Type: text/plain\r\n",
        body.as_bytes(),
    )
    .await;
    assert_eq!(code, 415);
    let (code, _, _) = post(
        console.addr,
        "/api/hosts",
        "Origin: http://evil.example\r\nContent-Type: application/json\r\n",
        body.as_bytes(),
    )
    .await;
    assert_eq!(code, 403);
    let big = format!(
        r#"{{"name": "b.i2p", "destination": "{}"}}"#,
        "A".repeat(9000)
    );
    let (code, json) = post_json(console.addr, &big).await;
    assert_eq!(code, 413);
    assert!(json["error"].is_string());
    assert!(!console.names().contains(&"b.i2p".to_owned()));
    console.stop().await;
}

#[tokio::test]
async fn without_hooks_the_address_book_is_absent() {
    let console = start_with(None).await;
    let (code, _, body) = get(console.addr, "/hosts").await;
    assert_eq!(code, 404);
    assert!(body.contains("no address book"), "{body}");
    let (code, _, body) = get(console.addr, "/api/hosts?q=x").await;
    assert_eq!(code, 404);
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["error"], "this console has no address book");
    let (code, _, _) = post_form(console.addr, "name=a.i2p&destination=AAAA").await;
    assert_eq!(code, 404);
    let (_, _, page) = get(console.addr, "/").await;
    assert!(!page.contains("/hosts"), "no link to a missing page");
    console.stop().await;
}

#[tokio::test]
async fn other_methods_are_refused() {
    let console = start(sample()).await;
    for path in ["/hosts", "/api/hosts"] {
        let (code, head, _) = post(console.addr, path, "", b"").await;
        assert_ne!(code, 405, "POST is allowed on {path}: {head}");
        let req = format!(
            "DELETE {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            console.addr
        );
        let (code, head, _) = split(&exchange(console.addr, req.as_bytes()).await);
        assert_eq!(code, 405, "{path}");
        assert!(head.contains("allow: get, head, post"), "{head}");
    }
    assert_eq!(get(console.addr, "/hosts/extra").await.0, 404);
    console.stop().await;
}
