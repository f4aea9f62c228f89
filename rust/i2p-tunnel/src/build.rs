//! ECIES-X25519 tunnel building, sans-IO (tunnel-creation-ecies.rst; i2np.rst,
//! "ShortTunnelBuild", "OutboundTunnelBuildReply", "VariableTunnelBuild").
//!
//! * [`creator`]: we build our own tunnels: [`creator::build_tunnel`] makes the
//!   ShortTunnelBuild message and a [`creator::PendingBuild`] that reads the reply.
//! * [`participant`]: others build through us: [`participant::BuildRequestHandler`]
//!   finds and decrypts our record (short records in ShortTunnelBuild, long ECIES
//!   records in VariableTunnelBuild), checks time and replay, and
//!   [`participant::TransitRequest::reply`] says what to send where.
//! * [`record`]: the clear-text records and the build message framing.
//! * [`garlic`]: the OBEP's one-time-key garlic wrapping of the
//!   OutboundTunnelBuildReply, both ways.
//!
//! How a router drives it:
//! * Outbound build: [`creator::build_tunnel`] with [`ReplyPath::Outbound`] (the
//!   gateway and tunnel id of one of our inbound tunnels, or our hash and zero-hop
//!   tunnel id); send `OutgoingBuild::message` to `first_hop` directly; keep the
//!   `PendingBuild` under its `garlic_reply_key().tag` (and reply message id). The
//!   reply arrives at our inbound endpoint as a Garlic message with that tag:
//!   [`PendingBuild::handle_garlic_reply`]. (If the OBEP is also the reply gateway, it
//!   arrives unwrapped: [`PendingBuild::handle_reply_message`].)
//! * Inbound build: [`ReplyPath::Inbound`] with our hash and the new tunnel's id at us;
//!   send the message through one of our outbound tunnels to `first_hop` (router
//!   delivery); keep the `PendingBuild` under its reply message id. The reply arrives
//!   as a ShortTunnelBuild with that message id: check pending builds *before* the
//!   participant handler, then [`PendingBuild::handle_reply_message`].
//! * `BuildOutcome::hops` (gateway first) carries each hop's reply code and
//!   [`LayerKeys`] for the tunnel data layer.
//! * Transit: [`BuildRequestHandler::handle`] on every ShortTunnelBuild or
//!   VariableTunnelBuild not matched above; decide; [`TransitRequest::reply`]; send
//!   the [`TransitAction`]. Errors mean drop (they are counted).
//!
//! Not in this module: the tunnel data layer (see `crate::message`), peer selection,
//! timeouts of pending builds, the decision to accept a transit tunnel, and the
//! Noise-N garlic wrapping of an inbound build message to its IBGW (`i2p-garlic`).
//!
//! Interop notes, from i2pd 2.45.1 (the spec leaves them open): the plain ChaCha20 of
//! the other records starts at block counter 1 (as the ChaCha20/Poly1305 AEAD does
//! for its payload); only the last hop's record carries the caller's reply message id,
//! the other hops get random ones; a build has 4 records up to 4 hops, else 8.

use std::fmt;

use chacha20::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};
use i2p_crypto::hash::hkdf2;
use zeroize::{Zeroize, ZeroizeOnDrop};

pub mod creator;
pub mod garlic;
pub mod participant;
pub mod record;

#[cfg(test)]
mod tests;

pub use creator::{
    build_tunnel, BuildOutcome, BuildPlan, BuiltHop, Hop, OutgoingBuild, PendingBuild, ReplyPath,
};
pub use participant::{
    BuildRequestHandler, DropCounters, ReplayFilter, TransitAction, TransitRequest,
};
pub use record::{BuildRequestRecord, LongRecordKeys, RecordFormat};

/// A tunnel id: "4 byte Integer ... nonzero" (common-structures.rst, "TunnelId").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TunnelId(pub u32);

impl TunnelId {
    /// A random nonzero tunnel id.
    pub fn random() -> Self {
        loop {
            let mut b = [0u8; 4];
            i2p_crypto::random_bytes(&mut b);
            let v = u32::from_be_bytes(b);
            if v != 0 {
                return TunnelId(v);
            }
        }
    }
}

impl fmt::Display for TunnelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The reply byte of a build response record (tunnel-creation.rst, "Reply Record
/// Specification"): 0 accepts, higher values are "higher levels of rejection".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReplyCode(pub u8);

impl ReplyCode {
    /// 0x00: the hop agrees to participate.
    pub const ACCEPT: Self = Self(0);
    /// TUNNEL_REJECT_PROBABALISTIC_REJECT = 10.
    pub const REJECT_PROBABALISTIC: Self = Self(10);
    /// TUNNEL_REJECT_TRANSIENT_OVERLOAD = 20.
    pub const REJECT_TRANSIENT_OVERLOAD: Self = Self(20);
    /// TUNNEL_REJECT_BANDWIDTH = 30. "The current implementation uses
    /// TUNNEL_REJECT_BANDWIDTH for almost all rejections"; ECIES records allow only 0
    /// and 30 "to avoid fingerprinting".
    pub const REJECT_BANDWIDTH: Self = Self(30);
    /// TUNNEL_REJECT_CRIT = 50.
    pub const REJECT_CRIT: Self = Self(50);

    /// True for 0x00.
    pub fn is_accept(self) -> bool {
        self == Self::ACCEPT
    }
}

/// The role of a hop, from bits 7 and 6 of the record's flags byte
/// (tunnel-creation-ecies.rst, "Short Request Record Unencrypted").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HopRole {
    /// Neither bit: an intermediate participant.
    Participant,
    /// Bit 7, "allow messages from anyone": the inbound gateway.
    InboundGateway,
    /// Bit 6, "allow messages to anyone, and send the reply to the specified next hop
    /// in a Tunnel Build Reply Message": the outbound endpoint.
    OutboundEndpoint,
}

impl HopRole {
    /// Flag bit 7 (IBGW).
    pub const FLAG_IBGW: u8 = 0x80;
    /// Flag bit 6 (OBEP).
    pub const FLAG_OBEP: u8 = 0x40;

    /// The flags byte for this role.
    pub fn flags(self) -> u8 {
        match self {
            HopRole::Participant => 0,
            HopRole::InboundGateway => Self::FLAG_IBGW,
            HopRole::OutboundEndpoint => Self::FLAG_OBEP,
        }
    }

    /// The role of a flags byte. "Both cannot be set at once": `None` then. Bits 5-0
    /// are ignored ("Undefined, must set to 0 for compatibility with future options").
    pub fn from_flags(flags: u8) -> Option<Self> {
        match (flags & Self::FLAG_IBGW != 0, flags & Self::FLAG_OBEP != 0) {
            (false, false) => Some(HopRole::Participant),
            (true, false) => Some(HopRole::InboundGateway),
            (false, true) => Some(HopRole::OutboundEndpoint),
            (true, true) => None,
        }
    }
}

/// The AES-256 tunnel layer keys of one hop (tunnel-implementation.md; derived by the
/// "KDF" of tunnel-creation-ecies.rst). Zeroized on drop; `Debug` hides them.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct LayerKeys {
    /// The AES-256 layer key (CBC over the 1008 data bytes).
    pub layer_key: [u8; 32],
    /// The AES-256 IV key (ECB over the 16-byte IV, twice).
    pub iv_key: [u8; 32],
}

impl fmt::Debug for LayerKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LayerKeys(..)")
    }
}

/// The one-time key and tag with which the OBEP garlic-wraps its
/// OutboundTunnelBuildReply ("OBEP garlic reply key/tag"). Zeroized on drop.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct GarlicReplyKey {
    /// `garlicReplyKey = keydata[32:63]`.
    pub key: [u8; 32],
    /// `garlicReplyTag = keydata[0:7]`, in wire order.
    pub tag: [u8; 8],
}

impl fmt::Debug for GarlicReplyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GarlicReplyKey(..)")
    }
}

/// Errors of tunnel building. Participants drop on any of them (and count it); a
/// creator fails the build.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A message or record did not parse.
    #[error("malformed {object}: {reason}")]
    Malformed {
        /// What was being parsed.
        object: &'static str,
        /// Which rule was broken.
        reason: &'static str,
    },
    /// No record carries our truncated router hash.
    #[error("no build record for us")]
    NotForUs,
    /// Our record (or a reply record, or the garlic reply) failed AEAD authentication,
    /// or its ephemeral key was a low-order point.
    #[error("{0}: decryption failed")]
    Decrypt(&'static str),
    /// The request time is too far in the past or future, or the request has expired.
    #[error("build request time out of range")]
    Stale,
    /// The record was seen before.
    #[error("build record replayed")]
    Replay,
    /// A request we cannot serve (unknown layer encryption, both role flags set).
    #[error("unsupported build request: {0}")]
    Unsupported(&'static str),
    /// A creator-side argument is out of range (hop count, option size).
    #[error("invalid build parameters: {0}")]
    InvalidParams(&'static str),
    /// The reply does not match the build: record count, or the originator's own
    /// fake record was modified on the way (tunnel-creation-ecies.rst, "Build Records").
    #[error("build reply does not match the request: {0}")]
    ReplyMismatch(&'static str),
}

impl BuildError {
    pub(crate) fn malformed(object: &'static str, reason: &'static str) -> Self {
        BuildError::Malformed { object, reason }
    }
}

/// Result of this module.
pub type Result<T> = std::result::Result<T, BuildError>;

/// Noise protocol name of the build request ("KDF for Initial ck and h").
pub const NOISE_N_PROTOCOL_NAME: &[u8] = b"Noise_N_25519_ChaChaPoly_SHA256";

/// The per-hop keys derived from the request's Noise state (tunnel-creation-ecies.rst,
/// "KDF"): reply key, layer keys, and for the OBEP the garlic reply key/tag; plus `h`,
/// the AEAD associated data of the hop's reply record.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct ShortHopKeys {
    pub(crate) reply_key: [u8; 32],
    pub(crate) h: [u8; 32],
    pub(crate) layer: LayerKeys,
    pub(crate) garlic: Option<GarlicReplyKey>,
}

/// The short-record KDF from the chaining key after the request's `es` and
/// `MixHash(ciphertext)`. `obep` selects the OBEP variant of the IV key and adds the
/// garlic key/tag ("The KDF for the IV key at the OBEP is different from that for the
/// other hops, even if the reply is not garlic encrypted").
pub(crate) fn short_record_kdf(ck: &[u8; 32], h: &[u8; 32], obep: bool) -> ShortHopKeys {
    // keydata = HKDF(ck, ZEROLEN, "SMTunnelReplyKey", 64); replyKey = keydata[32:63]
    let (mut ck1, reply_key) = hkdf2(ck, &[], b"SMTunnelReplyKey");
    // keydata = HKDF(ck, ZEROLEN, "SMTunnelLayerKey", 64); layerKey = keydata[32:63]
    let (mut ck2, layer_key) = hkdf2(&ck1, &[], b"SMTunnelLayerKey");
    let (iv_key, garlic) = if obep {
        let (mut ck3, iv_key) = hkdf2(&ck2, &[], b"TunnelLayerIVKey");
        let (mut ck4, key) = hkdf2(&ck3, &[], b"RGarlicKeyAndTag");
        let mut tag = [0u8; 8];
        tag.copy_from_slice(&ck4[..8]);
        ck3.zeroize();
        ck4.zeroize();
        (iv_key, Some(GarlicReplyKey { key, tag }))
    } else {
        // "ivKey = keydata[0:31] because it's last"
        (ck2, None)
    };
    ck1.zeroize();
    ck2.zeroize();
    ShortHopKeys {
        reply_key,
        h: *h,
        layer: LayerKeys { layer_key, iv_key },
        garlic,
    }
}

/// ChaCha20 (not ChaCha20/Poly1305) of one record in place: `iv` is all zeros except
/// `iv[4] = n` ("Record Encryption"); the keystream starts at block 1 as in i2pd.
pub(crate) fn chacha20_record(key: &[u8; 32], record_index: u8, data: &mut [u8]) {
    let mut iv = [0u8; 12];
    iv[4] = record_index;
    let mut c = chacha20::ChaCha20::new(key.into(), (&iv).into());
    c.seek(64u64);
    c.apply_keystream(data);
}

/// The AEAD nonce of a short reply record: "n = record number 0-7".
pub(crate) fn record_nonce(record_index: u8) -> u64 {
    u64::from(record_index)
}
