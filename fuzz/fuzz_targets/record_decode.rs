//! Fuzz target `record_decode`: see `firstlog_fuzz::record_decode` (fuzz/src/lib.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| firstlog_fuzz::record_decode(data));
