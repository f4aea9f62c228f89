//! The client and server tunnels file, in the form people know from i2pd's
//! `tunnels.conf` (i2ptunnel.md describes the tunnels themselves): one INI section per
//! tunnel, named by the section.
//!
//! ```ini
//! [my-site]
//! type = http            # server tunnel for an eepsite; also `server`
//! host = 127.0.0.1       # where the local server listens
//! port = 8080
//! inport = 80            # the I2P port it answers on (default: the same as port)
//! keys = my-site.dat     # private key file, relative to the data directory
//! inbound.length = 3     # client pool options (i2cp-overview.md)
//! i2cp.leaseSetType = 5  # publish an encrypted LeaseSet (b33 address); 3 by default
//!
//! [my-site-ssh]          # same keys: the same destination, another I2P port;
//! type = server          # streams to ports no tunnel claims go to the first one
//! port = 22
//! inport = 22
//! keys = my-site.dat
//!
//! [irc]
//! type = client          # local port -> a remote destination
//! address = 127.0.0.1
//! port = 6668
//! destination = irc.ilita.i2p
//! destinationport = 6667
//! keys = transient       # (the default) new keys at every start
//! ```
//!
//! Everything a file can say is checked here, with the section and line in the error;
//! unknown keys are refused so that typos do not pass silently.

use std::net::IpAddr;

use i2p_tunnel::pool::PoolConfig;

/// Largest tunnels file read.
pub const MAX_FILE_LEN: usize = 256 * 1024;
/// Most tunnels in one file.
pub const MAX_TUNNELS: usize = 64;

/// One tunnel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TunnelDef {
    /// The section name.
    pub name: String,
    /// What it does.
    pub kind: TunnelKind,
    /// Private key file (relative to the data directory), or `None` for transient keys.
    pub keys: Option<String>,
    /// Its client pool.
    pub pool: PoolConfig,
    /// `i2cp.leaseSetType = 5`: publish an encrypted LeaseSet (encryptedleaseset.rst),
    /// found only by those who know the `b33` address.
    pub encrypted_leaseset: bool,
}

/// What a tunnel does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TunnelKind {
    /// Accepts local TCP connections and carries them to a remote destination.
    Client {
        /// Local address to listen on.
        address: IpAddr,
        /// Local port.
        port: u16,
        /// The remote: a host name, a `.b32.i2p` address or a base64 destination.
        destination: String,
        /// The remote's I2P port (0: any).
        destination_port: u16,
    },
    /// Accepts I2P streams and carries them to a local TCP server.
    Server {
        /// The local server's address.
        host: IpAddr,
        /// The local server's port.
        port: u16,
        /// The I2P port it answers on (0: any).
        inport: u16,
        /// `type = http`: an HTTP server tunnel (the eepsite kind).
        http: bool,
    },
}

impl TunnelDef {
    /// Whether it is a server (its LeaseSet is published).
    pub fn is_server(&self) -> bool {
        matches!(self.kind, TunnelKind::Server { .. })
    }
}

/// A tunnels file that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TunnelsConfError {
    /// Over [`MAX_FILE_LEN`] or [`MAX_TUNNELS`].
    #[error("tunnels file: {0}")]
    TooBig(&'static str),
    /// A line that is not a section, a `key = value` or a comment.
    #[error("tunnels file line {line}: {reason}")]
    Syntax {
        /// 1-based line number.
        line: usize,
        /// Why.
        reason: String,
    },
    /// A tunnel that is not complete or not valid.
    #[error("tunnels file, tunnel [{tunnel}]: {reason}")]
    Tunnel {
        /// The section name.
        tunnel: String,
        /// Why.
        reason: String,
    },
}

/// One `key = value` line: the key (lowercase), the value, the line number.
type Entry = (String, String, usize);

/// Reads a tunnels file.
pub fn parse(text: &str) -> Result<Vec<TunnelDef>, TunnelsConfError> {
    if text.len() > MAX_FILE_LEN {
        return Err(TunnelsConfError::TooBig("over 256 KiB"));
    }
    let mut sections: Vec<(String, Vec<Entry>)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = strip_comment(raw).trim();
        if line.is_empty() {
            continue;
        }
        let syntax = |reason: &str| TunnelsConfError::Syntax {
            line: line_no,
            reason: reason.into(),
        };
        if let Some(rest) = line.strip_prefix('[') {
            let name = rest
                .strip_suffix(']')
                .ok_or_else(|| syntax("a section name must end with `]`"))?
                .trim();
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_. ".contains(c))
            {
                return Err(syntax(
                    "a tunnel name is letters, digits, spaces, `-`, `_` and `.`",
                ));
            }
            if sections.iter().any(|(n, _)| n == name) {
                return Err(syntax("this tunnel name is used twice"));
            }
            if sections.len() >= MAX_TUNNELS {
                return Err(TunnelsConfError::TooBig("more than 64 tunnels"));
            }
            sections.push((name.to_owned(), Vec::new()));
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| syntax("expected `key = value`"))?;
        let (key, value) = (key.trim().to_ascii_lowercase(), value.trim().to_owned());
        let Some((_, entries)) = sections.last_mut() else {
            return Err(syntax("`key = value` before any [tunnel] section"));
        };
        if entries.iter().any(|(k, _, _)| *k == key) {
            return Err(syntax("this key is given twice in the tunnel"));
        }
        entries.push((key, value, line_no));
    }
    sections
        .into_iter()
        .map(|(name, entries)| tunnel(name, &entries))
        .collect()
}

/// `#` and `;` start comments (outside of values that need them: none do).
fn strip_comment(line: &str) -> &str {
    match line.find(['#', ';']) {
        Some(i) => line.get(..i).unwrap_or(""),
        None => line,
    }
}

fn tunnel(name: String, entries: &[Entry]) -> Result<TunnelDef, TunnelsConfError> {
    let err = |reason: String| TunnelsConfError::Tunnel {
        tunnel: name.clone(),
        reason,
    };
    let get = |k: &str| {
        entries
            .iter()
            .find(|(key, _, _)| key == k)
            .map(|(_, v, _)| v.as_str())
    };
    let port_of = |k: &str| -> Result<Option<u16>, TunnelsConfError> {
        get(k)
            .map(|v| {
                v.parse::<u16>()
                    .map_err(|_| err(format!("`{k} = {v}` is not a port (0-65535)")))
            })
            .transpose()
    };
    let ip = |k: &str, default: &str| -> Result<IpAddr, TunnelsConfError> {
        let v = get(k).unwrap_or(default);
        v.parse::<IpAddr>()
            .map_err(|_| err(format!("`{k} = {v}` is not an IP address")))
    };
    let kind_name = get("type").ok_or_else(|| err("`type` is missing".into()))?;
    let (kind, allowed): (TunnelKind, &[&str]) = match kind_name {
        "client" => {
            let port = port_of("port")?
                .filter(|p| *p != 0)
                .ok_or_else(|| err("a client tunnel needs `port`".into()))?;
            let destination = get("destination")
                .filter(|d| !d.is_empty())
                .ok_or_else(|| err("a client tunnel needs `destination`".into()))?;
            (
                TunnelKind::Client {
                    address: ip("address", "127.0.0.1")?,
                    port,
                    destination: destination.to_owned(),
                    destination_port: port_of("destinationport")?.unwrap_or(0),
                },
                &["address", "port", "destination", "destinationport"],
            )
        }
        "server" | "http" => {
            let port = port_of("port")?
                .filter(|p| *p != 0)
                .ok_or_else(|| err("a server tunnel needs `port`".into()))?;
            (
                TunnelKind::Server {
                    host: ip("host", "127.0.0.1")?,
                    port,
                    // As i2pd: 0 or absent means the local port.
                    inport: port_of("inport")?.filter(|p| *p != 0).unwrap_or(port),
                    http: kind_name == "http",
                },
                &["host", "port", "inport"],
            )
        }
        other => {
            return Err(err(format!(
                "type `{other}` is not supported (client, server, http)"
            )))
        }
    };
    let mut pool = PoolConfig::client();
    let mut encrypted_leaseset = false;
    for (key, value, line) in entries {
        let number = || -> Result<usize, TunnelsConfError> {
            value
                .parse::<usize>()
                .map_err(|_| err(format!("line {line}: `{key} = {value}` is not a number")))
        };
        let checked = |n: usize, max: usize| {
            if n > max {
                Err(err(format!("line {line}: `{key}` is at most {max}")))
            } else {
                Ok(n)
            }
        };
        match key.as_str() {
            "type" | "keys" => {}
            "inbound.length" => pool.inbound_length = checked(number()?, 7)?,
            "outbound.length" => pool.outbound_length = checked(number()?, 7)?,
            "inbound.quantity" => pool.inbound_quantity = checked(number()?, 16)?.max(1),
            "outbound.quantity" => pool.outbound_quantity = checked(number()?, 16)?.max(1),
            "inbound.backupquantity" => pool.inbound_backups = checked(number()?, 3)?,
            "outbound.backupquantity" => pool.outbound_backups = checked(number()?, 3)?,
            "i2cp.leasesettype" => {
                encrypted_leaseset = match value.as_str() {
                    "3" => false,
                    "5" => true,
                    v => {
                        return Err(err(format!(
                    "line {line}: `i2cp.leaseSetType = {v}`: 3 (LeaseSet2) or 5 (encrypted) only"
                )))
                    }
                }
            }
            k if allowed.contains(&k) => {}
            k => {
                return Err(err(format!(
                    "line {line}: unknown key `{k}` for a {kind_name} tunnel"
                )))
            }
        }
    }
    let keys = match get("keys") {
        None | Some("transient") => None,
        Some(k) if k.starts_with("transient-") => None,
        Some(k) => {
            let path = std::path::Path::new(k);
            if k.is_empty()
                || path.is_absolute()
                || path
                    .components()
                    .any(|c| !matches!(c, std::path::Component::Normal(_)))
            {
                return Err(err(format!(
                    "`keys = {k}` must be a file name inside the data directory"
                )));
            }
            Some(k.to_owned())
        }
    };
    Ok(TunnelDef {
        name,
        kind,
        keys,
        pool,
        encrypted_leaseset,
    })
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn inport_zero_or_absent_is_the_local_port() {
        for text in [
            "[s]\ntype = server\nport = 8080\n",
            "[s]\ntype = server\nport = 8080\ninport = 0\n",
        ] {
            let defs = parse(text).unwrap();
            assert!(
                matches!(defs[0].kind, TunnelKind::Server { inport: 8080, .. }),
                "{text}"
            );
        }
        let defs = parse("[s]\ntype = server\nport = 8080\ninport = 80\n").unwrap();
        assert!(matches!(
            defs[0].kind,
            TunnelKind::Server { inport: 80, .. }
        ));
        let bad = parse("[s]\ntype = server\nport = 8080\ni2cp.leaseSetType = 7\n");
        assert!(bad.unwrap_err().to_string().contains("leaseSetType"));
        let enc = parse("[s]\ntype = server\nport = 8080\ni2cp.leaseSetType = 5\n").unwrap();
        assert!(enc[0].encrypted_leaseset);
    }

    #[test]
    fn i2pd_style_file() {
        let text = "\
# my tunnels
[my-site]
type = http
host = 127.0.0.1
port = 8080
inport = 80
keys = my-site.dat
inbound.length = 1 ; short for tests
outbound.length = 1

[irc]
type = client
port = 6668
destination = irc.ilita.i2p
destinationport = 6667
";
        let t = parse(text).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].name, "my-site");
        assert!(t[0].is_server());
        assert_eq!(
            t[0].kind,
            TunnelKind::Server {
                host: "127.0.0.1".parse().unwrap(),
                port: 8080,
                inport: 80,
                http: true
            }
        );
        assert_eq!(t[0].keys.as_deref(), Some("my-site.dat"));
        assert_eq!(
            (t[0].pool.inbound_length, t[0].pool.outbound_length),
            (1, 1)
        );
        assert_eq!(
            t[0].pool.inbound_quantity,
            PoolConfig::client().inbound_quantity
        );
        assert!(!t[1].is_server());
        assert_eq!(t[1].keys, None, "transient by default");
        assert_eq!(t[1].pool, PoolConfig::client());
        assert!(matches!(
            &t[1].kind,
            TunnelKind::Client { destination, port: 6668, destination_port: 6667, .. }
                if destination == "irc.ilita.i2p"
        ));
    }

    #[test]
    fn mistakes_are_named() {
        let e = |t: &str| parse(t).unwrap_err().to_string();
        assert_eq!(
            e("port = 1"),
            "tunnels file line 1: `key = value` before any [tunnel] section"
        );
        assert!(e("[a]\ntype = socks\n").contains("type `socks` is not supported"));
        assert!(e("[a]\ntype = server\n").contains("needs `port`"));
        assert!(e("[a]\ntype = server\nport = 99999\n").contains("not a port"));
        assert!(e("[a]\ntype = server\nport = 80\nhots = x\n").contains("unknown key `hots`"));
        assert!(e("[a]\ntype = server\nport = 80\ninbound.length = 9\n").contains("at most 7"));
        assert!(e("[a]\ntype = server\nport = 80\nkeys = ../x.dat\n")
            .contains("inside the data directory"));
        assert!(e("[a]\ntype = server\nport = 80\nkeys = /etc/x\n")
            .contains("inside the data directory"));
        assert!(e("[a]\n[a]\n").contains("used twice"));
        assert!(e("[a\n").contains("must end with"));
        assert!(e("[a]\ntype\n").contains("expected `key = value`"));
        assert!(e("[a]\ntype = client\nport = 1\n").contains("needs `destination`"));
        assert!(e("[a]\ntype = server\nport = 1\nport = 2\n").contains("given twice"));
        assert!(e(&"x".repeat(MAX_FILE_LEN + 1)).contains("256 KiB"));
        let many: String = (0..=MAX_TUNNELS).map(|i| format!("[t{i}]\n")).collect();
        assert!(e(&many).contains("more than 64"));
    }
}
