#![no_main]
// Never panics, never UB: see quiver_fuzz::decode_records.
libfuzzer_sys::fuzz_target!(|data: &[u8]| quiver_fuzz::decode_records(data));
