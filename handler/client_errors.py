"""botocore's ClientError, read one way."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from botocore.exceptions import ClientError


def error_code(exc: ClientError) -> str:
    """The service's error code ("NoSuchKey", "404", "ConditionalCheckFailedException"); "" when it names none."""
    return str(exc.response.get("Error", {}).get("Code", ""))
