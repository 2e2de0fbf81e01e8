"""End-to-end over HTTP: moto's server on 127.0.0.1, S3→SQS notifications, the real handler module."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest

from local.aws import LocalStack, create_resources, drain_events, moto_server
from local.context import LocalContext

BUCKET = "leaf-images-e2e"
TABLE = "leaf-diagnoses-e2e"


@pytest.fixture(scope="session")
def local_stack() -> Iterator[LocalStack]:
    patch = pytest.MonkeyPatch()
    with moto_server() as endpoint:
        patch.setenv("AWS_ENDPOINT_URL", endpoint)
        patch.setenv("AWS_ACCESS_KEY_ID", "local")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "local")
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        patch.setenv("TABLE_NAME", TABLE)
        patch.setenv("IMAGES_BUCKET", BUCKET)
        patch.setenv("RESULT_SINK", "both")
        stack = create_resources(bucket=BUCKET, table=TABLE, queue="e2e-events")
        yield stack
    patch.undo()


@pytest.fixture(autouse=True)
def _no_real_aws(local_stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> None:
    """Override the unit-test guard: here every call goes to the local endpoint."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", local_stack.endpoint)


@pytest.fixture(scope="session")
def app(local_stack: LocalStack) -> ModuleType:
    import handler.app

    return handler.app


@pytest.fixture
def s3(local_stack: LocalStack) -> Any:
    return boto3.client("s3")


@pytest.fixture
def deliver(app: ModuleType, local_stack: LocalStack):
    """Feed every event S3 queued to the handler, as Lambda would; return the handler's results."""

    def run() -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        for event in drain_events(local_stack.queue_url or "", wait_seconds=0):
            response = app.lambda_handler(event, LocalContext())
            results.extend(response.get("results", []))
        return results

    run()  # discard what earlier tests left (the s3:TestEvent, mostly)
    return run


def stored(app: ModuleType, bucket: str, key: str) -> dict[str, Any] | None:
    return app.container.table.get(f"s3://{bucket}/{key}")


def json_lines(text: str) -> list[dict[str, Any]]:
    lines = []
    for line in text.splitlines():
        try:
            lines.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return lines
