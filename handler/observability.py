"""Powertools logger, metrics and tracer: one instance each per container."""

from __future__ import annotations

import os
import re
import traceback
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "leaf-diagnosis")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "LeafDiagnosis")

# A skipped-only invocation (our own write-back, an S3 test event) has no metrics: that is normal.
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
# Only botocore (our S3 and DynamoDB calls): patch_all would import and patch every library the
# X-Ray SDK knows (requests, sqlite3, httplib, ...), ~60 ms of cold start for calls we never make.
tracer = Tracer(service=SERVICE, patch_modules=("botocore",))


@contextmanager
def span(name: str) -> Iterator[Any]:
    """An X-Ray subsegment (a no-op outside Lambda, where the tracer is disabled)."""
    with tracer.provider.in_subsegment(f"## {name}") as subsegment:
        yield subsegment


_BYTES_LITERAL = re.compile(r"""b(['"]).*?(?<!\\)\1""")


def safe_traceback(exc: BaseException) -> str:
    """The traceback of an unexpected error, its message without quoted bytes (an upload's data) and cut."""
    frames = "".join(traceback.format_tb(exc.__traceback__))
    message = shorten(_BYTES_LITERAL.sub("<bytes>", str(exc)), 300)
    return f"Traceback (most recent call last):\n{frames}{type(exc).__name__}: {message}"


# The most of a caller's own text any answer or log line repeats: enough to recognise it, never a 5 MB echo.
SHOWN_CHARS = 200


def shorten(text: object, limit: int = SHOWN_CHARS) -> str:
    """User input (keys, URLs, bodies) as logs and answers repeat it: cut to `limit` characters, saying how much was left."""
    # Lone surrogates cannot be written as UTF-8: shown as \udXXX escapes, never passed on.
    value = str(text).encode("utf-8", "backslashreplace").decode("utf-8")
    if len(value) <= limit:
        return value
    return f"{value[:limit]}…[{len(value) - limit:,} more characters]"


def read_denied(bucket: str, key: str) -> None:
    """S3 refused a read inside our prefix: missing or not ours. Counted, so a misconfigured role is visible."""
    metrics.add_metric(name="ObjectReadDenied", unit=MetricUnit.Count, value=1)
    logger.warning("S3 denied a read: the object is missing or this role may not read it",
                   extra={"bucket": bucket, "key": shorten(key)})
