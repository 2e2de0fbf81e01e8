"""Read image objects from S3, by the version or ETag the event named; the body streams in as it is decoded."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from handler.client_errors import S3_DENIED, S3_MISSING, S3_REPLACED, error_code
from handler.domain import ObjectRef, StoredObject, bare_etag
from handler.errors import ImageRejected, ObjectGone, ObjectMissing, RejectedForNow, TransientError
from handler.observability import shorten
from handler.streaming import StreamedBody

_CHECKSUMS = {"ChecksumCRC32": "CRC32", "ChecksumCRC32C": "CRC32C", "ChecksumCRC64NVME": "CRC64NVME",
              "ChecksumSHA1": "SHA1", "ChecksumSHA256": "SHA256"}


class ObjectReader:
    """Fetches objects with an injected boto3 S3 client; byte limit enforced before reading."""

    def __init__(self, s3: Any, max_bytes: int) -> None:
        self._s3 = s3
        self._max_bytes = max_bytes

    def identify(self, ref: ObjectRef) -> ObjectRef:
        """The ref with the object's ETag (and version) filled in by a HEAD, when it names no ETag.

        A Batch Operations task names only a key (and maybe a version): without the ETag, the claim
        and the stored result could not name the same bytes, and a re-run would diagnose again.
        """
        params: dict[str, Any] = {"Bucket": ref.bucket, "Key": ref.key}
        if ref.version_id:
            params["VersionId"] = ref.version_id
        head = self._read(self._s3.head_object, ref, params)
        if ref.etag:
            return ref  # the event names its bytes; the HEAD only said the key exists
        return replace(ref, etag=bare_etag(head.get("ETag")), version_id=ref.version_id or head.get("VersionId"))

    def holds(self, ref: ObjectRef) -> bool:
        """True when `ref.key` holds the bytes the ref names (its version, else its ETag); False when it does not.

        How an EventBridge key is told apart from the other keys its spelling could decode to.
        """
        params: dict[str, Any] = {"Bucket": ref.bucket, "Key": ref.key}
        if ref.version_id:
            params["VersionId"] = ref.version_id
        try:
            head = self._read(self._s3.head_object, ref, params)
        except ObjectGone:  # missing, no such version, a delete marker
            return False
        # The ETag compared here, not by If-Match: one answer shape for S3 and its look-alikes.
        return not ref.etag or bare_etag(head.get("ETag")) == bare_etag(ref.etag)

    def current(self, ref: ObjectRef) -> tuple[str | None, str | None]:
        """(ETag, version) of the key's current object: a HEAD naming no version. ObjectMissing once it is
        deleted (in a versioned bucket: its current version is a delete marker)."""
        head = self._read(self._s3.head_object, ref, {"Bucket": ref.bucket, "Key": ref.key})
        return bare_etag(head.get("ETag")), head.get("VersionId")

    @staticmethod
    def _read(call: Any, ref: ObjectRef, params: dict[str, Any]) -> dict[str, Any]:
        """One S3 read; its errors become the domain's (missing, refused, retry)."""
        try:
            return call(**params)
        except ClientError as exc:
            raise _domain_error(exc, ref) from exc
        except BotoCoreError as exc:
            raise TransientError(f"reading {ref.uri} failed: {exc}") from exc

    def fetch(self, ref: ObjectRef) -> StoredObject:
        # ChecksumMode: the reply then names the object's checksum algorithm, which the write-back keeps.
        params: dict[str, Any] = {"Bucket": ref.bucket, "Key": ref.key, "ChecksumMode": "ENABLED"}
        if ref.version_id:
            params["VersionId"] = ref.version_id
        elif ref.etag:
            # The object may have been overwritten since the event: read the bytes the event names.
            params["IfMatch"] = ref.etag
        response = self._read(self._s3.get_object, ref, params)
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
            etag=bare_etag(response.get("ETag")),
            version_id=response.get("VersionId"),
            content_type=response.get("ContentType"),
            metadata=dict(response.get("Metadata") or {}),
            copy_parameters=kept_settings(response),
        )


# GetObject reply fields a CopyObject with MetadataDirective=REPLACE would otherwise reset, under the
# same name in both APIs. Tags are kept by the copy itself (TaggingDirective COPY, the default).
_KEPT_HEADERS = ("CacheControl", "ContentDisposition", "ContentEncoding", "ContentLanguage", "Expires",
                 "WebsiteRedirectLocation", "StorageClass",
                 "ObjectLockMode", "ObjectLockRetainUntilDate", "ObjectLockLegalHoldStatus")


def kept_settings(response: dict[str, Any]) -> dict[str, Any]:
    """The CopyObject parameters that give the copy the settings the object has now."""
    kept = {k: response[k] for k in _KEPT_HEADERS if response.get(k)}
    encryption = response.get("ServerSideEncryption")
    if encryption:
        # Without these a copy takes the bucket's default encryption: an SSE-KMS object would lose its key.
        kept["ServerSideEncryption"] = encryption
        if encryption.startswith("aws:kms"):
            if response.get("SSEKMSKeyId"):
                kept["SSEKMSKeyId"] = response["SSEKMSKeyId"]
            if "BucketKeyEnabled" in response:
                kept["BucketKeyEnabled"] = bool(response["BucketKeyEnabled"])
    algorithm = next((name for attr, name in _CHECKSUMS.items() if response.get(attr)), None)
    if algorithm:
        kept["ChecksumAlgorithm"] = algorithm
    return kept


def _domain_error(exc: ClientError, ref: ObjectRef) -> Exception:
    code = error_code(exc)
    message = str(exc.response.get("Error", {}).get("Message", ""))
    uri = shorten(ref.uri)  # reasons reach logs and job reports: a 1,024-byte key is cut
    if code in S3_MISSING:
        if _names_a_delete_marker(exc):
            return ObjectMissing(f"{uri} is deleted (its current version is a delete marker)")
        return ObjectMissing(f"{uri} does not exist ({code})")
    if code in ("405", "MethodNotAllowed"):
        # HEAD/GET ?versionId=<a delete marker>: S3 answers 405. Nothing to read, ever: a skip, not a retry.
        return ObjectGone(f"{uri}: the version named is a delete marker, not an object")
    if code in S3_DENIED:
        return ObjectMissing(f"{uri} is missing or not readable by this role (AccessDenied)", denied=True)
    if code in S3_REPLACED:
        return ObjectGone(f"{uri} is gone or was replaced before it was read ({code})")
    if code == "InvalidObjectState":
        return RejectedForNow("the object is archived (Glacier / Deep Archive); restore it to diagnose it")
    if code == "InvalidRequest" and "encryption" in message.lower():
        # SSE-C: S3 needs the customer's key to return the bytes, and that key is never ours.
        return ImageRejected("the object is encrypted with a customer-provided key (SSE-C); it cannot be read")
    return TransientError(f"reading {uri} failed: {code or exc}")


def _names_a_delete_marker(exc: ClientError) -> bool:
    headers = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    return str(headers.get("x-amz-delete-marker", "")).lower() == "true"
