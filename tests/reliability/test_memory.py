"""One hostile upload must not take a batch down: 49 MP images decode within the container's budget."""

import json
import subprocess
import sys

import pytest

from model.synthetic import LABELS
from tests.conftest import ROOT
from tests.reliability.memory_batch import HOSTILE, ORDINARY, write_batch

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def batch_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("memory-batch")
    write_batch(directory)
    return directory


def run_batch(directory, memory_mb: int) -> dict:
    """The batch in a fresh process, so its peak RSS is the batch's and nobody else's."""
    done = subprocess.run([sys.executable, "-m", "tests.reliability.memory_batch", str(directory), str(memory_mb)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(("memory_mb", "peak_limit_mib"), [(2048, 1000), (512, 512)])
def test_a_batch_of_49_mp_images_stays_in_its_budget_and_every_ordinary_photo_is_diagnosed(
        batch_dir, memory_mb, peak_limit_mib):
    run = run_batch(batch_dir, memory_mb)
    results = run["results"]
    peak_mib = run["peak_kib"] / 1024
    decoded = [name for name in HOSTILE if results[name]["status"] == "ok"]
    print(f"\n{memory_mb} MB: peak RSS {peak_mib:.0f} MiB, decode budget {run['budget_bytes'] / MIB:.0f} MiB; "
          f"49 MP images decoded: {', '.join(decoded) or 'none'}")
    assert peak_mib < peak_limit_mib
    assert run["failures"] == []  # nothing retried: every outcome is final
    for name, label in ORDINARY:
        assert results[name]["status"] == "ok" and results[name]["label"] == LABELS[label], (name, results[name])
    for name in HOSTILE:
        if results[name]["status"] != "ok":
            assert results[name]["status"] == "rejected"
            assert "the decode budget is" in results[name]["error"]
            assert f"AWS_LAMBDA_FUNCTION_MEMORY_SIZE={memory_mb} MB" in results[name]["error"]
    if memory_mb == 2048:  # everything under the pixel limit fits at the default memory, taking turns
        assert set(decoded) == set(HOSTILE)
