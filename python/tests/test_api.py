"""The Python API against the engine: writes, reads, searches, every knob, the CLI's file."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import quiver


def random_vectors(n, dim, seed=0):
    return np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)


def exact_top(vectors, q, k):
    """Cosine top-k by NumPy: the oracle."""
    v = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    s = v @ (q / np.linalg.norm(q))
    order = np.argsort(-s, kind="stable")[:k]
    return [f"r{i}" for i in order], s[order]


@pytest.fixture
def filled(db_path):
    db = quiver.create(db_path)
    c = db.create_collection("docs", dim=16, metric="cosine")
    vs = random_vectors(500, 16)
    ids = [f"r{i}" for i in range(500)]
    c.upsert(ids, vectors=vs, payloads=[{"n": i, "tag": "even" if i % 2 == 0 else "odd"} for i in range(500)])
    yield db, c, vs
    db.close()


def test_create_open_and_context_manager(db_path):
    with quiver.create(db_path) as db:
        db.create_collection("a", dim=4)
        assert [c["name"] for c in db.collections()] == ["a"]
    with quiver.open(db_path) as db:
        info = db.collections()[0]
        assert (info["dim"], info["metric"], info["dtype"], info["count"]) == (4, "cosine", "f32", 0)
        db.drop_collection("a")
        assert db.collections() == []
    with pytest.raises(quiver.NotFound):
        quiver.open(db_path + ".missing")


def test_upsert_get_delete_count(filled):
    _, c, vs = filled
    assert c.count() == len(c) == 500
    r = c.get("r7")
    assert r["id"] == "r7" and r["payload"] == {"n": 7, "tag": "odd"} and r["text"] is None
    assert isinstance(r["vector"], np.ndarray) and r["vector"].dtype == np.float32
    np.testing.assert_array_equal(r["vector"], vs[7])
    assert c.get("nope") is None
    # Lists of floats work as well as arrays; an upsert replaces data and payload.
    c.upsert(["r7"], vectors=[[1.0] * 16], payloads=[None])
    r = c.get("r7")
    assert r["payload"] is None and list(r["vector"]) == [1.0] * 16
    assert c.delete(["r7", "r8", "missing"]) == 2
    assert c.count() == 498
    assert "r7" not in c.ids()


def test_search_matches_numpy_and_carries_payloads(filled):
    _, c, vs = filled
    for q in random_vectors(5, 16, seed=3):
        want_ids, want_scores = exact_top(vs, q, 10)
        hits = c.search(q, k=10)
        assert [h.id for h in hits] == want_ids
        np.testing.assert_allclose([h.score for h in hits], want_scores, rtol=1e-5, atol=1e-6)
        assert hits[0].payload["n"] == int(hits[0].id[1:])
        assert hits[0].vector is None
    # float64, non-contiguous and list queries are converted.
    q = random_vectors(1, 32, seed=4)[0][::2].astype(np.float64)
    assert [h.id for h in c.search(q, k=3)] == exact_top(vs, q.astype(np.float32), 3)[0]
    assert c.search(list(map(float, q)), k=3)[0].id == c.search(q, k=3)[0].id


def test_every_search_knob(filled):
    _, c, vs = filled
    q = random_vectors(1, 16, seed=5)[0]
    odd = c.search(q, k=10, filter={"tag": "odd"})
    assert len(odd) == 10 and all(h.payload["tag"] == "odd" for h in odd)
    assert [h.id for h in c.search(q, k=5, filter='{"n": {"$lt": 10}}')] == [
        h.id for h in c.search(q, k=500) if int(h.id[1:]) < 10
    ][:5]
    page = c.search(q, k=5, offset=5)
    assert [h.id for h in page] == [h.id for h in c.search(q, k=10)][5:]
    bare = c.search(q, k=3, include_payload=False, include_vector=True)
    assert bare[0].payload is None and bare[0].vector.shape == (16,)
    info = c.create_index(nlist=8, m=4, seed=1)
    assert info["kind"] == "ivf-pq" and info["nlist"] == 8 and info["indexed"] == 500
    exact = [h.id for h in c.search(q, k=10, exact=True)]
    assert [h.id for h in c.search(q, k=10, nprobe=8, refine=50)] == exact
    funnel = [h.id for h in c.search(q, k=10, dims=8, nprobe=8, refine=50)]
    assert funnel == exact
    assert c.drop_index() is True
    # 4-bit fast-scan codes: exhaustive parameters are exact too; bad bits are refused.
    info = c.create_index(nlist=8, m=8, bits=4)
    assert info["bits"] == 4 and info["m"] == 8
    assert [h.id for h in c.search(q, k=10, nprobe=8, refine=50)] == exact
    with pytest.raises(quiver.InvalidArgument):
        c.create_index(bits=3)
    assert c.drop_index() is True
    c.create_payload_index("n", "integer")
    assert len(c.search(q, k=3, filter={"n": {"$gte": 490}})) == 3


def test_search_batch_returns_ids_and_a_score_matrix(filled):
    _, c, vs = filled
    qs = random_vectors(20, 16, seed=6)
    ids, scores = c.search_batch(qs, k=4)
    assert scores.shape == (20, 4) and scores.dtype == np.float32 and len(ids) == 20
    for q, row_ids, row_scores in zip(qs, ids, scores):
        want_ids, want_scores = exact_top(vs, q, 4)
        assert row_ids == want_ids
        np.testing.assert_allclose(row_scores, want_scores, rtol=1e-5, atol=1e-6)
    # Fewer matches than k: NaN scores past the end.
    ids, scores = c.search_batch(qs[:2], k=5, filter={"n": {"$in": [1, 2, 3]}})
    assert all(len(r) == 3 for r in ids) and np.isnan(scores[:, 3:]).all()


def test_multi_vector_collection(db_path):
    with quiver.create(db_path) as db:
        mv = db.create_collection("mv", dim=4, multi_vector=True)
        assert mv.multi_vector
        docs = [np.eye(4, dtype=np.float32)[:2], np.eye(4, dtype=np.float32)[2:]]
        mv.upsert(["a", "b"], vectors=docs, payloads=[{"k": 1}, None])
        hits = mv.search(np.array([[0, 0, 1, 0]], dtype=np.float32), k=2)
        assert [h.id for h in hits] == ["b", "a"] and hits[0].score == pytest.approx(1.0)
        got = mv.get("a")
        assert got["vectors"].shape == (2, 4) and got["payload"] == {"k": 1}
        with pytest.raises(quiver.InvalidArgument):
            mv.search([0.0, 0.0, 1.0, 0.0], k=1)


def test_errors_are_typed(db_path, filled):
    db, c, _ = filled
    assert issubclass(quiver.DimensionMismatch, quiver.Error)
    with pytest.raises(quiver.DimensionMismatch, match="dimension"):
        c.search([1.0, 2.0], k=1)
    with pytest.raises(quiver.DimensionMismatch):
        c.upsert(["x"], vectors=np.ones((1, 3), dtype=np.float32))
    with pytest.raises(quiver.InvalidArgument):
        c.upsert(["x"], vectors=np.full((1, 16), np.nan, dtype=np.float32))
    with pytest.raises(quiver.InvalidArgument):
        c.search([1.0] * 16, k=0)
    with pytest.raises(quiver.InvalidArgument):
        c.search([1.0] * 16, filter={"n": {"$bogus": 1}})
    with pytest.raises(quiver.InvalidArgument):
        c.search([1.0] * 16, dims=17)
    with pytest.raises(quiver.InvalidArgument):
        c.upsert(["a", "b"], vectors=np.ones((1, 16), dtype=np.float32))
    with pytest.raises(quiver.InvalidArgument):
        c.upsert(["a"], vectors=np.ones((1, 16), dtype=np.float32), payloads=["not a dict"])
    with pytest.raises(quiver.AlreadyExists):
        db.create_collection("docs", dim=16)
    with pytest.raises(quiver.NotFound):
        db.collection("nope")
    with pytest.raises(quiver.InvalidArgument):
        db.create_collection("bad", dim=4, metric="manhattan")
    # Nothing of the refused batches was written.
    assert c.count() == 500


SECOND_PROCESS = """
import sys, quiver
path = sys.argv[1]
with quiver.open(path, read_only=True) as ro:
    c = ro.collection("docs")
    print("count", c.count())
    try:
        c.upsert(["x"], vectors=[[1.0] * 16])
    except quiver.ReadOnly as e:
        print("read-only", e)
with quiver.open(path) as rw:
    rw.collection("docs").delete(["r0"])
    print("wrote")
try:
    quiver.open(path, exclusive=True, busy_timeout=0.1)
except quiver.Locked as e:
    print("locked", e)
"""


def test_another_process_reads_and_writes_beside_this_one(filled, db_path):
    db, c, _ = filled
    out = subprocess.run(
        [sys.executable, "-c", SECOND_PROCESS, db_path], capture_output=True, text=True, env=dict(os.environ)
    )
    lines = out.stdout.splitlines()
    assert lines[0] == "count 500", out.stderr
    assert lines[1].startswith("read-only"), out.stderr
    assert lines[2] == "wrote", out.stderr
    assert lines[3].startswith("locked") and "open for writing" in lines[3], out.stderr
    # This handle sees the other process's delete on its next call.
    assert c.count() == 499
    with quiver.open(db_path, read_only=True) as ro:
        assert ro.collection("docs").count() == 499
    with pytest.raises(quiver.InvalidArgument):
        quiver.open(db_path, busy_timeout=-1)
    with pytest.raises(quiver.NotFound):
        quiver.open(db_path + ".missing", read_only=True)


def test_damaged_file_raises_corrupted(db_path):
    with quiver.create(db_path) as db:
        c = db.create_collection("docs", dim=8)
        c.upsert([f"r{i}" for i in range(300)], vectors=random_vectors(300, 8))
    data = bytearray(open(db_path, "rb").read())
    # Flip a byte in every 256 past the first page: vector blocks and B-tree pages alike.
    for i in range(4096, len(data), 256):
        data[i] ^= 0xFF
    open(db_path, "wb").write(bytes(data))
    with pytest.raises((quiver.Corrupted, quiver.NotADatabase)):
        with quiver.open(db_path) as db:
            c = db.collection("docs")
            c.check()
            c.search([1.0] * 8, k=5)


def test_the_cli_reads_what_python_wrote_and_back(db_path, cli):
    with quiver.create(db_path) as db:
        c = db.create_collection("docs", dim=3, metric="l2")
        c.upsert(["a", "b"], vectors=np.array([[0, 0, 0], [5, 5, 5]], dtype=np.float32), payloads=[{"x": 1}, {"x": 2}])
    out = subprocess.run([cli, "search", db_path, "docs", "--vector", "[4,4,4]", "-k", "1", "--json"], capture_output=True, text=True, check=True)
    hit = json.loads(out.stdout)["hits"][0]
    assert hit["id"] == "b" and hit["payload"] == {"x": 2}
    rows = "\n".join(json.dumps({"id": f"c{i}", "vector": [i, i, i]}) for i in range(10))
    data = db_path + ".jsonl"
    open(data, "w").write(rows + "\n")
    subprocess.run([cli, "import", db_path, "docs", data], check=True, capture_output=True)
    with quiver.open(db_path) as db:
        c = db.collection("docs")
        assert c.count() == 12
        assert c.search([7.1, 7.1, 7.1], k=1)[0].id == "c7"


def test_arrays_in_any_layout_are_accepted(db_path):
    """C-contiguous float32 is read in place; read-only, Fortran-order, strided and float64
    arrays take the converting path — the stored vectors are the same either way."""
    vs = random_vectors(30, 8, seed=9)
    with quiver.create(db_path) as db:
        a = db.create_collection("a", dim=8)
        b = db.create_collection("b", dim=8)
        frozen = vs.copy()
        frozen.setflags(write=False)
        a.upsert([f"r{i}" for i in range(30)], vectors=frozen)
        b.upsert([f"r{i}" for i in range(30)], vectors=np.asfortranarray(vs.astype(np.float64)))
        for i in (0, 17, 29):
            np.testing.assert_array_equal(a.get(f"r{i}")["vector"], b.get(f"r{i}")["vector"])
        wide = np.zeros((30, 16), dtype=np.float32)
        wide[:, ::2] = vs
        ids, _ = a.search_batch(wide[:, ::2], k=1)
        assert [r[0] for r in ids] == [f"r{i}" for i in range(30)]
        assert a.upsert([], vectors=np.zeros((0, 8), dtype=np.float32)) is None
        assert a.count() == 30


def test_rescore_in_a_multi_vector_collection_of_the_same_ids(db_path):
    with quiver.create(db_path) as db:
        dense = db.create_collection("dense", dim=4)
        late = db.create_collection("late", dim=4, multi_vector=True)
        eye = np.eye(4, dtype=np.float32)
        ids = ["a", "b", "c"]
        dense.upsert(ids, vectors=np.array([[1, 0.2, 0, 0], [1, 0.1, 0, 0], [1, 0, 0, 0]], dtype=np.float32))
        late.upsert(ids, vectors=[eye[:1], eye[1:3], eye[3:]])
        q = np.array([1, 0.15, 0, 0], dtype=np.float32)
        first = [h.id for h in dense.search(q, k=3)]
        hits = dense.search(q, k=3, rescore=late, rescore_query=eye[2:3], rescore_top=3)
        assert [h.id for h in hits] == ["b", "a", "c"] != first
        assert [s[0] for s in hits[0].stages] == ["retrieve", "rescore"]
        assert hits[0].score == pytest.approx(1.0)
        with pytest.raises(quiver.InvalidArgument):
            dense.search(q, k=3, rescore="late")
