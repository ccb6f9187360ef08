//! The storage scenario tests: the library on the real and in-memory file systems, with faults, crashes, corruption and concurrency. One module per scenario.

#[path = "../support/mod.rs"]
mod support;

mod append_read_roundtrip;
mod bad_input_boundaries;
mod bitflip_detection;
mod catalog_sources;
mod concurrency_stress;
mod concurrent_append_read;
mod corruption_sweep;
mod crash_model;
mod dedup_window;
mod disk_full;
mod durability_modes_power_loss;
mod event_batch;
mod fault_injection_loop;
mod format_upgrade;
mod fuzz_corpus_replay;
mod group_commit;
mod index_rebuild;
mod json_intake_errors;
mod json_round_trip;
mod key_rotation_concurrent;
mod lifecycle_erasure;
mod lifecycle_kill;
mod lifecycle_retention;
mod naming_policy;
mod process_kill;
mod query_cost;
mod query_cursor_concurrent;
mod query_model;
mod read_only_open;
mod recovery_torn_tail;
mod rules_pipeline;
mod store_locking;
mod tail_consumer;
mod write_failure;
