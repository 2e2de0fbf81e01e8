"""GET /diagnoses: stored results newest first, a page at a time, read with a Query on the listing index.

`next` is opaque to clients: base64url of the index's LastEvaluatedKey, checked on the way back in
(three string attributes, this bucket's partition), so a forged or mangled token is a 400, never a
500. ?prefix= is a filter on the index (the sort key is time): a page can hold fewer than ?limit=
items and still have a `next`; a few Queries are chained to fill it before answering.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from handler.api.errors import BadRequestError, NotFoundError, shown
from handler.client_errors import error_code
from handler.errors import TransientError
from handler.listing import INDEX_NAME, listing_of
from handler.stores import DynamoResultStore

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_TOKEN_CHARS = 4096  # three attributes of at most 1 KB, base64: far above any real token
MAX_QUERIES = 5  # per page, when ?prefix= filters much of what the index holds
THUMBNAIL_EXPIRES_S = 300
_TOKEN_KEYS = {"image", "listing", "listed_at"}


def read_limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadRequestError(f"limit must be a whole number from 1 to {MAX_LIMIT}; got {shown(raw, 40)!r}")
    return int(raw)


def read_since(raw: str | None) -> str | None:
    """?since= (ISO 8601; naive means UTC) in the stored form, 2026-01-31T12:00:00.000Z."""
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00") if raw.endswith("Z") else raw)
    except ValueError as exc:
        raise BadRequestError(f"since must be an ISO 8601 time such as 2026-01-31T12:00:00Z; got {shown(raw, 60)!r}") from exc
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def encode_token(last_key: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(last_key, separators=(",", ":")).encode("utf-8")).decode("ascii")


def decode_token(token: str, listing: str) -> dict[str, Any]:
    """The LastEvaluatedKey a `next` token carries; 400 for anything this API did not hand out."""
    if len(token) > MAX_TOKEN_CHARS:
        raise BadRequestError("next is not a token this API handed out (too long)")
    try:
        key = json.loads(base64.urlsafe_b64decode(token.encode("ascii")).decode("utf-8"))
    except (UnicodeError, binascii.Error, ValueError, RecursionError) as exc:
        raise BadRequestError("next is not a token this API handed out; start again without it") from exc
    if (
        not isinstance(key, dict)
        or set(key) != _TOKEN_KEYS
        or not all(isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) and v["S"] for v in key.values())
        or key["listing"]["S"] != listing
    ):
        raise BadRequestError("next is not a token this API handed out; start again without it")
    return key


class Listing:
    """Pages of stored results for one bucket, each item with a short-lived presigned thumbnail URL."""

    def __init__(self, table: DynamoResultStore | None, dynamodb: Any, table_name: str | None, presigner: Any, bucket: str | None) -> None:
        self._table, self._db, self._name = table, dynamodb, table_name
        self._presigner, self._bucket = presigner, bucket

    def page(self, query: dict[str, str]) -> dict[str, Any]:
        if self._table is None or not self._name or not self._bucket:
            raise NotFoundError("listing needs the results table and IMAGES_BUCKET (RESULT_SINK=dynamodb or both)")
        listing = listing_of(f"s3://{self._bucket}/")
        limit, since, prefix = read_limit(query.get("limit")), read_since(query.get("since")), query.get("prefix") or ""
        if len(prefix.encode("utf-8", "surrogatepass")) > 1024:
            raise BadRequestError("prefix is longer than any S3 key (1,024 bytes)")
        start = decode_token(query["next"], listing) if query.get("next") else None
        items: list[dict[str, Any]] = []
        for _ in range(MAX_QUERIES):
            response = self._query(listing, since, prefix, limit - len(items), start)
            items.extend(self._item(self._table, raw) for raw in response.get("Items", []))
            start = response.get("LastEvaluatedKey")
            if start is None or len(items) >= limit:
                break
        return {"items": items, "next": encode_token(start) if start else None}

    def _query(self, listing: str, since: str | None, prefix: str, limit: int, start: dict[str, Any] | None) -> dict[str, Any]:
        values: dict[str, Any] = {":l": {"S": listing}}
        condition = "listing = :l"
        if since:
            condition += " AND listed_at >= :s"
            values[":s"] = {"S": since}
        request: dict[str, Any] = {"TableName": self._name, "IndexName": INDEX_NAME, "KeyConditionExpression": condition,
                                   "ScanIndexForward": False, "Limit": limit}
        if prefix:
            request["FilterExpression"] = "begins_with(image, :p)"
            values[":p"] = {"S": f"{listing}{prefix}"}
        request["ExpressionAttributeValues"] = values
        if start:
            request["ExclusiveStartKey"] = start
        try:
            return self._db.query(**request)
        except ClientError as exc:
            if error_code(exc) == "ValidationException" and start:
                raise BadRequestError("next is not a token this API handed out; start again without it") from exc
            raise TransientError(f"listing {self._name} failed: {error_code(exc)}") from exc
        except BotoCoreError as exc:
            raise TransientError(f"listing {self._name} failed: {exc}") from exc

    def _item(self, table: DynamoResultStore, raw: dict[str, Any]) -> dict[str, Any]:
        record = table.shown(raw)
        bucket, _, key = str(record.get("image", ""))[len("s3://"):].partition("/")
        record["key"] = key
        record["thumbnail_url"] = self._presigner.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=THUMBNAIL_EXPIRES_S)
        return record
