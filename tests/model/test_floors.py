"""The model package sits below the function and the local tools: it never imports them."""

from __future__ import annotations

import ast

from tests.conftest import ROOT

# The image decoder still lives in handler/ (handler/imaging.py); it is moving down into model/.
DECODER_MODULES = {"handler.imaging", "handler.errors"}


def imported_modules(path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):  # functions' own imports too: "not even inside a function"
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_model_never_imports_local_handler_or_bench():
    offenders = {}
    for path in sorted((ROOT / "model").glob("*.py")):
        upward = {name for name in imported_modules(path)
                  if name.split(".")[0] in ("local", "handler", "bench") and name not in DECODER_MODULES}
        if upward:
            offenders[path.name] = sorted(upward)
    assert offenders == {}


def test_evaluation_through_s3_is_a_command_on_the_floor_above():
    assert "model.evaluate" in imported_modules(ROOT / "local" / "evaluate_s3.py")
    assert not any(name.startswith("local") for name in imported_modules(ROOT / "model" / "evaluate.py"))
