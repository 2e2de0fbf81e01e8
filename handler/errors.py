"""Domain errors. They become rejected records or HTTP codes only at the edge."""

from model.errors import ImageRejected, ImageTooLarge

__all__ = ["AlreadyRecorded", "ConfigError", "ImageRejected", "ImageTooLarge", "InProgress", "MetadataNotWritten",
           "ModelUnavailable", "ObjectGone", "ObjectMissing", "RejectedForNow", "TransientError", "UnknownEvent",
           "can_be_lifted"]


class ConfigError(Exception):
    """An environment variable is missing or invalid."""


class ObjectGone(Exception):
    """The object was deleted or replaced before we could read the version the event named."""


class ObjectMissing(ObjectGone):
    """No object at that key, or none this role may read.

    The role has no s3:ListBucket (least privilege), so S3 answers a missing key with 403
    AccessDenied, not 404: both mean "missing or not ours", a skip, never a rejected record.
    """

    def __init__(self, message: str, denied: bool = False) -> None:
        super().__init__(message)
        self.denied = denied  # S3 said AccessDenied: counted, so a misconfigured role is visible


class RejectedForNow(ImageRejected):
    """The bytes cannot be diagnosed now but may be later: archived, or over a byte limit that can be raised."""


def can_be_lifted(exc: ImageRejected) -> bool:
    """A conditional rejection: archived, or over a limit (bytes, pixels, the decode memory budget) that can be raised.

    Everything else the decoder refuses (not an image, corrupt, a refused format) is final for these bytes.
    """
    return isinstance(exc, (RejectedForNow, ImageTooLarge))


class MetadataNotWritten(Exception):
    """The diagnosis could not be written onto the object (a newer upload, or settings a copy cannot keep)."""


class TransientError(Exception):
    """A dependency failed in a way a retry may fix (throttling, 5xx, timeout)."""


class AlreadyRecorded(Exception):
    """The stored result is for this very event or a newer one: a duplicate or a late, older event."""

    def __init__(self, message: str, metadata_not_written: str | None = None) -> None:
        super().__init__(message)
        self.metadata_not_written = metadata_not_written  # the write-back was refused first (counted)


class InProgress(TransientError):
    """Another invocation is diagnosing this object right now; retry once it has finished."""


class UnknownEvent(Exception):
    """The event matches none of the shapes this function accepts."""


class ModelUnavailable(Exception):
    """The model named by MODEL_URI cannot be fetched, or its files do not match its metadata."""
