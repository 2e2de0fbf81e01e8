"""`backfill --batch-operations`: what is not current goes into a manifest in the bucket and a job is created.

S3 and the table are moto's server; CloudFormation and S3 Control (which moto does not serve for
jobs) are botocore Stubbers that check every request.
"""

from __future__ import annotations

import csv
import io

import boto3
import pytest
from botocore.stub import ANY, Stubber

from ops import backfill, batch_job
from tests.e2e.conftest import TABLE
from tests.e2e.test_backfill import small_leaves
from tests.ops.test_batch_job import FUNCTION_ARN, ROLE_ARN, create_job_request

BUCKET = "leaf-batch-job-e2e"


@pytest.fixture
def deployed(local_stack, monkeypatch):
    """The stack as describe-stacks shows it, and the create_job calls the backfill makes."""
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    outputs = {
        "ImagesBucketName": BUCKET,
        "ImagePrefix": "garden-images/",
        "DiagnosisTableName": TABLE,
        "DiagnosisFunctionArn": FUNCTION_ARN,
        "BatchOperationsRoleArn": ROLE_ARN,
        "BatchOperationsManifestsUri": f"s3://{BUCKET}/batch-operations/manifests/",
        "BatchOperationsReportsUri": f"s3://{BUCKET}/batch-operations/reports/",
    }
    cloudformation, s3control = boto3.client("cloudformation"), boto3.client("s3control")
    stubs = [Stubber(cloudformation), Stubber(s3control)]
    stubs[0].add_response(
        "describe_stacks",
        {
            "Stacks": [
                {
                    "StackName": "leaf-diagnosis",
                    "CreationTime": "2026-12-01T00:00:00Z",
                    "StackStatus": "CREATE_COMPLETE",
                    "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
                    "Parameters": [{"ParameterKey": "ResultSink", "ParameterValue": "both"}],
                }
            ]
        },
        {"StackName": "leaf-diagnosis"},
    )
    calls: list[dict] = []
    s3control.meta.events.register("provide-client-params.s3-control.CreateJob", lambda params, **_: calls.append(params))
    clients = {"cloudformation": cloudformation, "s3control": s3control}
    monkeypatch.setattr(batch_job, "client", lambda service: clients[service])
    for stub in stubs:
        stub.activate()
    yield stubs[1], calls
    for stub in stubs:
        stub.deactivate()


def expect_job(stub: Stubber) -> None:
    # ObjectArn and ETag are checked against the uploaded manifest below.
    request = create_job_request(BUCKET, {"ObjectArn": ANY, "ETag": ANY}, token=ANY, description=ANY)
    stub.add_response("create_job", {"JobId": "job-e2e-1"}, request)


def test_batch_operations_uploads_what_is_not_current_and_starts_a_job(app, deployed, capsys):
    stub, calls = deployed
    s3, leaves = boto3.client("s3"), small_leaves()
    keys = ["garden-images/old/done.jpg", "garden-images/old/leaf 1.jpg", "garden-images/old/a+b.jpg"]
    for index, key in enumerate(keys):
        s3.put_object(Bucket=BUCKET, Key=key, Body=leaves[index])
    assert backfill.main([f"s3://{BUCKET}/{keys[0]}", "--no-progress"]) == 0  # one is already current
    capsys.readouterr()

    expect_job(stub)
    assert backfill.main([f"s3://{BUCKET}/garden-images/old/", "--batch-operations", "--no-progress"]) == 0
    out, err = capsys.readouterr()
    stub.assert_no_pending_responses()
    assert "1 already current" in err and "2 to do" in err
    assert "created S3 Batch Operations job job-e2e-1: 2 object(s)" in out
    assert "aws s3control describe-job --region us-east-1 --account-id 123456789012 --job-id job-e2e-1" in out

    (call,) = calls
    location = call["Manifest"]["Location"]
    key = location["ObjectArn"].removeprefix(f"arn:aws:s3:::{BUCKET}/")
    assert key.startswith("batch-operations/manifests/backfill-") and key.endswith(".csv")
    uploaded = s3.get_object(Bucket=BUCKET, Key=key)
    assert uploaded["ETag"].strip('"') == location["ETag"]
    rows = list(csv.reader(io.StringIO(uploaded["Body"].read().decode())))
    assert sorted(rows) == [[BUCKET, "garden-images/old/a%2Bb.jpg"], [BUCKET, "garden-images/old/leaf%201.jpg"]]
    assert call["ClientRequestToken"]


def test_batch_operations_refuses_a_bucket_the_stack_does_not_diagnose(deployed, capsys):
    assert backfill.main(["s3://some-other-bucket/garden-images/", "--batch-operations", "--no-progress"]) == 2
    assert f"diagnoses s3://{BUCKET} only" in capsys.readouterr().err
