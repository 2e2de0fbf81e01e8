"""The Batch Operations job the backfill starts: the exact requests, checked with botocore's Stubber."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber

from ops import batch_job

ACCOUNT = "123456789012"
FUNCTION_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:leaf-diagnosis-DiagnosisFunction-AbC123"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/leaf-diagnosis-BatchOperationsJobRole-XyZ789"
BUCKET = "seed-web-app"


def create_job_request(bucket: str, location: dict, token: object, description: object) -> dict:
    """The CreateJob request for a backfill of `bucket`: the function, the role, a failed-tasks report."""
    return {
        "AccountId": ACCOUNT,
        "ConfirmationRequired": False,
        "Operation": {"LambdaInvoke": {"FunctionArn": FUNCTION_ARN, "InvocationSchemaVersion": "2.0"}},
        "Manifest": {
            "Spec": {"Format": "S3BatchOperations_CSV_20180820", "Fields": ["Bucket", "Key"]},
            "Location": location,
        },
        "Report": {
            "Bucket": f"arn:aws:s3:::{bucket}",
            "Prefix": "batch-operations/reports",
            "Format": "Report_CSV_20180820",
            "Enabled": True,
            "ReportScope": "FailedTasksOnly",
        },
        "Priority": 10,
        "RoleArn": ROLE_ARN,
        "ClientRequestToken": token,
        "Description": description,
    }


def stack_description(with_role: bool = True) -> dict:
    outputs = {
        "ImagesBucketName": BUCKET,
        "ImagePrefix": "garden/images/",
        "DiagnosisTableName": "leaf-diagnosis-DiagnosisTable-1A2B3C",
        "DiagnosisFunctionArn": FUNCTION_ARN,
    }
    if with_role:
        outputs |= {
            "BatchOperationsRoleArn": ROLE_ARN,
            "BatchOperationsManifestsUri": f"s3://{BUCKET}/batch-operations/manifests/",
            "BatchOperationsReportsUri": f"s3://{BUCKET}/batch-operations/reports/",
        }
    params = {"ResultSink": "both", "ImagePrefix": "garden/images/", "ModelUri": "", "ExistingBucketName": BUCKET}
    return {
        "Stacks": [
            {
                "StackName": "leaf-diagnosis",
                "CreationTime": datetime(2026, 12, 1, tzinfo=UTC),
                "StackStatus": "UPDATE_COMPLETE",
                "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
                "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
            }
        ]
    }


def read(description: dict) -> batch_job.JobStack:
    cloudformation = boto3.client("cloudformation")
    with Stubber(cloudformation) as stub:
        stub.add_response("describe_stacks", description, {"StackName": "leaf-diagnosis"})
        return batch_job.read_stack(cloudformation, "leaf-diagnosis")


def test_the_stack_says_which_function_role_and_prefixes_a_job_uses():
    stack = read(stack_description())
    assert (stack.function_arn, stack.role_arn, stack.account_id) == (FUNCTION_ARN, ROLE_ARN, ACCOUNT)
    assert stack.manifests == batch_job.S3Prefix(BUCKET, "batch-operations/manifests/")
    assert stack.reports == batch_job.S3Prefix(BUCKET, "batch-operations/reports/")
    # The backfill decides "current" with the function's own settings, not whatever the shell has.
    assert stack.environment == {
        "TABLE_NAME": "leaf-diagnosis-DiagnosisTable-1A2B3C",
        "IMAGE_PREFIX": "garden/images/",
        "RESULT_SINK": "both",
    }


def test_a_stack_without_the_role_says_how_to_deploy_it():
    with pytest.raises(batch_job.StackNotReady, match="BatchOperationsRole=enabled"):
        read(stack_description(with_role=False))


def test_submit_uploads_the_manifest_and_creates_a_job_with_function_role_and_report():
    stack = read(stack_description())
    s3, s3control = boto3.client("s3"), boto3.client("s3control")
    manifest = b"seed-web-app,garden/images/leaf%201.jpg\nseed-web-app,garden/images/a%2Bb.jpg\n"
    key = "batch-operations/manifests/backfill-20261201T091500Z.csv"
    with Stubber(s3) as s3_stub, Stubber(s3control) as control_stub:
        s3_stub.add_response(
            "put_object",
            {"ETag": '"9b2cf535f27731c974343645a3985328"'},
            {"Bucket": BUCKET, "Key": key, "Body": manifest, "ContentType": "text/csv"},
        )
        control_stub.add_response(
            "create_job",
            {"JobId": "8f2a1c3e-0000-4000-8000-000000000001"},
            create_job_request(
                BUCKET,
                {"ObjectArn": f"arn:aws:s3:::{BUCKET}/{key}", "ETag": "9b2cf535f27731c974343645a3985328"},
                token="token-1",
                description=f"leaf-diagnosis backfill: 2 object(s) from s3://{BUCKET}/{key}",
            ),
        )
        job = batch_job.submit_job(
            s3, s3control, stack, manifest, 2, datetime(2026, 12, 1, 9, 15, tzinfo=UTC), token="token-1"
        )
        s3_stub.assert_no_pending_responses()
        control_stub.assert_no_pending_responses()
    assert job == batch_job.SubmittedJob("8f2a1c3e-0000-4000-8000-000000000001", f"s3://{BUCKET}/{key}", 2)
    follow = batch_job.how_to_follow(job, stack, "us-east-1")
    assert f"--account-id {ACCOUNT} --job-id {job.job_id}" in follow
    assert f"s3://{BUCKET}/batch-operations/reports/job-{job.job_id}/" in follow


def test_a_manifests_prefix_inside_the_image_prefix_is_refused(monkeypatch):
    description = stack_description()
    for output in description["Stacks"][0]["Outputs"]:
        if output["OutputKey"] == "BatchOperationsManifestsUri":
            output["OutputValue"] = f"s3://{BUCKET}/garden/images/jobs/manifests/"
    cloudformation = boto3.client("cloudformation")
    monkeypatch.setattr(batch_job, "client", lambda service: cloudformation)
    with Stubber(cloudformation) as stub:
        stub.add_response("describe_stacks", description, {"StackName": "leaf-diagnosis"})
        with pytest.raises(batch_job.StackNotReady, match="inside ImagePrefix 'garden/images/'"):
            batch_job.stack_for("leaf-diagnosis", BUCKET)
