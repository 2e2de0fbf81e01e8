"""Request bodies: raw images, multipart `image` fields and JSON {"key"} / {"url"}, all checked."""

from __future__ import annotations

import base64
import binascii
import io
import json
from dataclasses import dataclass
from typing import Any

from multipart import MultipartError, MultipartParser, parse_options_header

from handler.api.errors import BadRequestError, RequestEntityTooLargeError, UnsupportedMediaTypeError, shown

# What API Gateway passes through as binary (template.yaml BinaryMediaTypes: image/*, multipart/form-data).
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")
FIELD = "image"
# Multipart framing around one photo: boundaries, part headers, maybe a few small text fields.
_MULTIPART_OVERHEAD = 64 * 1024


@dataclass(frozen=True)
class ImageUpload:
    """Image bytes sent in the request itself."""

    data: bytes
    content_type: str | None
    filename: str | None = None


@dataclass(frozen=True)
class ObjectRequest:
    """An image already in S3, named by key (the configured bucket) or by URL."""

    key: str | None = None
    url: str | None = None


def request_body(body: str | None, is_base64: bool) -> bytes:
    """API Gateway base64-encodes binary media types (isBase64Encoded); text bodies arrive as is."""
    if not body:
        return b""
    if not is_base64:
        try:
            return body.encode("utf-8")
        except UnicodeEncodeError as exc:
            # Only a hand-made event can carry one ("\ud800" in its JSON): API Gateway sends UTF-8.
            raise BadRequestError(f"the body is not valid UTF-8 text (a lone surrogate at character {exc.start})") from exc
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadRequestError(f"body is marked base64-encoded but is not valid base64: {exc}") from exc


def media_type(header: str | None) -> tuple[str, dict[str, str]]:
    """('multipart/form-data', {'boundary': ...}) from a Content-Type header; lower-cased type."""
    value, options = parse_options_header(header or "")
    return value.strip().lower(), options


def read_upload(content_type: str | None, body: bytes, max_bytes: int) -> ImageUpload:
    """The seed's contract: multipart/form-data with the photo in field `image`."""
    kind, options = media_type(content_type)
    if kind != "multipart/form-data":
        raise UnsupportedMediaTypeError(
            f"send the photo as multipart/form-data in field {FIELD!r}; got Content-Type {shown(kind) or 'none'!r}"
        )
    return _multipart_image(body, options.get("boundary"), max_bytes)


def read_diagnosis_request(content_type: str | None, body: bytes, max_bytes: int) -> ImageUpload | ObjectRequest:
    """POST /diagnoses: a raw image, multipart `image`, or JSON naming an S3 object."""
    kind, options = media_type(content_type)
    if kind in IMAGE_TYPES:
        _check_size(len(body), max_bytes)
        if not body:
            raise BadRequestError("the request body is empty; send the image bytes")
        return ImageUpload(data=body, content_type=kind)
    if kind == "multipart/form-data":
        return _multipart_image(body, options.get("boundary"), max_bytes)
    if kind == "application/json" or kind.endswith("+json"):
        return _object_request(body)
    accepted = ", ".join(IMAGE_TYPES + ("multipart/form-data", "application/json"))
    raise UnsupportedMediaTypeError(f"unsupported Content-Type {shown(kind) or 'none'!r}; send one of: {accepted}")


def _check_size(size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise RequestEntityTooLargeError(f"the image is {size:,} bytes; the limit is {max_bytes:,}")


def _multipart_image(body: bytes, boundary: str | None, max_bytes: int) -> ImageUpload:
    if not boundary:
        raise BadRequestError("multipart/form-data without a boundary parameter")
    if len(body) > max_bytes + _MULTIPART_OVERHEAD:
        raise RequestEntityTooLargeError(f"the request is {len(body):,} bytes; the image limit is {max_bytes:,}")
    found: list[str] = []
    try:
        # Everything stays in memory (the body already is): no spooling to /tmp, a bounded number of parts.
        parser = MultipartParser(
            io.BytesIO(body), boundary, content_length=len(body), part_limit=16,
            spool_limit=len(body) + 1, memory_limit=len(body) + 1, disk_limit=0,
        )
        for part in parser:
            if part.name == FIELD:
                _check_size(part.size, max_bytes)
                if not part.filename and not part.size:
                    break
                return ImageUpload(data=part.raw, content_type=part.content_type or None, filename=part.filename)
            found.append(part.name)
    except MultipartError as exc:
        raise BadRequestError(f"malformed multipart/form-data body: {shown(exc)}") from exc
    named = f" (got {shown(', '.join(repr(n) for n in found))})" if found else ""
    raise BadRequestError(f"multipart field {FIELD!r} with the photo is missing{named}")


def _object_request(body: bytes) -> ObjectRequest:
    try:
        payload: Any = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequestError(f"the body is not valid JSON: {shown(exc)}") from exc
    except RecursionError as exc:
        # json.loads recurses once per level: thousands of [ or { exhaust the interpreter's stack.
        raise BadRequestError("the body is JSON nested too deeply; send a flat object") from exc
    except ValueError as exc:
        # An integer past Python's 4,300-digit conversion limit: a plain ValueError, not a JSONDecodeError.
        raise BadRequestError(f"the body holds a number too long to read: {shown(exc)}") from exc
    if not isinstance(payload, dict):
        raise BadRequestError('send a JSON object: {"key": "garden-images/..."} or {"url": "..."}')
    given = [name for name in ("key", "url") if name in payload]
    if len(given) != 1:
        raise BadRequestError('send exactly one of "key" or "url"')
    value = payload[given[0]]
    if not isinstance(value, str) or not value.strip():
        raise BadRequestError(f'"{given[0]}" must be a non-empty string')
    return ObjectRequest(**{given[0]: value})
