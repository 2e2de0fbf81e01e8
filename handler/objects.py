"""Read image objects from S3, by the version or ETag the event named; the body streams in as it is decoded."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from handler.errors import ImageRejected, ObjectGone, TransientError
from handler.sources.s3 import ObjectRef
from handler.streaming import StreamedBody

_GONE_CODES = {"NoSuchKey", "NoSuchVersion", "404", "PreconditionFailed", "412"}


@dataclass(frozen=True)
class StoredObject:
    """An object's bytes and the headers we keep when writing metadata back."""

    ref: ObjectRef
    body: StreamedBody | None  # None when the object is over the byte limit: never read
    size: int
    etag: str | None
    version_id: str | None
    content_type: str | None
    metadata: dict[str, str] = field(default_factory=dict)
    headers: dict[str, Any] = field(default_factory=dict)


class ObjectReader:
    """Fetches objects with an injected boto3 S3 client; byte limit enforced before reading."""

    def __init__(self, s3: Any, max_bytes: int) -> None:
        self._s3 = s3
        self._max_bytes = max_bytes

    def fetch(self, ref: ObjectRef) -> StoredObject:
        params: dict[str, Any] = {"Bucket": ref.bucket, "Key": ref.key}
        if ref.version_id:
            params["VersionId"] = ref.version_id
        elif ref.etag:
            # The object may have been overwritten since the event: read the bytes the event names.
            params["IfMatch"] = ref.etag
        try:
            response = self._s3.get_object(**params)
        except ClientError as exc:
            raise _domain_error(exc, ref) from exc
        except BotoCoreError as exc:
            raise TransientError(f"reading {ref.uri} failed: {exc}") from exc
        body = response["Body"]
        declared = response.get("ContentLength")
        size = int(declared or 0)
        streamed: StreamedBody | None = None
        if size <= self._max_bytes:
            # The decoder reads while the rest arrives; a failed transfer surfaces there as TransientError.
            streamed = StreamedBody(body, None if declared is None else size, self._max_bytes, ref.uri)
        else:
            body.close()
        return StoredObject(
            ref=ref,
            body=streamed,
            size=size,
            etag=(response.get("ETag") or "").strip('"') or None,
            version_id=response.get("VersionId"),
            content_type=response.get("ContentType"),
            metadata=dict(response.get("Metadata") or {}),
            headers={k: response[k] for k in _KEPT_HEADERS if response.get(k)},
        )


# Headers a copy-onto-itself with MetadataDirective=REPLACE would otherwise drop.
_KEPT_HEADERS = ("CacheControl", "ContentDisposition", "ContentEncoding", "ContentLanguage", "Expires")


def _domain_error(exc: ClientError, ref: ObjectRef) -> Exception:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    if code in _GONE_CODES:
        return ObjectGone(f"{ref.uri} is gone or was replaced before it was read ({code})")
    if code in ("AccessDenied", "403"):
        return ImageRejected(f"access denied reading {ref.uri}")
    return TransientError(f"reading {ref.uri} failed: {code or exc}")
