"""The memory-size estimate: CPU seconds scale with Lambda's vCPU share, waits do not, nothing beats the measurement."""

from __future__ import annotations

import pytest

from bench.memory_sizes import MEMORY_SIZES, estimate, vcpus

PRICE_GB_S, PRICE_REQUEST = 0.0000166667, 0.20 / 1_000_000
PHOTO = {"cpu_s": 0.060, "io_ms": 20.0, "mean_ms": 70.0}  # 60 ms of CPU, 20 ms waiting on S3/DynamoDB


def test_one_vcpu_at_1769_mb_and_the_sizes_asked_about():
    assert vcpus(1769) == 1.0 and vcpus(3008) == pytest.approx(1.70, abs=0.01)
    assert MEMORY_SIZES == (512, 1024, 1769, 2048, 3008)


def test_cpu_time_is_divided_by_the_share_and_io_is_not():
    assert estimate(PHOTO, 1769, PRICE_GB_S, PRICE_REQUEST)["duration_ms"] == pytest.approx(80.0)
    assert estimate(PHOTO, 512, PRICE_GB_S, PRICE_REQUEST)["duration_ms"] == pytest.approx(20 + 60 * 1769 / 512)


def test_no_size_is_estimated_faster_than_it_ran_here():
    assert estimate(PHOTO, 3008, PRICE_GB_S, PRICE_REQUEST)["duration_ms"] == pytest.approx(70.0)


def test_cost_is_billed_milliseconds_times_memory_plus_the_request():
    cost = estimate(PHOTO, 1024, PRICE_GB_S, PRICE_REQUEST)["cost_per_million"]
    billed_s = 124 / 1000  # 20 + 60 x 1769/1024 = 123.65 ms, billed rounded up to 124 ms
    assert cost == pytest.approx((billed_s * 1.0 * PRICE_GB_S + PRICE_REQUEST) * 1e6)
