//! Reseed files for our router: a zip of `routerInfo-<HASH>.dat` entries, wrapped in
//! an SU3 file signed with a throwaway RSA-4096 key (updates.rst, "SU3 File
//! Specification" and "Signature Details"; reseed.rst).
//!
//! Keys and certificates are made with the `openssl` command-line tool, which also
//! makes the "raw" signature: `openssl pkeyutl -sign` over the 64-byte SHA-512
//! digest, without `-pkeyopt digest:...`, pads it as PKCS#1 v1.5 type 1 with no
//! DigestInfo prefix, which is Java's `NONEwithRSA` that the spec asks for.

use crate::{ident, io_err, Error, Result};
use gousse_reseed::signer_file_name;
use i2p_crypto::rsa::RsaVerifier;
use i2p_wire::su3::{encode_signed_part, ContentType, FileType, SigType, Su3Fields, UncheckedSu3};
use i2p_wire::UncheckedRouterInfo;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A zip of the given RouterInfos, each as `routerInfo-<HASH>.dat` (deflated, as
/// Java I2P's reseed servers make them).
pub fn make_zip<T: AsRef<[u8]>>(router_infos: &[T]) -> Result<Vec<u8>> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for ri in router_infos {
        let ri = ri.as_ref();
        let hash = UncheckedRouterInfo::parse(ri)?.hash().to_base64();
        let name = ident::reseed_entry_name(&hash);
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

/// Checks an RSA-SHA512-4096 SU3 against a signer's certificate (PEM or DER) and
/// returns its content.
pub fn verify_su3<'a>(su3: &'a [u8], cert: &[u8]) -> Result<&'a [u8]> {
    let su3 = UncheckedSu3::parse(su3)?;
    if su3.sig_type != SigType::RSA_SHA512_4096 {
        return Err(Error::Su3(format!("signature type {}", su3.sig_type.0)));
    }
    let verifier =
        RsaVerifier::from_certificate(cert).map_err(|e| Error::Su3(format!("certificate: {e}")))?;
    verifier
        .verify_raw(&i2p_crypto::hash::sha512(su3.signed), su3.signature)
        .map_err(|e| Error::Su3(format!("signature: {e}")))?;
    Ok(su3.content)
}

/// Makes (or reuses, if `out_dir` has them) an RSA-4096 key and a self-signed
/// certificate for `signer_id`, and writes `out_dir/i2pseeds.su3` holding `zip`,
/// signed with it. Returns the SU3 path and the certificate path
/// (`out_dir/<signer id, @ as _at_>.crt`, the name i2pd's reseed directory uses).
pub fn make_signed_su3(zip: &[u8], signer_id: &str, out_dir: &Path) -> Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(out_dir).map_err(io_err(format!("creating {}", out_dir.display())))?;
    let cert_name = signer_file_name(signer_id);
    let key_name = cert_name.strip_suffix(".crt").unwrap_or(&cert_name);
    let key_path = out_dir.join(format!("{key_name}.key.pem"));
    let cert_path = out_dir.join(&cert_name);
    if !(cert_path.exists() && key_path.exists()) {
        make_key_and_cert(signer_id, &key_path, &cert_path)?;
    }
    let version = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        .to_string();
    let fields = Su3Fields {
        sig_type: SigType::RSA_SHA512_4096,
        file_type: FileType::ZIP,
        content_type: ContentType::RESEED,
        version: &version,
        signer_id,
    };
    let mut su3 = encode_signed_part(&fields, zip)?;
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
    if Some(sig.len()) != fields.sig_type.signature_len() {
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
    crate::run_command("openssl", args, "Debian: apt-get install openssl")
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::ident::test::signed_router_info;

    #[test]
    fn zip_names_entries_by_router_hash() {
        let ris = [signed_router_info(), signed_router_info()];
        let z = make_zip(&ris).unwrap();
        // Our router's reseed reader takes both entries, under their hash names.
        let got =
            gousse_reseed::router_infos_from_zip(&z, &gousse_reseed::Limits::default()).unwrap();
        assert!(got.skipped.is_empty(), "{:?}", got.skipped);
        assert_eq!(got.router_infos.len(), 2);
        for ri in &ris {
            let hash = UncheckedRouterInfo::parse(ri).unwrap().hash().to_base64();
            let name = format!("routerInfo-{hash}.dat");
            assert!(
                got.router_infos.contains(&(name.clone(), ri.clone())),
                "{name} missing"
            );
        }
        // Bytes that are not a RouterInfo cannot be named.
        assert!(matches!(
            make_zip(&[vec![0u8; 500]]),
            Err(Error::BadRouterInfo(_))
        ));
    }

    #[test]
    fn signed_su3_round_trip_and_tamper() {
        let dir = tempfile::tempdir().unwrap();
        let t = std::time::Instant::now();
        let zip = make_zip(&[signed_router_info()]).unwrap();
        let (su3_path, cert_path) = make_signed_su3(&zip, "tester@mail.i2p", dir.path()).unwrap();
        eprintln!("key, certificate and signature: {:?}", t.elapsed());
        assert_eq!(cert_path.file_name().unwrap(), "tester_at_mail.i2p.crt");
        assert!(dir.path().join("tester_at_mail.i2p.key.pem").exists());
        let su3 = std::fs::read(&su3_path).unwrap();
        let cert = std::fs::read(&cert_path).unwrap();

        // The header says what the spec asks of a reseed file.
        let parts = UncheckedSu3::parse(&su3).unwrap();
        assert_eq!(parts.sig_type, SigType::RSA_SHA512_4096);
        assert_eq!(parts.file_type, FileType::ZIP);
        assert_eq!(parts.content_type, ContentType::RESEED);
        assert_eq!(parts.signature.len(), 512);
        assert_eq!(parts.content, &zip[..]);
        assert_eq!(parts.signer_id, "tester@mail.i2p");
        let v = RsaVerifier::from_certificate(&cert).unwrap();
        assert_eq!(v.modulus_len(), 512);
        assert_eq!(v.common_name.as_deref(), Some("tester@mail.i2p"));
        assert_eq!(verify_su3(&su3, &cert).unwrap(), &zip[..]);

        // Our router's reseed code accepts it with the certificate directory.
        let mut certs = gousse_reseed::Certificates::empty();
        assert_eq!(certs.add_dir(dir.path()).unwrap(), 1);
        let verified = gousse_reseed::verify_reseed_su3(&su3, &certs).unwrap();
        assert_eq!(verified.signer_id, "tester@mail.i2p");
        assert_eq!(verified.content, &zip[..]);

        // A flipped byte anywhere (header, content, signature) fails.
        for pos in [9usize, 45, 60, su3.len() / 2, su3.len() - 1] {
            let mut bad = su3.clone();
            bad[pos] ^= 0x01;
            assert!(verify_su3(&bad, &cert).is_err(), "flip at {pos} accepted");
            assert!(gousse_reseed::verify_reseed_su3(&bad, &certs).is_err());
        }
        // Truncated files are refused, not misread.
        assert!(matches!(
            verify_su3(&su3[..su3.len() - 1], &cert),
            Err(Error::Su3Format(_))
        ));

        // The key is reused for a second file in the same directory.
        let (_, cert2) = make_signed_su3(b"other", "tester@mail.i2p", dir.path()).unwrap();
        assert_eq!(std::fs::read(cert2).unwrap(), cert);
    }
}
