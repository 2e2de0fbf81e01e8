"""The deploy files the tests read: template.yaml (with CloudFormation's short tags) and layer/resolve.py."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from local.template import load_template  # noqa: F401 - the one CloudFormation YAML loader

ROOT = Path(__file__).resolve().parents[2]


def load_resolve() -> ModuleType:
    """layer/resolve.py as a module: layer/ is a folder of build files, not a package."""
    spec = importlib.util.spec_from_file_location("layer_resolve", ROOT / "layer" / "resolve.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
