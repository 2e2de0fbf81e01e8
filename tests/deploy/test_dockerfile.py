"""The Dockerfile's stages, read as text: what the final image is built from and what it runs."""

from __future__ import annotations

import argparse
import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.deploy.project_files import ROOT, load_resolve, load_template

LAMBDA_BASE = re.compile(r"^public\.ecr\.aws/lambda/python:3\.12(-(x86_64|arm64))?$")
HANDLER = "handler.app.lambda_handler"


@dataclass
class Stage:
    image: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)
    args: dict[str, str | None] = field(default_factory=dict)

    def commands(self, keyword: str) -> list[str]:
        return [text for kw, text in self.instructions if kw == keyword]


def instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) pairs: continuation lines joined, comment lines dropped, as Docker does."""
    result: list[tuple[str, str]] = []
    pending = ""
    for line in text.splitlines():
        if line.lstrip().startswith("#") or (not line.strip() and not pending):
            continue
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1]
            continue
        keyword, _, arguments = pending.strip().partition(" ")
        result.append((keyword.upper(), arguments.strip()))
        pending = ""
    return result


def parse_dockerfile(path: Path = ROOT / "Dockerfile") -> tuple[dict[str, str | None], list[Stage]]:
    """Global ARG defaults and the stages, each with the ARGs it declares."""
    global_args: dict[str, str | None] = {}
    stages: list[Stage] = []
    for keyword, arguments in instructions(path.read_text(encoding="utf-8")):
        if keyword == "FROM":
            image, _, name = arguments.partition(" AS ")
            stages.append(Stage(image=expand(image.strip(), global_args), name=name.strip() or None))
        elif keyword == "ARG":
            name, sep, default = arguments.partition("=")
            scope = stages[-1].args if stages else global_args
            scope[name] = default if sep else global_args.get(name)
        elif stages:
            stages[-1].instructions.append((keyword, arguments))
    return global_args, stages


def expand(text: str, values: dict[str, str | None]) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda m: values.get(m.group(1)) or m.group(0), text)


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse_dockerfile()[1]


def stage_named(stages: list[Stage], name: str) -> Stage:
    (stage,) = [stage for stage in stages if stage.name == name]
    return stage


def copied_from(stage: Stage, source_stage: str) -> list[list[str]]:
    """The COPY --from=<source_stage> instructions of a stage, as [source, destination] lists."""
    prefix = f"--from={source_stage} "
    return [text[len(prefix) :].split() for text in stage.commands("COPY") if text.startswith(prefix)]


def test_every_stage_builds_on_the_lambda_python_312_base(stages):
    assert len(stages) >= 2
    for stage in stages:
        assert LAMBDA_BASE.match(stage.image), stage.image
    assert stages[-1].name is None or stages[-1].name == "final"


def test_cmd_names_a_handler_that_exists(stages):
    (cmd,) = stages[-1].commands("CMD")
    assert json.loads(cmd) == [HANDLER]
    module, function = HANDLER.rsplit(".", 1)
    source = (ROOT / (module.replace(".", "/") + ".py")).read_text(encoding="utf-8")
    assert re.search(rf"^(async )?def {function}\(|^{function} = ", source, re.MULTILINE)


def test_final_stage_installs_nothing_itself(stages):
    final = stages[-1]
    for command in final.commands("RUN"):
        assert not re.search(r"\b(pip|pip3|dnf|microdnf|yum)\b.*\binstall\b", command), command
        assert "tensorflow" not in command.lower()


def resolve_run_args(stages: list[Stage], arch: str, runtime: str) -> argparse.Namespace:
    """The arguments resolve.py gets in the deps stage, for this build-arg on a machine of this arch."""
    deps = stage_named(stages, "deps")
    (run,) = [command for command in deps.commands("RUN") if "layer/resolve.py" in command]
    command = shlex.split(expand(run.replace("$(uname -m)", arch), {"MODEL_RUNTIME": runtime}))
    assert command[:2] == ["python", "layer/resolve.py"]
    return load_resolve().parse_args(command[2:])


def test_final_stage_takes_its_packages_from_the_resolved_set(stages):
    args = resolve_run_args(stages, "x86_64", "litert")
    assert [f"{args.out}/", "${LAMBDA_TASK_ROOT}/"] in copied_from(stages[-1], "deps")


def test_the_image_keeps_botocore_models_of_the_functions_services_only(stages):
    args = resolve_run_args(stages, "x86_64", "litert")
    assert load_resolve().botocore_services(args) == ("s3", "dynamodb", "kms", "events")
    # ... and the image build creates those clients with the trimmed set, so a missing model fails the build.
    (check,) = [c for c in stages[-1].commands("RUN") if "load_classifier" in c]
    assert "boto3.client" in check


@pytest.mark.parametrize("runtime", ["litert", "keras"])
@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_tensorflow_is_resolved_only_for_the_keras_runtime(stages, runtime, arch):
    assert parse_dockerfile()[0]["MODEL_RUNTIME"] == "litert"
    # Re-declared in the stage, or the build-arg would not reach its RUN.
    assert "MODEL_RUNTIME" in stage_named(stages, "deps").args
    args = resolve_run_args(stages, arch, runtime)
    extras = load_resolve().extra_requirements(args.runtime, args.arch)
    assert any(req.startswith("tensorflow") for req in extras) == (runtime == "keras")
    assert args.python == "3.12"


def test_final_stage_copies_code_and_the_model_where_the_function_looks(stages):
    final = stages[-1]
    copies = [text.split() for text in final.commands("COPY")]
    assert ["handler/", "${LAMBDA_TASK_ROOT}/handler/"] in copies
    assert ["model/*.py", "${LAMBDA_TASK_ROOT}/model/"] in copies
    (model_copy,) = copied_from(final, "model")
    assert model_copy[1] == "${LAMBDA_TASK_ROOT}/model/bundled/"
    variables = load_template()["Resources"]["DiagnosisFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["MODEL_DIR"] == "/var/task/model/bundled"  # LAMBDA_TASK_ROOT is /var/task


def test_model_stage_keeps_the_model_source_hook(stages):
    model = stage_named(stages, "model")
    assert model.args.get("MODEL_SOURCE") == "model/leaves"  # the bundled default, handler/config.py
    assert any("$MODEL_SOURCE" in command for command in model.commands("RUN"))
    assert "MODEL BUILD STEP" in (ROOT / "Dockerfile").read_text(encoding="utf-8")


def test_image_runtime_matches_the_function_runtime():
    function = load_template()["Resources"]["DiagnosisFunction"]
    build_runtime = function["Metadata"]["DockerBuildArgs"]["MODEL_RUNTIME"]
    assert build_runtime == function["Properties"]["Environment"]["Variables"]["MODEL_RUNTIME"]


def test_dockerignore_sends_every_path_the_dockerfile_copies(stages):
    lines = [line.strip() for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()]
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert "*" in lines  # an allowlist: nothing else is sent
    for stage in stages:
        for text in stage.commands("COPY"):
            if text.startswith("--from="):
                continue
            *sources, _ = text.split()
            for source in sources:
                assert source.split("/")[0] in allowed, source
