"""Whether a prediction is an answer at all: the "not recognised" rules a model directory carries.

The rules live in metadata.json under "recognition", written by model.build, which calibrates them
on the labelled --samples photos (model/calibration.py). Applied in this order, the first that
fires gives the reason:

1. no_leaf: the top-1 label is one marked as meaning "no leaf" (--no-leaf-label). Such a photo is
   never recognised; the reason is "no leaf" only when the model is sure of it (top-1 probability
   at least the confidence threshold), else the next rules give it: a houseplant the model
   half-thinks is a scene is unfamiliar, not leafless.
2. embedding_distance: the penultimate-layer embedding is far from every known class: the
   Mahalanobis distance to the nearest class mean under one shared covariance (arrays in
   recognition.npz beside metadata.json), or the cosine distance to the nearest class centroid
   divided by that class's median (small enough for metadata.json itself).
3. min_confidence: the top-1 probability is below the threshold.

A model directory without the block (older builds, model/demo) recognises everything and says so
(`active_rules == ()`). Pure numpy: no TensorFlow, no handler, no AWS.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

NO_LEAF = "no leaf in the photo"
UNFAMILIAR = "unlike the photos this model was trained on"
NOT_SURE = "not sure"
RULE_NAMES = ("no_leaf", "embedding_distance", "min_confidence")
ARRAYS_FILE = "recognition.npz"  # the Mahalanobis means and precision matrix, beside metadata.json


@dataclass(frozen=True)
class Verdict:
    """recognized, and when not, a short reason a person can read (one of the constants above)."""

    recognized: bool
    reason: str | None = None
    distance: float | None = None  # the embedding score, for evaluation charts; None without the rule


@dataclass(frozen=True)
class EmbeddingCheck:
    """Per-class centres of the embeddings and the largest distance still recognised.

    With `precision` (Mahalanobis): class means and the inverse of the shared covariance, scales 1.
    Without: unit-length class centroids and each class's median cosine distance as its scale."""

    centroids: np.ndarray  # (classes, dim), in the order of `labels`
    scales: np.ndarray  # (classes,)
    labels: tuple[str, ...]
    max_distance: float
    quantile: float
    precision: np.ndarray | None = None  # (dim, dim)

    @property
    def metric(self) -> str:
        return "cosine" if self.precision is None else "mahalanobis"

    def distance(self, embedding: np.ndarray) -> float:
        """Distance to the nearest known class, each class's distance divided by its scale."""
        vector = np.asarray(embedding, dtype=np.float64).reshape(-1)
        norm = np.linalg.norm(vector)
        if not np.isfinite(norm):
            return float("inf")
        if self.precision is not None:
            diff = self.centroids - vector
            squared = np.einsum("kd,de,ke->k", diff, self.precision, diff)
            return float(np.min(squared / self.scales))
        if norm == 0.0:
            return float("inf")  # an all-zero embedding: nothing the model learnt fired at all
        cosine = 1.0 - self.centroids @ (vector / norm)
        return float(np.min(cosine / self.scales))


@dataclass(frozen=True)
class Rules:
    """The calibrated rules of one model; `judge` applies them to one prediction."""

    no_leaf_labels: tuple[str, ...] = ()
    min_confidence: float | None = None
    embedding: EmbeddingCheck | None = None

    @property
    def active_rules(self) -> tuple[str, ...]:
        active = {"no_leaf": bool(self.no_leaf_labels), "embedding_distance": self.embedding is not None,
                  "min_confidence": self.min_confidence is not None}
        return tuple(name for name in RULE_NAMES if active[name])

    def judge(self, label: str, confidence: float, embedding: np.ndarray | None = None) -> Verdict:
        """The verdict for a top-1 label and probability (and the embedding, when the model has one)."""
        distance = None if self.embedding is None or embedding is None else self.embedding.distance(embedding)
        sure = self.min_confidence is None or confidence >= self.min_confidence  # NaN: not sure
        if label in self.no_leaf_labels and sure:
            return Verdict(False, NO_LEAF, distance)
        if self.embedding is not None and distance is not None and not distance <= self.embedding.max_distance:
            # NaN is not recognised either
            return Verdict(False, UNFAMILIAR, distance)
        if label in self.no_leaf_labels or not sure:
            return Verdict(False, NOT_SURE, distance)
        return Verdict(True, None, distance)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"rules": list(self.active_rules), "no_leaf_labels": list(self.no_leaf_labels),
                                "min_confidence": self.min_confidence}
        if self.embedding is not None:
            e = self.embedding
            data["embedding"] = {"metric": e.metric, "max_distance": e.max_distance, "quantile": e.quantile,
                                 "labels": list(e.labels), "scales": [round(float(s), 6) for s in e.scales]}
            if e.precision is None:
                data["embedding"]["centroids"] = [[round(float(v), 6) for v in row] for row in e.centroids]
            else:
                data["embedding"]["arrays"] = ARRAYS_FILE
        return data

    def write_arrays(self, model_dir: Path) -> None:
        """The Mahalanobis arrays, too big for metadata.json, beside it (nothing to write for cosine)."""
        if self.embedding is not None and self.embedding.precision is not None:
            np.savez(model_dir / ARRAYS_FILE, means=self.embedding.centroids.astype(np.float32),
                     precision=self.embedding.precision.astype(np.float32))


def rules_from_json(data: dict[str, Any] | None, model_dir: Path | None = None) -> Rules:
    """Rules from metadata.json's "recognition" block; no block: no rules (everything recognised)."""
    if not data:
        return Rules()
    try:
        embedding = None
        if data.get("embedding"):
            e = data["embedding"]
            precision = None
            if e.get("metric") == "mahalanobis":
                if model_dir is None:
                    raise ValueError(f"the Mahalanobis rule needs its {ARRAYS_FILE}, and no model directory was given")
                with np.load(model_dir / e["arrays"]) as arrays:
                    centroids = arrays["means"].astype(np.float64)
                    precision = arrays["precision"].astype(np.float64)
            else:
                centroids = np.asarray(e["centroids"], dtype=np.float64)
            scales = np.asarray(e["scales"], dtype=np.float64)
            if centroids.ndim != 2 or scales.shape != (len(centroids),) or len(e["labels"]) != len(centroids):
                raise ValueError("embedding centroids, scales and labels do not have matching lengths")
            embedding = EmbeddingCheck(centroids, scales, tuple(e["labels"]), float(e["max_distance"]),
                                       float(e["quantile"]), precision)
        threshold = data.get("min_confidence")
        return Rules(tuple(data.get("no_leaf_labels", ())), None if threshold is None else float(threshold),
                     embedding)
    except (KeyError, TypeError, ValueError, OSError) as exc:
        raise ValueError(f"the recognition block is malformed: {exc}") from exc
