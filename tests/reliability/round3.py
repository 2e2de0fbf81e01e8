"""Helpers for the round-three tests (issue 20): events built from events/, answers read through the API.

Self-contained on purpose (tests/ is being reorganised): only the `make_rig` fixture and the
events/ fixtures are shared. A result is observed the way a caller sees it, `GET /diagnoses/{key}`,
never by reading the table or the store's classes.
"""

from __future__ import annotations

import base64
import copy
import json
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

from local.aws import drain_events
from local.context import LocalContext

EVENTS = Path(__file__).resolve().parents[2] / "events"
SMALL = (128, 128)
FORGED_LABEL = "Forged_healthy"


def event_fixture(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


def queued_events(rig: Any) -> list[dict[str, Any]]:
    """The S3 notifications S3 queued (one SQS message each, unwrapped); the test delivers them itself."""
    return list(drain_events(rig.stack.queue_url, wait_seconds=0))


def statuses(reply: dict[str, Any]) -> list[str]:
    return [r["status"] for r in reply["results"]]


def call(rig: Any, event: dict[str, Any]) -> tuple[int, Any]:
    """An API Gateway proxy event through lambda_handler; (status, decoded JSON body or text)."""
    response = rig.app.lambda_handler(event, LocalContext())
    body = response.get("body") or ""
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8")
    try:
        return response["statusCode"], json.loads(body)
    except json.JSONDecodeError:
        return response["statusCode"], body


def with_path(event: dict[str, Any], path: str) -> dict[str, Any]:
    varied = copy.deepcopy(event)
    varied["path"] = path
    varied["requestContext"]["path"] = "/v1" + path
    return varied


def with_text_body(event: dict[str, Any], text: str, content_type: str = "application/json") -> dict[str, Any]:
    varied = copy.deepcopy(event)
    varied["body"], varied["isBase64Encoded"] = text, False
    varied["headers"]["Content-Type"] = content_type
    varied["multiValueHeaders"]["Content-Type"] = [content_type]
    return varied


def get_result(rig: Any, key: str) -> tuple[int, Any]:
    """GET /diagnoses/{key}, the key percent-encoded as API Gateway passes it on."""
    return call(rig, with_path(event_fixture("api-get-diagnosis.json"), "/diagnoses/" + quote(key)))


def post_key(rig: Any, key: str) -> tuple[int, Any]:
    """POST /diagnoses {"key": ...}."""
    return call(rig, with_text_body(event_fixture("api-diagnose-key.json"), json.dumps({"key": key})))


def batch_job(rig: Any, key: str, version_id: str | None = None) -> dict[str, Any]:
    """An S3 Batch Operations (schema 2.0) invocation naming one object, its key URL-encoded as manifests have it."""
    event = event_fixture("batch-ops-v2.json")
    event["invocationId"] = uuid.uuid4().hex
    event["tasks"] = [{"taskId": uuid.uuid4().hex, "s3Bucket": rig.stack.bucket,
                       "s3Key": quote(key, safe="/"), "s3VersionId": version_id}]
    return event


def result_codes(reply: dict[str, Any]) -> list[tuple[str, str]]:
    return [(r["resultCode"], r["resultString"].split(":")[0]) for r in reply["results"]]


def eventbridge_event(rig: Any, raw_key: str, etag: str, version_id: str | None = None,
                      sequencer: str | None = None, reason: str = "PutObject") -> dict[str, Any]:
    """An EventBridge "Object Created" event for this rig's bucket, the key exactly as given."""
    event = event_fixture("eventbridge-s3-object-created.json")
    event["detail"]["bucket"]["name"] = rig.stack.bucket
    event["detail"]["object"].update(key=raw_key, etag=etag, sequencer=sequencer)
    event["detail"]["reason"] = reason
    if version_id:
        event["detail"]["object"]["version-id"] = version_id
    else:
        event["detail"]["object"].pop("version-id", None)
    return event


def forged(model_version: str, **overrides: str) -> dict[str, str]:
    """x-amz-meta-diagnosis-* an uploader sets by hand, naming the deployed model."""
    meta = {"diagnosis-model": model_version, "diagnosis-label": FORGED_LABEL,
            "diagnosis-confidence": "0.9999", "diagnosis-status": "ok"}
    return {**meta, **overrides}
