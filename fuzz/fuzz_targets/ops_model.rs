//! Fuzz target `ops_model`: see `firstlog_fuzz::ops_model` (fuzz/src/lib.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| firstlog_fuzz::ops_model(data));
