//! hosts.txt bodies, lines and host names: parsing and signature checks never panic;
//! an accepted name always passes the naming rules again.
#![no_main]

use gousse_addressbook::{parse_hosts_txt, HostKind, HostName};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(lines) = parse_hosts_txt(data) {
        for (_, r) in lines.into_iter() {
            if let Ok(rec) = r {
                assert!(HostName::parse(rec.name.as_str()).is_ok());
                assert!(!rec.destination.is_empty());
            }
        }
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = HostKind::classify(s);
        if let Ok(n) = HostName::parse(s) {
            assert_eq!(HostName::parse(n.as_str()).as_ref(), Ok(&n));
        }
    }
});
