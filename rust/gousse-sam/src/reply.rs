//! Replies from the bridge to the client: result codes, a writer that can never split or
//! inject a line, and a reader (the same tokenizer as commands) for clients and tests.

use std::fmt::{self, Write as _};

use zeroize::Zeroizing;

use crate::error::ParseError;
use crate::line::{tokenize, Line};
use crate::version::Version;

/// RESULT values (samv3.md, "RESULT Values", plus those named in the command sections).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResultCode {
    /// "Operation completed successfully".
    Ok,
    /// "The peer exists, but cannot be reached".
    CantReachPeer,
    /// "The specified Destination is already in use".
    DuplicatedDest,
    /// "If the nickname is already associated with a session".
    DuplicatedId,
    /// "A generic I2P error (e.g. I2CP disconnection, etc.)".
    I2pError,
    /// "The specified key is not valid (bad format, etc.)".
    InvalidKey,
    /// STREAM CONNECT/ACCEPT/FORWARD: no session with that ID.
    InvalidId,
    /// "The naming system can't resolve the given name".
    KeyNotFound,
    /// "The peer cannot be found on the network".
    PeerNotFound,
    /// "Timeout while waiting for an event (e.g. peer answer)".
    Timeout,
    /// Java I2P: the private key may not be exported.
    NoExport,
    /// NAMING LOOKUP with OPTIONS=true and no leaseset (router API 0.9.66).
    LeasesetNotFound,
    /// HELLO: "If the SAM bridge cannot find a suitable version".
    NoVersion,
    /// Concurrent STREAM ACCEPT before SAM 3.2.
    AlreadyAccepting,
}

impl ResultCode {
    /// Every code, for tests and tables.
    pub const ALL: [ResultCode; 14] = [
        Self::Ok,
        Self::CantReachPeer,
        Self::DuplicatedDest,
        Self::DuplicatedId,
        Self::I2pError,
        Self::InvalidKey,
        Self::InvalidId,
        Self::KeyNotFound,
        Self::PeerNotFound,
        Self::Timeout,
        Self::NoExport,
        Self::LeasesetNotFound,
        Self::NoVersion,
        Self::AlreadyAccepting,
    ];

    /// The wire spelling, e.g. `CANT_REACH_PEER`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::CantReachPeer => "CANT_REACH_PEER",
            Self::DuplicatedDest => "DUPLICATED_DEST",
            Self::DuplicatedId => "DUPLICATED_ID",
            Self::I2pError => "I2P_ERROR",
            Self::InvalidKey => "INVALID_KEY",
            Self::InvalidId => "INVALID_ID",
            Self::KeyNotFound => "KEY_NOT_FOUND",
            Self::PeerNotFound => "PEER_NOT_FOUND",
            Self::Timeout => "TIMEOUT",
            Self::NoExport => "NOEXPORT",
            Self::LeasesetNotFound => "LEASESET_NOT_FOUND",
            Self::NoVersion => "NOVERSION",
            Self::AlreadyAccepting => "ALREADY_ACCEPTING",
        }
    }

    /// Reads the wire spelling (case-sensitive, as the protocol is).
    pub fn from_wire(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for ResultCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A line from the bridge to the client.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reply {
    /// `HELLO REPLY RESULT=... [VERSION=...] [MESSAGE="..."]`.
    Hello {
        /// RESULT.
        result: ResultCode,
        /// VERSION, on OK.
        version: Option<Version>,
        /// MESSAGE.
        message: Option<String>,
    },
    /// `SESSION STATUS RESULT=... [DESTINATION=$privkey] [MESSAGE="..."]`.
    SessionStatus {
        /// RESULT.
        result: ResultCode,
        /// DESTINATION: the base64 *private* key on OK for SESSION CREATE.
        destination: Option<Zeroizing<String>>,
        /// MESSAGE.
        message: Option<String>,
    },
    /// `STREAM STATUS RESULT=... [MESSAGE="..."]`.
    StreamStatus {
        /// RESULT.
        result: ResultCode,
        /// MESSAGE.
        message: Option<String>,
    },
    /// `NAMING REPLY RESULT=... NAME=... [VALUE=...] [MESSAGE="..."] [OPTION:k="v"]*`.
    NamingReply {
        /// RESULT.
        result: ResultCode,
        /// NAME, as looked up.
        name: String,
        /// VALUE: the base64 destination, on OK.
        value: Option<String>,
        /// MESSAGE.
        message: Option<String>,
        /// Leaseset options (router API 0.9.66), written `OPTION:key="value"`.
        options: Vec<(String, String)>,
    },
    /// `DEST REPLY PUB=$destination PRIV=$privkey`.
    DestReply {
        /// PUB, the base64 destination.
        public: String,
        /// PRIV, the base64 private key file.
        private: Zeroizing<String>,
    },
    /// `DATAGRAM RECEIVED DESTINATION=... SIZE=n [FROM_PORT=n TO_PORT=n]`, then `SIZE` bytes.
    DatagramReceived {
        /// DESTINATION of the sender (for Datagram3, a 44-character base64 hash).
        destination: String,
        /// SIZE of the payload that follows the line.
        size: u32,
        /// FROM_PORT (SAM 3.2+).
        from_port: Option<u16>,
        /// TO_PORT (SAM 3.2+).
        to_port: Option<u16>,
    },
    /// `RAW RECEIVED SIZE=n [FROM_PORT=n TO_PORT=n PROTOCOL=n]`, then `SIZE` bytes.
    RawReceived {
        /// SIZE of the payload that follows the line.
        size: u32,
        /// FROM_PORT (SAM 3.2+).
        from_port: Option<u16>,
        /// TO_PORT (SAM 3.2+).
        to_port: Option<u16>,
        /// PROTOCOL (SAM 3.2+).
        protocol: Option<u8>,
    },
    /// `PING[ text]` sent by the bridge (keepalive).
    Ping {
        /// The arbitrary text.
        text: String,
    },
    /// `PONG[ text]`, echoing a client PING's text.
    Pong {
        /// The arbitrary text from the PING.
        text: String,
    },
}

impl fmt::Debug for Reply {
    // Never prints private keys.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reply::SessionStatus {
                result, message, ..
            } => f
                .debug_struct("SessionStatus")
                .field("result", result)
                .field("message", message)
                .finish_non_exhaustive(),
            Reply::DestReply { public, .. } => f
                .debug_struct("DestReply")
                .field("public", public)
                .finish_non_exhaustive(),
            other => {
                let mut s = String::new();
                other.write_line(&mut s);
                f.debug_tuple("Reply").field(&s.trim_end()).finish()
            }
        }
    }
}

/// Whether a value must be quoted: empty, or holding a separator, quote or backslash, so
/// a written value always reads back as itself. (`=` needs no quotes: only the first `=`
/// of a pair splits it, and base64 padding is written bare, as the spec shows.)
fn needs_quotes(v: &str) -> bool {
    v.is_empty() || v.chars().any(|c| matches!(c, ' ' | '\t' | '"' | '\\'))
}

/// Replaces every control character (newline included) by a space: a reply is one line.
fn push_clean(out: &mut String, s: &str) {
    out.extend(s.chars().map(|c| if is_line_breaking(c) { ' ' } else { c }));
}

fn is_line_breaking(c: char) -> bool {
    (c.is_control() && c != '\t') || c == '\u{2028}' || c == '\u{2029}'
}

/// Appends ` KEY=value`, quoting and escaping the value when needed, so that the value
/// can neither end the line nor start another pair.
fn push_pair(out: &mut String, key: &str, value: &str, force_quotes: bool) {
    out.push(' ');
    push_clean(out, key);
    out.push('=');
    if force_quotes || needs_quotes(value) {
        out.push('"');
        for c in value.chars() {
            match c {
                '"' | '\\' => {
                    out.push('\\');
                    out.push(c);
                }
                c if is_line_breaking(c) => out.push(' '),
                c => out.push(c),
            }
        }
        out.push('"');
    } else {
        push_clean(out, value);
    }
}

/// samv3.md, "Name Lookup Options": "Keys containing '=', and keys or values containing a
/// newline, are considered invalid and the key/value pair will be removed from the
/// reply." We also drop keys the tokenizer could not read back as one bare key.
fn option_key_ok(k: &str) -> bool {
    !k.is_empty()
        && k.len() + "OPTION:".len() <= crate::line::MAX_KEY_LEN
        && !k
            .chars()
            .any(|c| matches!(c, '=' | ' ' | '\t' | '"' | '\\') || c.is_control())
}

fn option_value_ok(v: &str) -> bool {
    !v.contains(['\n', '\r'])
}

impl Reply {
    /// The reply as one `\n`-terminated line.
    pub fn to_line(&self) -> String {
        let mut out = String::new();
        self.write_line(&mut out);
        out
    }

    /// Appends the reply as one `\n`-terminated line to `out`.
    ///
    /// Whatever the field contents, the output is exactly one line: control characters
    /// are replaced by spaces and values with spaces, quotes or backslashes are
    /// quoted and escaped. MESSAGE is always quoted, as the spec writes it.
    pub fn write_line(&self, out: &mut String) {
        fn opt_msg(out: &mut String, m: &Option<String>) {
            if let Some(m) = m {
                push_pair(out, "MESSAGE", m, true);
            }
        }
        fn num(out: &mut String, key: &str, n: Option<impl fmt::Display>) {
            if let Some(n) = n {
                let _ = write!(out, " {key}={n}");
            }
        }
        match self {
            Reply::Hello {
                result,
                version,
                message,
            } => {
                out.push_str("HELLO REPLY");
                push_pair(out, "RESULT", result.as_str(), false);
                num(out, "VERSION", version.as_ref());
                opt_msg(out, message);
            }
            Reply::SessionStatus {
                result,
                destination,
                message,
            } => {
                out.push_str("SESSION STATUS");
                push_pair(out, "RESULT", result.as_str(), false);
                if let Some(d) = destination {
                    push_pair(out, "DESTINATION", d, false);
                }
                opt_msg(out, message);
            }
            Reply::StreamStatus { result, message } => {
                out.push_str("STREAM STATUS");
                push_pair(out, "RESULT", result.as_str(), false);
                opt_msg(out, message);
            }
            Reply::NamingReply {
                result,
                name,
                value,
                message,
                options,
            } => {
                out.push_str("NAMING REPLY");
                push_pair(out, "RESULT", result.as_str(), false);
                push_pair(out, "NAME", name, false);
                if let Some(v) = value {
                    push_pair(out, "VALUE", v, false);
                }
                opt_msg(out, message);
                let mut seen: Vec<&str> = Vec::new();
                for (k, v) in options {
                    if option_key_ok(k) && option_value_ok(v) && !seen.contains(&k.as_str()) {
                        seen.push(k);
                        push_pair(out, &format!("OPTION:{k}"), v, true);
                    }
                }
            }
            Reply::DestReply { public, private } => {
                out.push_str("DEST REPLY");
                push_pair(out, "PUB", public, false);
                push_pair(out, "PRIV", private, false);
            }
            Reply::DatagramReceived {
                destination,
                size,
                from_port,
                to_port,
            } => {
                out.push_str("DATAGRAM RECEIVED");
                push_pair(out, "DESTINATION", destination, false);
                num(out, "SIZE", Some(size));
                num(out, "FROM_PORT", from_port.as_ref());
                num(out, "TO_PORT", to_port.as_ref());
            }
            Reply::RawReceived {
                size,
                from_port,
                to_port,
                protocol,
            } => {
                out.push_str("RAW RECEIVED");
                num(out, "SIZE", Some(size));
                num(out, "FROM_PORT", from_port.as_ref());
                num(out, "TO_PORT", to_port.as_ref());
                num(out, "PROTOCOL", protocol.as_ref());
            }
            Reply::Ping { text } | Reply::Pong { text } => {
                out.push_str(if matches!(self, Reply::Ping { .. }) {
                    "PING"
                } else {
                    "PONG"
                });
                if !text.is_empty() {
                    out.push(' ');
                    push_clean(out, text);
                }
            }
        }
        out.push('\n');
    }

    /// Reads a reply line (client side, and our own round-trip tests).
    pub fn parse(raw: &[u8]) -> Result<Reply, ParseError> {
        let line = tokenize(raw)?;
        reply_from_line(&line)
    }
}

fn result_of(line: &Line, command: &'static str) -> Result<ResultCode, ParseError> {
    let v = line.get("RESULT").ok_or(ParseError::MissingKey {
        command,
        key: "RESULT",
    })?;
    ResultCode::from_wire(v).ok_or(ParseError::InvalidValue {
        command,
        key: "RESULT",
        reason: "unknown result code",
    })
}

fn opt_num<T: std::str::FromStr>(
    line: &Line,
    command: &'static str,
    key: &'static str,
) -> Result<Option<T>, ParseError> {
    line.get(key)
        .map(|v| crate::command::parse_decimal(v, command, key))
        .transpose()
}

fn reply_from_line(line: &Line) -> Result<Reply, ParseError> {
    let owned = |k: &str| line.get(k).map(str::to_owned);
    let sub = line.sub.as_deref();
    Ok(match (line.verb.as_str(), sub) {
        ("HELLO", Some("REPLY")) => {
            const C: &str = "HELLO REPLY";
            let version = match line.get("VERSION") {
                Some(v) => Some(Version::parse(v).ok_or(ParseError::InvalidValue {
                    command: C,
                    key: "VERSION",
                    reason: "not a version",
                })?),
                None => None,
            };
            Reply::Hello {
                result: result_of(line, C)?,
                version,
                message: owned("MESSAGE"),
            }
        }
        ("SESSION", Some("STATUS")) => Reply::SessionStatus {
            result: result_of(line, "SESSION STATUS")?,
            destination: owned("DESTINATION").map(Zeroizing::new),
            message: owned("MESSAGE"),
        },
        ("STREAM", Some("STATUS")) => Reply::StreamStatus {
            result: result_of(line, "STREAM STATUS")?,
            message: owned("MESSAGE"),
        },
        ("NAMING", Some("REPLY")) => {
            const C: &str = "NAMING REPLY";
            Reply::NamingReply {
                result: result_of(line, C)?,
                name: owned("NAME").ok_or(ParseError::MissingKey {
                    command: C,
                    key: "NAME",
                })?,
                value: owned("VALUE"),
                message: owned("MESSAGE"),
                options: line
                    .pairs
                    .iter()
                    .filter_map(|(k, v)| Some((k.strip_prefix("OPTION:")?.to_owned(), v.clone())))
                    .collect(),
            }
        }
        ("DEST", Some("REPLY")) => {
            const C: &str = "DEST REPLY";
            Reply::DestReply {
                public: owned("PUB").ok_or(ParseError::MissingKey {
                    command: C,
                    key: "PUB",
                })?,
                private: Zeroizing::new(owned("PRIV").ok_or(ParseError::MissingKey {
                    command: C,
                    key: "PRIV",
                })?),
            }
        }
        ("DATAGRAM", Some("RECEIVED")) => {
            const C: &str = "DATAGRAM RECEIVED";
            Reply::DatagramReceived {
                destination: owned("DESTINATION").ok_or(ParseError::MissingKey {
                    command: C,
                    key: "DESTINATION",
                })?,
                size: opt_num(line, C, "SIZE")?.ok_or(ParseError::MissingKey {
                    command: C,
                    key: "SIZE",
                })?,
                from_port: opt_num(line, C, "FROM_PORT")?,
                to_port: opt_num(line, C, "TO_PORT")?,
            }
        }
        ("RAW", Some("RECEIVED")) => {
            const C: &str = "RAW RECEIVED";
            Reply::RawReceived {
                size: opt_num(line, C, "SIZE")?.ok_or(ParseError::MissingKey {
                    command: C,
                    key: "SIZE",
                })?,
                from_port: opt_num(line, C, "FROM_PORT")?,
                to_port: opt_num(line, C, "TO_PORT")?,
                protocol: opt_num(line, C, "PROTOCOL")?,
            }
        }
        ("PING", _) => Reply::Ping {
            text: line.text.clone().unwrap_or_default(),
        },
        ("PONG", _) => Reply::Pong {
            text: line.text.clone().unwrap_or_default(),
        },
        _ => {
            return Err(ParseError::UnknownCommand {
                verb: line.verb.clone(),
                sub: line.sub.clone(),
            })
        }
    })
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn spec_reply_lines() {
        let hello = Reply::Hello {
            result: ResultCode::Ok,
            version: Some(Version::V3_3),
            message: None,
        };
        assert_eq!(hello.to_line(), "HELLO REPLY RESULT=OK VERSION=3.3\n");
        let nov = Reply::Hello {
            result: ResultCode::NoVersion,
            version: None,
            message: None,
        };
        assert_eq!(nov.to_line(), "HELLO REPLY RESULT=NOVERSION\n");
        let err = Reply::SessionStatus {
            result: ResultCode::I2pError,
            destination: None,
            message: Some("tunnel build failed".into()),
        };
        assert_eq!(
            err.to_line(),
            "SESSION STATUS RESULT=I2P_ERROR MESSAGE=\"tunnel build failed\"\n"
        );
        let ok = Reply::SessionStatus {
            result: ResultCode::Ok,
            destination: Some(Zeroizing::new("AAAA~-==".into())),
            message: None,
        };
        assert_eq!(
            ok.to_line(),
            "SESSION STATUS RESULT=OK DESTINATION=AAAA~-==\n"
        );
        let naming = Reply::NamingReply {
            result: ResultCode::Ok,
            name: "example.i2p".into(),
            value: Some("base64dest".into()),
            message: None,
            options: vec![("_smtp._tcp".into(), "1 86400 0 0 25 bbbb.b32.i2p".into())],
        };
        assert_eq!(
            naming.to_line(),
            "NAMING REPLY RESULT=OK NAME=example.i2p VALUE=base64dest \
             OPTION:_smtp._tcp=\"1 86400 0 0 25 bbbb.b32.i2p\"\n"
        );
        let raw = Reply::RawReceived {
            size: 12,
            from_port: Some(1),
            to_port: Some(2),
            protocol: Some(18),
        };
        assert_eq!(
            raw.to_line(),
            "RAW RECEIVED SIZE=12 FROM_PORT=1 TO_PORT=2 PROTOCOL=18\n"
        );
        assert_eq!(
            Reply::Pong {
                text: "abc 1".into()
            }
            .to_line(),
            "PONG abc 1\n"
        );
        assert_eq!(
            Reply::Pong {
                text: String::new()
            }
            .to_line(),
            "PONG\n"
        );
    }

    #[test]
    fn message_cannot_split_or_inject() {
        let evil = "bad\"\nSESSION STATUS RESULT=OK DESTINATION=x\r\\ \u{2028}end";
        let r = Reply::StreamStatus {
            result: ResultCode::CantReachPeer,
            message: Some(evil.into()),
        };
        let line = r.to_line();
        assert_eq!(line.matches('\n').count(), 1);
        assert!(line.ends_with('\n'));
        let back = Reply::parse(line.as_bytes()).unwrap();
        let Reply::StreamStatus { result, message } = back else {
            panic!("wrong reply {back:?}");
        };
        assert_eq!(result, ResultCode::CantReachPeer);
        // Same text, with the line breaks turned into spaces; no extra pair appeared.
        assert_eq!(
            message.as_deref(),
            Some("bad\" SESSION STATUS RESULT=OK DESTINATION=x \\  end")
        );
        let pong = Reply::Pong {
            text: "a\nHELLO".into(),
        }
        .to_line();
        assert_eq!(pong, "PONG a HELLO\n");
    }

    #[test]
    fn bad_naming_options_are_dropped() {
        let r = Reply::NamingReply {
            result: ResultCode::Ok,
            name: "n.i2p".into(),
            value: None,
            message: None,
            options: vec![
                ("a=b".into(), "1".into()),
                ("k".into(), "line\nbreak".into()),
                ("sp ace".into(), "1".into()),
                ("good".into(), "v \"q\"".into()),
            ],
        };
        let line = r.to_line();
        assert_eq!(
            line,
            "NAMING REPLY RESULT=OK NAME=n.i2p OPTION:good=\"v \\\"q\\\"\"\n"
        );
        let Reply::NamingReply { options, .. } = Reply::parse(line.as_bytes()).unwrap() else {
            panic!()
        };
        assert_eq!(options, vec![("good".to_string(), "v \"q\"".to_string())]);
    }

    #[test]
    fn result_codes_round_trip() {
        for c in ResultCode::ALL {
            assert_eq!(ResultCode::from_wire(c.as_str()), Some(c));
            let r = Reply::StreamStatus {
                result: c,
                message: None,
            };
            assert_eq!(Reply::parse(r.to_line().as_bytes()).unwrap(), r);
        }
        assert_eq!(ResultCode::from_wire("ok"), None);
    }

    #[test]
    fn every_reply_round_trips() {
        let replies = vec![
            Reply::Hello {
                result: ResultCode::I2pError,
                version: None,
                message: Some("must say HELLO first".into()),
            },
            Reply::Hello {
                result: ResultCode::Ok,
                version: Some(Version::V3_1),
                message: None,
            },
            Reply::SessionStatus {
                result: ResultCode::DuplicatedId,
                destination: None,
                message: Some(String::new()),
            },
            Reply::NamingReply {
                result: ResultCode::KeyNotFound,
                name: "näme with space.i2p".into(),
                value: None,
                message: Some("not \\ found".into()),
                options: vec![],
            },
            Reply::DestReply {
                public: "PUB~-=".into(),
                private: Zeroizing::new("PRIV~-==".into()),
            },
            Reply::DatagramReceived {
                destination: "d~-=".into(),
                size: 31744,
                from_port: Some(0),
                to_port: Some(65535),
            },
            Reply::DatagramReceived {
                destination: "d".into(),
                size: 1,
                from_port: None,
                to_port: None,
            },
            Reply::RawReceived {
                size: 32768,
                from_port: None,
                to_port: None,
                protocol: None,
            },
            Reply::Ping {
                text: "  x y ".into(),
            },
            Reply::Pong {
                text: "1234".into(),
            },
        ];
        for r in replies {
            let line = r.to_line();
            assert_eq!(Reply::parse(line.as_bytes()).unwrap(), r, "{line}");
        }
    }

    #[test]
    fn debug_hides_private_keys() {
        let r = Reply::DestReply {
            public: "PUBLIC".into(),
            private: Zeroizing::new("SECRETKEY".into()),
        };
        assert!(!format!("{r:?}").contains("SECRETKEY"));
        let s = Reply::SessionStatus {
            result: ResultCode::Ok,
            destination: Some(Zeroizing::new("SECRETKEY".into())),
            message: None,
        };
        assert!(!format!("{s:?}").contains("SECRETKEY"));
    }

    #[test]
    fn unknown_replies_and_missing_keys() {
        assert!(matches!(
            Reply::parse(b"FOO BAR RESULT=OK"),
            Err(ParseError::UnknownCommand { .. })
        ));
        assert!(matches!(
            Reply::parse(b"STREAM STATUS MESSAGE=x"),
            Err(ParseError::MissingKey { key: "RESULT", .. })
        ));
        assert!(matches!(
            Reply::parse(b"STREAM STATUS RESULT=MAYBE"),
            Err(ParseError::InvalidValue { key: "RESULT", .. })
        ));
    }
}
