//! Clear-text build records and the framing of the build messages
//! (tunnel-creation-ecies.rst, "Short Request Record Unencrypted", "Request Record
//! Unencrypted"; i2np.rst, "ShortTunnelBuild", "VariableTunnelBuild").

use i2p_wire::{Hash, Mapping, Readable, Reader, Writeable};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::{BuildError, HopRole, Result, TunnelId};

/// Largest number of records in a build message ("num ... Valid values: 1-8").
pub const MAX_RECORDS: usize = 8;

/// Which record size a build message uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordFormat {
    /// 218-byte records: ShortTunnelBuild (25) and OutboundTunnelBuildReply (26).
    Short,
    /// 528-byte records: VariableTunnelBuild (23) and VariableTunnelBuildReply (24),
    /// with ECIES long records ("Long Record Specification", deprecated).
    Long,
}

impl RecordFormat {
    /// Encrypted record size: 218 or 528 bytes.
    pub const fn record_len(self) -> usize {
        match self {
            RecordFormat::Short => 218,
            RecordFormat::Long => 528,
        }
    }

    /// Clear-text request record size: 154 or 464 bytes.
    pub const fn request_clear_len(self) -> usize {
        match self {
            RecordFormat::Short => 154,
            RecordFormat::Long => 464,
        }
    }

    /// Clear-text reply record size: 202 or 512 bytes.
    pub const fn reply_clear_len(self) -> usize {
        match self {
            RecordFormat::Short => 202,
            RecordFormat::Long => 512,
        }
    }

    /// Offset of the build options Mapping in the clear request: 56 or 168.
    const fn options_offset(self) -> usize {
        match self {
            RecordFormat::Short => 56,
            RecordFormat::Long => 168,
        }
    }
}

/// Bytes 0-15 of an encrypted request record: "Hop's truncated identity hash".
pub const TRUNCATED_HASH_LEN: usize = 16;
/// Offset of the ephemeral key (bytes 16-47) and of the ciphertext (48-).
pub(crate) const EPHEMERAL_OFFSET: usize = 16;
pub(crate) const CIPHERTEXT_OFFSET: usize = 48;

/// Checks the framing of a build message body (`num`, then `num` records of the
/// format's size, nothing else) and returns `num`.
pub fn record_count(payload: &[u8], format: RecordFormat) -> Result<usize> {
    let (&num, records) = payload
        .split_first()
        .ok_or(BuildError::malformed("build message", "empty"))?;
    let num = usize::from(num);
    if num == 0 || num > MAX_RECORDS {
        return Err(BuildError::malformed("build message", "num not in 1-8"));
    }
    if records.len() != num * format.record_len() {
        return Err(BuildError::malformed(
            "build message",
            "length is not 1 + num * record size",
        ));
    }
    Ok(num)
}

/// The keys an ECIES long record carries explicitly (bytes 40-151). Zeroized on drop.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct LongRecordKeys {
    /// "AES-256 tunnel layer key".
    pub layer_key: [u8; 32],
    /// "AES-256 tunnel IV key".
    pub iv_key: [u8; 32],
    /// "AES-256 reply key", for the AES-CBC of the other records.
    pub reply_key: [u8; 32],
    /// "AES-256 reply IV".
    pub reply_iv: [u8; 16],
}

impl std::fmt::Debug for LongRecordKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LongRecordKeys(..)")
    }
}

/// A clear-text ECIES build request record, short or long form (the long form's keys
/// are in [`LongRecordKeys`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildRequestRecord {
    /// "tunnel ID to receive messages as, nonzero".
    pub receive_tunnel: TunnelId,
    /// "next tunnel ID, nonzero".
    pub next_tunnel: TunnelId,
    /// "next router identity hash".
    pub next_ident: Hash,
    /// "flags": bit 7 IBGW, bit 6 OBEP (see [`HopRole`]).
    pub flags: u8,
    /// "layer encryption type: 0 for AES" (short records; always 0 in long records).
    pub layer_encryption: u8,
    /// "request time (in minutes since the epoch, rounded down)".
    pub request_time_minutes: u32,
    /// "request expiration (in seconds since creation)"; "the only supported value is
    /// 600".
    pub expiration_secs: u32,
    /// "next message ID": the id of the build message sent onward (or of the reply).
    pub next_message_id: u32,
    /// "tunnel build options (Mapping)", e.g. bandwidth `m`, `r`, `l`.
    pub options: Mapping,
}

/// The only request expiration in use ("For now, the only supported value is 600").
pub const STANDARD_EXPIRATION_SECS: u32 = 600;
/// Largest options Mapping in a short record including its size: 98 bytes.
pub const MAX_SHORT_OPTIONS_LEN: usize = 98;
/// Largest options Mapping in a long record including its size: 296 bytes.
pub const MAX_LONG_OPTIONS_LEN: usize = 296;

impl BuildRequestRecord {
    /// The hop's role, or `None` if both role bits are set.
    pub fn role(&self) -> Option<HopRole> {
        HopRole::from_flags(self.flags)
    }

    fn check_ids(&self) -> Result<()> {
        if self.receive_tunnel.0 == 0 || self.next_tunnel.0 == 0 {
            return Err(BuildError::malformed(
                "build request record",
                "tunnel id zero",
            ));
        }
        Ok(())
    }

    fn write_common(&self, out: &mut [u8], format: RecordFormat) -> Result<()> {
        let opts = self.options.to_bytes();
        let max = match format {
            RecordFormat::Short => MAX_SHORT_OPTIONS_LEN,
            RecordFormat::Long => MAX_LONG_OPTIONS_LEN,
        };
        if opts.len() > max {
            return Err(BuildError::InvalidParams("build options Mapping too long"));
        }
        let off = format.options_offset();
        // Random padding after the options ("x-153: random padding").
        i2p_crypto::random_bytes(out.get_mut(off..).unwrap_or_default());
        out[0..4].copy_from_slice(&self.receive_tunnel.0.to_be_bytes());
        out[4..8].copy_from_slice(&self.next_tunnel.0.to_be_bytes());
        out[8..40].copy_from_slice(self.next_ident.as_bytes());
        let t = off - 12;
        out[t..t + 4].copy_from_slice(&self.request_time_minutes.to_be_bytes());
        out[t + 4..t + 8].copy_from_slice(&self.expiration_secs.to_be_bytes());
        out[t + 8..t + 12].copy_from_slice(&self.next_message_id.to_be_bytes());
        out[off..off + opts.len()].copy_from_slice(&opts);
        Ok(())
    }

    fn read_common(clear: &[u8], format: RecordFormat) -> Result<(Self, Reader<'_>)> {
        let err = |_| BuildError::malformed("build request record", "truncated");
        if clear.len() != format.request_clear_len() {
            return Err(BuildError::malformed(
                "build request record",
                "wrong length",
            ));
        }
        let mut r = Reader::new(clear);
        let receive_tunnel = TunnelId(r.take_u32().map_err(err)?);
        let next_tunnel = TunnelId(r.take_u32().map_err(err)?);
        let next_ident = Hash(r.take_array::<32>().map_err(err)?);
        let rec = BuildRequestRecord {
            receive_tunnel,
            next_tunnel,
            next_ident,
            flags: 0,
            layer_encryption: 0,
            request_time_minutes: 0,
            expiration_secs: 0,
            next_message_id: 0,
            options: Mapping::empty(),
        };
        Ok((rec, r))
    }

    fn read_tail(&mut self, r: &mut Reader<'_>) -> Result<()> {
        let err = |_| BuildError::malformed("build request record", "truncated");
        self.request_time_minutes = r.take_u32().map_err(err)?;
        self.expiration_secs = r.take_u32().map_err(err)?;
        self.next_message_id = r.take_u32().map_err(err)?;
        // The rest of the record bounds the Mapping (98 or 296 bytes).
        self.options = Mapping::take_from(r)
            .map_err(|_| BuildError::malformed("build request record", "bad options Mapping"))?;
        self.check_ids()
    }

    /// Parses a 154-byte short clear-text record. Total: any input gives a record or
    /// an error.
    pub fn parse_short(clear: &[u8]) -> Result<Self> {
        let (mut rec, mut r) = Self::read_common(clear, RecordFormat::Short)?;
        let err = |_| BuildError::malformed("build request record", "truncated");
        rec.flags = r.take_u8().map_err(err)?;
        r.take(2).map_err(err)?; // more flags, unused
        rec.layer_encryption = r.take_u8().map_err(err)?;
        rec.read_tail(&mut r)?;
        Ok(rec)
    }

    /// The 154-byte short clear text, padded with random bytes. Errors on an options
    /// Mapping over 98 bytes.
    pub fn to_short_bytes(&self) -> Result<[u8; 154]> {
        let mut out = [0u8; 154];
        self.write_common(&mut out, RecordFormat::Short)?;
        out[40] = self.flags;
        out[41] = 0;
        out[42] = 0;
        out[43] = self.layer_encryption;
        Ok(out)
    }

    /// Parses a 464-byte long ECIES clear-text record with its explicit keys.
    pub fn parse_long(clear: &[u8]) -> Result<(Self, LongRecordKeys)> {
        let (mut rec, mut r) = Self::read_common(clear, RecordFormat::Long)?;
        let err = |_| BuildError::malformed("build request record", "truncated");
        let keys = LongRecordKeys {
            layer_key: r.take_array::<32>().map_err(err)?,
            iv_key: r.take_array::<32>().map_err(err)?,
            reply_key: r.take_array::<32>().map_err(err)?,
            reply_iv: r.take_array::<16>().map_err(err)?,
        };
        rec.flags = r.take_u8().map_err(err)?;
        r.take(3).map_err(err)?; // more flags, unused
        rec.read_tail(&mut r)?;
        Ok((rec, keys))
    }

    /// The 464-byte long clear text with `keys`, padded with random bytes.
    pub fn to_long_bytes(&self, keys: &LongRecordKeys) -> Result<[u8; 464]> {
        let mut out = [0u8; 464];
        self.write_common(&mut out, RecordFormat::Long)?;
        out[40..72].copy_from_slice(&keys.layer_key);
        out[72..104].copy_from_slice(&keys.iv_key);
        out[104..136].copy_from_slice(&keys.reply_key);
        out[136..152].copy_from_slice(&keys.reply_iv);
        out[152] = self.flags;
        out[153..156].copy_from_slice(&[0, 0, 0]);
        Ok(out)
    }
}

/// Writes a clear reply record into `out` (202 or 512 bytes): empty options
/// (`00 00`), random padding, and the reply byte last.
pub(crate) fn write_reply_clear(out: &mut [u8], code: u8) {
    i2p_crypto::random_bytes(out);
    if let Some(o) = out.get_mut(..2) {
        o.copy_from_slice(&[0, 0]);
    }
    if let Some(last) = out.last_mut() {
        *last = code;
    }
}

/// Reads the options Mapping at the start of a clear reply record, if it parses.
pub(crate) fn reply_options(clear: &[u8]) -> Mapping {
    let body = clear.split_last().map(|(_, b)| b).unwrap_or_default();
    Mapping::take_from(&mut Reader::new(body)).unwrap_or_default()
}

#[cfg(test)]
mod test {
    use super::*;

    fn sample() -> BuildRequestRecord {
        BuildRequestRecord {
            receive_tunnel: TunnelId(0x0102_0304),
            next_tunnel: TunnelId(0x0a0b_0c0d),
            next_ident: Hash([7u8; 32]),
            flags: HopRole::OutboundEndpoint.flags(),
            layer_encryption: 0,
            request_time_minutes: 29_000_000,
            expiration_secs: 600,
            next_message_id: 0xdead_beef,
            options: Mapping::new([("m", "100"), ("r", "200")]).unwrap(),
        }
    }

    #[test]
    fn short_record_layout_and_round_trip() {
        let rec = sample();
        let b = rec.to_short_bytes().unwrap();
        assert_eq!(&b[0..4], &[1, 2, 3, 4]);
        assert_eq!(&b[4..8], &[0x0a, 0x0b, 0x0c, 0x0d]);
        assert_eq!(&b[8..40], &[7u8; 32]);
        assert_eq!(b[40], 0x40);
        assert_eq!(&b[41..44], &[0, 0, 0]);
        assert_eq!(&b[44..48], &29_000_000u32.to_be_bytes());
        assert_eq!(&b[48..52], &600u32.to_be_bytes());
        assert_eq!(&b[52..56], &[0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(BuildRequestRecord::parse_short(&b).unwrap(), rec);
        assert_eq!(rec.role(), Some(HopRole::OutboundEndpoint));
    }

    #[test]
    fn long_record_layout_and_round_trip() {
        let rec = sample();
        let keys = LongRecordKeys {
            layer_key: [1; 32],
            iv_key: [2; 32],
            reply_key: [3; 32],
            reply_iv: [4; 16],
        };
        let b = rec.to_long_bytes(&keys).unwrap();
        assert_eq!(&b[104..136], &[3u8; 32]);
        assert_eq!(b[152], 0x40);
        assert_eq!(&b[156..160], &29_000_000u32.to_be_bytes());
        assert_eq!(&b[164..168], &[0xde, 0xad, 0xbe, 0xef]);
        let (rec2, keys2) = BuildRequestRecord::parse_long(&b).unwrap();
        assert_eq!(rec2, rec);
        assert!(keys2 == keys);
    }

    #[test]
    fn oversized_options_refused() {
        let mut rec = sample();
        let long = "x".repeat(100);
        rec.options = Mapping::new([("k", long.as_str())]).unwrap();
        assert!(rec.to_short_bytes().is_err());
        assert!(rec
            .to_long_bytes(&LongRecordKeys {
                layer_key: [0; 32],
                iv_key: [0; 32],
                reply_key: [0; 32],
                reply_iv: [0; 16]
            })
            .is_ok());
    }

    #[test]
    fn zero_tunnel_id_and_bad_lengths_refused() {
        let mut rec = sample();
        rec.receive_tunnel = TunnelId(0);
        let b = rec.to_short_bytes().unwrap();
        assert!(BuildRequestRecord::parse_short(&b).is_err());
        assert!(BuildRequestRecord::parse_short(&b[..153]).is_err());
        assert!(BuildRequestRecord::parse_long(&[0u8; 463]).is_err());
    }

    #[test]
    fn framing() {
        let mut m = vec![4u8];
        m.extend_from_slice(&[0u8; 4 * 218]);
        assert_eq!(record_count(&m, RecordFormat::Short).unwrap(), 4);
        assert!(record_count(&m, RecordFormat::Long).is_err());
        m.push(0);
        assert!(record_count(&m, RecordFormat::Short).is_err());
        assert!(record_count(&[9u8], RecordFormat::Short).is_err());
        assert!(record_count(&[], RecordFormat::Short).is_err());
        assert!(record_count(&[0u8], RecordFormat::Short).is_err());
    }

    #[test]
    fn both_role_bits_is_no_role() {
        assert_eq!(HopRole::from_flags(0xc0), None);
        assert_eq!(HopRole::from_flags(0x80), Some(HopRole::InboundGateway));
        assert_eq!(HopRole::from_flags(0x01), Some(HopRole::Participant));
    }
}
