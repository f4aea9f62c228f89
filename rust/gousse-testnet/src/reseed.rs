//! Reseed files for our router: a zip of `routerInfo-<HASH>.dat` entries, wrapped in
//! an SU3 file signed with a throwaway RSA-4096 key (updates.rst, "SU3 File
//! Specification" and "Signature Details"; reseed.rst).
//!
//! Keys and certificates are made with the `openssl` command-line tool, which also
//! makes the "raw" signature: `openssl pkeyutl -sign` over the 64-byte SHA-512
//! digest, without `-pkeyopt digest:...`, pads it as PKCS#1 v1.5 type 1 with no
//! DigestInfo prefix, which is Java's `NONEwithRSA` that the spec asks for.

use crate::{ident, io_err, Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// SU3 magic, bytes 0-5.
pub const SU3_MAGIC: &[u8; 6] = b"I2Psu3";
/// Signature type 6, RSA-SHA512-4096.
pub const SIG_TYPE_RSA_SHA512_4096: u16 = 6;
/// Its signature length in bytes.
pub const RSA_4096_SIG_LEN: u16 = 512;
/// File type 0: zip.
pub const FILE_TYPE_ZIP: u8 = 0;
/// Content type 3: reseed data.
pub const CONTENT_TYPE_RESEED: u8 = 3;
/// Fixed part of the header, before the version.
const HEADER_LEN: usize = 40;
/// The version field's minimum length.
const MIN_VERSION_LEN: usize = 16;

/// A zip of the given RouterInfos, each as `routerInfo-<HASH>.dat` (deflated, as
/// Java I2P's reseed servers make them).
pub fn make_zip<T: AsRef<[u8]>>(router_infos: &[T]) -> Result<Vec<u8>> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for ri in router_infos {
        let ri = ri.as_ref();
        let name = ident::reseed_entry_name(&ident::router_hash_b64(ri)?);
        w.start_file(name, opts)?;
        w.write_all(ri).map_err(io_err("writing a zip entry"))?;
    }
    Ok(w.finish()?.into_inner())
}

/// [`make_zip`] over RouterInfo files (`router.info`, `routerInfo-*.dat`).
pub fn make_zip_from_files<P: AsRef<Path>>(paths: &[P]) -> Result<Vec<u8>> {
    let infos = paths
        .iter()
        .map(|p| {
            let p = p.as_ref();
            std::fs::read(p).map_err(io_err(format!("reading {}", p.display())))
        })
        .collect::<Result<Vec<_>>>()?;
    make_zip(&infos)
}

/// The certificate file name for a signer id, as in i2pd's
/// `certificates/reseed/`: `@` becomes `_at_`, then `.crt`.
pub fn cert_file_name(signer_id: &str) -> String {
    format!("{}.crt", signer_id.replace('@', "_at_"))
}

/// Header and content of a reseed SU3 (everything the signature covers).
/// `version` is padded with zeros to 16 bytes; Java I2P's reseed servers put the
/// time in seconds there.
pub fn su3_signed_part(content: &[u8], signer_id: &str, version: &str) -> Result<Vec<u8>> {
    let mut version = version.as_bytes().to_vec();
    if version.len() < MIN_VERSION_LEN {
        version.resize(MIN_VERSION_LEN, 0);
    }
    let version_len = u8::try_from(version.len())
        .map_err(|_| Error::Su3("version longer than 255 bytes".into()))?;
    let signer_len = u8::try_from(signer_id.len())
        .map_err(|_| Error::Su3("signer id longer than 255 bytes".into()))?;
    let content_len =
        u64::try_from(content.len()).map_err(|_| Error::Su3("content too long".into()))?;
    let mut out = Vec::with_capacity(HEADER_LEN + version.len() + signer_id.len() + content.len());
    out.extend_from_slice(SU3_MAGIC); // 0-5
    out.push(0); // 6 unused
    out.push(0); // 7 su3 file format version
    out.extend_from_slice(&SIG_TYPE_RSA_SHA512_4096.to_be_bytes()); // 8-9
    out.extend_from_slice(&RSA_4096_SIG_LEN.to_be_bytes()); // 10-11
    out.push(0); // 12 unused
    out.push(version_len); // 13
    out.push(0); // 14 unused
    out.push(signer_len); // 15
    out.extend_from_slice(&content_len.to_be_bytes()); // 16-23
    out.push(0); // 24 unused
    out.push(FILE_TYPE_ZIP); // 25
    out.push(0); // 26 unused
    out.push(CONTENT_TYPE_RESEED); // 27
    out.extend_from_slice(&[0u8; 12]); // 28-39 unused
    out.extend_from_slice(&version);
    out.extend_from_slice(signer_id.as_bytes());
    out.extend_from_slice(content);
    Ok(out)
}

/// Parts of an SU3 file, read without trusting its length fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Su3Parts<'a> {
    /// Signature type (bytes 8-9).
    pub sig_type: u16,
    /// File type (byte 25).
    pub file_type: u8,
    /// Content type (byte 27).
    pub content_type: u8,
    /// Version, trailing zeros removed.
    pub version: &'a [u8],
    /// Signer id.
    pub signer_id: &'a [u8],
    /// The content (the zip).
    pub content: &'a [u8],
    /// Everything the signature covers.
    pub signed: &'a [u8],
    /// The signature.
    pub signature: &'a [u8],
}

/// Splits an SU3 file into its parts (total: any input gives parts or an error).
pub fn su3_parts(su3: &[u8]) -> Result<Su3Parts<'_>> {
    let bad = |m: &str| Error::Su3(m.to_owned());
    let header = su3
        .get(..HEADER_LEN)
        .ok_or_else(|| bad("shorter than its header"))?;
    if &header[..6] != SU3_MAGIC {
        return Err(bad("no I2Psu3 magic"));
    }
    let sig_type = u16::from_be_bytes([header[8], header[9]]);
    let sig_len = usize::from(u16::from_be_bytes([header[10], header[11]]));
    let version_len = usize::from(header[13]);
    let signer_len = usize::from(header[15]);
    let mut len8 = [0u8; 8];
    len8.copy_from_slice(&header[16..24]);
    let content_len =
        usize::try_from(u64::from_be_bytes(len8)).map_err(|_| bad("content length too large"))?;
    let signed_len = HEADER_LEN
        .checked_add(version_len)
        .and_then(|n| n.checked_add(signer_len))
        .and_then(|n| n.checked_add(content_len))
        .ok_or_else(|| bad("lengths overflow"))?;
    if signed_len.checked_add(sig_len) != Some(su3.len()) {
        return Err(bad("lengths do not add up to the file size"));
    }
    let version_end = HEADER_LEN + version_len;
    let signer_end = version_end + signer_len;
    let version = &su3[HEADER_LEN..version_end];
    let trimmed = version.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
    Ok(Su3Parts {
        sig_type,
        file_type: header[25],
        content_type: header[27],
        version: &version[..trimmed],
        signer_id: &su3[version_end..signer_end],
        content: &su3[signer_end..signed_len],
        signed: &su3[..signed_len],
        signature: &su3[signed_len..],
    })
}

/// Checks an RSA-SHA512-4096 SU3 against a signer's certificate (PEM or DER) and
/// returns its content.
pub fn verify_su3<'a>(su3: &'a [u8], cert: &[u8]) -> Result<&'a [u8]> {
    let parts = su3_parts(su3)?;
    if parts.sig_type != SIG_TYPE_RSA_SHA512_4096 {
        return Err(Error::Su3(format!("signature type {}", parts.sig_type)));
    }
    let verifier = i2p_crypto::rsa::RsaVerifier::from_certificate(cert)
        .map_err(|e| Error::Su3(format!("certificate: {e}")))?;
    verifier
        .verify_raw(&i2p_crypto::hash::sha512(parts.signed), parts.signature)
        .map_err(|e| Error::Su3(format!("signature: {e}")))?;
    Ok(parts.content)
}

/// Makes (or reuses, if `out_dir` has them) an RSA-4096 key and a self-signed
/// certificate for `signer_id`, and writes `out_dir/i2pseeds.su3` holding `zip`,
/// signed with it. Returns the SU3 path and the certificate path
/// (`out_dir/<signer id, @ as _at_>.crt`, the name i2pd's reseed directory uses).
pub fn make_signed_su3(zip: &[u8], signer_id: &str, out_dir: &Path) -> Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(out_dir).map_err(io_err(format!("creating {}", out_dir.display())))?;
    let cert_path = out_dir.join(cert_file_name(signer_id));
    let key_path = out_dir.join(format!("{}.key.pem", signer_id.replace('@', "_at_")));
    if !(cert_path.exists() && key_path.exists()) {
        make_key_and_cert(signer_id, &key_path, &cert_path)?;
    }
    let version = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        .to_string();
    let mut su3 = su3_signed_part(zip, signer_id, &version)?;
    let digest = i2p_crypto::hash::sha512(&su3);
    let digest_path = out_dir.join("su3-digest.bin");
    let sig_path = out_dir.join("su3-signature.bin");
    std::fs::write(&digest_path, digest).map_err(io_err("writing the digest"))?;
    openssl(&[
        "pkeyutl",
        "-sign",
        "-inkey",
        &key_path.display().to_string(),
        "-in",
        &digest_path.display().to_string(),
        "-out",
        &sig_path.display().to_string(),
    ])?;
    let sig = std::fs::read(&sig_path).map_err(io_err("reading the signature"))?;
    let _ = std::fs::remove_file(&digest_path);
    let _ = std::fs::remove_file(&sig_path);
    if sig.len() != usize::from(RSA_4096_SIG_LEN) {
        return Err(Error::Su3(format!(
            "openssl made a {}-byte signature",
            sig.len()
        )));
    }
    su3.extend_from_slice(&sig);
    let su3_path = out_dir.join("i2pseeds.su3");
    std::fs::write(&su3_path, &su3).map_err(io_err(format!("writing {}", su3_path.display())))?;
    Ok((su3_path, cert_path))
}

fn make_key_and_cert(signer_id: &str, key: &Path, cert: &Path) -> Result<()> {
    if signer_id.contains(['/', '=', '\n', '\\']) {
        return Err(Error::Su3(format!(
            "signer id {signer_id:?} cannot be a CN"
        )));
    }
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:4096",
        "-sha512",
        "-nodes",
        "-days",
        "3650",
        "-keyout",
        &key.display().to_string(),
        "-out",
        &cert.display().to_string(),
        "-subj",
        &format!("/C=XX/O=I2P Anonymous Network/OU=I2P/CN={signer_id}"),
    ])
}

fn openssl(args: &[&str]) -> Result<()> {
    let command = format!("openssl {}", args.join(" "));
    let out = Command::new("openssl")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::Command {
            command: command.clone(),
            detail: format!("{e} (Debian: apt-get install openssl)"),
        })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::Command {
            command,
            detail: format!(
                "{}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        })
    }
}

#[cfg(test)]
mod test {
    use super::*;

    /// A RouterInfo-shaped blob: an identity with a 7-byte key certificate.
    fn fake_router_info(seed: u8) -> Vec<u8> {
        let mut ri = vec![seed; 394 + 50];
        ri[384] = 5;
        ri[385] = 0;
        ri[386] = 7;
        ri
    }

    #[test]
    fn header_layout_follows_the_spec() {
        let signed = su3_signed_part(b"ZIPDATA", "tester@mail.i2p", "1700000000").unwrap();
        assert_eq!(&signed[..6], b"I2Psu3");
        assert_eq!(signed[6..8], [0, 0]);
        assert_eq!(signed[8..10], [0, 6]);
        assert_eq!(signed[10..12], [2, 0]); // 512
        assert_eq!(signed[13], 16);
        assert_eq!(signed[15], 15);
        assert_eq!(signed[16..24], 7u64.to_be_bytes());
        assert_eq!((signed[25], signed[27]), (0, 3));
        assert!(signed[28..40].iter().all(|&b| b == 0));
        assert_eq!(&signed[40..50], b"1700000000");
        assert!(signed[50..56].iter().all(|&b| b == 0));
        assert_eq!(&signed[56..71], b"tester@mail.i2p");
        assert_eq!(&signed[71..], b"ZIPDATA");
    }

    #[test]
    fn parts_are_total() {
        let mut su3 = su3_signed_part(b"abc", "a@b", "1").unwrap();
        su3.extend_from_slice(&[7u8; 512]);
        let p = su3_parts(&su3).unwrap();
        assert_eq!(
            (p.content, p.signer_id, p.version),
            (&b"abc"[..], &b"a@b"[..], &b"1"[..])
        );
        for cut in 0..su3.len() {
            assert!(su3_parts(&su3[..cut]).is_err());
        }
        let mut huge = su3.clone();
        huge[16..24].copy_from_slice(&u64::MAX.to_be_bytes());
        assert!(su3_parts(&huge).is_err());
    }

    #[test]
    fn zip_names_entries_by_router_hash() {
        let ris = [fake_router_info(1), fake_router_info(2)];
        let z = make_zip(&ris).unwrap();
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(z)).unwrap();
        assert_eq!(archive.len(), 2);
        for ri in &ris {
            let name = format!("routerInfo-{}.dat", ident::router_hash_b64(ri).unwrap());
            let mut f = archive.by_name(&name).unwrap();
            let mut got = Vec::new();
            std::io::Read::read_to_end(&mut f, &mut got).unwrap();
            assert_eq!(&got, ri);
        }
    }

    #[test]
    fn signed_su3_round_trip_and_tamper() {
        let dir = tempfile::tempdir().unwrap();
        let t = std::time::Instant::now();
        let zip = make_zip(&[fake_router_info(9)]).unwrap();
        let (su3_path, cert_path) = make_signed_su3(&zip, "tester@mail.i2p", dir.path()).unwrap();
        eprintln!("key, certificate and signature: {:?}", t.elapsed());
        assert_eq!(cert_path.file_name().unwrap(), "tester_at_mail.i2p.crt");
        let su3 = std::fs::read(&su3_path).unwrap();
        let cert = std::fs::read(&cert_path).unwrap();

        // As the brief asks: i2p-crypto's verifier over SHA-512 of the signed part.
        let parts = su3_parts(&su3).unwrap();
        assert_eq!(parts.signature.len(), 512);
        assert_eq!(parts.content, &zip[..]);
        assert_eq!(parts.signer_id, b"tester@mail.i2p");
        let v = i2p_crypto::rsa::RsaVerifier::from_certificate(&cert).unwrap();
        assert_eq!(v.modulus_len(), 512);
        assert_eq!(v.common_name.as_deref(), Some("tester@mail.i2p"));
        v.verify_raw(&i2p_crypto::hash::sha512(parts.signed), parts.signature)
            .unwrap();
        assert_eq!(verify_su3(&su3, &cert).unwrap(), &zip[..]);

        // A flipped byte anywhere (header, content, signature) fails.
        for pos in [9usize, 45, 60, su3.len() / 2, su3.len() - 1] {
            let mut bad = su3.clone();
            bad[pos] ^= 0x01;
            assert!(verify_su3(&bad, &cert).is_err(), "flip at {pos} accepted");
        }

        // The key is reused for a second file in the same directory.
        let (_, cert2) = make_signed_su3(b"other", "tester@mail.i2p", dir.path()).unwrap();
        assert_eq!(std::fs::read(cert2).unwrap(), cert);
    }
}
