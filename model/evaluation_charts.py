"""scores.png: the gate's scores for known, no-leaf, unknown and non-photo images, with its thresholds drawn."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

COLOURS = {"known": "tab:green", "no-leaf": "tab:brown", "unknown": "tab:red", "non-photo": "tab:purple"}


def write_scores_png(result: dict[str, Any], outcomes: Sequence[Any], path: Path) -> None:
    """Histograms of top-1 confidence (and embedding distance, when the model has the rule) per group."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    judged = [o for o in outcomes if o.label is not None]
    with_distance = any(o.distance is not None for o in judged)
    fig, axes = plt.subplots(1, 2 if with_distance else 1, figsize=(12 if with_distance else 6.5, 4.2), squeeze=False)
    thresholds = result["gate"]["thresholds"]
    _panel(axes[0][0], judged, lambda o: o.confidence, np.linspace(0, 1, 41), "top-1 confidence",
           thresholds.get("min_confidence"), "min confidence")
    if with_distance:
        values = [o.distance for o in judged if o.distance is not None and np.isfinite(o.distance)]
        top = max(values + [thresholds.get("max_distance") or 1.0]) * 1.05
        _panel(axes[0][1], judged, lambda o: o.distance, np.linspace(0, top, 41),
               "embedding distance (relative to the nearest class's median)", thresholds.get("max_distance"),
               "max distance")
    model = result["model"]
    fig.suptitle(f"{model['name']} {model['model_version']}: the gate's scores by group\n"
                 "recognised: confidence right of its line" + (", distance left of its line" if with_distance else ""),
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _panel(ax: Any, judged: Sequence[Any], score: Any, bins: np.ndarray, xlabel: str, threshold: float | None,
           name: str) -> None:
    for group, colour in COLOURS.items():
        values = [score(o) for o in judged if o.photo.group == group and score(o) is not None]
        values = [min(v, bins[-1]) for v in values if np.isfinite(v)]
        if values:
            ax.hist(values, bins=bins, histtype="step", linewidth=1.8, color=colour, label=f"{group} ({len(values)})")
    if threshold is not None:
        ax.axvline(threshold, color="black", linestyle="--", label=f"{name} {threshold:.3g}")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("images")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
