//! Layered tunnel encryption (tunnel-implementation.md, "Participant processing",
//! "Gateway processing", "Endpoint processing"): AES-256/ECB with the IV key on the
//! IV, AES-256/CBC with the layer key on the 1008 bytes, and the IV encrypted again
//! ("double IV encryption").

use i2p_crypto::aes::Aes256Ecb;

use super::TunnelData;

/// One hop's layer: the AES-256 ciphers of its layer key and IV key, keyed once.
///
/// The key schedules are zeroized on drop (the `aes` crate's `zeroize` feature) and
/// never printed.
#[derive(Clone)]
pub struct HopCipher {
    layer: Aes256Ecb,
    iv: Aes256Ecb,
}

impl std::fmt::Debug for HopCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HopCipher { .. }")
    }
}

impl HopCipher {
    /// The cipher of a hop with these keys (a build record's layer key and IV key,
    /// `i2p_tunnel::build::LayerKeys`).
    pub fn new(layer_key: &[u8; 32], iv_key: &[u8; 32]) -> Self {
        HopCipher {
            layer: Aes256Ecb::new(layer_key),
            iv: Aes256Ecb::new(iv_key),
        }
    }

    /// The cipher of a hop whose build record gave these keys.
    pub fn from_keys(keys: &crate::build::LayerKeys) -> Self {
        Self::new(&keys.layer_key, &keys.iv_key)
    }

    /// Participant processing, in place: "encrypts the received IV with AES256/ECB
    /// using their IV key to determine the current IV, uses that IV with the
    /// participant's layer key to encrypt the data, encrypts the current IV with
    /// AES256/ECB using their IV key again". Also what a transit inbound gateway
    /// and a transit outbound endpoint do with their layer. The tunnel id is left
    /// as is: the caller sets the next hop's.
    pub fn process(&self, msg: &mut TunnelData) {
        self.encrypt_layer(&mut msg.iv, &mut msg.data);
    }

    /// [`HopCipher::process`] on a bare IV and data.
    pub fn encrypt_layer(&self, iv: &mut [u8; 16], data: &mut [u8]) {
        self.iv.encrypt_block(iv);
        let mut prev = *iv;
        for chunk in data.chunks_exact_mut(16) {
            let Ok(block) = <&mut [u8; 16]>::try_from(chunk) else {
                continue; // chunks_exact_mut yields 16-byte chunks only
            };
            xor16(block, &prev);
            self.layer.encrypt_block(block);
            prev = *block;
        }
        self.iv.encrypt_block(iv);
    }

    /// The inverse of [`HopCipher::encrypt_layer`]: removes this hop's layer.
    pub fn decrypt_layer(&self, iv: &mut [u8; 16], data: &mut [u8]) {
        self.iv.decrypt_block(iv);
        let mut prev = *iv;
        for chunk in data.chunks_exact_mut(16) {
            let Ok(block) = <&mut [u8; 16]>::try_from(chunk) else {
                continue;
            };
            let ct = *block;
            self.layer.decrypt_block(block);
            xor16(block, &prev);
            prev = ct;
        }
        self.iv.decrypt_block(iv);
    }
}

fn xor16(block: &mut [u8; 16], other: &[u8; 16]) {
    for (b, o) in block.iter_mut().zip(other) {
        *b ^= o;
    }
}

/// The layers of all hops of a tunnel we created, in path order: for an outbound
/// tunnel the first hop after us up to the outbound endpoint; for an inbound tunnel
/// the inbound gateway up to the last hop before us.
#[derive(Clone, Debug, Default)]
pub struct TunnelLayers {
    hops: Vec<HopCipher>,
}

impl TunnelLayers {
    /// The layers of `hops`, in path order. An empty list is a zero-hop tunnel.
    pub fn new(hops: Vec<HopCipher>) -> Self {
        TunnelLayers { hops }
    }

    /// Number of hops.
    pub fn len(&self) -> usize {
        self.hops.len()
    }

    /// Whether this is a zero-hop tunnel.
    pub fn is_empty(&self) -> bool {
        self.hops.is_empty()
    }

    /// Outbound gateway pre-processing of one cleartext block: "iteratively decrypt
    /// the (unencrypted) IV and preprocessed data with the IV and layer keys for all
    /// hops", the outbound endpoint's layer first, so that each hop's encryption
    /// peels one layer and the endpoint sees the cleartext and the original IV.
    pub fn encrypt_outbound(&self, msg: &mut TunnelData) {
        self.peel_all(msg);
    }

    /// Inbound endpoint processing: removes every hop's layer, the last hop's first,
    /// leaving the inbound gateway's cleartext block and IV.
    pub fn decrypt_inbound(&self, msg: &mut TunnelData) {
        self.peel_all(msg);
    }

    fn peel_all(&self, msg: &mut TunnelData) {
        for hop in self.hops.iter().rev() {
            hop.decrypt_layer(&mut msg.iv, &mut msg.data);
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::message::ENCRYPTED_LEN;

    fn sample() -> TunnelData {
        let mut data = [0u8; ENCRYPTED_LEN];
        i2p_crypto::random_bytes(&mut data);
        let mut iv = [0u8; 16];
        i2p_crypto::random_bytes(&mut iv);
        TunnelData {
            tunnel_id: 5,
            iv,
            data,
        }
    }

    #[test]
    fn participant_matches_ecb_cbc_ecb() {
        let (lk, ik) = ([3u8; 32], [4u8; 32]);
        let hop = HopCipher::new(&lk, &ik);
        let msg = sample();
        let mut got = msg.clone();
        hop.process(&mut got);

        // The same steps with i2p-crypto's one-shot functions.
        let ecb = Aes256Ecb::new(&ik);
        let mut iv = msg.iv;
        ecb.encrypt_block(&mut iv);
        let mut data = msg.data;
        i2p_crypto::aes::cbc_encrypt(&lk, &iv, &mut data).unwrap();
        ecb.encrypt_block(&mut iv);
        assert_eq!(got.iv, iv);
        assert_eq!(got.data, data);
        assert_ne!(got.data, msg.data);

        hop.decrypt_layer(&mut got.iv, &mut got.data);
        assert_eq!(got, msg);

        // Keyed from the build module's LayerKeys: the same layer.
        let keys = crate::build::LayerKeys {
            layer_key: lk,
            iv_key: ik,
        };
        let mut again = msg.clone();
        HopCipher::from_keys(&keys).process(&mut again);
        assert_eq!(again.iv, iv);
        assert_eq!(again.data, data);
    }

    #[test]
    fn outbound_and_inbound_layers_cancel() {
        for n in 0..4 {
            let hops: Vec<HopCipher> = (0..n)
                .map(|i| HopCipher::new(&[i as u8 + 1; 32], &[i as u8 + 100; 32]))
                .collect();
            let layers = TunnelLayers::new(hops.clone());
            let clear = sample();
            // Outbound: pre-process, then every hop encrypts in path order.
            let mut m = clear.clone();
            layers.encrypt_outbound(&mut m);
            if n > 0 {
                assert_ne!(m.data, clear.data);
            }
            for h in &hops {
                h.process(&mut m);
            }
            assert_eq!(m, clear);
            // Inbound: every hop encrypts in path order, then we peel all.
            let mut m = clear.clone();
            for h in &hops {
                h.process(&mut m);
            }
            layers.decrypt_inbound(&mut m);
            assert_eq!(m, clear);
        }
    }
}
