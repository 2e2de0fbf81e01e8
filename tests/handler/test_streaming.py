"""Decoding while the body downloads: the same pixels and the same answers as decoding the whole bytes."""

from __future__ import annotations

import io
import threading
import time

import numpy as np
import pytest
from botocore.exceptions import IncompleteReadError, ResponseStreamingError
from PIL import Image

from handler.domain import ObjectRef
from handler.errors import ImageRejected, TransientError
from handler.objects import ObjectReader
from handler.streaming import StreamedBody
from model.imaging import decode_image
from tests.handler.conftest import BUCKET

LIMIT = 50_000_000
MAX_BYTES = 20 * 1024 * 1024


class TrickleBody:
    """Stands in for botocore's StreamingBody: hands out the bytes in small pieces, slowly, maybe failing."""

    def __init__(self, data: bytes, piece: int = 7_001, pause_s: float = 0.0, fail_at: int | None = None,
                 gate: threading.Event | None = None, gate_at: int | None = None) -> None:
        self._data, self._piece, self._pause, self._fail_at = data, piece, pause_s, fail_at
        self._gate, self._gate_at = gate, gate_at
        self.sent = 0
        self.closed = False

    def read(self, amt: int) -> bytes:
        if self._gate is not None and self._gate_at is not None and self.sent >= self._gate_at:
            self._gate.wait(10)
        if self._fail_at is not None and self.sent >= self._fail_at:
            raise ResponseStreamingError(error="Connection broken: IncompleteRead")
        time.sleep(self._pause)
        end = min(self.sent + min(amt, self._piece), len(self._data), self._fail_at or len(self._data))
        chunk = self._data[self.sent : end]
        self.sent = end
        return chunk

    def close(self) -> None:
        self.closed = True


def streamed(data: bytes, **kwargs) -> StreamedBody:
    return StreamedBody(TrickleBody(data, **kwargs), len(data), MAX_BYTES, "s3://bucket/key.jpg")


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def leaf(size: tuple[int, int] = (900, 700)) -> Image.Image:
    from model.synthetic import make_leaf

    return make_leaf(2, seed=31_337, size=size)


def samples(real_photo: bytes) -> dict[str, bytes]:
    image = leaf()
    rotated = image.getexif()
    rotated[0x0112] = 6  # EXIF orientation: rotate 90° on display
    return {
        "12 MP phone photo (EXIF-rotated)": real_photo,
        "baseline JPEG": encode(image, "JPEG", quality=90),
        "progressive JPEG": encode(image, "JPEG", quality=85, progressive=True),
        "JPEG with EXIF orientation 6": encode(image, "JPEG", exif=rotated),
        "PNG": encode(image, "PNG"),
        "RGBA PNG": encode(image.convert("RGBA"), "PNG"),
        "lossy WebP": encode(image, "WEBP", quality=80),
        "lossless WebP": encode(image, "WEBP", lossless=True),
        "GIF": encode(image, "GIF"),
    }


@pytest.mark.parametrize("target", [(256, 256), (96, 96)])
def test_streamed_decode_gives_exactly_the_pixels_of_the_whole_bytes(real_photo, target):
    for name, data in samples(real_photo).items():
        expected = decode_image(data, max_pixels=LIMIT, target=target)
        got = decode_image(streamed(data, pause_s=0.0002), max_pixels=LIMIT, target=target)
        assert got.size == expected.size and got.mode == expected.mode, name
        assert np.array_equal(np.asarray(got), np.asarray(expected)), name


def test_jpeg_draft_scaling_still_applies_to_the_stream(real_photo):
    image = decode_image(streamed(real_photo), max_pixels=LIMIT, target=(256, 256))
    # 4032x3024 decoded at 1/8 (504x378), then turned upright by its EXIF orientation.
    assert image.size == (378, 504)


def test_decoding_starts_before_the_body_has_arrived(real_photo):
    gate = threading.Event()
    body = TrickleBody(real_photo, piece=65_536, gate=gate, gate_at=256 * 1024)
    stream = StreamedBody(body, len(real_photo), MAX_BYTES, "s3://bucket/photo.jpg")
    opened = Image.open(stream)  # header and EXIF are in the first bytes
    assert opened.size == (4032, 3024) and body.sent < len(real_photo)
    gate.set()
    decoded = decode_image(stream, max_pixels=LIMIT, target=(256, 256))
    assert np.array_equal(np.asarray(decoded), np.asarray(decode_image(real_photo, max_pixels=LIMIT,
                                                                         target=(256, 256))))


@pytest.mark.parametrize("cut", [0.02, 0.5, 0.97])
@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_a_truncated_object_gets_the_same_answer_as_today(fmt, cut):
    data = encode(leaf(), fmt)
    truncated = data[: int(len(data) * cut)]
    with pytest.raises(ImageRejected) as today:
        decode_image(truncated, max_pixels=LIMIT, target=(96, 96))
    with pytest.raises(ImageRejected) as now:
        decode_image(streamed(truncated), max_pixels=LIMIT, target=(96, 96))
    assert str(now.value) == str(today.value)


@pytest.mark.parametrize("cut", [0.01, 0.5, 0.97])
@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF"])
def test_a_transfer_that_breaks_off_is_a_retry_not_a_rejection(fmt, cut):
    data = encode(leaf(), fmt)
    with pytest.raises(TransientError, match="failed mid-stream"):
        decode_image(streamed(data, fail_at=int(len(data) * cut)), max_pixels=LIMIT, target=(96, 96))


def test_a_body_longer_than_declared_is_rejected_at_the_byte_limit():
    data = encode(leaf(), "PNG")
    stream = StreamedBody(TrickleBody(data), 100, len(data) // 2, "s3://bucket/liar.png")
    with pytest.raises(ImageRejected, match=f"over {len(data) // 2:,} bytes"):
        decode_image(stream, max_pixels=LIMIT, target=(96, 96))


@pytest.mark.parametrize(
    ("data", "reason"),
    [(b"", "empty"), (b"%PDF-1.4\n1 0 obj", "PDF files are not accepted"), (bytes(range(256)) * 8, "not a supported")],
)
def test_non_images_are_named_from_the_stream_as_from_bytes(data, reason):
    with pytest.raises(ImageRejected, match=reason):
        decode_image(streamed(data), max_pixels=LIMIT, target=(96, 96))


def test_close_stops_the_download():
    gate = threading.Event()
    body = TrickleBody(bytes(1_000_000), piece=10_000, gate=gate, gate_at=50_000)
    stream = StreamedBody(body, 1_000_000, MAX_BYTES, "s3://bucket/big.jpg")
    assert stream.read(10) == bytes(10)
    stream.close()
    gate.set()
    stream._thread.join(5)
    assert body.closed and body.sent < 1_000_000


def test_reading_a_real_s3_body_through_botocore(aws, real_photo):
    aws["s3"].put_object(Bucket=BUCKET, Key="garden-images/p.jpg", Body=real_photo)
    obj = ObjectReader(aws["s3"], MAX_BYTES).fetch(ObjectRef(bucket=BUCKET, key="garden-images/p.jpg"))
    assert len(obj.body) == len(real_photo) and obj.body.read() == real_photo
    assert obj.body.seek(0, io.SEEK_END) == len(real_photo)


def test_botocore_incomplete_read_is_transient():
    class Short(TrickleBody):
        def read(self, amt: int) -> bytes:
            chunk = super().read(amt)
            if not chunk:
                raise IncompleteReadError(actual_bytes=self.sent, expected_bytes=self.sent + 10)
            return chunk

    data = encode(leaf(), "PNG")
    stream = StreamedBody(Short(data), len(data) + 10, MAX_BYTES, "s3://bucket/short.png")
    with pytest.raises(TransientError, match="mid-stream"):
        stream.read()

