"""Uploads through local S3 → SQS → handler in Lambda-sized batches, with duplicates and faults.

200 in the suite; `make bench` (bench.run --load) runs 1,000 with LOAD_UPLOADS and prints the throughput.
"""

import io
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest

from local.faults import FaultPlan
from model.synthetic import LABELS, make_leaf

UPLOADS = int(os.environ.get("LOAD_UPLOADS", "200"))
BATCH = 10  # the SQS event source's default batch size
DUPLICATE_RATE = 0.1  # share of S3 events delivered a second time
WEATHER = FaultPlan(error_rate=0.03, lost_reply_rate=0.01, delay_rate=0.05, max_delay_s=0.02,
                    outage_every=900, outage_s=0.5, seed=1_000)


def small_jpeg(index: int) -> bytes:
    buffer = io.BytesIO()
    make_leaf(index % len(LABELS), seed=950_000 + index, size=(96, 96)).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def p95(values):
    ordered = sorted(values)
    return ordered[int(0.95 * (len(ordered) - 1))]


@pytest.mark.slow
def test_every_upload_gives_one_result_none_lost_none_twice(make_rig, moto_process, fast_backoff):
    rig = make_rig(WEATHER, upstream=moto_process)
    sqs = boto3.client("sqs")
    rng = random.Random(7)
    keys = {f"garden-images/load/{i:04d}.jpg": LABELS[i % len(LABELS)] for i in range(UPLOADS)}
    with ThreadPoolExecutor(max_workers=4) as pool:  # the uploaders are many phones, not one
        list(pool.map(lambda item: rig.upload(item[1], small_jpeg(item[0])), enumerate(keys)))

    duplicated: set[str] = set()
    batch_seconds: list[float] = []

    def redeliver_some(event, reply, seconds):
        batch_seconds.append(seconds)
        for record in event["Records"]:  # S3 delivers at least once: some events come again, later
            if record["body"] not in duplicated and rng.random() < DUPLICATE_RATE:
                duplicated.add(record["body"])
                sqs.send_message(QueueUrl=rig.stack.queue_url, MessageBody=record["body"])

    started = time.perf_counter()
    batches = rig.pump(batch_size=BATCH, max_batches=6 * UPLOADS // BATCH, on_reply=redeliver_some)
    elapsed = time.perf_counter() - started

    items = {key: rig.stored(key) for key in keys}
    lost = [key for key, item in items.items() if item is None or item.get("status") != "ok"]
    writes = rig.writes()
    wrong = [key for key, item in items.items() if item and item.get("label") != keys[key]]
    latencies = [item["latency_ms"] for item in items.values() if item]
    stats = rig.proxy.stats
    print(
        f"\nload: {UPLOADS} uploads + {len(duplicated)} duplicate events in {batches} batches of <= {BATCH}; "
        f"{len(items) - len(lost)} results, {len(lost)} lost, {writes - (len(items) - len(lost))} duplicated writes, "
        f"{len(wrong)} wrong labels; {rig.classifier.inferences} inferences; {rig.failures} messages retried\n"
        f"faults injected: {stats.count('error')} errors, {stats.count('outage')} in outages, "
        f"{stats.count('lost-reply')} lost replies, "
        f"{stats.count('delay')} delays in {len(stats.seen)} requests\n"
        f"throughput {UPLOADS / elapsed:.1f} uploads/s ({elapsed:.1f} s); "
        f"p95 per image (read+decode+infer) {p95(latencies):.1f} ms; p95 per batch {1000 * p95(batch_seconds):.0f} ms"
    )
    assert lost == []
    assert writes == UPLOADS  # one applied result row per upload: duplicates and retries wrote nothing
    assert len(duplicated) >= UPLOADS * DUPLICATE_RATE / 2
    assert stats.count("error") > 0 and stats.count("lost-reply") > 0
    assert rig.failures > 0  # outages outlasted botocore's retries: SQS redelivery had to finish the job
    # Duplicates cost no inference; only a retry after a failure that came after inference can.
    assert rig.classifier.inferences <= UPLOADS + rig.failures
    assert len(wrong) <= UPLOADS // 100, wrong[:5]  # the demo model's accuracy, not a reliability property
