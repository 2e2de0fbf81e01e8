"""The memory-size question: estimated duration and $ per 1M images at each Lambda memory size.

An estimate, not a measurement on Lambda: Lambda gives CPU in proportion to memory, one vCPU at
1,769 MB. The CPU seconds measured here per image are divided by that share; the time waiting on
S3/DynamoDB is not; and no size is estimated faster than it ran on this machine's 2 cores.
"""

from __future__ import annotations

import math

MEMORY_SIZES = (512, 1024, 1769, 2048, 3008)
ONE_VCPU_MB = 1769


def vcpus(memory_mb: int) -> float:
    return memory_mb / ONE_VCPU_MB


def estimate(figures: dict, memory_mb: int, price_gb_s: float, price_per_request: float) -> dict:
    """Estimated warm duration (ms) and $ per 1M images of one image kind, from its measured figures."""
    cpu_ms = figures["cpu_s"] * 1000
    duration = max(figures["mean_ms"], figures["io_ms"] + cpu_ms / vcpus(memory_mb))
    billed_s = math.ceil(duration) / 1000
    return {
        "memory_mb": memory_mb,
        "vcpus": round(vcpus(memory_mb), 2),
        "duration_ms": duration,
        "cost_per_million": (billed_s * memory_mb / 1024 * price_gb_s + price_per_request) * 1_000_000,
    }


def table(summary: dict) -> list[dict]:
    """One row per memory size; per variant, the 12 MP photo's estimate."""
    rows = []
    for memory_mb in MEMORY_SIZES:
        row: dict = {"memory_mb": memory_mb, "vcpus": round(vcpus(memory_mb), 2), "variants": {}}
        for name, v in summary["variants"].items():
            row["variants"][name] = estimate(
                v["images"]["photo"], memory_mb, summary["price_gb_s"], summary["price_per_request"]
            )
        rows.append(row)
    return rows


def markdown(summary: dict) -> list[str]:
    names = list(summary["variants"])
    lines = [
        ("**Estimate** — duration and $ per 1M images (12 MP photo, warm) at each memory size. Lambda gives "
        f"CPU in proportion to memory (1 vCPU at {ONE_VCPU_MB:,} MB): estimated duration = the larger of the "
        "duration measured here and S3+DynamoDB I/O + CPU seconds ÷ vCPUs; billed rounded up to 1 ms, at the "
        "prices above. Not measured on Lambda."),
        "",
        "| memory MB | vCPUs | " + " | ".join(f"{n} ms / $" for n in names) + " |",
        "|---:|---:|" + "---:|" * len(names),
    ]
    for row in summary["memory_sizes"]:
        cells = [
            f"{row['variants'][n]['duration_ms']:.0f} / {row['variants'][n]['cost_per_million']:.2f}" for n in names
        ]
        lines.append(f"| {row['memory_mb']:,} | {row['vcpus']:.2f} | " + " | ".join(cells) + " |")
    return lines
