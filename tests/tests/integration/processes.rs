//! Many processes on one file (`docs/concurrency.md`): readers beside readers, readers beside
//! a writer, the busy timeout and who holds the lock, kill -9 of any of them. Real processes
//! (`share_worker`), since file locks are per process.

use quiver::{CollectionConfig, Database, Error, LockHolder, Metric, Record};
use quiver_tests::{SHARE_BATCH, share_vector};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

fn worker(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_share_worker"));
    c.args(args);
    c
}

/// A `share_worker hold` process with the file open; it closes it when dropped.
struct Holder {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Holder {
    fn new(path: &Path, mode: &str) -> Holder {
        let mut child = worker(&["hold", path.to_str().unwrap(), mode])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "held", "hold {mode}");
        Holder { child, stdin }
    }

    /// Closes the file (the process exits when its stdin closes).
    fn release(mut self) {
        drop(self.stdin.take());
        assert!(self.child.wait().unwrap().success());
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        if self.stdin.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn make_db(path: &Path, batches: u64) {
    let db = Database::create(path).unwrap();
    let c = db
        .create_collection(
            "shared",
            CollectionConfig::new(quiver_tests::SHARE_DIM, Metric::L2),
        )
        .unwrap();
    for b in 0..batches {
        let recs: Vec<Record> = (0..SHARE_BATCH)
            .map(|i| Record::new(format!("b{b}-{i}"), share_vector(b, i)))
            .collect();
        c.upsert(&recs).unwrap();
    }
}

fn lines(stdout: ChildStdout) -> Vec<String> {
    BufReader::new(stdout).lines().map(Result::unwrap).collect()
}

#[test]
fn eight_readers_follow_a_writer_process() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.qvr");
    let batches = 200u64;
    let target = (batches * SHARE_BATCH).to_string();
    let p = path.to_str().unwrap();
    // The writer creates the file; readers started at once wait for it to appear.
    let mut writer = worker(&["write", p, &batches.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let wait_for_file = Instant::now();
    while !path.exists() || Database::open_read_only(&path).is_err() {
        assert!(wait_for_file.elapsed() < Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(2));
    }
    let readers: Vec<Child> = (0..8)
        .map(|_| {
            worker(&["read", p, &target])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let acks = lines(writer.stdout.take().unwrap());
    assert!(writer.wait().unwrap().success());
    assert_eq!(acks.len() as u64, batches);
    for r in readers {
        let out = r.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.starts_with("ok "),
            "reader: {text} {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let db = Database::open(&path).unwrap();
    assert_eq!(
        db.collection("shared").unwrap().check().unwrap(),
        batches * SHARE_BATCH
    );
}

#[test]
fn eight_read_only_opens_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ro.qvr");
    make_db(&path, 3);
    let holders: Vec<Holder> = (0..8).map(|_| Holder::new(&path, "read-only")).collect();
    // Beside them, this process reads too, and may even write.
    let ro = Database::open_read_only(&path).unwrap();
    assert_eq!(ro.collection("shared").unwrap().count().unwrap(), 30);
    let err = ro
        .collection("shared")
        .unwrap()
        .upsert(&[Record::new("x", share_vector(9, 9))])
        .unwrap_err();
    assert!(matches!(err, Error::ReadOnly { .. }), "{err}");
    let rw = Database::open(&path).unwrap();
    rw.collection("shared")
        .unwrap()
        .upsert(&[Record::new("x", share_vector(9, 9))])
        .unwrap();
    // The read-only handle sees the other handle's commit on its next call.
    assert_eq!(ro.collection("shared").unwrap().count().unwrap(), 31);
    // Only an exclusive open is refused: readers hold the file.
    drop(rw);
    drop(ro);
    let r = Database::builder()
        .exclusive(true)
        .busy_timeout(Duration::from_millis(50))
        .open(&path);
    assert!(
        matches!(
            r,
            Err(Error::Locked {
                holder: LockHolder::Readers,
                ..
            })
        ),
        "{r:?}"
    );
    for h in holders {
        h.release();
    }
    Database::builder().exclusive(true).open(&path).unwrap();
}

#[test]
fn a_second_writer_waits_then_gets_locked_naming_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.qvr");
    make_db(&path, 1);
    // An exclusive writer: every other open waits out the busy timeout, then fails.
    let holder = Holder::new(&path, "exclusive");
    for (what, r) in [
        (
            "shared",
            Database::builder()
                .busy_timeout(Duration::from_millis(300))
                .open(&path),
        ),
        (
            "read-only",
            Database::builder()
                .busy_timeout(Duration::from_millis(300))
                .open_read_only(&path),
        ),
    ] {
        assert!(
            matches!(
                r,
                Err(Error::Locked {
                    holder: LockHolder::Exclusive,
                    ..
                })
            ),
            "{what}: {r:?}"
        );
    }
    let started = Instant::now();
    let r = Database::builder()
        .busy_timeout(Duration::from_millis(300))
        .open(&path);
    let waited = started.elapsed();
    assert!(r.is_err());
    assert!(waited >= Duration::from_millis(300), "waited {waited:?}");
    assert!(waited < Duration::from_secs(3), "waited {waited:?}");
    let message = r.unwrap_err().to_string();
    assert!(message.contains("exclusively"), "{message}");
    // Released while an open waits: the open goes through.
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        holder.release();
    });
    let started = Instant::now();
    let db = Database::builder()
        .busy_timeout(Duration::from_secs(20))
        .open(&path)
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(150));
    release.join().unwrap();
    assert_eq!(db.collection("shared").unwrap().count().unwrap(), 10);
    drop(db);
    // A shared writer holds it: an exclusive open names a writer.
    let writer = Holder::new(&path, "shared");
    let r = Database::builder()
        .exclusive(true)
        .busy_timeout(Duration::from_millis(100))
        .open(&path);
    assert!(
        matches!(
            r,
            Err(Error::Locked {
                holder: LockHolder::Writer,
                ..
            })
        ),
        "{r:?}"
    );
    let r = Database::builder()
        .busy_timeout(Duration::ZERO)
        .compact(&path);
    assert!(matches!(r, Err(Error::Locked { .. })), "{r:?}");
    writer.release();
}

#[test]
fn kill_minus_nine_of_a_reader_or_the_writer_leaves_the_file_correct() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.qvr");
    make_db(&path, 1);
    let p = path.to_str().unwrap();
    let mut readers: Vec<Child> = (0..3)
        .map(|_| {
            worker(&["watch", p])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut writer = worker(&["write", p, "100000"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut acks = BufReader::new(writer.stdout.take().unwrap());
    let mut line = String::new();
    for _ in 0..20 {
        line.clear();
        acks.read_line(&mut line).unwrap();
    }
    // A reader dies mid-read; the others and the writer go on.
    readers[0].kill().unwrap();
    readers[0].wait().unwrap();
    for _ in 0..20 {
        line.clear();
        acks.read_line(&mut line).unwrap();
        assert!(line.starts_with("ack"), "{line}");
    }
    // The writer dies mid-batch, while readers hold the file.
    writer.kill().unwrap();
    writer.wait().unwrap();
    // The writer may have acknowledged more batches than were read so far: they wait in the
    // pipe. The last acknowledgement is the last line it holds.
    let mut rest = String::new();
    acks.read_to_string(&mut rest).unwrap();
    if let Some(l) = rest.lines().rev().find(|l| l.starts_with("ack ")) {
        line = l.to_owned();
    }
    let last: u64 = line.trim().trim_start_matches("ack ").parse().unwrap();
    std::thread::sleep(Duration::from_millis(50));
    // The file opens for writing beside the surviving readers, holds every acknowledged
    // batch whole (and perhaps the one in flight), and checks clean.
    let db = Database::open(&path).unwrap();
    let c = db.collection("shared").unwrap();
    let count = c.check().unwrap();
    assert!(count.is_multiple_of(SHARE_BATCH), "{count}");
    assert!(
        count >= (last + 1) * SHARE_BATCH && count <= (last + 2) * SHARE_BATCH,
        "count {count} after ack {last}"
    );
    c.upsert(&[Record::new("after", share_vector(7, 7))])
        .unwrap();
    drop(c);
    drop(db);
    for mut r in readers.drain(1..) {
        drop(r.stdin.take());
        let out = r.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "watcher: {} {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let _ = std::io::stderr().flush();
}

/// The carried handle `r` answers `query` exactly as the fresh handle `f` does: same ids,
/// same scores (bit for bit: the same vectors and codes).
fn same_hits<'q>(
    r: &quiver::Collection,
    f: &quiver::Collection,
    query: impl Into<quiver::Query<'q>> + Copy,
    options: quiver::SearchOptions<'_>,
    step: u64,
) {
    let hits = |c: &quiver::Collection| -> Vec<(String, f32)> {
        c.search(query, options.clone())
            .unwrap()
            .into_iter()
            .map(|h| (h.id, h.score))
            .collect()
    };
    assert_eq!(hits(r), hits(f), "step {step}");
}

/// A handle catches up with another handle's writes (another process's, as far as the file
/// is concerned) by re-reading the rows the change log names: its state afterwards equals a
/// fresh handle's, vectors, index codes and all — and it was carried, not reloaded.
#[test]
fn a_reader_carries_its_state_across_another_handles_writes() {
    use quiver::{IvfPqParams, SearchOptions};
    use rand::{Rng, SeedableRng};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("carry.qvr");
    let writer = Database::create(&path).unwrap();
    let w = writer
        .create_collection(
            "c",
            CollectionConfig::new(quiver_tests::SHARE_DIM, Metric::Cosine),
        )
        .unwrap();
    let reader = Database::open_read_only(&path).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let mut next = 0u64;
    let query = share_vector(999, 1);
    let mut carried = 0;
    for step in 0..80 {
        let reopened = match rng.random_range(0..10) {
            0..=4 => {
                let n = rng.random_range(1..40);
                let recs: Vec<Record> = (next..next + n)
                    .map(|i| Record::new(format!("r{i}"), share_vector(i, step)))
                    .collect();
                next += n;
                w.upsert(&recs).unwrap();
                false
            }
            5..=6 if next > 0 => {
                let recs: Vec<Record> = (0..rng.random_range(1..10))
                    .map(|_| {
                        let i = rng.random_range(0..next);
                        Record::new(format!("r{i}"), share_vector(i + 7, step))
                    })
                    .collect();
                w.upsert(&recs).unwrap();
                false
            }
            7..=8 if next > 0 => {
                let ids: Vec<String> = (0..rng.random_range(1..10))
                    .map(|_| format!("r{}", rng.random_range(0..next)))
                    .collect();
                let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
                w.delete(&refs).unwrap();
                false
            }
            _ if w.count().unwrap() >= 16 => {
                if w.index_info().unwrap().is_some() && rng.random_bool(0.3) {
                    w.drop_index().unwrap();
                } else {
                    w.create_index(IvfPqParams::default().nlist(4).m(4))
                        .unwrap();
                }
                true
            }
            _ => false,
        };
        let r = reader.collection("c").unwrap();
        // Loaded before this write (the previous step searched): still loaded, updated.
        if step > 0 && !reopened && r.memory_bytes().unwrap() > 0 {
            carried += 1;
        }
        r.check().unwrap();
        let fresh = Database::open_read_only(&path).unwrap();
        let f = fresh.collection("c").unwrap();
        for options in [
            SearchOptions::new(10).exact(true),
            SearchOptions::new(10).nprobe(4).refine(1),
        ] {
            same_hits(&r, &f, &query[..], options, step);
        }
        assert_eq!(r.count().unwrap(), f.count().unwrap());
    }
    assert!(
        carried > 40,
        "the reader's state was carried {carried} times of 80"
    );
}

/// The same for a multi-vector collection: token matrices and the token index's centroid
/// sets are carried across another handle's writes.
#[test]
fn a_reader_carries_token_matrices_across_another_handles_writes() {
    use quiver::{MultiIndexParams, MultiRecord, SearchOptions};
    use rand::{Rng, SeedableRng};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("carry-multi.qvr");
    let writer = Database::create(&path).unwrap();
    let dim = quiver_tests::SHARE_DIM;
    let w = writer
        .create_collection("m", CollectionConfig::multi_vector(dim, Metric::Cosine))
        .unwrap();
    let reader = Database::open_read_only(&path).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(12);
    let matrix = |i: u64, salt: u64| -> Vec<Vec<f32>> {
        (0..1 + i % 3)
            .map(|t| share_vector(i * 7 + t, salt))
            .collect()
    };
    let query = matrix(500, 3);
    let mut next = 0u64;
    let mut carried = 0;
    for step in 0..60 {
        let reopened = match rng.random_range(0..10) {
            0..=5 => {
                let n = rng.random_range(1..12);
                let recs: Vec<MultiRecord> = (next..next + n)
                    .map(|i| MultiRecord::new(format!("d{i}"), matrix(i, step)))
                    .collect();
                next += n;
                w.upsert(&recs).unwrap();
                false
            }
            6..=8 if next > 0 => {
                let id = format!("d{}", rng.random_range(0..next));
                if rng.random_bool(0.5) {
                    w.delete(&[id.as_str()]).unwrap();
                } else {
                    w.upsert(&[MultiRecord::new(id, matrix(step, 99))]).unwrap();
                }
                false
            }
            _ if w.count().unwrap() >= 8 => {
                w.create_index(MultiIndexParams::default().centroids(4))
                    .unwrap();
                true
            }
            _ => false,
        };
        let r = reader.collection("m").unwrap();
        if step > 0 && !reopened && r.memory_bytes().unwrap() > 0 {
            carried += 1;
        }
        r.check().unwrap();
        let fresh = Database::open_read_only(&path).unwrap();
        let f = fresh.collection("m").unwrap();
        for options in [
            SearchOptions::new(5).exact(true),
            SearchOptions::new(5).nprobe(2),
        ] {
            same_hits(&r, &f, &query[..], options, step);
        }
    }
    assert!(
        carried > 30,
        "the reader's state was carried {carried} times of 60"
    );
}
