#![no_main]
// Never panics: see quiver_fuzz::mining_input.
libfuzzer_sys::fuzz_target!(|data: &[u8]| quiver_fuzz::mining_input(data));
