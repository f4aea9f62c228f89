//! Resolving the names SAM clients give: full base64 destinations, `.b32.i2p`
//! addresses, address book host names and `ME` (samv3.md, "Host Name Lookup", and the
//! `$destination` notes of STREAM CONNECT and the datagram header).

use i2p_wire::{Destination, Hash};

use crate::backend::SamBackend;
use crate::reply::ResultCode;

/// A name that could not be resolved: the RESULT and a MESSAGE.
pub(crate) type NameError = (ResultCode, String);

/// Length of the base32 of a 32-byte hash.
const B32_LEN: usize = 52;

/// What a name designates before any network lookup.
#[allow(clippy::large_enum_variant)] // short-lived, one per command
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Name {
    /// A full base64 destination.
    Full(Destination),
    /// A `.b32.i2p` address.
    B32(Hash),
    /// An address book host name (`*.i2p`, not `.b32.i2p`), or a `b33` address
    /// (b32encrypted.rst) whose encrypted LeaseSet the backend looks up and opens.
    Host(String),
}

/// Classifies `name` (total, no I/O).
pub(crate) fn classify(name: &str) -> Result<Name, NameError> {
    let lower = name.to_ascii_lowercase();
    if let Some(b32) = lower.strip_suffix(".b32.i2p") {
        if b32.len() > B32_LEN {
            return match i2p_wire::BlindedAddress::parse(b32) {
                Ok(_) => Ok(Name::Host(lower)),
                Err(e) => Err((ResultCode::InvalidKey, format!("bad b33 address: {e}"))),
            };
        }
        if b32.len() != B32_LEN {
            return Err((
                ResultCode::InvalidKey,
                "not a 52-character b32 address".into(),
            ));
        }
        return Hash::from_base32(b32)
            .map(Name::B32)
            .map_err(|e| (ResultCode::InvalidKey, format!("bad b32 address: {e}")));
    }
    if lower.ends_with(".i2p") {
        if name.len() > 255 || name.contains(char::is_whitespace) {
            return Err((ResultCode::InvalidKey, "bad host name".into()));
        }
        return Ok(Name::Host(lower));
    }
    parse_destination(name).map(Name::Full)
}

/// A full base64 destination.
pub(crate) fn parse_destination(b64: &str) -> Result<Destination, NameError> {
    let bytes = i2p_wire::base64::decode(b64).map_err(|e| {
        (
            ResultCode::InvalidKey,
            format!("not a destination, b32 address or .i2p name: {e}"),
        )
    })?;
    // Like Java I2P and i2pd, read the destination at the start and ignore what
    // follows: clients pass the SESSION STATUS private key blob as a destination.
    i2p_wire::Reader::new(&bytes)
        .extract::<Destination>()
        .map_err(|e| (ResultCode::InvalidKey, format!("not a destination: {e}")))
}

/// The hash to reach for `name` (STREAM CONNECT, datagram targets): no LeaseSet
/// lookup is needed for b32 and full destinations (the backend looks the LeaseSet up).
pub(crate) async fn resolve_hash<B: SamBackend>(
    backend: &B,
    name: &str,
) -> Result<Hash, NameError> {
    match classify(name)? {
        Name::Full(d) => Ok(d.hash()),
        Name::B32(h) => Ok(h),
        Name::Host(h) => backend.address_book(&h).await.map(|d| d.hash()).ok_or((
            ResultCode::KeyNotFound,
            format!("{h} is not in the address book"),
        )),
    }
}

/// The full destination of `name` (NAMING LOOKUP). `local` finds the destinations of
/// this bridge's own sessions by hash, without the network.
pub(crate) async fn lookup<B: SamBackend>(
    backend: &B,
    name: &str,
    me: Option<&Destination>,
    local: impl Fn(&Hash) -> Option<Destination>,
) -> Result<Destination, NameError> {
    if name == "ME" {
        return me.cloned().ok_or((
            ResultCode::KeyNotFound,
            "NAME=ME needs a session on this socket".into(),
        ));
    }
    match classify(name)? {
        Name::Full(d) => Ok(d),
        Name::B32(h) => {
            if let Some(d) = local(&h) {
                return Ok(d);
            }
            match backend.lookup_destination(h).await {
                Ok(Some(d)) if d.hash() == h => Ok(d),
                Ok(_) => Err((ResultCode::KeyNotFound, "no LeaseSet found".into())),
                Err(e) => Err((ResultCode::KeyNotFound, e.to_string())),
            }
        }
        Name::Host(h) => backend.address_book(&h).await.ok_or((
            ResultCode::KeyNotFound,
            format!("{h} is not in the address book"),
        )),
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use i2p_wire::DestinationKeys;

    #[test]
    fn classify_names() {
        let keys = DestinationKeys::generate();
        let d = keys.destination().clone();
        assert_eq!(classify(&d.to_base64()), Ok(Name::Full(d.clone())));
        let blob = i2p_wire::base64::encode(&keys.to_bytes());
        assert_eq!(
            classify(&blob),
            Ok(Name::Full(d.clone())),
            "a private key blob names its destination"
        );
        assert_eq!(classify(&d.b32_address()), Ok(Name::B32(d.hash())));
        assert_eq!(
            classify(&d.b32_address().to_ascii_uppercase()),
            Ok(Name::B32(d.hash())),
            "case-insensitive"
        );
        assert_eq!(
            classify("Example.I2P"),
            Ok(Name::Host("example.i2p".into()))
        );
        for bad in ["", "abc", "zz.b32.i2p", "!!!!", "a b.i2p"] {
            assert_eq!(
                classify(bad).map_err(|e| e.0),
                Err(ResultCode::InvalidKey),
                "{bad:?}"
            );
        }
        let bad_b33 = format!("{}.b32.i2p", "a".repeat(56));
        assert_eq!(
            classify(&bad_b33).map_err(|e| e.0),
            Err(ResultCode::InvalidKey)
        );
        let b33 = i2p_wire::BlindedAddress::from_destination(&d)
            .unwrap()
            .to_host();
        assert_eq!(classify(&b33), Ok(Name::Host(b33.clone())));
    }
}
