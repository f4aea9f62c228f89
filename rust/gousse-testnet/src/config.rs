//! The i2pd.conf of one test router (testnet.md, "i2pd settings that matter").
//!
//! Booleans go in the file, never on the command line (i2pd takes `--ipv6` with no
//! value, and `--ipv6=false` is an error).

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::Path;

/// An i2pd.conf as ordered sections of `key = value` lines. The section `""` holds the
/// keys before the first `[section]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct I2pdConfig {
    sections: Vec<(String, Vec<(String, String)>)>,
}

/// What [`I2pdConfig::for_router`] needs to know about one router.
#[derive(Clone, Debug)]
pub(crate) struct RouterSettings<'a> {
    pub(crate) data_dir: &'a Path,
    pub(crate) netid: u32,
    pub(crate) addr: Ipv4Addr,
    pub(crate) port: u16,
    pub(crate) floodfill: bool,
    pub(crate) bandwidth: &'a str,
    pub(crate) log_level: &'a str,
    pub(crate) console_port: u16,
    pub(crate) sam_port: Option<u16>,
    pub(crate) http_proxy_port: Option<u16>,
    pub(crate) socks_proxy_port: Option<u16>,
}

impl I2pdConfig {
    /// Sets `key` in `section` (`""` for the top), replacing an earlier value.
    pub fn set(&mut self, section: &str, key: &str, value: impl Into<String>) -> &mut Self {
        let value = value.into();
        let idx = match self.sections.iter().position(|(s, _)| s == section) {
            Some(i) => i,
            None => {
                self.sections.push((section.to_owned(), Vec::new()));
                self.sections.len() - 1
            }
        };
        if let Some((_, entries)) = self.sections.get_mut(idx) {
            match entries.iter_mut().find(|(k, _)| k == key) {
                Some(e) => e.1 = value,
                None => entries.push((key.to_owned(), value)),
            }
        }
        self
    }

    /// The value of `key` in `section`, if set.
    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.sections
            .iter()
            .find(|(s, _)| s == section)
            .and_then(|(_, e)| e.iter().find(|(k, _)| k == key))
            .map(|(_, v)| v.as_str())
    }

    /// The file's text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // The top-level keys must come before any [section].
        let mut ordered: Vec<_> = self.sections.iter().collect();
        ordered.sort_by_key(|(s, _)| !s.is_empty());
        for (section, entries) in ordered {
            if !section.is_empty() {
                let _ = writeln!(out, "\n[{section}]");
            }
            for (k, v) in entries {
                let _ = writeln!(out, "{k} = {v}");
            }
        }
        out
    }

    /// The settings of testnet.md for one router.
    pub(crate) fn for_router(s: &RouterSettings<'_>) -> Self {
        let mut c = Self::default();
        let dir = s.data_dir.display().to_string();
        let yes_no = |b: bool| if b { "true" } else { "false" };
        c.set("", "log", "file")
            .set("", "logfile", format!("{dir}/i2pd.log"))
            .set("", "loglevel", s.log_level)
            .set("", "daemon", "false")
            .set("", "service", "false")
            .set("", "netid", s.netid.to_string())
            .set("", "host", s.addr.to_string())
            .set("", "address4", s.addr.to_string())
            .set("", "ipv4", "true")
            .set("", "ipv6", "false")
            .set("", "nat", "false")
            .set("", "reservedrange", "false")
            .set("", "floodfill", yes_no(s.floodfill))
            .set("", "bandwidth", s.bandwidth)
            .set("", "share", "100")
            .set("", "notransit", "false");
        c.set("ntcp2", "enabled", "true")
            .set("ntcp2", "published", "true")
            .set("ntcp2", "port", s.port.to_string());
        c.set("ssu2", "enabled", "true")
            .set("ssu2", "published", "true")
            .set("ssu2", "port", s.port.to_string());
        c.set("reseed", "verify", "false")
            .set("reseed", "urls", "")
            .set("reseed", "yggurls", "")
            .set("reseed", "threshold", "0");
        c.set("http", "enabled", "true")
            .set("http", "address", "127.0.0.1")
            .set("http", "port", s.console_port.to_string())
            .set("http", "auth", "false")
            .set("http", "strictheaders", "false");
        let service = |c: &mut Self, name: &str, port: Option<u16>| {
            c.set(name, "enabled", yes_no(port.is_some()));
            if let Some(p) = port {
                c.set(name, "address", "127.0.0.1")
                    .set(name, "port", p.to_string());
            }
        };
        service(&mut c, "httpproxy", s.http_proxy_port);
        service(&mut c, "socksproxy", s.socks_proxy_port);
        service(&mut c, "sam", s.sam_port);
        for off in ["bob", "i2cp", "i2pcontrol", "upnp"] {
            c.set(off, "enabled", "false");
        }
        // i2pd 2.45.1's SAM bridge writes every peer of a stream into its address book
        // (`InsertFullAddress`), whose storage only exists when the address book is
        // enabled: with it off, the router crashes on the first SAM stream, either way.
        // So a router with SAM keeps an address book, with nothing to fetch.
        c.set("addressbook", "enabled", yes_no(s.sam_port.is_some()))
            .set("addressbook", "defaulturl", "")
            .set("addressbook", "subscriptions", "");
        c.set("limits", "transittunnels", "5000");
        c
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn router_config_has_the_testnet_settings() {
        let dir = Path::new("/tmp/x");
        let c = I2pdConfig::for_router(&RouterSettings {
            data_dir: dir,
            netid: 99,
            addr: Ipv4Addr::new(198, 18, 0, 3),
            port: 21003,
            floodfill: true,
            bandwidth: "X",
            log_level: "info",
            console_port: 17003,
            sam_port: Some(17703),
            http_proxy_port: None,
            socks_proxy_port: None,
        });
        assert_eq!(c.get("", "netid"), Some("99"));
        assert_eq!(c.get("", "host"), Some("198.18.0.3"));
        assert_eq!(c.get("", "reservedrange"), Some("false"));
        assert_eq!(c.get("ntcp2", "port"), Some("21003"));
        assert_eq!(c.get("ssu2", "published"), Some("true"));
        assert_eq!(c.get("sam", "port"), Some("17703"));
        assert_eq!(
            c.get("addressbook", "enabled"),
            Some("true"),
            "i2pd's SAM needs its address book"
        );
        assert_eq!(c.get("httpproxy", "enabled"), Some("false"));
        let text = c.render();
        // Top-level keys first, then sections.
        let first_section = text.find('[').unwrap();
        assert!(text.find("netid = 99").unwrap() < first_section);
        assert!(text.contains("[http]\nenabled = true\naddress = 127.0.0.1\nport = 17003"));
        let mut c2 = c.clone();
        c2.set("", "netid", "7");
        assert_eq!(c2.get("", "netid"), Some("7"));
        assert_eq!(c2.render().matches("netid").count(), 1);
    }
}
