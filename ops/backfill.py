"""Diagnose the images already in a bucket that have no current result; run it again to resume.

    python -m ops.backfill s3://BUCKET/garden-images/                 # here, with a worker pool
    python -m ops.backfill s3://BUCKET/garden-images/ --manifest todo.csv   # for S3 Batch Operations
    python -m ops.backfill s3://BUCKET/garden-images/ --batch-operations --stack leaf-diagnosis
    python -m ops.backfill s3://leaf-images-local/garden-images/ --endpoint http://127.0.0.1:5000

A result is current when the stored record names the object's ETag and the deployed model's version,
so objects replaced since, or diagnosed by an older model, are done again. Locally, the handler's
own Diagnoser does the work (same reads, limits, records and stores as the Lambda function); with
--batch-operations, an S3 Batch Operations job runs the deployed function over what is left to do.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any
from urllib.parse import quote

from handler.diagnose import Diagnoser
from handler.domain import Outcome
from handler.errors import TransientError
from handler.s3_uri import split_s3_uri
from ops.backfill_todo import Listed, Lookup, list_images, metadata_lookup, needing_diagnosis, table_lookup


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """s3://bucket/prefix -> (bucket, prefix); the prefix may be empty."""
    try:
        bucket, prefix = split_s3_uri(uri)
    except ValueError as exc:
        raise ValueError(f"expected s3://bucket/prefix, got {uri!r}") from exc
    if not bucket:
        raise ValueError(f"expected s3://bucket/prefix, got {uri!r}")
    return bucket, prefix


def effective_prefix(prefix: str, image_prefix: str) -> str | None:
    """The narrower of the asked prefix and IMAGE_PREFIX, or None when they cannot overlap."""
    if prefix.startswith(image_prefix):
        return prefix
    if image_prefix.startswith(prefix):
        return image_prefix
    return None


def diagnose_all(
    diagnoser: Diagnoser, todo: list[Listed], workers: int, progress: Any = None
) -> Counter[str]:
    """Diagnose on a thread pool (I/O and decoding overlap, inference takes turns); count outcomes."""
    counts: Counter[str] = Counter()
    items = iter(todo)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="backfill") as pool:
        running: set[Future[Outcome]] = set()
        try:
            # Keep only a few tasks queued, so Ctrl-C stops promptly and memory stays flat.
            for item in items:
                running.add(pool.submit(diagnoser.diagnose, item.ref()))
                if len(running) >= workers * 2:
                    running = _collect(running, counts, progress)
            while running:
                running = _collect(running, counts, progress)
        except KeyboardInterrupt:
            for future in running:
                future.cancel()
            counts["interrupted"] += 1
    return counts


def _collect(running: set[Future[Outcome]], counts: Counter[str], progress: Any) -> set[Future[Outcome]]:
    done, pending = wait(running, return_when=FIRST_COMPLETED)
    for future in done:
        try:
            counts[future.result().status] += 1
        except TransientError:
            counts["failed"] += 1  # left without a result: the next run picks it up
        if progress is not None:
            progress.update(1)
    return pending


def manifest_csv(todo: Iterable[Listed]) -> tuple[bytes, int]:
    """A CSV manifest for S3 Batch Operations: bucket,key with the key URL-encoded, as it requires."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    count = 0
    for item in todo:
        writer.writerow([item.bucket, quote(item.key, safe="/")])
        count += 1
    return buffer.getvalue().encode("utf-8"), count


def write_manifest(todo: Iterable[Listed], path: Path) -> int:
    body, count = manifest_csv(todo)
    path.write_bytes(body)
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("uri", help="s3://bucket/prefix to backfill (narrowed to IMAGE_PREFIX)")
    parser.add_argument("--endpoint", help="a local S3/DynamoDB endpoint, e.g. the one `make demo` prints")
    parser.add_argument(
        "--table", help="results table (default: TABLE_NAME, or the local default with --endpoint)"
    )
    parser.add_argument("--workers", type=int, default=4, help="objects in flight at once (default 4)")
    parser.add_argument("--limit", type=int, help="diagnose at most this many now; run again for the rest")
    parser.add_argument(
        "--manifest", type=Path, help="write a Batch Operations CSV manifest instead of diagnosing"
    )
    parser.add_argument(
        "--batch-operations",
        action="store_true",
        help="upload the manifest and start an S3 Batch Operations job that runs the deployed function",
    )
    parser.add_argument(
        "--stack", default="leaf-diagnosis", help="the deployed stack, for --batch-operations (default leaf-diagnosis)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.manifest and args.batch_operations:
        parser.error("--manifest and --batch-operations are alternatives")

    from handler.config import Settings
    from handler.container import Container
    from handler.objects import ObjectReader
    from local.aws import DEFAULT_TABLE, use_local_credentials

    if args.endpoint:
        use_local_credentials(args.endpoint)
    env = dict(os.environ)
    stack = None
    if args.batch_operations:
        from ops import batch_job

        try:
            stack = batch_job.stack_for(args.stack, parse_s3_uri(args.uri)[0])
        except batch_job.StackNotReady as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        env = {**stack.environment, **env}  # the deployed function's settings, unless set here
    if args.table:
        env["TABLE_NAME"] = args.table
    elif args.endpoint:
        env.setdefault("TABLE_NAME", DEFAULT_TABLE)
    container = Container(Settings.from_env(env))
    bucket, prefix = parse_s3_uri(args.uri)
    narrowed = effective_prefix(prefix, container.settings.image_prefix)
    if narrowed is None:
        print(
            f"nothing to do: {prefix!r} is outside IMAGE_PREFIX {container.settings.image_prefix!r}",
            file=sys.stderr,
        )
        return 0

    version = container.classifier.model_version
    settings = container.settings
    lookups: list[Lookup] = []
    if settings.writes_table and settings.table_name:
        lookups.append(table_lookup(container.dynamodb, settings.table_name))
    if settings.writes_metadata:
        lookups.append(metadata_lookup(container.s3))
    todo, current = needing_diagnosis(list_images(container.s3, bucket, narrowed), lookups, version)
    if args.limit is not None:
        todo = todo[: args.limit]
    print(
        f"s3://{bucket}/{narrowed}: {current} already current for model {version}, {len(todo)} to do",
        file=sys.stderr,
    )

    if args.manifest:
        rows = write_manifest(todo, args.manifest)
        print(
            f"wrote {rows} task(s) to {args.manifest}; or let --batch-operations start the job (README)",
            file=sys.stderr,
        )
        return 0
    if stack is not None:
        from ops import batch_job

        return batch_job.start(container.s3, stack, *manifest_csv(todo))

    # The handler's Diagnoser, on a plain reader: this pool is the concurrency here.
    diagnoser = Diagnoser(
        container.settings,
        container.classifier,
        ObjectReader(container.s3, container.settings.max_image_bytes),
        container.store,
    )
    from tqdm import tqdm

    with tqdm(total=len(todo), unit="img", disable=args.no_progress or not todo, file=sys.stderr) as progress:
        counts = diagnose_all(diagnoser, todo, max(1, args.workers), progress)
    summary = ", ".join(f"{counts[k]} {k}" for k in ("ok", "rejected", "skipped", "failed") if counts[k])
    print(f"done: {summary or 'nothing diagnosed'}", file=sys.stderr)
    if counts["interrupted"]:
        print("interrupted: run the same command again to resume", file=sys.stderr)
        return 130
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
