//! Results through the C functions equal results through the Rust API on the same database.

use crate::*;
use engine::{Database, Filter, Hit, SearchRequest};
use serde_json::json;
use std::ffi::{CStr, CString, c_char};
use std::ptr;

fn ok(code: i32) {
    // SAFETY: thread-local C string.
    let msg = unsafe { CStr::from_ptr(quiver_errmsg()) }.to_string_lossy();
    assert_eq!(code, 0, "status {code}: {msg}");
}

/// The rows of a result list, as the Rust API's hits.
unsafe fn hits(results: *const quiver_results) -> Vec<Hit> {
    let text = |p: *const c_char| {
        // SAFETY: NULL or a NUL-terminated string owned by the list.
        (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned())
    };
    // SAFETY: a live list.
    let n = unsafe { quiver_results_count(results) };
    (0..n)
        // SAFETY: `i` < the count of a live list.
        .map(|i| unsafe {
            let mut dim = 0usize;
            let v = quiver_results_vector(results, i, &mut dim);
            let mut hit = Hit::new(
                text(quiver_results_id(results, i)).unwrap(),
                quiver_results_score(results, i),
            );
            hit.payload =
                text(quiver_results_payload(results, i)).map(|p| serde_json::from_str(&p).unwrap());
            hit.text = text(quiver_results_text(results, i));
            hit.vector = (!v.is_null()).then(|| std::slice::from_raw_parts(v, dim).to_vec());
            hit
        })
        .collect()
}

#[test]
fn c_results_equal_rust_results() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("parity.qvr");
    let dim = 16;
    let mut seed = 7u64;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 33) as f32 / (1u64 << 31) as f32) - 0.5
    };
    let queries: Vec<Vec<f32>> = (0..5).map(|_| (0..dim).map(|_| next()).collect()).collect();
    // Written through the C API ...
    let cpath = CString::new(path.to_str().unwrap()).unwrap();
    let name = CString::new("docs").unwrap();
    let mut db = ptr::null_mut();
    let mut coll = ptr::null_mut();
    let n = 3000;
    let ids: Vec<CString> = (0..n)
        .map(|i| CString::new(format!("doc-{i}")).unwrap())
        .collect();
    let payloads: Vec<CString> = (0..n)
        .map(|i| {
            let tag = ["a", "b", "c"][i % 3];
            CString::new(json!({"group": i % 7, "tag": tag}).to_string()).unwrap()
        })
        .collect();
    let vectors: Vec<f32> = (0..n * dim).map(|_| next()).collect();
    // SAFETY: live handles and arrays of the lengths passed.
    unsafe {
        let options = quiver_options {
            create: 1,
            ..Default::default()
        };
        ok(quiver_open(cpath.as_ptr(), &options, &mut db));
        ok(quiver_create_collection(
            db,
            name.as_ptr(),
            dim,
            0,
            0,
            &mut coll,
        ));
        let id_ptrs: Vec<*const c_char> = ids.iter().map(|s| s.as_ptr()).collect();
        let payload_ptrs: Vec<*const c_char> = payloads.iter().map(|s| s.as_ptr()).collect();
        for start in (0..n).step_by(1000) {
            ok(quiver_upsert(
                coll,
                id_ptrs[start..].as_ptr(),
                vectors[start * dim..].as_ptr(),
                1000,
                dim,
                payload_ptrs[start..].as_ptr(),
            ));
        }
        let field = CString::new("group").unwrap();
        ok(quiver_create_payload_index(coll, field.as_ptr(), 1));
        ok(quiver_create_index(coll, ptr::null()));
    }
    // ... read through both (one process can open the file once: the Rust side uses the
    // engine handle inside the C handle).
    // SAFETY: a live handle.
    let rust_db: Database = unsafe { (*db).db.clone() };
    let rust = rust_db.collection("docs").unwrap();
    assert_eq!(rust.count().unwrap(), n as u64);
    let filter_json = r#"{"group": {"$in": [1, 2]}, "tag": {"$ne": "a"}}"#;
    let filter_c = CString::new(filter_json).unwrap();
    let filter = Filter::parse(filter_json).unwrap();
    for q in &queries {
        for (exact, filtered, vectors) in [
            (false, false, false),
            (true, false, true),
            (false, true, false),
        ] {
            let mut params = quiver_search_params_default();
            params.k = 7;
            params.exact = u32::from(exact);
            params.include_vectors = u32::from(vectors);
            params.nprobe = 3;
            if filtered {
                params.filter = filter_c.as_ptr();
            }
            let mut results = ptr::null_mut();
            // SAFETY: live handles, a query of `dim` floats, a writable out pointer.
            let from_c = unsafe {
                ok(quiver_search(coll, q.as_ptr(), dim, &params, &mut results));
                let h = hits(results);
                quiver_results_free(results);
                h
            };
            let mut req = SearchRequest::new(q, 7)
                .exact(exact)
                .include_vector(vectors)
                .nprobe(3);
            if filtered {
                req = req.filter(&filter);
            }
            let from_rust = rust.search_with(&req).unwrap();
            assert_eq!(from_c, from_rust, "exact {exact} filtered {filtered}");
            assert_eq!(from_c.len(), 7);
        }
    }
    // SAFETY: handles made above, each released once.
    unsafe {
        let mut count = 0u64;
        ok(quiver_count(coll, filter_c.as_ptr(), &mut count));
        assert_eq!(count, rust.count_where(&filter).unwrap());
        let mut record = ptr::null_mut();
        ok(quiver_get(coll, ids[42].as_ptr(), &mut record));
        let got = hits(record);
        quiver_results_free(record);
        let want = rust.get("doc-42").unwrap().unwrap();
        assert_eq!(got[0].vector.as_deref(), Some(want.vector.as_slice()));
        assert_eq!(got[0].payload, want.payload);
        ok(quiver_collection_close(coll));
        ok(quiver_close(db));
    }
}
