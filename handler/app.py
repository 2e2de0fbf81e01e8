"""The image's CMD, handler.app.lambda_handler: one Handler per container, built from the environment once."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from handler.config import Settings
from handler.container import build_container
from handler.invocation import Handler, make_handler, start_margin_ms

__all__ = ["function", "lambda_handler", "start_margin_ms"]

_built: list[Handler] = []
_building = threading.Lock()


def function() -> Handler:
    """This container's handler, built on first use from the environment (Settings.from_env)."""
    with _building:
        if not _built:
            _built.append(make_handler(build_container(Settings.from_env())))
        return _built[0]


def lambda_handler(event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
    return function().lambda_handler(event, context)


if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
    # In Lambda, build during init, where the CPU is not throttled; elsewhere (tests, tools) nothing happens at import.
    function().warm()
