"""model.evaluate through the local stack: every photo uploaded to the embedded default, diagnosed from its S3 event.

    python -m local.evaluate_s3 --model-dir model/potato --data ../shared/data/potato/Test [--unknown DIR]

The same options and report as `python -m model.evaluate`; the answers are read back from the
results table the handler wrote. (This module imports model.evaluate, never the reverse.)
"""

from __future__ import annotations

import contextlib
import mimetypes
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from local.aws import create_resources, drain_events, moto_server, use_local_credentials
from local.context import LocalContext
from model.evaluate import EvaluationError, Outcome, Photo, arguments, evaluate, print_report
from model.metadata import ModelMetadata

BUCKET = "leaf-images-evaluate"
TABLE = "leaf-diagnoses-evaluate"
PREFIX = "garden-images/"


def run_through_s3(model_dir: Path, photos: list[Photo], progress: Callable[..., Iterable[Any]]
                   ) -> tuple[ModelMetadata, list[Outcome]]:
    """Upload → S3 notification → SQS → a handler built for this run → the stored DynamoDB results."""
    import boto3

    from handler.config import Settings
    from handler.container import build_container
    from handler.invocation import make_handler

    with moto_server() as endpoint:
        use_local_credentials(endpoint)
        stack = create_resources(bucket=BUCKET, table=TABLE, queue="leaf-evaluate-events", prefix=PREFIX)
        settings = Settings(model_dir=model_dir, table_name=TABLE, images_bucket=BUCKET, result_sink="dynamodb",
                            image_prefix=PREFIX)
        function = make_handler(build_container(settings))
        meta = function.container.classifier.meta
        s3 = boto3.client("s3")
        keys = []
        for i, photo in enumerate(progress(photos, "uploading")):
            key = f"{PREFIX}evaluate/{i:05d}/{photo.path.parent.name}/{photo.path.name}"
            content_type = mimetypes.guess_type(photo.path.name)[0] or "application/octet-stream"
            s3.put_object(Bucket=stack.bucket, Key=key, Body=photo.path.read_bytes(), ContentType=content_type)
            keys.append(key)
        bar = progress([], "diagnosing")
        bar.reset(total=len(photos))  # type: ignore[attr-defined]
        for event in drain_events(stack.queue_url or "", wait_seconds=0):
            # Powertools prints its metrics to stdout: keep them out of the report.
            with contextlib.redirect_stdout(sys.stderr):
                results = function.lambda_handler(event, LocalContext()).get("results", [])
            bar.update(len(results))  # type: ignore[attr-defined]
        bar.close()  # type: ignore[attr-defined]
        table = function.container.table
        outcomes = [_outcome(photo, table.get(f"s3://{stack.bucket}/{key}") if table else None)
                    for photo, key in zip(photos, keys, strict=True)]
    return meta, outcomes


def _outcome(photo: Photo, item: dict[str, Any] | None) -> Outcome:
    if not item:
        return Outcome(photo, None, None, 0.0, "no stored result: the handler did not record this upload")
    if item.get("status") != "ok":
        reason = str(item.get("error", item.get("status")))
        return Outcome(photo, None, None, float(item.get("latency_ms", 0)), reason)
    recognized = item.get("recognized")  # absent until the handler stores the verdict
    return Outcome(photo, str(item["label"]), float(item["confidence"]), float(item.get("latency_ms", 0)),
                   recognized=None if recognized is None else bool(recognized), reason=item.get("reason"))


def main(argv: list[str] | None = None) -> int:
    args = arguments("python -m local.evaluate_s3", __doc__.splitlines()[0]).parse_args(argv)
    # A report to read, not the function's per-record log lines and metrics (read when handler/ is imported).
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    try:
        result = evaluate(args.model_dir, args.data, args.out, runner=run_through_s3, unknown=args.unknown,
                          non_photos=args.non_photos, mode="through-s3")
    except EvaluationError as exc:
        print(f"local.evaluate_s3: error: {exc}", file=sys.stderr)
        return 2
    print_report(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
