"""The figures of one evaluation run: accuracy, confusion matrix, slowest photos; as text and as a PNG."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from model.metadata import ModelMetadata

SLOWEST = 5


def figures(meta: ModelMetadata, outcomes: Sequence[Any], notes: list[str]) -> dict[str, Any]:
    """Every figure as plain JSON values; rejected files are listed, not counted in the accuracy."""
    labels = list(meta.labels)
    index = {label: i for i, label in enumerate(labels)}
    confusion = [[0] * len(labels) for _ in labels]
    rejected = []
    for o in outcomes:
        if o.label is None:
            rejected.append({"path": str(o.photo.path), "folder": o.photo.truth, "reason": o.error})
        else:
            confusion[index[o.photo.truth]][index[o.label]] += 1
    diagnosed = [o for o in outcomes if o.label is not None]
    correct = sum(confusion[i][i] for i in range(len(labels)))
    per_class = {}
    for i, label in enumerate(labels):
        photos = sum(confusion[i])
        per_class[label] = {"photos": photos, "correct": confusion[i][i],
                            "accuracy": round(confusion[i][i] / photos, 4) if photos else None}
    times = [o.ms for o in diagnosed]
    slowest = sorted(diagnosed, key=lambda o: o.ms, reverse=True)[:SLOWEST]
    return {
        "model": {"name": meta.name, "model_version": meta.model_version,
                  "quantize": meta.extra.get("quantize", "none"), "labels": labels},
        "photos": len(outcomes),
        "diagnosed": len(diagnosed),
        "correct": correct,
        "accuracy": round(correct / len(diagnosed), 4) if diagnosed else None,
        "per_class": per_class,
        "confusion": {"rows_are": "folder (truth)", "columns_are": "predicted", "labels": labels,
                      "counts": confusion},
        "ms_per_photo": {"median": round(statistics.median(times), 2), "mean": round(statistics.fmean(times), 2),
                         "max": round(max(times), 2)} if times else None,
        "slowest": [{"path": str(o.photo.path), "ms": round(o.ms, 2), "label": o.label} for o in slowest],
        "wrong": [{"path": str(o.photo.path), "folder": o.photo.truth, "label": o.label,
                   "confidence": o.confidence} for o in diagnosed if o.label != o.photo.truth],
        "rejected": rejected,
        "not_counted": notes,
    }


def render(result: dict[str, Any]) -> str:
    """The report a person reads: accuracy table, confusion matrix, slowest photos, what was left out."""
    model = result["model"]
    lines = [f"model {model['name']} {model['model_version']} ({model['quantize']}), {result['mode']}, "
             f"{result['runtime']}; {result['diagnosed']} of {result['photos']} photos diagnosed"]
    if result["accuracy"] is not None:
        lines.append(f"accuracy {result['accuracy']:.2%} ({result['correct']}/{result['diagnosed']})")
    width = max(len(label) for label in model["labels"])
    lines.append("")
    lines.append(f"{'class':{width}}  photos  correct  accuracy")
    for label, row in result["per_class"].items():
        accuracy = "-" if row["accuracy"] is None else f"{row['accuracy']:.2%}"
        lines.append(f"{label:{width}}  {row['photos']:6}  {row['correct']:7}  {accuracy:>8}")
    lines.append("")
    lines.append("confusion matrix (rows: folder, columns: predicted)")
    cells = [str(i) for i in range(len(model["labels"]))]
    lines.append(f"{'':{width + 4}}" + "".join(f"{c:>7}" for c in cells))
    for i, (label, counts) in enumerate(zip(model["labels"], result["confusion"]["counts"])):
        lines.append(f"{i:>2}  {label:{width}}" + "".join(f"{n:7}" for n in counts))
    if result["ms_per_photo"]:
        t = result["ms_per_photo"]
        lines.append(f"\nms per photo: median {t['median']}, mean {t['mean']}, max {t['max']}; slowest:")
        lines.extend(f"  {s['ms']:8.1f} ms  {s['path']}" for s in result["slowest"])
    for wrong in result["wrong"]:
        lines.append(f"wrong: {wrong['path']}: {wrong['label']} ({wrong['confidence']}), "
                     f"folder says {wrong['folder']}")
    for item in result["rejected"]:
        lines.append(f"rejected, not counted: {item['path']}: {item['reason']}")
    lines.extend(f"note: {note}" for note in result["not_counted"])
    return "\n".join(lines)


def write_png(result: dict[str, Any], path: Path) -> None:
    """The confusion matrix as a heat map with the counts written in."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = result["model"]["labels"]
    counts = result["confusion"]["counts"]
    size = 2.2 + 1.1 * len(labels)
    fig, ax = plt.subplots(figsize=(size + 1.5, size))
    ax.imshow(counts, cmap="Greens")
    peak = max((max(row) for row in counts), default=0)
    for i, row in enumerate(counts):
        for j, n in enumerate(row):
            ax.text(j, i, str(n), ha="center", va="center", color="white" if n > peak / 2 else "black")
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("folder (truth)")
    accuracy = "-" if result["accuracy"] is None else f"{result['accuracy']:.2%}"
    ax.set_title(f"{result['model']['name']} ({result['model']['quantize']}, {result['mode']}): {accuracy}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
