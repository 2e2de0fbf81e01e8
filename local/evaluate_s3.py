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
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from local.aws import create_resources, drain_events, moto_server, use_local_credentials
from local.context import LocalContext
from model.evaluate import EvaluationError, Outcome, Photo, arguments, evaluate
from model.evaluation_report import render
from model.metadata import ModelMetadata

BUCKET = "leaf-images-evaluate"
TABLE = "leaf-diagnoses-evaluate"
PREFIX = "garden-images/"


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set the handler's variables for the run and put the caller's environment back afterwards."""
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def run_through_s3(model_dir: Path, photos: list[Photo], progress: Callable[..., Iterable[Any]]
                   ) -> tuple[ModelMetadata, list[Outcome]]:
    """Upload → S3 notification → SQS → handler.app.lambda_handler → the stored DynamoDB results."""
    import boto3

    env = {"MODEL_DIR": str(model_dir), "TABLE_NAME": TABLE, "IMAGES_BUCKET": BUCKET, "RESULT_SINK": "dynamodb",
           "IMAGE_PREFIX": PREFIX, "POWERTOOLS_LOG_LEVEL": "ERROR", "POWERTOOLS_METRICS_DISABLED": "true"}
    with _environment(env), moto_server() as endpoint:
        use_local_credentials(endpoint)
        stack = create_resources(bucket=BUCKET, table=TABLE, queue="leaf-evaluate-events", prefix=PREFIX)
        imported_here = "handler.app" not in sys.modules
        import handler.app  # builds its container from the environment at first import
        from handler.config import Settings
        from handler.container import Container

        previous = handler.app.container
        settings = Settings.from_env()
        if previous.settings != settings:  # built at import for another MODEL_DIR or table
            handler.app.container = Container(settings)
        try:
            meta = handler.app.container.classifier.meta
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
                    results = handler.app.lambda_handler(event, LocalContext()).get("results", [])
                bar.update(len(results))  # type: ignore[attr-defined]
            bar.close()  # type: ignore[attr-defined]
            table = handler.app.container.table
            outcomes = [_outcome(photo, table.get(f"s3://{stack.bucket}/{key}") if table else None)
                        for photo, key in zip(photos, keys)]
        finally:
            handler.app.container = previous
            if imported_here:  # its container was built for this run: the next importer gets its own
                del sys.modules["handler.app"]
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
    try:
        result = evaluate(args.model_dir, args.data, args.out, runner=run_through_s3, unknown=args.unknown,
                          non_photos=args.non_photos, mode="through-s3")
    except EvaluationError as exc:
        print(f"local.evaluate_s3: error: {exc}", file=sys.stderr)
        return 2
    print(render(result))
    print(f"\nwrote {args.out / 'evaluation.json'}, {args.out / 'confusion.png'} and {args.out / 'scores.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
