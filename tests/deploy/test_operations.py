"""Running the deployment: the dashboard, the alarms on the handler's own metrics, the Batch Operations role."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.test_deployments import (
    COMBINATIONS,
    COMBO_IDS,
    EXISTING,
    NEW_BUCKET,
    as_list,
    deploy,
    variables,
)

ROOT = Path(__file__).resolve().parents[2]


def dashboard(resources: dict[str, Any]) -> list[dict[str, Any]]:
    return json.loads(resources["DiagnosisDashboard"]["Properties"]["DashboardBody"])["widgets"]


def metrics_shown(widgets: list[dict[str, Any]]) -> dict[tuple[str, str, tuple[tuple[str, str], ...]], set[str]]:
    """(namespace, metric, dimensions) -> the statistics the dashboard plots it with."""
    shown: dict[tuple[str, str, tuple[tuple[str, str], ...]], set[str]] = {}
    for widget in widgets:
        if widget["type"] != "metric":
            continue
        properties = widget["properties"]
        assert properties["region"] == "us-east-1"
        for line in properties["metrics"]:
            options = line[-1] if isinstance(line[-1], dict) else {}
            names = [item for item in line if isinstance(item, str)]
            assert "." not in names, "write metrics out in full"
            namespace, metric, *dims = names
            key = (namespace, metric, tuple(zip(dims[::2], dims[1::2], strict=True)))
            shown.setdefault(key, set()).add(options.get("stat", properties.get("stat", "")))
            assert options.get("period", properties.get("period")) in (60, 300), widget["properties"]["title"]
    return shown


def service(resources: dict[str, Any]) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The namespace and dimensions Powertools gives the handler's metrics (observability.py)."""
    env = variables(resources)
    return env["POWERTOOLS_METRICS_NAMESPACE"], (("service", env["POWERTOOLS_SERVICE_NAME"]),)


@pytest.mark.parametrize(("existing", "mode"), COMBINATIONS, ids=COMBO_IDS)
def test_dashboard_shows_outcomes_latency_cold_starts_errors_and_the_queues_that_exist(existing, mode):
    resources = deploy(existing, mode).resources()
    widgets = dashboard(resources)
    shown = metrics_shown(widgets)
    namespace, dims = service(resources)
    for metric in ("ImagesDiagnosed", "ImagesRejected", "ImagesSkipped", "ObjectReadDenied"):
        assert shown[(namespace, metric, dims)] == {"Sum"}, metric
    assert shown[(namespace, "DiagnosisLatency", dims)] == {"p50", "p95"}
    # Powertools' ColdStart metric carries the function name as well as the service.
    function = (("function_name", "<DiagnosisFunction>"),)
    assert shown[(namespace, "ColdStart", function + dims)] == {"Sum"}
    for metric in ("Errors", "Throttles"):
        assert shown[("AWS/Lambda", metric, (("FunctionName", "<DiagnosisFunction>"),))] == {"Sum"}
    (init,) = [w for w in widgets if w["type"] == "log"]
    query = init["properties"]["query"]
    assert query.startswith("SOURCE '<DiagnosisLogGroup>' |") and "@initDuration" in query

    def depth(queue: str) -> set[str] | None:
        return shown.get(("AWS/SQS", "ApproximateNumberOfMessagesVisible", (("QueueName", f"<{queue}.QueueName>"),)))

    assert depth("FailedEventsQueue") == {"Maximum"}
    if mode == "buffered":
        assert depth("UploadQueue") == {"Maximum"} and depth("UploadDeadLetterQueue") == {"Maximum"}
        oldest = ("AWS/SQS", "ApproximateAgeOfOldestMessage", (("QueueName", "<UploadQueue.QueueName>"),))
        assert shown[oldest] == {"Maximum"}
    else:
        assert not any("UploadQueue" in str(key) or "UploadDeadLetter" in str(key) for key in shown)
    rule = ("AWS/Events", "FailedInvocations", (("RuleName", "<UploadEventsRule>"),))
    assert (rule in shown) == bool(existing)


def test_dashboard_url_is_an_output():
    deployment = deploy("", "direct")
    assert deployment.resources()["DiagnosisDashboard"]["Properties"]["DashboardName"] == "leaf-diagnosis-diagnosis"
    assert deployment.outputs()["DashboardUrl"] == (
        "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1"
        "#dashboards/dashboard/<DiagnosisDashboard>"
    )


@pytest.mark.parametrize("metric", ["ObjectReadDenied", "RecordErrors"])
def test_the_handlers_own_failure_metrics_raise_an_alarm(metric):
    # The name must be one the handler really emits, or the alarm watches nothing.
    handler_source = "".join(p.read_text() for p in (ROOT / "handler").rglob("*.py"))
    assert f'name="{metric}"' in handler_source
    resources = deploy("", "direct").resources()
    namespace, dims = service(resources)
    alarms = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    (alarm,) = [a for a in alarms if a["MetricName"] == metric]
    assert alarm["Namespace"] == namespace
    assert [(d["Name"], d["Value"]) for d in alarm["Dimensions"]] == list(dims)
    assert (alarm["Statistic"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
        "Sum", 1, "GreaterThanOrEqualToThreshold"
    )
    assert alarm["AlarmActions"] == ["<AlarmTopic>"]


# ---------------------------------------------------------------- S3 Batch Operations


def test_no_batch_operations_role_unless_asked():
    deployment = deploy("", "direct")
    assert "BatchOperationsJobRole" not in deployment.resources()
    assert "BatchOperationsRoleArn" not in deployment.outputs()


@pytest.mark.parametrize(("existing", "mode"), COMBINATIONS, ids=COMBO_IDS)
def test_batch_operations_role_may_invoke_the_function_read_manifests_write_reports_and_nothing_else(existing, mode):
    deployment = deploy(existing, mode, BatchOperationsRole="enabled", BatchOperationsPrefix="jobs/")
    role = deployment.resources()["BatchOperationsJobRole"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "batchoperations.s3.amazonaws.com"}
    assert (trust["Effect"], trust["Action"]) == ("Allow", "sts:AssumeRole")
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    assert "ManagedPolicyArns" not in role

    bucket = existing or NEW_BUCKET
    granted = sorted(
        (action, resource)
        for policy in role["Policies"]
        for st in policy["PolicyDocument"]["Statement"]
        if st["Effect"] == "Allow"
        for action in as_list(st["Action"])
        for resource in as_list(st["Resource"])
    )
    assert granted == sorted(
        [
            ("lambda:InvokeFunction", "<DiagnosisFunction.Arn>"),
            ("s3:GetObject", f"arn:aws:s3:::{bucket}/jobs/manifests/*"),
            ("s3:GetObjectVersion", f"arn:aws:s3:::{bucket}/jobs/manifests/*"),
            ("s3:PutObject", f"arn:aws:s3:::{bucket}/jobs/reports/*"),
            ("s3:GetBucketLocation", f"arn:aws:s3:::{bucket}"),
        ]
    )
    outputs = deployment.outputs()
    assert outputs["BatchOperationsRoleArn"] == "<BatchOperationsJobRole.Arn>"
    assert outputs["DiagnosisFunctionArn"] == "<DiagnosisFunction.Arn>"
    shown_bucket = existing or "<ImagesBucket>"
    assert outputs["BatchOperationsManifestsUri"] == f"s3://{shown_bucket}/jobs/manifests/"
    assert outputs["BatchOperationsReportsUri"] == f"s3://{shown_bucket}/jobs/reports/"


def test_every_combination_resolves_without_naming_a_resource_it_leaves_out():
    # Deployment raises when a created resource or output refers to one its conditions leave out.
    for existing in ("", EXISTING):
        for mode in ("direct", "buffered"):
            for extra in ({}, {"BatchOperationsRole": "enabled", "ModelUri": "s3://models/x/", "AlarmEmail": "a@b.c"}):
                deployment = deploy(existing, mode, **extra)
                assert deployment.resources() and deployment.outputs()
            for door in ({"FrontDoor": "HttpApi", "ApiAuth": "JWT", "JwtIssuer": "https://i.example", "JwtAudience": "a"},
                         {"FrontDoor": "FunctionUrl", "ApiAuth": "NONE", "CorsAllowedOrigins": "https://a.example"},
                         {"FrontDoor": "None", "EventBusName": "garden-events", "ResultSink": "s3-metadata"}):
                lock = {"ExistingBucketObjectLock": "enabled"} if existing else {}
                deployment = deploy(existing, mode, **door, **lock)
                assert deployment.resources() and deployment.outputs()
