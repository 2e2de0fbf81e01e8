"""Labelled photo folders in, uint8 pixel arrays out, decoded the way the function decodes uploads."""

from __future__ import annotations

import io
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
from PIL import ExifTags, Image

from model.imaging import EXIF_TRANSPOSE

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif")


class DataError(Exception):
    """The photo folders cannot be used for training; the message says why."""


@dataclass(frozen=True)
class Photos:
    """Pixels (N, H, W, 3) uint8, label indices (N,), and the files they came from, in a fixed order."""

    pixels: np.ndarray
    labels: np.ndarray
    files: tuple[str, ...]

    def counts(self, classes: int) -> np.ndarray:
        return np.bincount(self.labels, minlength=classes)


def label_key(name: str) -> str:
    """`Potato___Early_blight` and `Potato_Early blight` both become `potato early blight` (as model.evaluate)."""
    return re.sub(r"[\s_]+", " ", name).strip().casefold()


def read_labels(path: Path) -> tuple[str, ...]:
    labels = tuple(line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    if not labels or len(set(labels)) != len(labels):
        raise DataError(f"{path} must list each label once, one a line")
    return labels


def list_photos(roots: list[Path], labels: tuple[str, ...], skip_unknown: bool = False) -> list[tuple[Path, int]]:
    """(file, label index) for every photo in label-named folders under the roots, sorted by label then path."""
    by_key = {label_key(label): index for index, label in enumerate(labels)}
    found: list[tuple[Path, int]] = []
    for root in roots:
        if not root.is_dir():
            raise DataError(f"{root} is not a directory of label folders")
        for folder in sorted(p for p in root.iterdir() if p.is_dir()):
            index = by_key.get(label_key(folder.name))
            if index is None and skip_unknown:
                continue
            if index is None:
                raise DataError(f"folder {folder} is not one of the labels ({', '.join(labels)})")
            found.extend((p, index) for p in sorted(folder.iterdir())
                         if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES)
    missing = sorted(set(range(len(labels))) - {index for _, index in found})
    if missing:
        raise DataError(f"no photos for {', '.join(labels[i] for i in missing)} under {', '.join(map(str, roots))}")
    return sorted(found, key=lambda item: (item[1], str(item[0])))


def serving_pixels(data: bytes, size: int) -> np.ndarray:
    """The (size, size, 3) uint8 pixels the function feeds the model for these bytes.

    The same steps as model/imaging.py's decode_image and model/preprocess.py's to_input: JPEG
    draft scale, box reduction while both sides stay >= twice the input, RGB (transparency on white),
    EXIF orientation, bilinear resize. tests/model/test_train_data.py pins that they agree.
    """
    image = Image.open(io.BytesIO(data))
    if image.format in ("JPEG", "MPO"):
        image.draft("RGB", (size, size))
    image.load()
    orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    factor = max(1, min(image.size) // (2 * size))
    rgb = _rgb(image)
    if factor > 1:
        rgb = rgb.reduce(factor)
    method = EXIF_TRANSPOSE.get(orientation)
    if method is not None:
        rgb = rgb.transpose(method)
    if rgb.size != (size, size):
        rgb = rgb.resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(rgb, dtype=np.uint8)


def _rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("RGB")
    return image.convert("RGB")


def _load_one(path: Path, size: int) -> np.ndarray:
    return serving_pixels(path.read_bytes(), size)


def load_photos(roots: list[Path], labels: tuple[str, ...], size: int, workers: int = 2,
                skip_unknown: bool = False) -> Photos:
    """Decode every photo once, in parallel, into memory; the order depends only on the file names."""
    listed = list_photos(roots, labels, skip_unknown)
    paths = [path for path, _ in listed]
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            rows = list(pool.map(partial(_load_one, size=size), paths, chunksize=64))
    else:
        rows = [_load_one(path, size) for path in paths]
    return Photos(np.stack(rows), np.array([index for _, index in listed], dtype=np.int32),
                  tuple(str(path) for path in paths))
