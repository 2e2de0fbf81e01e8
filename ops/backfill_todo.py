"""Which listed objects have no current result: the table's record or the object's own metadata decides."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from handler.domain import CONDITIONAL, ObjectRef, Origin
from handler.object_metadata import read_diagnosis
from handler.s3_uri import s3_uri

BATCH_GET_LIMIT = 100  # keys per DynamoDB BatchGetItem


Lookup = Callable[[list["Listed"]], dict[str, dict[str, Any]]]  # stored results by image URI


@dataclass(frozen=True)
class Listed:
    """An object as ListObjectsV2 shows it."""

    bucket: str
    key: str
    etag: str
    size: int

    @property
    def image(self) -> str:
        return s3_uri(self.bucket, self.key)

    def ref(self) -> ObjectRef:
        # The listed ETag pins the bytes: if the object is replaced meanwhile, its own upload event covers it.
        return ObjectRef(bucket=self.bucket, key=self.key, etag=self.etag,
                         event_name=None, origin=Origin.BACKFILL)


def list_images(s3: Any, bucket: str, prefix: str) -> Iterator[Listed]:
    """Every object under the prefix, folder markers left out."""
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            if obj["Key"].endswith("/") and obj.get("Size", 0) == 0:
                continue
            yield Listed(bucket, obj["Key"], obj.get("ETag", "").strip('"'), int(obj.get("Size", 0)))


def table_lookup(dynamodb: Any, table: str) -> Lookup:
    """Stored records for a chunk of objects, read with BatchGetItem."""

    def lookup(chunk: list[Listed]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        request: dict[str, Any] = {
            table: {
                "Keys": [{"image": {"S": item.image}} for item in chunk],
                "ProjectionExpression": "image, etag, model_version, #s, #e, rejection",
                "ExpressionAttributeNames": {"#s": "status", "#e": "error"},
                "ConsistentRead": True,
            }
        }
        while request:
            response = dynamodb.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(table, []):
                found[item["image"]["S"]] = {k: next(iter(v.values())) for k, v in item.items()}
            request = response.get("UnprocessedKeys") or {}
        return found

    return lookup


def metadata_lookup(s3: Any) -> Lookup:
    """The object's own metadata says which model diagnosed these bytes (one HEAD per object).

    It also settles objects whose ETag changed when the metadata was written back: a CopyObject
    gives a multipart upload a new, single-part ETag, so the table's ETag no longer matches.
    """

    def lookup(chunk: list[Listed]) -> dict[str, dict[str, Any]]:
        found = {}
        for item in chunk:
            try:
                metadata = s3.head_object(Bucket=item.bucket, Key=item.key, IfMatch=item.etag).get(
                    "Metadata", {}
                )
            except ClientError:  # deleted or replaced since the listing: its own event covers it
                continue
            record = read_diagnosis(item.image, metadata)  # None for metadata that does not parse
            if record is not None:
                found[item.image] = {"etag": item.etag, "model_version": record["model_version"]}
        return found

    return lookup


def needing_diagnosis(
    listed: Iterable[Listed], lookups: list[Lookup], model_version: str
) -> tuple[list[Listed], int]:
    """(objects without a current result, how many had one); each lookup sees only what is still to do."""
    todo: list[Listed] = []
    current = 0
    chunk: list[Listed] = []

    def is_current(record: dict[str, Any] | None, item: Listed) -> bool:
        return (
            bool(record)
            and record.get("etag") == item.etag
            and record.get("model_version") == model_version
            and not _denied_read(record)
            and record.get("rejection") != CONDITIONAL  # archived, over a limit: tried again, it may pass now
        )

    def flush() -> None:
        nonlocal current
        remaining = list(chunk)
        for lookup in lookups:
            if not remaining:
                break
            stored = lookup(remaining)
            remaining = [item for item in remaining if not is_current(stored.get(item.image), item)]
        current += len(chunk) - len(remaining)
        todo.extend(remaining)
        chunk.clear()

    for item in listed:
        chunk.append(item)
        if len(chunk) == BATCH_GET_LIMIT:
            flush()
    if chunk:
        flush()
    return todo, current


def _denied_read(record: dict[str, Any]) -> bool:
    """A rejected row that only says S3 denied the read (stored by versions before AccessDenied meant
    "missing or not ours"): not a result, so the object is tried again."""
    return record.get("status") == "rejected" and str(record.get("error", "")).startswith("access denied reading")
