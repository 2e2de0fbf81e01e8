"""Shared fixtures: real images in, and the network blocked for unit tests by default."""

from __future__ import annotations

import io
import os
import resource
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
SHARED = ROOT.parent / "shared" / "data" / "plantnet"
REAL_PHOTO = SHARED / "sample_leaf.jpg"
POTATO_DATA = ROOT.parent / "shared" / "data" / "potato"
POTATO_MODEL_DIR = ROOT / "model" / "potato"  # the MIT potato model: tests of real potato diagnoses use it
LEAVES_MODEL_DIR = ROOT / "model" / "leaves"  # the bundled default (handler/config.py)
LEAVES_DATA = ROOT.parent / "shared" / "data" / "leaves"
# The synthetic-leaf model is a test fixture: tests that send leaves of known synthetic condition
# (model/synthetic.py) and expect that label back run it. handler.app builds its container from the
# environment at import, so the default is set here, before any test module imports it; tests of
# the real model pass model_dir or MODEL_DIR explicitly.
SYNTHETIC_MODEL_DIR = ROOT / "model" / "demo"
os.environ.setdefault("MODEL_DIR", str(SYNTHETIC_MODEL_DIR))
# Seeds far from the training range: leaves the demo model has never seen.
UNSEEN_SEED = 500_000


# A test's layer is its folder. tests/e2e/ goes over HTTP to moto's server with the real model;
# tests/integration/ and tests/reliability/ start moto's server, subprocesses or TensorFlow; every
# other folder holds unit tests, which run with the network blocked (pytest-socket) in every run.
LAYERS = {"e2e": "e2e", "integration": "integration", "reliability": "integration"}


def layer_of(path: Path) -> str:
    """The layer of the test file at path: "unit", "integration" or "e2e"."""
    return LAYERS.get(path.resolve().relative_to(ROOT / "tests").parts[0], "unit")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """With `-m unit`, skip importing the other layers' modules (TensorFlow, moto's server) at all."""
    if config.getoption("markexpr") == "unit" and collection_path.is_relative_to(ROOT / "tests") \
            and collection_path != ROOT / "tests" and layer_of(collection_path) != "unit":
        return True
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        layer = layer_of(item.path)
        item.add_marker(layer)
        if layer == "unit":
            item.add_marker("disable_socket")
    # The slow files first: with several workers (make test) they then run beside the many short tests
    # instead of one of them alone at the end while the other workers idle.
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--cpu-durations", type=int, default=0, metavar="N",
                     help="list the N tests that took the most CPU time (this process and its reaped children): "
                          "on a busy machine wall times (--durations) mostly measure the others' load")


CPU_SECONDS: dict[str, float] = {}


def _cpu_now() -> float:
    mine, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return mine.ru_utime + mine.ru_stime + children.ru_utime + children.ru_stime


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    started = _cpu_now()
    try:
        return (yield)
    finally:
        CPU_SECONDS[item.nodeid] = _cpu_now() - started  # setup, call and teardown together


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)  # set in a pytest-xdist worker
    if workeroutput is not None:
        workeroutput["cpu_seconds"] = dict(CPU_SECONDS)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """pytest-xdist's controller: gather each worker's figures for the summary."""
    CPU_SECONDS.update(getattr(node, "workeroutput", {}).get("cpu_seconds", {}))


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    count = config.getoption("--cpu-durations")
    if not count or not CPU_SECONDS:
        return
    terminalreporter.section(f"most CPU time: {count} tests (setup + call + teardown)")
    for nodeid, seconds in sorted(CPU_SECONDS.items(), key=lambda kv: -kv[1])[:count]:
        terminalreporter.write_line(f"{seconds:8.2f}s cpu  {nodeid}")
    terminalreporter.write_line(f"{sum(CPU_SECONDS.values()):8.2f}s cpu in all {len(CPU_SECONDS)} tests")


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests never reach AWS: fake credentials, fixed region, no endpoint unless a test sets one."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture
def leaf_jpeg() -> Callable[..., bytes]:
    """JPEG bytes of a synthetic leaf of known condition."""
    from model.synthetic import make_leaf

    def make(label_index: int, seed: int = UNSEEN_SEED, size: tuple[int, int] = (320, 320), quality: int = 90) -> bytes:
        buffer = io.BytesIO()
        make_leaf(label_index, seed=seed + label_index, size=size).save(buffer, format="JPEG", quality=quality)
        return buffer.getvalue()

    return make


@pytest.fixture(scope="session")
def real_photo() -> bytes:
    if not REAL_PHOTO.is_file():
        pytest.skip(f"{REAL_PHOTO} not present (../shared sits beside the clone in CI)")
    return REAL_PHOTO.read_bytes()

