//! The crate's error type: each variant says which check refused what, and why.

use std::path::PathBuf;

/// Why a reseed source was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not an SU3 file (updates.rst, "SU3 File Specification").
    #[error("malformed su3 file: {0}")]
    MalformedSu3(#[from] i2p_wire::su3::Su3Error),
    /// updates.rst: "Clients must verify that the content type is that expected for
    /// the application"; reseed data is content type 3.
    #[error("wrong su3 content type {0}: a reseed file has content type 3 (reseed data)")]
    WrongContentType(u8),
    /// Reseed data is a zip file (file type 0).
    #[error("wrong su3 file type {0}: a reseed file has file type 0 (zip)")]
    WrongFileType(u8),
    /// A signature type we cannot verify for reseed files.
    #[error(
        "unsupported su3 signature type {0}: reseed files must be signed with \
         RSA-SHA512-4096 (6) or RSA-SHA256-2048 (4)"
    )]
    UnsupportedSigType(u16),
    /// No certificate for this signer ID.
    #[error("unknown su3 signer {signer:?}: no certificate {file}")]
    UnknownSigner {
        /// The signer ID in the file.
        signer: String,
        /// The certificate file name it maps to.
        file: String,
    },
    /// A certificate could not be read, or does not belong to the signer.
    #[error("unusable signer certificate {file}: {reason}")]
    BadCertificate {
        /// The certificate file name.
        file: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The signer's key does not have the size the signature type implies.
    #[error(
        "signer certificate {file} has a {key_len}-byte RSA key but su3 signature type \
         {sig_type} needs {expected} bytes"
    )]
    KeySizeMismatch {
        /// The certificate file name.
        file: String,
        /// The key's modulus length.
        key_len: usize,
        /// The signature type.
        sig_type: u16,
        /// The length that type implies.
        expected: usize,
    },
    /// The signature does not verify with the signer's certificate.
    #[error("bad su3 signature: the signature does not verify with {signer:?}'s certificate")]
    BadSignature {
        /// The signer ID.
        signer: String,
    },
    /// The zip archive could not be read.
    #[error("malformed zip archive: {0}")]
    MalformedZip(String),
    /// The zip archive has more entries than allowed.
    #[error("zip archive has {found} entries, more than the limit of {max}")]
    TooManyEntries {
        /// Entries in the archive (or seen so far in a directory).
        found: usize,
        /// [`crate::Limits::max_entries`].
        max: usize,
    },
    /// A file is larger than allowed.
    #[error("{path} is larger than the limit of {max} bytes")]
    FileTooLarge {
        /// The file.
        path: PathBuf,
        /// The limit.
        max: u64,
    },
    /// A file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A reseed URL we refuse to fetch.
    #[error("bad reseed URL {url:?}: {reason}")]
    BadUrl {
        /// The URL.
        url: String,
        /// Why.
        reason: &'static str,
    },
    /// The server answered with an error status.
    #[error("reseed server {url} answered HTTP status {status}")]
    HttpStatus {
        /// The URL fetched.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The request failed: DNS, connection, TLS (including certificate
    /// verification), timeout or a broken response.
    #[error("fetching {url} failed: {reason}")]
    Http {
        /// The URL fetched.
        url: String,
        /// The transport error.
        reason: String,
    },
    /// The response was larger than allowed.
    #[error("response from {url} is larger than the limit of {max} bytes")]
    ResponseTooLarge {
        /// The URL fetched.
        url: String,
        /// The limit.
        max: u64,
    },
}

/// Result with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
