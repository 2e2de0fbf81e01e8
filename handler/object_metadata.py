"""The diagnosis as S3 user metadata on the object itself: written by a copy onto itself, read back."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote

from botocore.exceptions import BotoCoreError, ClientError

from handler.client_errors import S3_DENIED, S3_MISSING, error_code
from handler.domain import Claim, DiagnosisRecord, EventKey, StoredObject, bare_etag
from handler.errors import MetadataNotWritten, TransientError
from handler.result_mac import ResultMac, result_message

LABEL_META = "diagnosis-label"
CONFIDENCE_META = "diagnosis-confidence"
MODEL_META = "diagnosis-model"
STATUS_META = "diagnosis-status"
RECOGNIZED_META = "diagnosis-recognized"  # "true" | "false": does the model know what the photo shows
REASON_META = "diagnosis-reason"  # when "false": why, in a few words (percent-encoded like the label)
MAX_REASON_CHARS = 120  # the gate's reasons are a few words; longer is not what this module writes
ETAG_META = "diagnosis-etag"  # the ETag of the bytes diagnosed: the MAC ties the result to them
MAC_META = "diagnosis-mac"
_OURS = "diagnosis-"  # every key under it is ours: an uploader's are dropped, never kept beside our result
_SIGNED = (MODEL_META, STATUS_META, LABEL_META, CONFIDENCE_META, RECOGNIZED_META, REASON_META)
MAX_USER_METADATA_BYTES = 2048  # S3: keys and values of user metadata, UTF-8, together
_TRANSIENT_S3_CODES = {"RequestTimeout", "SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded",
                       "InternalError", "ServiceUnavailable"}


class S3MetadataStore:
    """Copies the object onto itself with the diagnosis added to its user metadata.

    Only ever onto the key's *current* object, and only while its bytes are the ones diagnosed: the
    copy names no version and is conditioned on the diagnosed ETag. In a versioned bucket a late
    event's version is then never copied back on top of a newer upload. Every setting the object
    has (storage class, encryption, object lock, checksum, headers; tags are copied by default) is
    carried over; where one cannot be, nothing is written and MetadataNotWritten says why.

    The copy fires ObjectCreated:Copy; the handler recognises MODEL_META on a Copy and never
    diagnoses its own write-back again.
    """

    commits = False

    def __init__(self, s3: Any, mac: ResultMac | None = None, keep_acl: bool = False) -> None:
        self._s3 = s3
        self._mac = mac  # None: results are written unsigned, and never served from metadata
        self._keep_acl = keep_acl  # a bucket with ACLs enabled: a copy without grants would reset them to private

    def claim(self, key: EventKey) -> Claim:
        return Claim(key)

    def release(self, claim: Claim) -> None:
        return None

    def save(self, record: DiagnosisRecord, obj: StoredObject | None, claim: Claim | None = None) -> None:
        if obj is None:
            # Nothing was read (archived, SSE-C): nothing to copy. An uploader's diagnosis-* stays, unsigned,
            # so it is never served (read_verified_diagnosis).
            return
        if not obj.etag:
            raise MetadataNotWritten("the read named no ETag, so a copy could not be tied to the diagnosed bytes")
        ours = diagnosis_metadata(record)
        if self._mac is not None:
            ours[ETAG_META] = obj.etag
            ours[MAC_META] = self._mac.sign(result_message(obj.ref.bucket, obj.ref.key, obj.etag, _signed(ours)))
        if all(obj.metadata.get(k) == v for k, v in ours.items()):
            return  # already says so (a retry after the table write failed): a copy would only fire another event
        # An uploader's own diagnosis-* (a forged label, say) never survives beside our result.
        metadata = {**{k: v for k, v in obj.metadata.items() if not k.lower().startswith(_OURS)}, **ours}
        size = sum(len(k.encode()) + len(v.encode()) for k, v in metadata.items())
        if size > MAX_USER_METADATA_BYTES:
            raise MetadataNotWritten(f"its user metadata would be {size:,} bytes, over S3's 2 KB limit")
        params: dict[str, Any] = {
            "Bucket": obj.ref.bucket,
            "Key": obj.ref.key,
            "CopySource": {"Bucket": obj.ref.bucket, "Key": obj.ref.key},  # the current object, never a version
            "CopySourceIfMatch": obj.etag,  # never stamp a diagnosis onto bytes we did not look at
            "MetadataDirective": "REPLACE",
            "TaggingDirective": "COPY",
            "Metadata": metadata,
            **_still_valid(obj.copy_parameters),
        }
        if obj.content_type:
            params["ContentType"] = obj.content_type
        if self._keep_acl:
            params.update(self._grants(obj))
        try:
            self._s3.copy_object(**params)
        except ClientError as exc:
            raise _copy_error(exc, record.image) from exc
        except BotoCoreError as exc:
            raise TransientError(f"writing metadata onto {record.image} failed: {exc}") from exc


    def _grants(self, obj: StoredObject) -> dict[str, str]:
        """The object's ACL as CopyObject's Grant* parameters (a copy carries no ACL of its own)."""
        try:
            acl = self._s3.get_object_acl(Bucket=obj.ref.bucket, Key=obj.ref.key)
        except ClientError as exc:
            raise _copy_error(exc, obj.ref.uri) from exc
        except BotoCoreError as exc:
            raise TransientError(f"reading the ACL of {obj.ref.uri} failed: {exc}") from exc
        return acl_grants(acl.get("Grants") or [])


_GRANT_PARAMETERS = {"READ": "GrantRead", "READ_ACP": "GrantReadACP", "WRITE_ACP": "GrantWriteACP",
                     "FULL_CONTROL": "GrantFullControl"}
_GRANTEE_FIELDS = (("ID", "id"), ("URI", "uri"), ("EmailAddress", "emailAddress"))


def acl_grants(grants: list[dict[str, Any]]) -> dict[str, str]:
    """GetObjectAcl's grants as x-amz-grant-* values: {"GrantRead": 'uri="http://...AllUsers"', ...}."""
    by_parameter: dict[str, list[str]] = {}
    for grant in grants:
        parameter = _GRANT_PARAMETERS.get(str(grant.get("Permission")))
        grantee = grant.get("Grantee") or {}
        named = next((f'{field}="{grantee[name]}"' for name, field in _GRANTEE_FIELDS if grantee.get(name)), None)
        if parameter and named:  # WRITE is a bucket permission; an object ACL cannot hold it
            by_parameter.setdefault(parameter, []).append(named)
    return {parameter: ", ".join(names) for parameter, names in by_parameter.items()}


def diagnosis_metadata(record: DiagnosisRecord) -> dict[str, str]:
    """User metadata must be ASCII: non-ASCII labels are percent-encoded."""
    meta = {MODEL_META: record.model_version, STATUS_META: record.status}
    if record.label is not None:
        meta[LABEL_META] = quote(record.label, safe=" _-.,()'")
    if record.confidence is not None:
        meta[CONFIDENCE_META] = f"{record.confidence:.4f}"
    if record.recognized is not None:
        meta[RECOGNIZED_META] = "true" if record.recognized else "false"
    if record.recognized is False and record.reason:
        meta[REASON_META] = quote(record.reason[:MAX_REASON_CHARS], safe=" _-.,()'")
    return meta


def read_diagnosis(image: str, meta: dict[str, str]) -> dict[str, Any] | None:
    """The record the object's metadata holds, or None when it holds none that parses.

    Anyone who may upload can set x-amz-meta-diagnosis-*: a value that is not what this module
    writes (confidence "abc", "nan", "1e999", outside 0..1; an unknown status) is no result.
    """
    model = meta.get(MODEL_META, "")
    status = meta.get(STATUS_META, "ok")
    if not model or len(model) > 64 or status not in ("ok", "rejected"):
        return None
    confidence: float | None = None
    if CONFIDENCE_META in meta:
        try:
            confidence = float(meta[CONFIDENCE_META])
        except ValueError:
            return None
        if not math.isfinite(confidence) or not 0.0 <= confidence <= 1.0:
            return None
    label = unquote(meta[LABEL_META], errors="replace") if LABEL_META in meta else None
    if status == "ok" and (label is None or confidence is None):
        return None
    verdict = _read_verdict(meta)
    if verdict is None:
        return None
    return {"image": image, "status": status, "label": label, "confidence": confidence, "model_version": model,
            **verdict}


def _read_verdict(meta: dict[str, str]) -> dict[str, Any] | None:
    """{} (written before the verdict existed), {"recognized": True}, or False with its reason; None: not ours."""
    recognized = meta.get(RECOGNIZED_META)
    reason = unquote(meta[REASON_META], errors="replace") if REASON_META in meta else None
    if recognized is None:
        return {} if reason is None else None
    if recognized == "true":
        return {"recognized": True} if reason is None else None
    if recognized != "false" or not reason or len(reason) > MAX_REASON_CHARS or not reason.isprintable():
        return None
    return {"recognized": False, "reason": reason}


def read_verified_diagnosis(bucket: str, key: str, head: dict[str, Any], mac: ResultMac | None) -> dict[str, Any] | None:
    """The record in a HEAD reply's metadata only when this function wrote it for the bytes there now.

    None (no result yet) for metadata that does not parse, carries no MAC or a wrong one, or names
    other bytes than the object's current ETag; always None without a MAC key.
    """
    meta = {k.lower(): v for k, v in (head.get("Metadata") or {}).items()}
    record = read_diagnosis(f"s3://{bucket}/{key}", meta)
    etag = meta.get(ETAG_META, "")
    if record is None or mac is None or not etag or etag != bare_etag(head.get("ETag")) or MAC_META not in meta:
        return None
    if not mac.verify(result_message(bucket, key, etag, _signed(meta)), meta[MAC_META]):
        return None
    return {**record, "etag": etag}


def _signed(meta: dict[str, str]) -> dict[str, str]:
    return {k: meta[k] for k in _SIGNED if k in meta}


def _still_valid(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings to copy, less an object-lock retention that has already run out (S3 refuses a past date)."""
    until = settings.get("ObjectLockRetainUntilDate")
    if isinstance(until, datetime) and until <= datetime.now(UTC):
        return {k: v for k, v in settings.items() if k not in ("ObjectLockMode", "ObjectLockRetainUntilDate")}
    return settings


def _copy_error(exc: ClientError, image: str) -> Exception:
    """Transient faults are retried; anything else is a reason not to write, recorded, never retried forever."""
    code = error_code(exc)
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    if code in ("PreconditionFailed", "412"):
        return MetadataNotWritten("a newer upload replaced the diagnosed object; its own event writes its result")
    if code in S3_MISSING:
        return MetadataNotWritten("the object was deleted after it was diagnosed")
    if status >= 500 or code in _TRANSIENT_S3_CODES:
        return TransientError(f"writing metadata onto {image} failed: {code}")
    if code in S3_DENIED:
        return MetadataNotWritten("access denied to the copy (object-lock settings, tags or a KMS key the role may not use)")
    return MetadataNotWritten(f"S3 refused the copy: {code or status}")
