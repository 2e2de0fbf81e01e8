"""The API commands as a newcomer runs them: local.invoke on API events, local.api and the client CLI."""

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import EVENTS, REAL_PHOTO, ROOT

KEEP_OUT = ("TABLE_NAME", "RESULT_SINK", "IMAGES_BUCKET")  # other tests' session settings


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k not in KEEP_OUT}


def run(*args: str, timeout: int = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], check=False, cwd=ROOT, env=clean_env(), capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ("api-diagnose-url.json", '\\"stored\\":true'),
        ("api-get-diagnosis.json", '\\"image\\":\\"s3://leaf-images-local/garden-images/tomato-leaf.jpg\\"'),
        ("api-seed-prediction.json", '\\"label\\":\\"Synthleaf_rust\\"'),
    ],
)
def test_invoke_runs_api_events_like_sam_local_invoke(event, expected):
    result = run("-m", "local.invoke", str(EVENTS / event))
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"statusCode": 200' in result.stdout and expected in result.stdout


def test_local_api_serves_and_the_client_cli_diagnoses_through_it(real_photo, tmp_path):
    errors = (tmp_path / "stderr").open("w+", encoding="utf-8")
    server = subprocess.Popen([sys.executable, "-m", "local.api", "--port", "0"], cwd=ROOT, env=clean_env(),
                              stdout=subprocess.PIPE, stderr=errors, text=True)
    printed = []
    try:
        url = None
        for line in server.stdout:
            printed.append(line)
            found = re.search(r"API at (http://127\.0\.0\.1:\d+)", line)
            if found:
                url = found.group(1)
            if line.startswith("Ctrl-C"):
                break
        assert url, "local.api never printed its URL"
        photo = run("-m", "local.client", str(REAL_PHOTO), "--api", url, timeout=60)
        assert photo.returncode == 0, photo.stderr
        assert "confidence" in photo.stdout
        # The seeded samples match the served model (here the synthetic one: MODEL_DIR=model/demo).
        sample = run("-m", "local.client", "--result", "garden-images/samples/rust.jpg", "--api", url, timeout=60)
        assert sample.returncode == 0 and sample.stdout.startswith("Synthleaf_rust"), sample.stdout + sample.stderr
        refused = run("-m", "local.client", "ftp://leaf-images-local.s3.amazonaws.com/garden-images/a.jpg", "--api", url, timeout=60)
        assert refused.returncode == 1 and "403" in refused.stderr
    finally:
        server.terminate()
        rest, _ = server.communicate(timeout=20)
    # What the person who ran `make api` saw: the URLs, and no LiteRT or EMF lines (the server's
    # one access-log line per request is on stderr, as http.server writes it).
    errors.seek(0)
    seen = "".join(printed) + rest + errors.read()
    assert not re.search(r"XNNPACK|TensorFlow Lite|^INFO:|\"_aws\"", seen, re.MULTILINE), seen[:2000]


def test_local_api_with_its_port_taken_says_so_and_how_to_choose_another():
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("-m", "local.api", "--port", str(port), timeout=60)
        by_env = subprocess.run([sys.executable, "-m", "local.api"], check=False, cwd=ROOT, capture_output=True, text=True,
                                env={**clean_env(), "LOCAL_API_PORT": str(port)}, timeout=60)
    for answer in (result, by_env):
        assert answer.returncode == 2, answer.stderr
        assert f"port {port} on 127.0.0.1 is already in use" in answer.stderr
        assert f"make api PORT={port + 1}" in answer.stderr and "--port" in answer.stderr
        assert "Traceback" not in answer.stderr
