"""Calibrate the "not recognised" rules on labelled photos (build time; numpy only).

The thresholds are quantiles over the known-class photos the model classifies correctly, so that
about `false_reject` of them (1 % by default, per rule) fall on the wrong side. Calibrate on photos
the model did not train on (a validation or test split): on its own training photos the model is
more confident and its embeddings sit closer to the centroids than on new photos, and the
thresholds come out too strict.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from model.recognition import EmbeddingCheck, Rules

FALSE_REJECT = 0.01  # per rule, on the calibration photos
FOLDS = 5  # the held-out estimate: calibrated on four fifths of the photos, measured on the fifth left out
MIN_PHOTOS_PER_CLASS = 5  # (in the fitting half) fewer and a class's centroid and scale are noise: the embedding rule is left off
METRICS = ("mahalanobis", "cosine")
PHOTOS_PER_DIMENSION = 2  # fewer correctly classified photos per embedding dimension: cosine instead
SHRINK = 0.2  # of the mean variance, added to the covariance's diagonal: it inverts, and overfits less


class CalibrationError(Exception):
    """The labelled photos cannot calibrate the rules asked for; the message says why."""


@dataclass(frozen=True)
class Calibration:
    rules: Rules
    figures: dict[str, Any]  # what the rules do on the calibration photos, for metadata.json and the report


def calibrate(probs: np.ndarray, embeddings: np.ndarray | None, truth: np.ndarray, labels: tuple[str, ...],
              no_leaf_labels: tuple[str, ...] = (), false_reject: float = FALSE_REJECT,
              metric: str = "mahalanobis", folds: int = FOLDS) -> Calibration:
    """Rules from (N, classes) probabilities, (N, dim) embeddings or None, and (N,) label indices (-1: none).

    With folds > 1 the figures also hold `not_recognised_known_held_out`: the rules calibrated `folds`
    times, each time without one fold of every class, and judged on the photos left out. The in-sample
    figure is optimistic (the thresholds were set on those very photos); this one is what new photos
    of the same kind can expect."""
    unknown = [name for name in no_leaf_labels if name not in labels]
    if unknown:
        raise CalibrationError(f"--no-leaf-label {unknown[0]!r} is not one of the labels ({', '.join(labels)})")
    no_leaf = np.array([label in no_leaf_labels for label in labels])
    labelled = truth >= 0
    if not labelled.any():
        return Calibration(Rules(no_leaf_labels), {"photos": 0, "note": "no labelled photos: only the no-leaf rule"})
    predicted = probs.argmax(axis=1)
    known = labelled & ~no_leaf[np.clip(truth, 0, None)]
    good = known & (predicted == truth)  # correctly classified photos of a known (leaf) class
    if good.sum() < MIN_PHOTOS_PER_CLASS:
        raise CalibrationError(f"only {int(good.sum())} labelled photos of leaf classes are classified correctly; "
                               "the thresholds need more (or the labels do not match the model's)")
    confidence = probs.max(axis=1)
    min_confidence = float(np.quantile(confidence[good], false_reject, method="lower"))
    check, note = _embedding_check(embeddings, truth, good, labels, no_leaf, false_reject, metric)
    rules = Rules(no_leaf_labels, round(min_confidence, 6), check)
    figures = {
        "photos": int(labelled.sum()), "known_photos": int(known.sum()), "correct_known_photos": int(good.sum()),
        "false_reject_target_per_rule": false_reject,
        "per_class_photos": {label: int(np.sum(truth == i)) for i, label in enumerate(labels)},
    }
    if note:
        figures["embedding_note"] = note
    verdicts = [rules.judge(labels[p], float(c), None if embeddings is None else e)
                for p, c, e in zip(predicted, confidence, embeddings if embeddings is not None else [None] * len(truth))]
    rejected = np.array([not v.recognized for v in verdicts])
    figures["not_recognised_known"] = round(float(rejected[known].mean()), 4)
    if (labelled & no_leaf[np.clip(truth, 0, None)]).any():
        figures["not_recognised_no_leaf"] = round(float(rejected[labelled & ~known].mean()), 4)
    if folds > 1:
        held_out = _held_out_known(probs, embeddings, truth, labels, no_leaf_labels, false_reject, metric, folds)
        if held_out is not None:
            figures["not_recognised_known_held_out"] = held_out
            figures["folds"] = folds
    return Calibration(rules, figures)


def _held_out_known(probs: np.ndarray, embeddings: np.ndarray | None, truth: np.ndarray, labels: tuple[str, ...],
                    no_leaf_labels: tuple[str, ...], false_reject: float, metric: str, folds: int) -> float | None:
    """Share of known-class photos not recognised by rules calibrated without them (None: too few photos)."""
    fold = np.zeros(len(truth), dtype=int)
    for label in np.unique(truth):
        members = np.flatnonzero(truth == label)
        fold[members] = np.arange(len(members)) % folds  # every folds-th photo of each class, in the given order
    no_leaf = np.array([label in no_leaf_labels for label in labels])
    known = (truth >= 0) & ~no_leaf[np.clip(truth, 0, None)]
    rejected = np.zeros(len(truth), dtype=bool)
    for k in range(folds):
        fit = fold != k
        try:
            rules = calibrate(probs[fit], None if embeddings is None else embeddings[fit], truth[fit], labels,
                              no_leaf_labels, false_reject, metric, folds=0).rules
        except CalibrationError:
            return None
        for i in np.flatnonzero(~fit & known):
            top = int(np.argmax(probs[i]))
            verdict = rules.judge(labels[top], float(probs[i, top]), None if embeddings is None else embeddings[i])
            rejected[i] = not verdict.recognized
    return round(float(rejected[known].mean()), 4) if known.any() else None


def _embedding_check(embeddings: np.ndarray | None, truth: np.ndarray, good: np.ndarray, labels: tuple[str, ...],
                     no_leaf: np.ndarray, false_reject: float, metric: str
                     ) -> tuple[EmbeddingCheck | None, str | None]:
    if metric not in METRICS:
        raise CalibrationError(f"embedding metric must be one of {METRICS}, got {metric!r}")
    if embeddings is None:
        return None, None
    # Fit the centres on one half of each class's photos and set the threshold on the other half: on the
    # photos it was fitted to, a 192-dimensional covariance makes distances far smaller than on new photos
    # (calibrated in-sample, 75 % of held-out leaves were rejected; split, 1 %).
    fit, held = _halves(good, truth)
    unit = _normalise(embeddings)
    leaf_classes = [i for i in range(len(labels)) if not no_leaf[i]]
    thin = [labels[i] for i in leaf_classes if np.sum(fit & (truth == i)) < MIN_PHOTOS_PER_CLASS]
    if thin:
        return None, (f"embedding rule off: fewer than {MIN_PHOTOS_PER_CLASS} correctly classified photos of "
                      f"{', '.join(thin)}")
    names = tuple(labels[i] for i in leaf_classes)
    note = None
    dim = embeddings.shape[1]
    if metric == "mahalanobis" and fit.sum() < PHOTOS_PER_DIMENSION * dim:
        metric, note = "cosine", (f"embedding metric cosine: {int(fit.sum())} photos to fit are too few to estimate "
                                  f"a {dim}-dimensional covariance (Mahalanobis needs {PHOTOS_PER_DIMENSION * dim})")
    if metric == "mahalanobis":
        partial = _mahalanobis(np.asarray(embeddings, dtype=np.float64), truth, fit, leaf_classes, names)
    else:
        centroids = np.stack([_normalise(unit[fit & (truth == i)].mean(axis=0, keepdims=True))[0]
                              for i in leaf_classes])
        scales = np.array([max(float(np.median(1.0 - unit[fit & (truth == i)] @ centroids[k])), 1e-6)
                           for k, i in enumerate(leaf_classes)])
        partial = EmbeddingCheck(centroids, scales, names, float("inf"), 1 - false_reject)
    distances = np.array([partial.distance(e) for e in embeddings[held]])
    max_distance = float(np.quantile(distances, 1 - false_reject, method="higher"))
    return replace(partial, max_distance=round(max_distance, 6), quantile=1 - false_reject), note


def _halves(good: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every other correctly classified photo of each class to fit on; the rest to set the threshold on."""
    fit = np.zeros_like(good)
    for label in np.unique(truth[good]):
        members = np.flatnonzero(good & (truth == label))
        fit[members[::2]] = True
    return fit, good & ~fit


def _mahalanobis(embeddings: np.ndarray, truth: np.ndarray, good: np.ndarray, classes: list[int],
                 names: tuple[str, ...]) -> EmbeddingCheck:
    """Class means and one shared covariance (Lee et al., 2018), a little shrunk so it inverts."""
    means = np.stack([embeddings[good & (truth == i)].mean(axis=0) for i in classes])
    centred = np.concatenate([embeddings[good & (truth == i)] - means[k] for k, i in enumerate(classes)])
    covariance = np.atleast_2d(np.cov(centred, rowvar=False))
    covariance += SHRINK * max(float(np.trace(covariance)) / len(covariance), 1e-12) * np.eye(len(covariance))
    return EmbeddingCheck(means, np.ones(len(classes)), names, float("inf"), 0.0, np.linalg.inv(covariance))


def _normalise(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float64)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms == 0, 1.0, norms)
