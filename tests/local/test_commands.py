"""The README's commands, run as a newcomer would: as processes, on the embedded default."""

import os
import subprocess
import sys

import pytest

from tests.conftest import EVENTS, ROOT


def run(*args: str, timeout: int = 240) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k not in ("TABLE_NAME", "RESULT_SINK")}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def test_demo_diagnoses_every_synthetic_sample_correctly_and_stores_the_real_photo(real_photo):
    result = run("-m", "local.demo")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "0 missing, 0 wrong synthetic diagnoses" in out
    assert out.count("correct") == 5
    assert "garden-images/real/sample_leaf.jpg" in out and "MISSING" not in out
    assert "PDF files are not accepted" in out  # the PDF disguised as .jpg is rejected, not lost


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ("s3-put.json", '"status": "ok"'),
        ("s3-put-special-keys.json", "feuille à pois.jpg"),
        ("s3-put-outside-prefix.json", "outside IMAGE_PREFIX"),
        ("s3-copy-writeback.json", '"status": "ok"'),
        ("s3-test-event.json", "acknowledged"),
        ("sqs-s3-put.json", '"batchItemFailures": []'),
        ("eventbridge-s3-object-created.json", '"status": "ok"'),
        ("batch-ops-v1.json", '"resultCode": "Succeeded"'),
        ("batch-ops-v2.json", '"resultCode": "Succeeded"'),
    ],
)
def test_invoke_runs_each_event_file_like_sam_local_invoke(event, expected):
    result = run("-m", "local.invoke", str(EVENTS / event))
    assert result.returncode == 0, result.stdout + result.stderr
    assert expected in result.stdout
