"""The inputs the build's parity check runs through Keras and LiteRT: noise, synthetic leaves, real photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from model.metadata import ModelMetadata, label_key
from model.preprocess import scale, to_input
from model.sources import BuildError

RANDOM_INPUTS = 24
SYNTHETIC_LEAVES = 8
GENERATED_INPUTS = RANDOM_INPUTS + SYNTHETIC_LEAVES  # first in the batch; the real photos follow
SAMPLE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif")
MAX_SAMPLE_PIXELS = 50_000_000  # the handler's default MAX_IMAGE_PIXELS


def parity_inputs(meta: ModelMetadata, samples: Path | None, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """Random pixels, synthetic leaves and any real photos, each scaled as serving scales them."""
    from model.synthetic import LABELS, make_leaf

    rng = np.random.default_rng(seed)
    pixels = rng.uniform(0, 255, (RANDOM_INPUTS, meta.height, meta.width, 3)).astype(np.float32)
    rows = list(scale(pixels, meta.preprocess))
    names = [f"random-{i}" for i in range(RANDOM_INPUTS)]
    for i in range(SYNTHETIC_LEAVES):
        rows.append(to_input(make_leaf(i % len(LABELS), seed=900_000 + i, size=(320, 320)), meta)[0])
        names.append(f"synthetic-leaf-{i}")
    for path in sample_files(samples):
        rows.append(to_input(decode_sample(path, (meta.width, meta.height)), meta)[0])
        names.append(path.name)
    return np.stack(rows).astype(np.float32), names


def sample_files(samples: Path | None) -> list[Path]:
    """Every image under --samples, sub-folders included (a labelled folder per class works as is)."""
    if samples is None:
        return []
    if not samples.is_dir():
        raise BuildError(f"--samples {samples} is not a directory")
    files = sorted(p for p in samples.rglob("*") if p.is_file() and p.suffix.lower() in SAMPLE_SUFFIXES)
    if not files:
        raise BuildError(f"--samples {samples} holds no images ({', '.join(SAMPLE_SUFFIXES)})")
    return files


def sample_truth(samples: Path | None, labels: tuple[str, ...]) -> np.ndarray:
    """Each sample's label index from its top folder (`Potato___Early_blight` is `Potato_Early blight`); -1: none."""
    by_key = {label_key(label): i for i, label in enumerate(labels)}
    truth = []
    for path in sample_files(samples):
        parts = path.relative_to(samples).parts if samples else ()
        truth.append(by_key.get(label_key(parts[0]), -1) if len(parts) > 1 else -1)
    return np.array(truth, dtype=np.int64)


def decode_sample(path: Path, target: tuple[int, int]) -> Image.Image:
    """Decode with the handler's own code (handler/imaging.py): JPEG draft scale, EXIF rotation, RGB."""
    from handler.errors import ImageRejected
    from handler.imaging import decode_image

    try:
        return decode_image(path.read_bytes(), max_pixels=MAX_SAMPLE_PIXELS, target=target)
    except ImageRejected as exc:
        raise BuildError(f"sample {path} is not a usable image: {exc}") from exc
