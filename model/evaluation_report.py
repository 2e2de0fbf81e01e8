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
        elif o.photo.truth is not None:
            confusion[index[o.photo.truth]][index[o.label]] += 1
    labelled = [o for o in outcomes if o.photo.truth is not None]
    diagnosed = [o for o in labelled if o.label is not None]
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
        "photos": len(labelled),
        "diagnosed": len(diagnosed),
        "correct": correct,
        "accuracy": round(correct / len(diagnosed), 4) if diagnosed else None,
        "per_class": per_class,
        "confusion": {"rows_are": "folder (truth)", "columns_are": "predicted", "labels": labels,
                      "counts": confusion},
        "ms_per_photo": {"median": round(statistics.median(times), 2), "mean": round(statistics.fmean(times), 2),
                         "max": round(max(times), 2)} if times else None,
        "slowest": [{"path": str(o.photo.path), "ms": round(o.ms, 2), "label": o.label} for o in slowest],
        "gate": gate_figures(meta, outcomes),
        "wrong": [{"path": str(o.photo.path), "folder": o.photo.truth, "label": o.label,
                   "confidence": o.confidence} for o in diagnosed if o.label != o.photo.truth],
        "rejected": rejected,
        "not_counted": notes,
    }


def render(result: dict[str, Any]) -> str:
    """The report a person reads: accuracy table, confusion matrix, slowest photos, what was left out."""
    model = result["model"]
    lines = [(f"model {model['name']} {model['model_version']} ({model['quantize']}), {result['mode']}, "
              f"{result['runtime']}; {result['diagnosed']} of {result['photos']} photos diagnosed")]
    if result["accuracy"] is not None:
        lines.append(f"accuracy {result['accuracy']:.2%} ({result['correct']}/{result['diagnosed']})")
    width = max(len(label) for label in model["labels"])
    lines.append("")
    lines.append(f"{'class':{width}}  photos  correct  accuracy")
    for label, row in result["per_class"].items():
        accuracy = "-" if row["accuracy"] is None else f"{row['accuracy']:.2%}"
        lines.append(f"{label:{width}}  {row['photos']:6}  {row['correct']:7}  {accuracy:>8}")
    lines.extend(render_gate(result["gate"], model["labels"], width))
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


def gate_figures(meta: ModelMetadata, outcomes: Sequence[Any]) -> dict[str, Any]:
    """The "not recognised" rates per group, the reasons, and the confusion matrix with its extra column."""
    recognition = meta.extra.get("recognition", {})
    judged = [o for o in outcomes if o.label is not None and o.recognized is not None]
    rates = {}
    for group in GROUPS:
        members = [o for o in judged if o.photo.group == group]
        if members:
            refused = sum(not o.recognized for o in members)
            rates[group] = {"photos": len(members), "not_recognised": refused,
                            "rate": round(refused / len(members), 4)}
    labels = list(meta.labels)
    index = {label: i for i, label in enumerate(labels)}
    counts = [[0] * (len(labels) + 1) for _ in labels]
    for o in judged:
        if o.photo.truth is not None:
            counts[index[o.photo.truth]][index[o.label] if o.recognized else len(labels)] += 1
    known = [o for o in judged if o.photo.group == "known"]
    reasons: dict[str, dict[str, int]] = {}
    for o in judged:
        if not o.recognized:
            by_group = reasons.setdefault(o.reason or "?", {})
            by_group[o.photo.group] = by_group.get(o.photo.group, 0) + 1
    return {
        "reported": bool(judged),
        "rules": recognition.get("rules", []),
        "thresholds": {"min_confidence": recognition.get("min_confidence"),
                       "max_distance": (recognition.get("embedding") or {}).get("max_distance"),
                       "no_leaf_labels": recognition.get("no_leaf_labels", [])},
        "not_recognised": rates,
        "reasons": reasons,
        "known_correct_and_recognised": round(sum(o.recognized and o.label == o.photo.truth for o in known)
                                              / len(known), 4) if known else None,
        # What the build measured on its own --samples with the rules calibrated without each fold: the
        # rate to expect on new photos when these are the photos the rules were calibrated on.
        "known_held_out_at_build": (recognition.get("calibration") or {}).get("not_recognised_known_held_out"),
        "confusion": {"rows_are": "folder (truth)", "columns_are": "predicted, then not recognised",
                      "columns": labels + [NOT_RECOGNISED], "counts": counts},
        "unknown_recognised": [{"path": str(o.photo.path), "group": o.photo.group, "label": o.label,
                                "confidence": o.confidence} for o in judged
                               if o.photo.truth is None and o.recognized][:20],
    }


def render_gate(gate: dict[str, Any], labels: list[str], width: int) -> list[str]:
    """The gate's rates, reasons and confusion matrix as text."""
    if not gate["reported"]:
        return ["", "not recognised: not reported by this path"]
    lines = ["", f"not recognised (rules: {', '.join(gate['rules']) or 'none'}; thresholds "
                 + ", ".join(f"{k} {v}" for k, v in gate["thresholds"].items() if v not in (None, [])) + ")"]
    for group, row in gate["not_recognised"].items():
        lines.append(f"  {GROUP_NAMES[group]:38} {row['rate']:7.2%}  ({row['not_recognised']}/{row['photos']})")
    for reason, by_group in gate["reasons"].items():
        lines.append(f"  reason {reason!r}: " + ", ".join(f"{g} {n}" for g, n in by_group.items()))
    if gate["known_correct_and_recognised"] is not None:
        lines.append(f"  known-class photos right and recognised: {gate['known_correct_and_recognised']:.2%}")
    if gate.get("known_held_out_at_build") is not None:
        lines.append(f"  known classes not recognised when held out at build time (calibrated without them, "
                     f"k-fold): {gate['known_held_out_at_build']:.2%}")
    lines.append("")
    lines.append("confusion matrix with the gate (rows: folder, columns: predicted, then not recognised)")
    lines.append(f"{'':{width + 4}}" + "".join(f"{i:>7}" for i in range(len(labels))) + "    n/r")
    for i, (label, counts) in enumerate(zip(labels, gate["confusion"]["counts"])):
        lines.append(f"{i:>2}  {label:{width}}" + "".join(f"{n:7}" for n in counts))
    for item in gate["unknown_recognised"][:5]:  # evaluation.json lists up to 20
        lines.append(f"recognised but unknown ({item['group']}): {item['path']}: {item['label']} ({item['confidence']})")
    return lines


NOT_RECOGNISED = "not recognised"
GROUPS = ("known", "no-leaf", "unknown", "non-photo")
GROUP_NAMES = {"known": "known classes (should be low)", "no-leaf": "no-leaf class (should be high)",
               "unknown": "--unknown photos (should be high)", "non-photo": "non-photos (should be high)"}


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
