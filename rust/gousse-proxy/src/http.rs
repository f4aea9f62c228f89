//! HTTP/1.x request and response heads for the client proxy, as pure functions over
//! bytes: parsing (bounded), the request target, the `i2paddresshelper` parameter
//! (naming.md, "Jump Services") and the header rewriting of i2ptunnel.md, "HTTP"
//! (client mode): identifying headers stripped, `User-Agent` replaced, hop-by-hop
//! headers removed, `Connection: close` forced.

/// Largest request head accepted (request line and headers), in bytes.
pub const MAX_HEAD_LEN: usize = 16 * 1024;

/// Most request headers accepted.
pub const MAX_HEADERS: usize = 64;

/// Largest response head the proxy rewrites; a larger one is passed through as is.
pub const MAX_RESPONSE_HEAD_LEN: usize = 64 * 1024;

/// Most response headers the proxy rewrites.
pub const MAX_RESPONSE_HEADERS: usize = 128;

/// i2ptunnel.md, "User Agent": "Internal I2P use: User-Agent: MYOB/6.66 (AN/ON)".
pub const I2P_USER_AGENT: &str = "MYOB/6.66 (AN/ON)";

/// i2ptunnel.md, "User Agent": through an outproxy, "the user agent from a recent
/// Firefox release on Windows".
pub const OUTPROXY_USER_AGENT: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0";

/// The query parameter a jump service appends (naming.md, "Jump Services").
pub const ADDRESS_HELPER_PARAM: &str = "i2paddresshelper";

/// The query parameter of our confirmation link (not sent to any site).
pub const CONFIRM_PARAM: &str = "i2paddresshelper_confirm";

/// Why a request head was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeadError {
    /// Longer than [`MAX_HEAD_LEN`].
    #[error("request head larger than {MAX_HEAD_LEN} bytes")]
    TooLarge,
    /// More than [`MAX_HEADERS`] headers.
    #[error("more than {MAX_HEADERS} request headers")]
    TooManyHeaders,
    /// Not HTTP/1.x syntax.
    #[error("malformed HTTP request: {0}")]
    Malformed(&'static str),
    /// A request target the proxy cannot use.
    #[error("bad request target: {0}")]
    BadTarget(&'static str),
}

/// One header as received: the name (as sent) and the raw value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The name, as sent.
    pub name: String,
    /// The value, raw (may hold obs-text bytes).
    pub value: Vec<u8>,
}

/// A parsed request head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestHead {
    /// The method, as sent (methods are case-sensitive).
    pub method: String,
    /// The request target, as sent.
    pub target: String,
    /// `1` for HTTP/1.1, `0` for HTTP/1.0.
    pub minor_version: u8,
    /// The headers in order.
    pub headers: Vec<Header>,
}

impl RequestHead {
    /// The first header named `name` (case-insensitive), as text if it is UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .and_then(|h| std::str::from_utf8(&h.value).ok())
    }
}

fn map_httparse(e: httparse::Error) -> HeadError {
    match e {
        httparse::Error::TooManyHeaders => HeadError::TooManyHeaders,
        httparse::Error::HeaderName => HeadError::Malformed("invalid header name"),
        httparse::Error::HeaderValue => HeadError::Malformed("invalid header value"),
        httparse::Error::NewLine => HeadError::Malformed("invalid line ending"),
        httparse::Error::Status => HeadError::Malformed("invalid status"),
        httparse::Error::Token => HeadError::Malformed("invalid method or token"),
        httparse::Error::Version => HeadError::Malformed("not HTTP/1.0 or HTTP/1.1"),
    }
}

/// Parses a request head from the start of `buf`. `Ok(None)`: incomplete, read more.
/// `Ok(Some((head, n)))`: the head took `n` bytes; what follows is body. Total and
/// bounded by [`MAX_HEAD_LEN`] and [`MAX_HEADERS`].
pub fn parse_request_head(buf: &[u8]) -> Result<Option<(RequestHead, usize)>, HeadError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let status = req.parse(buf).map_err(map_httparse)?;
    let len = match status {
        httparse::Status::Partial => {
            return if buf.len() >= MAX_HEAD_LEN {
                Err(HeadError::TooLarge)
            } else {
                Ok(None)
            };
        }
        httparse::Status::Complete(n) => n,
    };
    if len > MAX_HEAD_LEN {
        return Err(HeadError::TooLarge);
    }
    let (Some(method), Some(target), Some(version)) = (req.method, req.path, req.version) else {
        return Err(HeadError::Malformed("incomplete request line"));
    };
    let headers = req
        .headers
        .iter()
        .map(|h| Header {
            name: h.name.to_owned(),
            value: h.value.to_vec(),
        })
        .collect();
    Ok(Some((
        RequestHead {
            method: method.to_owned(),
            target: target.to_owned(),
            minor_version: version,
            headers,
        },
        len,
    )))
}

/// `http` or `https`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// `http://`.
    Http,
    /// `https://` (only meaningful through CONNECT; an absolute-form request with it
    /// is refused by the proxy).
    Https,
}

/// The request target, parsed (RFC 9112, 3.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestTarget {
    /// `http://host[:port]/path?query` (what a browser sends a proxy).
    Absolute {
        /// The scheme.
        scheme: Scheme,
        /// The host, lower case.
        host: String,
        /// The port, if given.
        port: Option<u16>,
        /// Path and query, at least `/`; the fragment is dropped.
        path_and_query: String,
    },
    /// `host:port`, for CONNECT.
    Authority {
        /// The host, lower case.
        host: String,
        /// The port.
        port: u16,
    },
    /// `/path?query` (a client that treats the proxy as the server).
    Origin(String),
}

fn parse_host_port(auth: &str) -> Result<(String, Option<u16>), HeadError> {
    if auth.contains('@') {
        return Err(HeadError::BadTarget("user info in URL"));
    }
    let (host, port) = if let Some(rest) = auth.strip_prefix('[') {
        let (lit, after) = rest
            .split_once(']')
            .ok_or(HeadError::BadTarget("unclosed IPv6 literal"))?;
        if lit.is_empty()
            || !lit
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return Err(HeadError::BadTarget("bad IPv6 literal"));
        }
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or(HeadError::BadTarget("bad port"))?,
            ),
        };
        (format!("[{lit}]"), port)
    } else {
        match auth.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), Some(p)),
            None => (auth.to_owned(), None),
        }
    };
    if host.is_empty() || host.len() > 255 {
        return Err(HeadError::BadTarget("empty or overlong host"));
    }
    if !host.starts_with('[')
        && !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
    {
        return Err(HeadError::BadTarget("invalid character in host"));
    }
    let port = match port {
        None => None,
        Some(p) => {
            let n: u16 = p
                .parse()
                .ok()
                .filter(|n| *n != 0 && p.bytes().all(|b| b.is_ascii_digit()))
                .ok_or(HeadError::BadTarget("bad port"))?;
            Some(n)
        }
    };
    Ok((host.to_ascii_lowercase(), port))
}

/// Parses the target of a request with `method`. Total.
pub fn parse_target(method: &str, target: &str) -> Result<RequestTarget, HeadError> {
    if method == "CONNECT" {
        let (host, port) = parse_host_port(target)?;
        let port = port.ok_or(HeadError::BadTarget("CONNECT needs host:port"))?;
        return Ok(RequestTarget::Authority { host, port });
    }
    if target.starts_with('/') {
        return Ok(RequestTarget::Origin(target.to_owned()));
    }
    let lower_prefix = |p: &str| {
        target
            .get(..p.len())
            .is_some_and(|t| t.eq_ignore_ascii_case(p))
    };
    let (scheme, rest) = if lower_prefix("http://") {
        (Scheme::Http, target.get(7..).unwrap_or(""))
    } else if lower_prefix("https://") {
        (Scheme::Https, target.get(8..).unwrap_or(""))
    } else {
        return Err(HeadError::BadTarget("not an http:// URL"));
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (auth, tail) = rest.split_at(end);
    let (host, port) = parse_host_port(auth)?;
    let tail = tail.split('#').next().unwrap_or("");
    let path_and_query = if tail.starts_with('/') {
        tail.to_owned()
    } else {
        format!("/{tail}")
    };
    Ok(RequestTarget::Absolute {
        scheme,
        host,
        port,
        path_and_query,
    })
}

/// Splits a `Host` header value into host and optional port.
pub fn parse_host_header(value: &str) -> Result<(String, Option<u16>), HeadError> {
    parse_host_port(value.trim())
}

fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let hex = b.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(if c == b'+' { b' ' } else { c });
            i += 1;
        }
    }
    Some(out)
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The address helper parameters found in a path and query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressHelper {
    /// The `i2paddresshelper` value, percent-decoded (a base 64 destination).
    pub helper: String,
    /// Our confirmation token, if the link came from our confirmation page.
    pub confirm: Option<String>,
    /// The path and query without either parameter (`?` dropped if nothing is left).
    pub clean_path: String,
}

/// Finds `i2paddresshelper=` (and our confirmation parameter) in `path_and_query`.
/// `None` if absent or not decodable.
pub fn extract_address_helper(path_and_query: &str) -> Option<AddressHelper> {
    let (path, query) = path_and_query.split_once('?')?;
    let mut helper = None;
    let mut confirm = None;
    let mut kept: Vec<&str> = Vec::new();
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if k == ADDRESS_HELPER_PARAM {
            helper = Some(String::from_utf8(percent_decode(v)?).ok()?);
        } else if k == CONFIRM_PARAM {
            confirm = Some(String::from_utf8(percent_decode(v)?).ok()?);
        } else if !pair.is_empty() {
            kept.push(pair);
        }
    }
    let helper = helper?;
    let clean_path = if kept.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", kept.join("&"))
    };
    Some(AddressHelper {
        helper,
        confirm,
        clean_path,
    })
}

/// Headers never forwarded: hop-by-hop (RFC 9110, 7.6.1) and those i2ptunnel strips
/// as identifying (i2ptunnel.md, "HTTP": "Accept*: (not including "Accept" and
/// "Accept-Encoding")", "Referer:", "Via:", "From:"), plus the proxy-disclosing ones.
fn strip_request_header(name: &str, value: &[u8], connection_tokens: &[String]) -> bool {
    let n = name.to_ascii_lowercase();
    let hop = matches!(
        n.as_str(),
        "connection" | "keep-alive" | "te" | "trailer" | "upgrade" | "host" | "user-agent"
    ) || n.starts_with("proxy-");
    let identifying = matches!(
        n.as_str(),
        "referer" | "via" | "from" | "forwarded" | "dnt" | "x-real-ip" | "client-ip"
    ) || n.starts_with("x-forwarded")
        || (n.starts_with("accept") && n != "accept" && n != "accept-encoding")
        // i2pd: drop X-Requested-With (an Android WebView puts the app id there)
        // unless it names an XMLHttpRequest-style request.
        || (n == "x-requested-with"
            && !String::from_utf8_lossy(value).contains("HttpRequest"));
    hop || identifying || connection_tokens.contains(&n)
}

fn connection_tokens(head: &RequestHead) -> Vec<String> {
    head.headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("connection"))
        .flat_map(|h| {
            String::from_utf8_lossy(&h.value)
                .split(',')
                .map(|t| t.trim().to_ascii_lowercase())
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Builds the request head sent into I2P: `target` (origin-form for a site,
/// absolute-form for an outproxy), `Host: host_header`, `User-Agent: user_agent`, the
/// client's other headers minus the stripped ones (see `strip_request_header`), and
/// `Connection: close` (or `Connection: upgrade` with the `Upgrade` header kept, for
/// a WebSocket handshake).
pub fn rewrite_request(
    head: &RequestHead,
    target: &str,
    host_header: &str,
    user_agent: &str,
) -> Vec<u8> {
    let tokens = connection_tokens(head);
    let upgrade = tokens.iter().any(|t| t == "upgrade");
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(
        format!(
            "{} {target} HTTP/1.{}\r\n",
            head.method,
            head.minor_version.min(1)
        )
        .as_bytes(),
    );
    out.extend_from_slice(format!("Host: {host_header}\r\n").as_bytes());
    out.extend_from_slice(format!("User-Agent: {user_agent}\r\n").as_bytes());
    for h in &head.headers {
        let keep_upgrade = upgrade && h.name.eq_ignore_ascii_case("upgrade");
        let strip_tokens: Vec<String> = if upgrade {
            tokens.iter().filter(|t| *t != "upgrade").cloned().collect()
        } else {
            tokens.clone()
        };
        if !keep_upgrade && strip_request_header(&h.name, &h.value, &strip_tokens) {
            continue;
        }
        out.extend_from_slice(h.name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(&h.value);
        out.extend_from_slice(b"\r\n");
    }
    if upgrade {
        out.extend_from_slice(b"Connection: upgrade\r\n\r\n");
    } else {
        out.extend_from_slice(b"Connection: close\r\n\r\n");
    }
    out
}

/// Parses a response head and rewrites it for the browser (i2ptunnel.md, "Response
/// header processing": "Force connection: close", hop-by-hop headers stripped). The
/// status line and every other header are kept byte for byte. `Ok(None)`: incomplete.
/// `Err(())`: not an HTTP/1.x response head within the bounds; pass the bytes through.
#[allow(clippy::result_unit_err)]
pub fn rewrite_response_head(buf: &[u8]) -> Result<Option<(Vec<u8>, usize)>, ()> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_RESPONSE_HEADERS];
    let mut res = httparse::Response::new(&mut headers);
    let len = match res.parse(buf) {
        Err(_) => return Err(()),
        Ok(httparse::Status::Partial) => {
            return if buf.len() >= MAX_RESPONSE_HEAD_LEN {
                Err(())
            } else {
                Ok(None)
            };
        }
        Ok(httparse::Status::Complete(n)) => n,
    };
    let status_end = buf
        .windows(2)
        .position(|w| w == b"\r\n")
        .or_else(|| buf.iter().position(|b| *b == b'\n'))
        .ok_or(())?;
    let status_line = buf.get(..status_end).ok_or(())?;
    let code = res.code.unwrap_or(0);
    let tokens: Vec<String> = res
        .headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("connection"))
        .flat_map(|h| {
            String::from_utf8_lossy(h.value)
                .split(',')
                .map(|t| t.trim().to_ascii_lowercase())
                .collect::<Vec<_>>()
        })
        .collect();
    // A 101 Switching Protocols keeps its Connection/Upgrade headers.
    let switching = code == 101;
    let mut out = Vec::with_capacity(len + 32);
    out.extend_from_slice(status_line);
    out.extend_from_slice(b"\r\n");
    for h in res.headers.iter() {
        let n = h.name.to_ascii_lowercase();
        let hop = matches!(n.as_str(), "connection" | "keep-alive" | "proxy-connection")
            || tokens.contains(&n);
        if hop && !switching {
            continue;
        }
        out.extend_from_slice(h.name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(h.value);
        out.extend_from_slice(b"\r\n");
    }
    if !switching {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    Ok(Some((out, len)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod test {
    use super::*;

    fn head(raw: &str) -> RequestHead {
        let (h, n) = parse_request_head(raw.as_bytes()).unwrap().unwrap();
        assert_eq!(n, raw.len());
        h
    }

    #[test]
    fn parse_complete_partial_and_body_offset() {
        let raw = b"GET http://zzz.i2p/x HTTP/1.1\r\nHost: zzz.i2p\r\n\r\nBODY";
        let (h, n) = parse_request_head(raw).unwrap().unwrap();
        assert_eq!(
            (h.method.as_str(), h.target.as_str()),
            ("GET", "http://zzz.i2p/x")
        );
        assert_eq!(h.minor_version, 1);
        assert_eq!(&raw[n..], b"BODY");
        assert_eq!(h.header("HOST"), Some("zzz.i2p"));
        for cut in 0..raw.len() - 4 {
            assert_eq!(parse_request_head(&raw[..cut]).unwrap(), None, "cut {cut}");
        }
    }

    #[test]
    fn garbage_and_limits_are_refused() {
        assert!(matches!(
            parse_request_head(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"),
            Err(HeadError::Malformed(_))
        ));
        assert!(matches!(
            parse_request_head(b"GET / HTTP/2.0\r\n\r\n"),
            Err(HeadError::Malformed(_))
        ));
        let long = format!("GET /{} HTTP/1.1\r\n", "a".repeat(MAX_HEAD_LEN));
        assert_eq!(
            parse_request_head(long.as_bytes()),
            Err(HeadError::TooLarge)
        );
        let many: String = (0..=MAX_HEADERS).map(|i| format!("X-{i}: v\r\n")).collect();
        let req = format!("GET / HTTP/1.1\r\n{many}\r\n");
        assert_eq!(
            parse_request_head(req.as_bytes()),
            Err(HeadError::TooManyHeaders)
        );
    }

    #[test]
    fn targets() {
        assert_eq!(
            parse_target("GET", "http://Forum.I2P:8080/a/b?c=d#frag").unwrap(),
            RequestTarget::Absolute {
                scheme: Scheme::Http,
                host: "forum.i2p".into(),
                port: Some(8080),
                path_and_query: "/a/b?c=d".into()
            }
        );
        assert_eq!(
            parse_target("GET", "http://zzz.i2p").unwrap(),
            RequestTarget::Absolute {
                scheme: Scheme::Http,
                host: "zzz.i2p".into(),
                port: None,
                path_and_query: "/".into()
            }
        );
        assert_eq!(
            parse_target("GET", "http://zzz.i2p?q").unwrap(),
            RequestTarget::Absolute {
                scheme: Scheme::Http,
                host: "zzz.i2p".into(),
                port: None,
                path_and_query: "/?q".into()
            }
        );
        assert_eq!(
            parse_target("CONNECT", "zzz.i2p:443").unwrap(),
            RequestTarget::Authority {
                host: "zzz.i2p".into(),
                port: 443
            }
        );
        assert_eq!(
            parse_target("GET", "/local").unwrap(),
            RequestTarget::Origin("/local".into())
        );
        for (m, bad) in [
            ("CONNECT", "zzz.i2p"),
            ("CONNECT", "zzz.i2p:0"),
            ("CONNECT", "zzz.i2p:99999"),
            ("CONNECT", "zzz.i2p:+1"),
            ("GET", "ftp://zzz.i2p/"),
            ("GET", "http://user:pw@zzz.i2p/"),
            ("GET", "http:///x"),
            ("GET", "http://zz z.i2p/"),
            ("GET", "http://[::1/"),
            ("GET", "*"),
        ] {
            assert!(parse_target(m, bad).is_err(), "{m} {bad}");
        }
        assert!(parse_target("GET", "http://[::1]:80/").is_ok());
    }

    #[test]
    fn address_helper_is_extracted_and_removed() {
        let h = extract_address_helper("/p?a=1&i2paddresshelper=AB%3D%3D&b=2").unwrap();
        assert_eq!(h.helper, "AB==");
        assert_eq!(h.clean_path, "/p?a=1&b=2");
        assert_eq!(h.confirm, None);
        let h =
            extract_address_helper("/?i2paddresshelper=X~-&i2paddresshelper_confirm=t0k").unwrap();
        assert_eq!(
            (
                h.helper.as_str(),
                h.confirm.as_deref(),
                h.clean_path.as_str()
            ),
            ("X~-", Some("t0k"), "/")
        );
        assert_eq!(extract_address_helper("/p?a=1"), None);
        assert_eq!(extract_address_helper("/p"), None);
        assert_eq!(extract_address_helper("/?i2paddresshelper=%zz"), None);
        assert_eq!(percent_encode("a=b~c"), "a%3Db~c");
    }

    #[test]
    fn request_rewrite_strips_identifying_and_hop_by_hop_headers() {
        let h = head(
            "GET http://zzz.i2p/topics?x=1 HTTP/1.1\r\n\
             Host: zzz.i2p\r\n\
             User-Agent: Mozilla/5.0 (X11; Linux) Firefox/130\r\n\
             Accept: text/html\r\n\
             Accept-Encoding: gzip\r\n\
             Accept-Language: fr-FR\r\n\
             Referer: http://other.i2p/\r\n\
             Via: 1.1 somewhere\r\n\
             From: me@example.com\r\n\
             X-Forwarded-For: 10.0.0.1\r\n\
             Forwarded: for=10.0.0.1\r\n\
             Proxy-Authorization: Basic eA==\r\n\
             Proxy-Connection: keep-alive\r\n\
             Connection: keep-alive, X-Secret\r\n\
             X-Secret: 1\r\n\
             Keep-Alive: 300\r\n\
             Cookie: a=b\r\n\
             Content-Length: 0\r\n\r\n",
        );
        let out = String::from_utf8(rewrite_request(
            &h,
            "/topics?x=1",
            "zzz.i2p",
            I2P_USER_AGENT,
        ))
        .unwrap();
        assert_eq!(
            out,
            "GET /topics?x=1 HTTP/1.1\r\n\
             Host: zzz.i2p\r\n\
             User-Agent: MYOB/6.66 (AN/ON)\r\n\
             Accept: text/html\r\n\
             Accept-Encoding: gzip\r\n\
             Cookie: a=b\r\n\
             Content-Length: 0\r\n\
             Connection: close\r\n\r\n"
        );
    }

    #[test]
    fn websocket_upgrade_is_kept() {
        let h = head(
            "GET http://chat.i2p/ws HTTP/1.1\r\nHost: chat.i2p\r\nConnection: Upgrade\r\n\
             Upgrade: websocket\r\nSec-WebSocket-Key: k\r\n\r\n",
        );
        let out = String::from_utf8(rewrite_request(&h, "/ws", "chat.i2p", "UA")).unwrap();
        assert!(out.contains("Upgrade: websocket\r\n"), "{out}");
        assert!(out.ends_with("Connection: upgrade\r\n\r\n"), "{out}");
        assert!(out.contains("Sec-WebSocket-Key: k\r\n"));
    }

    #[test]
    fn response_head_forces_close_and_keeps_the_rest() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\
                    Keep-Alive: timeout=5\r\nSet-Cookie: s=1\r\n\r\nhello";
        let (out, n) = rewrite_response_head(raw).unwrap().unwrap();
        assert_eq!(&raw[n..], b"hello");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nSet-Cookie: s=1\r\nConnection: close\r\n\r\n"
        );
        assert_eq!(
            rewrite_response_head(b"HTTP/1.1 200 OK\r\nA: b\r\n").unwrap(),
            None
        );
        assert!(rewrite_response_head(b"SSH-2.0-OpenSSH\r\n").is_err());
    }
}
