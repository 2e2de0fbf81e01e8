"""The training photos are decoded exactly as the function decodes uploads."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from model.imaging import decode_image
from model.metadata import ModelMetadata
from model.preprocess import to_input
from model.synthetic import make_leaf
from model.training.data import DataError, list_photos, serving_pixels


def served(data: bytes, size: int) -> np.ndarray:
    meta = ModelMetadata(labels=("a",), height=size, width=size, preprocess="raw", sha256="")
    image = decode_image(data, max_pixels=50_000_000, target=(size, size))
    return to_input(image, meta)[0].astype(np.uint8)


def encoded(image: Image.Image, fmt: str, orientation: int | None = None) -> bytes:
    buffer = io.BytesIO()
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    image.save(buffer, fmt, exif=exif.tobytes()) if fmt == "JPEG" else image.save(buffer, fmt)
    return buffer.getvalue()


@pytest.mark.parametrize(("width", "height", "fmt", "orientation"), [
    (256, 256, "JPEG", None),   # a PlantVillage photo: libjpeg decodes it at 1/2 scale for 96 or 128
    (1200, 900, "JPEG", 6),     # a sideways phone photo: draft, box reduction, rotation, resize
    (300, 200, "PNG", None),
    (96, 96, "JPEG", 3),
])
def test_training_pixels_are_the_served_pixels(width: int, height: int, fmt: str, orientation: int | None) -> None:
    data = encoded(make_leaf(1, seed=4, size=(width, height)), fmt, orientation)
    for size in (96, 128):
        assert np.array_equal(serving_pixels(data, size), served(data, size))


def test_transparent_png_is_flattened_on_white_as_served() -> None:
    image = make_leaf(2, seed=5, size=(200, 200)).convert("RGBA")
    image.putalpha(Image.new("L", image.size, 0))
    data = encoded(image, "PNG")
    assert np.array_equal(serving_pixels(data, 96), served(data, 96))
    assert serving_pixels(data, 96).min() == 255


def test_folders_map_to_labels_in_a_fixed_order(tmp_path) -> None:
    for folder, names in (("Potato___Early_blight", ["b.jpg", "a.jpg"]), ("Background_without_leaves", ["c.jpg"])):
        (tmp_path / folder).mkdir()
        for name in names:
            (tmp_path / folder / name).write_bytes(b"x")
    listed = list_photos([tmp_path], ("Background_without_leaves", "Potato_Early blight"))
    assert [(p.name, i) for p, i in listed] == [("c.jpg", 0), ("a.jpg", 1), ("b.jpg", 1)]
    with pytest.raises(DataError, match="not one of the labels"):
        list_photos([tmp_path], ("Potato_Early blight", "Potato_healthy"))
