//! RouterAddress and RouterInfo (common-structures.rst, "RouterAddress",
//! "RouterInfo"); standard options from network-database.md and ntcp2.rst
//! ("Published Router Info").
//!
//! Parsing gives an [`UncheckedRouterInfo`]: cheap, total, no signature check. Call
//! [`UncheckedRouterInfo::verify`] to get a [`RouterInfo`]. A parsed RouterInfo keeps
//! its original bytes, so [`RouterInfo::to_bytes`] returns exactly what was read; a
//! RouterInfo file on disk (i2pd's and Java I2P's `router.info`) is this serialization.

use std::net::{IpAddr, SocketAddr};

use i2p_crypto::ed25519::SigningKey;

use crate::bytes::{Error, Readable, Reader, Result, Writeable, Writer};
use crate::common::{Date, Hash, I2pString};
use crate::identity::{RouterIdentity, SigningKeyType};
use crate::mapping::Mapping;

/// A RouterAddress: how to reach a router over one transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterAddress {
    /// Relative cost, 0 (free) to 255 (expensive).
    pub cost: u8,
    /// Expiration. "Routers MUST set this field to all zeros"; parsing keeps whatever
    /// was sent (it is covered by the signature), [`RouterAddress::new`] writes zero.
    pub expiration: Date,
    /// Transport style, e.g. `"NTCP2"` or `"SSU2"`.
    pub transport_style: I2pString,
    /// Transport options (`host`, `port`, `s`, `i`, `v`, ...).
    pub options: Mapping,
}

/// Transport style of NTCP2 addresses.
pub const NTCP2: &str = "NTCP2";
/// Transport style of SSU2 addresses.
pub const SSU2: &str = "SSU2";

impl RouterAddress {
    /// An address with a zero expiration. Errors if `transport_style` is over 255 bytes.
    pub fn new(cost: u8, transport_style: &str, options: Mapping) -> Result<Self> {
        Ok(RouterAddress {
            cost,
            expiration: Date::NULL,
            transport_style: I2pString::try_from(transport_style)?,
            options,
        })
    }

    /// A published NTCP2 address (ntcp2.rst, "Published Router Info"): options
    /// `host`, `i` (the IV), `port`, `s` (the static key) and `v=2`.
    pub fn ntcp2_published(
        cost: u8,
        addr: SocketAddr,
        static_key: &[u8; 32],
        iv: &[u8; 16],
    ) -> Result<Self> {
        let options = Mapping::new([
            ("host", addr.ip().to_string()),
            ("i", crate::base64::encode(iv)),
            ("port", addr.port().to_string()),
            ("s", crate::base64::encode(static_key)),
            ("v", "2".to_string()),
        ])?;
        RouterAddress::new(cost, NTCP2, options)
    }

    /// An unpublished NTCP2 address (no host, port or IV): options `s` and `v=2`, for
    /// a router that accepts no inbound NTCP2 connections (ntcp2.rst, "Unpublished
    /// NTCP2 Address").
    pub fn ntcp2_unpublished(cost: u8, static_key: &[u8; 32]) -> Result<Self> {
        let options = Mapping::new([
            ("s", crate::base64::encode(static_key)),
            ("v", "2".to_string()),
        ])?;
        RouterAddress::new(cost, NTCP2, options)
    }

    /// The transport style as text (e.g. `"NTCP2"`), if UTF-8.
    pub fn transport(&self) -> Option<&str> {
        self.transport_style.as_str()
    }

    /// An option's value.
    pub fn option(&self, key: &str) -> Option<&str> {
        self.options.get(key)
    }

    /// The `host` option as an IP address (host names are not resolved here).
    pub fn host(&self) -> Option<IpAddr> {
        self.option("host")?.parse().ok()
    }

    /// The `port` option.
    pub fn port(&self) -> Option<u16> {
        self.option("port")?.parse().ok()
    }

    /// `host` and `port` together.
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        Some(SocketAddr::new(self.host()?, self.port()?))
    }

    /// The NTCP2 parameters of this address, if it is an NTCP2 address with a valid
    /// static key. Java I2P once published NTCP2 under style `"NTCP"` with `v=2`;
    /// both forms are accepted.
    pub fn ntcp2(&self) -> Option<Ntcp2Params> {
        let style = self.transport()?;
        let is_ntcp2 = style == NTCP2 || (style == "NTCP" && self.option("s").is_some());
        if !is_ntcp2 {
            return None;
        }
        let static_key = crate::base64::decode_array::<32>(self.option("s")?).ok()?;
        let iv = self
            .option("i")
            .and_then(|i| crate::base64::decode_array::<16>(i).ok());
        Some(Ntcp2Params {
            static_key,
            iv,
            addr: self.socket_addr(),
            version: self.option("v").unwrap_or_default().to_string(),
        })
    }
}

/// What is needed to open an NTCP2 connection, read from a [`RouterAddress`]
/// (ntcp2.rst, "Published Router Info").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ntcp2Params {
    /// Option `s`: the peer's X25519 static key.
    pub static_key: [u8; 32],
    /// Option `i`: the AES IV for ephemeral key obfuscation (published addresses only).
    pub iv: Option<[u8; 16]>,
    /// Options `host` and `port` (published addresses only).
    pub addr: Option<SocketAddr>,
    /// Option `v`: supported versions, comma-separated (`"2"`).
    pub version: String,
}

impl Ntcp2Params {
    /// True if this address can be dialed: it has an IP, a port and an IV.
    pub fn is_published(&self) -> bool {
        self.addr.is_some() && self.iv.is_some()
    }
}

impl Readable for RouterAddress {
    fn take_from(r: &mut Reader<'_>) -> Result<Self> {
        r.scope("RouterAddress", |r| {
            Ok(RouterAddress {
                cost: r.take_u8()?,
                expiration: r.extract()?,
                transport_style: r.extract()?,
                options: r.extract()?,
            })
        })
    }
}

impl Writeable for RouterAddress {
    fn write_onto(&self, out: &mut Vec<u8>) {
        out.write_u8(self.cost);
        out.write_item(&self.expiration);
        out.write_item(&self.transport_style);
        out.write_item(&self.options);
    }
}

/// A RouterInfo whose signature has been checked (or that we signed ourselves).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterInfo {
    identity: RouterIdentity,
    published: Date,
    addresses: Vec<RouterAddress>,
    options: Mapping,
    signature: Vec<u8>,
    /// The complete serialization; the signed part is all but the signature.
    raw: Vec<u8>,
}

/// A parsed RouterInfo whose signature has not been checked (style A4).
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "call verify() to check the signature"]
pub struct UncheckedRouterInfo(RouterInfo);

impl UncheckedRouterInfo {
    /// Parses a RouterInfo; its bytes must hold exactly one. Cheap and total; the
    /// signature is not checked. Only the length of the signature must be known, so
    /// any known signing type parses.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::with_object(bytes, "RouterInfo");
        let ri = Self::take_from(&mut r)?;
        r.should_be_exhausted()?;
        Ok(ri)
    }

    /// The router hash, for logging or bookkeeping before verification.
    pub fn hash(&self) -> Hash {
        self.0.hash()
    }

    /// The claimed identity.
    pub fn identity(&self) -> &RouterIdentity {
        &self.0.identity
    }

    /// Checks the signature over everything before it with the identity's signing
    /// key. Only EdDSA_SHA512_Ed25519 (type 7) is supported; other types give
    /// [`Error::UnsupportedSignatureType`].
    pub fn verify(self) -> Result<RouterInfo> {
        let ri = self.0;
        ri.identity
            .verify(ri.signed_bytes(), &ri.signature, "RouterInfo")?;
        Ok(ri)
    }

    /// Skips the signature check. For tests, fuzzing and data we wrote ourselves.
    pub fn dangerously_assume_valid(self) -> RouterInfo {
        self.0
    }
}

impl Readable for UncheckedRouterInfo {
    fn take_from(r: &mut Reader<'_>) -> Result<Self> {
        r.scope("RouterInfo", |r| {
            let start = r.peek_rest();
            let consumed_before = r.consumed();
            let identity: RouterIdentity = r.extract()?;
            let published = r.extract()?;
            let n = r.take_u8()?;
            let mut addresses = Vec::with_capacity(usize::from(n));
            for _ in 0..n {
                addresses.push(r.extract()?);
            }
            // "peer_size ... unused, always zero".
            if r.take_u8()? != 0 {
                return Err(r.invalid("peer_size is not zero"));
            }
            let options = r.extract()?;
            let st = identity.signing_type();
            let sig_len = st
                .signature_len()
                .ok_or(Error::UnsupportedSignatureType(st.0))?;
            let signature = r.take(sig_len)?.to_vec();
            let len = r.consumed() - consumed_before;
            let raw = start.get(..len).unwrap_or_default().to_vec();
            Ok(UncheckedRouterInfo(RouterInfo {
                identity,
                published,
                addresses,
                options,
                signature,
                raw,
            }))
        })
    }
}

impl RouterInfo {
    /// Builds and signs a RouterInfo with `key`, which must be the identity's
    /// Ed25519 signing key. Option keys are sorted by [`Mapping::new`]; addresses are
    /// written in the given order (at most 255).
    pub fn new_signed(
        identity: RouterIdentity,
        published_ms: u64,
        addresses: Vec<RouterAddress>,
        options: Mapping,
        key: &SigningKey,
    ) -> Result<Self> {
        if identity.signing_type() != SigningKeyType::EDDSA_SHA512_ED25519 {
            return Err(Error::UnsupportedSignatureType(identity.signing_type().0));
        }
        if !identity.is_signed_by(key) {
            return Err(Error::invalid(
                "RouterInfo",
                "signing key does not match identity",
            ));
        }
        let n = u8::try_from(addresses.len())
            .map_err(|_| Error::invalid("RouterInfo", "more than 255 addresses"))?;
        let published = Date(published_ms);
        let mut raw = Vec::new();
        raw.write_item(&identity);
        raw.write_item(&published);
        raw.write_u8(n);
        for a in &addresses {
            raw.write_item(a);
        }
        raw.write_u8(0);
        raw.write_item(&options);
        let signature = key.sign(&raw).to_vec();
        raw.write_bytes(&signature);
        Ok(RouterInfo {
            identity,
            published,
            addresses,
            options,
            signature,
            raw,
        })
    }

    /// The router hash (SHA-256 of the identity): its netDb key.
    pub fn hash(&self) -> Hash {
        self.identity.hash()
    }

    /// The identity.
    pub fn identity(&self) -> &RouterIdentity {
        &self.identity
    }

    /// When it was published, in milliseconds since the epoch.
    pub fn published(&self) -> u64 {
        self.published.0
    }

    /// The addresses, in wire order.
    pub fn addresses(&self) -> &[RouterAddress] {
        &self.addresses
    }

    /// The router options.
    pub fn options(&self) -> &Mapping {
        &self.options
    }

    /// The signature bytes.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// The bytes the signature covers: everything before it.
    pub fn signed_bytes(&self) -> &[u8] {
        let end = self.raw.len().saturating_sub(self.signature.len());
        self.raw.get(..end).unwrap_or_default()
    }

    /// The exact serialization (the original bytes, for a parsed RouterInfo).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.raw.clone()
    }

    /// The exact serialization, borrowed.
    pub fn as_bytes(&self) -> &[u8] {
        &self.raw
    }

    /// The `caps` option (network-database.md, "RouterInfo": capacity letters such
    /// as `f` for floodfill, `R` reachable, `U` unreachable, `L`..`X` bandwidth).
    pub fn caps(&self) -> Option<&str> {
        self.options.get("caps")
    }

    /// True if `caps` contains `f`.
    pub fn is_floodfill(&self) -> bool {
        self.caps().is_some_and(|c| c.contains('f'))
    }

    /// True if `caps` contains `R` (reachable).
    pub fn is_reachable(&self) -> bool {
        self.caps().is_some_and(|c| c.contains('R'))
    }

    /// The `netId` option; 2 (the I2P network) when absent, `None` when it is not a
    /// number.
    pub fn net_id(&self) -> Option<u32> {
        match self.options.get_bytes(b"netId") {
            None => Some(2),
            Some(v) => std::str::from_utf8(v).ok()?.parse().ok(),
        }
    }

    /// The `router.version` option, e.g. `"0.9.57"`.
    pub fn router_version(&self) -> Option<&str> {
        self.options.get("router.version")
    }

    /// The NTCP2 addresses, with their parsed parameters.
    pub fn ntcp2_addresses(&self) -> impl Iterator<Item = (&RouterAddress, Ntcp2Params)> {
        self.addresses
            .iter()
            .filter_map(|a| a.ntcp2().map(|p| (a, p)))
    }

    /// The first NTCP2 address we can dial (published, with host, port and IV).
    pub fn ntcp2_published(&self) -> Option<Ntcp2Params> {
        self.ntcp2_addresses()
            .map(|(_, p)| p)
            .find(Ntcp2Params::is_published)
    }
}

impl Writeable for RouterInfo {
    fn write_onto(&self, out: &mut Vec<u8>) {
        out.write_bytes(&self.raw);
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use proptest::prelude::*;

    pub(crate) fn sample() -> (RouterInfo, SigningKey) {
        let sk = SigningKey::random();
        let x = i2p_crypto::x25519::StaticSecret::random().public_key();
        let id = RouterIdentity::new_x25519_ed25519(&x, &sk.verifying_key());
        let addr =
            RouterAddress::ntcp2_published(3, "198.18.0.7:12345".parse().unwrap(), &x, &[7u8; 16])
                .unwrap();
        let opts = Mapping::new([
            ("caps", "XfR"),
            ("netId", "2"),
            ("router.version", "0.9.67"),
        ])
        .unwrap();
        let ri = RouterInfo::new_signed(id, 1_764_000_000_000, vec![addr], opts, &sk).unwrap();
        (ri, sk)
    }

    #[test]
    fn signed_round_trip() {
        let (ri, _) = sample();
        let b = ri.to_bytes();
        let back = UncheckedRouterInfo::parse(&b).unwrap().verify().unwrap();
        assert_eq!(back, ri);
        assert_eq!(back.to_bytes(), b);
        assert_eq!(back.published(), 1_764_000_000_000);
        assert!(back.is_floodfill());
        assert!(back.is_reachable());
        assert_eq!(back.net_id(), Some(2));
        assert_eq!(back.router_version(), Some("0.9.67"));
        let p = back.ntcp2_published().unwrap();
        assert_eq!(p.addr, Some("198.18.0.7:12345".parse().unwrap()));
        assert_eq!(p.iv, Some([7u8; 16]));
        assert_eq!(Some(p.static_key), ri.identity().x25519_public_key());
        assert_eq!(p.version, "2");
        assert_eq!(back.signed_bytes().len() + 64, b.len());
    }

    #[test]
    fn tampering_breaks_the_signature() {
        let (ri, _) = sample();
        let b = ri.to_bytes();
        // Flip a bit in the published date, in an option value, in the signature.
        for pos in [392, b.len() - 70, b.len() - 1] {
            let mut t = b.clone();
            t[pos] ^= 1;
            let parsed = UncheckedRouterInfo::parse(&t).unwrap();
            assert!(
                matches!(parsed.verify(), Err(Error::BadSignature { .. })),
                "byte {pos}"
            );
        }
    }

    #[test]
    fn wrong_key_is_refused() {
        let (ri, _) = sample();
        let other = SigningKey::random();
        let err =
            RouterInfo::new_signed(ri.identity().clone(), 1, vec![], Mapping::empty(), &other);
        assert!(err.is_err());
    }

    #[test]
    fn truncation_and_trailing_bytes_are_errors() {
        let (ri, _) = sample();
        let b = ri.to_bytes();
        for n in 0..b.len() {
            assert!(UncheckedRouterInfo::parse(&b[..n]).is_err(), "{n}");
        }
        let mut long = b.clone();
        long.push(0);
        assert!(UncheckedRouterInfo::parse(&long).is_err());
    }

    #[test]
    fn nonzero_peer_size_is_refused() {
        let sk = SigningKey::random();
        let x = [9u8; 32];
        let id = RouterIdentity::new_x25519_ed25519(&x, &sk.verifying_key());
        let ri = RouterInfo::new_signed(id, 5, vec![], Mapping::empty(), &sk).unwrap();
        let mut b = ri.to_bytes();
        // identity 391 + date 8 + count 1 => peer_size at 400.
        assert_eq!(b[400], 0);
        b[400] = 1;
        assert!(UncheckedRouterInfo::parse(&b).is_err());
    }

    #[test]
    fn net_id_default_and_malformed() {
        let sk = SigningKey::random();
        let id = RouterIdentity::new_x25519_ed25519(&[1; 32], &sk.verifying_key());
        let ri = RouterInfo::new_signed(id.clone(), 5, vec![], Mapping::empty(), &sk).unwrap();
        assert_eq!(ri.net_id(), Some(2));
        assert!(!ri.is_floodfill());
        let opts = Mapping::new([("netId", "x")]).unwrap();
        let ri = RouterInfo::new_signed(id, 5, vec![], opts, &sk).unwrap();
        assert_eq!(ri.net_id(), None);
    }

    #[test]
    fn unpublished_ntcp2_address() {
        let a = RouterAddress::ntcp2_unpublished(14, &[5; 32]).unwrap();
        let p = a.ntcp2().unwrap();
        assert!(!p.is_published());
        assert_eq!(p.static_key, [5; 32]);
        assert_eq!(RouterAddress::from_bytes(&a.to_bytes()).unwrap(), a);
        let ssu = RouterAddress::new(8, SSU2, Mapping::empty()).unwrap();
        assert!(ssu.ntcp2().is_none());
    }

    fn address() -> impl Strategy<Value = RouterAddress> {
        (
            any::<u8>(),
            "[A-Z0-9]{1,8}",
            proptest::collection::btree_map("[a-z]{1,6}", "[ -~]{0,30}", 0..6),
        )
            .prop_map(|(cost, style, opts)| {
                RouterAddress::new(cost, &style, Mapping::new(opts).unwrap()).unwrap()
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn built_router_infos_round_trip_and_verify(
            published: u64,
            addrs in proptest::collection::vec(address(), 0..4),
            opts in proptest::collection::btree_map("[a-z.]{1,12}", "[ -~]{0,20}", 0..8),
        ) {
            let sk = SigningKey::random();
            let id = RouterIdentity::new_x25519_ed25519(&[4; 32], &sk.verifying_key());
            let ri = RouterInfo::new_signed(id, published, addrs, Mapping::new(opts).unwrap(), &sk)
                .unwrap();
            let b = ri.to_bytes();
            let back = UncheckedRouterInfo::parse(&b).unwrap().verify().unwrap();
            prop_assert_eq!(&back, &ri);
            prop_assert_eq!(back.to_bytes(), b);
        }
    }
}
