"""Reliability rig: moto's server on 127.0.0.1 with S3's sequencers, the fault proxy, the real handler.

The handler's S3 and DynamoDB clients go through local.faults.FaultProxy; the test's own uploads
and checks go straight to moto. The model is the bundled one, wrapped to count inferences.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from local.aws import LocalStack, create_resources, fresh_default_session, moto_server, moto_server_process
from local.context import LocalContext
from local.faults import FaultPlan, FaultProxy
from local.queue import pump, receive_event

if TYPE_CHECKING:
    from handler.invocation import Handler

# Distinctive fake credentials, so a test can prove they never reach a log line.
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIARELIABILITY7TEST",
    "AWS_SECRET_ACCESS_KEY": "reliability/Secret+Key/never-logged-7",
    "AWS_SESSION_TOKEN": "reliability-session-token-never-logged-7",
}
# Real S3 sequencers are per-key increasing hex strings of varying length. Start just below 16**15
# so the run crosses from 15 to 16 digits: a plain string comparison would then get the order wrong.
_SEQUENCER = itertools.count(16**15 - 64)
_SEQUENCER_LOCK = threading.Lock()
NO_FAULTS = FaultPlan()


def next_sequencer() -> str:
    with _SEQUENCER_LOCK:
        return f"{next(_SEQUENCER):X}"


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    patch = pytest.MonkeyPatch()
    with moto_server() as endpoint:
        for name, value in CREDENTIALS.items():
            patch.setenv(name, value)
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        patch.setenv("AWS_ENDPOINT_URL", endpoint)
        patch.setenv("TABLE_NAME", "leaf-diagnoses-reliability")  # handler.app builds its container from this
        patch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
        _emit_sequencers_like_s3(patch)
        fresh_default_session()
        yield endpoint
    patch.undo()


def _emit_sequencers_like_s3(patch: pytest.MonkeyPatch) -> None:
    """moto's S3 events carry no sequencer and no versionId; real S3's do. Add them as S3 would."""
    from moto.s3 import notifications

    original = notifications._get_s3_event

    def with_sequencer(event_name: str, bucket: Any, key: Any, notification_id: str) -> dict[str, Any]:
        event = original(event_name, bucket, key, notification_id)
        obj = event["Records"][0]["s3"]["object"]
        obj["sequencer"] = next_sequencer()
        if getattr(bucket, "is_versioned", False) and key.version_id:
            obj["versionId"] = key.version_id
        return event

    patch.setattr(notifications, "_get_s3_event", with_sequencer)


@pytest.fixture(autouse=True)
def _no_real_aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Override the unit-test guard: every client here talks to the local endpoint."""
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)


@pytest.fixture(scope="session")
def app(moto_endpoint: str) -> Handler:
    """The handler as the image's CMD builds it from the environment; its model is loaded once per session."""
    import handler.app

    return handler.app.function()


class CountingClassifier:
    """The real classifier, counting inferences (one at a time: the LiteRT interpreter is not thread-safe)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._lock = threading.Lock()
        self.inferences = 0
        self.new_version: str | None = None  # set to stand in for a newly deployed model

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    @property
    def model_version(self) -> str:
        return self.new_version or self._inner.model_version

    def classify(self, image: Any) -> Any:
        with self._lock:
            self.inferences += 1
            prediction = self._inner.classify(image)
        return replace(prediction, model_version=self.model_version)


@dataclass
class Rig:
    """One bucket/table/queue, the handler wired through a fault proxy, and ways to feed it events."""

    app: Handler
    stack: LocalStack
    proxy: FaultProxy
    container: Any
    classifier: CountingClassifier
    s3: Any = field(default_factory=lambda: boto3.client("s3"))
    failures: int = 0  # invocations (or SQS messages) that asked for a retry
    _direct: Any = None

    def upload(self, key: str, body: bytes, content_type: str = "image/jpeg") -> dict[str, Any]:
        return self.s3.put_object(Bucket=self.stack.bucket, Key=key, Body=body, ContentType=content_type)

    def stored(self, key: str) -> dict[str, Any] | None:
        """The stored record, read straight from moto (not through the faults)."""
        from handler.stores import DynamoResultStore

        if self._direct is None:
            self._direct = DynamoResultStore(boto3.client("dynamodb"), self.stack.table)
        return self._direct.get(f"s3://{self.stack.bucket}/{key}")

    def writes(self, key: str | None = None) -> int:
        """Result rows moto actually applied (a reply the proxy 'lost' still counts: the row was written)."""
        return sum(
            1 for s in self.proxy.stats.seen
            if s.operation == "PutItem" and s.upstream == 200 and (key is None or s.path.endswith(f"/{key}"))
        )

    def invoke(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        return self.app.lambda_handler(event, context or LocalContext())

    def receive(self, batch_size: int = 10) -> dict[str, Any] | None:
        return receive_event(self.stack.queue_url or "", batch_size, wait_seconds=0)

    def pump(self, batch_size: int = 10, max_batches: int = 500, on_reply: Callable[..., None] | None = None) -> int:
        """Lambda's SQS poller (local.queue.pump): deliver batches until the queue is empty; a failed
        message comes back after a visibility timeout of a second, as the event source mapping does."""

        def invoke(event: dict[str, Any]) -> dict[str, Any]:
            started = time.perf_counter()
            reply = self.invoke(event)
            self.failures += len((reply or {}).get("batchItemFailures", []))
            if on_reply:
                on_reply(event, reply, time.perf_counter() - started)
            return reply

        return pump(self.stack.queue_url or "", invoke, batch_size, max_batches)


@pytest.fixture
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Compress botocore's backoff sleeps tenfold; which errors are retried, and how often, is unchanged.

    Throttling backs off from 1 s (5xx from 25-50 ms): at the fault rates used here that is most of
    a run's wall time, spent sleeping.
    """
    from botocore.retries.standard import ExponentialBackoff

    original = ExponentialBackoff.delay_amount
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: original(self, context) / 10)


@pytest.fixture
def moto_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's server in a process of its own: on a multi-core machine the emulated AWS stops sharing
    the handler's GIL. Used by the load test, which measures throughput (no sequencer shim there)."""
    with moto_server_process() as endpoint:
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
        yield endpoint


@pytest.fixture
def make_rig(app: Handler, moto_endpoint: str) -> Iterator[Callable[..., Rig]]:
    """Build a rig: fresh resources, a proxy with the given fault plan, and a handler whose clients go through it."""
    from handler.config import Settings
    from handler.container import build_container, client_config
    from handler.invocation import make_handler

    proxies: list[FaultProxy] = []

    def build(plan: FaultPlan = NO_FAULTS, sink: str = "dynamodb", versioned: bool = False,
              prefix_filter: str = "garden-images/", config: Any = None, upstream: str | None = None,
              **settings: Any) -> Rig:
        suffix = uuid.uuid4().hex[:8]
        stack = create_resources(bucket=f"leaf-rel-{suffix}", table=f"leaf-rel-{suffix}", queue=f"leaf-rel-{suffix}",
                                 prefix=prefix_filter)
        if versioned:
            boto3.client("s3").put_bucket_versioning(Bucket=stack.bucket, VersioningConfiguration={"Status": "Enabled"})
        proxy = FaultProxy(upstream or moto_endpoint, plan).__enter__()
        proxies.append(proxy)
        counting = CountingClassifier(app.container.classifier)  # the model is loaded once per session
        container = build_container(
            Settings(table_name=stack.table, result_sink=sink, images_bucket=stack.bucket,
                     **{"result_mac_key": stack.mac_key, **settings}),
            s3=boto3.client("s3", endpoint_url=proxy.endpoint, config=config or client_config()),
            dynamodb=boto3.client("dynamodb", endpoint_url=proxy.endpoint, config=config or client_config()),
            classifier=counting,  # a Classifier that counts its calls
        )
        rig = Rig(app=make_handler(container), stack=stack, proxy=proxy, container=container, classifier=counting)
        rig.pump(max_batches=5)  # drop the s3:TestEvent S3 queued when notifications were configured
        return rig

    yield build
    for proxy in proxies:
        proxy.__exit__(None, None, None)
