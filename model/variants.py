"""Convert a loaded model to LiteRT and prove the conversion: the parity figures against Keras."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from typing import Any

import numpy as np

from model.convert import litert_all_outputs, name_outputs
from model.keras_loaders import BuildError, LoadedModel
from model.parity_inputs import GENERATED_INPUTS

MAX_ABS_DIFF = 1e-4  # float32 LiteRT vs Keras, on probabilities
MIN_TOP1 = 0.99  # --quantize dynamic: below this the build refuses unless --accept-drift


def compare(expected: np.ndarray, actual: np.ndarray) -> dict[str, Any]:
    if expected.shape != actual.shape:
        raise BuildError(f"Keras output shape {expected.shape} != LiteRT output shape {actual.shape}")
    agree = expected.argmax(axis=1) == actual.argmax(axis=1)
    return {
        "max_abs_diff": float(np.max(np.abs(expected - actual))),
        "top1_agreement": float(np.mean(agree)),
        "samples": len(agree),
        "disagreements": int(np.sum(~agree)),
    }


def convert(loaded: LoadedModel, quantize: str | None) -> bytes:
    import tensorflow as tf

    converter = loaded.converter()
    if quantize == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # Keras's export prints its signature to stdout
            return bytes(converter.convert())
    except Exception as exc:
        raise BuildError(f"TensorFlow could not convert the model to LiteRT: {exc}") from exc


@dataclass(frozen=True)
class Variant:
    """One conversion, its LiteRT outputs on the parity batch and how they compare with Keras."""

    tflite: bytes
    figures: dict[str, Any]
    probs: np.ndarray
    embeddings: np.ndarray | None
    outputs: dict[str, str]  # LiteRT output tensor name of "probabilities" (and "embedding")


def real_rows(embeddings: np.ndarray | None) -> np.ndarray | None:
    return None if embeddings is None else embeddings[GENERATED_INPUTS:]


def convert_variant(loaded: LoadedModel, quantize: str | None, batch: np.ndarray, expected: np.ndarray) -> Variant:
    """Convert one variant and measure it against Keras: all inputs, and the real photos alone."""
    tflite = convert(loaded, quantize)
    raw = litert_all_outputs(tflite, batch)
    try:
        outputs = name_outputs(raw, expected)
    except ValueError as exc:
        raise BuildError(f"the LiteRT model's outputs: {exc}") from exc
    actual = raw[outputs["probabilities"]].reshape(len(batch), -1)
    figures = compare(expected, actual)
    generated = GENERATED_INPUTS
    figures["real_samples"] = len(batch) - generated
    if figures["real_samples"]:  # photos like the ones it will serve, apart from the noise inputs
        real = compare(expected[generated:], actual[generated:])
        figures["real_max_abs_diff"], figures["real_top1_agreement"] = real["max_abs_diff"], real["top1_agreement"]
        figures["real_disagreements"] = real["disagreements"]
    figures["tflite_bytes"] = len(tflite)
    embeddings = raw[outputs["embedding"]].reshape(len(batch), -1) if "embedding" in outputs else None
    return Variant(tflite, figures, actual, embeddings, outputs)


def check_parity(figures: dict[str, Any], quantize: str | None, accept_drift: bool) -> None:
    if quantize is None:
        if figures["max_abs_diff"] > MAX_ABS_DIFF or figures["top1_agreement"] < 1.0:
            raise BuildError(
                f"LiteRT and Keras disagree: max abs diff {figures['max_abs_diff']:.3g} (limit {MAX_ABS_DIFF}), "
                f"top-1 agreement {figures['top1_agreement']:.4f} (needs 1.0) on {figures['samples']} inputs"
            )
    elif figures["top1_agreement"] < MIN_TOP1 and not accept_drift:
        raise BuildError(
            f"the {quantize} quantized model agrees with Keras on top-1 for {figures['top1_agreement']:.2%} of "
            f"{figures['samples']} inputs (< {MIN_TOP1:.0%}); build float32, or pass --accept-drift"
        )
