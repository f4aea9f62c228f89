//! Data-phase frames and blocks: the block parsers on raw input, and frames sealed from
//! fuzzer-chosen plaintexts then opened in fuzzer-chosen chunks (must round-trip), and
//! raw input to a frame opener.
#![no_main]

use i2p_ntcp2::block::{
    parse_blocks_unordered, parse_data_phase_blocks, parse_session_confirmed, Block,
};
use i2p_ntcp2::frame::{FrameOpener, FrameSealer};
use i2p_ntcp2::OptionsBlock;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Parsers: total, and re-encoding what parsed gives the same bytes (except padding
    // content, which is random on output, and the unused RouterInfo flag bits 7-1,
    // which are written as 0).
    if let Ok(blocks) = parse_blocks_unordered(data) {
        let mut out = Vec::new();
        for b in &blocks {
            b.write(&mut out).expect("parsed blocks fit");
        }
        assert_eq!(out.len(), data.len());
        assert_eq!(parse_blocks_unordered(&out).expect("re-parse"), blocks);
        if !blocks
            .iter()
            .any(|b| matches!(b, Block::Padding(_) | Block::RouterInfo { .. }))
        {
            assert_eq!(out, data);
        }
    }
    let _ = parse_data_phase_blocks(data);
    let _ = parse_session_confirmed(data);
    let _ = OptionsBlock::parse(data);

    // Frames: split the input into plaintexts at 0xff bytes, seal, reopen.
    let Some((&chunk, rest)) = data.split_first() else { return };
    let key = [5u8; 32];
    let sip = [6u8; 32];
    let mut sealer = FrameSealer::new(&key, &sip);
    let payloads: Vec<&[u8]> = rest.split(|b| *b == 0xff).collect();
    let mut wire = Vec::new();
    for p in &payloads {
        sealer.seal(p, &mut wire).expect("short payload seals");
    }
    let mut opener = FrameOpener::new(&key, &sip);
    let mut got = Vec::new();
    for c in wire.chunks(usize::from(chunk).max(1)) {
        let mut input = c;
        while let Some(r) = opener.push(&mut input) {
            got.push(r.expect("own frames open"));
        }
    }
    assert_eq!(got.len(), payloads.len());
    for (g, p) in got.iter().zip(&payloads) {
        assert_eq!(g.as_slice(), *p);
    }

    // Raw bytes to a fresh opener: errors, never panics.
    let mut opener = FrameOpener::new(&key, &sip);
    let mut input = data;
    while let Some(r) = opener.push(&mut input) {
        if r.is_err() {
            break;
        }
    }
});
