"""Turn a decoded RGB image into the model's input tensor, the same way in training and serving."""

from __future__ import annotations

import numpy as np
from PIL import Image

from model.metadata import ModelMetadata, Preprocess


def scale(pixels: np.ndarray, mode: Preprocess) -> np.ndarray:
    """Apply the model's input scaling to float32 pixels in 0..255."""
    if mode == "inception":
        # keras.applications.inception_v3.preprocess_input: x / 127.5 - 1
        return pixels / np.float32(127.5) - np.float32(1.0)
    if mode == "unit":
        return pixels / np.float32(255.0)
    return pixels


def to_input(image: Image.Image, meta: ModelMetadata) -> np.ndarray:
    """Resize (aspect ratio not kept, as the seed did) and scale to a (1, H, W, 3) float32 batch."""
    if image.mode != "RGB":
        raise ValueError(f"expected an RGB image, got mode {image.mode}")
    if image.size != (meta.width, meta.height):
        image = image.resize((meta.width, meta.height), Image.Resampling.BILINEAR)
    pixels = np.asarray(image, dtype=np.float32)
    return scale(pixels, meta.preprocess)[np.newaxis, ...]
