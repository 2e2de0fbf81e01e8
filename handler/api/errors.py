"""HTTP errors with a status; the resolver turns them into JSON responses at the edge."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.exceptions import (  # noqa: F401 - re-exported: one place to import HTTP errors from
    BadRequestError,
    ForbiddenError,
    NotFoundError,
    RequestEntityTooLargeError,
    ServiceError,
    ServiceUnavailableError,
)

# The most of a caller's own text any answer or log line repeats: enough to recognise it, never a 5 MB echo.
SHOWN_CHARS = 200


def shown(text: object, limit: int = SHOWN_CHARS) -> str:
    """The caller's text, cut to `limit` characters with a marker saying how much was left out."""
    # Lone surrogates cannot be written as UTF-8: shown as \udXXX escapes, never passed on.
    value = str(text).encode("utf-8", "backslashreplace").decode("utf-8")
    if len(value) <= limit:
        return value
    return f"{value[:limit]}…[{len(value) - limit:,} more characters]"


class UnsupportedMediaTypeError(ServiceError):
    """415: not an image, or a content type this route does not take."""

    def __init__(self, msg: str) -> None:
        super().__init__(415, msg)


class ConflictError(ServiceError):
    """409: the object changed while it was being read."""

    def __init__(self, msg: str) -> None:
        super().__init__(409, msg)
