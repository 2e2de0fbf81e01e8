"""Run the handler on one event file, the no-Docker equivalent of `sam local invoke -e FILE`.

    python -m local.invoke events/s3-put.json

By default it starts the embedded local S3/DynamoDB, creates the bucket and table the event
names, and uploads a synthetic leaf at every key the event references (updating the event's
eTag to the uploaded object's, as S3 would have sent it). With --endpoint it uses an existing
endpoint and objects as they are.
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import os
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

from handler.sources.api import is_rest_proxy_event
from local.apievents import object_named
from local.aws import DEFAULT_BUCKET, DEFAULT_TABLE, create_resources, moto_server, use_local_credentials
from local.context import LocalContext


def seed_objects(event: dict[str, Any]) -> dict[str, Any]:
    """Upload a synthetic leaf for each S3 record and return the event with matching eTags."""
    import boto3

    from handler.sources.s3 import decode_s3_key, is_notification
    from model.synthetic import LABELS, make_leaf

    if not is_notification(event):
        return event
    s3 = boto3.client("s3")
    seeded = copy.deepcopy(event)
    for index, record in enumerate(seeded["Records"]):
        bucket = record["s3"]["bucket"]["name"]
        key = decode_s3_key(record["s3"]["object"]["key"])
        buffer = io.BytesIO()
        make_leaf(index % len(LABELS), seed=700_000 + index).save(buffer, format="JPEG", quality=90)
        response = s3.put_object(Bucket=bucket, Key=key, Body=buffer.getvalue(), ContentType="image/jpeg")
        record["s3"]["object"]["eTag"] = response["ETag"].strip('"')
        record["s3"]["object"]["size"] = buffer.tell()
        print(f"seeded s3://{bucket}/{key} with a synthetic {LABELS[index % len(LABELS)]} leaf", file=sys.stderr)
    return seeded


def _upload_event(bucket: str, key: str) -> dict[str, Any]:
    """The S3 notification an upload of `key` would send (for seeding the objects API events name)."""
    record = {"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
              "s3": {"bucket": {"name": bucket}, "object": {"key": quote_plus(key, safe="/")}}}
    return {"Records": [record]}


def buckets_in(event: dict[str, Any]) -> set[str]:
    names = {r.get("s3", {}).get("bucket", {}).get("name") for r in event.get("Records", []) if isinstance(r, dict)}
    if event.get("Event") == "s3:TestEvent":
        names.add(event.get("Bucket"))
    return {n for n in names if n}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("event", type=Path, help="a JSON event file, e.g. events/s3-put.json")
    parser.add_argument("--endpoint", help="use this S3/DynamoDB endpoint instead of starting one")
    args = parser.parse_args(argv)
    event = json.loads(args.event.read_text(encoding="utf-8"))
    os.environ.setdefault("TABLE_NAME", DEFAULT_TABLE)
    os.environ.setdefault("IMAGES_BUCKET", DEFAULT_BUCKET)
    api_key = object_named(event) if is_rest_proxy_event(event) else None
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
        from handler.app import container, lambda_handler

        if api_key and event["httpMethod"] == "GET" and not args.endpoint:
            lambda_handler(_upload_event(os.environ["IMAGES_BUCKET"], api_key), LocalContext())  # a result to read

        try:
            response = lambda_handler(event, LocalContext())
        except Exception as exc:  # report it as the Lambda runtime would, then fail
            print(json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc)}, indent=2))
            return 1
        if len(str(response.get("body") or "")) > 4000:  # the docs page: 1.7 MB of inlined Swagger UI
            response = {**response, "body": response["body"][:300] + f"... ({len(response['body']):,} characters)"}
        print(json.dumps(response, indent=2, ensure_ascii=False))
        if container.table is not None:
            for item in response.get("results", []):
                if "image" in item:
                    print(json.dumps(container.table.get(item["image"]), indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
