"""The embedded default: moto's server on 127.0.0.1 and the project's resources inside it."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from local.queue import drain_bodies
from local.template import table_definition

DEFAULT_BUCKET = "leaf-images-local"
DEFAULT_TABLE = "leaf-diagnoses-local"
DEFAULT_QUEUE = "leaf-upload-events"
REGION = "us-east-1"
# moto accepts any credentials; these never leave the machine.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_SESSION_TOKEN": "local"}


@dataclass(frozen=True)
class LocalStack:
    endpoint: str
    bucket: str
    table: str
    queue_url: str | None
    mac_key: str | None = None  # the KMS HMAC key that signs results in object metadata (RESULT_MAC_KEY)


def use_local_credentials(endpoint: str) -> None:
    """Point boto3 (and the handler, which reads the same variables) at the local endpoint."""
    os.environ.update(LOCAL_CREDENTIALS)
    os.environ["AWS_DEFAULT_REGION"] = REGION
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    fresh_default_session()


def fresh_default_session() -> None:
    """A new boto3 default session: the old one keeps the credentials it read first, whatever the
    environment says now, so clients made after a change of keys would still sign with the old ones."""
    import boto3

    boto3.setup_default_session()


@contextmanager
def moto_server(port: int = 0) -> Iterator[str]:
    """Start moto's threaded HTTP server on loopback and yield its endpoint URL."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one access-log line per request is noise here
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, bound = server.get_host_and_port()
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.stop()


# The requests moto answers before it starts checking IAM: exactly those of create_admin.
_BOOTSTRAP_REQUESTS = 3


# Run in the server's own process (python -c): moto's threaded server on a port the kernel picks, the
# port on stdout; it serves until the parent ends it.
_SERVE = """
import logging, threading
from moto.server import ThreadedMotoServer
logging.getLogger("werkzeug").setLevel(logging.WARNING)
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
threading.Event().wait()
"""


def _read_port(server: subprocess.Popen, timeout: float) -> int:
    """The port the server process printed, or RuntimeError if it printed none in time or ended."""
    ready, _, _ = select.select([server.stdout], [], [], timeout)
    line = server.stdout.readline() if ready and server.stdout else ""
    if not line.strip().isdigit():
        raise RuntimeError("moto server process did not start")
    return int(line)


@contextmanager
def moto_server_process(enforce_iam: bool = False) -> Iterator[str]:
    """moto's server in a process of its own; with enforce_iam, every request after create_admin's is
    checked against the caller's IAM policies.

    moto reads INITIAL_NO_AUTH_ACTION_COUNT once, when it is imported: it must be in the server
    process's environment, which an in-process ThreadedMotoServer (moto already imported) cannot give.
    """
    env = dict(os.environ)
    if enforce_iam:
        env["INITIAL_NO_AUTH_ACTION_COUNT"] = str(_BOOTSTRAP_REQUESTS)
    # The server binds port 0 itself and prints the port it got: a port probed free here and handed over
    # could be taken in between by another process doing the same (two test workers, CI's runtime run),
    # and both would then talk to one server.
    server = subprocess.Popen([sys.executable, "-c", _SERVE], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    try:
        port = _read_port(server, timeout=120)  # importing moto takes seconds, minutes on a loaded machine
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:  # a loaded machine: SIGTERM's handler did not get the CPU in time
            server.kill()
            server.wait()
        if server.stdout:
            server.stdout.close()


def create_admin(endpoint: str, name: str = "local-admin") -> dict[str, str]:
    """The first requests to an IAM-enforcing moto: a user allowed everything; its keys, as env variables."""
    import boto3

    iam = boto3.client("iam", endpoint_url=endpoint, region_name=REGION,
                       aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="admin", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    return _keys(iam.create_access_key(UserName=name))


def create_policy_user(name: str, policy: Mapping[str, object]) -> dict[str, str]:
    """A user whose only permissions are `policy` (created with the current, admin, credentials); its keys."""
    import boto3

    iam = boto3.client("iam", region_name=REGION)
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName=name, PolicyDocument=json.dumps(policy))
    return _keys(iam.create_access_key(UserName=name))


def _keys(created: dict[str, object]) -> dict[str, str]:
    key = created["AccessKey"]
    return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}  # type: ignore[index]


def create_resources(
    bucket: str = DEFAULT_BUCKET,
    table: str = DEFAULT_TABLE,
    queue: str | None = DEFAULT_QUEUE,
    prefix: str = "garden-images/",
    events: tuple[str, ...] = ("s3:ObjectCreated:*",),
    create_table: bool = True,
) -> LocalStack:
    """Bucket, results table (key schema read from template.yaml) and, optionally, S3→SQS notifications."""
    import boto3

    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=bucket)
    if create_table:
        # Key schema and indexes as template.yaml defines them.
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName=table, BillingMode="PAY_PER_REQUEST", **table_definition()
        )
    queue_url = None
    if queue:
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(QueueName=queue)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        s3.put_bucket_notification_configuration(
            Bucket=bucket,
            NotificationConfiguration={
                "QueueConfigurations": [
                    {
                        "QueueArn": arn,
                        "Events": list(events),
                        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": prefix}]}},
                    }
                ]
            },
        )
    return LocalStack(endpoint=os.environ.get("AWS_ENDPOINT_URL", ""), bucket=bucket, table=table, queue_url=queue_url,
                      mac_key=create_mac_key())


def create_mac_key(description: str = "leaf-diagnosis result MAC (local)") -> str:
    """An HMAC_256 KMS key, as template.yaml's ResultMacKey: its ARN, for RESULT_MAC_KEY."""
    import boto3

    kms = boto3.client("kms", region_name=REGION)
    created = kms.create_key(Description=description, KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
    return str(created["KeyMetadata"]["Arn"])


def drain_events(queue_url: str, wait_seconds: int = 1) -> Iterator[dict[str, Any]]:
    """Yield the S3 event bodies S3 put on the queue, deleting each as it is handed out."""
    for body in drain_bodies(queue_url, wait_seconds):
        yield json.loads(body)
