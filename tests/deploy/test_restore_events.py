"""Issue 20.4: a completed restore reaches the function on every deployment, through the resolved template.

The existing bucket's rule is evaluated by moto's EventBridge pattern matcher (the same code its
put_events runs), against events shaped as S3 documents them ("Amazon S3 events delivered via
EventBridge", detail types "Object Created" and "Object Restore Completed").
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.events.models import EventPattern

from tests.deploy.test_deployments import COMBINATIONS, COMBO_IDS, EXISTING, PREFIX, deploy

RESTORE = "s3:ObjectRestore:Completed"


def s3_event(detail_type: str, key: str, **extra: Any) -> dict[str, Any]:
    detail = {"version": "0", "bucket": {"name": EXISTING},
              "object": {"key": key, "size": 1, "etag": "b1946ac92492d2347c6235b4d2611184"}, **extra}
    return {"version": "0", "id": "1", "detail-type": detail_type, "source": "aws.s3", "account": "123456789012",
            "time": "2026-01-01T00:00:00Z", "region": "us-east-1", "resources": [f"arn:aws:s3:::{EXISTING}"],
            "detail": detail}


def rule_matches(mode: str, event: dict[str, Any]) -> bool:
    pattern = deploy(EXISTING, mode).resources()["UploadEventsRule"]["Properties"]["EventPattern"]
    return EventPattern.load(json.dumps(pattern)).matches_event(event)


@pytest.mark.parametrize(("existing", "mode"), COMBINATIONS, ids=COMBO_IDS)
def test_a_completed_restore_is_sent_where_uploads_go(existing, mode):
    resources = deploy(existing, mode).resources()
    if existing:
        restored = s3_event("Object Restore Completed", PREFIX + "leaf.jpg", **{"source-storage-class": "GLACIER"})
        assert rule_matches(mode, restored)
        return
    config = resources["ImagesBucket"]["Properties"]["NotificationConfiguration"]
    (notifications,) = config.values()
    (restore,) = [n for n in notifications if n["Event"] == RESTORE]
    target = "<UploadQueue.Arn>" if mode == "buffered" else "<DiagnosisFunction.Arn>"
    assert restore.get("Queue", restore.get("Function")) == target
    assert restore["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": PREFIX}]


@pytest.mark.parametrize("mode", ["direct", "buffered"])
def test_the_rule_still_takes_uploads_and_never_the_write_back_copy(mode):
    key = PREFIX + "leaf.jpg"
    for reason in ("PutObject", "POST Object", "CompleteMultipartUpload"):
        assert rule_matches(mode, s3_event("Object Created", key, reason=reason)), reason
    assert not rule_matches(mode, s3_event("Object Created", key, reason="CopyObject"))
    assert not rule_matches(mode, s3_event("Object Created", key))  # no reason: not an upload we know
    assert not rule_matches(mode, s3_event("Object Restore Completed", "elsewhere/leaf.jpg"))
    assert not rule_matches(mode, s3_event("Object Restore Initiated", key))
