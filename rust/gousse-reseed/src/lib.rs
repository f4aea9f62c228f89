#![doc = include_str!("../README.md")]

pub mod archive;
pub mod certs;
mod error;
pub mod http;
pub mod verify;

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

pub use archive::{
    is_router_info_name, router_infos_from_dir, router_infos_from_zip, Extracted, Limits,
    SkipReason, Skipped,
};
pub use certs::{signer_file_name, Certificates};
pub use error::{Error, Result};
pub use http::{fetch_su3, su3_url, HttpOptions, DEFAULT_RESEED_URLS, RESEED_USER_AGENT};
pub use verify::{verify_reseed_su3, VerifiedSu3};

/// Where RouterInfos can come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A directory of `routerInfo-*.dat` files.
    Dir(PathBuf),
    /// A zip file of `routerInfo-*.dat` files (not signed: for files the user trusts).
    Zip(PathBuf),
    /// A signed reseed su3 file on disk.
    Su3File(PathBuf),
    /// A reseed server's base URL; `i2pseeds.su3` is fetched under it.
    Url(String),
}

impl Source {
    /// The real network's reseed servers ([`DEFAULT_RESEED_URLS`]).
    pub fn default_urls() -> Vec<Source> {
        DEFAULT_RESEED_URLS
            .iter()
            .map(|u| Source::Url((*u).to_owned()))
            .collect()
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Dir(p) => write!(f, "directory {}", p.display()),
            Source::Zip(p) => write!(f, "zip file {}", p.display()),
            Source::Su3File(p) => write!(f, "su3 file {}", p.display()),
            Source::Url(u) => write!(f, "reseed server {u}"),
        }
    }
}

/// Certificates, bounds and HTTP settings for reseeding.
#[derive(Clone, Debug)]
pub struct ReseedOptions {
    /// Trusted su3 signers.
    pub certificates: Certificates,
    /// Bounds on sources and entries.
    pub limits: Limits,
    /// HTTP settings for [`Source::Url`].
    pub http: HttpOptions,
}

impl Default for ReseedOptions {
    /// The bundled certificates, default limits and HTTPS only.
    fn default() -> Self {
        Self {
            certificates: Certificates::bundled(),
            limits: Limits::default(),
            http: HttpOptions::default(),
        }
    }
}

impl ReseedOptions {
    /// Also trusts the `*.crt` files of `dir` (e.g. a test network's signer).
    pub fn with_certificate_dir(mut self, dir: &Path) -> Result<Self> {
        self.certificates.add_dir(dir)?;
        Ok(self)
    }
}

/// What one source gave.
#[derive(Debug)]
pub struct SourceReport {
    /// The source, for people ("su3 file /x/i2pseeds.su3").
    pub source: String,
    /// The su3 signer, when the source was a verified su3 file.
    pub signer: Option<String>,
    /// RouterInfos taken from it (after dropping names already seen).
    pub taken: usize,
    /// RouterInfo files whose name an earlier source already gave.
    pub duplicates: usize,
    /// Entries skipped, with why.
    pub skipped: Vec<Skipped>,
    /// Why the source as a whole was refused, if it was.
    pub error: Option<Error>,
}

/// The result of [`reseed`].
#[derive(Debug, Default)]
pub struct Reseed {
    /// Raw RouterInfo files, unverified: the router checks each one's signature and
    /// network ID.
    pub router_infos: Vec<Vec<u8>>,
    /// One report per source tried, in order.
    pub reports: Vec<SourceReport>,
}

/// Reads one source: a verified su3 file's signer (if any) and its RouterInfo files.
pub fn fetch_source(source: &Source, opts: &ReseedOptions) -> Result<(Option<String>, Extracted)> {
    let limits = &opts.limits;
    let su3 = |bytes: &[u8]| -> Result<(Option<String>, Extracted)> {
        let v = verify_reseed_su3(bytes, &opts.certificates)?;
        let extracted = router_infos_from_zip(v.content, limits)?;
        Ok((Some(v.signer_id.to_owned()), extracted))
    };
    match source {
        Source::Dir(dir) => Ok((None, router_infos_from_dir(dir, limits)?)),
        Source::Zip(path) => {
            let bytes = certs::read_bounded(path, limits.max_file_size)?;
            Ok((None, router_infos_from_zip(&bytes, limits)?))
        }
        Source::Su3File(path) => su3(&certs::read_bounded(path, limits.max_file_size)?),
        Source::Url(url) => su3(&fetch_su3(url, &opts.http, limits.max_file_size)?),
    }
}

/// Tries `sources` in order until at least `want` RouterInfos are gathered (every
/// source when `want` is `usize::MAX`). A failing source is reported and the next
/// one tried. RouterInfo files are de-duplicated by name across sources.
pub fn reseed(sources: &[Source], opts: &ReseedOptions, want: usize) -> Reseed {
    let mut out = Reseed::default();
    let mut seen = BTreeSet::new();
    for source in sources {
        if out.router_infos.len() >= want {
            break;
        }
        let mut report = SourceReport {
            source: source.to_string(),
            signer: None,
            taken: 0,
            duplicates: 0,
            skipped: Vec::new(),
            error: None,
        };
        match fetch_source(source, opts) {
            Ok((signer, extracted)) => {
                report.signer = signer;
                report.skipped = extracted.skipped;
                for (name, bytes) in extracted.router_infos {
                    if seen.insert(name) {
                        out.router_infos.push(bytes);
                        report.taken += 1;
                    } else {
                        report.duplicates += 1;
                    }
                }
            }
            Err(e) => report.error = Some(e),
        }
        out.reports.push(report);
    }
    out
}
