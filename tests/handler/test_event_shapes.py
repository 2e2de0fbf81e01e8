"""Every fixture in events/ is recognised by exactly one source check: detection cannot depend on order."""

import json

import pytest

from handler.sources import batch_ops, eventbridge, s3, sqs
from tests.conftest import EVENTS

CHECKS = {
    "s3 notification": s3.is_notification,
    "s3 test event": s3.is_test_event,
    "sqs batch": sqs.is_batch,
    "eventbridge": eventbridge.is_object_created,
    "batch operations": batch_ops.is_job_invocation,
}
EXPECTED = {
    "s3-put.json": "s3 notification",
    "s3-put-special-keys.json": "s3 notification",
    "s3-put-outside-prefix.json": "s3 notification",
    "s3-copy-writeback.json": "s3 notification",
    "s3-test-event.json": "s3 test event",
    "sqs-s3-put.json": "sqs batch",
    "eventbridge-s3-object-created.json": "eventbridge",
    "batch-ops-v1.json": "batch operations",
    "batch-ops-v2.json": "batch operations",
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_fixture_matches_exactly_its_own_source(name):
    event = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    assert [source for source, check in CHECKS.items() if check(event)] == [EXPECTED[name]]
