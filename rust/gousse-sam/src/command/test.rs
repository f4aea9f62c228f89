use super::*;
use crate::reply::{Reply, ResultCode};
use proptest::prelude::*;

fn parse(s: &str) -> Result<Command, ParseError> {
    Command::parse(s.as_bytes())
}

const KEY: &str = "AAAAbbbb~-0123456789zz==";

#[test]
fn hello_examples() {
    let Command::Hello(h) = parse("HELLO VERSION MIN=3.0 MAX=3.3\n").unwrap() else {
        panic!()
    };
    assert_eq!((h.min, h.max), (Some(Version::V3_0), Some(Version::V3_3)));
    assert_eq!(h.negotiate(), Some(Version::V3_3));

    let Command::Hello(h) = parse("HELLO VERSION").unwrap() else {
        panic!()
    };
    assert_eq!((h.min, h.max), (None, None));
    assert_eq!(h.negotiate(), Some(Version::V3_3));

    let Command::Hello(h) = parse("HELLO VERSION MIN=1.0 MAX=2.0").unwrap() else {
        panic!()
    };
    assert_eq!(h.negotiate(), None, "answered with NOVERSION");

    let Command::Hello(h) =
        parse(r#"hello version MAX=3.2 USER="alice" PASSWORD="p\"w d""#).unwrap()
    else {
        panic!()
    };
    assert_eq!(h.negotiate(), Some(Version::V3_2));
    assert_eq!(h.user.as_deref(), Some("alice"));
    assert_eq!(h.password.as_deref().map(String::as_str), Some("p\"w d"));
    assert!(!format!("{h:?}").contains("p\"w d"), "password not printed");

    assert!(matches!(
        parse("HELLO VERSION MIN=three"),
        Err(ParseError::InvalidValue { key: "MIN", .. })
    ));
}

#[test]
fn session_create_examples() {
    let Command::SessionCreate(s) = parse(
        "SESSION CREATE STYLE=STREAM ID=test DESTINATION=TRANSIENT SIGNATURE_TYPE=7 \
         inbound.quantity=3 outbound.quantity=3 i2cp.leaseSetEncType=4,0 \
         i2p.streaming.maxWindowSize=64 foo=bar\n",
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(s.style, Style::Stream);
    assert_eq!(s.id, "test");
    assert_eq!(s.destination, DestinationSpec::Transient);
    assert_eq!(s.signature_type, Some(SignatureType::EDDSA_SHA512_ED25519));
    assert_eq!(s.port, None);
    let i2cp: Vec<_> = s.options.i2cp().collect();
    assert_eq!(
        i2cp,
        vec![
            ("inbound.quantity", "3"),
            ("outbound.quantity", "3"),
            ("i2cp.leaseSetEncType", "4,0"),
            ("i2p.streaming.maxWindowSize", "64")
        ]
    );
    assert_eq!(s.options.get("foo"), Some("bar"), "other options kept");
    assert_eq!(s.options.0.len(), 5);

    let Command::SessionCreate(s) = parse(&format!(
        "SESSION CREATE STYLE=RAW ID=r DESTINATION={KEY} PORT=7655 HOST=127.0.0.1 \
         FROM_PORT=1 TO_PORT=2 PROTOCOL=200 HEADER=true sam.udp.port=7000"
    ))
    .unwrap() else {
        panic!()
    };
    assert_eq!(s.style, Style::Raw);
    assert_eq!(
        s.destination,
        DestinationSpec::PrivateKey(Zeroizing::new(KEY.into()))
    );
    assert!(!format!("{s:?}").contains(KEY), "private key not printed");
    assert_eq!((s.port, s.host.as_deref()), (Some(7655), Some("127.0.0.1")));
    assert_eq!(
        s.ports,
        PortOptions {
            from_port: Some(1),
            to_port: Some(2),
            protocol: Some(200)
        }
    );
    assert_eq!(s.header, Some(true));
    assert_eq!(s.options.get("sam.udp.port"), Some("7000"));

    for (style, want) in [
        ("PRIMARY", Style::Primary),
        ("MASTER", Style::Primary),
        ("DATAGRAM", Style::Datagram),
        ("DATAGRAM2", Style::Datagram2),
        ("DATAGRAM3", Style::Datagram3),
    ] {
        let Command::SessionCreate(s) = parse(&format!(
            "SESSION CREATE STYLE={style} ID=p DESTINATION=TRANSIENT"
        ))
        .unwrap() else {
            panic!()
        };
        assert_eq!(s.style, want);
    }
}

#[test]
fn session_create_refusals() {
    let base = "SESSION CREATE STYLE=STREAM ID=x DESTINATION=TRANSIENT";
    assert!(matches!(
        parse("SESSION CREATE ID=x DESTINATION=TRANSIENT"),
        Err(ParseError::MissingKey { key: "STYLE", .. })
    ));
    assert!(matches!(
        parse("SESSION CREATE STYLE=STREAM DESTINATION=TRANSIENT"),
        Err(ParseError::MissingKey { key: "ID", .. })
    ));
    assert!(matches!(
        parse("SESSION CREATE STYLE=STREAM ID=x"),
        Err(ParseError::MissingKey {
            key: "DESTINATION",
            ..
        })
    ));
    assert!(matches!(
        parse("SESSION CREATE STYLE=STREAM ID= DESTINATION=TRANSIENT"),
        Err(ParseError::MissingKey { key: "ID", .. })
    ));
    assert!(matches!(
        parse("SESSION CREATE STYLE=stream ID=x DESTINATION=TRANSIENT"),
        Err(ParseError::InvalidValue { key: "STYLE", .. })
    ));
    assert!(matches!(
        parse("SESSION CREATE STYLE=STREAM ID=\"a b\" DESTINATION=TRANSIENT"),
        Err(ParseError::InvalidValue { key: "ID", .. })
    ));
    let bad_key = parse("SESSION CREATE STYLE=STREAM ID=x DESTINATION=abc+/").unwrap_err();
    assert_eq!(bad_key.result_code(), ResultCode::InvalidKey);
    assert!(matches!(
        parse(&format!("{base} PORT=1")),
        Err(ParseError::ForbiddenKey { key, .. }) if key == "PORT"
    ));
    assert!(matches!(
        parse(&format!("{base} PROTOCOL=18")),
        Err(ParseError::ForbiddenKey { key, .. }) if key == "PROTOCOL"
    ));
    assert!(matches!(
        parse(&format!("SESSION CREATE STYLE=STREAM ID=x DESTINATION={KEY} SIGNATURE_TYPE=7")),
        Err(ParseError::ForbiddenKey { key, .. }) if key == "SIGNATURE_TYPE"
    ));
    assert!(matches!(
        parse("SESSION CREATE STYLE=PRIMARY ID=x DESTINATION=TRANSIENT FROM_PORT=5"),
        Err(ParseError::ForbiddenKey { key, .. }) if key == "FROM_PORT"
    ));
    for p in FORBIDDEN_RAW_PROTOCOLS {
        assert!(matches!(
            parse(&format!(
                "SESSION CREATE STYLE=RAW ID=x DESTINATION=TRANSIENT PROTOCOL={p}"
            )),
            Err(ParseError::InvalidValue {
                key: "PROTOCOL",
                ..
            })
        ));
    }
    for bad in ["65536", "-1", "0x10", "", "1 "] {
        assert!(
            matches!(
                parse(&format!("{base} FROM_PORT=\"{bad}\"")),
                Err(ParseError::InvalidValue {
                    key: "FROM_PORT",
                    ..
                })
            ),
            "{bad}"
        );
    }
    assert!(matches!(
        parse(&format!("{base} SIGNATURE_TYPE=FOO_BAR")),
        Err(ParseError::InvalidValue {
            key: "SIGNATURE_TYPE",
            ..
        })
    ));
    assert!(matches!(
        parse(&format!("{base} ID=y")),
        Err(ParseError::DuplicateKey { key }) if key == "ID"
    ));
}

#[test]
fn signature_type_names_and_numbers() {
    assert_eq!(SignatureType::parse("7"), Some(SignatureType(7)));
    assert_eq!(
        SignatureType::parse("ecdsa_sha256_p256"),
        Some(SignatureType(1))
    );
    assert_eq!(
        SignatureType::parse("EdDSA_SHA512_Ed25519"),
        Some(SignatureType::EDDSA_SHA512_ED25519)
    );
    assert_eq!(
        SignatureType::parse("RedDSA_SHA512_Ed25519"),
        Some(SignatureType(11))
    );
    assert_eq!(SignatureType::parse("65536"), None);
    assert_eq!(SignatureType::parse("-1"), None);
    assert_eq!(SignatureType(7).name(), Some("EdDSA_SHA512_Ed25519"));
    assert_eq!(SignatureType(9).name(), None);
}

#[test]
fn session_add_and_remove() {
    assert!(matches!(
        parse("SESSION ADD STYLE=RAW ID=dht PORT=9000 PROTOCOL=17"),
        Err(ParseError::InvalidValue {
            key: "PROTOCOL",
            ..
        })
    ));
    let Command::SessionAdd(a) = parse(
        "SESSION ADD STYLE=RAW ID=dht PORT=9000 FROM_PORT=10 PROTOCOL=200 LISTEN_PORT=10 \
         LISTEN_PROTOCOL=0 HEADER=false",
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(a.style, Style::Raw);
    assert_eq!(
        (a.port, a.listen_port, a.listen_protocol),
        (Some(9000), Some(10), Some(0))
    );
    assert_eq!(a.header, Some(false));

    let Command::SessionAdd(s) =
        parse("SESSION ADD STYLE=STREAM ID=web FROM_PORT=80 LISTEN_PORT=80 i2p.streaming.x=1")
            .unwrap()
    else {
        panic!()
    };
    assert_eq!(s.listen_port, Some(80));
    assert_eq!(s.options.get("i2p.streaming.x"), Some("1"));
    assert!(matches!(
        parse("SESSION ADD STYLE=STREAM ID=web FROM_PORT=80 LISTEN_PORT=81"),
        Err(ParseError::InvalidValue {
            key: "LISTEN_PORT",
            ..
        })
    ));
    assert!(matches!(
        parse("SESSION ADD STYLE=RAW ID=r LISTEN_PROTOCOL=6"),
        Err(ParseError::InvalidValue {
            key: "LISTEN_PROTOCOL",
            ..
        })
    ));
    assert!(matches!(
        parse("SESSION ADD STYLE=STREAM ID=x DESTINATION=TRANSIENT"),
        Err(ParseError::ForbiddenKey { key, .. }) if key == "DESTINATION"
    ));
    assert!(matches!(
        parse("SESSION ADD STYLE=PRIMARY ID=x"),
        Err(ParseError::InvalidValue { key: "STYLE", .. })
    ));

    assert_eq!(
        parse("SESSION REMOVE ID=dht").unwrap(),
        Command::SessionRemove(SessionRemove { id: "dht".into() })
    );
    assert!(matches!(
        parse("SESSION REMOVE ID=dht STYLE=RAW"),
        Err(ParseError::ForbiddenKey { key, .. }) if key == "STYLE"
    ));
}

#[test]
fn stream_commands() {
    assert_eq!(
        parse("STREAM CONNECT ID=s DESTINATION=example.i2p SILENT=false FROM_PORT=5 TO_PORT=80")
            .unwrap(),
        Command::StreamConnect(StreamConnect {
            id: "s".into(),
            destination: "example.i2p".into(),
            silent: false,
            ports: PortOptions {
                from_port: Some(5),
                to_port: Some(80),
                protocol: None
            },
            other: Options::default(),
        })
    );
    assert!(matches!(
        parse("STREAM CONNECT ID=s"),
        Err(ParseError::MissingKey {
            key: "DESTINATION",
            ..
        })
    ));
    assert!(matches!(
        parse("STREAM CONNECT ID=s DESTINATION=x SILENT=maybe"),
        Err(ParseError::InvalidValue { key: "SILENT", .. })
    ));
    assert_eq!(
        parse("STREAM ACCEPT ID=s SILENT=true").unwrap(),
        Command::StreamAccept(StreamAccept {
            id: "s".into(),
            silent: true,
            other: Options::default()
        })
    );
    assert_eq!(
        parse("STREAM FORWARD ID=s PORT=8080 HOST=::1 SSL=true").unwrap(),
        Command::StreamForward(StreamForward {
            id: "s".into(),
            port: 8080,
            host: Some("::1".into()),
            silent: false,
            ssl: true,
            other: Options::default(),
        })
    );
    assert!(matches!(
        parse("STREAM FORWARD ID=s"),
        Err(ParseError::MissingKey { key: "PORT", .. })
    ));
}

#[test]
fn datagram_and_raw_send() {
    let Command::DatagramSend(d) =
        parse("DATAGRAM SEND DESTINATION=dest~ SIZE=1024 FROM_PORT=1 TO_PORT=2 SEND_TAGS=40 EXPIRES=60 SEND_LEASESET=false")
            .unwrap()
    else {
        panic!()
    };
    assert_eq!((d.destination.as_str(), d.size), ("dest~", 1024));
    assert_eq!(d.send.send_tags, Some(40));
    assert_eq!(d.send.expires, Some(60));
    assert_eq!(d.send.send_leaseset, Some(false));
    assert!(matches!(
        parse("DATAGRAM SEND DESTINATION=d SIZE=31745"),
        Err(ParseError::InvalidValue { key: "SIZE", .. })
    ));
    assert!(matches!(
        parse("DATAGRAM SEND DESTINATION=d SIZE=0"),
        Err(ParseError::InvalidValue { key: "SIZE", .. })
    ));
    assert!(matches!(
        parse("DATAGRAM SEND DESTINATION=d"),
        Err(ParseError::MissingKey { key: "SIZE", .. })
    ));
    assert!(matches!(
        parse("DATAGRAM SEND DESTINATION=d SIZE=1 PROTOCOL=18"),
        Err(ParseError::ForbiddenKey { .. })
    ));
    let Command::RawSend(r) = parse("RAW SEND DESTINATION=d SIZE=32768 PROTOCOL=18").unwrap()
    else {
        panic!()
    };
    assert_eq!((r.size, r.ports.protocol), (32768, Some(18)));
    assert!(matches!(
        parse("RAW SEND DESTINATION=d SIZE=99999999999"),
        Err(ParseError::InvalidValue { key: "SIZE", .. })
    ));
}

#[test]
fn utility_commands() {
    assert_eq!(
        parse("NAMING LOOKUP NAME=ME").unwrap(),
        Command::NamingLookup(NamingLookup {
            name: "ME".into(),
            options: false,
            other: Options::default()
        })
    );
    let Command::NamingLookup(n) = parse("NAMING LOOKUP NAME=example.i2p OPTIONS=true").unwrap()
    else {
        panic!()
    };
    assert!(n.options);
    assert!(matches!(
        parse("NAMING LOOKUP"),
        Err(ParseError::MissingKey { key: "NAME", .. })
    ));
    assert_eq!(
        parse("DEST GENERATE SIGNATURE_TYPE=EdDSA_SHA512_Ed25519").unwrap(),
        Command::DestGenerate(DestGenerate {
            signature_type: Some(SignatureType(7)),
            other: Options::default()
        })
    );
    assert_eq!(
        parse("DEST GENERATE").unwrap(),
        Command::DestGenerate(DestGenerate {
            signature_type: None,
            other: Options::default()
        })
    );
    assert_eq!(
        parse("PING 12345").unwrap(),
        Command::Ping {
            text: "12345".into()
        }
    );
    assert_eq!(parse("PING").unwrap(), Command::Ping { text: "".into() });
    assert_eq!(
        parse("PONG abc").unwrap(),
        Command::Pong { text: "abc".into() }
    );
    for q in ["QUIT", "STOP", "EXIT", "quit\n"] {
        assert_eq!(parse(q).unwrap(), Command::Quit);
    }
    assert_eq!(parse("HELP").unwrap(), Command::Help);
}

#[test]
fn unknown_and_malformed() {
    assert!(matches!(
        parse("FOO BAR"),
        Err(ParseError::UnknownCommand { verb, sub: Some(s) }) if verb == "FOO" && s == "BAR"
    ));
    assert!(matches!(
        parse("SESSION DESTROY ID=x"),
        Err(ParseError::UnknownCommand { .. })
    ));
    assert!(matches!(
        parse("HELLO"),
        Err(ParseError::UnknownCommand { .. })
    ));
    assert!(matches!(
        parse("STREAM ID=x"),
        Err(ParseError::UnknownCommand { sub: None, .. })
    ));
    assert_eq!(parse(""), Err(ParseError::NoCommand));
    assert!(matches!(
        parse("NAMING LOOKUP NAME=\"x"),
        Err(ParseError::UnterminatedQuote { .. })
    ));
    let err = parse("FOO BAR").unwrap_err().to_string();
    assert_eq!(err, "unknown command FOO BAR");
}

#[test]
fn ping_answered_with_pong_round_trip() {
    let Command::Ping { text } = parse("PING keepalive 42\n").unwrap() else {
        panic!()
    };
    let line = Reply::Pong { text }.to_line();
    assert_eq!(line, "PONG keepalive 42\n");
    assert_eq!(
        parse(&line).unwrap(),
        Command::Pong {
            text: "keepalive 42".into()
        }
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = Command::parse(&bytes);
        let _ = Reply::parse(&bytes);
    }

    #[test]
    fn sam_like_text_never_panics(s in "[A-Z]{0,8}( [A-Z]{0,8})?( [A-Za-z_=\"\\\\ 0-9.~-]{0,40}){0,6}\n?") {
        let _ = Command::parse(s.as_bytes());
    }

    #[test]
    fn message_round_trips(msg in "\\PC{0,60}", code in 0usize..ResultCode::ALL.len()) {
        let result = ResultCode::ALL[code];
        let r = Reply::SessionStatus { result, destination: None, message: Some(msg.clone()) };
        let line = r.to_line();
        prop_assert_eq!(line.matches('\n').count(), 1);
        let back = Reply::parse(line.as_bytes()).unwrap();
        let Reply::SessionStatus { result: r2, destination, message } = back else {
            panic!("not a SESSION STATUS");
        };
        prop_assert_eq!(r2, result);
        prop_assert!(destination.is_none());
        let breaks = |c: char| (c.is_control() && c != '\t') || c == '\u{2028}' || c == '\u{2029}';
        let want: String = msg.chars().map(|c| if breaks(c) { ' ' } else { c }).collect();
        prop_assert_eq!(message, Some(want));
    }

    #[test]
    fn quoted_values_round_trip(v in "[^\\p{Cc}]{0,40}") {
        // Any value quoted and escaped as the writer does reads back as itself.
        let mut quoted = String::from("NAMING LOOKUP NAME=\"");
        for c in v.chars() {
            if c == '"' || c == '\\' { quoted.push('\\'); }
            quoted.push(c);
        }
        quoted.push('"');
        match Command::parse(quoted.as_bytes()) {
            Ok(Command::NamingLookup(n)) => prop_assert_eq!(n.name, v),
            Err(ParseError::MissingKey { .. }) => prop_assert!(v.is_empty()),
            Err(ParseError::ControlCharacter { .. }) => {
                let separators = v.contains(['\u{2028}', '\u{2029}']);
                prop_assert!(separators)
            }
            other => prop_assert!(false, "unexpected {:?}", other),
        }
    }
}
