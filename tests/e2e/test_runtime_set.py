"""In the runtime-only run (make runtime-test) the code sees exactly the image's package set."""

import importlib.util
import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not os.environ.get("RUNTIME_ONLY"), reason="only in make runtime-test")


@pytest.mark.parametrize("package", ["tensorflow", "keras", "tf_keras"])
def test_tensorflow_is_absent(package):
    assert importlib.util.find_spec(package) is None


@pytest.mark.parametrize("package", ["ai_edge_litert", "numpy", "PIL", "aws_lambda_powertools", "boto3"])
def test_runtime_packages_come_from_the_resolved_set(package):
    layer = Path(os.environ["PYTHONPATH"].split(os.pathsep)[0]).resolve()
    origin = Path(importlib.util.find_spec(package).origin).resolve()
    assert layer in origin.parents, f"{package} imported from {origin}, not from {layer}"
