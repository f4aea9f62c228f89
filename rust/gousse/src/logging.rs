//! The data directory and logging (stderr and `DATA_DIR/gousse.log`).

use std::fs::{File, OpenOptions};
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::EnvFilter;

/// Name of the log file inside the data directory.
pub(crate) const LOG_FILE: &str = "gousse.log";
/// A log file larger than this at start is moved to `gousse.log.1` (replacing it).
const LOG_ROTATE_BYTES: u64 = 16 * 1024 * 1024;

/// Setting up the data directory or the log failed: exit code 1.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SetupError {
    /// The data directory could not be created.
    #[error("cannot create data directory {}: {source}", path.display())]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The log file could not be opened.
    #[error("cannot open log file {}: {source}", path.display())]
    LogFile {
        /// The file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The filter was refused (checked earlier, so this is unexpected).
    #[error("invalid log filter: {0}")]
    Filter(String),
    /// A global subscriber was already installed.
    #[error("logging already initialised: {0}")]
    Init(String),
}

/// Creates the data directory (and its parents) with permissions 0700 where missing.
/// An existing directory is left as it is, with a warning later if others can read it.
pub(crate) fn ensure_data_dir(path: &Path) -> Result<(), SetupError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path).map_err(|source| SetupError::DataDir {
        path: path.to_owned(),
        source,
    })
}

/// Whether group or others have any access to `path` (unix only).
pub(crate) fn readable_by_others(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

/// Opens `DATA_DIR/gousse.log` for appending (0600), rotating a large one first.
fn open_log(data_dir: &Path) -> Result<File, SetupError> {
    let path = data_dir.join(LOG_FILE);
    if std::fs::metadata(&path).is_ok_and(|m| m.len() > LOG_ROTATE_BYTES) {
        // Best effort: if the rename fails we keep appending to the big file.
        let _ = std::fs::rename(&path, data_dir.join(format!("{LOG_FILE}.1")));
    }
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(&path)
        .map_err(|source| SetupError::LogFile { path, source })
}

/// Installs the global subscriber: `filter` applies to both stderr and the log file.
pub(crate) fn init(filter: &str, data_dir: &Path) -> Result<(), SetupError> {
    let filter = EnvFilter::try_new(filter).map_err(|e| SetupError::Filter(e.to_string()))?;
    let file = open_log(data_dir)?;
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let to_file = tracing_subscriber::fmt::layer()
        .with_writer(std::sync::Mutex::new(file))
        .with_ansi(false);
    tracing_subscriber::registry()
        .with(filter)
        .with(stderr)
        .with(to_file)
        .try_init()
        .map_err(|e| SetupError::Init(e.to_string()))
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    #[cfg(unix)]
    fn data_dir_is_created_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b/data");
        ensure_data_dir(&dir).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        assert!(!readable_by_others(&dir));
        // Existing directory: fine, untouched.
        ensure_data_dir(&dir).unwrap();
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(readable_by_others(tmp.path()));
    }

    #[test]
    fn data_dir_that_is_a_file_is_an_error() {
        let tmp = tempfile::NamedTempFile::new().unwrap();
        let err = ensure_data_dir(tmp.path()).unwrap_err();
        assert!(err.to_string().starts_with("cannot create data directory"));
    }

    #[test]
    #[cfg(unix)]
    fn log_file_is_private_and_rotated_when_large() {
        use std::os::unix::fs::PermissionsExt as _;
        let tmp = tempfile::tempdir().unwrap();
        drop(open_log(tmp.path()).unwrap());
        let log = tmp.path().join(LOG_FILE);
        let mode = std::fs::metadata(&log).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let big = File::create(&log).unwrap();
        big.set_len(LOG_ROTATE_BYTES + 1).unwrap();
        drop(open_log(tmp.path()).unwrap());
        assert_eq!(std::fs::metadata(&log).unwrap().len(), 0);
        assert_eq!(
            std::fs::metadata(tmp.path().join("gousse.log.1"))
                .unwrap()
                .len(),
            LOG_ROTATE_BYTES + 1
        );
    }
}
