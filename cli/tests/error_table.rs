//! Walks the command-line table of `docs/errors.md`: every row is a case here, every case a
//! row; each refusal exits with status 1 and prints one `quiver: error:` line holding the
//! table's text.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

fn quiver(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_quiver"))
        .args(args)
        .output()
        .expect("run quiver")
}

fn ok(args: &[&str]) {
    let out = quiver(args);
    assert!(
        out.status.success(),
        "quiver {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The CLI rows of the table: case → text the error line must contain.
fn table() -> BTreeMap<String, String> {
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/errors.md");
    let text = std::fs::read_to_string(doc).expect("docs/errors.md");
    let cli = text.split("## Command line").nth(1).expect("a CLI section");
    cli.lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let want = cells[4].strip_prefix('`').and_then(|c| c.strip_suffix('`'));
            (
                cells[1].trim_matches('`').to_owned(),
                want.expect("a quoted message").to_owned(),
            )
        })
        .collect()
}

/// Runs one case in `dir` (which holds `t.qvr` with a 4-d collection `v`) and returns its
/// output.
fn run(case: &str, dir: &Path) -> Output {
    let db = dir.join("t.qvr");
    let db = db.to_str().unwrap();
    let lines = |text: &str| {
        let path = dir.join("rows.jsonl");
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    match case {
        "cli-metric" => quiver(&["create", db, "x", "--dim", "4", "--metric", "manhattan"]),
        "cli-dtype" => quiver(&["create", db, "x", "--dim", "4", "--dtype", "f8"]),
        "cli-json-line" => {
            let file = lines("{\"id\":\"a\",\"vector\":[1,0,0,0]}\n{\"id\":\n");
            quiver(&["import", db, "v", &file])
        }
        "cli-two-kinds" => {
            let file = lines("{\"id\":\"a\",\"vector\":[1,0,0,0],\"text\":\"hi\"}\n");
            quiver(&["import", db, "v", &file])
        }
        "cli-id-type" => {
            let file = lines("{\"id\":[1],\"vector\":[1,0,0,0]}\n");
            quiver(&["import", db, "v", &file])
        }
        "cli-bad-record" => {
            let file = lines(concat!(
                "{\"id\":\"a\",\"vector\":[1,0,0,0]}\n",
                "{\"id\":\"b\",\"vector\":[0,1,0,0]}\n",
                "{\"id\":\"c\",\"vector\":[1,2,3]}\n"
            ));
            quiver(&["import", db, "v", &file])
        }
        "cli-text-no-model" => {
            let file = lines("{\"id\":\"a\",\"text\":\"hello\"}\n");
            quiver(&["import", db, "v", &file])
        }
        "cli-no-query" => quiver(&["search", db, "v"]),
        "cli-query-json" => quiver(&["search", db, "v", "--vector", "[1, 2"]),
        "cli-filter" => quiver(&[
            "search",
            db,
            "v",
            "--vector",
            "[1,0,0,0]",
            "--filter",
            r#"{"a": {"$near": 1}}"#,
        ]),
        "cli-missing-db" => {
            let missing = dir.join("missing.qvr");
            quiver(&[
                "search",
                missing.to_str().unwrap(),
                "v",
                "--vector",
                "[1,0,0,0]",
            ])
        }
        "cli-missing-collection" => quiver(&["search", db, "nope", "--vector", "[1,0,0,0]"]),
        other => panic!("row `{other}` has no case"),
    }
}

const CASES: &[&str] = &[
    "cli-metric",
    "cli-dtype",
    "cli-json-line",
    "cli-two-kinds",
    "cli-id-type",
    "cli-bad-record",
    "cli-text-no-model",
    "cli-no-query",
    "cli-query-json",
    "cli-filter",
    "cli-missing-db",
    "cli-missing-collection",
];

#[test]
fn every_command_line_row_of_the_error_table_is_checked() {
    let table = table();
    for case in CASES {
        assert!(table.contains_key(*case), "case `{case}` has no row");
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.qvr");
    ok(&["create", db.to_str().unwrap(), "v", "--dim", "4"]);
    let mut wrong = Vec::new();
    for (case, want) in &table {
        let out = run(case, dir.path());
        let err = String::from_utf8_lossy(&out.stderr);
        let one_line = err.starts_with("quiver: error:") && err.trim_end().lines().count() == 1;
        if out.status.code() != Some(1) || !one_line || !err.contains(want.as_str()) {
            wrong.push(format!(
                "{case}: expected status 1 and one error line containing {want:?}, got {:?}: {err}",
                out.status.code()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // Refused imports wrote nothing.
    let info = quiver(&["info", db.to_str().unwrap(), "--json"]);
    let info: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    assert_eq!(info["collections"][0]["count"], 0);
}
