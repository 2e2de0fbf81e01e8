"""The local API stack (local.api.api_stack) in this process, for a test: the potato model, quiet logs,
the given table, bucket and sink; the environment as it was afterwards."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from local.aws import fresh_default_session
from tests.conftest import POTATO_MODEL_DIR


@contextmanager
def running_api_stack(table: str, bucket: str, sink: str) -> Iterator[Any]:
    from local.api import api_stack

    saved = dict(os.environ)
    os.environ.update({"MODEL_DIR": str(POTATO_MODEL_DIR), "TABLE_NAME": table, "IMAGES_BUCKET": bucket,
                       "RESULT_SINK": sink, "POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "ERROR",
                       "LOCAL_API_QUIET": "1"})
    try:
        with api_stack(samples=False) as running:
            yield running
    finally:
        os.environ.clear()
        os.environ.update(saved)
        fresh_default_session()
