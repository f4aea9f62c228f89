//! Fetching `i2pseeds.su3` from a reseed server over HTTPS (updates.rst, "SU3 Reseed
//! File Specification": "A router will first try to fetch (index URL)/i2pseeds.su3";
//! "the requestor should append a query string '?netid=2'").
//!
//! HTTPS is verified against the webpki roots (rustls); plain HTTP is refused unless
//! the caller allows it (local tests, overlay networks). Every request has a connect
//! timeout, an overall deadline and a size bound.

use std::io::Read;
use std::time::Duration;

use crate::{Error, Result};

/// The real network's reseed servers: i2pd 2.45.1's default `reseed.urls`.
///
/// Two of them (`i2pseed.creativecowpat.net:8443`, `i2p.novg.net`) have used
/// self-signed TLS certificates, which the webpki roots do not trust; updates.rst
/// allows omitting such servers, and here they simply fail and the next is tried.
pub const DEFAULT_RESEED_URLS: &[&str] = &[
    "https://reseed2.i2p.net/",
    "https://reseed.diva.exchange/",
    "https://reseed-fr.i2pd.xyz/",
    "https://reseed.memcpy.io/",
    "https://reseed.onion.im/",
    "https://i2pseed.creativecowpat.net:8443/",
    "https://reseed.i2pgit.org/",
    "https://i2p.novg.net/",
    "https://banana.incognet.io/",
    "https://reseed-pl.i2pd.xyz/",
    "https://www2.mk16.de/",
];

/// The User-Agent reseed servers expect: Java I2P and i2pd both send wget's, and
/// reseed servers answer other agents with an error.
pub const RESEED_USER_AGENT: &str = "Wget/1.11.4";

/// How to fetch from reseed servers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpOptions {
    /// Time to establish the TCP connection (per address tried).
    pub connect_timeout: Duration,
    /// Deadline for the whole request, body included.
    pub timeout: Duration,
    /// Our network ID, sent as `?netid=N` (2 on the real network).
    pub net_id: u8,
    /// Allow `http://` URLs (tests on the loopback, overlay networks). Off by default.
    pub allow_plain_http: bool,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(60),
            net_id: 2,
            allow_plain_http: false,
        }
    }
}

/// The URL of `i2pseeds.su3` under a reseed server's base URL.
pub fn su3_url(base: &str, opts: &HttpOptions) -> Result<String> {
    let bad = |reason| Error::BadUrl {
        url: base.chars().take(200).collect(),
        reason,
    };
    let rest = if let Some(rest) = base.strip_prefix("https://") {
        rest
    } else if let Some(rest) = base.strip_prefix("http://") {
        if !opts.allow_plain_http {
            return Err(bad("plain http is not allowed, use https"));
        }
        rest
    } else {
        return Err(bad("not an https URL"));
    };
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() {
        return Err(bad("no host"));
    }
    if base.contains(['?', '#']) || base.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("a base URL has no query, fragment or spaces"));
    }
    let slash = if base.ends_with('/') { "" } else { "/" };
    Ok(format!("{base}{slash}i2pseeds.su3?netid={}", opts.net_id))
}

/// GETs `<base>i2pseeds.su3?netid=N`, refusing an error status and any body larger
/// than `max_size` bytes (by its Content-Length, or as it is read).
pub fn fetch_su3(base: &str, opts: &HttpOptions, max_size: u64) -> Result<Vec<u8>> {
    let url = su3_url(base, opts)?;
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(opts.connect_timeout)
        .timeout(opts.timeout)
        .redirects(3)
        .https_only(!opts.allow_plain_http)
        .user_agent(RESEED_USER_AGENT)
        .build();
    let http = |reason: String| Error::Http {
        url: url.clone(),
        reason,
    };
    let resp = match agent.get(&url).call() {
        Ok(r) => r,
        Err(ureq::Error::Status(status, _)) => {
            return Err(Error::HttpStatus {
                url: url.clone(),
                status,
            })
        }
        Err(ureq::Error::Transport(t)) => {
            // ureq's message starts with the URL, which our error already names.
            let msg = t.to_string();
            let msg = msg.strip_prefix(&format!("{url}: ")).unwrap_or(&msg);
            return Err(http(msg.to_owned()));
        }
    };
    let too_large = || Error::ResponseTooLarge {
        url: url.clone(),
        max: max_size,
    };
    let declared = resp
        .header("Content-Length")
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > max_size) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    resp.into_reader()
        .take(max_size.saturating_add(1))
        .read_to_end(&mut body)
        .map_err(|e| http(e.to_string()))?;
    if body.len() as u64 > max_size {
        return Err(too_large());
    }
    Ok(body)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod test {
    use super::*;

    #[test]
    fn su3_url_forms() {
        let o = HttpOptions::default();
        assert_eq!(
            su3_url("https://reseed.example/", &o).unwrap(),
            "https://reseed.example/i2pseeds.su3?netid=2"
        );
        assert_eq!(
            su3_url("https://reseed.example:8443/netDb", &o).unwrap(),
            "https://reseed.example:8443/netDb/i2pseeds.su3?netid=2"
        );
        let test_net = HttpOptions {
            net_id: 99,
            ..HttpOptions::default()
        };
        assert_eq!(
            su3_url("https://r.example/", &test_net).unwrap(),
            "https://r.example/i2pseeds.su3?netid=99"
        );
    }

    #[test]
    fn su3_url_refusals() {
        let o = HttpOptions::default();
        let msg = |u: &str| su3_url(u, &o).unwrap_err().to_string();
        assert!(msg("http://r.example/").contains("plain http is not allowed"));
        assert!(msg("ftp://r.example/").contains("not an https URL"));
        assert!(msg("https:///x").contains("no host"));
        assert!(msg("https://r.example/?a=b").contains("no query"));
        assert!(msg("https://r.example/ x").contains("no query"));
        let plain = HttpOptions {
            allow_plain_http: true,
            ..HttpOptions::default()
        };
        assert!(su3_url("http://127.0.0.1:1/", &plain).is_ok());
    }

    #[test]
    fn default_urls_are_https_with_a_host() {
        assert_eq!(DEFAULT_RESEED_URLS.len(), 11);
        for u in DEFAULT_RESEED_URLS {
            assert!(su3_url(u, &HttpOptions::default()).is_ok(), "{u}");
        }
    }
}
