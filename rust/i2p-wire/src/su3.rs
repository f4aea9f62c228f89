//! SU3 files (updates.rst, "SU3 File Specification"): signed containers for reseed
//! data, router updates, plugins and news.
//!
//! Read first: updates.rst, "SU3 File Specification" (the header table) and
//! "Signature Details" (what the signature covers).
//!
//! [`UncheckedSu3::parse`] is a total, zero-copy parser: any byte string gives a view
//! or an [`Su3Error`], never a panic, and nothing is allocated from a length field. The
//! view is **not verified**: the signature must be checked against the signer's
//! certificate (looked up by [`UncheckedSu3::signer_id`], for the expected
//! [`ContentType`]) before the content is trusted; `gousse-reseed` does that for
//! reseed files. [`encode_signed_part`] writes the header and content that a signer
//! then signs (used by tests and by `gousse-testnet`).

/// The magic number at bytes 0-5.
pub const MAGIC: &[u8; 6] = b"I2Psu3";
/// The fixed part of the header (bytes 0-39); the version string starts at byte 40.
pub const HEADER_LEN: usize = 40;
/// updates.rst: the version length "must be at least 16 (0x10) for compatibility".
pub const MIN_VERSION_LEN: usize = 16;
/// The only su3 file format version (byte 7) this parser knows.
pub const FORMAT_VERSION: u8 = 0;
/// Content lengths above this (1 GiB) are refused as absurd, whatever the input size.
pub const MAX_CONTENT_LEN: u64 = 1 << 30;

/// Signature type at bytes 8-9 (updates.rst; lengths from common-structures.rst,
/// "Signature"). An open newtype: unknown values stay representable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SigType(pub u16);

impl SigType {
    /// DSA-SHA1 (obsolete).
    pub const DSA_SHA1: Self = Self(0);
    /// ECDSA-SHA256-P256.
    pub const ECDSA_SHA256_P256: Self = Self(1);
    /// ECDSA-SHA384-P384.
    pub const ECDSA_SHA384_P384: Self = Self(2);
    /// ECDSA-SHA512-P521.
    pub const ECDSA_SHA512_P521: Self = Self(3);
    /// RSA-SHA256-2048.
    pub const RSA_SHA256_2048: Self = Self(4);
    /// RSA-SHA384-3072.
    pub const RSA_SHA384_3072: Self = Self(5);
    /// RSA-SHA512-4096: what reseed signers use (updates.rst, "SU3 Reseed File").
    pub const RSA_SHA512_4096: Self = Self(6);
    /// EdDSA-SHA512-Ed25519ph.
    pub const EDDSA_SHA512_ED25519PH: Self = Self(8);

    /// The signature length this type implies, or `None` for a type the spec does
    /// not list for SU3.
    pub fn signature_len(self) -> Option<usize> {
        Some(match self {
            Self::DSA_SHA1 => 40,
            Self::ECDSA_SHA256_P256 => 64,
            Self::ECDSA_SHA384_P384 => 96,
            Self::ECDSA_SHA512_P521 => 132,
            Self::RSA_SHA256_2048 => 256,
            Self::RSA_SHA384_3072 => 384,
            Self::RSA_SHA512_4096 => 512,
            Self::EDDSA_SHA512_ED25519PH => 64,
            _ => return None,
        })
    }
}

/// File type at byte 25.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileType(pub u8);

impl FileType {
    /// A zip file (reseed data, router updates, plugins).
    pub const ZIP: Self = Self(0);
    /// An XML file (as of 0.9.15).
    pub const XML: Self = Self(1);
    /// An HTML file (as of 0.9.17).
    pub const HTML: Self = Self(2);
    /// An xml.gz file (as of 0.9.17).
    pub const XML_GZ: Self = Self(3);
    /// A txt.gz file (as of 0.9.28).
    pub const TXT_GZ: Self = Self(4);
    /// A dmg file (as of 0.9.51).
    pub const DMG: Self = Self(5);
    /// An exe file (as of 0.9.51).
    pub const EXE: Self = Self(6);
}

/// Content type at byte 27: "The content type specifies the trust domain".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ContentType(pub u8);

impl ContentType {
    /// Unknown.
    pub const UNKNOWN: Self = Self(0);
    /// Router update.
    pub const ROUTER_UPDATE: Self = Self(1);
    /// Plugin or plugin update.
    pub const PLUGIN: Self = Self(2);
    /// Reseed data (updates.rst, "SU3 Reseed File Specification").
    pub const RESEED: Self = Self(3);
    /// News feed (as of 0.9.15).
    pub const NEWS: Self = Self(4);
    /// Blocklist feed (as of 0.9.28).
    pub const BLOCKLIST: Self = Self(5);
}

/// Why bytes are not an SU3 file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Su3Error {
    /// The input ends before a field the header says is there.
    #[error("su3 file truncated: {field} needs {needed} bytes, the file has {have}")]
    Truncated {
        /// What was being read.
        field: &'static str,
        /// Bytes needed up to the end of that field.
        needed: u64,
        /// Bytes available.
        have: usize,
    },
    /// Bytes 0-5 are not "I2Psu3".
    #[error("not an su3 file: bad magic number")]
    BadMagic,
    /// Byte 7 is not file format version 0.
    #[error("unknown su3 file format version {0}")]
    UnknownFormatVersion(u8),
    /// A signature type the spec does not list for SU3.
    #[error("unknown su3 signature type {0}")]
    UnknownSigType(u16),
    /// updates.rst: the signature length "must match that specified for the
    /// Signature type".
    #[error(
        "su3 signature length {declared} does not match signature type {sig_type} ({expected} bytes)"
    )]
    SigLengthMismatch {
        /// The signature type at bytes 8-9.
        sig_type: u16,
        /// The length at bytes 10-11.
        declared: u16,
        /// The length that type implies.
        expected: usize,
    },
    /// Byte 13: the version length "must be at least 16".
    #[error("su3 version length {0} is below the minimum of 16")]
    VersionTooShort(u8),
    /// The signer ID is empty.
    #[error("su3 signer ID is empty")]
    EmptySignerId,
    /// The signer ID is not UTF-8.
    #[error("su3 signer ID is not UTF-8")]
    SignerIdNotUtf8,
    /// The content length at bytes 16-23 exceeds [`MAX_CONTENT_LEN`].
    #[error("su3 content length {0} is larger than the limit of {MAX_CONTENT_LEN} bytes")]
    ContentTooLarge(u64),
    /// The file is longer than header + content + signature.
    #[error("su3 file has {actual} bytes but its header describes {expected}")]
    TrailingBytes {
        /// The length the header implies.
        expected: u64,
        /// The input's length.
        actual: usize,
    },
    /// A field given to [`encode_signed_part`] does not fit its length byte.
    #[error("su3 {0} too long for its length field")]
    FieldTooLong(&'static str),
}

/// A parsed but **unverified** SU3 file, borrowing the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UncheckedSu3<'a> {
    /// Bytes 8-9.
    pub sig_type: SigType,
    /// Byte 25.
    pub file_type: FileType,
    /// Byte 27: the trust domain the signer's certificate must belong to.
    pub content_type: ContentType,
    /// The version field as stored, with its 0x00 padding.
    pub version_raw: &'a [u8],
    /// The ID of the signer, e.g. "zzz@mail.i2p".
    pub signer_id: &'a str,
    /// The content (format given by `file_type`).
    pub content: &'a [u8],
    /// "The signature covers the entire header starting at byte 0, through the end
    /// of the content": exactly these bytes.
    pub signed: &'a [u8],
    /// The signature (length checked against `sig_type`).
    pub signature: &'a [u8],
}

/// A small bounds-checked cursor: every read says which field it was.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: u64, field: &'static str) -> Result<&'a [u8], Su3Error> {
        let truncated = Su3Error::Truncated {
            field,
            needed: (self.pos as u64).saturating_add(n),
            have: self.buf.len(),
        };
        let n = usize::try_from(n).map_err(|_| truncated.clone())?;
        let end = self.pos.checked_add(n).ok_or_else(|| truncated.clone())?;
        let out = self.buf.get(self.pos..end).ok_or(truncated)?;
        self.pos = end;
        Ok(out)
    }
}

fn be_u16(b: &[u8], at: usize) -> u16 {
    let mut a = [0u8; 2];
    if let Some(s) = b.get(at..at + 2) {
        a.copy_from_slice(s);
    }
    u16::from_be_bytes(a)
}

impl<'a> UncheckedSu3<'a> {
    /// Parses a whole SU3 file. Checks the magic, the format version, that the
    /// signature length matches the signature type, the minimum version length, the
    /// content length bound, and that the lengths add up to exactly the input.
    /// Unused bytes are not checked (updates.rst asks writers to zero them "for
    /// compatibility with future versions", so readers tolerate them).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Su3Error> {
        let mut r = Reader { buf: bytes, pos: 0 };
        let h = r.take(HEADER_LEN as u64, "header")?;
        if h.get(0..6) != Some(&MAGIC[..]) {
            return Err(Su3Error::BadMagic);
        }
        let byte = |i: usize| h.get(i).copied().unwrap_or(0);
        if byte(7) != FORMAT_VERSION {
            return Err(Su3Error::UnknownFormatVersion(byte(7)));
        }
        let sig_type = SigType(be_u16(h, 8));
        let sig_len = be_u16(h, 10);
        let expected = sig_type
            .signature_len()
            .ok_or(Su3Error::UnknownSigType(sig_type.0))?;
        if usize::from(sig_len) != expected {
            return Err(Su3Error::SigLengthMismatch {
                sig_type: sig_type.0,
                declared: sig_len,
                expected,
            });
        }
        let version_len = byte(13);
        if usize::from(version_len) < MIN_VERSION_LEN {
            return Err(Su3Error::VersionTooShort(version_len));
        }
        let signer_len = byte(15);
        let mut cl = [0u8; 8];
        if let Some(s) = h.get(16..24) {
            cl.copy_from_slice(s);
        }
        let content_len = u64::from_be_bytes(cl);
        if content_len > MAX_CONTENT_LEN {
            return Err(Su3Error::ContentTooLarge(content_len));
        }
        let file_type = FileType(byte(25));
        let content_type = ContentType(byte(27));

        let version_raw = r.take(u64::from(version_len), "version")?;
        let signer = r.take(u64::from(signer_len), "signer ID")?;
        if signer.is_empty() {
            return Err(Su3Error::EmptySignerId);
        }
        let signer_id = std::str::from_utf8(signer).map_err(|_| Su3Error::SignerIdNotUtf8)?;
        let content = r.take(content_len, "content")?;
        let signed_end = r.pos;
        let signature = r.take(u64::from(sig_len), "signature")?;
        if r.pos != bytes.len() {
            return Err(Su3Error::TrailingBytes {
                expected: r.pos as u64,
                actual: bytes.len(),
            });
        }
        let signed = bytes.get(..signed_end).ok_or(Su3Error::Truncated {
            field: "content",
            needed: signed_end as u64,
            have: bytes.len(),
        })?;
        Ok(Self {
            sig_type,
            file_type,
            content_type,
            version_raw,
            signer_id,
            content,
            signed,
            signature,
        })
    }

    /// The version without its trailing 0x00 padding, if it is UTF-8 (for reseed
    /// files, seconds since the epoch in ASCII).
    pub fn version(&self) -> Option<&'a str> {
        let end = self
            .version_raw
            .iter()
            .rposition(|&b| b != 0)
            .map_or(0, |i| i + 1);
        std::str::from_utf8(self.version_raw.get(..end)?).ok()
    }
}

/// The header fields a signer chooses, for [`encode_signed_part`].
#[derive(Clone, Copy, Debug)]
pub struct Su3Fields<'a> {
    /// Signature type (its length goes in bytes 10-11).
    pub sig_type: SigType,
    /// File type (byte 25).
    pub file_type: FileType,
    /// Content type (byte 27).
    pub content_type: ContentType,
    /// Version string; padded with 0x00 to 16 bytes if shorter.
    pub version: &'a str,
    /// Signer ID, e.g. "test@mail.i2p".
    pub signer_id: &'a str,
}

/// Writes the header, version, signer ID and content: the bytes the signature
/// covers. Append the signature (exactly `sig_type.signature_len()` bytes) to get
/// the file.
pub fn encode_signed_part(fields: &Su3Fields<'_>, content: &[u8]) -> Result<Vec<u8>, Su3Error> {
    let sig_len = fields
        .sig_type
        .signature_len()
        .ok_or(Su3Error::UnknownSigType(fields.sig_type.0))?;
    let sig_len = u16::try_from(sig_len).map_err(|_| Su3Error::FieldTooLong("signature"))?;
    let mut version = fields.version.as_bytes().to_vec();
    if version.len() < MIN_VERSION_LEN {
        version.resize(MIN_VERSION_LEN, 0);
    }
    let version_len = u8::try_from(version.len()).map_err(|_| Su3Error::FieldTooLong("version"))?;
    let signer = fields.signer_id.as_bytes();
    if signer.is_empty() {
        return Err(Su3Error::EmptySignerId);
    }
    let signer_len = u8::try_from(signer.len()).map_err(|_| Su3Error::FieldTooLong("signer ID"))?;
    let content_len = content.len() as u64;
    if content_len > MAX_CONTENT_LEN {
        return Err(Su3Error::ContentTooLarge(content_len));
    }
    let mut out = Vec::with_capacity(HEADER_LEN + version.len() + signer.len() + content.len());
    out.extend_from_slice(MAGIC);
    out.push(0); // 6: unused
    out.push(FORMAT_VERSION); // 7
    out.extend_from_slice(&fields.sig_type.0.to_be_bytes()); // 8-9
    out.extend_from_slice(&sig_len.to_be_bytes()); // 10-11
    out.push(0); // 12: unused
    out.push(version_len); // 13
    out.push(0); // 14: unused
    out.push(signer_len); // 15
    out.extend_from_slice(&content_len.to_be_bytes()); // 16-23
    out.push(0); // 24: unused
    out.push(fields.file_type.0); // 25
    out.push(0); // 26: unused
    out.push(fields.content_type.0); // 27
    out.extend_from_slice(&[0u8; 12]); // 28-39: unused
    out.extend_from_slice(&version);
    out.extend_from_slice(signer);
    out.extend_from_slice(content);
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod test {
    use super::*;

    fn fields() -> Su3Fields<'static> {
        Su3Fields {
            sig_type: SigType::RSA_SHA512_4096,
            file_type: FileType::ZIP,
            content_type: ContentType::RESEED,
            version: "1700000000",
            signer_id: "test@mail.i2p",
        }
    }

    fn sample(content: &[u8]) -> Vec<u8> {
        let mut f = encode_signed_part(&fields(), content).unwrap();
        f.extend((0..512u32).map(|i| i as u8));
        f
    }

    #[test]
    fn round_trip() {
        let file = sample(b"zip bytes");
        let s = UncheckedSu3::parse(&file).unwrap();
        assert_eq!(s.sig_type, SigType::RSA_SHA512_4096);
        assert_eq!(s.file_type, FileType::ZIP);
        assert_eq!(s.content_type, ContentType::RESEED);
        assert_eq!(s.version(), Some("1700000000"));
        assert_eq!(s.version_raw.len(), 16);
        assert_eq!(s.signer_id, "test@mail.i2p");
        assert_eq!(s.content, b"zip bytes");
        assert_eq!(s.signed, &file[..file.len() - 512]);
        assert_eq!(s.signature.len(), 512);
        assert_eq!(s.signature[1], 1);
        // Header layout from updates.rst.
        assert_eq!(&file[..6], b"I2Psu3");
        assert_eq!(&file[8..10], &[0, 6]);
        assert_eq!(&file[10..12], &[0x02, 0x00]);
        assert_eq!(file[13], 16);
        assert_eq!(file[15], 13);
        assert_eq!(&file[16..24], &9u64.to_be_bytes());
        assert_eq!(file[27], 3);
    }

    #[test]
    fn long_version_not_padded() {
        let mut f = fields();
        f.version = "0.9.57-very-long-version";
        let mut file = encode_signed_part(&f, b"x").unwrap();
        file.extend([0u8; 512]);
        let s = UncheckedSu3::parse(&file).unwrap();
        assert_eq!(s.version_raw, b"0.9.57-very-long-version");
    }

    #[test]
    fn every_prefix_is_truncated() {
        let file = sample(b"content");
        for n in 0..file.len() {
            let e = UncheckedSu3::parse(&file[..n]).unwrap_err();
            assert!(matches!(e, Su3Error::Truncated { .. }), "{n}: {e}");
        }
    }

    #[test]
    fn trailing_bytes_refused() {
        let mut file = sample(b"content");
        file.push(0);
        let e = UncheckedSu3::parse(&file).unwrap_err();
        assert!(e.to_string().contains("header describes"), "{e}");
    }

    #[test]
    fn header_checks() {
        let good = sample(b"content");
        let mut f = good.clone();
        f[0] = b'X';
        assert_eq!(UncheckedSu3::parse(&f), Err(Su3Error::BadMagic));
        let mut f = good.clone();
        f[7] = 1;
        assert_eq!(
            UncheckedSu3::parse(&f),
            Err(Su3Error::UnknownFormatVersion(1))
        );
        let mut f = good.clone();
        f[9] = 7; // EdDSA (not ph) is not listed for SU3
        assert_eq!(UncheckedSu3::parse(&f), Err(Su3Error::UnknownSigType(7)));
        let mut f = good.clone();
        f[9] = 4; // RSA-2048 with a 512-byte length
        assert!(matches!(
            UncheckedSu3::parse(&f),
            Err(Su3Error::SigLengthMismatch {
                sig_type: 4,
                declared: 512,
                expected: 256
            })
        ));
        let mut f = good.clone();
        f[13] = 15;
        assert_eq!(UncheckedSu3::parse(&f), Err(Su3Error::VersionTooShort(15)));
        let mut f = good.clone();
        f[40 + 16] = 0xff; // first byte of the signer ID
        assert_eq!(UncheckedSu3::parse(&f), Err(Su3Error::SignerIdNotUtf8));
    }

    #[test]
    fn absurd_or_oversized_content_length_refused() {
        let good = sample(b"content");
        let mut f = good.clone();
        f[16..24].copy_from_slice(&u64::MAX.to_be_bytes());
        assert_eq!(
            UncheckedSu3::parse(&f),
            Err(Su3Error::ContentTooLarge(u64::MAX))
        );
        // Within the absurd bound but larger than the input.
        let mut f = good;
        f[16..24].copy_from_slice(&1_000_000u64.to_be_bytes());
        assert!(matches!(
            UncheckedSu3::parse(&f),
            Err(Su3Error::Truncated {
                field: "content",
                ..
            })
        ));
    }

    #[test]
    fn total_on_mutations() {
        // Flip each header byte through a few values: never a panic.
        let good = sample(b"some content here");
        for i in 0..HEADER_LEN + 30 {
            for v in [0u8, 1, 0x7f, 0xff] {
                let mut f = good.clone();
                f[i] = v;
                let _ = UncheckedSu3::parse(&f);
            }
        }
    }

    #[test]
    fn encode_refuses_bad_fields() {
        let mut f = fields();
        f.signer_id = "";
        assert_eq!(encode_signed_part(&f, b""), Err(Su3Error::EmptySignerId));
        let long = "x".repeat(300);
        let mut f = fields();
        f.signer_id = &long;
        assert_eq!(
            encode_signed_part(&f, b""),
            Err(Su3Error::FieldTooLong("signer ID"))
        );
        let mut f = fields();
        f.sig_type = SigType(99);
        assert_eq!(
            encode_signed_part(&f, b""),
            Err(Su3Error::UnknownSigType(99))
        );
    }
}
