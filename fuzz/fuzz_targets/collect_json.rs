//! Fuzz target `collect_json`: see `firstlog_fuzz::collect_json` (fuzz/src/lib.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| firstlog_fuzz::collect_json(data));
