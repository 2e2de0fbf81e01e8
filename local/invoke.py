"""Run the handler on one event file, the no-Docker equivalent of `sam local invoke -e FILE`.

    python -m local.invoke events/s3-put.json

By default it starts the embedded local S3/DynamoDB, creates the bucket and table the event
names, and uploads a synthetic leaf at every key the event references (updating the event's
eTag to the uploaded object's, as S3 would have sent it). With --endpoint it uses an existing
endpoint and objects as they are. It exits 1 when the handler raises, and when its reply reports a
failure: SQS messages to retry, Batch Operations tasks that did not succeed, an API 5xx.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
import os
import sys
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

from handler.sources.api import front_door
from local import quiet
from local.apievents import object_named, request_method
from local.aws import DEFAULT_BUCKET, DEFAULT_TABLE, create_resources, moto_server, use_local_credentials
from local.context import LocalContext


def seed_objects(event: dict[str, Any]) -> dict[str, Any]:
    """Upload a photo of the served model's labels at every object the event names (local/samples.py);
    return the event with matching ETags."""
    import boto3

    from local.samples import sample_photos, served_labels

    s3 = boto3.client("s3")
    count = itertools.count()
    photos = sample_photos(served_labels(), seed=700_000)

    def upload(bucket: str, key: str) -> tuple[str, int]:
        label, body = photos[next(count) % len(photos)]
        response = s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="image/jpeg")
        print(f"seeded s3://{bucket}/{key} with a photo of {label}", file=sys.stderr)
        return response["ETag"].strip('"'), len(body)

    seeded = copy.deepcopy(event)
    _visit_objects(seeded, upload)
    return seeded


def _upload_event(bucket: str, key: str) -> dict[str, Any]:
    """The S3 notification an upload of `key` would send (for seeding the objects API events name)."""
    record = {"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
              "s3": {"bucket": {"name": bucket}, "object": {"key": quote_plus(key, safe="/")}}}
    return {"Records": [record]}


def buckets_in(event: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    _visit_objects(copy.deepcopy(event), lambda bucket, key: (names.add(bucket), ("", 0))[1])
    if event.get("Event") == "s3:TestEvent":
        names.add(event.get("Bucket"))
    return {n for n in names if n}


def _visit_objects(event: dict[str, Any], upload: Callable[[str, str], tuple[str, int]]) -> None:
    """Call upload(bucket, key) for each object the event names, writing the ETag back where the shape has one."""
    from handler.sources import batch_ops, eventbridge, sqs
    from handler.sources.s3 import decode_s3_key, is_notification

    if is_notification(event):
        for record in event["Records"]:
            obj = record["s3"]["object"]
            obj["eTag"], obj["size"] = upload(record["s3"]["bucket"]["name"], decode_s3_key(obj["key"]))
    elif sqs.is_batch(event):
        for record in event["Records"]:
            body = json.loads(record["body"])
            _visit_objects(body, upload)
            record["body"] = json.dumps(body)
    elif eventbridge.is_object_created(event):
        obj = event["detail"]["object"]
        obj["etag"], obj["size"] = upload(event["detail"]["bucket"]["name"], obj["key"])
        obj.pop("version-id", None)  # the local bucket is not versioned
    elif batch_ops.is_job_invocation(event):
        for task in batch_ops.parse_invocation(event).tasks:
            if task.ref is not None:
                upload(task.ref.bucket, task.ref.key)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("event", type=Path, help="a JSON event file, e.g. events/s3-put.json")
    parser.add_argument("--endpoint", help="use this S3/DynamoDB endpoint instead of starting one")
    parser.add_argument("--verbose", action="store_true", help="show the handler's JSON logs and metrics")
    args = parser.parse_args(argv)
    event = json.loads(args.event.read_text(encoding="utf-8"))
    quiet.configure(args.verbose)
    os.environ.setdefault("TABLE_NAME", DEFAULT_TABLE)
    os.environ.setdefault("IMAGES_BUCKET", DEFAULT_BUCKET)
    api_key = object_named(event) if front_door(event) is not None else None
    with ExitStack() as stack:
        if args.endpoint:
            use_local_credentials(args.endpoint)
        else:
            endpoint = stack.enter_context(moto_server())
            use_local_credentials(endpoint)
            buckets = sorted(buckets_in(event)) or [os.environ.get("IMAGES_BUCKET", "leaf-images-local")]
            for i, bucket in enumerate(buckets):
                create_resources(bucket=bucket, table=os.environ["TABLE_NAME"], queue=None, create_table=i == 0)
            event = seed_objects(event)
            if api_key:
                seed_objects(_upload_event(os.environ["IMAGES_BUCKET"], api_key))
        with quiet.native_stderr(args.verbose):
            from handler.app import function, lambda_handler

            container = function().container

            container.classifier  # noqa: B018 - the model loads here, where LiteRT's init lines are held back
        if api_key and request_method(event) == "GET" and not args.endpoint:
            with quiet.handler_output(args.verbose):  # a result to read
                lambda_handler(_upload_event(os.environ["IMAGES_BUCKET"], api_key), LocalContext())

        try:
            with quiet.handler_output(args.verbose):
                response = lambda_handler(event, LocalContext())
        except Exception as exc:  # noqa: BLE001 - any error: report it as the Lambda runtime would, then fail
            print(json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc)}, indent=2))
            return 1
        if len(str(response.get("body") or "")) > 4000:  # the docs page: 1.7 MB of inlined Swagger UI
            response = {**response, "body": response["body"][:300] + f"... ({len(response['body']):,} characters)"}
        print(json.dumps(response, indent=2, ensure_ascii=False))
        container = function().container
        if container.table is not None:
            for item in response.get("results", []):
                if "image" in item:
                    print(json.dumps(container.table.get(item["image"]), indent=2, ensure_ascii=False))
    failed = reported_failures(response)
    if failed:
        print(f"the handler reported a failure: {failed}", file=sys.stderr)
        return 1
    return 0


def reported_failures(response: dict[str, Any]) -> str | None:
    """What a reply says failed, in the shapes Lambda's callers read: None when nothing did."""
    retry = response.get("batchItemFailures") or []
    tasks = [r for r in response.get("results", []) if r.get("resultCode", "Succeeded") != "Succeeded"]
    status = int(response.get("statusCode") or 0)
    parts = [f"{len(retry)} SQS message(s) to retry"] if retry else []
    parts += [f"{len(tasks)} Batch Operations task(s) not Succeeded"] if tasks else []
    parts += [f"API status {status}"] if status >= 500 else []
    return "; ".join(parts) or None


if __name__ == "__main__":
    sys.exit(main())
