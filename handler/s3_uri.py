"""S3 names written one way: the bucket-name rule and s3://bucket/key. No boto3 here."""

from __future__ import annotations

import re

from handler.domain import s3_uri

__all__ = ["BUCKET_NAME", "s3_uri", "split_s3_uri"]

# S3's rule for new buckets: 3-63 lower-case letters, digits, dots and hyphens, a letter or digit at each end.
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def split_s3_uri(uri: str) -> tuple[str, str]:
    """s3://bucket/key (any case of "s3") -> (bucket, key); the key may be empty; ValueError for any other form.

    The bucket is not checked here: callers word their own refusal (BUCKET_NAME.fullmatch).
    """
    scheme, slashes, rest = uri.partition("://")
    if scheme.lower() != "s3" or not slashes:
        raise ValueError("expected s3://bucket/key")
    bucket, _, key = rest.partition("/")
    return bucket, key
