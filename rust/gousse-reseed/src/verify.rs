//! Verifying a reseed su3 file (updates.rst, "SU3 File Specification", "Signature
//! Details" and "SU3 Reseed File Specification").

use i2p_wire::su3::{ContentType, FileType, SigType, UncheckedSu3};

use crate::certs::{signer_file_name, Certificates};
use crate::{Error, Result};

/// A reseed su3 file whose signature verified with a trusted signer's certificate.
#[derive(Clone, Copy, Debug)]
pub struct VerifiedSu3<'a> {
    /// Who signed it.
    pub signer_id: &'a str,
    /// The version field: for reseed files, seconds since the epoch in ASCII.
    pub version: Option<&'a str>,
    /// The zip file of RouterInfos.
    pub content: &'a [u8],
}

/// Parses and verifies a reseed su3 file, in this order: the header
/// ([`Error::MalformedSu3`]), the content type 3 and file type 0, the signature type
/// (RSA-SHA512-4096, or RSA-SHA256-2048), the signer's certificate, then the
/// signature: "Take the hash of the data (using the hash type implied by the
/// signature type at bytes 8-9) and pass that to a 'raw' sign or verify function".
pub fn verify_reseed_su3<'a>(bytes: &'a [u8], certs: &Certificates) -> Result<VerifiedSu3<'a>> {
    let su3 = UncheckedSu3::parse(bytes)?;
    if su3.content_type != ContentType::RESEED {
        return Err(Error::WrongContentType(su3.content_type.0));
    }
    if su3.file_type != FileType::ZIP {
        return Err(Error::WrongFileType(su3.file_type.0));
    }
    let digest: Vec<u8> = match su3.sig_type {
        SigType::RSA_SHA512_4096 => i2p_crypto::hash::sha512(su3.signed).to_vec(),
        SigType::RSA_SHA256_2048 => i2p_crypto::hash::sha256(su3.signed).to_vec(),
        other => return Err(Error::UnsupportedSigType(other.0)),
    };
    let verifier = certs.verifier(su3.signer_id)?;
    // The parser checked that the signature length matches the signature type.
    let expected = su3.signature.len();
    if verifier.modulus_len() != expected {
        return Err(Error::KeySizeMismatch {
            file: signer_file_name(su3.signer_id),
            key_len: verifier.modulus_len(),
            sig_type: su3.sig_type.0,
            expected,
        });
    }
    verifier
        .verify_raw(&digest, su3.signature)
        .map_err(|_| Error::BadSignature {
            signer: su3.signer_id.to_owned(),
        })?;
    Ok(VerifiedSu3 {
        signer_id: su3.signer_id,
        version: su3.version(),
        content: su3.content,
    })
}
