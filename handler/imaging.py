"""Decode untrusted image bytes into an RGB Pillow image, safely and cheaply."""

from __future__ import annotations

import io
import re
import warnings
from typing import BinaryIO

import numpy as np
from PIL import ExifTags, Image, UnidentifiedImageError
from PIL import BmpImagePlugin, GifImagePlugin, JpegImagePlugin, MpoImagePlugin, PngImagePlugin, WebPImagePlugin  # noqa: F401 - register only the decoders we allow

from handler.errors import ImageRejected, ImageTooLarge

# Formats a phone or a web app uploads. TIFF, PSD, FITS and friends are refused:
# they add parser surface and nobody photographs a leaf in them. MPO (multi-picture phone
# photos) has no entry of its own: the JPEG opener recognises it.
ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP")
_WHITE = (255, 255, 255)
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# Magic numbers of what people upload instead of a photo, so a rejection can say what it was.
_REFUSED_MAGIC = (
    (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"), (b"8BPS", "PSD"), (b"SIMPLE  =", "FITS"),
    (b"%PDF", "PDF"), (b"PK\x03\x04", "ZIP"), (b"\x1f\x8b", "gzip"),
)
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
_BYTES_REPR = re.compile(r"""b(['"]).*?(?<!\\)\1""")


def decode_image(data: bytes | BinaryIO, *, max_pixels: int, target: tuple[int, int]) -> Image.Image:
    """Open, size-check, draft-decode, EXIF-rotate and convert to RGB; ImageRejected says why not."""
    if not data:
        raise ImageRejected("empty object (0 bytes)")
    image = _open(data)
    width, height = image.size
    if width * height > max_pixels:
        raise ImageTooLarge(f"image is {width}x{height} = {width * height:,} pixels; the limit is {max_pixels:,}")
    if image.format in ("JPEG", "MPO"):
        # Let libjpeg decode at 1/2, 1/4 or 1/8 scale while staying >= the model's input on both sides.
        side = max(target)
        image.draft("RGB", (side, side))
    try:
        image.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ImageRejected(f"{image.format} image data is corrupt or truncated: {_no_bytes(exc)}") from exc
    return to_rgb(_upright(image))


def _open(data: bytes | BinaryIO) -> Image.Image:
    # A file (handler.streaming.StreamedBody) is decoded while the rest of it downloads.
    source = io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data
    try:
        with warnings.catch_warnings():
            # We enforce our own pixel limit right after; Pillow's warning would only be noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(source, formats=ALLOWED_FORMATS)
    except UnidentifiedImageError as exc:
        accepted = f"accepted formats: {', '.join(ALLOWED_FORMATS)}"
        source.seek(0)
        refused = refused_format(source.read(512))
        if refused:
            raise ImageRejected(f"{refused} files are not accepted; {accepted}") from exc
        raise ImageRejected(f"not a supported image; {accepted}") from exc
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(f"image dimensions exceed the safety limit: {_no_bytes(exc)}") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageRejected(f"image header is corrupt: {_no_bytes(exc)}") from exc


def refused_format(data: bytes) -> str | None:
    """Name a well-known non-photo format from its first bytes (no parser runs on it)."""
    for magic, name in _REFUSED_MAGIC:
        if data.startswith(magic):
            return name
    if data[4:8] == b"ftyp":
        # HEIC is the iPhone default; we refuse it rather than ship libheif's parsers into the image.
        brand = data[8:12]
        if brand in _HEIF_BRANDS:
            return "HEIC/HEIF (set the camera to 'Most Compatible' or upload JPEG)"
        if brand in (b"avif", b"avis"):
            return "AVIF"
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<svg", b"<?xml", b"<!doctype svg")) or b"<svg" in head:
        return "SVG"
    return None


def _no_bytes(exc: BaseException) -> str:
    """Pillow sometimes quotes the bytes it choked on; those are the uploader's data, keep them out of logs."""
    return _BYTES_REPR.sub("<bytes>", str(exc))


def _upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation (phones store portrait photos sideways)."""
    # Same pixels as ImageOps.exif_transpose, without its cost: it re-serialises the EXIF block
    # (~3 ms on a phone photo) and copies images that are already upright; we only need pixels.
    try:
        method = _TRANSPOSE.get(image.getexif().get(ExifTags.Base.Orientation, 1))
    except (OSError, ValueError, SyntaxError, KeyError, TypeError):
        # A mangled EXIF block should not cost us the photo; keep the stored orientation.
        return image
    return image if method is None else image.transpose(method)


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB; transparency is flattened onto white."""
    mode = image.mode
    if mode == "RGB":
        return image
    if mode.startswith("I") or mode == "F":
        # 16/32-bit greyscale: scale to 8 bits instead of letting Pillow clip at 255.
        pixels = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if pixels.max(initial=0) > 255 else 255.0
        grey = np.clip(pixels * (255.0 / peak), 0, 255).astype(np.uint8)
        return Image.fromarray(grey).convert("RGB")
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, _WHITE + (255,))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")
