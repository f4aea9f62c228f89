//! Reading an i2pd web console: a minimal blocking HTTP/1.1 GET over `TcpStream`
//! (loopback only) and the figures of its front page.

use crate::{Error, Result};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Largest console page we read (i2pd's pages are a few tens of KiB).
const MAX_PAGE: u64 = 8 << 20;

/// GETs `path` (e.g. `/` or `/?page=transports`) from `addr` and returns the body.
/// Fails on any status other than 200.
pub fn http_get(addr: SocketAddr, path: &str, timeout: Duration) -> Result<String> {
    let err = |e: std::io::Error| Error::Console(format!("GET http://{addr}{path}: {e}"));
    let mut s = TcpStream::connect_timeout(&addr, timeout).map_err(err)?;
    s.set_read_timeout(Some(timeout)).map_err(err)?;
    s.set_write_timeout(Some(timeout)).map_err(err)?;
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: gousse-testnet\r\n\
         Accept: text/html\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).map_err(err)?;
    let mut raw = Vec::new();
    s.take(MAX_PAGE).read_to_end(&mut raw).map_err(err)?;
    let (status, headers, body) = split_response(&raw)?;
    if status != 200 {
        return Err(Error::Console(format!(
            "GET http://{addr}{path}: status {status}"
        )));
    }
    let body = if headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"))
    {
        dechunk(body)?
    } else {
        body.to_vec()
    };
    Ok(String::from_utf8_lossy(&body).into_owned())
}

type Response<'a> = (u16, Vec<(String, String)>, &'a [u8]);

fn split_response(raw: &[u8]) -> Result<Response<'_>> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| Error::Console("no end of HTTP headers".into()))?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let body = raw.get(end + 4..).unwrap_or_default();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| Error::Console(format!("bad status line {status_line:?}")))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Ok((status, headers, body))
}

fn dechunk(mut body: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| Error::Console("truncated chunk size".into()))?;
        let size_text = String::from_utf8_lossy(&body[..eol]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| Error::Console(format!("bad chunk size {size_text:?}")))?;
        body = body.get(eol + 2..).unwrap_or_default();
        if size == 0 {
            return Ok(out);
        }
        let chunk = body
            .get(..size)
            .ok_or_else(|| Error::Console("truncated chunk".into()))?;
        out.extend_from_slice(chunk);
        body = body.get(size + 2..).unwrap_or_default();
    }
}

/// The figures of an i2pd console front page (`<b>Label:</b> value`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConsoleStatus {
    /// Every `<b>Label:</b> value` pair, label without its colon, value as text.
    pub fields: BTreeMap<String, String>,
}

impl ConsoleStatus {
    /// Reads the labelled figures from the front page's HTML. Never fails: a page
    /// without figures gives an empty map.
    pub fn parse(html: &str) -> Self {
        let mut fields = BTreeMap::new();
        for piece in html.split("<b>").skip(1) {
            let Some((label, rest)) = piece.split_once("</b>") else {
                continue;
            };
            let Some(label) = label.trim().strip_suffix(':') else {
                continue;
            };
            let value = rest.split('<').next().unwrap_or_default();
            let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
            fields.insert(label.trim().to_owned(), value);
        }
        Self { fields }
    }

    /// The text after a label, e.g. `get("Router Caps")`.
    pub fn get(&self, label: &str) -> Option<&str> {
        self.fields.get(label).map(String::as_str)
    }

    fn number(&self, label: &str) -> Option<u64> {
        let v = self.get(label)?;
        let digits: String = v.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    }

    /// "Network status" (`OK`, `Testing`, `Firewalled`, `Unknown`, ...).
    pub fn network_status(&self) -> Option<&str> {
        self.get("Network status")
    }

    /// "Tunnel creation success rate" in percent.
    pub fn tunnel_creation_success_rate(&self) -> Option<u64> {
        self.number("Tunnel creation success rate")
    }

    /// "Routers": RouterInfos in its netDb.
    pub fn routers(&self) -> Option<u64> {
        self.number("Routers")
    }

    /// "Floodfills" it knows.
    pub fn floodfills(&self) -> Option<u64> {
        self.number("Floodfills")
    }

    /// "LeaseSets" it stores.
    pub fn lease_sets(&self) -> Option<u64> {
        self.number("LeaseSets")
    }

    /// "Client Tunnels".
    pub fn client_tunnels(&self) -> Option<u64> {
        self.number("Client Tunnels")
    }

    /// "Transit Tunnels" it carries for others.
    pub fn transit_tunnels(&self) -> Option<u64> {
        self.number("Transit Tunnels")
    }

    /// "Router Ident": its router hash in I2P base64.
    pub fn router_ident(&self) -> Option<&str> {
        self.get("Router Ident")
    }
}

/// One transport session on the console's `?page=transports`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransportSession {
    /// The section: `NTCP2`, `SSU2`, `NTCP2V6`, ...
    pub transport: String,
    /// The first 4 characters of the peer's router hash (base64), all i2pd shows.
    pub hash_prefix: String,
    /// The peer's address and port as i2pd shows it.
    pub endpoint: String,
    /// True if this router opened the session.
    pub outgoing: bool,
}

/// Reads the sessions of a `?page=transports` page. i2pd 2.45.1 writes each as
/// `<div class="listitem"> &#8658; HASH: IP:PORT [..]</div>` (arrow first: outgoing)
/// or `HASH: IP:PORT &#8658;  [..]` (arrow after: incoming), in one
/// `<label for='slide_...'><b>NTCP2</b>` section per transport. Never fails.
pub fn parse_transports(html: &str) -> Vec<TransportSession> {
    let mut out = Vec::new();
    for section in html.split("<label for=").skip(1) {
        let transport = section
            .split_once("<b>")
            .and_then(|(_, r)| r.split_once("</b>"))
            .map_or("", |(t, _)| t.trim())
            .to_owned();
        for item in section.split("<div class=\"listitem\">").skip(1) {
            let text = item.split("</div>").next().unwrap_or_default();
            let text = text.split('[').next().unwrap_or_default().trim();
            let outgoing = text.starts_with("&#8658;");
            let text = text.replace("&#8658;", " ");
            let Some((hash, endpoint)) = text.trim().split_once(':') else {
                continue;
            };
            out.push(TransportSession {
                transport: transport.clone(),
                hash_prefix: hash.trim().to_owned(),
                endpoint: endpoint.trim().to_owned(),
                outgoing,
            });
        }
    }
    out
}

#[cfg(test)]
mod test {
    use super::*;

    // Lines as i2pd 2.45.1 writes them (front page of a fresh router).
    const PAGE: &str = "<div class=\"header\"><b>i2pd</b> webconsole</div>\r\n\
        <div class=\"content\"><b>Uptime:</b> 2 seconds<br>\r\n\
        <b>Network status:</b> OK<br>\r\n\
        <b>Tunnel creation success rate:</b> 92%<br>\r\n\
        <b>Received:</b> 0.00 KiB (0.00 KiB/s)<br>\r\n\
        <b>Router Ident:</b> GAZ0rEMBEnU08NRHIu-Kqv25rbO4vsEcwer~-4pKCrU=<br>\r\n\
        <b>Routers:</b> 9 <b>Floodfills:</b> 2 <b>LeaseSets:</b> 0<br>\r\n\
        <b>Client Tunnels:</b> 2 <b>Transit Tunnels:</b> 14<br>\r\n";

    #[test]
    fn front_page_figures() {
        let s = ConsoleStatus::parse(PAGE);
        assert_eq!(s.network_status(), Some("OK"));
        assert_eq!(s.tunnel_creation_success_rate(), Some(92));
        assert_eq!(s.routers(), Some(9));
        assert_eq!(s.floodfills(), Some(2));
        assert_eq!(s.lease_sets(), Some(0));
        assert_eq!(s.client_tunnels(), Some(2));
        assert_eq!(s.transit_tunnels(), Some(14));
        assert_eq!(s.get("Received"), Some("0.00 KiB (0.00 KiB/s)"));
        assert_eq!(
            s.router_ident(),
            Some("GAZ0rEMBEnU08NRHIu-Kqv25rbO4vsEcwer~-4pKCrU=")
        );
        assert!(s.get("i2pd").is_none()); // no colon: not a figure
        assert!(ConsoleStatus::parse("<b><b></b>:").fields.is_empty());
    }

    #[test]
    fn transports_page_sessions() {
        // As i2pd 2.45.1 writes the page (two outgoing, one incoming NTCP2 session).
        let page = "<div class=\"content\"><b>Transports:</b><br>\n\
            <div class='slide'><label for='slide_ntcp2'><b>NTCP2</b> ( 3 )</label>\n\
            <input type=\"checkbox\" id=\"slide_ntcp2\" />\n\
            <div class=\"slidecontent list\"><div class=\"listitem\">\n\
             &#8658; TpEW: 198.18.0.1:20001 [11519:8127]</div>\n\n\
            <div class=\"listitem\">\nVKd4: 198.18.0.4:45987 &#8658;  [10696:13748]</div>\n\n\
            <div class=\"listitem\">\n &#8658; u4iq: 198.18.0.3:20003 [2791:3665]</div>\n\
            </div></div>\n\
            <div class='slide'><label for='slide_ssu2'><b>SSU2</b> ( 1 )</label>\n\
            <div class=\"slidecontent list\"><div class=\"listitem\">\n\
             &#8658; Ab~-: 198.18.1.1:30000 [1:2]</div></div></div>";
        let s = parse_transports(page);
        assert_eq!(s.len(), 4);
        assert_eq!(
            s[0],
            TransportSession {
                transport: "NTCP2".into(),
                hash_prefix: "TpEW".into(),
                endpoint: "198.18.0.1:20001".into(),
                outgoing: true
            }
        );
        assert_eq!((s[1].hash_prefix.as_str(), s[1].outgoing), ("VKd4", false));
        assert_eq!(s[1].endpoint, "198.18.0.4:45987");
        assert_eq!(
            (s[3].transport.as_str(), s[3].hash_prefix.as_str()),
            ("SSU2", "Ab~-")
        );
        assert!(parse_transports("<label for=<b></b><div class=\"listitem\">x</div>").is_empty());
    }

    #[test]
    fn http_response_parts() {
        let (st, h, b) = split_response(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi").unwrap();
        assert_eq!((st, b), (200, &b"hi"[..]));
        assert_eq!(h[0], ("Content-Length".to_owned(), "2".to_owned()));
        assert!(split_response(b"HTTP/1.1 200 OK\r\n").is_err());
        assert!(split_response(b"garbage\r\n\r\n").is_err());
        assert_eq!(
            dechunk(b"2\r\nhi\r\n3;x\r\n!!!\r\n0\r\n\r\n").unwrap(),
            b"hi!!!"
        );
        assert!(dechunk(b"ff\r\nhi").is_err());
        assert!(dechunk(b"zz\r\n").is_err());
    }

    #[test]
    fn get_from_a_local_server() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let t = std::thread::spawn(move || {
            let (mut c, _) = l.accept().unwrap();
            let mut buf = [0u8; 1024];
            let n = c.read(&mut buf).unwrap();
            assert!(buf[..n].starts_with(b"GET /?page=x HTTP/1.1\r\n"));
            c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
                .unwrap();
        });
        let body = http_get(addr, "/?page=x", Duration::from_secs(5)).unwrap();
        assert_eq!(body, "hello");
        t.join().unwrap();
    }
}
