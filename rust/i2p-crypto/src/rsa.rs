//! RSA verification for SU3 files (updates.rst, "Signature Details"): the signer's key
//! comes from an X.509 certificate; the signature is a "raw" PKCS#1 v1.5 signature
//! over the hash, with no DigestInfo prefix (Java's `NONEwithRSA`).

use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::{Pkcs1v15Sign, RsaPublicKey};
use x509_cert::der::{Decode, DecodePem};
use x509_cert::Certificate;

/// An RSA public key taken from a signer's certificate.
#[derive(Clone, Debug)]
pub struct RsaVerifier {
    key: RsaPublicKey,
    /// The subject's common name, if the certificate has one.
    pub common_name: Option<String>,
}

impl RsaVerifier {
    /// Reads a PEM or DER X.509 certificate holding an RSA key.
    pub fn from_certificate(bytes: &[u8]) -> crate::Result<Self> {
        let cert = if bytes.starts_with(b"-----") {
            Certificate::from_pem(bytes)
        } else {
            Certificate::from_der(bytes)
        }
        .map_err(|e| crate::Error::BadCertificate(e.to_string()))?;
        let spki = &cert.tbs_certificate.subject_public_key_info;
        let key_bytes = spki.subject_public_key.as_bytes().ok_or_else(|| {
            crate::Error::BadCertificate("key bit string not byte aligned".into())
        })?;
        let key = RsaPublicKey::from_pkcs1_der(key_bytes)
            .map_err(|e| crate::Error::BadCertificate(format!("not an RSA key: {e}")))?;
        let common_name = cert
            .tbs_certificate
            .subject
            .0
            .iter()
            .flat_map(|rdn| rdn.0.iter())
            .find(|atv| atv.oid == x509_cert::der::oid::db::rfc4519::CN)
            .and_then(|atv| {
                let v = atv.value.value();
                std::str::from_utf8(v).ok().map(str::to_owned)
            });
        Ok(Self { key, common_name })
    }

    /// The modulus length in bytes (512 for RSA-4096).
    pub fn modulus_len(&self) -> usize {
        use rsa::traits::PublicKeyParts;
        self.key.size()
    }

    /// Verifies a raw PKCS#1 v1.5 signature over `digest`.
    pub fn verify_raw(&self, digest: &[u8], sig: &[u8]) -> crate::Result<()> {
        self.key
            .verify(Pkcs1v15Sign::new_unprefixed(), digest, sig)
            .map_err(|_| crate::Error::BadSignature)
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn garbage_certificate_refused() {
        assert!(RsaVerifier::from_certificate(b"not a certificate").is_err());
        assert!(RsaVerifier::from_certificate(
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
        )
        .is_err());
    }
}
