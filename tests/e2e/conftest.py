"""End-to-end over HTTP: moto's server on 127.0.0.1 checking IAM, S3→SQS notifications, the real handler.

The handler's clients carry the keys of a user whose only policy is the function role's, read from
template.yaml (local/iam.py); the tests' own setup and checks use an admin user's keys.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from local.aws import (
    LocalStack,
    create_admin,
    create_policy_user,
    create_resources,
    drain_events,
    fresh_default_session,
    moto_server_process,
)
from local.context import LocalContext
from local.iam import function_role_policy

if TYPE_CHECKING:
    from handler.invocation import Handler

BUCKET = "leaf-images-e2e"
TABLE = "leaf-diagnoses-e2e"
# Other buckets the tests use as a deployment's images bucket: the one events/ fixtures name, the
# buffered mode's, the backfill's and the existing bucket of test_bucket_events. The role is granted on each as the template grants it on its own.
OTHER_IMAGE_BUCKETS = ("leaf-images-local", "leaf-images-buffered", "leaf-backfill-e2e", "seed-web-app-e2e")
# moto evaluates DynamoDB (and SQS) requests against the resource "*" only: a statement naming the
# table's ARN never matches there. Those statements are widened to "*" for moto, actions unchanged;
# S3, where moto does check resources, keeps the template's exact ARNs.
_RESOURCES_MOTO_CHECKS = ("s3:",)


def handler_policy() -> dict[str, Any]:
    """The role's statements for every images bucket of the tests, as moto can check them."""
    statements: list[dict[str, Any]] = []
    for bucket in (BUCKET, *OTHER_IMAGE_BUCKETS):
        for statement in function_role_policy(images_bucket=bucket, table=TABLE)["Statement"]:
            if statement not in statements:
                statements.append(statement)
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if not all(action.startswith(_RESOURCES_MOTO_CHECKS) for action in actions):
            statement["Resource"] = "*"
    return {"Version": "2012-10-17", "Statement": statements}


@pytest.fixture(scope="session")
def handler_keys(local_stack: LocalStack) -> dict[str, str]:
    return create_policy_user("leaf-diagnosis-function", handler_policy())


# The environment this layer's stack sets: endpoint, region, the admin's keys, the function's settings.
STACK_ENV: dict[str, str] = {}


def use_stack_env(patch: pytest.MonkeyPatch) -> None:
    """Point the environment, and boto3's default session (it keeps the keys it read first), at this stack."""
    patch.delenv("AWS_SESSION_TOKEN", raising=False)
    for name, value in STACK_ENV.items():
        patch.setenv(name, value)
    fresh_default_session()


@pytest.fixture(scope="session")
def local_stack() -> Iterator[LocalStack]:
    patch = pytest.MonkeyPatch()
    with moto_server_process(enforce_iam=True) as endpoint:
        STACK_ENV.update({"AWS_ENDPOINT_URL": endpoint, "AWS_DEFAULT_REGION": "us-east-1"})
        STACK_ENV.update(create_admin(endpoint))  # the tests' own clients: setup and checks
        STACK_ENV.update({"TABLE_NAME": TABLE, "IMAGES_BUCKET": BUCKET, "RESULT_SINK": "both"})
        use_stack_env(patch)
        stack = create_resources(bucket=BUCKET, table=TABLE, queue="e2e-events")
        yield stack
    patch.undo()


@pytest.fixture(scope="module", autouse=True)
def _stack_env(local_stack: LocalStack) -> Iterator[None]:
    """Each module, its module-scoped fixtures included, talks to this stack: with test workers, another
    layer's session fixture (tests/reliability's moto) may have pointed the environment at its own."""
    patch = pytest.MonkeyPatch()
    use_stack_env(patch)
    yield
    patch.undo()


@pytest.fixture(autouse=True)
def _no_real_aws(local_stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> None:
    """Override the unit-test guard: here every call goes to the local endpoint, with the admin's keys."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", local_stack.endpoint)


# Every operation the handler's clients made in this session, and the error codes they got.
HANDLER_CALLS: dict[str, set[str]] = {}


def handler_client(service: str, keys: dict[str, str]) -> Any:
    from handler.container import client_config

    client = boto3.client(service, aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
                          aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"], config=client_config())

    def record(parsed: dict[str, Any], model: Any, **_: Any) -> None:
        code = parsed.get("Error", {}).get("Code") or "ok"
        HANDLER_CALLS.setdefault(f"{service}:{model.name}", set()).add(str(code))

    client.meta.events.register("after-call", record)
    return client


@pytest.fixture(scope="session")
def app(local_stack: LocalStack, handler_keys: dict[str, str]) -> Iterator[Handler]:
    """The handler on this stack, its clients holding the function role's permissions only."""
    from handler.config import Settings
    from handler.container import build_container
    from handler.invocation import make_handler

    yield make_handler(build_container(Settings.from_env(), s3=handler_client("s3", handler_keys),
                                       dynamodb=handler_client("dynamodb", handler_keys)))
    print("\nhandler calls under the role policy: " + "; ".join(
        f"{name} {'/'.join(sorted(codes))}" for name, codes in sorted(HANDLER_CALLS.items())))


@pytest.fixture
def s3(local_stack: LocalStack) -> Any:
    return boto3.client("s3")


@pytest.fixture
def deliver(app: Handler, local_stack: LocalStack):
    """Feed every event S3 queued to the handler, as Lambda would; return the handler's results."""

    def run() -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        for event in drain_events(local_stack.queue_url or "", wait_seconds=0):
            response = app.lambda_handler(event, LocalContext())
            results.extend(response.get("results", []))
        return results

    run()  # discard what earlier tests left (the s3:TestEvent, mostly)
    return run


def stored(app: Handler, bucket: str, key: str) -> dict[str, Any] | None:
    return app.container.table.get(f"s3://{bucket}/{key}")


def json_lines(text: str) -> list[dict[str, Any]]:
    lines = []
    for line in text.splitlines():
        try:
            lines.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return lines


@pytest.fixture(params=["rest-api", "http-api", "function-url"])
def door(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test once per front door: tests/e2e/api_helpers.call sends its requests through this one."""
    from tests.e2e.api_helpers import DOOR

    token = DOOR.set(request.param)
    yield request.param
    DOOR.reset(token)
