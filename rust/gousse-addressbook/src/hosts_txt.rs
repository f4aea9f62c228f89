//! The hosts.txt format: `name=base64dest` lines (naming.md, "Hosts.txt Naming
//! Service") and the signed `#!key=value#...` command lines (subscription.rst).
//!
//! Parse first, verify later: [`parse_line`] is total and cheap and returns an
//! [`UncheckedRecord`]; [`UncheckedRecord::check`] verifies the signatures
//! (subscription.rst, "Signatures") and gives a [`Record`].

use i2p_crypto::hash::sha256;
use i2p_wire::identity::SigningKeyType;
use i2p_wire::{base64, Destination, Readable};

use crate::name::{HostName, NameError};

/// Longest line accepted, in bytes. A command line holds at most two destinations
/// (616 characters each) and two signatures plus a few short keys.
pub const MAX_LINE_LEN: usize = 4096;

/// Largest hosts.txt body accepted, in bytes (the project's full hosts.txt is well
/// under 1 MB).
pub const MAX_BODY_LEN: usize = 16 * 1024 * 1024;

/// Most `key=value` pairs on one command line.
pub const MAX_KEYS: usize = 32;

/// naming.md, "Naming Rules": "Minimum key length 516 bytes" (base 64 characters).
pub const MIN_DEST_B64_LEN: usize = 516;

/// naming.md, "Naming Rules": "Maximum key length 616 bytes (to account for certs up
/// to 100 bytes)".
pub const MAX_DEST_B64_LEN: usize = 616;

/// Why a hosts.txt line was refused. Each names the rule broken.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LineError {
    /// Longer than [`MAX_LINE_LEN`].
    #[error("line longer than {MAX_LINE_LEN} bytes")]
    TooLong,
    /// Not UTF-8.
    #[error("line is not UTF-8")]
    NotUtf8,
    /// Neither a comment, a `name=dest` entry nor a `#!` command.
    #[error("not a name=destination line")]
    Malformed,
    /// The host name breaks the naming rules.
    #[error("host name {name:?}: {err}")]
    Name {
        /// The name as written.
        name: String,
        /// The rule.
        #[source]
        err: NameError,
    },
    /// A destination of the wrong length in base 64.
    #[error(
        "destination of {0} base 64 characters (must be {MIN_DEST_B64_LEN} to \
         {MAX_DEST_B64_LEN})"
    )]
    DestinationLength(usize),
    /// A destination that is no valid I2P base 64.
    #[error("destination is not valid I2P base 64")]
    DestinationEncoding,
    /// A destination whose bytes are no valid Destination structure.
    #[error("destination does not parse: {0}")]
    Destination(String),
    /// A `#!` part with a pair that has no `=`, an empty key, or too many pairs.
    #[error("malformed #! metadata")]
    Metadata,
    /// subscription.rst: "Duplicate keys are not allowed."
    #[error("duplicate key {0:?} in #! metadata")]
    DuplicateKey(String),
    /// A key the command requires is absent.
    #[error("command {action} lacks the {key:?} key")]
    MissingKey {
        /// The command.
        action: String,
        /// The key.
        key: &'static str,
    },
    /// A signature that is not base 64 of the right length.
    #[error("{0} is not a base 64 signature of the right length")]
    SignatureEncoding(&'static str),
    /// A signature that does not verify.
    #[error("bad signature ({0}): the line was not signed by its destination")]
    BadSignature(&'static str),
    /// A command signed with a key type this build cannot verify (only Ed25519).
    #[error("cannot verify a {action} command signed with signature type {sig_type}")]
    UnsupportedSignatureType {
        /// The command.
        action: String,
        /// The destination's signing key type.
        sig_type: u16,
    },
}

/// What a line asks for (subscription.rst, "Commands").
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// A plain `name=dest` line, or one with `#!` metadata and no `action`.
    Add,
    /// `changename`: `name` replaces `oldname` for the same destination.
    ChangeName {
        /// The name replaced.
        old_name: HostName,
    },
    /// `changedest`: `name` now points at the line's destination instead of `olddest`.
    ChangeDest {
        /// The destination replaced.
        old_dest: Vec<u8>,
    },
    /// `addname`: `name` is an alias of `oldname`'s destination.
    AddName {
        /// The existing name.
        old_name: HostName,
    },
    /// `adddest`: an alternate destination for `name` (crypto upgrade).
    AddDest {
        /// The existing destination.
        old_dest: Vec<u8>,
    },
    /// `addsubdomain`: `name` is a subdomain of `oldname`, signed by both.
    AddSubdomain {
        /// The parent name.
        old_name: HostName,
        /// The parent's destination.
        old_dest: Vec<u8>,
    },
    /// `update`: new metadata only.
    Update,
    /// `remove`: remove `name` if it points at `dest`.
    Remove,
    /// `removeall`: remove every name pointing at `dest`.
    RemoveAll,
    /// An action this build does not know; recorded, not applied.
    Unknown(String),
}

/// How far a [`Record`]'s origin was verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signed {
    /// A plain line: no signature, as in the original hosts.txt format.
    No,
    /// Every signature of the command verified.
    Verified,
    /// An add with a signature of a type this build cannot verify (not Ed25519): taken
    /// as a plain line, as a client predating subscription.rst would.
    Unverifiable(u16),
}

/// One parsed, not yet verified line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UncheckedRecord {
    /// The host name (for a remove: the `name` key).
    pub name: HostName,
    /// The serialized destination (for a remove: the `dest` key).
    pub destination: Vec<u8>,
    /// The action.
    pub action: Action,
    /// The `#!` pairs in line order, `sig` and `oldsig` included; empty on a plain line.
    pub props: Vec<(String, String)>,
    /// `name=dest` exactly as written, if the line had it (signed as is).
    head: Option<String>,
}

/// A verified line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The host name.
    pub name: HostName,
    /// The serialized destination.
    pub destination: Vec<u8>,
    /// SHA-256 of `destination`.
    pub hash: [u8; 32],
    /// The action.
    pub action: Action,
    /// How far the origin was verified.
    pub signed: Signed,
    /// The `#!` pairs other than the signatures (`date`, `expires`, ...).
    pub props: Vec<(String, String)>,
}

/// One line of a hosts.txt body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    /// Blank, or a comment.
    Skip,
    /// An entry or command.
    Record(UncheckedRecord),
}

/// Parses a destination in I2P base 64, within the naming.md length rules.
pub fn parse_destination(b64: &str) -> Result<Vec<u8>, LineError> {
    if !(MIN_DEST_B64_LEN..=MAX_DEST_B64_LEN).contains(&b64.len()) {
        return Err(LineError::DestinationLength(b64.len()));
    }
    let bytes = base64::decode(b64).map_err(|_| LineError::DestinationEncoding)?;
    Destination::from_bytes(&bytes).map_err(|e| LineError::Destination(e.to_string()))?;
    Ok(bytes)
}

fn parse_name(name: &str) -> Result<HostName, LineError> {
    HostName::parse(name).map_err(|err| LineError::Name {
        name: name.chars().take(80).collect(),
        err,
    })
}

fn parse_props(text: &str) -> Result<Vec<(String, String)>, LineError> {
    let mut props: Vec<(String, String)> = Vec::new();
    for pair in text.split('#') {
        if props.len() >= MAX_KEYS {
            return Err(LineError::Metadata);
        }
        let (k, v) = pair.split_once('=').ok_or(LineError::Metadata)?;
        if k.is_empty() {
            return Err(LineError::Metadata);
        }
        if props.iter().any(|(key, _)| key == k) {
            return Err(LineError::DuplicateKey(k.chars().take(40).collect()));
        }
        props.push((k.to_owned(), v.to_owned()));
    }
    Ok(props)
}

fn prop<'a>(props: &'a [(String, String)], key: &str) -> Option<&'a str> {
    props
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn required<'a>(
    props: &'a [(String, String)],
    action: &str,
    key: &'static str,
) -> Result<&'a str, LineError> {
    prop(props, key).ok_or_else(|| LineError::MissingKey {
        action: action.to_owned(),
        key,
    })
}

/// Parses one line (without its line terminator; a trailing `\r` is ignored).
/// Total: any bytes give a [`Line`] or a [`LineError`].
pub fn parse_line(line: &[u8]) -> Result<Line, LineError> {
    if line.len() > MAX_LINE_LEN {
        return Err(LineError::TooLong);
    }
    let line = std::str::from_utf8(line).map_err(|_| LineError::NotUtf8)?;
    let line = line.trim();
    if line.is_empty() {
        return Ok(Line::Skip);
    }
    if let Some(meta) = line.strip_prefix("#!") {
        // A remove command: everything is in the pairs.
        let props = parse_props(meta)?;
        let action = required(&props, "(none)", "action")?.to_owned();
        let name = parse_name(required(&props, &action, "name")?)?;
        let destination = parse_destination(required(&props, &action, "dest")?)?;
        let action = match action.as_str() {
            "remove" => Action::Remove,
            "removeall" => Action::RemoveAll,
            _ => Action::Unknown(action.chars().take(40).collect()),
        };
        return Ok(Line::Record(UncheckedRecord {
            name,
            destination,
            action,
            props,
            head: None,
        }));
    }
    if line.starts_with('#') {
        return Ok(Line::Skip);
    }
    let (head, props) = match line.split_once("#!") {
        Some((head, meta)) => (head, parse_props(meta)?),
        // A plain line; anything after '#' is a comment.
        None => (
            line.split('#').next().unwrap_or(line).trim_end(),
            Vec::new(),
        ),
    };
    let (name, b64) = head.split_once('=').ok_or(LineError::Malformed)?;
    let name = parse_name(name.trim())?;
    let destination = parse_destination(b64.trim())?;
    let action = match prop(&props, "action") {
        None => Action::Add,
        Some(a) => {
            let old_name = || parse_name(required(&props, a, "oldname")?);
            let old_dest = || parse_destination(required(&props, a, "olddest")?);
            match a {
                "changename" => Action::ChangeName {
                    old_name: old_name()?,
                },
                "changedest" => Action::ChangeDest {
                    old_dest: old_dest()?,
                },
                "addname" => Action::AddName {
                    old_name: old_name()?,
                },
                "adddest" => Action::AddDest {
                    old_dest: old_dest()?,
                },
                "addsubdomain" => Action::AddSubdomain {
                    old_name: old_name()?,
                    old_dest: old_dest()?,
                },
                "update" => Action::Update,
                other => Action::Unknown(other.chars().take(40).collect()),
            }
        }
    };
    Ok(Line::Record(UncheckedRecord {
        name,
        destination,
        action,
        props,
        head: Some(head.to_owned()),
    }))
}

/// subscription.rst, "Input for signatures": the head (if any), then `#!` and the
/// sorted pairs without `sig` (and without `oldsig` for the inner signature).
fn signed_message(head: Option<&str>, props: &[(String, String)], inner: bool) -> Vec<u8> {
    let mut kept: Vec<&(String, String)> = props
        .iter()
        .filter(|(k, _)| k != "sig" && !(inner && k == "oldsig"))
        .collect();
    kept.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut out = String::new();
    if let Some(h) = head {
        out.push_str(h);
    }
    if !kept.is_empty() {
        out.push_str("#!");
        let pairs: Vec<String> = kept.iter().map(|(k, v)| format!("{k}={v}")).collect();
        out.push_str(&pairs.join("#"));
    }
    out.into_bytes()
}

fn verify(
    dest: &[u8],
    msg: &[u8],
    sig_b64: &str,
    which: &'static str,
    action: &str,
) -> Result<(), LineError> {
    let d = Destination::from_bytes(dest).map_err(|e| LineError::Destination(e.to_string()))?;
    let st = d.signing_type();
    if st != SigningKeyType::EDDSA_SHA512_ED25519 {
        return Err(LineError::UnsupportedSignatureType {
            action: action.to_owned(),
            sig_type: st.0,
        });
    }
    let sig = base64::decode(sig_b64).map_err(|_| LineError::SignatureEncoding(which))?;
    if Some(sig.len()) != st.signature_len() {
        return Err(LineError::SignatureEncoding(which));
    }
    d.verify(msg, &sig, "hosts.txt line")
        .map_err(|_| LineError::BadSignature(which))
}

impl UncheckedRecord {
    fn action_name(&self) -> String {
        prop(&self.props, "action").unwrap_or("add").to_owned()
    }

    /// Verifies the line's signatures (subscription.rst, "Signatures"): `oldsig` (the
    /// inner one, by the old destination) first, then `sig` by the line's
    /// destination. A plain line has none and passes as [`Signed::No`].
    pub fn check(self) -> Result<Record, LineError> {
        let action = self.action_name();
        let signed = if self.props.is_empty() {
            if self.action != Action::Add {
                return Err(LineError::MissingKey { action, key: "sig" });
            }
            Signed::No
        } else {
            let sig = required(&self.props, &action, "sig")?;
            let old_dest = match &self.action {
                Action::ChangeDest { old_dest }
                | Action::AddDest { old_dest }
                | Action::AddSubdomain { old_dest, .. } => Some(old_dest.as_slice()),
                _ => None,
            };
            let head = self.head.as_deref();
            let result = (|| {
                if let Some(od) = old_dest {
                    let oldsig = required(&self.props, &action, "oldsig")?;
                    verify(
                        od,
                        &signed_message(head, &self.props, true),
                        oldsig,
                        "oldsig",
                        &action,
                    )?;
                }
                verify(
                    &self.destination,
                    &signed_message(head, &self.props, false),
                    sig,
                    "sig",
                    &action,
                )
            })();
            match result {
                Ok(()) => Signed::Verified,
                Err(LineError::UnsupportedSignatureType { sig_type, .. })
                    if self.action == Action::Add =>
                {
                    Signed::Unverifiable(sig_type)
                }
                Err(e) => return Err(e),
            }
        };
        let props = self
            .props
            .into_iter()
            .filter(|(k, _)| k != "sig" && k != "oldsig")
            .collect();
        Ok(Record {
            hash: sha256(&self.destination),
            name: self.name,
            destination: self.destination,
            action: self.action,
            signed,
            props,
        })
    }
}

/// A whole body was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BodyError {
    /// Larger than [`MAX_BODY_LEN`].
    #[error("hosts.txt body of {0} bytes is larger than the {MAX_BODY_LEN} allowed")]
    TooLarge(usize),
}

/// A 1-based line number and the verified record, or why the line was refused.
pub type ParsedLine = (usize, Result<Record, LineError>);

/// Parses and verifies every line of a hosts.txt body. Returns each entry or command
/// with its 1-based line number, or the reason its line was refused; blank lines and
/// comments are left out.
pub fn parse_hosts_txt(body: &[u8]) -> Result<Vec<ParsedLine>, BodyError> {
    if body.len() > MAX_BODY_LEN {
        return Err(BodyError::TooLarge(body.len()));
    }
    let mut out = Vec::new();
    for (i, line) in body.split(|b| *b == b'\n').enumerate() {
        let checked = match parse_line(line) {
            Ok(Line::Skip) => continue,
            Ok(Line::Record(r)) => r.check(),
            Err(e) => Err(e),
        };
        out.push((i + 1, checked));
    }
    Ok(out)
}

/// Writes one signed line the way subscription.rst says a name server does:
/// `name=dest#!pairs#sig=...`, the pairs sorted. For tests and for publishing our own
/// names; `sign` signs the message bytes with the destination's key.
pub fn signed_add_line(
    name: &HostName,
    destination: &[u8],
    props: &[(&str, &str)],
    sign: impl FnOnce(&[u8]) -> Vec<u8>,
) -> String {
    let head = format!("{name}={}", base64::encode(destination));
    let owned: Vec<(String, String)> = props
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let msg = signed_message(Some(&head), &owned, false);
    let sig = base64::encode(&sign(&msg));
    let mut sorted = owned;
    sorted.sort();
    sorted.push(("sig".into(), sig));
    let pairs: Vec<String> = sorted.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{head}#!{}", pairs.join("#"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod test {
    use super::*;
    use i2p_crypto::ed25519::SigningKey;
    use i2p_wire::Writeable;

    pub(crate) fn ed_dest() -> (SigningKey, Vec<u8>) {
        let sk = SigningKey::random();
        let d = Destination::new_ed25519(&sk.verifying_key());
        (sk, d.to_bytes())
    }

    /// A destination with a DSA (type 0) null certificate, as old sites have.
    pub(crate) fn dsa_dest(fill: u8) -> Vec<u8> {
        let mut d = vec![fill; 384];
        d.extend_from_slice(&[0, 0, 0]);
        d
    }

    fn record(line: &str) -> Result<Record, LineError> {
        match parse_line(line.as_bytes())? {
            Line::Record(r) => r.check(),
            Line::Skip => panic!("skipped {line}"),
        }
    }

    fn name(n: &str) -> HostName {
        HostName::parse(n).unwrap()
    }

    #[test]
    fn plain_lines_blank_and_comments() {
        let d = dsa_dest(1);
        let line = format!("Example.I2P={}", base64::encode(&d));
        let r = record(&line).unwrap();
        assert_eq!(r.name.as_str(), "example.i2p");
        assert_eq!(r.destination, d);
        assert_eq!(r.hash, sha256(&d));
        assert_eq!((r.action, r.signed), (Action::Add, Signed::No));
        // CRLF and a trailing comment.
        let r2 = record(&format!("{line} # a comment\r")).unwrap();
        assert_eq!(r2.destination, d);
        for skip in ["", "   ", "# comment", "#comment=with=equals", "\r"] {
            assert_eq!(parse_line(skip.as_bytes()).unwrap(), Line::Skip, "{skip:?}");
        }
    }

    #[test]
    fn refusals_say_why() {
        let b64 = base64::encode(&dsa_dest(1));
        assert_eq!(record("garbage").unwrap_err(), LineError::Malformed);
        assert!(matches!(
            record(&format!("bad_name.i2p={b64}")).unwrap_err(),
            LineError::Name {
                err: NameError::BadCharacter('_'),
                ..
            }
        ));
        assert!(matches!(
            record(&format!("x.b32.i2p={b64}")).unwrap_err(),
            LineError::Name {
                err: NameError::Base32,
                ..
            }
        ));
        assert_eq!(
            record("a.i2p=AAAA").unwrap_err(),
            LineError::DestinationLength(4)
        );
        let bad_chars = "*".repeat(516);
        assert_eq!(
            record(&format!("a.i2p={bad_chars}")).unwrap_err(),
            LineError::DestinationEncoding
        );
        // Valid base 64 but a KEY certificate whose length runs past the end.
        let mut d = dsa_dest(1);
        d[384] = 5;
        d[386] = 40;
        assert!(matches!(
            record(&format!("a.i2p={}", base64::encode(&d))).unwrap_err(),
            LineError::Destination(_)
        ));
        assert_eq!(
            parse_line(&vec![b'a'; MAX_LINE_LEN + 1]).unwrap_err(),
            LineError::TooLong
        );
        assert_eq!(parse_line(b"a.i2p=\xff").unwrap_err(), LineError::NotUtf8);
        assert_eq!(
            record(&format!("a.i2p={b64}#!k=1#k=2#sig=x")).unwrap_err(),
            LineError::DuplicateKey("k".into())
        );
        assert_eq!(
            record(&format!("a.i2p={b64}#!novalue")).unwrap_err(),
            LineError::Metadata
        );
    }

    #[test]
    fn signed_add_verifies_and_tampering_is_caught() {
        let (sk, d) = ed_dest();
        let line = signed_add_line(&name("signed.i2p"), &d, &[("date", "1700000000")], |m| {
            sk.sign(m).to_vec()
        });
        let r = record(&line).unwrap();
        assert_eq!(r.signed, Signed::Verified);
        assert_eq!(
            r.props,
            vec![("date".to_string(), "1700000000".to_string())]
        );
        // Change the date: the signature no longer covers the line.
        let tampered = line.replace("date=1700000000", "date=1700000001");
        assert_eq!(
            record(&tampered).unwrap_err(),
            LineError::BadSignature("sig")
        );
        // Another name with the same signature.
        let stolen = line.replace("signed.i2p", "stolen.i2p");
        assert_eq!(record(&stolen).unwrap_err(), LineError::BadSignature("sig"));
        // Signed by some other key.
        let other = SigningKey::random();
        let forged = signed_add_line(&name("signed.i2p"), &d, &[], |m| other.sign(m).to_vec());
        assert_eq!(record(&forged).unwrap_err(), LineError::BadSignature("sig"));
        // Metadata without sig.
        let b64 = base64::encode(&d);
        assert!(matches!(
            record(&format!("x.i2p={b64}#!date=1")).unwrap_err(),
            LineError::MissingKey { key: "sig", .. }
        ));
        assert_eq!(
            record(&format!("x.i2p={b64}#!sig=AAAA")).unwrap_err(),
            LineError::SignatureEncoding("sig")
        );
    }

    #[test]
    fn keys_are_sorted_for_the_signature_whatever_their_order_on_the_line() {
        let (sk, d) = ed_dest();
        let head = format!("z.i2p={}", base64::encode(&d));
        let msg = format!("{head}#!a=1#b=2");
        let sig = base64::encode(&sk.sign(msg.as_bytes()));
        let line = format!("{head}#!sig={sig}#b=2#a=1");
        assert_eq!(record(&line).unwrap().signed, Signed::Verified);
    }

    #[test]
    fn unverifiable_add_is_a_plain_add_but_other_commands_are_refused() {
        let d = dsa_dest(3);
        let sig = base64::encode(&[0u8; 40]);
        let b64 = base64::encode(&d);
        let r = record(&format!("old.i2p={b64}#!date=1#sig={sig}")).unwrap();
        assert_eq!((r.action, r.signed), (Action::Add, Signed::Unverifiable(0)));
        let e = record(&format!("old.i2p={b64}#!action=update#sig={sig}")).unwrap_err();
        assert_eq!(
            e,
            LineError::UnsupportedSignatureType {
                action: "update".into(),
                sig_type: 0
            }
        );
    }

    #[test]
    fn changedest_checks_inner_then_outer_signature() {
        let (old_sk, old_d) = ed_dest();
        let (new_sk, new_d) = ed_dest();
        let head = format!("site.i2p={}", base64::encode(&new_d));
        let pairs = format!("action=changedest#olddest={}", base64::encode(&old_d));
        let inner = format!("{head}#!{pairs}");
        let oldsig = base64::encode(&old_sk.sign(inner.as_bytes()));
        let outer = format!("{head}#!{pairs}#oldsig={oldsig}");
        let sig = base64::encode(&new_sk.sign(outer.as_bytes()));
        let line = format!("{outer}#sig={sig}");
        let r = record(&line).unwrap();
        assert_eq!(r.signed, Signed::Verified);
        assert_eq!(r.action, Action::ChangeDest { old_dest: old_d });
        // An inner signature by the wrong key is refused, naming oldsig.
        let wrong = base64::encode(&new_sk.sign(inner.as_bytes()));
        let outer2 = format!("{head}#!{pairs}#oldsig={wrong}");
        let sig2 = base64::encode(&new_sk.sign(outer2.as_bytes()));
        assert_eq!(
            record(&format!("{outer2}#sig={sig2}")).unwrap_err(),
            LineError::BadSignature("oldsig")
        );
    }

    #[test]
    fn remove_command_is_signed_over_its_pairs() {
        let (sk, d) = ed_dest();
        let pairs = format!("action=remove#dest={}#name=gone.i2p", base64::encode(&d));
        let sig = base64::encode(&sk.sign(format!("#!{pairs}").as_bytes()));
        let r = record(&format!("#!{pairs}#sig={sig}")).unwrap();
        assert_eq!((r.action, r.signed), (Action::Remove, Signed::Verified));
        assert_eq!(r.name.as_str(), "gone.i2p");
        let unsigned = format!("#!{pairs}");
        assert!(matches!(
            record(&unsigned).unwrap_err(),
            LineError::MissingKey { key: "sig", .. }
        ));
    }

    #[test]
    fn body_limits_and_line_numbers() {
        let d = base64::encode(&dsa_dest(1));
        let body = format!("# header\n\na.i2p={d}\nnonsense\nb.i2p={d}\n");
        let out = parse_hosts_txt(body.as_bytes()).unwrap();
        let lines: Vec<(usize, bool)> = out.iter().map(|(n, r)| (*n, r.is_ok())).collect();
        assert_eq!(lines, vec![(3, true), (4, false), (5, true)]);
        let big = vec![b'\n'; MAX_BODY_LEN + 1];
        assert_eq!(
            parse_hosts_txt(&big).unwrap_err(),
            BodyError::TooLarge(MAX_BODY_LEN + 1)
        );
    }
}
