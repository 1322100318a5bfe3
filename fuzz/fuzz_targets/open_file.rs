#![no_main]
// Never panics, never UB: see quiver_fuzz::open_file.
libfuzzer_sys::fuzz_target!(|data: &[u8]| quiver_fuzz::open_file(data));
