#![no_main]
// Never panics, never UB: see quiver_fuzz::c_api.
libfuzzer_sys::fuzz_target!(|data: &[u8]| quiver_fuzz::c_api(data));
