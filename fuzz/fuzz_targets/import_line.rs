#![no_main]
// Never panics, never UB: see quiver_fuzz::import_line.
libfuzzer_sys::fuzz_target!(|data: &[u8]| quiver_fuzz::import_line(data));
