//! Fault injection through the storage seam (`quiver::Backend`): a backend that models
//! a disk with a volatile cache — writes land in the cache, `sync_data` makes the cache
//! durable, a "power cut" keeps only what was synced — and fails on command: an I/O error at
//! the N-th operation (once or from then on), a short write (part of the data, then an
//! error), or an fsync that fails. Random write sequences run against it; every call must
//! return `Ok` or a typed error (never panic), and after each power cut the database must
//! reopen with exactly the acknowledged writes — a failed batch leaves no trace.

use quiver::{Backend, CollectionConfig, Database, Error, Metric, Record};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::collections::BTreeMap;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Fault {
    /// One operation fails, later ones succeed.
    Once,
    /// Every operation from the N-th on fails (a dead disk).
    Sticky,
    /// The N-th write stores half its bytes, then fails.
    ShortWrite,
    /// The N-th fsync fails (and makes nothing durable).
    Fsync,
}

#[derive(Debug)]
struct Disk {
    /// What survives a power cut.
    durable: Mutex<Vec<u8>>,
    /// What reads see: the durable bytes plus unsynced writes.
    cache: Mutex<Vec<u8>>,
    ops: AtomicU64,
    fail_at: u64,
    fault: Fault,
}

#[derive(Debug, Clone)]
struct FaultyBackend(Arc<Disk>);

impl FaultyBackend {
    fn new(image: Vec<u8>, fail_at: u64, fault: Fault) -> Self {
        FaultyBackend(Arc::new(Disk {
            durable: Mutex::new(image.clone()),
            cache: Mutex::new(image),
            ops: AtomicU64::new(0),
            fail_at,
            fault,
        }))
    }

    /// Counts an operation; whether it must fail.
    fn fails(&self, is_write: bool, is_sync: bool) -> bool {
        let n = self.0.ops.fetch_add(1, Ordering::SeqCst) + 1;
        match self.0.fault {
            Fault::Once => n == self.0.fail_at,
            Fault::Sticky => n >= self.0.fail_at,
            Fault::ShortWrite => is_write && n >= self.0.fail_at && n < self.0.fail_at + 1,
            Fault::Fsync => is_sync && n >= self.0.fail_at && n < self.0.fail_at + 64,
        }
    }

    /// The disk after a power cut.
    fn durable_image(&self) -> Vec<u8> {
        self.0.durable.lock().unwrap().clone()
    }
}

fn injected() -> io::Error {
    io::Error::other("injected fault")
}

impl Backend for FaultyBackend {
    fn len(&self) -> Result<u64, io::Error> {
        if self.fails(false, false) {
            return Err(injected());
        }
        Ok(self.0.cache.lock().unwrap().len() as u64)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), io::Error> {
        if self.fails(false, false) {
            return Err(injected());
        }
        let cache = self.0.cache.lock().unwrap();
        let start = offset as usize;
        let end = start
            .checked_add(out.len())
            .filter(|&e| e <= cache.len())
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "read past the end"))?;
        out.copy_from_slice(&cache[start..end]);
        Ok(())
    }

    fn set_len(&self, len: u64) -> Result<(), io::Error> {
        if self.fails(true, false) {
            return Err(injected());
        }
        self.0.cache.lock().unwrap().resize(len as usize, 0);
        Ok(())
    }

    fn sync_data(&self) -> Result<(), io::Error> {
        if self.fails(false, true) {
            return Err(injected());
        }
        let cache = self.0.cache.lock().unwrap().clone();
        *self.0.durable.lock().unwrap() = cache;
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), io::Error> {
        let fail = self.fails(true, false);
        let mut cache = self.0.cache.lock().unwrap();
        let start = offset as usize;
        let keep = if fail && self.0.fault == Fault::ShortWrite {
            data.len() / 2
        } else if fail {
            return Err(injected());
        } else {
            data.len()
        };
        if cache.len() < start + keep {
            cache.resize(start + keep, 0);
        }
        cache[start..start + keep].copy_from_slice(&data[..keep]);
        if fail {
            return Err(injected());
        }
        Ok(())
    }
}

type Model = BTreeMap<String, (Vec<f32>, i64)>;

/// The database in `image` holds exactly `model`.
fn verify(image: Vec<u8>, model: &Model) {
    let backend = FaultyBackend::new(image, u64::MAX, Fault::Once);
    let db = Database::builder()
        .open_backend(backend, "faults")
        .expect("reopen after a power cut");
    let c = db.collection("f").expect("collection");
    assert_eq!(c.check().expect("consistency") as usize, model.len());
    for (id, (v, version)) in model {
        let r = c
            .get(id)
            .expect("get")
            .unwrap_or_else(|| panic!("{id} lost"));
        assert_eq!(&r.vector, v, "{id}: vector");
        assert_eq!(r.payload.expect("payload")["v"], *version, "{id}: payload");
    }
    let ids = c.ids().expect("ids");
    assert_eq!(
        ids.len(),
        model.len(),
        "records that were never acknowledged"
    );
}

fn fresh_image() -> Vec<u8> {
    let backend = FaultyBackend::new(Vec::new(), u64::MAX, Fault::Once);
    {
        let db = Database::builder()
            .open_backend(backend.clone(), "faults")
            .unwrap();
        db.create_collection("f", CollectionConfig::new(4, Metric::L2))
            .unwrap();
    }
    backend.durable_image()
}

#[test]
fn injected_faults_give_errors_and_lose_nothing_acknowledged() {
    let mut rng = StdRng::seed_from_u64(11);
    let mut image = fresh_image();
    let mut model = Model::new();
    let (mut failures, mut acknowledged, mut cuts) = (0, 0, 0);
    for step in 0..120 {
        let fault = [Fault::Once, Fault::Sticky, Fault::ShortWrite, Fault::Fsync][step % 4];
        let backend = FaultyBackend::new(image.clone(), rng.random_range(1..120), fault);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let db = match Database::builder().open_backend(backend.clone(), "faults") {
                Ok(db) => db,
                Err(e) => return Err(e),
            };
            let c = db.collection("f")?;
            for _ in 0..4 {
                let version = step as i64;
                let result = if rng.random_bool(0.75) {
                    let records: Vec<Record> = (0..rng.random_range(1..30))
                        .map(|_| {
                            let id = format!("k{}", rng.random_range(0..60));
                            let v: Vec<f32> =
                                (0..4).map(|_| rng.random_range(-9..10) as f32).collect();
                            Record::new(id, v).with_payload(json!({"v": version}))
                        })
                        .collect();
                    c.upsert(&records).map(|()| {
                        for r in records {
                            model.insert(r.id, (r.vector, version));
                        }
                    })
                } else {
                    let ids: Vec<String> = (0..rng.random_range(1..8))
                        .map(|_| format!("k{}", rng.random_range(0..60)))
                        .collect();
                    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
                    c.delete(&refs).map(|_| {
                        for id in &ids {
                            model.remove(id);
                        }
                    })
                };
                match result {
                    Ok(()) => acknowledged += 1,
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        }));
        match outcome {
            Err(_) => panic!("step {step}: a call panicked under {fault:?}"),
            Ok(Err(e)) => {
                failures += 1;
                assert!(
                    matches!(e, Error::Io { .. } | Error::Corrupted { .. }),
                    "step {step}: {fault:?} gave an unexpected error: {e:?}"
                );
            }
            Ok(Ok(())) => {}
        }
        // Power cut: only synced bytes survive. The database must hold exactly what was
        // acknowledged (a failed write is all or nothing — and with these faults, nothing).
        image = backend.durable_image();
        cuts += 1;
        verify(image.clone(), &model);
    }
    eprintln!(
        "faults: {cuts} power cuts, {failures} injected failures surfaced as errors, {acknowledged} acknowledged writes verified"
    );
    assert!(
        failures > 20 && acknowledged > 50,
        "faults {failures}, writes {acknowledged}"
    );
}
