//! SU3: parse; if it parses, the signed part and the signature tile the input exactly,
//! and the content lies inside the signed part, at its end.
#![no_main]

use i2p_wire::su3::UncheckedSu3;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(su3) = UncheckedSu3::parse(data) else {
        return;
    };
    assert_eq!(su3.signed.len() + su3.signature.len(), data.len());
    assert_eq!(su3.signed, &data[..su3.signed.len()]);
    assert_eq!(su3.signature, &data[su3.signed.len()..]);
    assert!(su3.signed.ends_with(su3.content));
    assert_eq!(su3.sig_type.signature_len(), Some(su3.signature.len()));
    let _ = su3.version();
});
