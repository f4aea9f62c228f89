//! The address book: `GET`/`POST /hosts` (an HTML page with a search box and a form
//! to add a name) and `GET`/`POST /api/hosts` (the same as JSON).
//!
//! The console holds no address book: it searches and adds through two hooks the
//! binary gives it ([`HostsSearch`], [`HostsAdd`]); the router side validates names
//! and destinations, and its error strings are shown to the user as they are
//! (escaped).

use std::fmt::Write as _;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Request, Response, StatusCode};

use crate::form::{self, FormError};
use crate::page::{escape, nav, Here, STYLE};
use crate::server::{
    has_media_type, json_error, read_body, read_json_post, same_origin, with_type, BodyError,
};

/// One name of the address book, as the console shows it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HostEntry {
    /// The host name, e.g. `example.i2p`.
    pub name: String,
    /// The destination's Base 32 host, `<52 characters>.b32.i2p`.
    pub b32: String,
    /// Where the name came from (a subscription URL, `console`, ...).
    pub source: String,
}

/// Searches the address book: every entry whose name contains the string (the
/// router decides about case), at most `limit` of them. May block briefly (it runs on
/// a blocking thread); the error string is shown to the user.
pub type HostsSearch = Arc<dyn Fn(String, usize) -> Result<Vec<HostEntry>, String> + Send + Sync>;

/// Adds a name to the address book: `(name, destination)`, the destination as the
/// full Base 64 destination or the destination part of a private key file, as the
/// user pasted it (trimmed). The router validates both; its error string is shown to
/// the user. May block briefly (it runs on a blocking thread).
pub type HostsAdd = Arc<dyn Fn(String, String) -> Result<HostEntry, String> + Send + Sync>;

/// Largest request body `POST /hosts` and `POST /api/hosts` accept, in bytes.
pub const MAX_HOSTS_BODY_BYTES: usize = 8 * 1024;
/// Most names the `/hosts` page shows; also the default `limit` of `GET /api/hosts`.
pub const HOSTS_PAGE_ROWS: usize = 200;
/// Highest `limit` of `GET /api/hosts`; larger values are lowered to it.
pub const MAX_HOSTS_LIMIT: usize = 1000;
/// Longest search string, in characters.
pub const MAX_QUERY_CHARS: usize = 256;

/// The two hooks, as the server holds them.
#[derive(Clone)]
pub(crate) struct Hosts {
    pub(crate) search: HostsSearch,
    pub(crate) add: HostsAdd,
}

type Resp = Response<Full<Bytes>>;

/// What `/hosts` and `/api/hosts` answer when the console was built without hooks.
pub(crate) fn unavailable(api: bool) -> Resp {
    const WHY: &str = "this console has no address book";
    if api {
        json_error(StatusCode::NOT_FOUND, WHY)
    } else {
        with_type(
            StatusCode::NOT_FOUND,
            format!("404 {WHY}\n").into_bytes(),
            "text/plain; charset=utf-8",
        )
    }
}

/// The query of `GET /hosts` and `GET /api/hosts`.
#[derive(Debug, PartialEq, Eq)]
struct HostsQuery {
    /// The search string, trimmed; empty lists every name.
    q: String,
    /// `limit`, if given.
    limit: Option<usize>,
}

impl HostsQuery {
    /// Parses `q=...&limit=N`; other keys are ignored.
    fn parse(query: Option<&str>) -> Result<Self, String> {
        let fields = form::parse_form(query.unwrap_or("").as_bytes())
            .map_err(|err| format!("bad query string: {err}"))?;
        let q = form::field(&fields, "q")
            .map_err(|err| format!("bad query string: {err}"))?
            .unwrap_or("")
            .trim();
        if q.chars().count() > MAX_QUERY_CHARS {
            return Err(format!(
                "the search text must be at most {MAX_QUERY_CHARS} characters"
            ));
        }
        let limit = match form::field(&fields, "limit")
            .map_err(|err| format!("bad query string: {err}"))?
        {
            None => None,
            Some(text) => Some(
                text.trim()
                    .parse::<usize>()
                    .map_err(|_| "`limit` must be a whole number".to_owned())?,
            ),
        };
        Ok(HostsQuery {
            q: q.to_owned(),
            limit,
        })
    }
}

/// Runs the search hook on a blocking thread; a panic in it becomes an error.
async fn search(hosts: &Hosts, q: String, limit: usize) -> Result<Vec<HostEntry>, String> {
    let hook = Arc::clone(&hosts.search);
    match tokio::task::spawn_blocking(move || hook(q, limit)).await {
        Ok(mut found) => {
            if let Ok(entries) = &mut found {
                entries.truncate(limit);
            }
            found
        }
        Err(err) => {
            tracing::warn!(target: "gousse::console", "address book search failed: {err}");
            Err("internal error while searching".to_owned())
        }
    }
}

/// Runs the add hook on a blocking thread; a panic in it becomes an error.
async fn add(hosts: &Hosts, name: String, destination: String) -> Result<HostEntry, String> {
    let hook = Arc::clone(&hosts.add);
    match tokio::task::spawn_blocking(move || hook(name, destination)).await {
        Ok(added) => added,
        Err(err) => {
            tracing::warn!(target: "gousse::console", "address book add failed: {err}");
            Err("internal error while adding".to_owned())
        }
    }
}

/// `GET /hosts?q=...`: the page with the names matching `q`.
pub(crate) async fn get_page(req: &Request<Incoming>, hosts: &Hosts) -> Resp {
    let query = match HostsQuery::parse(req.uri().query()) {
        Ok(query) => query,
        Err(msg) => {
            return page(
                StatusCode::BAD_REQUEST,
                &HostsView {
                    notice: Some(Notice::Error(&msg)),
                    ..HostsView::default()
                },
            )
        }
    };
    // One more than shown, to know whether there are more.
    let found = search(hosts, query.q.clone(), HOSTS_PAGE_ROWS + 1).await;
    match &found {
        Ok(entries) => page(
            StatusCode::OK,
            &HostsView {
                query: &query.q,
                listing: Listing::Entries(entries),
                ..HostsView::default()
            },
        ),
        Err(msg) => {
            let msg = format!("The search failed: {msg}");
            page(
                StatusCode::INTERNAL_SERVER_ERROR,
                &HostsView {
                    query: &query.q,
                    notice: Some(Notice::Error(&msg)),
                    ..HostsView::default()
                },
            )
        }
    }
}

/// `POST /hosts`, from the page's form: adds the name and answers the page again with
/// what happened.
pub(crate) async fn post_form(req: Request<Incoming>, hosts: &Hosts) -> Resp {
    if !same_origin(&req) {
        return with_type(
            StatusCode::FORBIDDEN,
            b"403 the form must be sent from the console's own page (Origin or Referer)\n".to_vec(),
            "text/plain; charset=utf-8",
        );
    }
    if !has_media_type(&req, "application/x-www-form-urlencoded") {
        return with_type(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            b"415 Content-Type must be application/x-www-form-urlencoded\n".to_vec(),
            "text/plain; charset=utf-8",
        );
    }
    let refused = |code: StatusCode, msg: &str| {
        page(
            code,
            &HostsView {
                notice: Some(Notice::Error(&format!("Not added: {msg}."))),
                ..HostsView::default()
            },
        )
    };
    let body = match read_body(req, MAX_HOSTS_BODY_BYTES).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => {
            return refused(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("the form must be at most {MAX_HOSTS_BODY_BYTES} bytes"),
            )
        }
        Err(BodyError::Unreadable) => {
            return refused(StatusCode::BAD_REQUEST, "the form could not be read")
        }
    };
    let (name, destination) = match form_fields(&body) {
        Ok(pair) => pair,
        Err(msg) => return refused(StatusCode::BAD_REQUEST, &msg),
    };
    if name.is_empty() || destination.is_empty() {
        let msg = "Not added: enter both a name and a destination.";
        return page(
            StatusCode::BAD_REQUEST,
            &HostsView {
                notice: Some(Notice::Error(msg)),
                name: &name,
                destination: &destination,
                ..HostsView::default()
            },
        );
    }
    match add(hosts, name.clone(), destination.clone()).await {
        Ok(entry) => {
            tracing::info!(target: "gousse::console", name = %entry.name, "name added to the address book");
            page(
                StatusCode::OK,
                &HostsView {
                    query: &entry.name,
                    listing: Listing::Entries(std::slice::from_ref(&entry)),
                    notice: Some(Notice::Added(&entry)),
                    ..HostsView::default()
                },
            )
        }
        Err(err) => {
            let msg = format!("Not added: {err}");
            page(
                StatusCode::BAD_REQUEST,
                &HostsView {
                    notice: Some(Notice::Error(&msg)),
                    name: &name,
                    destination: &destination,
                    ..HostsView::default()
                },
            )
        }
    }
}

/// The `name` and `destination` fields of the form, trimmed.
fn form_fields(body: &[u8]) -> Result<(String, String), String> {
    let malformed = |err: FormError| format!("malformed form ({err})");
    let fields = form::parse_form(body).map_err(malformed)?;
    let name = form::field(&fields, "name").map_err(malformed)?;
    let destination = form::field(&fields, "destination").map_err(malformed)?;
    match (name, destination) {
        (Some(name), Some(destination)) => {
            Ok((name.trim().to_owned(), destination.trim().to_owned()))
        }
        _ => Err("the form needs the fields `name` and `destination`".to_owned()),
    }
}

/// `GET /api/hosts?q=...&limit=N`: a JSON array of [`HostEntry`].
pub(crate) async fn get_api(req: &Request<Incoming>, hosts: &Hosts) -> Resp {
    let query = match HostsQuery::parse(req.uri().query()) {
        Ok(query) => query,
        Err(msg) => return json_error(StatusCode::BAD_REQUEST, &msg),
    };
    let limit = query.limit.unwrap_or(HOSTS_PAGE_ROWS).min(MAX_HOSTS_LIMIT);
    match search(hosts, query.q, limit).await {
        Ok(entries) => json_ok(&entries),
        Err(msg) => json_error(StatusCode::INTERNAL_SERVER_ERROR, &msg),
    }
}

/// The body of `POST /api/hosts`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct AddRequest {
    name: String,
    destination: String,
}

impl AddRequest {
    /// Parses a JSON object with exactly the two string fields (serde alone would also
    /// take a two-element array).
    fn parse(body: &[u8]) -> Result<Self, String> {
        let value: serde_json::Value =
            serde_json::from_slice(body).map_err(|err| format!("invalid JSON: {err}"))?;
        if !value.is_object() {
            return Err("not a JSON object".to_owned());
        }
        serde_json::from_value(value).map_err(|err| err.to_string())
    }
}

/// `POST /api/hosts` with `{"name": ..., "destination": ...}`: the added entry, or
/// 400 `{"error": ...}`.
pub(crate) async fn post_api(req: Request<Incoming>, hosts: &Hosts) -> Resp {
    let body = match read_json_post(req, MAX_HOSTS_BODY_BYTES).await {
        Ok(body) => body,
        Err(resp) => return resp,
    };
    let request = match AddRequest::parse(&body) {
        Ok(request) => request,
        Err(err) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                &format!("expected {{\"name\": \"...\", \"destination\": \"...\"}}: {err}"),
            )
        }
    };
    let (name, destination) = (
        request.name.trim().to_owned(),
        request.destination.trim().to_owned(),
    );
    match add(hosts, name, destination).await {
        Ok(entry) => {
            tracing::info!(target: "gousse::console", name = %entry.name, "name added to the address book");
            json_ok(&entry)
        }
        Err(msg) => json_error(StatusCode::BAD_REQUEST, &msg),
    }
}

fn json_ok<T: serde::Serialize + ?Sized>(value: &T) -> Resp {
    match serde_json::to_vec(value) {
        Ok(json) => with_type(StatusCode::OK, json, "application/json"),
        Err(err) => {
            tracing::warn!(target: "gousse::console", "cannot encode hosts: {err}");
            json_error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

/// What happened, shown above the lists.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Notice<'a> {
    /// A name was added.
    Added(&'a HostEntry),
    /// Something was refused or failed; the whole sentence.
    Error(&'a str),
}

/// The names to list.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) enum Listing<'a> {
    /// No list (after a refused request).
    #[default]
    Nothing,
    /// The search results; more than [`HOSTS_PAGE_ROWS`] means "and more".
    Entries(&'a [HostEntry]),
}

/// Everything the `/hosts` page shows.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct HostsView<'a> {
    /// The search string, put back in the search box.
    pub(crate) query: &'a str,
    /// The names found.
    pub(crate) listing: Listing<'a>,
    /// The message at the top.
    pub(crate) notice: Option<Notice<'a>>,
    /// The add form's name, put back after a refusal.
    pub(crate) name: &'a str,
    /// The add form's destination, put back after a refusal.
    pub(crate) destination: &'a str,
}

/// The `/hosts` page as a response: forms may post only to the console itself, and
/// the referrer policy lets the browser send `Origin` for the console's own form.
fn page(code: StatusCode, view: &HostsView<'_>) -> Resp {
    let mut resp = with_type(
        code,
        render_hosts_page(view).into_bytes(),
        "text/html; charset=utf-8",
    );
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ),
    );
    // With `no-referrer`, a browser sends `Origin: null` even to the same origin.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    resp
}

/// Whether `b32` looks like an I2P host name, safe to put in an `http://` link.
fn linkable(b32: &str) -> bool {
    b32.len() <= 255
        && b32.ends_with(".i2p")
        && b32
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
}

/// A host as a link to `http://<b32>/` (through the user's HTTP proxy), or as text if
/// it does not look like a host name.
fn b32_link(b32: &str) -> String {
    let text = escape(b32);
    if linkable(b32) {
        format!(r#"<a href="http://{text}/" rel="noreferrer"><code>{text}</code></a>"#)
    } else {
        format!("<code>{text}</code>")
    }
}

/// Renders the address book page. Every value is escaped; the page has no scripts.
pub(crate) fn render_hosts_page(view: &HostsView<'_>) -> String {
    let mut out = String::with_capacity(8 * 1024);
    let notice = match view.notice {
        None => String::new(),
        Some(Notice::Added(entry)) => format!(
            "<p class=\"notice\">Added <b>{}</b> &rarr; {}</p>\n",
            escape(&entry.name),
            b32_link(&entry.b32)
        ),
        Some(Notice::Error(msg)) => format!("<p class=\"notice err\">{}</p>\n", escape(msg)),
    };
    let _ = write!(
        out,
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Gousse address book</title>
<style>{STYLE}</style>
</head>
<body>
<main>
<header>
<h1>Gousse</h1>
<span class="sub">address book</span>
{nav}
</header>
{notice}<section class="card">
<h2>Search</h2>
<form class="row" method="get" action="/hosts">
<input type="search" name="q" value="{query}" maxlength="{MAX_QUERY_CHARS}" placeholder="part of a name" aria-label="part of a name">
<button type="submit">Search</button>
</form>
"#,
        nav = nav(Here::Hosts, true),
        query = escape(view.query),
    );
    if let Listing::Entries(entries) = view.listing {
        listing(&mut out, view.query, entries);
    }
    let _ = write!(
        out,
        r#"</section>
<section class="card">
<h2>Add a name</h2>
<form class="stack" method="post" action="/hosts">
<label>Name <input name="name" value="{name}" placeholder="example.i2p" required></label>
<label>Destination (Base 64, or the destination part of a private key file)
<textarea name="destination" rows="5" required>{destination}</textarea></label>
<button type="submit">Add</button>
</form>
</section>
<footer>JSON: <a href="/api/hosts">/api/hosts</a></footer>
</main>
</body>
</html>
"#,
        name = escape(view.name),
        destination = escape(view.destination),
    );
    out
}

/// The table of names found (at most [`HOSTS_PAGE_ROWS`]).
fn listing(out: &mut String, query: &str, entries: &[HostEntry]) {
    if entries.is_empty() {
        if query.is_empty() {
            out.push_str("<p class=\"empty\">The address book is empty.</p>\n");
        } else {
            let _ = writeln!(
                out,
                "<p class=\"empty\">No name contains &ldquo;{}&rdquo;.</p>",
                escape(query)
            );
        }
        return;
    }
    out.push_str(
        "<div class=\"scroll\"><table class=\"list\">\n<tr><th>Name</th><th>Address</th><th>Source</th></tr>\n",
    );
    for entry in entries.iter().take(HOSTS_PAGE_ROWS) {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&entry.name),
            b32_link(&entry.b32),
            escape(&entry.source),
        );
    }
    out.push_str("</table></div>\n");
    if entries.len() > HOSTS_PAGE_ROWS {
        let _ = writeln!(
            out,
            "<p class=\"empty\">Only the first {HOSTS_PAGE_ROWS} names are shown; type more of the name to narrow the search.</p>"
        );
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn entry(name: &str, b32: &str, source: &str) -> HostEntry {
        HostEntry {
            name: name.into(),
            b32: b32.into(),
            source: source.into(),
        }
    }

    const B32: &str = "ukeu3k5oycgaauneqgtnvselmt4yemvoilkln7jpvamvfx7dnkdq.b32.i2p";

    #[test]
    fn query_parsing() {
        assert_eq!(
            HostsQuery::parse(None).unwrap(),
            HostsQuery {
                q: String::new(),
                limit: None
            }
        );
        assert_eq!(
            HostsQuery::parse(Some("q=+stats%2Ei2p+&limit=5&x=y")).unwrap(),
            HostsQuery {
                q: "stats.i2p".into(),
                limit: Some(5)
            }
        );
        for bad in ["q=%zz", "limit=-1", "limit=lots", "q=a&q=b", "q=%FF"] {
            assert!(HostsQuery::parse(Some(bad)).is_err(), "{bad}");
        }
        let long = format!("q={}", "a".repeat(MAX_QUERY_CHARS));
        assert!(HostsQuery::parse(Some(&long)).is_ok());
        let too_long = format!("q={}", "a".repeat(MAX_QUERY_CHARS + 1));
        let err = HostsQuery::parse(Some(&too_long)).unwrap_err();
        assert!(err.contains("at most 256"), "{err}");
    }

    #[test]
    fn form_needs_both_fields() {
        assert_eq!(
            form_fields(b"name=+a.i2p+&destination=%0AAAAA%0A").unwrap(),
            ("a.i2p".to_owned(), "AAAA".to_owned())
        );
        assert!(form_fields(b"name=a.i2p").is_err());
        assert!(form_fields(b"destination=AAAA").is_err());
        assert!(form_fields(b"name=a&name=b&destination=x").is_err());
        assert!(form_fields(b"name=%&destination=x").is_err());
    }

    #[test]
    fn page_lists_entries_with_links() {
        let entries = [entry("stats.i2p", B32, "http://i2p-projekt.i2p/hosts.txt")];
        let page = render_hosts_page(&HostsView {
            query: "stats",
            listing: Listing::Entries(&entries),
            ..HostsView::default()
        });
        assert!(page.contains("<td>stats.i2p</td>"));
        assert!(page.contains(&format!(r#"<a href="http://{B32}/""#)));
        assert!(page.contains("<td>http://i2p-projekt.i2p/hosts.txt</td>"));
        assert!(page.contains(r#"value="stats""#), "query kept in the box");
        assert!(page.contains(r#"<nav><a href="/">Status</a>"#));
        assert!(!page.contains("<script"));
    }

    #[test]
    fn hostile_values_are_escaped_and_not_linked() {
        let entries = [entry(
            "<script>alert(1)</script>.i2p",
            "\"><img src=x onerror=alert(1)>",
            "<b>feed</b>",
        )];
        let page = render_hosts_page(&HostsView {
            query: "\"><script>",
            listing: Listing::Entries(&entries),
            notice: Some(Notice::Error("bad <name> & \"quote\"")),
            name: "</textarea><script>",
            destination: "</textarea><i>",
        });
        for raw in [
            "<script",
            "<img",
            "<b>feed",
            "<i>",
            "alert(1)>",
            "value=\"\"><",
        ] {
            assert!(!page.contains(raw), "{raw} left unescaped");
        }
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;.i2p"));
        assert!(page.contains("<code>&quot;&gt;&lt;img src=x onerror=alert(1)&gt;</code>"));
        assert!(!page.contains("href=\"http://&quot;"), "not a link");
        assert!(page.contains("bad &lt;name&gt; &amp; &quot;quote&quot;"));
        assert!(page.contains("&lt;/textarea&gt;&lt;i&gt;</textarea>"));
    }

    #[test]
    fn only_host_names_become_links() {
        assert!(linkable(B32));
        assert!(linkable("short.i2p"));
        for bad in [
            "javascript:alert(1)//.i2p",
            "evil.com/x.i2p?",
            "UPPER.b32.i2p",
            "x.b32.i2p.evil.com",
            "",
        ] {
            assert!(!linkable(bad), "{bad}");
        }
    }

    #[test]
    fn long_results_are_cut() {
        let entries: Vec<HostEntry> = (0..=HOSTS_PAGE_ROWS)
            .map(|i| entry(&format!("host{i}.i2p"), B32, "feed"))
            .collect();
        let page = render_hosts_page(&HostsView {
            listing: Listing::Entries(&entries),
            ..HostsView::default()
        });
        assert_eq!(page.matches("<tr><td>").count(), HOSTS_PAGE_ROWS);
        assert!(page.contains("Only the first 200 names are shown"));
        assert!(!page.contains("host200.i2p"));
    }

    #[test]
    fn empty_results_say_so() {
        let page = render_hosts_page(&HostsView {
            query: "zz<",
            listing: Listing::Entries(&[]),
            ..HostsView::default()
        });
        assert!(page.contains("No name contains &ldquo;zz&lt;&rdquo;."));
        let page = render_hosts_page(&HostsView {
            listing: Listing::Entries(&[]),
            ..HostsView::default()
        });
        assert!(page.contains("The address book is empty."));
    }

    #[test]
    fn added_notice_links_the_new_name() {
        let added = entry("new.i2p", B32, "console");
        let page = render_hosts_page(&HostsView {
            notice: Some(Notice::Added(&added)),
            ..HostsView::default()
        });
        assert!(page.contains("Added <b>new.i2p</b>"));
        assert!(page.contains(&format!("href=\"http://{B32}/\"")));
    }
}
