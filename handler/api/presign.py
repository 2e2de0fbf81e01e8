"""POST /uploads: a presigned S3 POST for one photo, its key chosen here, its policy pinning what S3 takes.

A phone or browser cannot send more than ~4.4 MB through the API (Lambda's 6 MB payload, after
base64) and holds no AWS credentials: it asks here, then posts the photo straight to S3, whose
ObjectCreated:Post event is diagnosed like any other upload. The policy is S3's check; the
function's own size and type checks on the object stay the backstop.
"""

from __future__ import annotations

import json
import os
import re
import time
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from handler.api.errors import BadRequestError, RequestEntityTooLargeError, UnsupportedMediaTypeError, shown
from handler.api.uploads import IMAGE_TYPES
from handler.errors import ConfigError

# The largest photo a presigned POST lets S3 take; at most the function's MAX_IMAGE_BYTES (default both 20 MiB).
MAX_UPLOAD_BYTES_VARIABLE = "MAX_UPLOAD_BYTES"
# Long enough to pick a photo on a slow phone link after asking, short enough that a leaked form soon dies.
EXPIRES_IN_S = 300
UPLOADS_FOLDER = "uploads/"  # under the image prefix, so the bucket's notification filter sees them
MAX_BODY_BYTES = 4096  # {"filename", "content_type"} and nothing big
MAX_FILENAME_CHARS = 255  # what file systems allow; longer is no file name
SUFFIX_CHARS = 64  # the cleaned name kept at the end of the key
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
# Extensions kept per type (the first is given when the name has none, or one that does not fit the type).
_EXTENSIONS = {"image/jpeg": ("jpg", "jpeg"), "image/png": ("png",), "image/webp": ("webp",)}
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass(frozen=True)
class UploadRequest:
    """What the client says it will upload."""

    filename: str
    content_type: str


def max_upload_bytes(env: Mapping[str, str], max_image_bytes: int) -> int:
    """MAX_UPLOAD_BYTES, default and ceiling the function's own limit: S3 must not take what the function refuses."""
    raw = env.get(MAX_UPLOAD_BYTES_VARIABLE, "").strip()
    if not raw:
        return max_image_bytes
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{MAX_UPLOAD_BYTES_VARIABLE} must be a positive integer; got {raw!r}") from exc
    if not 0 < value <= max_image_bytes:
        raise ConfigError(f"{MAX_UPLOAD_BYTES_VARIABLE} must be between 1 and MAX_IMAGE_BYTES ({max_image_bytes}); got {raw!r}")
    return value


def read_upload_request(body: bytes) -> UploadRequest:
    """The JSON body {"filename": ..., "content_type": ...}; 400/413/415 saying what is wrong."""
    if len(body) > MAX_BODY_BYTES:
        raise RequestEntityTooLargeError(f"the body is {len(body):,} bytes; send only {{\"filename\", \"content_type\"}} (at most {MAX_BODY_BYTES:,})")
    try:
        payload: Any = json.loads(body) if body else None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequestError(f"the body is not valid JSON: {shown(exc)}") from exc
    except RecursionError as exc:  # json.loads recurses once per [ or {
        raise BadRequestError("the body is JSON nested too deeply; send a flat object") from exc
    if not isinstance(payload, dict):
        raise BadRequestError('send a JSON object: {"filename": "leaf.jpg", "content_type": "image/jpeg"}')
    missing = [name for name in ("filename", "content_type") if not isinstance(payload.get(name), str) or not payload[name].strip()]
    if missing:
        raise BadRequestError(f"{' and '.join(repr(name) for name in missing)} must be non-empty strings")
    filename, content_type = payload["filename"], payload["content_type"].strip().lower()
    if content_type not in IMAGE_TYPES:
        raise UnsupportedMediaTypeError(f"content_type {shown(content_type)!r} is not accepted; send one of: {', '.join(IMAGE_TYPES)}")
    if len(filename) > MAX_FILENAME_CHARS:
        raise BadRequestError(f"the filename is {len(filename):,} characters; at most {MAX_FILENAME_CHARS} are accepted")
    try:
        filename.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadRequestError(f"the filename is not valid UTF-8 (a lone surrogate at character {exc.start})") from exc
    return UploadRequest(filename=filename, content_type=content_type)


def clean_filename(filename: str, content_type: str) -> str:
    """The client's file name as a safe key suffix: its last path part, ASCII letters, digits, . _ - only."""
    name = re.split(r"[\\/]", filename)[-1]
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    cleaned = _UNSAFE.sub("-", ascii_name)
    stem, _, extension = cleaned.rpartition(".")
    if extension.lower() not in _EXTENSIONS[content_type]:
        # No extension, or one that is not this type's ("leaf.exe", a HEIC photo sent as JPEG): it stays in the stem.
        stem, extension = re.sub(r"[.-]+", "-", cleaned), _EXTENSIONS[content_type][0]
    stem = stem.strip(".-_")[: SUFFIX_CHARS - len(extension) - 1].rstrip(".-_") or "photo"
    return f"{stem}.{extension.lower()}"


def new_upload_id(now: Callable[[], float] = time.time, random_bytes: Callable[[int], bytes] = os.urandom) -> str:
    """26 characters, sorting by time: milliseconds (48 bits) then 80 random bits, Crockford base32 (a ULID)."""
    value = (int(now() * 1000) << 80) | int.from_bytes(random_bytes(10), "big")
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def upload_key(prefix: str, request: UploadRequest, upload_id: str) -> str:
    """`<prefix>uploads/<id>-<clean name>`: the server's unique id first, the client's name only as a suffix."""
    return f"{prefix}{UPLOADS_FOLDER}{upload_id}-{clean_filename(request.filename, request.content_type)}"


def presigned_upload(
    s3: Any,
    bucket: str,
    prefix: str,
    request: UploadRequest,
    *,
    max_bytes: int,
    expires_in: int = EXPIRES_IN_S,
    upload_id: Callable[[], str] = new_upload_id,
) -> dict[str, Any]:
    """{"url", "fields", "key"}: a POST S3 takes only for this bucket and key, this image type, 1..max_bytes bytes."""
    key = upload_key(prefix, request, upload_id())
    # generate_presigned_post adds {"bucket"} and {"key"} conditions itself; signing is local (no request).
    post = s3.generate_presigned_post(
        Bucket=bucket,
        Key=key,
        Fields={"Content-Type": request.content_type},
        Conditions=[{"Content-Type": request.content_type}, ["content-length-range", 1, max_bytes]],
        ExpiresIn=expires_in,
    )
    if "x-amz-signature" not in post["fields"]:
        # botocore presigns with SigV2 unless told otherwise, which buckets made since 2020 refuse.
        raise ConfigError("the presigning S3 client must sign with SigV4: build it with presign_config()")
    return {"url": post["url"], "fields": post["fields"], "key": key, "max_bytes": max_bytes, "expires_in": expires_in}


def presign_config() -> Any:
    """botocore Config for the client that presigns: SigV4 (botocore's presigning default in us-east-1 is SigV2)."""
    from botocore.config import Config

    return Config(signature_version="s3v4")


def bucket_origin(s3: Any, bucket: str) -> str:
    """scheme://host the browser posts to and reads thumbnails from, for the page's CSP (signed locally)."""
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "x"}, ExpiresIn=60)
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
