//! Parses arbitrary bytes as a SAM command and as a reply; for any reply that parses,
//! writing it back must give exactly one line that parses back and writes identically.
#![no_main]

use gousse_sam::{Command, Reply};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Command::parse(data);
    if let Ok(reply) = Reply::parse(data) {
        let line = reply.to_line();
        assert_eq!(line.matches('\n').count(), 1);
        assert!(line.ends_with('\n'));
        match Reply::parse(line.as_bytes()) {
            Ok(again) => assert_eq!(again.to_line(), line),
            Err(e) => panic!("own reply {line:?} does not parse: {e}"),
        }
    }
});
