"""The hostile-input corpus, generated: what phones, browsers and attackers upload.

Every sample says what must come of it: a diagnosis with a known label (None: any label, for
images whose colours no longer say which condition they show), or a rejection naming why.
"""

from __future__ import annotations

import io
import os
import random
import struct
import zlib
from dataclasses import dataclass

from PIL import Image

from model.synthetic import LABELS, make_leaf

PREFIX = "garden-images/corpus/"
SEED = 930_000
SIZE = (160, 160)
LANDSCAPE = (192, 144)  # not square, so a missed rotation shows in the decoded size
BYTE_LIMIT = 2_000_000  # the corpus rig's MAX_IMAGE_BYTES


@dataclass(frozen=True)
class Sample:
    name: str
    key: str
    body: bytes
    status: str  # "ok" | "rejected"
    expect: str | None  # the label for "ok" (None: any), a phrase of the reason for "rejected"


def leaf(index: int = 1, size: tuple[int, int] = SIZE) -> Image.Image:
    return make_leaf(index, seed=SEED + index, size=size)


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(width: int, height: int, bit_depth: int, colour_type: int, raw_rows: bytes) -> bytes:
    """A PNG written by hand, for what Pillow will not write (16-bit RGB, absurd dimensions)."""
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", zlib.compress(raw_rows, 9)) + png_chunk(b"IEND", b"")


def png_bomb(side: int = 30_000) -> bytes:
    """A valid 1-bit PNG declaring side x side pixels: ~110 KB on disk, 2.7 GB once decoded to RGB."""
    row = b"\x00" + bytes((side + 7) // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", data) + png_chunk(b"IEND", b"")


def rgb16_png(image: Image.Image) -> bytes:
    width, height = image.size
    pixels = image.tobytes()
    rows = []
    for y in range(height):
        row = pixels[y * width * 3:(y + 1) * width * 3]
        rows.append(b"\x00" + b"".join(struct.pack(">H", v * 257) for v in row))
    return png(width, height, 16, 2, b"".join(rows))


def grey16_png(image: Image.Image) -> bytes:
    width, height = image.size
    grey = image.convert("L").tobytes()
    rows = [b"\x00" + b"".join(struct.pack(">H", v * 257) for v in grey[y * width:(y + 1) * width]) for y in range(height)]
    return png(width, height, 16, 0, b"".join(rows))


def with_orientation(image: Image.Image, orientation: int) -> bytes:
    """Store the pixels sideways, as a phone does, with the EXIF tag that turns them upright."""
    stored = image.transpose({6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(stored, "JPEG", quality=92, exif=exif.tobytes())


def huge_exif(image: Image.Image) -> bytes:
    exif = Image.Exif()
    exif[0x010E] = "x" * 60_000  # ImageDescription: nearly the whole 64 KB APP1 segment
    exif[0x0112] = 1
    return encode(image, "JPEG", quality=90, exif=exif.tobytes())


def mangled_exif(image: Image.Image) -> bytes:
    # A TIFF header whose first IFD points far outside the block.
    return encode(image, "JPEG", quality=90, exif=b"Exif\x00\x00MM\x00*\x7f\xff\xff\xf0" + bytes(32))


def declared_size_jpeg(width: int, height: int) -> bytes:
    data = bytearray(encode(leaf(), "JPEG", quality=80))
    at = data.index(b"\xff\xc0")  # SOF0: length(2) precision(1) height(2) width(2)
    data[at + 5:at + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def animated_gif(frames: int = 2_000) -> bytes:
    first = leaf(2, size=(96, 96)).quantize(256)
    rng = random.Random(SEED)
    rest = [Image.new("P", (96, 96), rng.randrange(256)) for _ in range(16)]
    sequence = [rest[i % len(rest)] for i in range(frames - 1)]
    return encode(first, "GIF", save_all=True, append_images=sequence, duration=10, loop=0)


def palette_with_transparency(image: Image.Image) -> bytes:
    palette = image.quantize(255)
    counts = palette.histogram()
    rare = min(range(255), key=lambda i: counts[i])  # the least used colour becomes transparent
    return encode(palette, "PNG", transparency=rare)


def mpo(image: Image.Image) -> bytes:
    return encode(image, "MPO", save_all=True, append_images=[image.resize((80, 80))], quality=90)


def bad_crc_png(image: Image.Image) -> bytes:
    data = bytearray(encode(image, "PNG"))
    at = data.index(b"IDAT")
    data[at + 10] ^= 0xFF  # flip a byte inside the compressed data; the CRC no longer matches
    return bytes(data)


def png_junk_chunk(image: Image.Image) -> bytes:
    """Half the pixel data, then a chunk whose type is raw bytes: Pillow's error quotes those bytes."""
    data = encode(image, "PNG", compress_level=0)
    at = data.index(b"IDAT")
    length = struct.unpack(">I", data[at - 4:at])[0]
    half = data[at + 4:at + 4 + length // 2]
    junk = struct.pack(">I", 8) + b"\x00\xfe\x01\xff" + b"12345678" + bytes(4)
    return data[:at - 4] + png_chunk(b"IDAT", half) + junk + data[at + 8 + length:]


def samples() -> list[Sample]:
    """The whole corpus; bodies are built fresh on every call."""
    jpeg = encode(leaf(1), "JPEG", quality=90)
    cases: list[tuple[str, str, bytes, str, str | None]] = [
        # name, key suffix, body, status, expectation
        ("baseline JPEG", "baseline.jpg", jpeg, "ok", LABELS[1]),
        ("progressive JPEG", "progressive.jpg", encode(leaf(3), "JPEG", quality=85, progressive=True), "ok", LABELS[3]),
        ("truncated JPEG", "truncated.jpg", jpeg[: len(jpeg) // 2], "rejected", "truncated"),
        ("random bytes", "random.jpg", os.urandom(4096), "rejected", "not a supported image"),
        ("0-byte object", "empty.jpg", b"", "rejected", "empty object"),
        ("PDF renamed .jpg", "document.jpg", b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF", "rejected", "PDF files"),
        ("ZIP renamed .jpg", "archive.jpg", _zip(), "rejected", "ZIP files"),
        ("SVG renamed .jpg", "drawing.jpg", (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" '
                                          b'width="99999" height="99999"><script>alert(1)</script></svg>'), "rejected", "SVG files"),
        ("HTML renamed .jpg", "page.jpg", b"<!doctype html><html><body>hi</body></html>", "rejected", "not a supported image"),
        ("PNG bomb 30000x30000", "bomb.png", png_bomb(), "rejected", "exceed the safety limit"),
        ("PNG bomb 10000x10000", "bomb-10k.png", png_bomb(10_000), "rejected", "pixels; the limit is 50,000,000"),
        ("JPEG declaring 65000x65000", "huge-header.jpg", declared_size_jpeg(65_000, 65_000), "rejected", "exceed the safety limit"),
        ("over the byte limit", "too-big.jpg", b"\xff\xd8\xff\xe0" + os.urandom(BYTE_LIMIT + 10), "rejected", f"the limit is {BYTE_LIMIT:,}"),
        ("animated GIF, 2000 frames", "animated.gif", animated_gif(), "ok", LABELS[2]),
        ("single-frame GIF", "still.gif", encode(leaf(0).quantize(256), "GIF"), "ok", LABELS[0]),
        ("CMYK JPEG", "cmyk.jpg", encode(leaf(4).convert("CMYK"), "JPEG", quality=92), "ok", LABELS[4]),
        ("16-bit RGB PNG", "rgb16.png", rgb16_png(leaf(3)), "ok", LABELS[3]),
        ("16-bit greyscale PNG", "grey16.png", grey16_png(leaf(3)), "ok", None),
        ("greyscale JPEG", "grey.jpg", encode(leaf(0).convert("L"), "JPEG"), "ok", None),
        ("palette PNG with transparency", "palette-alpha.png", palette_with_transparency(leaf(2)), "ok", LABELS[2]),
        ("RGBA PNG", "rgba.png", encode(leaf(1).convert("RGBA"), "PNG"), "ok", LABELS[1]),
        ("EXIF orientation 6", "portrait-6.jpg", with_orientation(leaf(3, LANDSCAPE), 6), "ok", LABELS[3]),
        ("EXIF orientation 8", "portrait-8.jpg", with_orientation(leaf(4, LANDSCAPE), 8), "ok", LABELS[4]),
        ("huge EXIF (60 KB)", "huge-exif.jpg", huge_exif(leaf(0)), "ok", LABELS[0]),
        ("mangled EXIF", "mangled-exif.jpg", mangled_exif(leaf(2)), "ok", LABELS[2]),
        ("MPO phone photo", "phone.mpo.jpg", mpo(leaf(1)), "ok", LABELS[1]),
        ("WebP", "leaf.webp", encode(leaf(3), "WEBP", quality=90), "ok", LABELS[3]),
        ("BMP", "leaf.bmp", encode(leaf(4), "BMP"), "ok", LABELS[4]),
        ("JPEG with a ZIP appended", "polyglot.jpg", jpeg + _zip(), "ok", LABELS[1]),
        ("1x1 JPEG", "pixel.jpg", encode(Image.new("RGB", (1, 1), (30, 120, 40)), "JPEG"), "ok", None),
        ("PNG with a bad CRC", "bad-crc.png", bad_crc_png(leaf(0)), "rejected", "corrupt"),
        ("PNG with a raw-bytes chunk", "junk-chunk.png", png_junk_chunk(leaf(0, (64, 64))), "rejected", "broken PNG file (chunk <bytes>)"),
        ("HEIC photo", "iphone.heic", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + os.urandom(512), "rejected", "HEIC/HEIF"),
        ("AVIF photo", "photo.avif", b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + os.urandom(512), "rejected", "AVIF"),
        ("TIFF", "scan.tif", encode(leaf(1), "TIFF"), "rejected", "TIFF files"),
        ("PSD", "layers.psd", b"8BPS\x00\x01" + bytes(6) + struct.pack(">HIIHH", 3, 64, 64, 8, 3) + bytes(64), "rejected", "PSD files"),
        ("FITS", "telescope.fits", b"SIMPLE  =                    T".ljust(2880, b" "), "rejected", "FITS files"),
        ("key with spaces", "my garden/leaf (1).jpg", encode(leaf(0), "JPEG"), "ok", LABELS[0]),
        ("key with + and =", "a+b=c.jpg", encode(leaf(2), "JPEG"), "ok", LABELS[2]),
        ("key with %", "100% sure %2B %41.jpg", encode(leaf(3), "JPEG"), "ok", LABELS[3]),
        ("unicode key", "érable/feuille à pois 🍁.jpg", encode(leaf(4), "JPEG"), "ok", LABELS[4]),
    ]
    long_name = "k" * (1024 - len(PREFIX.encode()) - len(".jpg"))
    cases.append(("1024-byte key", long_name + ".jpg", encode(leaf(1), "JPEG"), "ok", LABELS[1]))
    return [Sample(name, PREFIX + suffix, body, status, expect) for name, suffix, body, status, expect in cases]


def _zip() -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("payload.txt", "A" * 10_000)
    return buffer.getvalue()
