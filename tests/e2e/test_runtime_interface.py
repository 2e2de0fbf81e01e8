"""The handler exactly as the image's CMD names it, under AWS's runtime interface client.

The task directory holds what the Dockerfile copies (handler/, model/*.py, the model
directory) and nothing else; awslambdaric talks to a Runtime API served by the test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EVENTS, ROOT
from tests.e2e.conftest import BUCKET, TABLE
from tests.e2e.runtime_api import RuntimeAPI

pytest.importorskip("awslambdaric")

CMD = "handler.app.lambda_handler"


def image_cmd() -> str:
    """The handler the Dockerfile's CMD names, so this test follows the image."""
    for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        if line.startswith("CMD"):
            return json.loads(line.removeprefix("CMD").strip())[0]
    raise AssertionError("Dockerfile has no CMD")


@pytest.fixture
def task_root(tmp_path: Path) -> Path:
    task = tmp_path / "task"
    shutil.copytree(ROOT / "handler", task / "handler", ignore=shutil.ignore_patterns("__pycache__"))
    (task / "model").mkdir()
    for source in (ROOT / "model").glob("*.py"):
        shutil.copy(source, task / "model" / source.name)
    shutil.copytree(ROOT / "model" / "demo", task / "model" / "demo")
    return task


def s3_event(key: str, etag: str) -> dict:
    event = json.loads((EVENTS / "s3-put.json").read_text(encoding="utf-8"))
    obj = event["Records"][0]["s3"]
    obj["bucket"]["name"] = BUCKET
    obj["object"].update(key=key.replace(" ", "+"), eTag=etag)
    return event


def test_runtime_interface_client_runs_the_image_cmd(task_root, local_stack, handler_keys, s3, leaf_jpeg):
    assert image_cmd() == CMD
    keys = ["garden-images/ric/first leaf.jpg", "garden-images/ric/second.jpg"]
    etags = [s3.put_object(Bucket=BUCKET, Key=k, Body=leaf_jpeg(i, seed=670_000))["ETag"].strip('"')
             for i, k in enumerate(keys)]
    api = RuntimeAPI().start()
    env = {
        "PATH": os.environ["PATH"],
        # the resolved runtime set in the runtime-only run; absolute, since the task root is the cwd
        "PYTHONPATH": os.pathsep.join(str(Path(p).resolve()) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p),
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "AWS_LAMBDA_FUNCTION_NAME": "leaf-diagnosis",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "2048",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_ENDPOINT_URL": local_stack.endpoint,
        **handler_keys, "AWS_DEFAULT_REGION": "us-east-1",  # the function role's permissions, as in Lambda
        "TABLE_NAME": TABLE, "IMAGES_BUCKET": BUCKET, "RESULT_SINK": "dynamodb",
        "MODEL_DIR": str(task_root / "model" / "demo"),
        "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon here
    }
    process = subprocess.Popen([sys.executable, "-m", "awslambdaric", CMD], cwd=task_root, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    alive = lambda: process.poll() is None
    output = ""
    try:
        first = api.invoke(s3_event(keys[0], etags[0]), alive)
        test_event = api.invoke(json.loads((EVENTS / "s3-test-event.json").read_text(encoding="utf-8")), alive)
        unknown = api.invoke({"hello": "world"}, alive)
        second = api.invoke(s3_event(keys[1], etags[1]), alive)
        asked = api.wait_for_next_calls(5)  # four events answered, and the runtime asks for a fifth
        assert asked and process.poll() is None, "the runtime exited instead of waiting for the next event"
    except (RuntimeError, TimeoutError):
        process.terminate()
        output, _ = process.communicate(timeout=30)
        raise AssertionError(f"runtime failed; its output:\n{output}") from None
    finally:
        if process.poll() is None:
            process.terminate()
            output, _ = process.communicate(timeout=30)
        api.stop()

    assert api.init_error is None
    assert first.response["results"][0]["status"] == "ok", output
    assert test_event.response["status"] == "acknowledged"
    assert unknown.error["errorType"] == "UnknownEvent" and "accepted shapes" in unknown.error["errorMessage"]
    assert second.response["results"][0]["status"] == "ok"
    assert api.next_calls == 5  # one process served all four, then waited for a fifth
    assert sum('"ColdStart":[1.0]' in line for line in output.splitlines()) == 1  # init ran once
    assert output.count('"cold_start":true') == 1
    import boto3

    table = boto3.client("dynamodb")
    for key in keys:
        item = table.get_item(TableName=TABLE, Key={"image": {"S": f"s3://{BUCKET}/{key}"}})["Item"]
        assert item["status"]["S"] == "ok" and item["label"]["S"].startswith("Synthleaf_")
