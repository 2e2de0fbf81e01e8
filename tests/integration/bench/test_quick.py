"""The benchmark's quick mode end to end: every variant measured, figures that make sense.

It runs on the stand-in network (bench.build --stand-in: the seed's input, labels and Keras 2 format,
one wide Dense layer) instead of InceptionV3, whose build alone took minutes in every fresh clone: the
bench's machinery (build, acceptance, workers, report, chart) is the same for both; the speed figures
of the seed's model come from `make bench`, not from the tests.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REAL_PHOTO, ROOT

VARIANTS = ("baseline", "litert-f32", "litert-int8", "keras")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    if not REAL_PHOTO.is_file():
        pytest.skip(f"{REAL_PHOTO} not present (../shared sits beside the clone in CI)")
    out = tmp_path_factory.mktemp("bench")
    result = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--stand-in", "--out", str(out)],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out, result.stdout


def test_quick_mode_writes_the_table_the_json_and_the_chart(quick_run):
    out, stdout = quick_run
    table = (out / "results.md").read_text(encoding="utf-8")
    for name in VARIANTS:
        assert f"| **{name}**" in table
        assert f"{name:<12} cold start" in stdout  # progress is printed while it runs
    assert "| target (reported, not asserted) |" in table
    assert "**Estimate** — duration and $ per 1M images" in table and "| 1,769 | 1.00 |" in table
    assert "decode while downloading" in stdout and "Per 12 MP photo:" in table
    assert (out / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "**Stand-in model (--stand-in), not InceptionV3" in table


def test_every_variant_has_sane_figures_and_ratios_against_the_baseline(quick_run):
    out, _ = quick_run
    summary = json.loads((out / "results.json").read_text())["summary"]
    assert set(summary["variants"]) == set(VARIANTS)
    for name, v in summary["variants"].items():
        assert 0.05 < v["cold_s"] < 300, name
        assert 20 < v["peak_rss_mb"] < 8000, name
        for image in ("photo", "small"):
            f = v["images"][image]
            assert f["n"] == 3
            assert 0 < f["inference_ms"] <= f["p50_ms"] <= f["p95_ms"] < 60_000, (name, image)
            # Per call, I/O and image preparation are parts of the time beyond inference: so are medians.
            assert 0 < f["io_ms"] <= f["beyond_ms"] and 0 < f["prep_ms"] <= f["beyond_ms"], (name, image)
            assert f["cpu_s"] > 0 and f["cost_per_million"] > 0.2, (name, image)  # at least the request price
        assert v["cold_ratio"] == pytest.approx(summary["variants"]["baseline"]["cold_s"] / v["cold_s"])
    assert summary["variants"]["baseline"]["cold_ratio"] == pytest.approx(1.0)
    accepted = summary["accepted"]["accepted"]
    assert accepted in ("litert-f32", "litert-int8")
    assert {t["variant"] for t in summary["targets"]} >= {f"{accepted} (accepted)"}
    side = summary["streaming"]["variants"]
    assert set(side) == {f"{accepted}-streamed", f"{accepted}-whole-body"}
    assert all(v["images"]["photo"]["n"] == 3 for v in side.values())
    assert [row["memory_mb"] for row in summary["memory_sizes"]] == [512, 1024, 1769, 2048, 3008]
    # The model is the same size everywhere: int8 weights make a smaller LiteRT process than float32.
    assert (
        summary["variants"]["litert-int8"]["peak_rss_mb"] < summary["variants"]["litert-f32"]["peak_rss_mb"]
    )
