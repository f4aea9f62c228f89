//! Reseed signer certificates, looked up by su3 signer ID (updates.rst, "SU3 File
//! Specification", Notes: "The certificate is looked up by the ID of the signer").
//!
//! The real network's reseed certificates (as shipped by i2pd 2.45.1) are built in;
//! a caller may add directories of `.crt` files (e.g. a test network's signer). The
//! signer ID "a@b.c" maps to the file name `a_at_b.c.crt`; files are read when added
//! and looked up by name, so no path is ever built from a signer ID.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::Path;

use i2p_crypto::rsa::RsaVerifier;

use crate::{Error, Result};

/// The most certificate files one directory may add.
pub const MAX_DIR_CERTIFICATES: usize = 256;
/// The largest certificate file read (a PEM RSA-4096 certificate is about 2 KiB).
pub const MAX_CERTIFICATE_SIZE: u64 = 64 * 1024;

/// The real network's reseed signer certificates: `certificates/reseed/`, copied from
/// i2pd's `certificates/reseed/`.
const BUNDLED: &[(&str, &[u8])] = &[
    (
        "acetone_at_mail.i2p.crt",
        include_bytes!("../certificates/reseed/acetone_at_mail.i2p.crt"),
    ),
    (
        "creativecowpat_at_mail.i2p.crt",
        include_bytes!("../certificates/reseed/creativecowpat_at_mail.i2p.crt"),
    ),
    (
        "echelon3_at_mail.i2p.crt",
        include_bytes!("../certificates/reseed/echelon3_at_mail.i2p.crt"),
    ),
    (
        "hankhill19580_at_gmail.com.crt",
        include_bytes!("../certificates/reseed/hankhill19580_at_gmail.com.crt"),
    ),
    (
        "hiduser0_at_mail.i2p.crt",
        include_bytes!("../certificates/reseed/hiduser0_at_mail.i2p.crt"),
    ),
    (
        "hottuna_at_mail.i2p.crt",
        include_bytes!("../certificates/reseed/hottuna_at_mail.i2p.crt"),
    ),
    (
        "i2p-reseed_at_mk16.de.crt",
        include_bytes!("../certificates/reseed/i2p-reseed_at_mk16.de.crt"),
    ),
    (
        "igor_at_novg.net.crt",
        include_bytes!("../certificates/reseed/igor_at_novg.net.crt"),
    ),
    (
        "lazygravy_at_mail.i2p.crt",
        include_bytes!("../certificates/reseed/lazygravy_at_mail.i2p.crt"),
    ),
    (
        "orignal_at_mail.i2p.crt",
        include_bytes!("../certificates/reseed/orignal_at_mail.i2p.crt"),
    ),
    (
        "r4sas-reseed_at_mail.i2p.crt",
        include_bytes!("../certificates/reseed/r4sas-reseed_at_mail.i2p.crt"),
    ),
    (
        "rambler_at_mail.i2p.crt",
        include_bytes!("../certificates/reseed/rambler_at_mail.i2p.crt"),
    ),
    (
        "reseed_at_diva.exchange.crt",
        include_bytes!("../certificates/reseed/reseed_at_diva.exchange.crt"),
    ),
];

/// The certificate file name for a signer ID: "a@b.c" gives "a_at_b.c.crt".
pub fn signer_file_name(signer_id: &str) -> String {
    format!("{}.crt", signer_id.replace('@', "_at_"))
}

/// A set of signer certificates, by file name.
#[derive(Clone, Default)]
pub struct Certificates {
    files: BTreeMap<String, Vec<u8>>,
}

impl fmt::Debug for Certificates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.files.keys()).finish()
    }
}

impl Certificates {
    /// No certificates at all.
    pub fn empty() -> Self {
        Self::default()
    }

    /// The real network's reseed signers.
    pub fn bundled() -> Self {
        let mut c = Self::empty();
        for (name, bytes) in BUNDLED {
            c.insert(name, bytes.to_vec());
        }
        c
    }

    /// Adds (or replaces) one certificate under its file name.
    pub fn insert(&mut self, file_name: &str, bytes: Vec<u8>) {
        self.files.insert(file_name.to_owned(), bytes);
    }

    /// Adds every `*.crt` file of `dir` (not its subdirectories); a file with the
    /// name of one already present replaces it. Returns how many were added.
    pub fn add_dir(&mut self, dir: &Path) -> Result<usize> {
        let io = |source| Error::Io {
            path: dir.to_owned(),
            source,
        };
        let mut found = BTreeMap::new();
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let entry = entry.map_err(io)?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if !name.ends_with(".crt") || !entry.file_type().map_err(io)?.is_file() {
                continue;
            }
            if found.len() == MAX_DIR_CERTIFICATES {
                return Err(Error::TooManyEntries {
                    found: found.len() + 1,
                    max: MAX_DIR_CERTIFICATES,
                });
            }
            let path = entry.path();
            let bytes = read_bounded(&path, MAX_CERTIFICATE_SIZE)?;
            found.insert(name.to_owned(), bytes);
        }
        let n = found.len();
        self.files.extend(found);
        Ok(n)
    }

    /// How many certificates there are.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The certificate file names, sorted.
    pub fn file_names(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// The verifier for `signer_id`'s certificate. Refuses an unknown signer, an
    /// unreadable certificate, and a certificate whose subject common name (when it
    /// has one) is not the signer ID.
    pub fn verifier(&self, signer_id: &str) -> Result<RsaVerifier> {
        let file = signer_file_name(signer_id);
        let bytes = self.files.get(&file).ok_or_else(|| Error::UnknownSigner {
            signer: signer_id.to_owned(),
            file: file.clone(),
        })?;
        let v = RsaVerifier::from_certificate(bytes).map_err(|e| Error::BadCertificate {
            file: file.clone(),
            reason: e.to_string(),
        })?;
        if let Some(cn) = &v.common_name {
            if cn != signer_id {
                return Err(Error::BadCertificate {
                    file,
                    reason: format!("it was issued to {cn:?}, not to {signer_id:?}"),
                });
            }
        }
        Ok(v)
    }
}

/// Reads a whole file of at most `max` bytes.
pub(crate) fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>> {
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut out = Vec::new();
    file.take(max.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(io)?;
    if out.len() as u64 > max {
        return Err(Error::FileTooLarge {
            path: path.to_owned(),
            max,
        });
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod test {
    use super::*;

    #[test]
    fn every_bundled_certificate_parses_and_names_its_signer() {
        let c = Certificates::bundled();
        assert_eq!(c.len(), 13);
        for file in c.file_names() {
            let signer = file.strip_suffix(".crt").unwrap().replace("_at_", "@");
            assert_eq!(signer_file_name(&signer), file);
            let v = c.verifier(&signer).unwrap();
            // Reseed signers use RSA-4096 (updates.rst, "SU3 Reseed File").
            assert_eq!(v.modulus_len(), 512, "{file}");
            assert_eq!(v.common_name.as_deref(), Some(signer.as_str()));
        }
    }

    #[test]
    fn signer_id_maps_to_file_name() {
        assert_eq!(signer_file_name("a@b.c"), "a_at_b.c.crt");
        assert_eq!(
            signer_file_name("i2p-reseed@mk16.de"),
            "i2p-reseed_at_mk16.de.crt"
        );
    }

    #[test]
    fn unknown_signer_and_traversal_refused() {
        let c = Certificates::bundled();
        for id in [
            "nobody@mail.i2p",
            "../../etc/passwd",
            "acetone_at_mail.i2p/../x",
        ] {
            let e = c.verifier(id).unwrap_err();
            assert!(e.to_string().starts_with("unknown su3 signer"), "{e}");
        }
    }

    #[test]
    fn garbage_certificate_and_wrong_common_name_refused() {
        let mut c = Certificates::empty();
        c.insert("x_at_y.crt", b"garbage".to_vec());
        let e = c.verifier("x@y").unwrap_err().to_string();
        assert!(
            e.starts_with("unusable signer certificate x_at_y.crt"),
            "{e}"
        );
        // acetone's certificate filed under another name.
        let (_, acetone) = BUNDLED[0];
        c.insert("mallory_at_mail.i2p.crt", acetone.to_vec());
        let e = c.verifier("mallory@mail.i2p").unwrap_err().to_string();
        assert!(e.contains("issued to \"acetone@mail.i2p\""), "{e}");
    }

    #[test]
    fn add_dir_reads_crt_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let (_, acetone) = BUNDLED[0];
        std::fs::write(dir.path().join("acetone_at_mail.i2p.crt"), acetone).unwrap();
        std::fs::write(dir.path().join("README"), b"not a certificate").unwrap();
        std::fs::create_dir(dir.path().join("sub.crt")).unwrap();
        let mut c = Certificates::empty();
        assert_eq!(c.add_dir(dir.path()).unwrap(), 1);
        assert!(c.verifier("acetone@mail.i2p").is_ok());
        std::fs::write(
            dir.path().join("big.crt"),
            vec![b'A'; MAX_CERTIFICATE_SIZE as usize + 1],
        )
        .unwrap();
        let e = c.add_dir(dir.path()).unwrap_err().to_string();
        assert!(e.contains("big.crt is larger than the limit"), "{e}");
        let e = c
            .add_dir(&dir.path().join("missing"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("cannot read"), "{e}");
    }
}
