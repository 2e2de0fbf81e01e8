import json
import os
import subprocess
import sys

from tests.conftest import ROOT


def test_in_lambda_the_tracer_patches_botocore_only_so_sdk_calls_are_traced_and_nothing_else_is_imported():
    probe = (
        "import json, sys; import handler.observability; "
        "from aws_xray_sdk.core.patcher import _PATCHED_MODULES; "
        "print(json.dumps({'patched': sorted(_PATCHED_MODULES), 'requests': 'requests' in sys.modules, "
        "'sqlite3': 'sqlite3' in sys.modules}))"
    )
    env = {**os.environ, "LAMBDA_TASK_ROOT": str(ROOT), "AWS_LAMBDA_FUNCTION_NAME": "test"}  # tracing on
    env.pop("POWERTOOLS_TRACE_DISABLED", None)
    result = subprocess.run([sys.executable, "-c", probe], check=False, cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == {
        "patched": ["botocore"],
        "requests": False,
        "sqlite3": False,
    }
