"""tests/conftest.py's --cpu-durations: the tests that took the most CPU, also when pytest-xdist workers ran them."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT

TARGET = "tests/local/test_table.py"  # quick unit tests: any file would do


def test_the_workers_figures_reach_the_summary():
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2", "--cpu-durations", "3", TARGET],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-2000:]
    summary = result.stdout.split("most CPU time: 3 tests", 1)[-1]
    listed = [line for line in summary.splitlines() if "s cpu  " + TARGET + "::" in line]
    assert len(listed) == 3, result.stdout[-2000:]
    assert "s cpu in all" in summary
