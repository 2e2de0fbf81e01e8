"""Start an S3 Batch Operations job that runs the deployed function over a backfill manifest.

Everything the job needs comes from the stack (deployed with BatchOperationsRole=enabled): the
function's ARN, the job role, where manifests and reports go. The manifest is uploaded, the job is
created ready to run (no confirmation step), and its id is printed with how to follow it.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from handler.s3_uri import split_s3_uri

MANIFEST_FORMAT = {"Format": "S3BatchOperations_CSV_20180820", "Fields": ["Bucket", "Key"]}
REPORT_FORMAT = "Report_CSV_20180820"
PRIORITY = 10


class StackNotReady(Exception):
    """The stack lacks what a job needs (not deployed, or deployed without BatchOperationsRole=enabled)."""


@dataclass(frozen=True)
class S3Prefix:
    bucket: str
    prefix: str  # ends with "/"

    @classmethod
    def parse(cls, uri: str) -> S3Prefix:
        return cls(*split_s3_uri(uri))


@dataclass(frozen=True)
class JobStack:
    """What the stack's outputs and parameters say about running a job."""

    name: str
    function_arn: str
    role_arn: str
    images_bucket: str
    manifests: S3Prefix
    reports: S3Prefix
    environment: Mapping[str, str]  # what the deployed function reads: TABLE_NAME, IMAGE_PREFIX, ...

    @property
    def account_id(self) -> str:
        return self.role_arn.split(":")[4]  # arn:aws:iam::123456789012:role/...

    @property
    def partition(self) -> str:
        return self.role_arn.split(":")[1]


@dataclass(frozen=True)
class SubmittedJob:
    job_id: str
    manifest: str  # s3://bucket/key
    tasks: int


def client(service: str) -> Any:
    """A client of the deployment's account and region (tests replace this with stubbed clients)."""
    import boto3

    return boto3.client(service)


def read_stack(cloudformation: Any, stack_name: str) -> JobStack:
    """The stack's outputs and the parameters the backfill must share with the function."""
    try:
        (stack,) = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except (ClientError, BotoCoreError) as exc:
        raise StackNotReady(f"cannot read stack {stack_name!r}: {exc}") from exc
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    params = {p["ParameterKey"]: p.get("ResolvedValue", p.get("ParameterValue", "")) for p in stack.get("Parameters", [])}
    if "BatchOperationsRoleArn" not in outputs:
        raise StackNotReady(
            f"stack {stack_name!r} has no Batch Operations role: deploy it with "
            "--parameter-overrides BatchOperationsRole=enabled"
        )
    environment = {
        "TABLE_NAME": outputs.get("DiagnosisTableName", ""),
        "IMAGE_PREFIX": outputs.get("ImagePrefix", params.get("ImagePrefix", "")),
        "RESULT_SINK": params.get("ResultSink", ""),
        "MODEL_URI": params.get("ModelUri", ""),  # the same model, so "current" means the same version
    }
    return JobStack(
        name=stack_name,
        function_arn=outputs["DiagnosisFunctionArn"],
        role_arn=outputs["BatchOperationsRoleArn"],
        images_bucket=outputs["ImagesBucketName"],
        manifests=S3Prefix.parse(outputs["BatchOperationsManifestsUri"]),
        reports=S3Prefix.parse(outputs["BatchOperationsReportsUri"]),
        environment={k: v for k, v in environment.items() if v},
    )


def stack_for(stack_name: str, bucket: str) -> JobStack:
    """The stack, checked to be the one that diagnoses `bucket`."""
    stack = read_stack(client("cloudformation"), stack_name)
    if bucket != stack.images_bucket:
        raise StackNotReady(f"stack {stack_name!r} diagnoses s3://{stack.images_bucket} only, not s3://{bucket}")
    image_prefix = stack.environment.get("IMAGE_PREFIX", "")
    if image_prefix and stack.manifests.prefix.startswith(image_prefix):
        # The upload of the manifest would itself be diagnosed (and rejected: it is no image).
        raise StackNotReady(
            f"the manifests prefix {stack.manifests.prefix!r} is inside ImagePrefix {image_prefix!r}: "
            "deploy with a BatchOperationsPrefix outside it"
        )
    return stack


def submit_job(
    s3: Any,
    s3control: Any,
    stack: JobStack,
    manifest_csv: bytes,
    tasks: int,
    now: datetime,
    token: str | None = None,
) -> SubmittedJob:
    """Upload the manifest under the manifests prefix and create a job that starts at once."""
    key = f"{stack.manifests.prefix}backfill-{now:%Y%m%dT%H%M%SZ}.csv"
    etag = s3.put_object(Bucket=stack.manifests.bucket, Key=key, Body=manifest_csv, ContentType="text/csv")["ETag"]
    response = s3control.create_job(
        AccountId=stack.account_id,
        ConfirmationRequired=False,
        Operation={"LambdaInvoke": {"FunctionArn": stack.function_arn, "InvocationSchemaVersion": "2.0"}},
        Manifest={
            "Spec": MANIFEST_FORMAT,
            # The ETag pins the manifest: a job never runs over a file replaced after it was created.
            "Location": {
                "ObjectArn": f"arn:{stack.partition}:s3:::{stack.manifests.bucket}/{key}",
                "ETag": etag.strip('"'),
            },
        },
        Report={
            "Bucket": f"arn:{stack.partition}:s3:::{stack.reports.bucket}",
            "Prefix": stack.reports.prefix.rstrip("/"),  # S3 adds /job-<id>/...
            "Format": REPORT_FORMAT,
            "Enabled": True,
            "ReportScope": "FailedTasksOnly",
        },
        Priority=PRIORITY,
        RoleArn=stack.role_arn,
        # The same token on a retried call returns the same job instead of starting a second one.
        ClientRequestToken=token or str(uuid.uuid4()),
        Description=f"{stack.name} backfill: {tasks} object(s) from s3://{stack.manifests.bucket}/{key}"[:256],
    )
    return SubmittedJob(job_id=response["JobId"], manifest=f"s3://{stack.manifests.bucket}/{key}", tasks=tasks)


def how_to_follow(job: SubmittedJob, stack: JobStack, region: str) -> str:
    return "\n".join(
        [
            f"created S3 Batch Operations job {job.job_id}: {job.tasks} object(s), manifest {job.manifest}",
            "follow it:",
            (f"  aws s3control describe-job --region {region} --account-id {stack.account_id} --job-id {job.job_id}"
            " --query 'Job.[Status,ProgressSummary]'"),
            f"  https://{region}.console.aws.amazon.com/s3/jobs/{job.job_id}?region={region}",
            f"failed tasks are listed under s3://{stack.reports.bucket}/{stack.reports.prefix}job-{job.job_id}/ when it ends",
        ]
    )


def start(s3: Any, stack: JobStack, manifest_csv: bytes, tasks: int) -> int:
    """Submit the job and print how to follow it; the backfill's exit code."""
    if not tasks:
        print("no job started: every object is current", file=sys.stderr)
        return 0
    s3control = client("s3control")
    try:
        job = submit_job(s3, s3control, stack, manifest_csv, tasks, datetime.now(UTC))
    except (ClientError, BotoCoreError) as exc:
        print(f"error: cannot start the Batch Operations job: {exc}", file=sys.stderr)
        return 1
    print(how_to_follow(job, stack, s3control.meta.region_name))
    return 0
