//! The fuzz targets' bodies. Contract for every target: whatever the bytes, Quiver returns
//! `Ok` or a typed error — it never panics past its API, never aborts, never reads or writes
//! out of bounds (the C API target runs under AddressSanitizer with `fuzz/run.sh --asan`).
//!
//! Quiver's storage layer catches panics *inside* redb on damaged files and reports them as
//! `Corrupted` (that is its design); libFuzzer's panic hook would abort on those caught
//! panics, so [`quiet_caught_panics`] replaces it. A panic that escapes Quiver still aborts:
//! `fuzz_target!` checks its own `catch_unwind`.

use quiver::{
    CollectionConfig, Database, DatabaseOptions, Filter, Metric, MultiRecord, PayloadIndexKind,
    Record, TextRecord,
};
use serde_json::{Value, json};
use std::sync::Once;

pub fn quiet_caught_panics() {
    static ONCE: Once = Once::new();
    // QUIVER_FUZZ_PANICS=1 prints them (to see what a crash input does).
    let verbose = std::env::var_os("QUIVER_FUZZ_PANICS").is_some();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(move |info| {
            if verbose {
                eprintln!("{info}\n{}", std::backtrace::Backtrace::force_capture());
            }
        }))
    });
}

fn memory_db() -> Database {
    DatabaseOptions::default()
        .open_backend(quiver::MemoryBackend::new(), "fuzz")
        .expect("an in-memory database opens")
}

/// Any bytes as a database file: open it (with and without page verification) and, if it
/// opens, read everything the API reads.
pub fn open_file(data: &[u8]) {
    quiet_caught_panics();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("f.qvr");
    std::fs::write(&path, data).expect("write");
    // Shared (the default), shared with verification, and read-only: each opens redb in its
    // own way.
    for (verify, read_only) in [(false, false), (true, false), (false, true)] {
        let options = DatabaseOptions::default().verify_on_open(verify);
        let opened = if read_only {
            options.open_read_only(&path)
        } else {
            options.open(&path)
        };
        let Ok(db) = opened else {
            continue;
        };
        let Ok(list) = db.collections() else { continue };
        for info in list {
            let Ok(c) = db.collection(&info.name) else {
                continue;
            };
            let _ = c.count();
            let _ = c.check();
            let ids = c.ids().unwrap_or_default();
            for id in ids.iter().take(4) {
                if info.multi_vector {
                    let _ = c.get_multi(id);
                } else {
                    let _ = c.get(id);
                }
            }
            let dim = info.dim.clamp(1, 4096);
            if info.multi_vector {
                let _ = c.search_multi(&[vec![0.5; dim]], 3);
            } else {
                let _ = c.search(&vec![0.5; dim], 3);
                let _ = c.search_with(&quiver::SearchRequest::new(&vec![0.5; dim], 3).exact(true));
            }
            let _ = c.payload_indexes();
            let _ = c.model();
        }
        // Writing to a damaged file must fail cleanly too.
        if let Ok(c) = db.create_collection("fuzz-new", CollectionConfig::new(2, Metric::L2)) {
            let _ = c.upsert(&[Record::new("x", vec![1.0, 2.0])]);
        }
    }
}

/// Every stored-record decoder on any bytes; the first byte picks the decoder.
pub fn decode_records(data: &[u8]) {
    use quiver_storage::{codec, fields, format, index_store, seal};
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    match which % 16 {
        14 => {
            let mut out = Vec::new();
            drop(quiver_storage::text_postings::decode_block(
                u64::from(which) << 20,
                bytes,
                &mut out,
            ));
        }
        15 => drop(quiver_storage::text_postings::split_key(bytes)),
        10 => drop(seal::open_row(u64::from(which), bytes, "value")),
        11 => drop(codec::decode_id_of(7, bytes)),
        12 => drop(codec::decode_row_of("id", bytes)),
        13 => drop(format::decode_counter(bytes)),
        0 => drop(quiver_storage::CollectionRecord::decode("c", bytes)),
        1 => drop(format::check_header(bytes)),
        2 => drop(codec::decode_f32(bytes, usize::from(which) % 17 + 1)),
        3 => drop(codec::decode_u16(bytes, usize::from(which) % 17 + 1)),
        4 => drop(codec::matrix_token_count(bytes, usize::from(which) % 33)),
        5 => drop(codec::decode_payload(bytes)),
        6 => drop(codec::decode_text(bytes)),
        7 => drop(index_store::IvfPqHeader::decode(bytes)),
        8 => drop(index_store::decode_posting(bytes)),
        _ => drop(fields::entry_row(bytes)),
    }
}

/// A line of a JSONL import file, read as the `quiver import` command reads it (one of
/// `"vector"`, `"vectors"` or `"text"`, an id, an optional payload), written to collections
/// of each kind; a record that is accepted must then be found by its id and by search.
pub fn import_line(data: &[u8]) {
    quiet_caught_panics();
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(line) else {
        return;
    };
    let id = match fields.get("id") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return,
    };
    let payload = fields.get("payload").cloned();
    let floats = |v: &Value| -> Option<Vec<f32>> {
        v.as_array()?
            .iter()
            .map(|x| x.as_f64().map(|f| f as f32))
            .collect()
    };
    let db = memory_db();
    match (
        fields.get("vector"),
        fields.get("vectors"),
        fields.get("text"),
    ) {
        (Some(v), None, None) => {
            let Some(vector) = floats(v) else { return };
            let dim = vector.len().clamp(1, 64);
            let c = db
                .create_collection("v", CollectionConfig::new(dim, Metric::Cosine))
                .expect("create");
            let record = Record::new(id.clone(), vector.clone()).with_payload(payload);
            if c.upsert(&[record]).is_ok() {
                assert!(c.get(&id).expect("get").is_some(), "accepted, then lost");
                let hits = c.search(&vector, 1).expect("search a stored vector");
                assert_eq!(hits.len(), 1);
            }
        }
        (None, Some(m), None) => {
            let Some(rows) = m.as_array() else { return };
            let Some(matrix) = rows.iter().map(floats).collect::<Option<Vec<_>>>() else {
                return;
            };
            let dim = matrix.first().map_or(1, Vec::len).clamp(1, 64);
            let c = db
                .create_collection("m", CollectionConfig::multi_vector(dim, Metric::Dot))
                .expect("create");
            let mut record = MultiRecord::new(id.clone(), matrix.clone());
            record.payload = payload;
            if c.upsert_multi(&[record]).is_ok() {
                assert!(
                    c.get_multi(&id).expect("get").is_some(),
                    "accepted, then lost"
                );
                let hits = c.search_multi(&matrix, 1).expect("search a stored matrix");
                assert_eq!(hits.len(), 1);
            }
        }
        (None, None, Some(Value::String(text))) => {
            // No model in this build: the text is validated, then refused for the model.
            let c = db
                .create_collection("t", CollectionConfig::new(4, Metric::Cosine))
                .expect("create");
            let mut record = TextRecord::new(id, text.clone());
            record.payload = payload;
            assert!(c.upsert_texts(&[record]).is_err());
        }
        _ => {}
    }
}

/// Any text as a filter: parsing never panics, and a filter that parses selects the same
/// records with payload indexes as without (the planner against plain evaluation).
pub fn filter(data: &[u8]) {
    quiet_caught_panics();
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(filter) = Filter::parse(text) else {
        return;
    };
    let db = memory_db();
    let plain = db
        .create_collection("plain", CollectionConfig::new(2, Metric::L2))
        .expect("create");
    let indexed = db
        .create_collection("indexed", CollectionConfig::new(2, Metric::L2))
        .expect("create");
    indexed
        .create_payload_index("tag", PayloadIndexKind::Keyword)
        .expect("index");
    indexed
        .create_payload_index("n", PayloadIndexKind::Integer)
        .expect("index");
    indexed
        .create_payload_index("x", PayloadIndexKind::Float)
        .expect("index");
    indexed
        .create_payload_index("ok", PayloadIndexKind::Bool)
        .expect("index");
    let payloads = [
        json!({"tag": "a", "n": 1, "x": 0.5, "ok": true, "list": [1, 2], "o": {"p": "q"}}),
        json!({"tag": "b", "n": -3, "x": 2.0, "ok": false}),
        json!({"tag": "ab", "n": 100, "x": -1.5, "list": ["a"], "o": {"p": 3}}),
        json!({"n": 7}),
        json!({}),
    ];
    let records: Vec<Record> = payloads
        .iter()
        .enumerate()
        .map(|(i, p)| Record::new(i.to_string(), vec![i as f32, 1.0]).with_payload(p.clone()))
        .collect();
    plain.upsert(&records).expect("upsert");
    indexed.upsert(&records).expect("upsert");
    let a = plain.count_where(&filter).expect("count");
    let b = indexed.count_where(&filter).expect("count");
    assert_eq!(a, b, "indexes changed the answer of {text}");
    let hits = indexed
        .search_with(&quiver::SearchRequest::new(&[0.0, 1.0], 5).filter(&filter))
        .expect("filtered search");
    assert_eq!(
        hits.len() as u64,
        a,
        "a filtered search of k = all returns every match"
    );
}

/// Reads fuzz bytes as a sequence of C API calls.
struct Script<'a> {
    data: &'a [u8],
}

impl Script<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.data.split_first()?;
        self.data = rest;
        Some(b)
    }

    fn bytes(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        head
    }

    /// A C string from the next bytes (NUL bytes dropped, possibly invalid UTF-8).
    fn cstring(&mut self) -> std::ffi::CString {
        let len = usize::from(self.byte().unwrap_or(0) % 24);
        let raw: Vec<u8> = self
            .bytes(len)
            .iter()
            .copied()
            .filter(|&b| b != 0)
            .collect();
        std::ffi::CString::new(raw).expect("no NUL")
    }

    fn floats(&mut self, n: usize) -> Vec<f32> {
        (0..n)
            .map(|_| {
                let b = self.bytes(4);
                let mut a = [0u8; 4];
                a[..b.len()].copy_from_slice(b);
                let f = f32::from_le_bytes(a);
                // Mostly small numbers, sometimes whatever the bits say (NaN, infinities).
                if a[3] & 0x80 == 0 {
                    f32::from(a[0]) / 16.0 - 8.0
                } else {
                    f
                }
            })
            .collect()
    }
}

/// Any sequence of C API calls with arguments taken from the bytes — NULL pointers, closed
/// handles, wrong counts and dimensions, invalid UTF-8, bad filters — returns status codes;
/// result lists are read back fully and freed.
pub fn c_api(data: &[u8]) {
    use quiver_ffi::*;
    use std::ptr::{null, null_mut};
    quiet_caught_panics();
    let dir = tempfile::tempdir().expect("temp dir");
    let path =
        std::ffi::CString::new(dir.path().join("c.qvr").to_str().expect("utf-8")).expect("no NUL");
    let mut s = Script { data };
    let options = quiver_options {
        create: 1,
        durability: 1,
        cache_bytes: 1 << 20,
        verify: 0,
        // Relaxed durability: the handle is exclusive (nothing else opens the file here).
        access: 0,
        busy_timeout_ms: -1,
    };
    let mut db: *mut quiver_db = null_mut();
    // SAFETY (all calls below): every pointer passed is NULL or points to live memory of the
    // size the C API documents; handles are NULL, live or closed (the API checks them).
    if unsafe { quiver_open(path.as_ptr(), &options, &mut db) } != 0 {
        return;
    }
    let mut colls: Vec<*mut quiver_collection> = Vec::new();
    let mut steps = 0;
    while let Some(op) = s.byte() {
        steps += 1;
        if steps > 64 {
            break;
        }
        let pick = |s: &mut Script<'_>, colls: &[*mut quiver_collection]| {
            let i = usize::from(s.byte().unwrap_or(0));
            if colls.is_empty() || i == 255 {
                null()
            } else {
                colls[i % colls.len()].cast_const()
            }
        };
        match op % 12 {
            0 => {
                let name = s.cstring();
                let dim = usize::from(s.byte().unwrap_or(0) % 9);
                let metric = u32::from(s.byte().unwrap_or(0) % 4);
                let dtype = u32::from(s.byte().unwrap_or(0) % 4);
                let multi = s.byte().unwrap_or(0) % 3 == 0;
                let mut out = null_mut();
                let status = unsafe {
                    if multi {
                        quiver_create_multi_collection(
                            db,
                            name.as_ptr(),
                            dim,
                            metric,
                            dtype,
                            &mut out,
                        )
                    } else {
                        quiver_create_collection(db, name.as_ptr(), dim, metric, dtype, &mut out)
                    }
                };
                if status == 0 {
                    colls.push(out);
                }
            }
            1 => {
                let c = pick(&mut s, &colls);
                let count = usize::from(s.byte().unwrap_or(0) % 4);
                let dim = usize::from(s.byte().unwrap_or(0) % 9);
                let ids: Vec<std::ffi::CString> = (0..count).map(|_| s.cstring()).collect();
                let id_ptrs: Vec<*const std::ffi::c_char> =
                    ids.iter().map(|i| i.as_ptr()).collect();
                let vectors = s.floats(count * dim);
                let payload = std::ffi::CString::new(r#"{"k": 1}"#).expect("no NUL");
                let payloads: Vec<*const std::ffi::c_char> = (0..count)
                    .map(|i| if i % 2 == 0 { payload.as_ptr() } else { null() })
                    .collect();
                unsafe {
                    quiver_upsert(
                        c,
                        id_ptrs.as_ptr(),
                        vectors.as_ptr(),
                        count,
                        dim,
                        payloads.as_ptr(),
                    )
                };
            }
            2 => {
                let c = pick(&mut s, &colls);
                let dim = usize::from(s.byte().unwrap_or(0) % 9);
                let query = s.floats(dim);
                let mut params = quiver_search_params_default();
                params.k = usize::from(s.byte().unwrap_or(0) % 12);
                params.exact = u32::from(s.byte().unwrap_or(0) % 2);
                let filter = s.cstring();
                if s.byte().unwrap_or(0) % 2 == 0 {
                    params.filter = filter.as_ptr();
                }
                let mut out = null_mut();
                if unsafe { quiver_search(c, query.as_ptr(), dim, &params, &mut out) } == 0 {
                    read_results(out);
                }
            }
            3 => {
                let c = pick(&mut s, &colls);
                let id = s.cstring();
                let mut out = null_mut();
                if unsafe { quiver_get(c, id.as_ptr(), &mut out) } == 0 {
                    read_results(out);
                }
            }
            4 => {
                let c = pick(&mut s, &colls);
                let id = s.cstring();
                let ids = [id.as_ptr()];
                let mut deleted = 0;
                unsafe { quiver_delete(c, ids.as_ptr(), 1, &mut deleted) };
            }
            5 => {
                let c = pick(&mut s, &colls);
                let filter = s.cstring();
                let mut n = 0;
                unsafe { quiver_count(c, filter.as_ptr(), &mut n) };
                unsafe { quiver_count(c, null(), &mut n) };
            }
            6 => {
                let c = pick(&mut s, &colls);
                let nlist = usize::from(s.byte().unwrap_or(0) % 5);
                let m = usize::from(s.byte().unwrap_or(0) % 5);
                let params = quiver_index_params {
                    nlist,
                    m,
                    seed: 7,
                    // Odd m: 4-bit fast-scan codes (no extra input byte, so the corpus and
                    // the CI stream keep their meaning).
                    bits: if m % 2 == 1 { 4 } else { 0 },
                };
                unsafe { quiver_create_index(c, &params) };
            }
            7 => {
                let c = pick(&mut s, &colls);
                let count = usize::from(s.byte().unwrap_or(0) % 3);
                let dim = usize::from(s.byte().unwrap_or(0) % 9);
                let ids: Vec<std::ffi::CString> = (0..count).map(|_| s.cstring()).collect();
                let id_ptrs: Vec<*const std::ffi::c_char> =
                    ids.iter().map(|i| i.as_ptr()).collect();
                let tokens: Vec<usize> = (0..count)
                    .map(|_| usize::from(s.byte().unwrap_or(0) % 4))
                    .collect();
                let vectors = s.floats(tokens.iter().sum::<usize>() * dim);
                unsafe {
                    quiver_upsert_multi(
                        c,
                        id_ptrs.as_ptr(),
                        tokens.as_ptr(),
                        vectors.as_ptr(),
                        count,
                        dim,
                        null(),
                    )
                };
            }
            8 => {
                let c = pick(&mut s, &colls);
                let tokens = usize::from(s.byte().unwrap_or(0) % 4);
                let dim = usize::from(s.byte().unwrap_or(0) % 9);
                let query = s.floats(tokens * dim);
                let params = quiver_search_params_default();
                let mut out = null_mut();
                let candidates = usize::from(s.byte().unwrap_or(0));
                if unsafe {
                    quiver_search_multi(
                        c,
                        query.as_ptr(),
                        tokens,
                        dim,
                        &params,
                        candidates,
                        &mut out,
                    )
                } == 0
                {
                    read_results(out);
                }
            }
            9 => {
                let c = pick(&mut s, &colls);
                let field = s.cstring();
                let kind = u32::from(s.byte().unwrap_or(0) % 5);
                unsafe { quiver_create_payload_index(c, field.as_ptr(), kind) };
            }
            10 => {
                // Close a handle (later calls on it must report QUIVER_MISUSE).
                let c = pick(&mut s, &colls);
                unsafe { quiver_collection_close(c.cast_mut()) };
            }
            _ => {
                let name = s.cstring();
                unsafe { quiver_drop_collection(db, name.as_ptr()) };
                let mut names = null_mut();
                if unsafe { quiver_list_collections(db, &mut names) } == 0 {
                    let n = unsafe { quiver_names_count(names) };
                    for i in 0..=n {
                        unsafe { quiver_names_get(names, i) };
                    }
                    unsafe { quiver_names_free(names) };
                }
            }
        }
        // The message of the last call is always readable.
        let msg = unsafe { std::ffi::CStr::from_ptr(quiver_errmsg()) };
        let _ = msg.to_bytes().len();
    }
    for c in colls {
        unsafe { quiver_collection_close(c) };
    }
    unsafe { quiver_close(db) };
}

fn read_results(r: *mut quiver_ffi::quiver_results) {
    use quiver_ffi::*;
    // SAFETY: `r` is a live result list from a successful call.
    unsafe {
        let n = quiver_results_count(r);
        for i in 0..=n {
            let id = quiver_results_id(r, i);
            if !id.is_null() {
                let _ = std::ffi::CStr::from_ptr(id).to_bytes().len();
            }
            let _ = quiver_results_score(r, i);
            let p = quiver_results_payload(r, i);
            if !p.is_null() {
                let _ = std::ffi::CStr::from_ptr(p).to_bytes().len();
            }
            let mut dim = 0;
            let _ = quiver_results_vector(r, i, &mut dim);
        }
        quiver_results_free(r);
    }
}

/// Mining and packing input as a user gives it: the first line is the options object (the
/// C API's and Python's names), every further line a pair. Parsing, mining against a small
/// collection and packing return errors for bad input, never panic.
pub fn mining_input(data: &[u8]) {
    quiet_caught_panics();
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.lines();
    let Some(Ok(options)) = lines.next().map(serde_json::from_str::<Value>) else {
        return;
    };
    let pairs: Vec<quiver::mining::MiningPair> = lines
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| quiver::mining::MiningPair::from_json(&v).ok())
        .take(16)
        .collect();
    let db = memory_db();
    let Ok(c) = db.create_collection("m", CollectionConfig::new(2, Metric::Cosine)) else {
        return;
    };
    let records: Vec<Record> = ["a", "b", "c", "d", "e"]
        .iter()
        .enumerate()
        .map(|(i, id)| Record::new(*id, vec![1.0, i as f32 * 0.3 - 0.5]))
        .collect();
    if c.upsert(&records).is_err() {
        return;
    }
    if let Ok((request, output)) = quiver::mining::from_options(&pairs, &options)
        && let Ok(report) = c.mine_hard_negatives(&request)
    {
        let _ = report.write_jsonl(&output, std::io::sink());
    }
    let batch = options.get("negatives").and_then(Value::as_u64).unwrap_or(2) as usize;
    let _ = c.pack_batches(&quiver::mining::PackRequest::new(&pairs, batch.min(64)));
}
