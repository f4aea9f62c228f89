//! The datagram formats of the UDP port (samv3.md, "SAM Datagrams"): the header line
//! of datagrams clients send to the bridge's UDP port, and the lines the bridge puts
//! before datagrams it forwards or writes on the control socket.

use std::fmt::Write as _;

use crate::backend::{DatagramFrom, ReceivedDatagram};
use crate::command::parse_decimal;
use crate::reply::Reply;
use crate::version::Version;

/// Longest header line accepted on the UDP port (a destination is ~520 base64
/// characters; options add little).
pub const MAX_UDP_HEADER: usize = 4096;

/// The first line of a datagram sent to the UDP port: `3.x $nickname $destination
/// [FROM_PORT=] [TO_PORT=] [PROTOCOL=] [SEND_TAGS=] [TAG_THRESHOLD=] [EXPIRES=]
/// [SEND_LEASESET=]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpHeader {
    /// The session ID.
    pub nickname: String,
    /// The target (base64 destination, b32 address or host name).
    pub destination: String,
    /// FROM_PORT override.
    pub from_port: Option<u16>,
    /// TO_PORT override.
    pub to_port: Option<u16>,
    /// PROTOCOL override (RAW sessions).
    pub protocol: Option<u8>,
}

/// Why a UDP datagram was dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UdpHeaderError {
    /// No `\n` within [`MAX_UDP_HEADER`] bytes.
    #[error("no header line")]
    NoHeader,
    /// Not UTF-8, or a control character in the header.
    #[error("header is not clean UTF-8")]
    Encoding,
    /// The version word is not `3.x`.
    #[error("version is not 3.x")]
    Version,
    /// Nickname or destination missing.
    #[error("missing nickname or destination")]
    Missing,
    /// A malformed option.
    #[error("bad option {0}")]
    Option(&'static str),
}

/// Splits a UDP datagram into its header and payload. Total.
pub fn parse_udp(packet: &[u8]) -> Result<(UdpHeader, &[u8]), UdpHeaderError> {
    let nl = packet
        .iter()
        .take(MAX_UDP_HEADER)
        .position(|&b| b == b'\n')
        .ok_or(UdpHeaderError::NoHeader)?;
    let (head, rest) = packet.split_at(nl);
    let payload = rest.get(1..).unwrap_or_default();
    let head = std::str::from_utf8(head).map_err(|_| UdpHeaderError::Encoding)?;
    let head = head.strip_suffix('\r').unwrap_or(head);
    if head.chars().any(|c| c.is_control() && c != '\t') {
        return Err(UdpHeaderError::Encoding);
    }
    let mut words = head.split([' ', '\t']).filter(|w| !w.is_empty());
    // "As of SAM 3.2, any "3.x" is allowed."
    match words.next().and_then(Version::parse) {
        Some(v) if v.major == 3 => {}
        _ => return Err(UdpHeaderError::Version),
    }
    let nickname = words.next().ok_or(UdpHeaderError::Missing)?.to_owned();
    let destination = words.next().ok_or(UdpHeaderError::Missing)?.to_owned();
    let mut h = UdpHeader {
        nickname,
        destination,
        from_port: None,
        to_port: None,
        protocol: None,
    };
    for w in words {
        let Some((k, v)) = w.split_once('=') else {
            return Err(UdpHeaderError::Option("not KEY=VALUE"));
        };
        let bad = |key: &'static str| UdpHeaderError::Option(key);
        match k {
            "FROM_PORT" => {
                h.from_port =
                    Some(parse_decimal(v, "UDP", "FROM_PORT").map_err(|_| bad("FROM_PORT"))?)
            }
            "TO_PORT" => {
                h.to_port = Some(parse_decimal(v, "UDP", "TO_PORT").map_err(|_| bad("TO_PORT"))?)
            }
            "PROTOCOL" => {
                h.protocol = Some(parse_decimal(v, "UDP", "PROTOCOL").map_err(|_| bad("PROTOCOL"))?)
            }
            // SEND_TAGS, TAG_THRESHOLD, EXPIRES, SEND_LEASESET: "Support by the SAM
            // server is optional, it will ignore these options if unsupported."
            _ => {}
        }
    }
    Ok((h, payload))
}

/// The `$destination` of a received repliable datagram: the full base64 destination,
/// or for Datagram3 "a 44-byte base64 hash".
fn source(from: &DatagramFrom) -> Option<String> {
    match from {
        DatagramFrom::Anonymous => None,
        DatagramFrom::Destination(d) => Some(d.to_base64()),
        DatagramFrom::Hash(h) => Some(h.to_base64()),
    }
}

/// A datagram as forwarded to the HOST:PORT of its session (samv3.md, "Forwarding Raw
/// or Repliable Datagrams"): `$destination[ FROM_PORT= TO_PORT=]\n` before repliable
/// payloads; raw payloads as they are, or after `FROM_PORT= TO_PORT= PROTOCOL=\n` when
/// HEADER=true.
pub fn forward_packet(dg: &ReceivedDatagram, version: Version, header: bool) -> Vec<u8> {
    let ports = version >= Version::V3_2;
    let mut line = String::new();
    match source(&dg.from) {
        Some(src) => {
            line.push_str(&src);
            if ports {
                let _ = write!(line, " FROM_PORT={} TO_PORT={}", dg.from_port, dg.to_port);
            }
            line.push('\n');
        }
        None if header => {
            let _ = writeln!(
                line,
                "FROM_PORT={} TO_PORT={} PROTOCOL={}",
                dg.from_port, dg.to_port, dg.protocol
            );
        }
        None => {}
    }
    let mut out = line.into_bytes();
    out.extend_from_slice(&dg.payload);
    out
}

/// A datagram as written on the control socket (no forwarding PORT): `DATAGRAM
/// RECEIVED` or `RAW RECEIVED`, then the payload.
pub fn control_message(dg: &ReceivedDatagram, version: Version) -> Vec<u8> {
    let ports = version >= Version::V3_2;
    let size = u32::try_from(dg.payload.len()).unwrap_or(u32::MAX);
    let reply = match source(&dg.from) {
        Some(destination) => Reply::DatagramReceived {
            destination,
            size,
            from_port: ports.then_some(dg.from_port),
            to_port: ports.then_some(dg.to_port),
        },
        None => Reply::RawReceived {
            size,
            from_port: ports.then_some(dg.from_port),
            to_port: ports.then_some(dg.to_port),
            protocol: ports.then_some(dg.protocol),
        },
    };
    let mut out = reply.to_line().into_bytes();
    out.extend_from_slice(&dg.payload);
    out
}

#[cfg(test)]
mod test {
    use super::*;
    use i2p_wire::DestinationKeys;

    #[test]
    fn udp_header() {
        let (h, p) = parse_udp(b"3.0 nick dest\nhello").unwrap();
        assert_eq!(
            (h.nickname.as_str(), h.destination.as_str()),
            ("nick", "dest")
        );
        assert_eq!(p, b"hello");
        let (h, p) =
            parse_udp(b"3.3 Nick x.i2p FROM_PORT=5 TO_PORT=6 PROTOCOL=200 SEND_TAGS=3\r\n\n")
                .unwrap();
        assert_eq!(h.nickname, "Nick", "nickname keeps its case");
        assert_eq!(
            (h.from_port, h.to_port, h.protocol),
            (Some(5), Some(6), Some(200))
        );
        assert_eq!(p, b"\n");
        for bad in [
            &b"3.0 nick dest"[..],
            b"2.0 nick dest\nx",
            b"3.0 nick\nx",
            b"3.0 nick dest FROM_PORT=70000\nx",
            b"3.0 nick dest junk\nx",
            b"3.0 n\x01 dest\nx",
            b"\xff\n",
        ] {
            assert!(parse_udp(bad).is_err(), "{bad:?}");
        }
        let mut long = vec![b'a'; MAX_UDP_HEADER + 1];
        long.push(b'\n');
        assert_eq!(parse_udp(&long), Err(UdpHeaderError::NoHeader));
    }

    #[test]
    fn forwarded_formats() {
        let d = DestinationKeys::generate().destination().clone();
        let dg = ReceivedDatagram {
            from: DatagramFrom::Destination(d.clone()),
            from_port: 1,
            to_port: 2,
            protocol: 17,
            payload: b"hi".to_vec(),
        };
        let out = forward_packet(&dg, Version::V3_3, false);
        assert_eq!(
            out,
            format!("{} FROM_PORT=1 TO_PORT=2\nhi", d.to_base64()).into_bytes()
        );
        let out = forward_packet(&dg, Version::V3_1, false);
        assert_eq!(out, format!("{}\nhi", d.to_base64()).into_bytes());
        let raw = ReceivedDatagram {
            from: DatagramFrom::Anonymous,
            protocol: 18,
            ..dg.clone()
        };
        assert_eq!(forward_packet(&raw, Version::V3_3, false), b"hi");
        assert_eq!(
            forward_packet(&raw, Version::V3_3, true),
            b"FROM_PORT=1 TO_PORT=2 PROTOCOL=18\nhi"
        );
        assert_eq!(
            control_message(&raw, Version::V3_3),
            b"RAW RECEIVED SIZE=2 FROM_PORT=1 TO_PORT=2 PROTOCOL=18\nhi"
        );
        let h = d.hash();
        let d3 = ReceivedDatagram {
            from: DatagramFrom::Hash(h),
            ..dg
        };
        let line = control_message(&d3, Version::V3_3);
        assert!(line.starts_with(
            format!("DATAGRAM RECEIVED DESTINATION={} SIZE=2", h.to_base64()).as_bytes()
        ));
    }
}
