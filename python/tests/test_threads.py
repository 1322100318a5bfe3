"""The GIL is released during searches: Python threads run them in parallel."""

import threading

import numpy as np

import quiver


def test_searches_release_the_gil(db_path):
    rng = np.random.default_rng(1)
    with quiver.create(db_path) as db:
        c = db.create_collection("docs", dim=64)
        vs = rng.standard_normal((20000, 64)).astype(np.float32)
        c.upsert([f"r{i}" for i in range(len(vs))], vectors=vs)
        qs = rng.standard_normal((3000, 64)).astype(np.float32)
        done = threading.Event()
        result = {}

        def work():
            # Exact searches one query at a time: long enough for the main thread to run.
            result["ids"] = [c.search(q, k=5, exact=True)[0].id for q in qs[:300]]
            done.set()

        t = threading.Thread(target=work)
        t.start()
        ticks = 0
        while not done.is_set():
            ticks += 1  # pure Python: runs only while the worker does not hold the GIL
        t.join()
        # Each search holds the GIL only to convert its arguments and results; a binding
        # that kept it for the whole search would leave this loop a handful of ticks.
        assert ticks > 10000, ticks
        assert len(result["ids"]) == 300


def test_threads_searching_one_collection_get_the_right_answers(db_path):
    rng = np.random.default_rng(2)
    with quiver.create(db_path) as db:
        c = db.create_collection("docs", dim=16)
        vs = rng.standard_normal((2000, 16)).astype(np.float32)
        c.upsert([f"r{i}" for i in range(len(vs))], vectors=vs)
        qs = rng.standard_normal((64, 16)).astype(np.float32)
        want = [c.search(q, k=3)[0].id for q in qs]
        got = [None] * len(qs)

        def work(part):
            for i in part:
                got[i] = c.search(qs[i], k=3)[0].id

        threads = [threading.Thread(target=work, args=(range(j, len(qs), 4),)) for j in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert got == want
