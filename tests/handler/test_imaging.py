import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageOps

from model.errors import ImageRejected
from model.imaging import decode_image

LIMIT = 50_000_000
TARGET = (128, 128)


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def gradient(width: int = 64, height: int = 48) -> Image.Image:
    x = np.linspace(0, 255, width, dtype=np.uint8)
    pixels = np.stack([np.tile(x, (height, 1))] * 3, axis=-1)
    pixels[..., 1] = 128
    return Image.fromarray(pixels, "RGB")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF", "BMP"])
def test_allowed_formats_decode_to_rgb(fmt):
    image = decode_image(encode(gradient(), fmt), max_pixels=LIMIT, target=TARGET)
    assert image.mode == "RGB" and image.size == (64, 48)


@pytest.mark.parametrize("mode", ["L", "1", "CMYK", "P", "RGBA", "LA", "I;16", "I", "F"])
def test_every_mode_becomes_rgb(mode):
    source = gradient().convert("L").convert(mode) if mode in ("I;16", "I", "F") else gradient().convert(mode)
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    if mode in ("I", "F"):  # PNG cannot hold 32-bit int or float pixels; test the conversion itself
        from model.imaging import to_rgb

        assert to_rgb(source).mode == "RGB"
        return
    image = decode_image(encode(source, fmt), max_pixels=LIMIT, target=TARGET)
    assert image.mode == "RGB"


def test_sixteen_bit_grey_is_scaled_not_clipped():
    pixels = np.full((8, 8), 32896, dtype=np.uint16)  # mid-grey in 16 bits (128 * 257)
    image = decode_image(encode(Image.fromarray(pixels), "PNG"), max_pixels=LIMIT, target=TARGET)
    assert np.asarray(image)[0, 0].tolist() == [128, 128, 128]


def test_transparency_is_flattened_onto_white():
    clear = Image.new("RGBA", (4, 4), (10, 200, 10, 0))
    image = decode_image(encode(clear, "PNG"), max_pixels=LIMIT, target=TARGET)
    assert np.asarray(image)[0, 0].tolist() == [255, 255, 255]


def test_palette_with_transparency_is_flattened():
    palette = Image.new("P", (4, 4), 0)
    palette.putpalette([0, 0, 0, 0, 255, 0] + [0] * 762)
    data = encode(palette, "PNG", transparency=0)
    image = decode_image(data, max_pixels=LIMIT, target=TARGET)
    assert np.asarray(image)[0, 0].tolist() == [255, 255, 255]


@pytest.mark.parametrize(("orientation", "size"), [(1, (64, 48)), (6, (48, 64)), (8, (48, 64)), (3, (64, 48))])
def test_exif_orientation_is_applied(orientation, size):
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(gradient(), "JPEG", exif=exif.tobytes())
    assert decode_image(data, max_pixels=LIMIT, target=TARGET).size == size


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_gives_the_pixels_pillow_exif_transpose_gives(orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(gradient(), "PNG", exif=exif.tobytes())  # lossless: pixels compare exactly
    expected = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    assert np.array_equal(np.asarray(decode_image(data, max_pixels=LIMIT, target=TARGET)), np.asarray(expected))


def test_large_jpeg_is_draft_decoded_but_stays_above_the_model_input():
    big = gradient(4000, 3000)
    image = decode_image(encode(big, "JPEG", quality=80), max_pixels=LIMIT, target=TARGET)
    assert image.size == (500, 375)  # libjpeg decoded at 1/8 scale
    assert min(image.size) >= max(TARGET)


def test_real_phone_photo_is_upright_and_drafted(real_photo):
    image = decode_image(real_photo, max_pixels=LIMIT, target=(256, 256))
    width, height = image.size
    assert height > width  # EXIF orientation 6: the stored 4032x3024 landscape is a portrait photo
    assert min(width, height) >= 256 and width * height < 4032 * 3024 / 4


def test_pixel_limit_is_enforced_before_decoding():
    with pytest.raises(ImageRejected, match="pixels; the limit is 1,000"):
        decode_image(encode(gradient(), "PNG"), max_pixels=1_000, target=TARGET)


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height (a decompression bomb's calling card)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def test_decompression_bomb_is_rejected():
    with pytest.raises(ImageRejected, match="pixel|limit"):
        decode_image(png_declaring(30_000, 30_000), max_pixels=LIMIT, target=TARGET)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"%PDF-1.4\n1 0 obj", "PDF files are not accepted"),
        (b"PK\x03\x04" + bytes(40), "ZIP files are not accepted"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "SVG files are not accepted"),
        (bytes(range(256)) * 8, "not a supported image"),
    ],
)
def test_non_images_are_rejected(data, reason):
    with pytest.raises(ImageRejected, match=reason):
        decode_image(data, max_pixels=LIMIT, target=TARGET)


def test_refused_formats_are_rejected_even_though_pillow_reads_them():
    with pytest.raises(ImageRejected, match="TIFF files are not accepted; accepted formats: JPEG"):
        decode_image(encode(gradient(), "TIFF"), max_pixels=LIMIT, target=TARGET)


def test_truncated_jpeg_is_rejected():
    data = encode(gradient(640, 480), "JPEG")
    with pytest.raises(ImageRejected, match="corrupt or truncated"):
        decode_image(data[: len(data) // 2], max_pixels=LIMIT, target=TARGET)


@pytest.mark.parametrize("mode", ["RGBA", "I;16"])
def test_a_large_image_reduced_in_strips_gives_the_model_the_pixels_a_full_size_conversion_gives(mode):
    """Strip-wise flattening/scaling and box reduction change nothing the model's input resize can see."""
    from model.synthetic import make_leaf

    leaf = make_leaf(2, seed=123, size=(1200, 900))
    if mode == "RGBA":
        source = leaf.convert("RGBA")
        source.putalpha(Image.linear_gradient("L").resize(source.size))
    else:
        source = Image.fromarray(np.asarray(leaf.convert("L"), dtype=np.uint16) * 257)
    data = encode(source, "PNG")
    decoded = decode_image(data, max_pixels=LIMIT, target=TARGET)
    assert decoded.size == (400, 300)  # reduced 3x: still twice the 128-pixel input
    if mode == "RGBA":
        white = Image.new("RGBA", source.size, (255, 255, 255, 255))
        full = Image.alpha_composite(white, source).convert("RGB")
    else:
        full = Image.fromarray((np.asarray(source) // 257).astype(np.uint8)).convert("RGB")
    model_input = np.asarray(decoded.resize(TARGET, Image.Resampling.BILINEAR), dtype=float)
    reference = np.asarray(full.resize(TARGET, Image.Resampling.BILINEAR), dtype=float)
    assert np.abs(model_input - reference).mean() < 1.5
