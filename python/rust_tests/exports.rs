//! The extension module was built beside this test (`cargo test --workspace` builds the
//! cdylib because this test depends on the crate) and exports the entry point CPython calls
//! on `import quiver._quiver`. The module itself is tested from Python: python/tests.

#[test]
fn the_module_exports_its_init_function() {
    let exe = std::env::current_exe().expect("test path");
    // Built as this test's dependency, the module sits beside it: target/<profile>/deps/.
    let deps = exe.parent().expect("deps dir");
    let lib = deps.join("lib_quiver.so");
    let bytes = std::fs::read(&lib).unwrap_or_else(|e| panic!("{}: {e}", lib.display()));
    assert!(
        bytes.starts_with(b"\x7fELF"),
        "{} is not a shared library",
        lib.display()
    );
    let name = b"PyInit__quiver";
    assert!(
        bytes.windows(name.len()).any(|w| w == name),
        "{} does not export PyInit__quiver",
        lib.display()
    );
}
