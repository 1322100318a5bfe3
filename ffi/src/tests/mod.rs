//! Rust-side tests of the C functions: the generated header is current, results through the
//! C API equal the Rust API's, and misuse returns the documented codes.

mod parity;

use crate::*;
use std::path::PathBuf;

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The committed header equals what cbindgen generates now. `QUIVER_BLESS=1` rewrites it.
#[test]
fn header_is_up_to_date() {
    let dir = crate_dir();
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let bindings = cbindgen::Builder::new()
        .with_crate(&dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header");
    let mut generated = Vec::new();
    bindings.write(&mut generated);
    let generated = String::from_utf8(generated).expect("UTF-8 header");
    let path = dir.join("include/quiver.h");
    if std::env::var_os("QUIVER_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write header");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "ffi/include/quiver.h is stale: run `QUIVER_BLESS=1 cargo test -p quiver-ffi header` and commit it"
    );
}

#[test]
fn every_status_has_a_text_and_errors_map_to_codes() {
    for code in 0..=12 {
        // SAFETY: static NUL-terminated strings.
        let text = unsafe { std::ffi::CStr::from_ptr(quiver_errstr(code)) };
        assert!(!text.to_bytes().is_empty());
        assert_ne!(text.to_str().unwrap(), "unknown status code", "code {code}");
    }
    use crate::status::status_of;
    use engine::Error;
    let cases = [
        (
            Error::CollectionNotFound { name: "x".into() },
            quiver_status::QUIVER_NOT_FOUND,
        ),
        (
            Error::CollectionExists { name: "x".into() },
            quiver_status::QUIVER_EXISTS,
        ),
        (
            Error::DimensionMismatch {
                expected: 2,
                found: 3,
                position: None,
            },
            quiver_status::QUIVER_DIMENSION_MISMATCH,
        ),
        (
            Error::InvalidFilter {
                at: String::new(),
                reason: String::new(),
            },
            quiver_status::QUIVER_INVALID_ARGUMENT,
        ),
        (
            Error::Corrupted {
                detail: String::new(),
            },
            quiver_status::QUIVER_CORRUPTED,
        ),
        (
            Error::Locked {
                path: PathBuf::new(),
                holder: engine::LockHolder::Writer,
            },
            quiver_status::QUIVER_LOCKED,
        ),
        (
            Error::ReadOnly {
                path: PathBuf::new(),
            },
            quiver_status::QUIVER_READ_ONLY,
        ),
        (
            Error::UpgradeRequired {
                found: 0,
                supported: 1,
            },
            quiver_status::QUIVER_VERSION,
        ),
        (
            Error::Inference {
                detail: String::new(),
            },
            quiver_status::QUIVER_MODEL,
        ),
        (
            Error::Internal {
                detail: String::new(),
            },
            quiver_status::QUIVER_INTERNAL,
        ),
    ];
    for (e, want) in cases {
        assert_eq!(status_of(&e), want, "{e}");
    }
}

#[test]
fn panics_become_internal_errors() {
    let code = crate::status::guard(|| panic!("boom"));
    assert_eq!(code, quiver_status::QUIVER_INTERNAL as i32);
    // SAFETY: thread-local C string.
    let msg = unsafe { std::ffi::CStr::from_ptr(quiver_errmsg()) };
    assert!(msg.to_str().unwrap().contains("boom"));
}
