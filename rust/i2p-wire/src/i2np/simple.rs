//! The small I2NP payloads: DeliveryStatus, Data and Garlic (i2np.rst).

use crate::bytes::{Readable, Reader, Result, Writeable, Writer};

/// DeliveryStatus (i2np.rst, "DeliveryStatus"): a message id and a timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryStatus {
    /// Id of the message being acknowledged (or a reply token).
    pub msg_id: u32,
    /// Creation or arrival time, milliseconds since the epoch.
    pub timestamp_ms: u64,
}

impl Readable for DeliveryStatus {
    fn take_from(r: &mut Reader<'_>) -> Result<Self> {
        r.scope("DeliveryStatus", |r| {
            Ok(DeliveryStatus {
                msg_id: r.take_u32()?,
                timestamp_ms: r.take_u64()?,
            })
        })
    }
}

impl Writeable for DeliveryStatus {
    fn write_onto(&self, out: &mut Vec<u8>) {
        out.write_u32(self.msg_id);
        out.write_u64(self.timestamp_ms);
    }
}

/// Reads a 4-byte length and exactly that many bytes (Data and Garlic).
fn take_u32_len<'a>(r: &mut Reader<'a>) -> Result<&'a [u8]> {
    let len = r.take_u32()?;
    // On 16-bit targets a length that does not fit is simply more than we have.
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    r.take(len)
}

fn write_u32_len(out: &mut Vec<u8>, data: &[u8]) {
    // Payloads come from parsing (length fit in 4 bytes) or from callers building
    // messages far below 4 GiB; I2NP messages are bounded by 64 KiB anyway.
    out.write_u32(u32::try_from(data.len()).unwrap_or(u32::MAX));
    out.write_bytes(data);
}

/// Data (i2np.rst, "Data"): a 4-byte length then opaque bytes. Used inside garlic
/// cloves to carry end-to-end data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Data {
    /// The payload.
    pub data: Vec<u8>,
}

impl Readable for Data {
    fn take_from(r: &mut Reader<'_>) -> Result<Self> {
        r.scope("Data", |r| {
            Ok(Data {
                data: take_u32_len(r)?.to_vec(),
            })
        })
    }
}

impl Writeable for Data {
    fn write_onto(&self, out: &mut Vec<u8>) {
        write_u32_len(out, &self.data);
    }
}

/// Garlic (i2np.rst, "Garlic"): a 4-byte length then the encrypted garlic (ElGamal/AES
/// or ECIES-X25519-AEAD-Ratchet, ecies.rst). Decryption lives in the garlic layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Garlic {
    /// The encrypted bytes.
    pub data: Vec<u8>,
}

impl Readable for Garlic {
    fn take_from(r: &mut Reader<'_>) -> Result<Self> {
        r.scope("Garlic", |r| {
            Ok(Garlic {
                data: take_u32_len(r)?.to_vec(),
            })
        })
    }
}

impl Writeable for Garlic {
    fn write_onto(&self, out: &mut Vec<u8>) {
        write_u32_len(out, &self.data);
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::bytes::Error;

    #[test]
    fn delivery_status_known_bytes() {
        let d = DeliveryStatus {
            msg_id: 0xdead_beef,
            timestamp_ms: 2,
        };
        let b = d.to_bytes();
        assert_eq!(hex::encode(&b), "deadbeef0000000000000002");
        assert_eq!(DeliveryStatus::from_bytes(&b).unwrap(), d);
        assert!(DeliveryStatus::from_bytes(&b[..11]).is_err());
    }

    #[test]
    fn data_and_garlic_lengths() {
        let d = Data {
            data: b"hi".to_vec(),
        };
        assert_eq!(d.to_bytes(), b"\x00\x00\x00\x02hi");
        assert_eq!(Data::from_bytes(b"\x00\x00\x00\x02hi").unwrap(), d);
        assert!(Data::from_bytes(b"\x00\x00\x00\x03hi").is_err());
        assert!(Data::from_bytes(b"\x00\x00\x00\x01hi").is_err());
        // A huge length is an error, not an allocation.
        assert!(matches!(
            Garlic::from_bytes(b"\xff\xff\xff\xffhi"),
            Err(Error::Truncated {
                object: "Garlic",
                ..
            })
        ));
        let g = Garlic { data: vec![9; 300] };
        assert_eq!(Garlic::from_bytes(&g.to_bytes()).unwrap(), g);
    }
}
