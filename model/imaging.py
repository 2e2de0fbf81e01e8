"""Decode untrusted image bytes into an RGB Pillow image, safely and cheaply."""

from __future__ import annotations

import io
import re
import warnings
from contextlib import AbstractContextManager, nullcontext
from typing import IO, Protocol, cast

import numpy as np
from PIL import (  # noqa: F401 - register only the decoders we allow
    BmpImagePlugin,
    ExifTags,
    GifImagePlugin,
    Image,
    JpegImagePlugin,
    MpoImagePlugin,
    PngImagePlugin,
    UnidentifiedImageError,
    WebPImagePlugin,
)

from model.decode_budget import DecodeBudget, container_budget
from model.errors import ImageRejected, ImageTooLarge

# Formats a phone or a web app uploads. TIFF, PSD, FITS and friends are refused:
# they add parser surface and nobody photographs a leaf in them. MPO (multi-picture phone
# photos) has no entry of its own: the JPEG opener recognises it.
ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP")
# The default pixel limit (MAX_IMAGE_PIXELS): a 50 MP phone photo decodes, a pixel bomb does not.
MAX_IMAGE_PIXELS = 50_000_000
_WHITE = (255, 255, 255)


class ImageFile(Protocol):
    """A seekable file of image bytes (handler.streaming.StreamedBody: decoded while it downloads)."""

    def read(self, size: int | None = -1, /) -> bytes: ...

    def seek(self, offset: int, whence: int = 0, /) -> int: ...


EXIF_TRANSPOSE = {
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
# Beyond the decoded pixels: libwebp's two canvases, allocated when Pillow opens a WebP and freed
# once _load has the frame (measured: 568 MiB peak for a 49 MP RGBA WebP whose pixels are 187 MiB).
_DECODER_EXTRA = {"WEBP": 8}
# Conversion works on strips of about this many pixels; a strip's copies (crop, RGBA, composite,
# float32 grey, RGB) stay under _STRIP_BYTES_PER_PIXEL per pixel.
_STRIP_PIXELS = 1 << 20
_STRIP_BYTES_PER_PIXEL = 32


def decode_image(
    data: bytes | ImageFile, *, max_pixels: int, target: tuple[int, int], budget: DecodeBudget | None = None
) -> Image.Image:
    """Open, size-check, decode within the memory budget, reduce, EXIF-rotate and convert to RGB.

    `data` is the bytes or a seekable file (handler.streaming.StreamedBody, decoded while it downloads).
    ImageRejected says why not; ImageTooLarge when the pixels, or the memory decoding them takes,
    exceed a limit. `budget` defaults to the container's (model.decode_budget.container_budget).
    """
    if not data:
        raise ImageRejected("empty object (0 bytes)")
    budget = budget if budget is not None else container_budget()
    header = _first_bytes(data, 30)
    if header[:4] == b"RIFF" and header[8:12] == b"WEBP":
        # libwebp allocates its canvases as soon as Pillow opens the file: admit (or refuse) before that.
        canvas = webp_canvas(header)
        _check_pixels(canvas, max_pixels)
        with _reserved(budget, decode_cost(canvas, "RGBA", "WEBP", target), _described(canvas, "WEBP", "RGBA")):
            image = _open(data)
            if image.size != canvas:
                raise ImageRejected(f"WebP header says {canvas[0]}x{canvas[1]}, its canvas is {image.size[0]}x{image.size[1]}")
            return _decode(image, target)
    image = _open(data)
    _check_pixels(image.size, max_pixels)
    if image.format in ("JPEG", "MPO"):
        # Let libjpeg decode at 1/2, 1/4 or 1/8 scale while staying >= the model's input on both sides.
        side = max(target)
        image.draft("RGB", (side, side))
    cost = decode_cost(image.size, image.mode, image.format or "", target)
    with _reserved(budget, cost, _described(image.size, image.format or "", image.mode)):
        return _decode(image, target)


def _first_bytes(data: bytes | ImageFile, count: int) -> bytes:
    if isinstance(data, (bytes, bytearray)):
        return bytes(data[:count])
    data.seek(0)
    head = data.read(count)
    data.seek(0)
    return head


def webp_canvas(data: bytes) -> tuple[int, int]:
    """A WebP's canvas size from its first 30 bytes (lossy, lossless or extended header), nothing decoded."""
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        return int.from_bytes(data[26:28], "little") & 0x3FFF, int.from_bytes(data[28:30], "little") & 0x3FFF
    raise ImageRejected("WebP header is corrupt: no canvas size")


def decode_cost(size: tuple[int, int], mode: str, fmt: str, target: tuple[int, int]) -> int:
    """Bytes a decode holds at its peak: every buffer _decode makes, by pixel count."""
    width, height = size
    factor = _reduction(size, target)
    stored = width * height * (_stored_bytes_per_pixel(mode) + _DECODER_EXTRA.get(fmt, 0))
    strip = _strip_rows(width, factor) * width * _STRIP_BYTES_PER_PIXEL
    out = -(-width // factor) * -(-height // factor) * 4 * 2  # the reduced RGB image, and its EXIF-rotated copy
    return stored + strip + out


def _check_pixels(size: tuple[int, int], max_pixels: int) -> None:
    width, height = size
    if width * height > max_pixels:
        raise ImageTooLarge(f"image is {width}x{height} = {width * height:,} pixels; the limit is {max_pixels:,}")


def _described(size: tuple[int, int], fmt: str, mode: str) -> str:
    return f"this {size[0]}x{size[1]} {fmt} image (mode {mode})"


def _reserved(budget: DecodeBudget | None, cost: int, what: str) -> AbstractContextManager[None]:
    return nullcontext() if budget is None else budget.reserve(cost, what)


def _decode(image: Image.Image, target: tuple[int, int]) -> Image.Image:
    """Decode, then convert and reduce strip by strip, so no full-size intermediate exists but the decoded pixels."""
    try:
        pixels = _load(image)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ImageRejected(f"{image.format} image data is corrupt or truncated: {_no_bytes(exc)}") from exc
    factor = _reduction(image.size, target)
    if pixels.mode == "RGB" and factor == 1:
        return _upright(image, pixels)
    try:
        return _upright(image, _reduced_rgb(pixels, factor))
    finally:
        pixels.close()  # frees the decoded pixels before the budget is given back
        image.close()


def _load(image: Image.Image) -> Image.Image:
    """The decoded pixels of the first frame.

    WebP: Pillow's own load keeps libwebp's two canvases alive beside its copy of the frame (16
    bytes a pixel at the peak, 12 after). Taking the frame from the decoder and letting the decoder
    go first peaks at 12 and keeps 4. tests/handler/test_memory.py pins the Pillow internals used.
    """
    decoder = getattr(image, "_decoder", None) if image.format == "WEBP" else None
    if decoder is None:
        image.load()
        return image
    frame = decoder.get_next()
    if frame is None:
        raise OSError("libwebp could not decode the first frame")
    del image._decoder  # type: ignore[attr-defined]  # the canvases go now, not when the image does
    rawmode = image.rawmode  # type: ignore[attr-defined]  # "RGBA" or "RGBX": the frame's layout
    return Image.frombuffer(rawmode, image.size, frame[0], "raw", rawmode, 0, 1)


def _reduced_rgb(image: Image.Image, factor: int) -> Image.Image:
    width, height = image.size
    grey_peak = _grey_peak(image)
    out = Image.new("RGB", (-(-width // factor), -(-height // factor)))
    rows = _strip_rows(width, factor)
    for top in range(0, height, rows):
        strip = to_rgb(image.crop((0, top, width, min(height, top + rows))), grey_peak)
        out.paste(strip.reduce(factor) if factor > 1 else strip, (0, top // factor))
    return out


def _reduction(size: tuple[int, int], target: tuple[int, int]) -> int:
    """Box-reduce by this integer factor while both sides stay >= twice the model's input.

    The model resizes to its input anyway (bilinear, antialiased); twice the input leaves that
    resize pixels to average, and keeps every intermediate small.
    """
    return max(1, min(size) // (2 * max(target)))


def _strip_rows(width: int, factor: int) -> int:
    """Rows per strip: about _STRIP_PIXELS, a multiple of the reduction factor (strips reduce independently)."""
    return max(factor, (_STRIP_PIXELS // max(width, 1)) // factor * factor)


def _stored_bytes_per_pixel(mode: str) -> int:
    """What Pillow allocates per pixel: 1 for 1/L/P, 2 for 16-bit grey, 4 for everything else (RGB is kept as RGBX)."""
    if mode in ("1", "L", "P"):
        return 1
    return 2 if mode.startswith("I;16") else 4


def _open(data: bytes | ImageFile) -> Image.Image:
    # A file (handler.streaming.StreamedBody) is decoded while the rest of it downloads.
    source = io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else cast(IO[bytes], data)
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


def _upright(source: Image.Image, image: Image.Image) -> Image.Image:
    """Apply the source's EXIF orientation to `image` (phones store portrait photos sideways)."""
    # Same pixels as ImageOps.exif_transpose, without its cost: it re-serialises the EXIF block
    # (~3 ms on a phone photo) and copies images that are already upright; we only need pixels.
    # Rotating after the reduction is the same as before it, on a fraction of the pixels.
    try:
        method = EXIF_TRANSPOSE.get(source.getexif().get(ExifTags.Base.Orientation, 1))
    except (OSError, ValueError, SyntaxError, KeyError, TypeError):
        # A mangled EXIF block should not cost us the photo; keep the stored orientation.
        return image
    return image if method is None else image.transpose(method)


def _grey_peak(image: Image.Image) -> float:
    """The white of 16/32-bit grey: 65535 when any pixel is above 255, else 255 (read once, for every strip)."""
    if not (image.mode.startswith("I") or image.mode == "F"):
        return 255.0
    _, high = image.getextrema()  # a scan, no copy
    return 65535.0 if float(high) > 255 else 255.0  # type: ignore[arg-type]


def to_rgb(image: Image.Image, grey_peak: float | None = None) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB; transparency is flattened onto white."""
    mode = image.mode
    if mode == "RGB":
        return image
    if mode.startswith("I") or mode == "F":
        # 16/32-bit greyscale: scale to 8 bits instead of letting Pillow clip at 255. float32, not
        # float64: an 8-bit result needs no more, and each copy is half the size.
        peak = np.float32(grey_peak if grey_peak is not None else _grey_peak(image))
        pixels = np.array(image, dtype=np.float32)  # a writable copy of one strip
        pixels *= np.float32(255.0) / peak
        np.clip(pixels, 0, 255, out=pixels)
        return Image.fromarray(pixels.astype(np.uint8)).convert("RGB")
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, _WHITE + (255,))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")
