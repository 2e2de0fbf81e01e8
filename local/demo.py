"""The main job on the embedded default: upload leaf photos to a local S3 and watch them get diagnosed.

    python -m local.demo

Starts moto's server on 127.0.0.1, creates the bucket (S3→SQS notifications on the prefix),
the table and the queue, uploads synthetic leaves of known condition and the real photo from
../shared, feeds the events S3 emitted to the handler, and prints what was stored.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from local.aws import DEFAULT_BUCKET, DEFAULT_TABLE, create_resources, drain_events, moto_server, use_local_credentials
from local.context import LocalContext

REAL_PHOTO = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "plantnet" / "sample_leaf.jpg"
DEMO_SEED = 900_000  # far from the training seeds: these leaves were never seen in training
PREFIX = "garden-images/"


def demo_uploads(real_photo: Path | None) -> list[tuple[str, bytes, str, str | None]]:
    """(key, bytes, content type, expected label) for every sample the demo uploads."""
    from model.synthetic import LABELS, make_leaf

    uploads: list[tuple[str, bytes, str, str | None]] = []
    for index, label in enumerate(LABELS):
        buffer = io.BytesIO()
        make_leaf(index, seed=DEMO_SEED + index).save(buffer, format="JPEG", quality=90)
        condition = label.split("_", 1)[1]
        uploads.append((f"{PREFIX}demo/{condition} leaf.jpg", buffer.getvalue(), "image/jpeg", label))
    if real_photo and real_photo.is_file():
        uploads.append((f"{PREFIX}real/sample_leaf.jpg", real_photo.read_bytes(), "image/jpeg", None))
    uploads.append((f"{PREFIX}demo/not-a-photo.jpg", b"%PDF-1.4 this is not an image", "image/jpeg", None))
    return uploads


def configure(verbose: bool) -> None:
    os.environ.setdefault("TABLE_NAME", DEFAULT_TABLE)
    os.environ.setdefault("IMAGES_BUCKET", DEFAULT_BUCKET)
    os.environ.setdefault("RESULT_SINK", "both")
    if not verbose:
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")


def run(real_photo: Path | None, verbose: bool = False) -> int:
    import boto3

    configure(verbose)
    with moto_server() as endpoint:
        use_local_credentials(endpoint)
        stack = create_resources(bucket=os.environ["IMAGES_BUCKET"], table=os.environ["TABLE_NAME"])
        print(f"local S3/DynamoDB/SQS (moto server) at {endpoint}")
        print(f"bucket {stack.bucket}, table {stack.table}, notifications on {PREFIX} -> SQS")

        started = time.perf_counter()
        from handler.app import container, lambda_handler  # init: settings and model load

        init_s = time.perf_counter() - started
        meta = container.classifier.meta
        print(f"handler init (imports + model {meta.name} {meta.model_version}, {container.settings.model_runtime}): {init_s:.2f} s")

        s3 = boto3.client("s3")
        uploads = demo_uploads(real_photo)
        for key, body, content_type, _ in uploads:
            s3.put_object(Bucket=stack.bucket, Key=key, Body=body, ContentType=content_type)
        print(f"uploaded {len(uploads)} objects; delivering the events S3 emitted to the handler ...")

        counts: dict[str, int] = {}
        invocations = 0
        for event in drain_events(stack.queue_url or ""):
            invocations += 1
            result = lambda_handler(event, LocalContext())
            for item in result.get("results", []):
                counts[item["status"]] = counts.get(item["status"], 0) + 1
            if verbose:
                print(json.dumps(result))
        print(f"{invocations} events handled: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
        print("(skipped = the ObjectCreated:Copy events fired by our own metadata write-back; none re-diagnosed)\n")
        return report(stack.bucket, uploads, container.table)


def report(bucket: str, uploads: list[tuple[str, bytes, str, str | None]], table: Any) -> int:
    import boto3

    s3 = boto3.client("s3")
    rows = []
    wrong = 0
    for key, _, _, expected in uploads:
        item = table.get(f"s3://{bucket}/{key}") or {}
        meta = s3.head_object(Bucket=bucket, Key=key).get("Metadata", {})
        label = item.get("label") or item.get("error", "-")
        verdict = ""
        if expected:
            verdict = "correct" if item.get("label") == expected else f"WRONG (expected {expected})"
            wrong += verdict != "correct"
        rows.append((key, item.get("status", "MISSING"), label, item.get("confidence", ""),
                     item.get("latency_ms", ""), meta.get("diagnosis-label", "-"), verdict))
    widths = [max(len(str(r[i])) for r in rows + [_HEADER]) for i in range(len(_HEADER))]
    for row in [_HEADER] + rows:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)))
    missing = sum(1 for r in rows if r[1] == "MISSING")
    print(f"\n{len(rows)} stored results, {missing} missing, {wrong} wrong synthetic diagnoses")
    print("note: the bundled demo model knows only synthetic leaves; its answer on the real photo is not a diagnosis")
    return 1 if (missing or wrong) else 0


_HEADER = ("key", "status", "label / error", "confidence", "ms", "S3 metadata label", "check")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", type=Path, default=REAL_PHOTO, help="a real photo to upload too")
    parser.add_argument("--verbose", action="store_true", help="show the handler's JSON logs and metrics")
    args = parser.parse_args(argv)
    return run(args.photo, args.verbose)


if __name__ == "__main__":
    sys.exit(main())
