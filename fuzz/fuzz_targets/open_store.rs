//! Fuzz target `open_store`: see `firstlog_fuzz::open_store` (fuzz/src/lib.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| firstlog_fuzz::open_store(data));
