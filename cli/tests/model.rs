//! The `quiver` command with the built-in model: create --model, text import, --text search,
//! embed. Needs the model (`scripts/fetch_model.sh`) and `QUIVER_MODEL_DIR`; CI runs it:
//!   QUIVER_MODEL_DIR=$(scripts/fetch_model.sh) cargo test -p quiver-cli --features model-tests --test model

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn model() -> String {
    std::env::var("QUIVER_MODEL_DIR").expect("set QUIVER_MODEL_DIR (scripts/fetch_model.sh)")
}

fn quiver(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_quiver"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run quiver");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = quiver(args, None);
    assert!(
        out.status.success(),
        "quiver {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn text_collections_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.qvr");
    let data = dir.path().join("notes.jsonl");
    std::fs::write(
        &data,
        concat!(
            "{\"id\":\"cat\",\"text\":\"The cat sat on the mat.\",\"payload\":{\"k\":1}}\n",
            "{\"id\":\"market\",\"text\":\"Stock markets fell sharply today.\"}\n",
            "{\"id\":\"rust\",\"text\":\"Rust is a systems programming language.\"}\n",
        ),
    )
    .unwrap();
    let model = model();
    ok(&["create", s(&db), "notes", "--model", &model]);
    ok(&["import", s(&db), "notes", s(&data)]);
    let out = ok(&[
        "search",
        s(&db),
        "notes",
        "--text",
        "a kitten on a rug",
        "-k",
        "1",
        "--json",
    ]);
    let line: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(line["hits"][0]["id"], "cat");
    assert_eq!(line["hits"][0]["text"], "The cat sat on the mat.");
    let got = ok(&["get", s(&db), "notes", "market"]);
    assert!(got.contains("Stock markets fell sharply today."), "{got}");
    let info = ok(&["info", s(&db), "--json"]);
    assert!(info.contains("53aa51172d14"), "{info}");

    // `embed` writes one vector per input line, in order, equal to the stored vectors.
    let out = quiver(
        &["embed", "--model", &model, "-"],
        Some("{\"text\":\"The cat sat on the mat.\"}\n\nRust is a systems programming language.\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    let stored: serde_json::Value =
        serde_json::from_str(ok(&["get", s(&db), "notes", "cat", "--vectors"]).trim()).unwrap();
    let (a, b) = (&lines[0]["vector"], &stored["vector"]);
    assert_eq!(a.as_array().unwrap().len(), 384);
    for (x, y) in a.as_array().unwrap().iter().zip(b.as_array().unwrap()) {
        assert!((x.as_f64().unwrap() - y.as_f64().unwrap()).abs() < 1e-5);
    }

    // Errors: blank query text, text into a collection without a model, bad model folder.
    let out = quiver(&["search", s(&db), "notes", "--text", "  "], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("the query has an invalid text"));
    ok(&["create", s(&db), "plain", "--dim", "384"]);
    let out = quiver(&["import", s(&db), "plain", s(&data)], None);
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no model"));
    let out = quiver(&["create", s(&db), "x", "--model", s(dir.path())], None);
    assert!(String::from_utf8_lossy(&out.stderr).contains("config.json is missing"));
}

#[test]
fn multi_vector_text_collections_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.qvr");
    let data = dir.path().join("notes.jsonl");
    std::fs::write(
        &data,
        concat!(
            "{\"id\":\"cat\",\"text\":\"The cat sat on the mat.\"}\n",
            "{\"id\":\"market\",\"text\":\"Stock markets fell sharply today.\"}\n",
            "{\"id\":\"rust\",\"text\":\"Rust is a systems programming language.\"}\n",
        ),
    )
    .unwrap();
    let model = model();
    let head = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/colbert_reference/projection.safetensors");
    // MiniLM's own token outputs, and ColBERT (MiniLM trunk + the fixture's head).
    ok(&[
        "create",
        s(&db),
        "tokens",
        "--multi-vector",
        "--model",
        &model,
    ]);
    ok(&[
        "create",
        s(&db),
        "colbert",
        "--multi-vector",
        "--model",
        &model,
        "--colbert",
        "--projection",
        s(&head),
        "--attend-expansion",
        "false",
    ]);
    let info = ok(&["info", s(&db), "--json"]);
    assert!(info.contains("\"attend_to_expansion\":false"), "{info}");
    assert!(info.contains("\"multi_vector\":true"), "{info}");
    for collection in ["tokens", "colbert"] {
        ok(&["import", s(&db), collection, s(&data)]);
        let out = ok(&[
            "search",
            s(&db),
            collection,
            "--text",
            "which language is for systems programming",
            "-k",
            "3",
            "--json",
        ]);
        let line: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(line["hits"].as_array().unwrap().len(), 3, "{collection}");
        if collection == "tokens" {
            // Real trained token vectors find the right record (the ColBERT head is random).
            assert_eq!(line["hits"][0]["id"], "rust", "{out}");
        }
        assert!(line["hits"][0]["text"].is_string(), "{out}");
    }
    // A ColBERT folder without a head is refused, saying how to give one.
    let out = quiver(
        &[
            "create",
            s(&db),
            "nohead",
            "--multi-vector",
            "--model",
            &model,
            "--colbert",
        ],
        None,
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no ColBERT projection head"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
