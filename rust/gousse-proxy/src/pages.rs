//! The HTTP proxy's own pages: errors a person can act on (i2ptunnel.md, "HTTP error
//! responses": "so the user knows what happened"), the address helper confirmation,
//! and redirects. Every page closes the connection.

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A complete response: status line, headers, an HTML body with `title` as heading.
pub fn page(status: u16, reason: &str, title: &str, body_html: &str) -> Vec<u8> {
    let body = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t}</title>\
         <style>body{{font-family:sans-serif;max-width:50em;margin:2em auto;padding:0 1em;\
         line-height:1.5}}code{{word-break:break-all}}</style></head>\n\
         <body><h1>{t}</h1>\n{body_html}\n<hr><p><small>Gousse HTTP proxy</small></p>\
         </body></html>\n",
        t = escape(title)
    );
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\n\
         Content-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}

/// A `302 Found` to `location` (already a valid URL).
pub fn redirect(location: &str) -> Vec<u8> {
    let href = escape(location);
    let body = format!("<a href=\"{href}\">Continue</a>\n");
    let mut out = format!(
        "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Type: text/html; charset=utf-8\r\n\
         Content-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}

/// 400: the request could not be understood.
pub fn bad_request(detail: &str) -> Vec<u8> {
    page(
        400,
        "Bad Request",
        "Bad request",
        &format!(
            "<p>The proxy could not understand the request: {}.</p>\
             <p>Set this proxy as your browser's HTTP proxy and open <code>http://</code> \
             addresses ending in <code>.i2p</code>.</p>",
            escape(detail)
        ),
    )
}

/// 408: the request head did not arrive in time.
pub fn request_timeout() -> Vec<u8> {
    page(
        408,
        "Request Timeout",
        "Request timed out",
        "<p>The browser did not send a complete request in time.</p>",
    )
}

/// 431: the request head is too large.
pub fn head_too_large() -> Vec<u8> {
    page(
        431,
        "Request Header Fields Too Large",
        "Request too large",
        "<p>The request's headers are larger than this proxy accepts.</p>",
    )
}

/// 404: a `.i2p` name not in the address book, with jump service links and the
/// address helper hint.
pub fn unknown_host(host: &str, path: &str, jump_services: &[(String, String)]) -> Vec<u8> {
    let h = escape(host);
    let mut links = String::new();
    for (name, prefix) in jump_services {
        let href = escape(&format!("{prefix}{}", crate::http::percent_encode(host)));
        links.push_str(&format!(
            "<li><a href=\"{href}\" rel=\"noreferrer\">{}</a></li>",
            escape(name)
        ));
    }
    let jump = if links.is_empty() {
        String::new()
    } else {
        format!(
            "<p>A jump service may know it; it sends you back here with the site's \
             address, and this proxy then asks you before saving it:</p><ul>{links}</ul>"
        )
    };
    let example = escape(&format!("http://{host}{path}"));
    page(
        404,
        "Not Found",
        "Website not found in the address book",
        &format!(
            "<p>The name <b>{h}</b> is not in your router's address book, so the proxy \
             does not know which destination it stands for.</p>{jump}\
             <p>If you have the site's full address (its base 64 destination), open \
             <code>{example}?i2paddresshelper=</code><i>destination</i> to add it, or \
             add it on the router console's address book page. If you have its \
             <code>.b32.i2p</code> address, use that instead of the name.</p>"
        ),
    )
}

/// 504: the LeaseSet of the destination was not found.
pub fn leaseset_not_found(host: &str) -> Vec<u8> {
    page(
        504,
        "Gateway Timeout",
        "Website unreachable: destination not found",
        &format!(
            "<p>The router could not find the network record (LeaseSet) of <b>{}</b> in \
             the I2P network database. The site is probably offline, or only just \
             started; it may also be that your router has only just started. Try again \
             in a few minutes.</p>",
            escape(host)
        ),
    )
}

/// 504: the destination did not answer, or not in time.
pub fn unreachable(host: &str, timed_out: bool) -> Vec<u8> {
    let why = if timed_out {
        "did not answer in time"
    } else {
        "did not answer"
    };
    page(
        504,
        "Gateway Timeout",
        "Website unreachable",
        &format!(
            "<p>The site <b>{}</b> was found but {why}. It may be overloaded or going \
             offline. Try again later.</p>",
            escape(host)
        ),
    )
}

/// 502: the destination refused the connection.
pub fn refused(host: &str) -> Vec<u8> {
    page(
        502,
        "Bad Gateway",
        "Connection refused",
        &format!(
            "<p>The site <b>{}</b> is online but nothing answers on that port.</p>",
            escape(host)
        ),
    )
}

/// 503: our client tunnels are not ready, or another router-side failure.
pub fn router_failure(host: &str, detail: &str) -> Vec<u8> {
    page(
        503,
        "Service Unavailable",
        "The router could not connect",
        &format!(
            "<p>The connection to <b>{}</b> failed on this side: {}. If the router has \
             just started, wait a minute and try again.</p>",
            escape(host),
            escape(detail)
        ),
    )
}

/// 503: a non-I2P host and no outproxy configured.
pub fn no_outproxy(host: &str) -> Vec<u8> {
    page(
        503,
        "Service Unavailable",
        "Not an I2P site, and no outproxy is configured",
        &format!(
            "<p><b>{}</b> is not an I2P address (I2P sites end in <code>.i2p</code>). \
             This proxy only reaches the regular internet through an outproxy, and none is \
             configured.</p>",
            escape(host)
        ),
    )
}

/// 403: a local address asked of the outproxy.
pub fn local_address(host: &str) -> Vec<u8> {
    page(
        403,
        "Forbidden",
        "Local addresses are not proxied",
        &format!(
            "<p><b>{}</b> is a local or private network address. The outproxy would \
             reach its own network, not yours, so this proxy does not send it there.</p>",
            escape(host)
        ),
    )
}

/// 501: an encrypted LeaseSet address (b32encrypted.rst).
pub fn encrypted_b32_needs_auth(host: &str) -> Vec<u8> {
    page(
        501,
        "Not Implemented",
        "This site needs client authorization",
        &format!(
            "<p><b>{}</b> is the address of a site with an encrypted LeaseSet that \
             only authorized clients can read (it asks for a secret or a client key). \
             This router cannot read such LeaseSets yet; sites with encrypted LeaseSets \
             open to everyone who knows the address work.</p>",
            escape(host)
        ),
    )
}

/// 400: a `.b32.i2p` address that does not decode.
pub fn bad_b32(host: &str) -> Vec<u8> {
    page(
        400,
        "Bad Request",
        "Invalid .b32.i2p address",
        &format!(
            "<p><b>{}</b> is not a valid base 32 address: it must be 52 characters of \
             <code>a-z</code> and <code>2-7</code> before <code>.b32.i2p</code>, or 56 \
             or more for the address of an encrypted LeaseSet, whose checksum must \
             match. Check for a typing error.</p>",
            escape(host)
        ),
    )
}

/// 500: the address book failed.
pub fn resolve_failed(host: &str, detail: &str) -> Vec<u8> {
    page(
        500,
        "Internal Server Error",
        "Address book error",
        &format!(
            "<p>Looking up <b>{}</b> failed: {}.</p>",
            escape(host),
            escape(detail)
        ),
    )
}

/// 400: an address helper that is no valid destination, or for a name that cannot
/// be saved.
pub fn bad_address_helper(host: &str, detail: &str) -> Vec<u8> {
    page(
        400,
        "Bad Request",
        "Invalid address helper",
        &format!(
            "<p>The link to <b>{}</b> carries an <code>i2paddresshelper</code> that cannot \
             be used: {}. The link may be damaged; ask the site that gave it for a new \
             one.</p>",
            escape(host),
            escape(detail)
        ),
    )
}

/// 403: a confirmation link that this proxy did not issue.
pub fn bad_confirmation(host: &str) -> Vec<u8> {
    page(
        403,
        "Forbidden",
        "Confirmation link not valid",
        &format!(
            "<p>The link to save <b>{}</b> was not issued by this proxy (or the proxy \
             restarted since). Nothing was saved. Open the original address helper link \
             again to get a new confirmation page.</p>",
            escape(host)
        ),
    )
}

/// 200: asks before saving a name from an address helper.
pub fn confirm_address_helper(
    host: &str,
    new_b32: &str,
    existing_b32: Option<&str>,
    save_url: &str,
    b32_url: &str,
) -> Vec<u8> {
    let h = escape(host);
    let warning = match existing_b32 {
        Some(old) => format!(
            "<p><b>Warning:</b> your address book already has <b>{h}</b> for another \
             destination, <code>{}</code>. Saving replaces it. Only do so if you trust the \
             link you followed: a wrong destination can impersonate the site.</p>",
            escape(old)
        ),
        None => format!(
            "<p><b>{h}</b> is not in your address book yet. Save it only if you trust the \
             link you followed (typically a jump service).</p>"
        ),
    };
    page(
        200,
        "OK",
        "Save this address?",
        &format!(
            "<p>The link you followed says <b>{h}</b> is the destination \
             <code>{}</code>.</p>{warning}\
             <p><a href=\"{}\">Save {h} and continue</a></p>\
             <p><a href=\"{}\">Continue without saving</a> (by its .b32.i2p address)</p>",
            escape(new_b32),
            escape(save_url),
            escape(b32_url)
        ),
    )
}

/// 500: saving the name failed.
pub fn save_failed(host: &str, detail: &str) -> Vec<u8> {
    page(
        500,
        "Internal Server Error",
        "Could not save the address",
        &format!(
            "<p>Saving <b>{}</b> failed: {}.</p>",
            escape(host),
            escape(detail)
        ),
    )
}

/// 503: too many connections at once.
pub fn busy() -> Vec<u8> {
    page(
        503,
        "Service Unavailable",
        "Proxy busy",
        "<p>The proxy has too many open connections. Try again in a moment.</p>",
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod test {
    use super::*;

    #[test]
    fn escape_and_content_length() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        let p = page(404, "Not Found", "T<>", "<p>x</p>");
        let text = String::from_utf8(p).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 404 Not Found\r\n"));
        assert!(head.contains(&format!("Content-Length: {}", body.len())));
        assert!(body.contains("<h1>T&lt;&gt;</h1>"));
    }

    #[test]
    fn unknown_host_escapes_and_links_jump_services() {
        let p = unknown_host(
            "x<script>.i2p",
            "/",
            &[(
                "stats.i2p".into(),
                "http://stats.i2p/cgi-bin/jump.cgi?a=".into(),
            )],
        );
        let text = String::from_utf8(p).unwrap();
        assert!(!text.contains("<script>"));
        assert!(text.contains("http://stats.i2p/cgi-bin/jump.cgi?a=x%3Cscript%3E.i2p"));
    }
}
