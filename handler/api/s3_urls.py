"""Turn the S3 URLs apps store into (bucket, key). Nothing is ever fetched from a URL."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import SplitResult, unquote, unquote_plus, urlsplit

from handler.api.errors import shown
from handler.s3_uri import BUCKET_NAME, s3_uri, split_s3_uri


class NotAnS3Url(ValueError):
    """The text is not an S3 object URL (another host or scheme, or no key)."""


@dataclass(frozen=True)
class S3Location:
    bucket: str
    key: str

    @property
    def uri(self) -> str:
        return s3_uri(self.bucket, self.key)


# Endpoint host names, after the bucket label for virtual-hosted URLs or alone for path-style:
#   s3, s3.<region>, s3-<region> (legacy dash form), s3-external-1, s3.dualstack.<region>,
#   s3-accelerate(.dualstack); in the aws, aws-cn and (for completeness) the .amazonaws.com domains only.
_ENDPOINT = r"s3(?:[.-](?:dualstack\.)?[a-z0-9-]+|-accelerate(?:\.dualstack)?|\.dualstack\.[a-z0-9-]+)?"
_DOMAIN = r"amazonaws\.com(?:\.cn)?"
_PATH_STYLE = re.compile(rf"^{_ENDPOINT}\.{_DOMAIN}$")
_VIRTUAL = re.compile(rf"^(?P<bucket>{BUCKET_NAME.pattern})\.{_ENDPOINT}\.{_DOMAIN}$")


def parse_s3_url(url: str) -> S3Location:
    """Bucket and decoded key of s3://, virtual-hosted, path-style or presigned (query ignored) URLs."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
    except ValueError as exc:
        raise NotAnS3Url(f"not a URL: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme == "s3":
        # s3://bucket/key is what the CLI prints: the key is written out, not URL-encoded.
        try:
            bucket, key = split_s3_uri(text)
        except ValueError as exc:
            raise NotAnS3Url("write S3 URLs as s3://bucket/key") from exc
        if not bucket:
            raise NotAnS3Url("write S3 URLs as s3://bucket/key")
        return _location(bucket, key.split("?", 1)[0])
    if scheme not in ("https", "http"):
        raise NotAnS3Url(f"only s3:// and https:// S3 object URLs are accepted, not {shown(scheme) or 'scheme-less'} URLs")
    if parts.username or parts.password or _port(parts) not in (None, 80, 443):
        raise NotAnS3Url("S3 object URLs carry no user name, password or port")
    virtual = _VIRTUAL.match(host)
    if virtual and not _PATH_STYLE.match(host):
        return _location(virtual["bucket"], _decode_path(parts.path.lstrip("/")))
    if _PATH_STYLE.match(host):
        bucket, _, raw_key = parts.path.lstrip("/").partition("/")
        return _location(unquote(bucket), _decode_path(raw_key))
    raise NotAnS3Url(f"{shown(host) or 'the URL'} is not an Amazon S3 endpoint")


def _port(parts: SplitResult) -> int | None:
    """urlsplit checks the port only when asked: ':abc' and ':99999' raise there."""
    try:
        return parts.port
    except ValueError as exc:
        raise NotAnS3Url("S3 object URLs carry no port, and this one is not even a number in range") from exc


def _decode_path(raw: str) -> str:
    """S3 object URLs are form-encoded: the console writes a space as '+', SDKs write '%20' and '%2B'."""
    return unquote_plus(raw, encoding="utf-8", errors="strict")


def _location(bucket: str, key: str) -> S3Location:
    if not BUCKET_NAME.fullmatch(bucket):
        raise NotAnS3Url(f"{shown(bucket)!r} is not a valid bucket name")
    if not key:
        raise NotAnS3Url("the URL names a bucket but no object key")
    return S3Location(bucket=bucket, key=key)
