"""botocore's ClientError, read one way, and the S3 error codes every caller maps to its own errors."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from botocore.exceptions import ClientError


# S3's answers, read one way: the REST API says "404"/"403"/"412" where the XML says NoSuchKey, AccessDenied, ...
S3_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})
S3_DENIED = frozenset({"AccessDenied", "403"})  # without s3:ListBucket, also what a missing key gets
S3_REPLACED = frozenset({"NoSuchVersion", "PreconditionFailed", "412"})


def error_code(exc: ClientError) -> str:
    """The service's error code ("NoSuchKey", "404", "ConditionalCheckFailedException"); "" when it names none."""
    return str(exc.response.get("Error", {}).get("Code", ""))
