//! Our router's long-term secrets, persisted in the data directory (`router.keys`,
//! mode 0600): the X25519 static key (crypto type 4; also NTCP2's `s`), the Ed25519
//! signing key (signature type 7), the NTCP2 obfuscation IV (`i`), and the padding of
//! our RouterIdentity, which must not change or our router hash would.
//!
//! File layout (ours, not an I2P format): the 8-byte magic `GOUSSEK1`, then the
//! X25519 secret (32), the Ed25519 seed (32), the NTCP2 IV (16) and the identity
//! padding (320 = 224 bytes after the 32-byte X25519 key in the 256-byte public key
//! area plus 96 bytes before the 32-byte Ed25519 key in the 128-byte signing key
//! area; common-structures.rst, "KeysAndCert").

use i2p_crypto::{ed25519::SigningKey, x25519::StaticSecret, Zeroizing};
use std::io::Write;
use std::path::Path;

const MAGIC: &[u8; 8] = b"GOUSSEK1";
/// Length of the identity padding.
pub const PADDING_LEN: usize = 320;
const FILE_LEN: usize = 8 + 32 + 32 + 16 + PADDING_LEN;
/// Name of the key file inside the data directory.
pub const KEY_FILE: &str = "router.keys";

/// Errors loading or saving keys.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key file could not be read or written.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A destination key file that cannot be used.
    #[error("key file {path}: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The key file is not ours or is damaged.
    #[error("key file {path} is damaged or not a Gousse key file ({len} bytes)")]
    Malformed {
        /// The file.
        path: String,
        /// Its length.
        len: usize,
    },
}

/// Our router's secrets.
pub struct RouterKeys {
    /// X25519 static key: the RouterIdentity's encryption key and NTCP2's `s`.
    pub x25519: StaticSecret,
    /// Ed25519 signing key of the RouterIdentity.
    pub signing: SigningKey,
    /// NTCP2 `i` option: the IV for the ephemeral key obfuscation.
    pub ntcp2_iv: [u8; 16],
    /// RouterIdentity padding.
    pub padding: [u8; PADDING_LEN],
}

impl std::fmt::Debug for RouterKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RouterKeys(..)")
    }
}

impl RouterKeys {
    /// Fresh random keys.
    pub fn generate() -> Self {
        let mut ntcp2_iv = [0u8; 16];
        i2p_crypto::random_bytes(&mut ntcp2_iv);
        // Proposal 161: a repeated 32-byte random pattern keeps the identity
        // compressible without weakening it.
        let mut pattern = [0u8; 32];
        i2p_crypto::random_bytes(&mut pattern);
        let mut padding = [0u8; PADDING_LEN];
        for chunk in padding.chunks_mut(32) {
            chunk.copy_from_slice(&pattern[..chunk.len()]);
        }
        Self {
            x25519: StaticSecret::random(),
            signing: SigningKey::random(),
            ntcp2_iv,
            padding,
        }
    }

    /// Loads the key file from `data_dir`, or creates one (mode 0600) if none exists.
    /// Returns the keys and whether they were created now.
    pub fn load_or_create(data_dir: &Path) -> Result<(Self, bool), KeyError> {
        let path = data_dir.join(KEY_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => Ok((Self::decode(&bytes, &path)?, false)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let keys = Self::generate();
                keys.save(&path)?;
                Ok((keys, true))
            }
            Err(source) => Err(KeyError::Io {
                path: path.display().to_string(),
                source,
            }),
        }
    }

    fn decode(bytes: &[u8], path: &Path) -> Result<Self, KeyError> {
        let malformed = || KeyError::Malformed {
            path: path.display().to_string(),
            len: bytes.len(),
        };
        if bytes.len() != FILE_LEN || &bytes[..8] != MAGIC {
            return Err(malformed());
        }
        let mut x = Zeroizing::new([0u8; 32]);
        x.copy_from_slice(&bytes[8..40]);
        let mut seed = Zeroizing::new([0u8; 32]);
        seed.copy_from_slice(&bytes[40..72]);
        let mut ntcp2_iv = [0u8; 16];
        ntcp2_iv.copy_from_slice(&bytes[72..88]);
        let mut padding = [0u8; PADDING_LEN];
        padding.copy_from_slice(&bytes[88..]);
        Ok(Self {
            x25519: StaticSecret::from_bytes(*x),
            signing: SigningKey::from_bytes(&seed),
            ntcp2_iv,
            padding,
        })
    }

    /// Writes the key file atomically with mode 0600.
    pub fn save(&self, path: &Path) -> Result<(), KeyError> {
        let io = |source| KeyError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut buf = Zeroizing::new(Vec::with_capacity(FILE_LEN));
        buf.extend_from_slice(MAGIC);
        buf.extend_from_slice(self.x25519.to_bytes().as_ref());
        buf.extend_from_slice(self.signing.to_bytes().as_ref());
        buf.extend_from_slice(&self.ntcp2_iv);
        buf.extend_from_slice(&self.padding);
        write_secret_file(path, &buf).map_err(io)
    }
}

/// Writes a file of secrets atomically (a temporary file renamed over it) with mode
/// 0600, created so from the start.
pub fn write_secret_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp_name = path.file_name().unwrap_or_default().to_owned();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)
}

/// Loads a destination's private key file (the format i2pd and Java I2P use), or
/// creates new keys there (mode 0600) if there is none. Returns the keys and whether
/// they were created now.
pub fn load_or_create_destination_keys(
    path: &Path,
) -> Result<(i2p_wire::DestinationKeys, bool), KeyError> {
    let io = |source| KeyError::Io {
        path: path.display().to_string(),
        source,
    };
    match std::fs::read(path) {
        Ok(bytes) => {
            let bytes = Zeroizing::new(bytes);
            i2p_wire::DestinationKeys::parse(&bytes)
                .map(|k| (k, false))
                .map_err(|e| KeyError::Invalid {
                    path: path.display().to_string(),
                    reason: format!("not a usable destination private key file: {e}"),
                })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let keys = i2p_wire::DestinationKeys::generate();
            write_secret_file(path, &keys.to_bytes()).map_err(io)?;
            Ok((keys, true))
        }
        Err(source) => Err(io(source)),
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn created_once_then_loaded_with_0600() {
        let dir = tempfile::tempdir().unwrap();
        let (a, created) = RouterKeys::load_or_create(dir.path()).unwrap();
        assert!(created);
        let (b, created) = RouterKeys::load_or_create(dir.path()).unwrap();
        assert!(!created);
        assert_eq!(a.x25519.public_key(), b.x25519.public_key());
        assert_eq!(a.signing.verifying_key(), b.signing.verifying_key());
        assert_eq!(a.ntcp2_iv, b.ntcp2_iv);
        assert_eq!(a.padding, b.padding);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn destination_keys_are_created_0600_then_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("site.dat");
        let (a, created) = load_or_create_destination_keys(&path).unwrap();
        assert!(created);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (b, created) = load_or_create_destination_keys(&path).unwrap();
        assert!(!created);
        assert_eq!(a.destination(), b.destination());
        std::fs::write(&path, b"not keys").unwrap();
        let e = load_or_create_destination_keys(&path)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("site.dat") && e.contains("private key file: "),
            "{e}"
        );
    }

    #[test]
    fn damaged_file_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(KEY_FILE), b"GOUSSEK1short").unwrap();
        let err = RouterKeys::load_or_create(dir.path()).unwrap_err();
        assert!(err.to_string().contains("damaged"), "{err}");
    }
}
