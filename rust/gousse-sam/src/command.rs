//! Typed client commands (samv3.md, "SAM Connection Handshake" through "SAM Utility
//! Commands").
//!
//! [`Command::parse`] tokenizes a line and checks each command's required and forbidden
//! keys. Keys the bridge does not interpret are kept, in order, in an [`Options`] list
//! (for SESSION CREATE/ADD these are the I2CP and streaming options to pass through).

use std::fmt;

use zeroize::Zeroizing;

use crate::error::ParseError;
use crate::line::{tokenize, Line};
use crate::version::{negotiate, Version, SUPPORTED};

/// Largest repliable datagram payload: "unordered and unreliable messages of up to 31744
/// bytes" (samv3.md, "Sending Repliable or Raw Datagrams").
pub const MAX_REPLIABLE_DATAGRAM: u32 = 31744;
/// Largest raw datagram payload: "may be up to 32768 bytes" (samv3.md, "SAM Anonymous
/// (Raw) Datagrams").
pub const MAX_RAW_DATAGRAM: u32 = 32768;
/// Default PROTOCOL for RAW: "the valid range is 0-255, and the default is 18."
pub const DEFAULT_RAW_PROTOCOL: u8 = 18;
/// PROTOCOL values refused for RAW: "6, 17, 19, 20 not allowed."
pub const FORBIDDEN_RAW_PROTOCOLS: [u8; 4] = [6, 17, 19, 20];

/// Key/value pairs not interpreted by this crate, in line order.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Options(pub Vec<(String, String)>);

impl Options {
    /// Value of `key`, if present (exact match).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The pairs whose key starts with `i2cp.`, `inbound.`, `outbound.`, `i2p.` (streaming)
    /// or `crypto.`: the options a session passes to I2CP and the streaming library.
    pub fn i2cp(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0
            .iter()
            .filter(|(k, _)| {
                ["i2cp.", "inbound.", "outbound.", "i2p.", "crypto."]
                    .iter()
                    .any(|p| k.starts_with(p))
            })
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Whether there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Options {
    // Values of unknown options could be anything; list keys only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(k, _)| k))
            .finish()
    }
}

/// A signature type, by number (common-structures.rst, "Signing Public Key types").
///
/// Open newtype: any number is representable; the bridge decides what it supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SignatureType(pub u16);

impl SignatureType {
    /// DSA_SHA1, the spec's default ("which is NOT what you want").
    pub const DSA_SHA1: Self = Self(0);
    /// ECDSA_SHA256_P256.
    pub const ECDSA_SHA256_P256: Self = Self(1);
    /// ECDSA_SHA384_P384.
    pub const ECDSA_SHA384_P384: Self = Self(2);
    /// ECDSA_SHA512_P521.
    pub const ECDSA_SHA512_P521: Self = Self(3);
    /// RSA_SHA256_2048.
    pub const RSA_SHA256_2048: Self = Self(4);
    /// RSA_SHA384_3072.
    pub const RSA_SHA384_3072: Self = Self(5);
    /// RSA_SHA512_4096.
    pub const RSA_SHA512_4096: Self = Self(6);
    /// EdDSA_SHA512_Ed25519: "For most applications, please specify SIGNATURE_TYPE=7."
    pub const EDDSA_SHA512_ED25519: Self = Self(7);
    /// EdDSA_SHA512_Ed25519ph.
    pub const EDDSA_SHA512_ED25519PH: Self = Self(8);
    /// RedDSA_SHA512_Ed25519.
    pub const REDDSA_SHA512_ED25519: Self = Self(11);

    const NAMES: [(&'static str, SignatureType); 10] = [
        ("DSA_SHA1", Self::DSA_SHA1),
        ("ECDSA_SHA256_P256", Self::ECDSA_SHA256_P256),
        ("ECDSA_SHA384_P384", Self::ECDSA_SHA384_P384),
        ("ECDSA_SHA512_P521", Self::ECDSA_SHA512_P521),
        ("RSA_SHA256_2048", Self::RSA_SHA256_2048),
        ("RSA_SHA384_3072", Self::RSA_SHA384_3072),
        ("RSA_SHA512_4096", Self::RSA_SHA512_4096),
        ("EdDSA_SHA512_Ed25519", Self::EDDSA_SHA512_ED25519),
        ("EdDSA_SHA512_Ed25519ph", Self::EDDSA_SHA512_ED25519PH),
        ("RedDSA_SHA512_Ed25519", Self::REDDSA_SHA512_ED25519),
    ];

    /// Reads a SIGNATURE_TYPE value: "any name (e.g. ECDSA_SHA256_P256, case insensitive)
    /// or number (e.g. 1)".
    pub fn parse(s: &str) -> Option<Self> {
        if !s.is_empty() && s.len() <= 5 && s.bytes().all(|b| b.is_ascii_digit()) {
            return s.parse().ok().map(Self);
        }
        Self::NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(s))
            .map(|&(_, t)| t)
    }

    /// The spec name, if this is a named type.
    pub fn name(self) -> Option<&'static str> {
        Self::NAMES
            .iter()
            .find(|(_, t)| *t == self)
            .map(|(n, _)| *n)
    }
}

/// STYLE of SESSION CREATE / SESSION ADD.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Style {
    /// Virtual streams.
    Stream,
    /// Repliable, authenticated datagrams.
    Datagram,
    /// Anonymous datagrams.
    Raw,
    /// Datagram2 (repliable, authenticated, replay-protected).
    Datagram2,
    /// Datagram3 (repliable, unauthenticated).
    Datagram3,
    /// PRIMARY session (SAM 3.3); `MASTER` is read as this ("MASTER is still supported for
    /// backwards compatibility").
    Primary,
}

impl Style {
    /// Reads a STYLE value (case-sensitive, as the protocol is).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "STREAM" => Self::Stream,
            "DATAGRAM" => Self::Datagram,
            "RAW" => Self::Raw,
            "DATAGRAM2" => Self::Datagram2,
            "DATAGRAM3" => Self::Datagram3,
            "PRIMARY" | "MASTER" => Self::Primary,
            _ => return None,
        })
    }

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stream => "STREAM",
            Self::Datagram => "DATAGRAM",
            Self::Raw => "RAW",
            Self::Datagram2 => "DATAGRAM2",
            Self::Datagram3 => "DATAGRAM3",
            Self::Primary => "PRIMARY",
        }
    }
}

/// DESTINATION of SESSION CREATE.
#[derive(Clone, PartialEq, Eq)]
pub enum DestinationSpec {
    /// "If the destination is specified as TRANSIENT, the SAM bridge creates a new
    /// destination."
    Transient,
    /// Base64 private key file (destination, private key, signing private key, optional
    /// offline signature). Checked for the I2P base64 alphabet only; not decoded here.
    PrivateKey(Zeroizing<String>),
}

impl fmt::Debug for DestinationSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Transient => f.write_str("Transient"),
            Self::PrivateKey(k) => write!(f, "PrivateKey(<{} chars redacted>)", k.len()),
        }
    }
}

/// `HELLO VERSION [MIN=] [MAX=] [USER=] [PASSWORD=]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Hello {
    /// MIN ("Optional as of SAM 3.1").
    pub min: Option<Version>,
    /// MAX; a bare major (`MAX=3`) means any minor of it (see [`Version::parse_upper`]).
    pub max: Option<Version>,
    /// USER (SAM 3.2 authorization).
    pub user: Option<String>,
    /// PASSWORD (SAM 3.2 authorization); never printed.
    pub password: Option<Zeroizing<String>>,
    /// Other keys.
    pub other: Options,
}

impl fmt::Debug for Hello {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hello")
            .field("min", &self.min)
            .field("max", &self.max)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("other", &self.other)
            .finish()
    }
}

impl Hello {
    /// The version to answer with among those this crate speaks, or `None` for
    /// `RESULT=NOVERSION`.
    pub fn negotiate(&self) -> Option<Version> {
        negotiate(self.min, self.max, &SUPPORTED)
    }
}

/// I2CP ports and protocol (samv3.md, "I2CP Ports and Protocol"); `None` = default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortOptions {
    /// FROM_PORT, 0-65535.
    pub from_port: Option<u16>,
    /// TO_PORT, 0-65535.
    pub to_port: Option<u16>,
    /// PROTOCOL, 0-255, RAW only; 6, 17, 19 and 20 are refused.
    pub protocol: Option<u8>,
}

/// `SESSION CREATE STYLE= ID= DESTINATION= ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCreate {
    /// STYLE.
    pub style: Style,
    /// ID ("No whitespace is allowed").
    pub id: String,
    /// DESTINATION.
    pub destination: DestinationSpec,
    /// SIGNATURE_TYPE (TRANSIENT only; `None` means the spec default DSA_SHA1).
    pub signature_type: Option<SignatureType>,
    /// PORT: datagram forwarding port (DATAGRAM*/RAW only).
    pub port: Option<u16>,
    /// HOST: datagram forwarding host (DATAGRAM*/RAW only).
    pub host: Option<String>,
    /// FROM_PORT / TO_PORT / PROTOCOL session defaults.
    pub ports: PortOptions,
    /// HEADER (RAW only).
    pub header: Option<bool>,
    /// Everything else (I2CP, streaming, `sam.udp.*` options), in order.
    pub options: Options,
}

/// `SESSION ADD STYLE= ID= ...` (SAM 3.3 subsession).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionAdd {
    /// STYLE (not PRIMARY).
    pub style: Style,
    /// ID, unique on the bridge.
    pub id: String,
    /// PORT (DATAGRAM*/RAW only).
    pub port: Option<u16>,
    /// HOST (DATAGRAM*/RAW only).
    pub host: Option<String>,
    /// FROM_PORT / TO_PORT / PROTOCOL for outbound traffic.
    pub ports: PortOptions,
    /// LISTEN_PORT ("For STYLE=STREAM, only the FROM_PORT value or 0 is allowed").
    pub listen_port: Option<u16>,
    /// LISTEN_PROTOCOL (RAW only; "6 (streaming) is disallowed").
    pub listen_protocol: Option<u8>,
    /// HEADER (RAW only).
    pub header: Option<bool>,
    /// Everything else, in order.
    pub options: Options,
}

/// `SESSION REMOVE ID=` ("Do not set any other options on a SESSION REMOVE").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRemove {
    /// ID of the subsession.
    pub id: String,
}

/// `STREAM CONNECT ID= DESTINATION= [SILENT=] [FROM_PORT=] [TO_PORT=]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamConnect {
    /// Session ID.
    pub id: String,
    /// Base64 destination, hostname or b32 address (not resolved here).
    pub destination: String,
    /// SILENT, default false.
    pub silent: bool,
    /// FROM_PORT / TO_PORT.
    pub ports: PortOptions,
    /// Other keys.
    pub other: Options,
}

/// `STREAM ACCEPT ID= [SILENT=]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamAccept {
    /// Session ID.
    pub id: String,
    /// SILENT, default false.
    pub silent: bool,
    /// Other keys.
    pub other: Options,
}

/// `STREAM FORWARD ID= PORT= [HOST=] [SILENT=] [SSL=]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamForward {
    /// Session ID.
    pub id: String,
    /// PORT of the local socket server ("It is mandatory").
    pub port: u16,
    /// HOST; `None` means the address of the socket that sent FORWARD.
    pub host: Option<String>,
    /// SILENT, default false.
    pub silent: bool,
    /// SSL (SAM 3.2), default false.
    pub ssl: bool,
    /// Other keys.
    pub other: Options,
}

/// SAM 3.3 per-datagram overrides (SEND_TAGS, TAG_THRESHOLD, EXPIRES, SEND_LEASESET).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendOptions {
    /// SEND_TAGS.
    pub send_tags: Option<u32>,
    /// TAG_THRESHOLD.
    pub tag_threshold: Option<u32>,
    /// EXPIRES, seconds from now.
    pub expires: Option<u32>,
    /// SEND_LEASESET.
    pub send_leaseset: Option<bool>,
}

/// `DATAGRAM SEND DESTINATION= SIZE= [FROM_PORT=] [TO_PORT=]`, then SIZE bytes (v1/v2
/// compatible sending on the bridge socket).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatagramSend {
    /// Target destination.
    pub destination: String,
    /// Payload size, 1..=[`MAX_REPLIABLE_DATAGRAM`].
    pub size: u32,
    /// FROM_PORT / TO_PORT.
    pub ports: PortOptions,
    /// SAM 3.3 overrides.
    pub send: SendOptions,
    /// Other keys.
    pub other: Options,
}

/// `RAW SEND DESTINATION= SIZE= [FROM_PORT=] [TO_PORT=] [PROTOCOL=]`, then SIZE bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawSend {
    /// Target destination.
    pub destination: String,
    /// Payload size, 1..=[`MAX_RAW_DATAGRAM`].
    pub size: u32,
    /// FROM_PORT / TO_PORT / PROTOCOL.
    pub ports: PortOptions,
    /// SAM 3.3 overrides.
    pub send: SendOptions,
    /// Other keys.
    pub other: Options,
}

/// `NAMING LOOKUP NAME= [OPTIONS=true]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamingLookup {
    /// NAME (`ME` means this session's destination).
    pub name: String,
    /// OPTIONS (router API 0.9.66), default false.
    pub options: bool,
    /// Other keys.
    pub other: Options,
}

/// `DEST GENERATE [SIGNATURE_TYPE=]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestGenerate {
    /// SIGNATURE_TYPE; `None` means the spec default DSA_SHA1.
    pub signature_type: Option<SignatureType>,
    /// Other keys.
    pub other: Options,
}

/// One client command.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// HELLO VERSION.
    Hello(Hello),
    /// SESSION CREATE.
    SessionCreate(SessionCreate),
    /// SESSION ADD (3.3).
    SessionAdd(SessionAdd),
    /// SESSION REMOVE (3.3).
    SessionRemove(SessionRemove),
    /// STREAM CONNECT.
    StreamConnect(StreamConnect),
    /// STREAM ACCEPT.
    StreamAccept(StreamAccept),
    /// STREAM FORWARD.
    StreamForward(StreamForward),
    /// DATAGRAM SEND.
    DatagramSend(DatagramSend),
    /// RAW SEND.
    RawSend(RawSend),
    /// NAMING LOOKUP.
    NamingLookup(NamingLookup),
    /// DEST GENERATE.
    DestGenerate(DestGenerate),
    /// `PING[ text]` (3.2).
    Ping {
        /// The text to echo in PONG.
        text: String,
    },
    /// `PONG[ text]` (3.2), answering a bridge PING.
    Pong {
        /// The echoed text.
        text: String,
    },
    /// QUIT, STOP or EXIT (3.2, optional): close the session and socket.
    Quit,
    /// HELP (optional).
    Help,
}

/// Parses a decimal number of type `T` (digits only, bounded length, no sign).
pub(crate) fn parse_decimal<T: std::str::FromStr>(
    v: &str,
    command: &'static str,
    key: &'static str,
) -> Result<T, ParseError> {
    if v.is_empty() || v.len() > 10 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::InvalidValue {
            command,
            key,
            reason: "not a decimal number in range",
        });
    }
    v.parse().map_err(|_| ParseError::InvalidValue {
        command,
        key,
        reason: "not a decimal number in range",
    })
}

/// Reads a command's pairs, tracking which keys were interpreted.
struct Fields<'a> {
    command: &'static str,
    line: &'a Line,
    used: Vec<&'static str>,
}

impl<'a> Fields<'a> {
    fn new(command: &'static str, line: &'a Line) -> Self {
        Self {
            command,
            line,
            used: Vec::new(),
        }
    }

    fn opt(&mut self, key: &'static str) -> Option<&'a str> {
        self.used.push(key);
        self.line.get(key)
    }

    fn req(&mut self, key: &'static str) -> Result<&'a str, ParseError> {
        match self.opt(key) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(ParseError::MissingKey {
                command: self.command,
                key,
            }),
        }
    }

    fn invalid(&self, key: &'static str, reason: &'static str) -> ParseError {
        ParseError::InvalidValue {
            command: self.command,
            key,
            reason,
        }
    }

    fn num<T: std::str::FromStr>(&mut self, key: &'static str) -> Result<Option<T>, ParseError> {
        let command = self.command;
        self.opt(key)
            .map(|v| parse_decimal(v, command, key))
            .transpose()
    }

    fn boolean(&mut self, key: &'static str) -> Result<Option<bool>, ParseError> {
        match self.opt(key) {
            None => Ok(None),
            // Java I2P and i2pd read booleans case-insensitively.
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(_) => Err(self.invalid(key, "not true or false")),
        }
    }

    /// An ID: "No whitespace is allowed".
    fn id(&mut self) -> Result<String, ParseError> {
        let v = self.req("ID")?;
        if v.contains(char::is_whitespace) {
            return Err(self.invalid("ID", "contains whitespace"));
        }
        Ok(v.to_owned())
    }

    fn signature_type(&mut self) -> Result<Option<SignatureType>, ParseError> {
        self.opt("SIGNATURE_TYPE")
            .map(|v| {
                SignatureType::parse(v)
                    .ok_or(self.invalid("SIGNATURE_TYPE", "unknown signature type"))
            })
            .transpose()
    }

    fn ports(&mut self, protocol: bool) -> Result<PortOptions, ParseError> {
        let from_port = self.num("FROM_PORT")?;
        let to_port = self.num("TO_PORT")?;
        let protocol = if protocol {
            self.protocol("PROTOCOL")?
        } else {
            None
        };
        Ok(PortOptions {
            from_port,
            to_port,
            protocol,
        })
    }

    fn protocol(&mut self, key: &'static str) -> Result<Option<u8>, ParseError> {
        let p: Option<u8> = self.num(key)?;
        if p.is_some_and(|p| FORBIDDEN_RAW_PROTOCOLS.contains(&p)) {
            return Err(self.invalid(key, "6, 17, 19 and 20 are not allowed"));
        }
        Ok(p)
    }

    fn send_options(&mut self) -> Result<SendOptions, ParseError> {
        Ok(SendOptions {
            send_tags: self.num("SEND_TAGS")?,
            tag_threshold: self.num("TAG_THRESHOLD")?,
            expires: self.num("EXPIRES")?,
            send_leaseset: self.boolean("SEND_LEASESET")?,
        })
    }

    /// Refuses `key` if present.
    fn forbid(&self, key: &'static str) -> Result<(), ParseError> {
        match self.line.get(key) {
            Some(_) => Err(ParseError::ForbiddenKey {
                command: self.command,
                key: key.to_owned(),
            }),
            None => Ok(()),
        }
    }

    /// The pairs not read by this command, in order.
    fn rest(&self) -> Options {
        Options(
            self.line
                .pairs
                .iter()
                .filter(|(k, _)| !self.used.contains(&k.as_str()))
                .cloned()
                .collect(),
        )
    }
}

/// The I2P base64 alphabet plus padding (samv3.md, "BASE 64 Notes").
fn is_i2p_base64(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'~' | b'='))
}

/// A destination to reach: base64, or a hostname / b32 address (resolved later).
fn target(f: &mut Fields<'_>) -> Result<String, ParseError> {
    let v = f.req("DESTINATION")?;
    if v.contains(char::is_whitespace) {
        return Err(f.invalid("DESTINATION", "contains whitespace"));
    }
    Ok(v.to_owned())
}

fn size(f: &mut Fields<'_>, max: u32) -> Result<u32, ParseError> {
    let command = f.command;
    let n: u32 = parse_decimal(f.req("SIZE")?, command, "SIZE")?;
    if n == 0 || n > max {
        return Err(f.invalid("SIZE", "out of range"));
    }
    Ok(n)
}

/// Checks the style-dependent keys shared by SESSION CREATE and SESSION ADD
/// (samv3.md: PORT/HOST "invalid for STREAM", PROTOCOL and HEADER "for STYLE=RAW only").
fn check_style_keys(f: &Fields<'_>, style: Style) -> Result<(), ParseError> {
    if style == Style::Stream {
        f.forbid("PORT")?;
        f.forbid("HOST")?;
    }
    if style != Style::Raw {
        f.forbid("PROTOCOL")?;
        f.forbid("HEADER")?;
        f.forbid("LISTEN_PROTOCOL")?;
    }
    Ok(())
}

fn session_create(line: &Line) -> Result<SessionCreate, ParseError> {
    let mut f = Fields::new("SESSION CREATE", line);
    let style = Style::parse(f.req("STYLE")?).ok_or(f.invalid("STYLE", "unknown style"))?;
    let id = f.id()?;
    let destination = match f.req("DESTINATION")? {
        "TRANSIENT" => DestinationSpec::Transient,
        k if is_i2p_base64(k) => DestinationSpec::PrivateKey(Zeroizing::new(k.to_owned())),
        _ => return Err(f.invalid("DESTINATION", "not TRANSIENT or I2P base64")),
    };
    let signature_type = f.signature_type()?;
    if signature_type.is_some() && destination != DestinationSpec::Transient {
        // "SIGNATURE_TYPE=value # [...] for DESTINATION=TRANSIENT only"
        return Err(ParseError::ForbiddenKey {
            command: f.command,
            key: "SIGNATURE_TYPE".into(),
        });
    }
    if style == Style::Primary {
        // "Do not set the PORT, HOST, FROM_PORT, TO_PORT, PROTOCOL, LISTEN_PORT,
        // LISTEN_PROTOCOL, or HEADER options on a primary session."
        for k in [
            "PORT",
            "HOST",
            "FROM_PORT",
            "TO_PORT",
            "PROTOCOL",
            "LISTEN_PORT",
            "LISTEN_PROTOCOL",
            "HEADER",
        ] {
            f.forbid(k)?;
        }
    }
    check_style_keys(&f, style)?;
    let port = f.num("PORT")?;
    let host = f.opt("HOST").map(str::to_owned);
    let ports = f.ports(true)?;
    let header = f.boolean("HEADER")?;
    Ok(SessionCreate {
        style,
        id,
        destination,
        signature_type,
        port,
        host,
        ports,
        header,
        options: f.rest(),
    })
}

fn session_add(line: &Line) -> Result<SessionAdd, ParseError> {
    let mut f = Fields::new("SESSION ADD", line);
    // "Do not set the DESTINATION option on a SESSION ADD."
    f.forbid("DESTINATION")?;
    let style = match Style::parse(f.req("STYLE")?) {
        Some(Style::Primary) => return Err(f.invalid("STYLE", "a subsession cannot be PRIMARY")),
        Some(s) => s,
        None => return Err(f.invalid("STYLE", "unknown style")),
    };
    let id = f.id()?;
    check_style_keys(&f, style)?;
    let port = f.num("PORT")?;
    let host = f.opt("HOST").map(str::to_owned);
    let ports = f.ports(true)?;
    let listen_port: Option<u16> = f.num("LISTEN_PORT")?;
    if style == Style::Stream && listen_port.is_some_and(|l| l != 0 && Some(l) != ports.from_port) {
        return Err(f.invalid("LISTEN_PORT", "for STREAM only the FROM_PORT value or 0"));
    }
    let listen_protocol: Option<u8> = f.num("LISTEN_PROTOCOL")?;
    if listen_protocol == Some(6) {
        return Err(f.invalid("LISTEN_PROTOCOL", "6 (streaming) is disallowed"));
    }
    let header = f.boolean("HEADER")?;
    Ok(SessionAdd {
        style,
        id,
        port,
        host,
        ports,
        listen_port,
        listen_protocol,
        header,
        options: f.rest(),
    })
}

fn from_line(line: &Line) -> Result<Command, ParseError> {
    let unknown = || ParseError::UnknownCommand {
        verb: line.verb.clone(),
        sub: line.sub.clone(),
    };
    let cmd = match (line.verb.as_str(), line.sub.as_deref()) {
        ("HELLO", Some("VERSION")) => {
            let mut f = Fields::new("HELLO VERSION", line);
            let min = f
                .opt("MIN")
                .map(|v| Version::parse(v).ok_or(f.invalid("MIN", "not a version")))
                .transpose()?;
            let max = f
                .opt("MAX")
                .map(|v| Version::parse_upper(v).ok_or(f.invalid("MAX", "not a version")))
                .transpose()?;
            Command::Hello(Hello {
                min,
                max,
                user: f.opt("USER").map(str::to_owned),
                password: f.opt("PASSWORD").map(|p| Zeroizing::new(p.to_owned())),
                other: f.rest(),
            })
        }
        ("SESSION", Some("CREATE")) => Command::SessionCreate(session_create(line)?),
        ("SESSION", Some("ADD")) => Command::SessionAdd(session_add(line)?),
        ("SESSION", Some("REMOVE")) => {
            let mut f = Fields::new("SESSION REMOVE", line);
            let id = f.id()?;
            if let Some((k, _)) = f.rest().0.into_iter().next() {
                return Err(ParseError::ForbiddenKey {
                    command: f.command,
                    key: k,
                });
            }
            Command::SessionRemove(SessionRemove { id })
        }
        ("STREAM", Some("CONNECT")) => {
            let mut f = Fields::new("STREAM CONNECT", line);
            Command::StreamConnect(StreamConnect {
                id: f.id()?,
                destination: target(&mut f)?,
                silent: f.boolean("SILENT")?.unwrap_or(false),
                ports: f.ports(false)?,
                other: f.rest(),
            })
        }
        ("STREAM", Some("ACCEPT")) => {
            let mut f = Fields::new("STREAM ACCEPT", line);
            Command::StreamAccept(StreamAccept {
                id: f.id()?,
                silent: f.boolean("SILENT")?.unwrap_or(false),
                other: f.rest(),
            })
        }
        ("STREAM", Some("FORWARD")) => {
            let mut f = Fields::new("STREAM FORWARD", line);
            let id = f.id()?;
            let port = f.num("PORT")?.ok_or(ParseError::MissingKey {
                command: f.command,
                key: "PORT",
            })?;
            Command::StreamForward(StreamForward {
                id,
                port,
                host: f.opt("HOST").map(str::to_owned),
                silent: f.boolean("SILENT")?.unwrap_or(false),
                ssl: f.boolean("SSL")?.unwrap_or(false),
                other: f.rest(),
            })
        }
        ("DATAGRAM", Some("SEND")) => {
            let mut f = Fields::new("DATAGRAM SEND", line);
            f.forbid("PROTOCOL")?;
            Command::DatagramSend(DatagramSend {
                destination: target(&mut f)?,
                size: size(&mut f, MAX_REPLIABLE_DATAGRAM)?,
                ports: f.ports(false)?,
                send: f.send_options()?,
                other: f.rest(),
            })
        }
        ("RAW", Some("SEND")) => {
            let mut f = Fields::new("RAW SEND", line);
            Command::RawSend(RawSend {
                destination: target(&mut f)?,
                size: size(&mut f, MAX_RAW_DATAGRAM)?,
                ports: f.ports(true)?,
                send: f.send_options()?,
                other: f.rest(),
            })
        }
        ("NAMING", Some("LOOKUP")) => {
            let mut f = Fields::new("NAMING LOOKUP", line);
            Command::NamingLookup(NamingLookup {
                name: f.req("NAME")?.to_owned(),
                options: f.boolean("OPTIONS")?.unwrap_or(false),
                other: f.rest(),
            })
        }
        ("DEST", Some("GENERATE")) => {
            let mut f = Fields::new("DEST GENERATE", line);
            Command::DestGenerate(DestGenerate {
                signature_type: f.signature_type()?,
                other: f.rest(),
            })
        }
        ("PING", _) => Command::Ping {
            text: line.text.clone().unwrap_or_default(),
        },
        ("PONG", _) => Command::Pong {
            text: line.text.clone().unwrap_or_default(),
        },
        ("QUIT" | "STOP" | "EXIT", _) => Command::Quit,
        ("HELP", _) => Command::Help,
        _ => return Err(unknown()),
    };
    Ok(cmd)
}

impl Command {
    /// Parses one command line (with or without its `\n`). Total: never panics.
    pub fn parse(raw: &[u8]) -> Result<Command, ParseError> {
        from_line(&tokenize(raw)?)
    }
}

#[cfg(test)]
mod test;
