"""Decoding while the body downloads against reading it whole, over the simulated S3, on the accepted model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def accepted(cache: Path) -> dict:
    """What bench.build found model.build would keep for the seed's architecture (int8 or float32)."""
    return json.loads((cache / "acceptance.json").read_text())


def variant(all_variants: list[Any], accepted_name: str) -> Any:
    """The accepted model, every other warm call reading each body whole first (how it read before)."""
    from dataclasses import replace

    model = next(v for v in all_variants if v.name == accepted_name)
    return replace(model, name=f"{accepted_name}-side-by-side", env={**model.env, "BENCH_ALTERNATE_WHOLE_BODY": "1"})


def split(results: dict[str, list[dict]], label: str) -> tuple[dict[str, list[dict]], dict[str, str]]:
    """The interleaved warm rows as two variants: decoded while downloading, and body read whole first."""
    ((name, runs),) = results.items()
    base = name.removesuffix("-side-by-side")
    out: dict[str, list[dict]] = {}
    for suffix, whole in (("streamed", False), ("whole-body", True)):
        out[f"{base}-{suffix}"] = [
            {**run, "warm": {image: [r for r in rows if r["whole_body"] == whole] for image, rows in run["warm"].items()}}
            for run in runs
        ]
    labels = {
        f"{base}-streamed": f"{label}: decoded while the body downloads",
        f"{base}-whole-body": f"{label}: body read whole, then decoded (before)",
    }
    return out, labels


def acceptance_markdown(summary: dict) -> list[str]:
    a = summary.get("accepted") or {}
    if not a:
        return []
    return [
        (f"Accepted model: model.build keeps int8 when its top-1 agreement with Keras on real photos is "
        f"≥ {a['min_top1']:.0%}; on {a['photos']} real photos (the potato Test/ set and the phone photo) "
        f"int8 agrees on {a['top1_agreement']:.1%} (max abs difference {a['max_abs_diff']:.1e}; Keras gave "
        f"{a.get('keras_top1_classes', '?')} distinct answers: random weights), so the build keeps "
        f"**{a['accepted']}**: the targets are judged on it.")
    ]


def markdown(streaming: dict) -> list[str]:
    lines = [
        ("Decode while downloading, over the simulated S3 (every S3 reply starts 15 ms after the request "
        "and streams at 50-100 MB/s; local/faults.py `SIMULATED_S3`), the accepted model, warm, the two ways "
        "taking turns call by call in one process:"),
        "",
        "| variant | 12 MP p50 / p95 ms | 256² p50 / p95 ms | decode → input ms (12 MP) |",
        "|---|---:|---:|---:|",
    ]
    for name, v in streaming["variants"].items():
        p, s = v["images"]["photo"], v["images"]["small"]
        lines.append(
            f"| {name} — {v['label']} | {p['p50_ms']:.0f} / {p['p95_ms']:.0f} | {s['p50_ms']:.0f} / "
            f"{s['p95_ms']:.0f} | {p['prep_ms']:.1f} |"
        )
    change = streaming["change"]
    lines += [
        "",
        (f"Per 12 MP photo: **{change['photo']:+.0%}** p50 when decoding while downloading "
        f"({change['small']:+.0%} for the 256² image); negative is faster."),
    ]
    return lines
