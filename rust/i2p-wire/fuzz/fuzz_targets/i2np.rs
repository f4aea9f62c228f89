//! I2NP: both header forms and every typed payload. Each parse that succeeds must
//! serialize back to the same bytes.
#![no_main]

use i2p_wire::i2np::{
    Data, DatabaseLookup, DatabaseSearchReply, DatabaseStore, DeliveryStatus, Garlic, I2npMessage,
    MessageType, Payload,
};
use i2p_wire::{Readable, Writeable};
use libfuzzer_sys::fuzz_target;

fn exact<T: Readable + Writeable + PartialEq + std::fmt::Debug>(data: &[u8]) {
    if let Ok(v) = T::from_bytes(data) {
        assert_eq!(v.to_bytes(), data);
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = I2npMessage::parse_standard(data) {
        assert_eq!(m.to_standard_bytes().as_deref(), Ok(data));
        if let Ok(p) = m.parse_payload() {
            assert_eq!(p.to_bytes(), m.payload);
        }
    }
    if let Ok(m) = I2npMessage::parse_short(data) {
        assert_eq!(m.to_short_bytes().as_deref(), Ok(data));
        if let Ok(p) = m.parse_payload() {
            assert_eq!(p.msg_type(), m.msg_type);
            assert_eq!(p.to_bytes(), m.payload);
            if let Payload::DatabaseStore(ds) = p {
                // Bounded decompression and RouterInfo parsing must not panic.
                let _ = ds.parse_router_info();
            }
        }
    }
    // Every payload type directly on the input, whatever its header would say.
    exact::<DatabaseStore>(data);
    exact::<DatabaseLookup>(data);
    exact::<DatabaseSearchReply>(data);
    exact::<DeliveryStatus>(data);
    exact::<Data>(data);
    exact::<Garlic>(data);
    let _ = Payload::parse(MessageType::TUNNEL_DATA, data);
});
