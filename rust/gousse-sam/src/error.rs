//! The crate's error type.

use crate::reply::ResultCode;

/// Why a SAM line could not be read as a command or reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The line (without terminator) is longer than the bound.
    #[error("line of {len} bytes is longer than the {max}-byte limit")]
    LineTooLong {
        /// Length seen (or at least this much).
        len: usize,
        /// The limit, [`crate::MAX_LINE_LEN`].
        max: usize,
    },
    /// samv3.md: "As of SAM 3.2, the encoding must be UTF-8."
    #[error("line is not valid UTF-8 (at byte {offset})")]
    InvalidUtf8 {
        /// Byte offset of the first invalid sequence.
        offset: usize,
    },
    /// A newline or other control character inside the line.
    #[error("control character U+{code:04X} at byte {offset}")]
    ControlCharacter {
        /// Byte offset in the line.
        offset: usize,
        /// The character's code point.
        code: u32,
    },
    /// Empty line, or the first word is not a bare command word.
    #[error("no command word")]
    NoCommand,
    /// A double quote opened and never closed.
    #[error("unterminated quote starting at byte {offset}")]
    UnterminatedQuote {
        /// Byte offset of the opening quote.
        offset: usize,
    },
    /// A backslash at the very end of the line.
    #[error("backslash at end of line (byte {offset})")]
    DanglingEscape {
        /// Byte offset of the backslash.
        offset: usize,
    },
    /// `=value` with no key.
    #[error("empty key at byte {offset}")]
    EmptyKey {
        /// Byte offset of the pair.
        offset: usize,
    },
    /// A key longer than [`crate::MAX_KEY_LEN`].
    #[error("key longer than {max} bytes")]
    KeyTooLong {
        /// The limit.
        max: usize,
    },
    /// A value longer than [`crate::MAX_VALUE_LEN`].
    #[error("value of {key} longer than {max} bytes")]
    ValueTooLong {
        /// The key whose value is too long.
        key: String,
        /// The limit.
        max: usize,
    },
    /// More than [`crate::MAX_PAIRS`] pairs.
    #[error("more than {max} key=value pairs")]
    TooManyPairs {
        /// The limit.
        max: usize,
    },
    /// The same key twice on one line.
    #[error("duplicate key {key}")]
    DuplicateKey {
        /// The repeated key.
        key: String,
    },
    /// A command (or reply) this crate does not know.
    #[error("unknown command {verb}{}", sub.as_deref().map(|s| format!(" {s}")).unwrap_or_default())]
    UnknownCommand {
        /// First word (upper case).
        verb: String,
        /// Second word (upper case), if any.
        sub: Option<String>,
    },
    /// A key the command requires is absent.
    #[error("{command}: missing {key}")]
    MissingKey {
        /// The command, e.g. `"SESSION CREATE"`.
        command: &'static str,
        /// The key, e.g. `"ID"`.
        key: &'static str,
    },
    /// A key's value is not acceptable (the value itself is not kept: it may be a key).
    #[error("{command}: invalid {key}: {reason}")]
    InvalidValue {
        /// The command.
        command: &'static str,
        /// The key.
        key: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// A key the spec forbids for this command or style.
    #[error("{command}: {key} is not allowed here")]
    ForbiddenKey {
        /// The command.
        command: &'static str,
        /// The key.
        key: String,
    },
}

impl ParseError {
    /// The RESULT a bridge should answer with (samv3.md, "RESULT Values"): INVALID_KEY for
    /// a malformed destination or private key, I2P_ERROR for everything else.
    pub fn result_code(&self) -> ResultCode {
        match self {
            ParseError::InvalidValue {
                key: "DESTINATION", ..
            } => ResultCode::InvalidKey,
            _ => ResultCode::I2pError,
        }
    }
}
