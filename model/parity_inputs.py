"""The inputs the build's parity check runs through Keras and LiteRT: noise, synthetic leaves, real photos."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from model.imaging import MAX_IMAGE_PIXELS
from model.keras_loaders import BuildError
from model.metadata import ModelMetadata, label_key
from model.preprocess import scale, to_input

RANDOM_INPUTS = 24
SYNTHETIC_LEAVES = 8
GENERATED_INPUTS = RANDOM_INPUTS + SYNTHETIC_LEAVES  # first in the batch; the real photos follow
SAMPLE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif")
MAX_SAMPLE_PIXELS = MAX_IMAGE_PIXELS  # the handler's default


Samples = Path | Sequence[Path] | None  # one --samples folder or several (e.g. two datasets' Test/ folders)


def parity_inputs(meta: ModelMetadata, samples: Samples, seed: int = 0) -> tuple[np.ndarray, list[str]]:
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


def sample_roots(samples: Samples) -> list[Path]:
    if samples is None:
        return []
    return [samples] if isinstance(samples, Path) else list(samples)


def sample_files(samples: Samples) -> list[Path]:
    """Every image under each --samples folder, sub-folders included (a labelled folder per class works as is)."""
    return [path for _, path in _rooted_files(samples)]


def _rooted_files(samples: Samples) -> list[tuple[Path, Path]]:
    found: list[tuple[Path, Path]] = []
    for root in sample_roots(samples):
        if not root.is_dir():
            raise BuildError(f"--samples {root} is not a directory")
        files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in SAMPLE_SUFFIXES)
        if not files:
            raise BuildError(f"--samples {root} holds no images ({', '.join(SAMPLE_SUFFIXES)})")
        found.extend((root, path) for path in files)
    return found


def sample_truth(samples: Samples, labels: tuple[str, ...]) -> np.ndarray:
    """Each sample's label index from its top folder (`Potato___Early_blight` is `Potato_Early blight`); -1: none."""
    by_key = {label_key(label): i for i, label in enumerate(labels)}
    truth = []
    for root, path in _rooted_files(samples):
        parts = path.relative_to(root).parts
        truth.append(by_key.get(label_key(parts[0]), -1) if len(parts) > 1 else -1)
    return np.array(truth, dtype=np.int64)


def decode_sample(path: Path, target: tuple[int, int]) -> Image.Image:
    """Decode with the handler's own code (model/imaging.py): JPEG draft scale, EXIF rotation, RGB."""
    from model.errors import ImageRejected
    from model.imaging import decode_image

    try:
        return decode_image(path.read_bytes(), max_pixels=MAX_SAMPLE_PIXELS, target=target)
    except ImageRejected as exc:
        raise BuildError(f"sample {path} is not a usable image: {exc}") from exc
