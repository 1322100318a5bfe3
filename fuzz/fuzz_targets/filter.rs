#![no_main]
// Never panics, never UB: see quiver_fuzz::filter.
libfuzzer_sys::fuzz_target!(|data: &[u8]| quiver_fuzz::filter(data));
