"""Measure request latency through the local API server: p50/p95 of N requests per payload.

    python -m local.latency [-n 30] [--api URL]

Without --api it starts the embedded S3/DynamoDB and the local server itself. The figures include
HTTP, the event translation and the handler (decode + inference), not API Gateway or a cold start.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from contextlib import ExitStack

import requests

from local.demo import REAL_PHOTO


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def measure(url: str, body: bytes, content_type: str, n: int) -> tuple[list[float], list[float]]:
    """Round-trip times and the handler's own decode + inference times (latency_ms), in ms."""
    session = requests.Session()
    session.post(url, data=body, headers={"Content-Type": content_type}, timeout=60).raise_for_status()  # warm-up
    times, inside = [], []
    for _ in range(n):
        started = time.perf_counter()
        response = session.post(url, data=body, headers={"Content-Type": content_type}, timeout=60)
        times.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        inside.append(float(response.json()["latency_ms"]))
    return times, inside


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=30)
    parser.add_argument("--api", help="an API already running (default: start one)")
    args = parser.parse_args(argv)
    from model.synthetic import make_leaf

    buffer = io.BytesIO()
    make_leaf(2, seed=910_000, size=(640, 480)).save(buffer, format="JPEG", quality=90)
    payloads = [("synthetic 640x480 JPEG", buffer.getvalue())]
    if REAL_PHOTO.is_file():
        payloads.append((f"real photo {REAL_PHOTO.name}", REAL_PHOTO.read_bytes()))
    with ExitStack() as stack:
        api = args.api
        if not api:
            from local.api import serve
            from local.aws import (
                DEFAULT_BUCKET,
                DEFAULT_TABLE,
                create_resources,
                moto_server,
                use_local_credentials,
            )

            os.environ.setdefault("TABLE_NAME", DEFAULT_TABLE)
            os.environ.setdefault("IMAGES_BUCKET", DEFAULT_BUCKET)
            os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
            os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
            os.environ.setdefault("LOCAL_API_QUIET", "1")
            use_local_credentials(stack.enter_context(moto_server()))
            create_resources(bucket=os.environ["IMAGES_BUCKET"], table=os.environ["TABLE_NAME"], queue=None)
            from handler.app import lambda_handler

            api = stack.enter_context(serve(lambda_handler))
        for name, body in payloads:
            times, inside = measure(f"{api.rstrip('/')}/diagnoses", body, "image/jpeg", args.n)
            print(f"POST /diagnoses, {name} ({len(body):,} bytes), n={args.n}: "
                  f"p50 {statistics.median(times):.1f} ms, p95 {percentile(times, 0.95):.1f} ms, max {max(times):.1f} ms; "
                  f"of which decode + inference p50 {statistics.median(inside):.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
