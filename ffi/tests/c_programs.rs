//! Compiles the C programs (ffi/tests/c/*.c and the example) with the system C compiler
//! against the freshly built libquiver_ffi.so and runs them. With QUIVER_VALGRIND=1 (CI), each
//! runs under valgrind memcheck: any invalid access or definite/indirect leak fails.

use std::path::{Path, PathBuf};
use std::process::Command;

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where cargo put libquiver_ffi.so: beside this test in target/<profile>/deps/ (built there
/// with the rlib this test links), or uplifted to target/<profile>/ by `cargo build`.
fn library_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let deps = exe.parent().expect("target/<profile>/deps").to_path_buf();
    [Some(deps.clone()), deps.parent().map(Path::to_path_buf)]
        .into_iter()
        .flatten()
        .find(|d| d.join("libquiver_ffi.so").exists())
        .unwrap_or_else(|| panic!("libquiver_ffi.so not found near {}", deps.display()))
}

fn compile(source: &Path, out: &Path) {
    let lib = library_dir();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&cc)
        .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-g"])
        .arg(format!("-I{}", crate_dir().join("include").display()))
        .arg(format!("-I{}", crate_dir().join("tests/c").display()))
        .arg(source)
        .arg("-o")
        .arg(out)
        .arg(format!("-L{}", lib.display()))
        .arg("-lquiver_ffi")
        .arg("-lm")
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .status()
        .unwrap_or_else(|e| panic!("run {cc}: {e}"));
    assert!(status.success(), "{cc} failed on {}", source.display());
}

fn run(program: &Path, arg: &Path) -> String {
    run_with(program, &[arg.as_os_str()])
}

fn run_with(program: &Path, args: &[&std::ffi::OsStr]) -> String {
    let valgrind = std::env::var_os("QUIVER_VALGRIND").is_some_and(|v| v == "1");
    let mut cmd = if valgrind {
        let mut c = Command::new("valgrind");
        c.args([
            "--quiet",
            "--error-exitcode=99",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect",
            "--show-leak-kinds=definite,indirect",
        ]);
        c.arg(program);
        c
    } else {
        Command::new(program)
    };
    let out = cmd.args(args).output().expect("run the C program");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{} failed ({:?}):\n{stdout}\n{}",
        program.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn compile_and_run(source: &Path) -> String {
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join("program");
    compile(source, &program);
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    run(&program, &data)
}

#[test]
fn smoke_test_of_every_function() {
    let out = compile_and_run(&crate_dir().join("tests/c/smoke.c"));
    assert!(out.contains("smoke: ok"));
}

#[test]
fn full_text_functions() {
    let out = compile_and_run(&crate_dir().join("tests/c/fulltext.c"));
    assert!(out.contains("fulltext: ok"));
}

#[test]
fn negative_suite() {
    let out = compile_and_run(&crate_dir().join("tests/c/negative.c"));
    assert!(out.contains("negative: ok"));
}

#[test]
fn quickstart_example() {
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join("quickstart");
    compile(&crate_dir().join("examples/quickstart.c"), &program);
    let out = run(&program, &dir.path().join("docs.qvr"));
    assert_eq!(out.trim(), r#"a 0.9939 {"title":"east"}"#);
}

/// Text collections with the real model (scripts/fetch_model.sh; CI sets QUIVER_MODEL_DIR and
/// the `model-tests` feature). Not under valgrind: inference there takes minutes.
#[cfg(feature = "model-tests")]
#[test]
fn text_collections_with_the_real_model() {
    let model = std::env::var_os("QUIVER_MODEL_DIR").expect("QUIVER_MODEL_DIR");
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join("text");
    compile(&crate_dir().join("tests/c/text.c"), &program);
    let out = Command::new(&program)
        .arg(dir.path())
        .arg(&model)
        .arg(crate_dir().join("../tests/fixtures/colbert_reference/projection.safetensors"))
        .output()
        .expect("run text");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("text: ok"));
}

/// Re-ranking with the random cross-encoder fixture (tests/fixtures/cross_encoder_reference).
/// Not under valgrind: tokenizer loading and inference there take long.
#[cfg(feature = "embed")]
#[test]
fn rerank_functions() {
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join("rerank");
    compile(&crate_dir().join("tests/c/rerank.c"), &program);
    let out = Command::new(&program)
        .arg(dir.path())
        .arg(crate_dir().join("../tests/fixtures/cross_encoder_reference/tiny"))
        .output()
        .expect("run rerank");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("rerank: ok"),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
