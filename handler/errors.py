"""Domain errors. They become rejected records or HTTP codes only at the edge."""


class ConfigError(Exception):
    """An environment variable is missing or invalid."""


class ImageRejected(Exception):
    """The object is not an image we can diagnose; retrying will not help."""


class ImageTooLarge(ImageRejected):
    """The image declares more pixels than MAX_IMAGE_PIXELS (or Pillow's bomb limit) allows."""


class ObjectGone(Exception):
    """The object was deleted or replaced before we could read the version the event named."""


class TransientError(Exception):
    """A dependency failed in a way a retry may fix (throttling, 5xx, timeout)."""


class AlreadyRecorded(Exception):
    """The stored result is for this very event or a newer one: a duplicate or a late, older event."""


class InProgress(TransientError):
    """Another invocation is diagnosing this object right now; retry once it has finished."""


class UnknownEvent(Exception):
    """The event matches none of the shapes this function accepts."""


class ModelUnavailable(Exception):
    """The model named by MODEL_URI cannot be fetched, or its files do not match its metadata."""
