"""The leaf classifier's architecture (augmentation runs outside it, in model/training/fit.py)."""

from __future__ import annotations

from dataclasses import dataclass

EMBEDDING_LAYER = "embedding"  # the pooled features before the softmax; the "not recognised" gate reads it
OUTPUT_LAYER = "probabilities"


@dataclass(frozen=True)
class Architecture:
    """Input side, stem width and the widths of the residual blocks (each halves the resolution)."""

    size: int = 96
    stem: tuple[int, ...] = (16, 32)  # strided 3x3 convolutions: each halves the resolution
    blocks: tuple[int, ...] = (64, 128, 192)
    dropout: float = 0.2


def build_classifier(classes: int, arch: Architecture):
    """Raw 0-255 RGB in, softmax out: rescaling inside, separable residual blocks, pooled `embedding`."""
    import keras
    from keras import layers

    inputs = keras.Input((arch.size, arch.size, 3), name="image")
    x = layers.Rescaling(1 / 127.5, offset=-1.0, name="rescale")(inputs)
    for number, width in enumerate(arch.stem, start=1):
        x = layers.Conv2D(width, 3, strides=2, padding="same", use_bias=False, name=f"stem{number}_conv")(x)
        x = layers.BatchNormalization(name=f"stem{number}_bn")(x)
        x = layers.ReLU(name=f"stem{number}_relu")(x)
    for number, width in enumerate(arch.blocks, start=1):
        x = _block(x, width, f"block{number}")
    x = layers.GlobalAveragePooling2D(name=EMBEDDING_LAYER)(x)
    x = layers.Dropout(arch.dropout, name="dropout")(x)
    outputs = layers.Dense(classes, activation="softmax", name=OUTPUT_LAYER)(x)
    return keras.Model(inputs, outputs, name="leaf_classifier")


def _block(x, width: int, name: str):
    """Two separable 3x3 convolutions with a projected shortcut, then 2x2 max pooling."""
    from keras import layers

    shortcut = layers.Conv2D(width, 1, use_bias=False, name=f"{name}_project")(x)
    shortcut = layers.BatchNormalization(name=f"{name}_project_bn")(shortcut)
    x = layers.SeparableConv2D(width, 3, padding="same", use_bias=False, name=f"{name}_sep1")(x)
    x = layers.BatchNormalization(name=f"{name}_bn1")(x)
    x = layers.ReLU(name=f"{name}_relu1")(x)
    x = layers.SeparableConv2D(width, 3, padding="same", use_bias=False, name=f"{name}_sep2")(x)
    x = layers.BatchNormalization(name=f"{name}_bn2")(x)
    x = layers.Add(name=f"{name}_add")([x, shortcut])
    x = layers.ReLU(name=f"{name}_relu2")(x)
    return layers.MaxPooling2D(name=f"{name}_pool")(x)

