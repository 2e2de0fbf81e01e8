"""What init costs: only the clients the configuration uses (30-50 ms each), and never the batch utility."""

from __future__ import annotations

import os
import subprocess
import sys

import botocore.session
import pytest

from handler.config import Settings
from handler.container import Container
from tests.conftest import EVENTS, ROOT
from tests.deploy.project_files import load_resolve
from tests.handler.conftest import BUCKET, TABLE


@pytest.fixture
def created(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    names: list[str] = []
    real = botocore.session.Session.create_client

    def create_client(self, service_name, *args, **kwargs):
        names.append(service_name)
        return real(self, service_name, *args, **kwargs)

    monkeypatch.setattr(botocore.session.Session, "create_client", create_client)
    return names


@pytest.mark.parametrize(
    ("sink", "table", "expected"),
    [
        ("dynamodb", TABLE, ["s3", "dynamodb"]),  # s3 reads the photos, dynamodb holds the results
        ("both", TABLE, ["s3", "dynamodb"]),
        ("s3-metadata", None, ["s3"]),
        ("s3-metadata", TABLE, ["s3"]),  # a table named but not written: no DynamoDB client at init
    ],
)
@pytest.mark.parametrize("bus", [None, "garden-bus"])
def test_init_creates_only_the_clients_the_sink_uses(aws, created, sink, table, expected, bus):
    container = Container(Settings(table_name=table, result_sink=sink, images_bucket=BUCKET, event_bus_name=bus))
    created.clear()  # the aws fixture made its own
    container.diagnoser  # noqa: B018 - what handler.app does at init
    container.completion_events  # noqa: B018
    assert sorted(created) == sorted(expected + (["events"] if bus else []))  # EventBridge only with a bus
    assert set(created) <= set(load_resolve().FUNCTION_SERVICES)  # the image ships only these models


def test_a_lambda_init_creates_the_s3_and_dynamodb_clients_only_and_no_batch_utility_even_for_a_batch():
    """In a fresh process, as Lambda starts it: X-Ray and Powertools included."""
    env = {**os.environ, "TABLE_NAME": TABLE, "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "PYTHONPATH": str(ROOT),
           "LAMBDA_TASK_ROOT": str(ROOT), "AWS_LAMBDA_FUNCTION_NAME": "init-test"}
    probe = (
        "import sys, botocore.session\n"
        "made, real = [], botocore.session.Session.create_client\n"
        "def create_client(self, name, *args, **kwargs):\n"
        "    made.append(name)\n"
        "    return real(self, name, *args, **kwargs)\n"
        "botocore.session.Session.create_client = create_client\n"
        "import handler.app\n"
        "print(sorted(made))\n"
        "print('aws_lambda_powertools.utilities.batch' in sys.modules)\n"
        "import json; from handler.domain import Outcome; from handler.sources import sqs\n"
        f"parsed = sqs.BATCHES.parse(json.loads(open({str(EVENTS / 'sqs-s3-put.json')!r}).read()))\n"
        "print(sqs.BATCHES.reply(parsed, [Outcome(ref, 'skipped') for ref in parsed.refs], None))\n"
        "print('aws_lambda_powertools.utilities.batch' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], check=False, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    clients, before, reply, after = result.stdout.split("\n")[:4]
    assert clients == "['dynamodb', 's3']"
    assert (before, reply, after) == ("False", "{'batchItemFailures': []}", "False")
