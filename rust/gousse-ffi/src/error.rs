//! The one error type of the API; Kotlin sees it as `GousseException` with one
//! subclass per variant (`GousseException.InvalidConfig`, ...), whose `message` is
//! the error's text ("invalid configuration: port 70000 is above 65535").
//!
//! The error is flat on the Kotlin side: a variant field named `message` would clash
//! with `Throwable.message` in the generated class, and the text is what Kotlin
//! shows anyway.

use gousse_router::StartError;

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
#[non_exhaustive]
pub enum GousseError {
    /// The settings cannot work (bad port, unparsable address, unusable data
    /// directory, ...). Nothing was started.
    #[error("invalid configuration: {message}")]
    InvalidConfig {
        /// What is wrong, naming the setting.
        message: String,
    },
    /// An argument of a call other than the settings is out of range.
    #[error("invalid argument: {message}")]
    InvalidArgument {
        /// What is wrong.
        message: String,
    },
    /// `start` while the router is starting, running or stopping.
    #[error("already running: {message}")]
    AlreadyRunning {
        /// The router's state.
        message: String,
    },
    /// A call that needs a running router while it is not running.
    #[error("not running: {message}")]
    NotRunning {
        /// The router's state.
        message: String,
    },
    /// The router could not start (port in use, key file unreadable, ...).
    #[error("start failed: {message}")]
    StartFailed {
        /// The router's own error.
        message: String,
    },
    /// A file or directory could not be used.
    #[error("I/O error: {message}")]
    Io {
        /// The path and the system's error.
        message: String,
    },
    /// A call from a thread where it cannot be served (for example `start` or `stop`
    /// from inside the router's own runtime), or a bug.
    #[error("internal error: {message}")]
    Internal {
        /// What happened.
        message: String,
    },
}

impl GousseError {
    pub(crate) fn invalid_config(message: impl Into<String>) -> Self {
        Self::InvalidConfig {
            message: message.into(),
        }
    }

    pub(crate) fn invalid_argument(message: impl Into<String>) -> Self {
        Self::InvalidArgument {
            message: message.into(),
        }
    }

    pub(crate) fn not_running(message: impl Into<String>) -> Self {
        Self::NotRunning {
            message: message.into(),
        }
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::Internal {
            message: message.into(),
        }
    }
}

impl From<StartError> for GousseError {
    fn from(e: StartError) -> Self {
        match e {
            StartError::Config(message) => Self::InvalidConfig { message },
            StartError::DataDir { .. } => Self::Io {
                message: e.to_string(),
            },
            other => Self::StartFailed {
                message: other.to_string(),
            },
        }
    }
}

/// What a listener's method may return to report that it failed; the router logs it
/// and goes on. A Kotlin listener that throws any exception ends up here.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[non_exhaustive]
pub enum ListenerError {
    /// The listener threw.
    #[error("listener failed: {reason}")]
    Failed {
        /// The exception's text.
        reason: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for ListenerError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        // The first line of the foreign stack trace: the exception and its message.
        let reason = e.reason.lines().next().unwrap_or_default().to_string();
        Self::Failed { reason }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn start_errors_map_to_typed_variants() {
        let e: GousseError = StartError::Config("--host 10.0.0.1 is not public".into()).into();
        assert_eq!(
            e,
            GousseError::InvalidConfig {
                message: "--host 10.0.0.1 is not public".into()
            }
        );
        let e: GousseError = StartError::DataDir {
            path: "/x".into(),
            source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        }
        .into();
        assert!(
            matches!(e, GousseError::Io { ref message } if message.starts_with("data directory /x"))
        );
        let e: GousseError = StartError::Bind {
            addr: "127.0.0.1:1".parse().unwrap(),
            source: std::io::Error::from(std::io::ErrorKind::AddrInUse),
        }
        .into();
        assert!(
            matches!(e, GousseError::StartFailed { ref message } if message.contains("127.0.0.1:1"))
        );
    }

    #[test]
    fn messages_name_the_kind() {
        let e = GousseError::invalid_config("port 70000 is above 65535");
        assert_eq!(
            e.to_string(),
            "invalid configuration: port 70000 is above 65535"
        );
    }
}
