"""Records per second through the handler: SQS batches of 10 against one record per invocation.

    python -m local.throughput --records 100 --size 1024

Runs the embedded local S3/DynamoDB (moto's server over HTTP; --endpoint to use one in another
process, which keeps moto's own work off the handler's interpreter), uploads synthetic leaf photos, and
feeds the same handler the same kind of events three ways: one record per invocation, batches of
10 on the record pool (the default), and batches of 10 with a pool of one thread (no overlap).
Every pass uses fresh keys, so nothing is skipped as already diagnosed.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import statistics
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any

from local.aws import create_resources, moto_server, use_local_credentials
from local.context import LocalContext

# Fresh names per run, so a long-running --endpoint can be reused.
RUN = time.strftime("%H%M%S")
BUCKET = f"leaf-throughput-{RUN}"
TABLE = f"leaf-throughput-results-{RUN}"


def sqs_event(bucket: str, keys: list[str], etags: dict[str, str]) -> dict[str, Any]:
    """An SQS batch whose messages each carry one S3 put notification, as buffered mode delivers them."""
    from urllib.parse import quote_plus

    records = []
    for index, key in enumerate(keys):
        body = {
            "Records": [
                {
                    "eventSource": "aws:s3",
                    "eventName": "ObjectCreated:Put",
                    "eventTime": "2026-11-25T10:00:00.000Z",
                    "s3": {
                        "bucket": {"name": bucket},
                        "object": {"key": quote_plus(key, safe="/"), "eTag": etags[key]},
                    },
                }
            ]
        }
        records.append(
            {
                "messageId": f"m-{index}-{key}",
                "receiptHandle": "r",
                "body": json.dumps(body),
                "attributes": {},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:q",
                "awsRegion": "us-east-1",
            }
        )
    return {"Records": records}


def upload(keys: list[str], size: int) -> dict[str, str]:
    import boto3

    from model.synthetic import LABELS, make_leaf

    s3 = boto3.client("s3")
    photos = []
    for index in range(len(LABELS)):
        buffer = io.BytesIO()
        make_leaf(index, seed=900_000 + index, size=(size, size * 3 // 4)).save(
            buffer, format="JPEG", quality=90
        )
        photos.append(buffer.getvalue())

    def put(indexed: tuple[int, str]) -> tuple[str, str]:
        index, key = indexed
        response = s3.put_object(
            Bucket=BUCKET, Key=key, Body=photos[index % len(photos)], ContentType="image/jpeg"
        )
        return key, response["ETag"].strip('"')

    with ThreadPoolExecutor(8) as pool:
        return dict(pool.map(put, enumerate(keys)))


def chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def run_pass(app: Any, keys: list[str], etags: dict[str, str], batch: int) -> float:
    """Seconds to diagnose every key, `batch` records per invocation."""
    started = time.perf_counter()
    for group in chunks(keys, batch):
        reply = app.lambda_handler(sqs_event(BUCKET, group, etags), LocalContext())
        if reply["batchItemFailures"]:
            raise RuntimeError(f"failures in a benchmark batch: {reply}")
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100, help="records per pass (default 100)")
    parser.add_argument("--size", type=int, default=1024, help="photo width in pixels (default 1024)")
    parser.add_argument("--rounds", type=int, default=3, help="passes of each kind; the median is reported")
    parser.add_argument("--sink", default="both", choices=["dynamodb", "s3-metadata", "both"])
    parser.add_argument(
        "--endpoint", help="an S3/DynamoDB endpoint already running (e.g. moto_server in another process)"
    )
    args = parser.parse_args(argv)
    os.environ.update(
        TABLE_NAME=TABLE,
        RESULT_SINK=args.sink,
        POWERTOOLS_LOG_LEVEL="WARNING",
        POWERTOOLS_METRICS_DISABLED="true",
    )
    logging.disable(logging.INFO)
    with ExitStack() as stack:
        endpoint = args.endpoint or stack.enter_context(moto_server())
        use_local_credentials(endpoint)
        stack_made = create_resources(bucket=BUCKET, table=TABLE, queue=None)
        os.environ["RESULT_MAC_KEY"] = stack_made.mac_key or ""  # the s3-metadata sink signs its results
        import handler.app
        from handler.container import build_container
        from handler.invocation import make_handler
        from handler.pipeline import RECORD_WORKERS

        modes = {
            "one by one": (1, RECORD_WORKERS),
            f"batch of 10, {RECORD_WORKERS} threads": (10, RECORD_WORKERS),
            "batch of 10, 1 thread": (10, 1),
        }
        c = handler.app.function().container  # one model and one set of clients for every mode
        handlers = {n: make_handler(build_container(c.settings, s3=c.s3, dynamodb=c.dynamodb, classifier=c.classifier,
                                                    record_workers=n)) for n in {1, RECORD_WORKERS}}
        app = handlers[RECORD_WORKERS]
        timings: dict[str, list[float]] = {name: [] for name in modes}
        warm = [f"garden-images/warm/{i}.jpg" for i in range(10)]
        run_pass(app, warm, upload(warm, args.size), 10)
        for round_index in range(args.rounds):
            for name, (batch, workers) in modes.items():
                keys = [
                    f"garden-images/r{round_index}/{name.replace(' ', '_')}/{i:04d}.jpg"
                    for i in range(args.records)
                ]
                etags = upload(keys, args.size)
                timings[name].append(run_pass(handlers[workers], keys, etags, batch))
    print(f"{args.records} records per pass, {args.size}px JPEGs, sink={args.sink}, median of {args.rounds}:")
    baseline = statistics.median(timings["one by one"])
    for name, seconds in timings.items():
        median = statistics.median(seconds)
        print(
            f"  {name:28s} {args.records / median:7.1f} records/s  (x{baseline / median:.2f})  "
            f"passes: {', '.join(f'{s:.2f}s' for s in seconds)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
