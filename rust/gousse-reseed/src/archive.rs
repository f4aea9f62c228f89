//! Getting RouterInfo files out of a zip archive or a directory (updates.rst, "SU3
//! Reseed File Specification": "Router info files in the zip file must be at the 'top
//! level'" and "must be named 'routerInfo-(44 character base 64 router hash).dat'").
//!
//! Entries are only checked for their name and size; the router parses and verifies
//! each RouterInfo itself.

use std::io::{Cursor, Read};
use std::path::Path;

use crate::certs::read_bounded;
use crate::{Error, Result};

/// Bounds on what one source may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most entries in a zip archive or a directory (a reseed file holds about 75).
    pub max_entries: usize,
    /// Largest RouterInfo file, decompressed.
    pub max_router_info_size: u64,
    /// Largest su3 or zip file, read from disk or downloaded.
    pub max_file_size: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_entries: 2000,
            max_router_info_size: 16 * 1024,
            max_file_size: 16 * 1024 * 1024,
        }
    }
}

/// Why an entry was skipped (the rest of its source is still used).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkipReason {
    /// Not named `routerInfo-<44 base64 characters>.dat` at the top level.
    BadName,
    /// Larger than [`Limits::max_router_info_size`] (the size seen or declared).
    TooLarge(u64),
    /// Not a regular file (a directory, a link to nowhere, ...).
    NotAFile,
    /// The entry could not be read (bad compression, CRC mismatch, I/O error).
    Unreadable(String),
}

/// An entry that was not taken, with why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// Its name (cut to 120 characters).
    pub name: String,
    /// Why.
    pub reason: SkipReason,
}

impl Skipped {
    fn new(name: &str, reason: SkipReason) -> Self {
        Self {
            name: name.chars().take(120).collect(),
            reason,
        }
    }
}

/// What a zip archive or directory gave.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Extracted {
    /// `(file name, bytes)` of each RouterInfo file taken.
    pub router_infos: Vec<(String, Vec<u8>)>,
    /// Entries not taken.
    pub skipped: Vec<Skipped>,
}

/// Whether `name` is `routerInfo-<hash>.dat` with the hash in I2P's base64 alphabet
/// (`A-Z a-z 0-9 - ~`): 32 bytes are 43 characters and one `=`.
pub fn is_router_info_name(name: &str) -> bool {
    let Some(hash) = name
        .strip_prefix("routerInfo-")
        .and_then(|s| s.strip_suffix(".dat"))
    else {
        return false;
    };
    let b = hash.as_bytes();
    b.len() == 44
        && b.get(43) == Some(&b'=')
        && b.iter()
            .take(43)
            .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'~')
}

/// Takes the RouterInfo files of a zip archive. Refuses an unreadable archive or one
/// with more than `limits.max_entries` entries; skips (and reports) entries with a
/// bad name, too large, or unreadable.
pub fn router_infos_from_zip(bytes: &[u8], limits: &Limits) -> Result<Extracted> {
    let mut archive =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| Error::MalformedZip(e.to_string()))?;
    if archive.len() > limits.max_entries {
        return Err(Error::TooManyEntries {
            found: archive.len(),
            max: limits.max_entries,
        });
    }
    let max = limits.max_router_info_size;
    let mut out = Extracted::default();
    for i in 0..archive.len() {
        let mut file = match archive.by_index(i) {
            Ok(f) => f,
            Err(e) => {
                let name = format!("entry #{i}");
                out.skipped
                    .push(Skipped::new(&name, SkipReason::Unreadable(e.to_string())));
                continue;
            }
        };
        let name = file.name().to_owned();
        if file.is_dir() || !is_router_info_name(&name) {
            out.skipped.push(Skipped::new(&name, SkipReason::BadName));
            continue;
        }
        if file.size() > max {
            out.skipped
                .push(Skipped::new(&name, SkipReason::TooLarge(file.size())));
            continue;
        }
        // The declared size may lie: never read more than `max + 1` bytes.
        let mut buf = Vec::new();
        if let Err(e) = (&mut file)
            .take(max.saturating_add(1))
            .read_to_end(&mut buf)
        {
            out.skipped
                .push(Skipped::new(&name, SkipReason::Unreadable(e.to_string())));
            continue;
        }
        if buf.len() as u64 > max {
            out.skipped
                .push(Skipped::new(&name, SkipReason::TooLarge(buf.len() as u64)));
            continue;
        }
        out.router_infos.push((name, buf));
    }
    Ok(out)
}

/// Takes the `routerInfo-*.dat` files of a directory (not its subdirectories), in
/// name order. Refuses a directory with more than `limits.max_entries` entries;
/// skips (and reports) other entries.
pub fn router_infos_from_dir(dir: &Path, limits: &Limits) -> Result<Extracted> {
    let io = |source| Error::Io {
        path: dir.to_owned(),
        source,
    };
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        if entries.len() == limits.max_entries {
            return Err(Error::TooManyEntries {
                found: entries.len() + 1,
                max: limits.max_entries,
            });
        }
        entries.push(entry);
    }
    entries.sort_by_key(|e| e.file_name());
    let mut out = Extracted::default();
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !is_router_info_name(&name) {
            out.skipped.push(Skipped::new(&name, SkipReason::BadName));
            continue;
        }
        let path = entry.path();
        // Follows symbolic links, as a person putting files there would expect.
        match std::fs::metadata(&path) {
            Ok(m) if !m.is_file() => {
                out.skipped.push(Skipped::new(&name, SkipReason::NotAFile));
                continue;
            }
            Ok(m) if m.len() > limits.max_router_info_size => {
                out.skipped
                    .push(Skipped::new(&name, SkipReason::TooLarge(m.len())));
                continue;
            }
            Ok(_) => {}
            Err(e) => {
                out.skipped
                    .push(Skipped::new(&name, SkipReason::Unreadable(e.to_string())));
                continue;
            }
        }
        match read_bounded(&path, limits.max_router_info_size) {
            Ok(bytes) => out.router_infos.push((name, bytes)),
            Err(Error::FileTooLarge { max, .. }) => {
                out.skipped
                    .push(Skipped::new(&name, SkipReason::TooLarge(max + 1)));
            }
            Err(e) => {
                out.skipped
                    .push(Skipped::new(&name, SkipReason::Unreadable(e.to_string())));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod test {
    use super::*;

    const H: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA~-";

    #[test]
    fn router_info_names() {
        let good = "routerInfo-zmB1Rk0~4gX3mU9-eYyFv9D3qy4Hg2vV2uQ6XbE8sCk=.dat";
        assert!(is_router_info_name(good));
        for bad in [
            "routerInfo-zmB1Rk0~4gX3mU9-eYyFv9D3qy4Hg2vV2uQ6XbE8sCk.dat", // 43 chars
            "routerInfo-zmB1Rk0+4gX3mU9/eYyFv9D3qy4Hg2vV2uQ6XbE8sCk=.dat", // standard base64
            "r0/routerInfo-zmB1Rk0~4gX3mU9-eYyFv9D3qy4Hg2vV2uQ6XbE8sCk=.dat",
            "routerInfo-zmB1Rk0~4gX3mU9-eYyFv9D3qy4Hg2vV2uQ6XbE8sCk=.dat.gz",
            "leaseSet-zmB1Rk0~4gX3mU9-eYyFv9D3qy4Hg2vV2uQ6XbE8sCk=.dat",
            "routerInfo-.dat",
            "",
            &format!("routerInfo-{H}.dat"), // 44 characters but no '='
        ] {
            assert!(!is_router_info_name(bad), "{bad}");
        }
    }

    #[test]
    fn garbage_is_not_a_zip() {
        let e = router_infos_from_zip(b"PK\x03\x04 not really", &Limits::default())
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("malformed zip archive"), "{e}");
    }
}
