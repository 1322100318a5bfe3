//! The `quiver` command end to end: what a script would do.

use std::path::Path;
use std::process::{Command, Output};

fn quiver(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_quiver"))
        .args(args)
        .output()
        .expect("run quiver")
}

fn ok(args: &[&str]) -> String {
    let out = quiver(args);
    assert!(
        out.status.success(),
        "quiver {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn create_import_search_get_delete_info_drop() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cli.qvr");
    let data = dir.path().join("data.jsonl");
    let mut lines = String::new();
    for i in 0..250 {
        let v = [i as f32, (i % 7) as f32, 1.0];
        lines.push_str(&format!(
            "{{\"id\":\"d{i}\",\"vector\":{v:?},\"payload\":{{\"n\":{i}}}}}\n"
        ));
    }
    std::fs::write(&data, lines).unwrap();
    ok(&["create", s(&db), "docs", "--dim", "3", "--metric", "l2"]);
    ok(&["import", s(&db), "docs", s(&data), "--batch", "100"]);
    let out = ok(&[
        "search",
        s(&db),
        "docs",
        "--vector",
        "[10, 3, 1]",
        "-k",
        "2",
        "--json",
    ]);
    let line: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(line["query"], 0);
    assert_eq!(line["hits"][0]["id"], "d10");
    assert_eq!(line["hits"][0]["payload"]["n"], 10);
    assert_eq!(line["hits"].as_array().unwrap().len(), 2);
    // The Matryoshka funnel: candidates on the first component, full scores after.
    let funnel = ok(&[
        "search",
        s(&db),
        "docs",
        "--vector",
        "[10, 3, 1]",
        "-k",
        "2",
        "--json",
        "--dims",
        "1",
    ]);
    let line: serde_json::Value = serde_json::from_str(funnel.trim()).unwrap();
    assert_eq!(line["hits"][0]["id"], "d10");
    assert_eq!(line["hits"][0]["score"], 0.0);
    let out = quiver(&[
        "search",
        s(&db),
        "docs",
        "--vector",
        "[10, 3, 1]",
        "--dims",
        "4",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("dims"));

    let queries = dir.path().join("q.jsonl");
    std::fs::write(&queries, "[0,0,1]\n{\"vector\":[249,4,1]}\n").unwrap();
    let out = ok(&[
        "search",
        s(&db),
        "docs",
        "--queries",
        s(&queries),
        "-k",
        "1",
        "--json",
    ]);
    let ids: Vec<String> = out
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["hits"][0]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(ids, vec!["d0", "d249"]);

    let out = ok(&["search", s(&db), "docs", "--like", "d5", "-k", "1"]);
    assert!(out.contains("d5"), "{out}");
    let out = ok(&["get", s(&db), "docs", "d3", "--vectors"]);
    assert!(out.contains("\"vector\":[3.0,3.0,1.0]"), "{out}");
    ok(&["delete", s(&db), "docs", "d3", "d4"]);
    assert!(!quiver(&["get", s(&db), "docs", "d3"]).status.success());
    let info: serde_json::Value =
        serde_json::from_str(ok(&["info", s(&db), "--json"]).trim()).unwrap();
    assert_eq!(info["collections"][0]["count"], 248);
    assert!(ok(&["check", s(&db)]).contains("docs: ok (248 records)"));
    ok(&["drop", s(&db), "docs"]);
    assert!(ok(&["info", s(&db)]).contains("0 collection(s)"));
}

#[test]
fn imports_npy_and_fvecs_with_ids() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.qvr");
    // A 3 x 2 float32 array in Fortran order, as GloVe's .npy is.
    let mut header = "{'descr': '<f4', 'fortran_order': True, 'shape': (3, 2), }".to_owned();
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut npy = b"\x93NUMPY\x01\x00".to_vec();
    npy.extend_from_slice(&(header.len() as u16).to_le_bytes());
    npy.extend_from_slice(header.as_bytes());
    for v in [1.0f32, 2.0, 3.0, 10.0, 20.0, 30.0] {
        npy.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(dir.path().join("m.npy"), npy).unwrap();
    std::fs::write(dir.path().join("words.txt"), "one\ntwo\nthree\n").unwrap();
    ok(&[
        "create",
        s(&db),
        "m",
        "--dim",
        "2",
        "--metric",
        "l2",
        "--dtype",
        "f16",
    ]);
    let npy_path = dir.path().join("m.npy");
    let words = dir.path().join("words.txt");
    ok(&["import", s(&db), "m", s(&npy_path), "--ids", s(&words)]);
    assert!(ok(&["get", s(&db), "m", "two", "--vectors"]).contains("[2.0,20.0]"));

    let mut fvecs = Vec::new();
    for row in [[5.0f32, 6.0], [7.0, 8.0]] {
        fvecs.extend_from_slice(&2i32.to_le_bytes());
        row.iter()
            .for_each(|v| fvecs.extend_from_slice(&v.to_le_bytes()));
    }
    let fpath = dir.path().join("x.fvecs");
    std::fs::write(&fpath, fvecs).unwrap();
    ok(&["create", s(&db), "f", "--dim", "2", "--metric", "dot"]);
    ok(&["import", s(&db), "f", s(&fpath)]);
    assert!(ok(&["get", s(&db), "f", "1", "--vectors"]).contains("[7.0,8.0]"));
}

#[test]
fn errors_are_one_line_and_nonzero() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.qvr");
    let missing = quiver(&["info", s(&db)]);
    assert_eq!(missing.status.code(), Some(1));
    let err = String::from_utf8(missing.stderr).unwrap();
    assert!(
        err.starts_with("quiver: error: database file not found"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);

    ok(&["create", s(&db), "c", "--dim", "2"]);
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"id\":\"a\",\"vector\":[1,2]}\n{\"id\":\"b\",\"vector\":[1,2,3]}\n",
    )
    .unwrap();
    let out = quiver(&["import", s(&db), "c", s(&bad)]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("bad.jsonl:2") && err.contains("3 dimensions"),
        "{err}"
    );
    // The failed batch left nothing behind.
    let info: serde_json::Value =
        serde_json::from_str(ok(&["info", s(&db), "--json"]).trim()).unwrap();
    assert_eq!(info["collections"][0]["count"], 0);
    assert!(
        !quiver(&["create", s(&db), "c", "--dim", "2", "--metric", "manhattan"])
            .status
            .success()
    );
    assert!(
        !quiver(&["search", s(&db), "nope", "--vector", "[1,2]"])
            .status
            .success()
    );
    assert!(
        !quiver(&["search", s(&db), "c", "--vector", "[1,2]", "-k", "0"])
            .status
            .success()
    );
}

#[test]
fn invalid_utf8_input_is_reported_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("u.qvr");
    let data = dir.path().join("bad.jsonl");
    let mut bytes =
        b"{\"id\":\"a\",\"vector\":[1,0]}\n{\"id\":\"b\xff\",\"vector\":[0,1]}\n".to_vec();
    bytes.extend_from_slice(b"{\"id\":\"c\",\"vector\":[1,1]}\n");
    std::fs::write(&data, bytes).unwrap();
    ok(&["create", s(&db), "v", "--dim", "2"]);
    let out = quiver(&["import", s(&db), "v", s(&data)]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.jsonl:2") && err.contains("UTF-8"),
        "{err}"
    );
}

#[test]
fn filters_on_search_count_get_delete_and_payload_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("f.qvr");
    let data = dir.path().join("data.jsonl");
    let mut lines = String::new();
    for i in 0..100 {
        let tag = ["a", "b", "c"][i % 3];
        lines.push_str(&format!(
            "{{\"id\":\"d{i}\",\"vector\":[{i}, 1],\"payload\":{{\"year\":{},\"tag\":\"{tag}\"}}}}\n",
            2000 + i % 25
        ));
    }
    std::fs::write(&data, lines).unwrap();
    ok(&["create", s(&db), "docs", "--dim", "2", "--metric", "l2"]);
    ok(&["import", s(&db), "docs", s(&data)]);
    ok(&["payload-index", s(&db), "docs", "year", "--kind", "integer"]);
    assert!(ok(&["info", s(&db)]).contains("integer year"));
    // A 4-bit (fast-scan) IVF-PQ index; every cell probed with every row re-ranked is exact.
    let built = quiver(&["index", s(&db), "docs", "--nlist", "4", "--bits", "4"]);
    assert!(built.status.success());
    assert!(String::from_utf8_lossy(&built.stderr).contains("IVF-PQ nlist 4 m 2 (4-bit codes)"));
    let exhaustive = ok(&[
        "search",
        s(&db),
        "docs",
        "--vector",
        "[7, 1]",
        "--k",
        "5",
        "--nprobe",
        "4",
        "--refine",
        "20",
    ]);
    let exact = ok(&[
        "search",
        s(&db),
        "docs",
        "--vector",
        "[7, 1]",
        "--k",
        "5",
        "--exact",
    ]);
    assert_eq!(exhaustive, exact);
    let refused = quiver(&["index", s(&db), "docs", "--bits", "6"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("4 or 8 bits"));
    ok(&["index", s(&db), "docs", "--drop"]);
    let filter = r#"{"year":{"$gte":2020},"tag":{"$ne":"a"}}"#;
    let out = ok(&[
        "search",
        s(&db),
        "docs",
        "--vector",
        "[0, 1]",
        "-k",
        "3",
        "--json",
        "--filter",
        filter,
    ]);
    let line: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let ids: Vec<&str> = line["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap())
        .collect();
    // year >= 2020 means i % 25 >= 20; tag != a means i % 3 != 0.
    assert_eq!(ids, ["d20", "d22", "d23"]);
    let matching = (0..100).filter(|i| i % 25 >= 20 && i % 3 != 0).count();
    assert_eq!(
        ok(&["count", s(&db), "docs", "--filter", filter]).trim(),
        matching.to_string()
    );
    let got = ok(&["get", s(&db), "docs", "--filter", filter, "--limit", "2"]);
    assert_eq!(got.lines().count(), 2);
    assert!(got.starts_with(r#"{"id":"d20""#), "{got}");
    ok(&["delete", s(&db), "docs", "--filter", filter]);
    assert_eq!(
        ok(&["count", s(&db), "docs"]).trim(),
        (100 - matching).to_string()
    );
    ok(&["compact", s(&db)]);
    ok(&["check", s(&db)]);
    // `upgrade` of a current file writes nothing and says so.
    let copy = dir.path().join("copy.qvr");
    let out = quiver(&["upgrade", s(&db), s(&copy)]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already in the current format"));
    assert!(!copy.exists());
    // A bad filter: a one-line error naming the offending part, nothing changed.
    let out = quiver(&[
        "count",
        s(&db),
        "docs",
        "--filter",
        r#"{"$or":[{"year":{"$near":1}}]}"#,
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("$or[0].year.$near"), "{err}");
    let out = quiver(&["payload-index", s(&db), "docs", "tag", "--kind", "integer"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("indexed as integer"));
}

#[test]
fn multi_vector_create_import_index_search() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("mv.qvr");
    ok(&["create", s(&db), "mv", "--multi-vector", "--dim", "3"]);
    let data = dir.path().join("tokens.jsonl");
    let mut lines = String::new();
    for i in 0..40 {
        let a = (i % 7) as f32;
        lines.push_str(&format!(
            "{{\"id\":\"m{i}\",\"vectors\":[[{a},1,0],[0,{a},1]],\"payload\":{{\"g\":{}}}}}\n",
            i % 2
        ));
    }
    std::fs::write(&data, lines).unwrap();
    ok(&["import", s(&db), "mv", s(&data)]);
    assert!(ok(&["count", s(&db), "mv"]).contains("40"));
    let queries = dir.path().join("q.jsonl");
    std::fs::write(&queries, "[[6,1,0]]\n{\"vectors\":[[0,0,1],[1,0,0]]}\n").unwrap();
    let exact = ok(&[
        "search",
        s(&db),
        "mv",
        "--vectors",
        s(&queries),
        "-k",
        "3",
        "--json",
    ]);
    assert_eq!(exact.lines().count(), 2);
    ok(&["index", s(&db), "mv", "--centroids", "4"]);
    let indexed = ok(&[
        "search",
        s(&db),
        "mv",
        "--vectors",
        s(&queries),
        "-k",
        "3",
        "--json",
        "--nprobe",
        "4",
        "--candidates",
        "1000",
    ]);
    assert_eq!(
        exact, indexed,
        "exhaustive index search equals exact search"
    );
    let filtered = ok(&[
        "search",
        s(&db),
        "mv",
        "--vectors",
        s(&queries),
        "-k",
        "3",
        "--json",
        "--filter",
        r#"{"g":1}"#,
    ]);
    assert!(filtered.lines().all(|l| !l.contains(r#""g":0"#)));
    ok(&["check", s(&db)]);
    // --queries reads matrices on a multi-vector collection, as --vectors does.
    let by_queries = ok(&[
        "search",
        s(&db),
        "mv",
        "--queries",
        s(&queries),
        "-k",
        "3",
        "--json",
        "--nprobe",
        "4",
        "--candidates",
        "1000",
    ]);
    assert_eq!(by_queries, indexed);
    // --like takes a stored record's matrix as the query: it finds itself first.
    let like = ok(&["search", s(&db), "mv", "--like", "m6", "-k", "1", "--exact"]);
    assert!(like.contains("m6"), "{like}");
    // A one-vector query on a multi-vector collection is a one-line error.
    let out = quiver(&["search", s(&db), "mv", "--vector", "[1,2,3]"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("multi-vector"));
}

#[test]
fn text_index_analyze_keywords_and_hybrid() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.qvr");
    let data = dir.path().join("data.jsonl");
    std::fs::write(
        &data,
        concat!(
            "{\"id\":\"a\",\"vector\":[1, 0],\"payload\":{\"title\":\"Supersonic flow over wings\",\"year\":1960}}\n",
            "{\"id\":\"b\",\"vector\":[0, 1],\"payload\":{\"title\":\"Heat transfer in plates\",\"year\":1962}}\n",
            "{\"id\":\"c\",\"vector\":[0.7, 0.7],\"payload\":{\"title\":\"Wing flutter\",\"year\":1970}}\n",
        ),
    )
    .unwrap();
    ok(&["create", s(&db), "docs", "--dim", "2"]);
    ok(&["import", s(&db), "docs", s(&data)]);
    let refused = quiver(&["search", s(&db), "docs", "--keywords", "wing"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("no full-text index"));
    ok(&["text-index", s(&db), "docs", "--field", "title"]);
    assert!(ok(&["info", s(&db)]).contains("full-text on title"));
    assert_eq!(
        ok(&["analyze", s(&db), "docs", "The heated Plates"]).trim(),
        "heat plate"
    );
    let out = ok(&["search", s(&db), "docs", "--keywords", "wings", "--json"]);
    let line: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(line["hits"].as_array().unwrap().len(), 2);
    let out = ok(&[
        "search",
        s(&db),
        "docs",
        "--vector",
        "[0, 1]",
        "--keywords",
        "wing",
        "--explain",
        "--json",
    ]);
    let line: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let first = &line["hits"][0];
    assert_eq!(first["id"], "c");
    assert_eq!(first["explain"]["dense"]["rank"], 2);
    assert_eq!(first["explain"]["keywords"]["rank"], 1);
    let out = ok(&[
        "search",
        s(&db),
        "docs",
        "--vector",
        "[0, 1]",
        "--keywords",
        "heat",
        "--fusion",
        "relative",
        "--weights",
        "0,1",
        "--json",
    ]);
    assert!(out.contains("\"id\":\"b\""));
    let bad = quiver(&[
        "search",
        s(&db),
        "docs",
        "--vector",
        "[0, 1]",
        "--keywords",
        "x",
        "--fusion",
        "max",
    ]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("use rrf, dbsf or relative"));
    ok(&["text-index", s(&db), "docs", "--drop"]);
    assert!(!ok(&["info", s(&db)]).contains("full-text"));
    ok(&["check", s(&db)]);
}

#[test]
fn rerank_texts_and_search_results_with_a_cross_encoder() {
    let model = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/cross_encoder_reference/tiny");
    let dir = tempfile::tempdir().unwrap();
    let texts = dir.path().join("texts.txt");
    std::fs::write(
        &texts,
        "wing flutter at supersonic speed\n\n{\"text\": \"heat transfer in plates\"}\nboundary layer\n",
    )
    .unwrap();
    let query = "flutter of wings";
    let out = ok(&["rerank", "--model", s(&model), "--query", query, s(&texts)]);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "blank lines are skipped");
    assert_eq!(lines[1]["index"], 1);
    assert_eq!(lines[1]["text"], "heat transfer in plates");
    let scores: Vec<f64> = lines.iter().map(|l| l["score"].as_f64().unwrap()).collect();
    assert!(
        scores.iter().all(|s| (0.0..=1.0).contains(s)),
        "sigmoid: {scores:?}"
    );

    // The same model re-ranks a vector search; the order follows the scores above.
    let db = dir.path().join("r.qvr");
    let data = dir.path().join("data.jsonl");
    std::fs::write(
        &data,
        concat!(
            "{\"id\":\"a\",\"vector\":[1, 0],\"payload\":{\"body\":\"wing flutter at supersonic speed\"}}\n",
            "{\"id\":\"b\",\"vector\":[0.9, 0.1],\"payload\":{\"body\":\"heat transfer in plates\"}}\n",
            "{\"id\":\"c\",\"vector\":[0.8, 0.2],\"payload\":{\"body\":\"boundary layer\"}}\n",
        ),
    )
    .unwrap();
    ok(&["create", s(&db), "docs", "--dim", "2"]);
    ok(&["import", s(&db), "docs", s(&data)]);
    let out = ok(&[
        "search",
        s(&db),
        "docs",
        "--vector",
        "[1, 0]",
        "-k",
        "3",
        "--json",
        "--rerank",
        s(&model),
        "--rerank-field",
        "body",
        "--rerank-query",
        query,
    ]);
    let line: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let hits = line["hits"].as_array().unwrap();
    let mut want: Vec<(f64, &str)> = scores.iter().copied().zip(["a", "b", "c"]).collect();
    want.sort_by(|x, y| y.0.total_cmp(&x.0));
    for (h, (score, id)) in hits.iter().zip(&want) {
        assert_eq!(h["id"], *id);
        assert!((h["score"].as_f64().unwrap() - score).abs() < 1e-5);
        assert_eq!(h["stages"][0]["stage"], "retrieve");
        assert_eq!(h["stages"][1]["stage"], "rerank");
    }
    // A pinned default serves --rerank-pinned and shows in info.
    ok(&["reranker", s(&db), "docs", "--pin", s(&model)]);
    assert!(ok(&["reranker", s(&db), "docs"]).contains("cross-encoder, 1 label, sigmoid"));
    assert!(ok(&["info", s(&db)]).contains("re-ranker tiny"));
    let out = ok(&[
        "search",
        s(&db),
        "docs",
        "--vector",
        "[1, 0]",
        "-k",
        "1",
        "--json",
        "--rerank-pinned",
        "--rerank-field",
        "body",
        "--rerank-query",
        query,
    ]);
    let line: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(line["hits"][0]["id"], want[0].1);
    ok(&["reranker", s(&db), "docs", "--unpin"]);
    let out = quiver(&[
        "search",
        s(&db),
        "docs",
        "--vector",
        "[1, 0]",
        "--rerank-pinned",
        "--rerank-field",
        "body",
        "--rerank-query",
        query,
    ]);
    assert!(!out.status.success(), "nothing pinned any more");
    // A vector query without --rerank-query has no text for the model.
    let out = quiver(&[
        "search",
        s(&db),
        "docs",
        "--vector",
        "[1, 0]",
        "--rerank",
        s(&model),
        "--rerank-field",
        "body",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("rerank"));
}

#[test]
fn read_commands_run_beside_an_import_and_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared.qvr");
    let data = dir.path().join("big.jsonl");
    let mut lines = String::new();
    for i in 0..30_000 {
        lines.push_str(&format!(
            "{{\"id\":\"r{i}\",\"vector\":[{}, {}, 1.0]}}\n",
            i % 101,
            i % 13
        ));
    }
    std::fs::write(&data, lines).unwrap();
    ok(&["create", s(&db), "docs", "--dim", "3", "--metric", "l2"]);
    // The import commits batch by batch; it holds the file open for writing all along.
    let mut import = Command::new(env!("CARGO_BIN_EXE_quiver"))
        .args(["import", s(&db), "docs", s(&data), "--batch", "50"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut seen = Vec::new();
    let mut overlapped = 0;
    for _ in 0..5 {
        // Three searches at once, and info and count, all beside the import.
        let searches: Vec<_> = (0..3)
            .map(|_| {
                Command::new(env!("CARGO_BIN_EXE_quiver"))
                    .args(["search", s(&db), "docs", "--vector", "[5, 5, 1]", "-k", "1"])
                    .output()
            })
            .collect();
        for out in searches {
            let out = out.unwrap();
            assert!(
                out.status.success(),
                "search beside an import: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        ok(&["info", s(&db)]);
        let n: u64 = ok(&["count", s(&db), "docs"]).trim().parse().unwrap();
        assert_eq!(n % 50, 0, "a count of whole batches only");
        seen.push(n);
        if import.try_wait().unwrap().is_none() {
            overlapped += 1;
        }
    }
    assert!(import.wait().unwrap().success());
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "counts {seen:?}");
    assert_eq!(ok(&["count", s(&db), "docs"]).trim(), "30000");
    eprintln!("{overlapped} of 5 rounds ran while the import did; counts {seen:?}");
    // With nothing holding the file, compact (which needs it to itself) goes through at once.
    ok(&["compact", s(&db), "--busy-timeout", "0"]);
    let out = quiver(&[
        "search",
        s(&db),
        "docs",
        "--vector",
        "[1, 1, 1]",
        "--busy-timeout",
        "-1",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn mine_hard_negatives_in_each_format_with_errors_by_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.qvr");
    let data = dir.path().join("data.jsonl");
    std::fs::write(
        &data,
        concat!(
            "{\"id\":\"a\",\"vector\":[1, 0],\"payload\":{\"title\":\"Supersonic flow over wings\"}}\n",
            "{\"id\":\"b\",\"vector\":[0, 1],\"payload\":{\"title\":\"Heat transfer in plates\"}}\n",
            "{\"id\":\"c\",\"vector\":[0.7, 0.7],\"payload\":{\"title\":\"Wing flutter\"}}\n",
            "{\"id\":\"d\",\"vector\":[0.9, 0.3],\"payload\":{\"title\":\"Wing flow\"}}\n",
        ),
    )
    .unwrap();
    ok(&["create", s(&db), "docs", "--dim", "2"]);
    ok(&["import", s(&db), "docs", s(&data)]);
    let pairs = dir.path().join("pairs.jsonl");
    std::fs::write(
        &pairs,
        "{\"query\": [1, 0.05], \"positive\": \"a\"}\n\n{\"query\": [0.1, 1], \"positive\": [\"b\"]}\n",
    )
    .unwrap();
    let rows = |extra: &[&str]| -> Vec<serde_json::Value> {
        let mut args = vec!["mine", s(&db), "docs", s(&pairs)];
        args.extend_from_slice(extra);
        ok(&args)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let triplets = rows(&["--negatives", "2"]);
    assert_eq!(triplets.len(), 4);
    assert_eq!(triplets[0]["positive"], "a");
    assert_eq!(
        triplets[0]["negative"], "d",
        "the nearest record not the positive"
    );
    let flag = rows(&["--negatives", "2", "--format", "flag", "--scores"]);
    assert_eq!(flag.len(), 2);
    assert_eq!(flag[0]["neg"], serde_json::json!(["d", "c"]));
    assert!(
        flag[0]["pos_scores"][0].as_f64().unwrap() > flag[0]["neg_scores"][0].as_f64().unwrap()
    );
    // TopK-PercPos at 95%: "d" (cosine 0.96 against the positive's 0.999) goes.
    let perc = rows(&[
        "--negatives",
        "1",
        "--relative-margin",
        "0.05",
        "--format",
        "ntuple",
    ]);
    assert_eq!(perc[0]["negative_1"], "c");
    let out_file = dir.path().join("rows.jsonl");
    ok(&[
        "mine",
        s(&db),
        "docs",
        s(&pairs),
        "--format",
        "pairs",
        "--out",
        s(&out_file),
    ]);
    assert_eq!(
        std::fs::read_to_string(&out_file).unwrap().lines().count(),
        8
    );
    ok(&["text-index", s(&db), "docs", "--field", "title"]);
    let bm25 = dir.path().join("bm25.jsonl");
    std::fs::write(&bm25, "{\"query\": \"wing flow\", \"positive\": \"d\"}\n").unwrap();
    let out = ok(&[
        "mine",
        s(&db),
        "docs",
        s(&bm25),
        "--teacher",
        "bm25",
        "--negatives",
        "5",
    ]);
    assert_eq!(out.lines().count(), 2, "a and c hold a term, b none: {out}");
    // Errors name the file and line.
    std::fs::write(
        &pairs,
        "{\"query\": [1, 0], \"positive\": \"a\"}\n{\"query\": [1, 0], \"positive\": \"zz\"}\n",
    )
    .unwrap();
    let bad = quiver(&["mine", s(&db), "docs", s(&pairs)]);
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("pairs.jsonl:2") && err.contains("'zz' is not in the collection"),
        "{err}"
    );
    std::fs::write(&pairs, "{\"query\": [1, 0]}\n").unwrap();
    let bad = quiver(&["mine", s(&db), "docs", s(&pairs)]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("pairs.jsonl:1: no \"positive\""));
    let bad = quiver(&["mine", s(&db), "docs", s(&bm25), "--sample", "best"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("top or random"));
}

#[test]
fn cluster_outliers_map_and_pack_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.qvr");
    let data = dir.path().join("data.jsonl");
    let mut lines = String::new();
    for i in 0..30 {
        let (x, y, kind) = match i % 2 {
            0 => (1.0 + 0.01 * i as f32, 0.0, "even"),
            _ => (0.0, 1.0 + 0.01 * i as f32, "odd"),
        };
        lines += &format!(
            "{{\"id\":\"r{i}\",\"vector\":[{x}, {y}, 0.1],\"payload\":{{\"kind\":\"{kind}\",\"title\":\"t{i}\"}}}}\n"
        );
    }
    lines += "{\"id\":\"odd-one\",\"vector\":[-1, -1, 5]}\n";
    std::fs::write(&data, lines).unwrap();
    ok(&["create", s(&db), "c", "--dim", "3", "--metric", "l2"]);
    ok(&["import", s(&db), "c", s(&data)]);

    // Clusters as JSONL, then into payloads (filterable with --filter).
    let rows: Vec<serde_json::Value> = ok(&["cluster", s(&db), "c", "--k", "3", "--seed", "1"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 31);
    let cluster_of = |id: &str| rows.iter().find(|r| r["id"] == id).unwrap()["cluster"].clone();
    assert_eq!(cluster_of("r0"), cluster_of("r28"));
    assert_ne!(cluster_of("r0"), cluster_of("r1"));
    ok(&[
        "cluster",
        s(&db),
        "c",
        "--k",
        "3",
        "--seed",
        "1",
        "--into-payload",
        "group",
    ]);
    let got: serde_json::Value = serde_json::from_str(&ok(&["get", s(&db), "c", "r1"])).unwrap();
    assert_eq!(got["payload"]["group"], cluster_of("r1"));
    assert_eq!(got["payload"]["kind"], "odd");
    let wrong = quiver(&["cluster", s(&db), "c", "--k", "99"]);
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("k"));

    // The planted outlier first; a vector scored without being stored.
    let top = ok(&[
        "outliers",
        s(&db),
        "c",
        "--top",
        "1",
        "--neighbours",
        "3",
        "--exact",
    ]);
    let first: serde_json::Value = serde_json::from_str(top.trim()).unwrap();
    assert_eq!(first["id"], "odd-one");
    let one: serde_json::Value = serde_json::from_str(
        ok(&[
            "outliers",
            s(&db),
            "c",
            "--vector",
            "[9, 9, 9]",
            "--neighbours",
            "3",
        ])
        .trim(),
    )
    .unwrap();
    assert!(one["neighbour_distance"].as_f64().unwrap() > 5.0);
    assert_eq!(ok(&["count", s(&db), "c"]).trim(), "31");

    // The map as PNG and SVG, and as coordinates.
    for name in ["map.png", "map.svg"] {
        let out = dir.path().join(name);
        ok(&[
            "map",
            s(&db),
            "c",
            "--out",
            s(&out),
            "--color-by",
            "kind",
            "--highlight",
            "outliers",
            "--outlier-share",
            "0.05",
        ]);
        let bytes = std::fs::read(&out).unwrap();
        assert!(bytes.len() > 1000, "{name}: {} bytes", bytes.len());
        if name.ends_with(".png") {
            assert_eq!(&bytes[1..4], b"PNG");
        } else {
            let svg = String::from_utf8(bytes).unwrap();
            assert!(svg.contains("<svg") && svg.contains("even (15)") && svg.contains("PC1"));
        }
    }
    let coords: serde_json::Value = serde_json::from_str(&ok(&[
        "map",
        s(&db),
        "c",
        "--json",
        "--color-by",
        "cluster",
        "--clusters",
        "2",
    ]))
    .unwrap();
    assert_eq!(coords["method"], "pca");
    assert_eq!(coords["points"].as_array().unwrap().len(), 31);
    assert!(
        coords["points"][0]["group"]
            .as_str()
            .unwrap()
            .starts_with("cluster ")
    );
    let bad = quiver(&["map", s(&db), "c", "--out", s(&dir.path().join("map.gif"))]);
    assert!(!bad.status.success());

    // Packed batches: rows in batch order, ids or stored texts.
    let pairs = dir.path().join("pairs.jsonl");
    let mut p = String::new();
    for i in 0..30 {
        // Distinct queries: a batch never holds two pairs with the same query.
        let (x, y) = ((i % 2 == 0) as u8, (i % 2) as u8);
        p += &format!("{{\"query\": [{x}, {y}, 0.{i:02}], \"positive\": \"r{i}\"}}\n");
    }
    std::fs::write(&pairs, p).unwrap();
    let packed: Vec<serde_json::Value> = ok(&[
        "pack",
        s(&db),
        "c",
        s(&pairs),
        "--batch-size",
        "5",
        "--clusters",
        "2",
        "--ids",
    ])
    .lines()
    .map(|l| serde_json::from_str(l).unwrap())
    .collect();
    assert_eq!(packed.len(), 30);
    for batch in packed.chunks(5) {
        let b = &batch[0]["batch"];
        assert!(batch.iter().all(|r| &r["batch"] == b));
        // One cluster a batch: all even or all odd records.
        let parity = |r: &serde_json::Value| {
            r["positive"].as_str().unwrap()[1..].parse::<u32>().unwrap() % 2
        };
        assert!(batch.iter().all(|r| parity(r) == parity(&batch[0])));
    }
    let no_text = quiver(&["pack", s(&db), "c", s(&pairs), "--batch-size", "5"]);
    assert!(String::from_utf8_lossy(&no_text.stderr).contains("--ids"));
}
