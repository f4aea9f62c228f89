//! The end-to-end payload carried in I2NP Data messages between destinations
//! (i2cp-overview.md, "I2CP Payload Data Format and Multiplexing"; i2cp.rst,
//! "Payload"): a gzip member (RFC 1952) whose header's mtime field carries the I2P
//! source and destination ports and whose OS byte carries the I2P protocol.
//!
//! ```text
//! 1F 8B 08 | flags | src port (2) | dst port (2) | xflags | protocol | deflate... | CRC32 | ISIZE
//! ```
//!
//! Decoding is bounded: the inflated size is limited by the caller, so a small
//! message cannot expand into a large allocation ("zip bomb").

use flate2::{Compress, Compression, Crc, Decompress, FlushCompress, FlushDecompress, Status};

use crate::bytes::{Error, Result};

/// "6 = Streaming".
pub const PROTOCOL_STREAMING: u8 = 6;
/// "17 = Datagram" (repliable, Datagram1).
pub const PROTOCOL_DATAGRAM: u8 = 17;
/// "18 = Raw Datagrams".
pub const PROTOCOL_RAW: u8 = 18;
/// Datagram2 (datagrams.rst).
pub const PROTOCOL_DATAGRAM2: u8 = 19;
/// Datagram3 (datagrams.rst).
pub const PROTOCOL_DATAGRAM3: u8 = 20;

/// "Actual message length limit is about 64 KB": the default bound on what a
/// payload inflates to.
pub const MAX_PAYLOAD_LEN: usize = 64 * 1024;

const HEADER_LEN: usize = 10;
const TRAILER_LEN: usize = 8;
/// "set to 2 to be indistinguishable from the Java implementation".
const XFLAGS: u8 = 2;

/// One payload: the protocol, the ports and the data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct I2cpPayload {
    /// The I2P protocol ([`PROTOCOL_STREAMING`], ...).
    pub protocol: u8,
    /// The sender's port (0: unspecified).
    pub source_port: u16,
    /// The receiver's port (0: any).
    pub dest_port: u16,
    /// The data.
    pub data: Vec<u8>,
}

impl I2cpPayload {
    /// Encodes as a gzip member. `compress` picks real compression (level 1, cheap)
    /// over stored blocks (level 0, for data that does not compress, such as
    /// encrypted or already compressed streams).
    pub fn encode(&self, compress: bool) -> Vec<u8> {
        let [s0, s1] = self.source_port.to_be_bytes();
        let [d0, d1] = self.dest_port.to_be_bytes();
        let mut out = Vec::with_capacity(HEADER_LEN + self.data.len() + 64);
        out.extend_from_slice(&[0x1f, 0x8b, 0x08, 0, s0, s1, d0, d1, XFLAGS, self.protocol]);
        let level = if compress {
            Compression::fast()
        } else {
            Compression::none()
        };
        let mut c = Compress::new(level, false);
        // Stored blocks cost 5 bytes per 64 KiB; deflate never grows data by more.
        let bound = self.data.len() + self.data.len() / 16_000 * 5 + 64;
        out.reserve(bound);
        let mut input = &self.data[..];
        loop {
            let before_in = c.total_in();
            let status = c.compress_vec(input, &mut out, FlushCompress::Finish);
            let used = usize::try_from(c.total_in() - before_in).unwrap_or(input.len());
            input = input.get(used..).unwrap_or(&[]);
            match status {
                Ok(Status::StreamEnd) => break,
                Ok(_) => out.reserve(out.capacity().max(1024)),
                Err(_) => break,
            }
        }
        let mut crc = Crc::new();
        crc.update(&self.data);
        out.extend_from_slice(&crc.sum().to_le_bytes());
        out.extend_from_slice(&(self.data.len() as u32).to_le_bytes());
        out
    }

    /// Decodes a gzip member, inflating at most `max_len` bytes.
    pub fn decode(bytes: &[u8], max_len: usize) -> Result<Self> {
        let bad = |reason| Error::invalid("I2CP payload", reason);
        if bytes.len() < HEADER_LEN + TRAILER_LEN {
            return Err(bad("shorter than a gzip header and trailer"));
        }
        let (header, rest) = bytes.split_at(HEADER_LEN);
        if header[..3] != [0x1f, 0x8b, 0x08] {
            return Err(bad("not a gzip (deflate) member"));
        }
        if header[3] != 0 {
            return Err(bad("gzip flags are not supported"));
        }
        let (body, trailer) = rest.split_at(rest.len() - TRAILER_LEN);
        let mut crc_bytes = [0u8; 4];
        crc_bytes.copy_from_slice(&trailer[..4]);
        let mut size_bytes = [0u8; 4];
        size_bytes.copy_from_slice(&trailer[4..]);
        let isize = u32::from_le_bytes(size_bytes) as usize;
        if isize > max_len {
            return Err(bad("inflates beyond the limit"));
        }
        // One byte more than declared: filling it proves the trailer lies.
        let mut data = vec![0u8; isize + 1];
        let mut d = Decompress::new(false);
        let status = d
            .decompress(body, &mut data, FlushDecompress::Finish)
            .map_err(|_| bad("corrupt deflate data"))?;
        let out_len = usize::try_from(d.total_out()).unwrap_or(usize::MAX);
        if out_len > isize {
            return Err(bad("inflates beyond its declared size"));
        }
        if status != Status::StreamEnd {
            return Err(bad("truncated deflate data"));
        }
        if usize::try_from(d.total_in()).ok() != Some(body.len()) {
            return Err(bad("bytes after the deflate data"));
        }
        if out_len != isize {
            return Err(bad("size does not match the gzip trailer"));
        }
        data.truncate(out_len);
        let mut crc = Crc::new();
        crc.update(&data);
        if crc.sum() != u32::from_le_bytes(crc_bytes) {
            return Err(bad("CRC-32 mismatch"));
        }
        Ok(Self {
            protocol: header[9],
            source_port: u16::from_be_bytes([header[4], header[5]]),
            dest_port: u16::from_be_bytes([header[6], header[7]]),
            data,
        })
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use std::io::Read;

    fn sample(n: usize) -> I2cpPayload {
        I2cpPayload {
            protocol: PROTOCOL_STREAMING,
            source_port: 0x1234,
            dest_port: 80,
            data: (0..n).map(|i| (i % 251) as u8).collect(),
        }
    }

    #[test]
    fn round_trip_both_ways_and_header_layout() {
        for n in [0, 1, 1000, 70_000] {
            for compress in [false, true] {
                let p = sample(n);
                let b = p.encode(compress);
                assert_eq!(&b[..10], &[0x1f, 0x8b, 8, 0, 0x12, 0x34, 0, 80, 2, 6]);
                assert_eq!(I2cpPayload::decode(&b, 100_000).unwrap(), p);
                // Any gzip reader reads it.
                let mut plain = Vec::new();
                flate2::read::GzDecoder::new(&b[..])
                    .read_to_end(&mut plain)
                    .unwrap();
                assert_eq!(plain, p.data);
            }
        }
        // Compressible data compresses.
        let zeros = I2cpPayload {
            data: vec![0; 10_000],
            ..sample(0)
        };
        assert!(zeros.encode(true).len() < 200);
    }

    #[test]
    fn reads_what_a_standard_gzip_writer_writes() {
        let mut w = flate2::GzBuilder::new()
            .mtime(u32::from_le_bytes([0, 7, 0x1f, 0x90]))
            .operating_system(PROTOCOL_DATAGRAM)
            .write(Vec::new(), Compression::default());
        std::io::Write::write_all(&mut w, b"hello datagram").unwrap();
        let b = w.finish().unwrap();
        let p = I2cpPayload::decode(&b, 1000).unwrap();
        assert_eq!(
            (p.protocol, p.source_port, p.dest_port, &p.data[..]),
            (PROTOCOL_DATAGRAM, 7, 8080, &b"hello datagram"[..])
        );
    }

    #[test]
    fn bad_and_oversized_payloads_are_refused() {
        let b = sample(5000).encode(true);
        assert!(I2cpPayload::decode(&b, 4999).is_err(), "over the limit");
        let mut crc = b.clone();
        let n = crc.len();
        crc[n - 8] ^= 1;
        assert!(I2cpPayload::decode(&crc, 10_000).is_err());
        let mut size = b.clone();
        size[n - 4] ^= 1;
        assert!(I2cpPayload::decode(&size, 10_000).is_err());
        assert!(I2cpPayload::decode(&b[..n - 9], 10_000).is_err());
        assert!(I2cpPayload::decode(&b[..12], 10_000).is_err());
        let mut flags = b.clone();
        flags[3] = 4;
        assert!(I2cpPayload::decode(&flags, 10_000).is_err());
        // A bomb: 10 MB of zeros declared honestly is refused by the bound.
        let bomb = I2cpPayload {
            data: vec![0; 10 << 20],
            ..sample(0)
        }
        .encode(true);
        assert!(bomb.len() < 100_000);
        assert!(I2cpPayload::decode(&bomb, MAX_PAYLOAD_LEN).is_err());
        // A lying trailer (small declared size, large stream) is refused too.
        let mut liar = bomb.clone();
        let m = liar.len();
        liar[m - 4..].copy_from_slice(&100u32.to_le_bytes());
        assert!(I2cpPayload::decode(&liar, MAX_PAYLOAD_LEN).is_err());
    }
}
