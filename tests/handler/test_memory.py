"""The decode budget: what fits waits its turn, what can never fit is refused with the limit named."""

import io
import threading
import time

import pytest
from PIL import Image

from model.decode_budget import MIB, DecodeBudget, budget_from
from model.errors import ImageTooLarge
from model.imaging import decode_cost, decode_image

TARGET = (96, 96)


def test_the_budget_is_a_share_of_the_function_memory_beyond_the_baseline():
    budget = budget_from({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "2048"}, baseline=148 * MIB)
    assert budget is not None and budget.total == int(1900 * MIB * 0.4)
    assert "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=2048 MB" in budget.description
    assert budget_from({}, baseline=0) is None  # outside Lambda nothing says how much there is


def test_a_decode_that_can_never_fit_is_refused_at_once_naming_the_limit():
    budget = DecodeBudget(100 * MIB, "test budget")
    with (pytest.raises(ImageTooLarge, match=r"needs about 101 MiB to decode; the decode budget is 100 MiB \(test budget\)"),
          budget.reserve(101 * MIB, "this image")):
        pass
    assert budget.held == 0


def test_a_decode_that_fits_waits_until_the_one_before_it_is_done():
    budget = DecodeBudget(100, "test budget")
    order: list[str] = []
    first_in = threading.Event()

    def first() -> None:
        with budget.reserve(60, "first"):
            first_in.set()
            time.sleep(0.2)
            order.append("first done")

    def second() -> None:
        first_in.wait()
        with budget.reserve(60, "second"):
            order.append("second started")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)
    assert order == ["first done", "second started"]
    assert budget.held == 0


def test_small_decodes_share_the_budget_at_once():
    budget = DecodeBudget(100, "test budget")
    with budget.reserve(40, "a"), budget.reserve(40, "b"):
        assert budget.held == 80


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


@pytest.mark.parametrize(("mode", "fmt", "bytes_per_pixel"), [("RGBA", "PNG", 4), ("I;16", "PNG", 2), ("RGBA", "WEBP", 12)])
def test_the_cost_counts_every_buffer_of_the_decode(mode, fmt, bytes_per_pixel):
    data = encode(Image.new(mode, (3000, 2000)), fmt, **({"lossless": True} if fmt == "WEBP" else {}))
    opened = Image.open(io.BytesIO(data))
    cost = decode_cost(opened.size, opened.mode, opened.format, TARGET)
    assert 3000 * 2000 * bytes_per_pixel < cost < 3000 * 2000 * bytes_per_pixel + 40 * MIB


def test_decode_image_holds_its_cost_while_decoding_and_gives_it_back():
    data = encode(Image.new("RGBA", (3000, 2000), (0, 120, 0, 128)), "PNG")
    budget = DecodeBudget(200 * MIB, "test budget")
    image = decode_image(data, max_pixels=50_000_000, target=TARGET, budget=budget)
    assert image.mode == "RGB" and budget.held == 0
    with pytest.raises(ImageTooLarge, match="decode budget is 10 MiB"):
        decode_image(data, max_pixels=50_000_000, target=TARGET, budget=DecodeBudget(10 * MIB, "test budget"))


@pytest.mark.parametrize("options", [{"lossless": True}, {"quality": 80}, {"quality": 80, "exif": b"Exif\x00\x00"}],
                         ids=["VP8L", "VP8", "VP8X"])
def test_a_webp_canvas_is_read_from_its_header(options):
    from model.imaging import webp_canvas

    data = encode(Image.new("RGBA" if "exif" in options else "RGB", (321, 123)), "WEBP", **options)
    assert webp_canvas(data) == (321, 123)


def test_a_webp_that_can_never_fit_is_refused_before_pillow_opens_it(monkeypatch):
    """Opening a WebP allocates libwebp's canvases: the budget must answer first."""
    import model.imaging

    data = encode(Image.new("RGBA", (3000, 2000)), "WEBP", lossless=True)
    monkeypatch.setattr(model.imaging, "_open", lambda data: pytest.fail("opened before the budget said yes"))
    with pytest.raises(ImageTooLarge, match="3000x2000 WEBP image .* the decode budget is 10 MiB"):
        decode_image(data, max_pixels=50_000_000, target=TARGET, budget=DecodeBudget(10 * MIB, "test budget"))


def test_the_pillow_internals_the_webp_load_relies_on_are_there():
    """model.imaging._load takes a WebP's frame from Pillow's libwebp decoder; a Pillow without
    these would fall back to its own load, which costs 16 bytes a pixel, not the 12 budgeted."""
    image = Image.open(io.BytesIO(encode(Image.new("RGBA", (8, 8)), "WEBP", lossless=True)))
    assert callable(image._decoder.get_next) and image.rawmode in ("RGBA", "RGBX")


def test_records_decoding_at_once_all_get_the_containers_one_budget(monkeypatch):
    import model.decode_budget

    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "2048")
    monkeypatch.setattr(model.decode_budget, "resident_bytes", lambda: time.sleep(0.05) or 100 * MIB)
    monkeypatch.setattr(model.decode_budget, "return_freed_buffers_to_the_os", lambda: True)
    model.decode_budget._container_budget.cache_clear()
    seen: list[int] = []
    threads = [threading.Thread(target=lambda: seen.append(id(model.decode_budget.container_budget()))) for _ in range(8)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=5)
    finally:
        model.decode_budget._container_budget.cache_clear()
    assert len(seen) == 8 and len(set(seen)) == 1
