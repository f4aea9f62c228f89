//! Sans-IO framing of the control socket: bytes in, complete lines (and the payloads that
//! follow some of them) out.
//!
//! A SAM control socket carries `\n`-terminated lines, except that `DATAGRAM SEND` and
//! `RAW SEND` are followed by SIZE bytes of payload, and after a successful `STREAM
//! CONNECT`/`ACCEPT` the socket becomes a raw byte stream. The caller feeds whatever it
//! read with [`LineReader::push`] and asks for the next line, the next `n` payload bytes,
//! or everything left.

use crate::command::MAX_RAW_DATAGRAM;
use crate::error::ParseError;
use crate::line::MAX_LINE_LEN;

/// Most bytes a [`LineReader`] buffers: one maximal line with `\r\n`, plus one maximal
/// datagram payload.
pub const MAX_BUFFERED: usize = MAX_LINE_LEN + 2 + MAX_RAW_DATAGRAM as usize;

/// Splits a byte stream into SAM lines, with a bounded buffer.
#[derive(Debug, Default)]
pub struct LineReader {
    buf: Vec<u8>,
}

impl LineReader {
    /// An empty reader.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends received bytes. Refuses (buffering nothing) if the buffer would exceed
    /// [`MAX_BUFFERED`]: the caller should take lines before reading more.
    pub fn push(&mut self, data: &[u8]) -> Result<(), ParseError> {
        let len = self.buf.len().saturating_add(data.len());
        if len > MAX_BUFFERED {
            return Err(ParseError::LineTooLong {
                len,
                max: MAX_BUFFERED,
            });
        }
        self.buf.extend_from_slice(data);
        Ok(())
    }

    /// The next complete line, including its `\n` (feed it to
    /// [`crate::Command::parse`]). `Ok(None)` if no full line is buffered yet; an error
    /// once more than [`MAX_LINE_LEN`] bytes (plus `\r\n`) are buffered with no newline.
    pub fn next_line(&mut self) -> Result<Option<Vec<u8>>, ParseError> {
        let limit = self.buf.len().min(MAX_LINE_LEN + 2);
        match self.buf.iter().take(limit).position(|&b| b == b'\n') {
            Some(i) => {
                let rest = self.buf.split_off(i + 1);
                Ok(Some(std::mem::replace(&mut self.buf, rest)))
            }
            None if self.buf.len() > MAX_LINE_LEN + 1 => Err(ParseError::LineTooLong {
                len: self.buf.len(),
                max: MAX_LINE_LEN,
            }),
            None => Ok(None),
        }
    }

    /// Exactly `n` bytes of payload (after `DATAGRAM SEND ... SIZE=n`), once buffered.
    pub fn take_exact(&mut self, n: usize) -> Option<Vec<u8>> {
        if self.buf.len() < n {
            return None;
        }
        let rest = self.buf.split_off(n);
        Some(std::mem::replace(&mut self.buf, rest))
    }

    /// Everything buffered (the start of the stream data after `STREAM STATUS
    /// RESULT=OK`).
    pub fn take_remaining(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    /// Bytes currently buffered.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::command::Command;

    #[test]
    fn lines_split_across_reads_and_payloads() {
        let mut r = LineReader::new();
        r.push(b"HELLO VER").unwrap();
        assert_eq!(r.next_line().unwrap(), None);
        r.push(b"SION\nRAW SEND DESTINATION=d SIZE=3\nabcPING x\nrest")
            .unwrap();
        let hello = r.next_line().unwrap().unwrap();
        assert!(matches!(Command::parse(&hello), Ok(Command::Hello(_))));
        let send = r.next_line().unwrap().unwrap();
        let Ok(Command::RawSend(s)) = Command::parse(&send) else {
            panic!("not RAW SEND")
        };
        assert_eq!(r.take_exact(s.size as usize + 100), None, "not enough yet");
        assert_eq!(r.take_exact(s.size as usize).unwrap(), b"abc");
        assert_eq!(r.next_line().unwrap().unwrap(), b"PING x\n");
        assert_eq!(r.next_line().unwrap(), None);
        assert_eq!(r.take_remaining(), b"rest");
        assert_eq!(r.buffered(), 0);
    }

    #[test]
    fn unterminated_line_is_bounded() {
        let mut r = LineReader::new();
        r.push(&vec![b'a'; MAX_LINE_LEN + 1]).unwrap();
        assert_eq!(r.next_line().unwrap(), None, "a \\r may still come");
        r.push(b"b").unwrap();
        assert!(matches!(r.next_line(), Err(ParseError::LineTooLong { .. })));

        let mut r = LineReader::new();
        let mut max = vec![b'a'; MAX_LINE_LEN];
        max.extend_from_slice(b"\r\n");
        r.push(&max).unwrap();
        assert_eq!(
            r.next_line().unwrap().map(|l| l.len()),
            Some(MAX_LINE_LEN + 2)
        );

        let mut r = LineReader::new();
        r.push(&vec![0; MAX_BUFFERED]).unwrap();
        assert!(r.push(b"x").is_err());
        assert_eq!(r.buffered(), MAX_BUFFERED, "refused push buffered nothing");
    }
}
