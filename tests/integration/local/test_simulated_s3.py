"""The fault proxy's simulated-S3 mode: S3 replies start late and stream at a bounded rate."""

from __future__ import annotations

import os
import time

import boto3
import pytest

from local.aws import LOCAL_CREDENTIALS, REGION, moto_server
from local.faults import SIMULATED_S3, FaultPlan, FaultProxy

SIZE = 2_000_000
BUCKET = "simulated-s3"


@pytest.fixture(scope="module")
def endpoint():
    with moto_server() as url:
        yield url


def client(endpoint_url: str):
    return boto3.client("s3", region_name=REGION, endpoint_url=endpoint_url,
                        aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])


@pytest.fixture(scope="module")
def photo(endpoint) -> bytes:
    data = os.urandom(SIZE)
    s3 = client(endpoint)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="photo.jpg", Body=data)
    return data


def timed_get(endpoint_url: str) -> tuple[float, float, float, bytes]:
    """Seconds to the reply's headers, to the first 32 KiB of body, to the whole body; and the body."""
    s3 = client(endpoint_url)
    s3.head_bucket(Bucket=BUCKET)  # connect first: the timings below are one request on a warm connection
    started = time.perf_counter()
    response = s3.get_object(Bucket=BUCKET, Key="photo.jpg")
    headers = time.perf_counter() - started
    first = response["Body"].read(32 * 1024)
    first_piece = time.perf_counter() - started
    rest = response["Body"].read()
    return headers, first_piece, time.perf_counter() - started, first + rest


# Slower than SIMULATED_S3, so the bounds stand out from the proxy's own time on a busy machine.
SLOW_S3 = FaultPlan(s3_first_byte_s=0.3, s3_mb_per_s=(10.0, 10.0), services=())


def test_replies_start_after_the_first_byte_latency_and_stream_at_the_rate(endpoint, photo):
    with FaultProxy(endpoint, SLOW_S3) as proxy:
        headers, first_piece, whole, body = timed_get(proxy.endpoint)
    assert body == photo
    assert headers >= 0.3
    assert whole >= 0.3 + SIZE / 10e6  # 0.2 s for 2 MB at 10 MB/s
    assert whole - first_piece >= 0.5 * SIZE / 10e6  # streamed: the first bytes came well before the last
    assert proxy.stats.count("error") == 0 and {s.fault for s in proxy.stats.seen} == {""}


def test_the_simulated_s3_plan_is_15_ms_and_50_to_100_mb_per_s():
    assert (SIMULATED_S3.s3_first_byte_s, SIMULATED_S3.s3_mb_per_s) == (0.015, (50.0, 100.0))
    assert not SIMULATED_S3.services  # latency and bandwidth only, no injected faults


def test_without_the_setting_replies_are_not_paced(endpoint, photo):
    with FaultProxy(endpoint, FaultPlan()) as proxy:
        paced = FaultProxy(endpoint, SIMULATED_S3)
        with paced:
            slow = min(timed_get(paced.endpoint)[2] for _ in range(2))
        fast = min(timed_get(proxy.endpoint)[2] for _ in range(2))
    assert fast < slow


def test_rates_are_checked():
    with pytest.raises(ValueError, match="s3_mb_per_s"):
        FaultPlan(s3_mb_per_s=(100.0, 50.0))
    with pytest.raises(ValueError, match="s3_first_byte_s"):
        FaultPlan(s3_first_byte_s=-1.0)
