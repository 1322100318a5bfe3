import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def db_path(tmp_path):
    return str(tmp_path / "test.qvr")


@pytest.fixture(scope="session")
def cli():
    """The workspace's `quiver` binary (built by `cargo test --workspace`)."""
    target = os.environ.get("CARGO_TARGET_DIR", str(ROOT / "target"))
    path = pathlib.Path(target) / "debug" / "quiver"
    if not path.exists():
        pytest.fail(f"{path} is missing: build the workspace first (cargo build --workspace)")
    return str(path)


@pytest.fixture(scope="session")
def model_dir():
    """all-MiniLM-L6-v2 (scripts/fetch_model.sh); CI sets QUIVER_MODEL_DIR."""
    path = os.environ.get("QUIVER_MODEL_DIR")
    if not path:
        pytest.fail("QUIVER_MODEL_DIR is not set (scripts/fetch_model.sh prints the folder)")
    return path
