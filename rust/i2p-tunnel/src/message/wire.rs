//! The TunnelData (type 18) and TunnelGateway (type 19) I2NP messages (i2np.rst,
//! "TunnelData", "TunnelGateway").

use i2p_wire::{I2npMessage, Reader, Writer};

use super::{Result, ENCRYPTED_LEN, IV_LEN, TUNNEL_DATA_LEN};

/// A TunnelData message body (i2np.rst, "TunnelData"): the receiving hop's tunnel id,
/// the IV and the 1008 encrypted bytes. The same struct holds the block before
/// encryption at a gateway and after decryption at an endpoint.
#[derive(Clone, PartialEq, Eq)]
pub struct TunnelData {
    /// "Identifies the hop receiving this message", nonzero.
    pub tunnel_id: u32,
    /// The IV, transformed by every hop (double IV encryption).
    pub iv: [u8; IV_LEN],
    /// The encrypted (or, at the ends, cleartext) 1008 bytes.
    pub data: [u8; ENCRYPTED_LEN],
}

impl std::fmt::Debug for TunnelData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TunnelData")
            .field("tunnel_id", &self.tunnel_id)
            .finish_non_exhaustive()
    }
}

impl TunnelData {
    /// Parses a TunnelData body: exactly 1028 bytes, nonzero tunnel id.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::with_object(bytes, "TunnelData");
        let tunnel_id = r.take_u32()?;
        if tunnel_id == 0 {
            return Err(r.invalid("tunnel id 0").into());
        }
        let iv = r.take_array::<IV_LEN>()?;
        let data = r.take_array::<ENCRYPTED_LEN>()?;
        r.should_be_exhausted()?;
        Ok(TunnelData {
            tunnel_id,
            iv,
            data,
        })
    }

    /// The 1028-byte wire form.
    pub fn to_bytes(&self) -> [u8; TUNNEL_DATA_LEN] {
        let mut out = [0u8; TUNNEL_DATA_LEN];
        let (id, rest) = out.split_at_mut(4);
        id.copy_from_slice(&self.tunnel_id.to_be_bytes());
        let (iv, data) = rest.split_at_mut(IV_LEN);
        iv.copy_from_slice(&self.iv);
        data.copy_from_slice(&self.data);
        out
    }

    /// The value a participant feeds its replay Bloom filter
    /// (tunnel-implementation.md: "the XOR of the IV and the first block of the
    /// message received").
    pub fn replay_key(&self) -> [u8; IV_LEN] {
        let mut k = self.iv;
        for (k, d) in k.iter_mut().zip(self.data.iter()) {
            *k ^= d;
        }
        k
    }
}

/// A TunnelGateway message body (i2np.rst, "TunnelGateway"): the inbound gateway's
/// tunnel id and one I2NP message in the standard 16-byte header form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunnelGateway {
    /// The tunnel id at the inbound gateway, nonzero.
    pub tunnel_id: u32,
    /// The message to send down the tunnel.
    pub message: I2npMessage,
}

impl TunnelGateway {
    /// Parses a TunnelGateway body: tunnel id, 2-byte length, then exactly that many
    /// bytes holding one standard-header I2NP message (checksum checked).
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::with_object(bytes, "TunnelGateway");
        let tunnel_id = r.take_u32()?;
        if tunnel_id == 0 {
            return Err(r.invalid("tunnel id 0").into());
        }
        let len = usize::from(r.take_u16()?);
        let inner = r.take(len)?;
        r.should_be_exhausted()?;
        let message = I2npMessage::parse_standard(inner)?;
        Ok(TunnelGateway { tunnel_id, message })
    }

    /// Appends the wire form. Errors if the message does not fit the 2-byte length.
    pub fn write(&self, out: &mut Vec<u8>) -> Result<()> {
        let inner = self.message.to_standard_bytes()?;
        let len = u16::try_from(inner.len()).map_err(|_| i2p_wire::Error::Invalid {
            object: "TunnelGateway",
            reason: "message over 65535 bytes",
        })?;
        out.write_u32(self.tunnel_id);
        out.write_u16(len);
        out.write_bytes(&inner);
        Ok(())
    }

    /// The wire form.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.write(&mut out)?;
        Ok(out)
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use i2p_wire::MessageType;

    #[test]
    fn tunnel_data_round_trip_and_bounds() {
        let mut bytes = vec![0u8; TUNNEL_DATA_LEN];
        bytes[..4].copy_from_slice(&7u32.to_be_bytes());
        for (i, b) in bytes[4..].iter_mut().enumerate() {
            *b = i as u8;
        }
        let td = TunnelData::parse(&bytes).unwrap();
        assert_eq!(td.tunnel_id, 7);
        assert_eq!(td.iv[0], 0);
        assert_eq!(td.data[0], 16);
        assert_eq!(&td.to_bytes()[..], &bytes[..]);
        assert!(TunnelData::parse(&bytes[..1027]).is_err());
        bytes.push(0);
        assert!(TunnelData::parse(&bytes).is_err());
        bytes.pop();
        bytes[..4].copy_from_slice(&[0; 4]);
        assert!(TunnelData::parse(&bytes).is_err());
    }

    #[test]
    fn tunnel_gateway_round_trip() {
        let msg = I2npMessage::new(
            MessageType::DATA,
            0x0102_0304,
            1_700_000_000_000,
            vec![9; 40],
        );
        let tg = TunnelGateway {
            tunnel_id: 42,
            message: msg.clone(),
        };
        let bytes = tg.to_bytes().unwrap();
        assert_eq!(&bytes[..4], &42u32.to_be_bytes());
        assert_eq!(&bytes[4..6], &56u16.to_be_bytes());
        assert_eq!(&bytes[6..], &msg.to_standard_bytes().unwrap()[..]);
        assert_eq!(TunnelGateway::parse(&bytes).unwrap(), tg);
        // Length past the end, trailing bytes, bad inner checksum.
        assert!(TunnelGateway::parse(&bytes[..bytes.len() - 1]).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(TunnelGateway::parse(&longer).is_err());
        let mut bad = bytes.clone();
        bad[6 + 15] ^= 1;
        assert!(TunnelGateway::parse(&bad).is_err());
    }
}
