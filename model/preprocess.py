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
    if mode == "caffe":
        # keras.applications.resnet/vgg preprocess_input: RGB -> BGR, minus the ImageNet channel means
        return pixels[..., ::-1] - _CAFFE_MEAN_BGR
    if mode == "torch":
        # keras.applications.densenet preprocess_input: x / 255, then ImageNet mean and std per channel
        return (pixels / np.float32(255.0) - _TORCH_MEAN) / _TORCH_STD
    return pixels


_CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68], dtype=np.float32)
_TORCH_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
_TORCH_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def to_input(image: Image.Image, meta: ModelMetadata) -> np.ndarray:
    """Resize (aspect ratio not kept, as the seed did) and scale to a (1, H, W, 3) float32 batch."""
    if image.mode != "RGB":
        raise ValueError(f"expected an RGB image, got mode {image.mode}")
    if image.size != (meta.width, meta.height):
        image = image.resize((meta.width, meta.height), Image.Resampling.BILINEAR)
    pixels = np.asarray(image, dtype=np.float32)
    return scale(pixels, meta.preprocess)[np.newaxis, ...]
