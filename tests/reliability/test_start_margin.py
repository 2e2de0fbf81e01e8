"""Every Timeout the template allows leaves usable time: records start until a fraction of it is left."""

import pytest

from local.context import LocalContext
from local.template import load_template
from model.synthetic import LABELS
from tests.reliability.test_idempotency import SMALL

ALLOWED_TIMEOUTS = load_template()["Parameters"]["Timeout"]["AllowedValues"]


class ScriptedContext(LocalContext):
    """Reports the full timeout at the start of the invocation, then a fixed time left."""

    def __init__(self, timeout_s: float, left_ms: int) -> None:
        super().__init__(timeout_s=timeout_s)
        self.left_ms = left_ms
        self.asked = 0

    def get_remaining_time_in_millis(self) -> int:
        self.asked += 1
        return int(self.timeout_s * 1000) if self.asked == 1 else self.left_ms


def test_the_allowed_timeouts_are_the_ones_documented():
    assert ALLOWED_TIMEOUTS == [5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600, 900]


@pytest.mark.parametrize("timeout_s", ALLOWED_TIMEOUTS)
def test_a_record_is_diagnosed_at_every_allowed_timeout(make_rig, leaf_jpeg, timeout_s):
    from handler.app import start_margin_ms

    margin = start_margin_ms(timeout_s * 1000)
    assert 0 < margin <= min(5_000, timeout_s * 200)  # at least 80 % of the invocation can start records
    rig = make_rig()
    key = f"garden-images/timeout-{timeout_s}/leaf.jpg"
    rig.upload(key, leaf_jpeg(2, size=SMALL))
    event = rig.receive()
    assert rig.invoke(event, LocalContext(timeout_s=timeout_s)) == {"batchItemFailures": []}
    assert rig.stored(key)["label"] == LABELS[2]


@pytest.mark.parametrize("timeout_s", [5, 30, 900])
def test_no_record_starts_with_less_than_the_margin_left(make_rig, leaf_jpeg, timeout_s):
    from handler.app import start_margin_ms

    rig = make_rig()
    key = f"garden-images/margin-{timeout_s}/leaf.jpg"
    rig.upload(key, leaf_jpeg(1, size=SMALL))
    event = rig.receive()
    margin = start_margin_ms(timeout_s * 1000)
    reply = rig.invoke(event, ScriptedContext(timeout_s, left_ms=margin - 1))
    assert [f["itemIdentifier"] for f in reply["batchItemFailures"]] == [event["Records"][0]["messageId"]]
    assert rig.stored(key) is None and rig.classifier.inferences == 0
    assert rig.invoke(event, ScriptedContext(timeout_s, left_ms=margin + 1)) == {"batchItemFailures": []}
    assert rig.stored(key)["label"] == LABELS[1]
