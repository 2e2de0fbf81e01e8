"""What the decoder raises: the image cannot be diagnosed, and retrying will not help."""


class ImageRejected(Exception):
    """The object is not an image we can diagnose; retrying will not help."""


class ImageTooLarge(ImageRejected):
    """The image declares more pixels than MAX_IMAGE_PIXELS (or Pillow's bomb limit) allows."""
