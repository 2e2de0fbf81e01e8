"""What the build refuses: a model that cannot work (constant or NaN outputs, top-1 below a floor on the
labelled photos) and a preprocessing that clearly does not fit the model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from model.metadata import PREPROCESS_MODES
from model.preprocess import scale

MIN_ACCURACY = 0.5  # top-1 on the labelled --samples photos below this: the model does not know these labels
MIN_SPREAD = 1e-6  # outputs that move less than this over random pixels, synthetic leaves and photos are constant
MIN_FIT_PHOTOS = 20  # fewer labelled photos and the preprocessing comparison is noise
FIT_MARGIN = 0.10  # another preprocessing this much more accurate: the given one is refused
MAX_FIT_PHOTOS = 100  # the comparison runs Keras once per candidate: a spread subset tells 98 % from 9 %


@dataclass
class Findings:
    """Problems that refuse the build (unless --accept-untrained) and warnings that only get printed."""

    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)


def check_outputs(probs: np.ndarray, embeddings: np.ndarray | None, findings: Findings) -> None:
    """NaN or infinite outputs, and outputs that do not depend on the input."""
    for name, values in (("probabilities", probs), ("embedding", embeddings)):
        if values is not None and not np.all(np.isfinite(values)):
            bad = int(np.sum(~np.all(np.isfinite(values.reshape(len(values), -1)), axis=1)))
            findings.problems.append(f"the model's {name} are NaN or infinite for {bad} of {len(values)} inputs")
    spread = float(np.nanmax(np.ptp(probs, axis=0))) if len(probs) > 1 else float("nan")
    findings.figures["output_spread"] = spread
    if len(probs) > 1 and not spread >= MIN_SPREAD:
        findings.problems.append(
            f"the model's outputs do not depend on the input: {len(probs)} different inputs (random pixels, "
            f"synthetic leaves, photos) all give {[round(float(v), 4) for v in probs[0]]}")


def check_accuracy(probs: np.ndarray, truth: np.ndarray, min_accuracy: float, findings: Findings) -> None:
    """Top-1 on the labelled photos (truth >= 0) against the floor."""
    labelled = truth >= 0
    if not labelled.any():
        return
    accuracy = float(np.mean(probs[labelled].argmax(axis=1) == truth[labelled]))
    findings.figures["samples_top1"] = round(accuracy, 4)
    findings.figures["samples_labelled"] = int(labelled.sum())
    if accuracy < min_accuracy:
        findings.problems.append(
            f"top-1 on the {int(labelled.sum())} labelled --samples photos is {accuracy:.1%}, below the floor "
            f"{min_accuracy:.0%}: an untrained model, labels in the wrong order, or the wrong --preprocess")


def check_preprocess(predict: Callable[[np.ndarray], np.ndarray], photos: np.ndarray, truth: np.ndarray,
                     given: str, scaling_layers: tuple[str, ...], findings: Findings,
                     given_probs: np.ndarray | None = None) -> None:
    """Try every preprocessing on the labelled photos (scaled with `given`); refuse when another clearly fits better."""
    if scaling_layers and given != "raw":
        findings.warnings.append(
            f"the model scales its own input ({', '.join(scaling_layers)}): it usually expects raw 0..255 pixels "
            f"(--preprocess raw), and {given} scales them a second time")
    labelled = np.flatnonzero(truth >= 0)
    if len(labelled) < MIN_FIT_PHOTOS:
        return
    chosen = labelled[np.linspace(0, len(labelled) - 1, min(len(labelled), MAX_FIT_PHOTOS)).astype(int)]
    pixels = unscale(photos[chosen], given)
    accuracy = {}
    for mode in PREPROCESS_MODES:
        if mode == given and given_probs is not None:  # already run: the build's own Keras pass
            probs = given_probs[chosen]
        else:
            probs = predict(scale(pixels, mode).astype(np.float32))  # type: ignore[arg-type]  # PREPROCESS_MODES are Preprocess values
        accuracy[mode] = round(float(np.mean(probs.argmax(axis=1) == truth[chosen])), 4)
    best = max(accuracy, key=accuracy.__getitem__)
    findings.figures["preprocess_top1"] = accuracy
    findings.figures["preprocess_fit"] = best if accuracy[best] > accuracy[given] else given
    if accuracy[best] - accuracy[given] >= FIT_MARGIN:
        findings.problems.append(
            f"--preprocess {given} gives top-1 {accuracy[given]:.1%} on {len(chosen)} labelled photos, "
            f"{best} gives {accuracy[best]:.1%}: pass --preprocess {best} (tried: "
            + ", ".join(f"{m} {a:.1%}" for m, a in accuracy.items()) + ")")
    elif accuracy[best] > accuracy[given]:
        findings.warnings.append(f"--preprocess {best} gives top-1 {accuracy[best]:.1%} on {len(chosen)} labelled "
                                 f"photos, a little above {given}'s {accuracy[given]:.1%}")


def unscale(batch: np.ndarray, mode: str) -> np.ndarray:
    """Back to 0..255 RGB pixels: the inverse of model.preprocess.scale."""
    from model.preprocess import _CAFFE_MEAN_BGR, _TORCH_MEAN, _TORCH_STD

    if mode == "inception":
        return (batch + 1.0) * 127.5
    if mode == "unit":
        return batch * 255.0
    if mode == "caffe":
        return (batch + _CAFFE_MEAN_BGR)[..., ::-1]
    if mode == "torch":
        return (batch * _TORCH_STD + _TORCH_MEAN) * 255.0
    return batch
