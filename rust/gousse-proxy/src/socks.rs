//! SOCKS 5 (RFC 1928) and SOCKS 4/4a messages as pure functions over bytes (socks.md:
//! "SOCKS 4/4a/5 are supported"). Every parser returns `Ok(None)` while the message
//! is incomplete, and never reads past the fields' own bounds (255-byte lengths).

/// SOCKS protocol version 5.
pub const SOCKS5: u8 = 5;
/// SOCKS protocol version 4 (and 4a).
pub const SOCKS4: u8 = 4;

/// RFC 1928, 3: "X'00' NO AUTHENTICATION REQUIRED".
pub const METHOD_NO_AUTH: u8 = 0x00;
/// RFC 1928, 3: "X'FF' NO ACCEPTABLE METHODS".
pub const METHOD_NONE_ACCEPTABLE: u8 = 0xff;

/// Longest SOCKS 4 user id or 4a domain accepted.
pub const MAX_SOCKS4_FIELD: usize = 255;

/// RFC 1928, 6: the REP field of a reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reply(pub u8);

impl Reply {
    /// "X'00' succeeded".
    pub const SUCCEEDED: Self = Self(0x00);
    /// "X'01' general SOCKS server failure".
    pub const GENERAL_FAILURE: Self = Self(0x01);
    /// "X'02' connection not allowed by ruleset".
    pub const NOT_ALLOWED: Self = Self(0x02);
    /// "X'03' Network unreachable".
    pub const NETWORK_UNREACHABLE: Self = Self(0x03);
    /// "X'04' Host unreachable".
    pub const HOST_UNREACHABLE: Self = Self(0x04);
    /// "X'05' Connection refused".
    pub const CONNECTION_REFUSED: Self = Self(0x05);
    /// "X'06' TTL expired".
    pub const TTL_EXPIRED: Self = Self(0x06);
    /// "X'07' Command not supported".
    pub const COMMAND_NOT_SUPPORTED: Self = Self(0x07);
    /// "X'08' Address type not supported".
    pub const ADDRESS_TYPE_NOT_SUPPORTED: Self = Self(0x08);
}

/// RFC 1928, 4: the CMD field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// X'01'.
    Connect,
    /// X'02'.
    Bind,
    /// X'03'.
    UdpAssociate,
    /// Anything else.
    Unknown(u8),
}

impl From<u8> for Command {
    fn from(b: u8) -> Self {
        match b {
            1 => Command::Connect,
            2 => Command::Bind,
            3 => Command::UdpAssociate,
            n => Command::Unknown(n),
        }
    }
}

/// RFC 1928, 4/5: DST.ADDR.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Address {
    /// ATYP X'01'.
    Ipv4([u8; 4]),
    /// ATYP X'03': a domain name (bytes as sent; I2P names are ASCII).
    Domain(Vec<u8>),
    /// ATYP X'04'.
    Ipv6([u8; 16]),
}

/// Why a SOCKS message was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SocksError {
    /// Not version 4 or 5.
    #[error("not a SOCKS 4 or 5 message (version byte {0})")]
    Version(u8),
    /// A greeting listing no method.
    #[error("SOCKS 5 greeting lists no authentication method")]
    NoMethods,
    /// An ATYP that is none of 1, 3, 4.
    #[error("unknown SOCKS 5 address type {0}")]
    AddressType(u8),
    /// An empty domain name.
    #[error("empty domain name")]
    EmptyDomain,
    /// A SOCKS 4 user id or 4a domain longer than [`MAX_SOCKS4_FIELD`].
    #[error("SOCKS 4 field longer than {MAX_SOCKS4_FIELD} bytes")]
    Socks4FieldTooLong,
}

/// RFC 1928, 3: the method-selection message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Greeting {
    /// The methods offered.
    pub methods: Vec<u8>,
}

/// Parses a SOCKS 5 greeting: VER, NMETHODS, METHODS.
pub fn parse_greeting(buf: &[u8]) -> Result<Option<(Greeting, usize)>, SocksError> {
    let Some((&ver, rest)) = buf.split_first() else {
        return Ok(None);
    };
    if ver != SOCKS5 {
        return Err(SocksError::Version(ver));
    }
    let Some((&n, rest)) = rest.split_first() else {
        return Ok(None);
    };
    if n == 0 {
        return Err(SocksError::NoMethods);
    }
    let Some(methods) = rest.get(..usize::from(n)) else {
        return Ok(None);
    };
    Ok(Some((
        Greeting {
            methods: methods.to_vec(),
        },
        2 + usize::from(n),
    )))
}

/// RFC 1928, 4: a SOCKS 5 request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// CMD.
    pub command: Command,
    /// DST.ADDR.
    pub address: Address,
    /// DST.PORT.
    pub port: u16,
}

/// Parses a SOCKS 5 request: VER, CMD, RSV, ATYP, DST.ADDR, DST.PORT.
pub fn parse_request(buf: &[u8]) -> Result<Option<(Request, usize)>, SocksError> {
    let Some(&ver) = buf.first() else {
        return Ok(None);
    };
    if ver != SOCKS5 {
        return Err(SocksError::Version(ver));
    }
    let (Some(&cmd), Some(&atyp)) = (buf.get(1), buf.get(3)) else {
        return Ok(None);
    };
    let (address, addr_end) = match atyp {
        1 => match buf.get(4..8) {
            Some(a) => (Address::Ipv4(<[u8; 4]>::try_from(a).unwrap_or_default()), 8),
            None => return Ok(None),
        },
        4 => match buf.get(4..20) {
            Some(a) => (
                Address::Ipv6(<[u8; 16]>::try_from(a).unwrap_or_default()),
                20,
            ),
            None => return Ok(None),
        },
        3 => {
            let Some(&len) = buf.get(4) else {
                return Ok(None);
            };
            if len == 0 {
                return Err(SocksError::EmptyDomain);
            }
            let end = 5 + usize::from(len);
            match buf.get(5..end) {
                Some(d) => (Address::Domain(d.to_vec()), end),
                None => return Ok(None),
            }
        }
        other => return Err(SocksError::AddressType(other)),
    };
    let Some(p) = buf.get(addr_end..addr_end + 2) else {
        return Ok(None);
    };
    let port = u16::from_be_bytes([
        p.first().copied().unwrap_or(0),
        p.get(1).copied().unwrap_or(0),
    ]);
    Ok(Some((
        Request {
            command: Command::from(cmd),
            address,
            port,
        },
        addr_end + 2,
    )))
}

/// A SOCKS 4 or 4a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Socks4Request {
    /// CD: 1 CONNECT, 2 BIND.
    pub command: Command,
    /// DSTPORT.
    pub port: u16,
    /// DSTIP, or the 4a domain when DSTIP is `0.0.0.x` with `x != 0`.
    pub address: Address,
    /// USERID (ignored).
    pub user_id: Vec<u8>,
}

fn take_cstr(buf: &[u8], from: usize) -> Result<Option<(&[u8], usize)>, SocksError> {
    let rest = buf.get(from..).unwrap_or(&[]);
    match rest.iter().position(|b| *b == 0) {
        Some(n) if n > MAX_SOCKS4_FIELD => Err(SocksError::Socks4FieldTooLong),
        Some(n) => Ok(Some((rest.get(..n).unwrap_or(&[]), from + n + 1))),
        None if rest.len() > MAX_SOCKS4_FIELD => Err(SocksError::Socks4FieldTooLong),
        None => Ok(None),
    }
}

/// Parses a SOCKS 4/4a request: VN, CD, DSTPORT, DSTIP, USERID, NUL [, domain, NUL].
pub fn parse_socks4_request(buf: &[u8]) -> Result<Option<(Socks4Request, usize)>, SocksError> {
    let Some(&ver) = buf.first() else {
        return Ok(None);
    };
    if ver != SOCKS4 {
        return Err(SocksError::Version(ver));
    }
    let Some(fixed) = buf.get(..8) else {
        return Ok(None);
    };
    let cmd = fixed.get(1).copied().unwrap_or(0);
    let port = u16::from_be_bytes([
        fixed.get(2).copied().unwrap_or(0),
        fixed.get(3).copied().unwrap_or(0),
    ]);
    let ip: [u8; 4] = fixed
        .get(4..8)
        .and_then(|s| <[u8; 4]>::try_from(s).ok())
        .unwrap_or_default();
    let Some((user_id, after_user)) = take_cstr(buf, 8)? else {
        return Ok(None);
    };
    let is_4a = ip[..3] == [0, 0, 0] && ip[3] != 0;
    let (address, end) = if is_4a {
        let Some((domain, end)) = take_cstr(buf, after_user)? else {
            return Ok(None);
        };
        if domain.is_empty() {
            return Err(SocksError::EmptyDomain);
        }
        (Address::Domain(domain.to_vec()), end)
    } else {
        (Address::Ipv4(ip), after_user)
    };
    Ok(Some((
        Socks4Request {
            command: Command::from(cmd),
            port,
            address,
            user_id: user_id.to_vec(),
        },
        end,
    )))
}

/// RFC 1928, 6: a reply with BND.ADDR `0.0.0.0` and BND.PORT 0 (a stream into I2P
/// has no local address worth telling).
pub fn reply(rep: Reply) -> [u8; 10] {
    [SOCKS5, rep.0, 0, 1, 0, 0, 0, 0, 0, 0]
}

/// A SOCKS 4 reply: `0x5A` granted, `0x5B` rejected or failed.
pub fn socks4_reply(granted: bool) -> [u8; 8] {
    [0, if granted { 0x5a } else { 0x5b }, 0, 0, 0, 0, 0, 0]
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod test {
    use super::*;

    #[test]
    fn greeting() {
        assert_eq!(parse_greeting(b"").unwrap(), None);
        assert_eq!(parse_greeting(b"\x05").unwrap(), None);
        assert_eq!(parse_greeting(b"\x05\x02\x00").unwrap(), None);
        let (g, n) = parse_greeting(b"\x05\x02\x00\x02rest").unwrap().unwrap();
        assert_eq!((g.methods, n), (vec![0, 2], 4));
        assert_eq!(parse_greeting(b"\x05\x00"), Err(SocksError::NoMethods));
        assert_eq!(parse_greeting(b"GET /"), Err(SocksError::Version(b'G')));
    }

    #[test]
    fn requests_of_each_address_type() {
        let mut dom = vec![5, 1, 0, 3, 7];
        dom.extend_from_slice(b"zzz.i2p");
        dom.extend_from_slice(&[0, 80]);
        for cut in 0..dom.len() {
            assert_eq!(parse_request(&dom[..cut]).unwrap(), None, "cut {cut}");
        }
        let (r, n) = parse_request(&dom).unwrap().unwrap();
        assert_eq!(n, dom.len());
        assert_eq!(
            r,
            Request {
                command: Command::Connect,
                address: Address::Domain(b"zzz.i2p".to_vec()),
                port: 80
            }
        );
        let (r, n) = parse_request(&[5, 2, 0, 1, 10, 0, 0, 1, 0x1f, 0x90])
            .unwrap()
            .unwrap();
        assert_eq!(
            (r.command, r.address, r.port, n),
            (Command::Bind, Address::Ipv4([10, 0, 0, 1]), 8080, 10)
        );
        let mut v6 = vec![5, 3, 0, 4];
        v6.extend_from_slice(&[0; 15]);
        v6.extend_from_slice(&[1, 0, 53]);
        let (r, _) = parse_request(&v6).unwrap().unwrap();
        assert_eq!(r.command, Command::UdpAssociate);
        assert!(matches!(r.address, Address::Ipv6(a) if a[15] == 1));
        assert_eq!(
            parse_request(&[5, 1, 0, 9, 0]),
            Err(SocksError::AddressType(9))
        );
        assert_eq!(
            parse_request(&[5, 1, 0, 3, 0, 0, 80]),
            Err(SocksError::EmptyDomain)
        );
        assert_eq!(parse_request(&[4, 1]), Err(SocksError::Version(4)));
        let (r, _) = parse_request(&[5, 9, 0, 1, 1, 2, 3, 4, 0, 1])
            .unwrap()
            .unwrap();
        assert_eq!(r.command, Command::Unknown(9));
    }

    #[test]
    fn socks4_and_4a() {
        let s4 = b"\x04\x01\x00\x50\x0a\x00\x00\x01user\x00";
        let (r, n) = parse_socks4_request(s4).unwrap().unwrap();
        assert_eq!(
            (r.address, r.port, n),
            (Address::Ipv4([10, 0, 0, 1]), 80, s4.len())
        );
        let s4a = b"\x04\x01\x00\x50\x00\x00\x00\x01\x00zzz.i2p\x00";
        let (r, n) = parse_socks4_request(s4a).unwrap().unwrap();
        assert_eq!(
            (r.address, n),
            (Address::Domain(b"zzz.i2p".to_vec()), s4a.len())
        );
        for cut in 0..s4a.len() {
            assert_eq!(
                parse_socks4_request(&s4a[..cut]).unwrap(),
                None,
                "cut {cut}"
            );
        }
        let mut long = b"\x04\x01\x00\x50\x0a\x00\x00\x01".to_vec();
        long.extend_from_slice(&[b'u'; 300]);
        assert_eq!(
            parse_socks4_request(&long),
            Err(SocksError::Socks4FieldTooLong)
        );
    }

    #[test]
    fn replies() {
        assert_eq!(
            reply(Reply::HOST_UNREACHABLE),
            [5, 4, 0, 1, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(socks4_reply(true)[1], 0x5a);
        assert_eq!(socks4_reply(false)[1], 0x5b);
    }
}
