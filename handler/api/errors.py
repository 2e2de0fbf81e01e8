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

from handler.observability import shorten as shown  # noqa: F401 - the one truncation helper, as the API names it


class UnsupportedMediaTypeError(ServiceError):
    """415: not an image, or a content type this route does not take."""

    def __init__(self, msg: str) -> None:
        super().__init__(415, msg)


class ConflictError(ServiceError):
    """409: the object changed while it was being read."""

    def __init__(self, msg: str) -> None:
        super().__init__(409, msg)
