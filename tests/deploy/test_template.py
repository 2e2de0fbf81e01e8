"""The SAM template's security and reliability properties, read from template.yaml itself."""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

import pytest

from local.template import Deployment
from tests.deploy.project_files import ROOT, load_template

PREFIX = "garden-images/"  # ImagePrefix's default
BUCKET = "leaf-diagnosis-images-123456789012-us-east-1"  # the new bucket's name, as Deployment resolves it
SINKS = ("dynamodb", "s3-metadata", "both")
# Actions that AWS only grants on Resource "*" (no resource-level permissions exist for them).
STAR_ONLY_ACTIONS = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:GetSamplingStatisticSummaries",
    "cloudwatch:PutMetricData",
}
ENV_NAMES = {
    "IMAGE_PREFIX",
    "TABLE_NAME",
    "RESULT_SINK",
    "MODEL_DIR",
    "MODEL_RUNTIME",
    "MAX_IMAGE_BYTES",
    "MAX_IMAGE_PIXELS",
    "TOP_K",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_LOG_LEVEL",
    "IMAGES_BUCKET",
    "MODEL_URI",
    "EVENT_BUS_NAME",
    "RESULT_MAC_KEY",
    "KEEP_OBJECT_ACL",
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def resources_of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in template["Resources"].items() if res["Type"] == kind}


def the_function(template: dict[str, Any]) -> dict[str, Any]:
    (function,) = resources_of_type(template, "AWS::Serverless::Function").values()
    return function


def function_name(template: dict[str, Any]) -> str:
    (name,) = resources_of_type(template, "AWS::Serverless::Function")
    return name


def condition_is_true(template: dict[str, Any], name: str, params: dict[str, str]) -> bool:
    return Deployment(params, template).condition(name)


def resolve_ifs(template: dict[str, Any], node: Any, params: dict[str, str]) -> Any:
    """The node as these parameters resolve it (conditions, Fn::If, Fn::Sub, ...; AWS::NoValue dropped)."""
    return Deployment(params, template).resolve(node)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_statements(template: dict[str, Any], sink: str, mode: str = "direct") -> list[dict[str, Any]]:
    """The Allow statements the function's role holds when deployed with ResultSink=sink, IngestionMode=mode."""
    role_ref = the_function(template)["Properties"]["Role"]
    role = template["Resources"][role_ref["Fn::GetAtt"][0]]
    policies = resolve_ifs(template, role["Properties"]["Policies"], {"ResultSink": sink, "IngestionMode": mode})
    return [
        st for policy in policies for st in policy["PolicyDocument"]["Statement"] if st["Effect"] == "Allow"
    ]


def statements_for(statements: list[dict[str, Any]], service: str) -> list[dict[str, Any]]:
    return [st for st in statements if any(a.startswith(service + ":") for a in as_list(st["Action"]))]


def names_in(node: Any) -> set[str]:
    """Logical ids a node refers to through Ref, Fn::GetAtt or ${...} in Fn::Sub."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value.split(".")[0])
            elif key == "Fn::GetAtt":
                found.add(value[0] if isinstance(value, list) else value.split(".")[0])
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                found |= {m.split(".")[0] for m in re.findall(r"\$\{([^!}][^}]*)\}", text)}
                if isinstance(value, list):
                    found |= names_in(value[1])
            found |= names_in(value)
    elif isinstance(node, list):
        for item in node:
            found |= names_in(item)
    return found


# ---------------------------------------------------------------- the upload trigger


def notifications(template: dict[str, Any], mode: str = "direct") -> list[dict[str, Any]]:
    bucket = template["Resources"]["ImagesBucket"]["Properties"]
    config = resolve_ifs(template, bucket["NotificationConfiguration"], {"IngestionMode": mode})
    (kind,) = config  # exactly one destination kind per mode
    assert kind == {"direct": "LambdaConfigurations", "buffered": "QueueConfigurations"}[mode]
    return config[kind]


def test_uploads_trigger_the_function_but_copies_do_not(template):
    events = sorted(n["Event"] for n in notifications(template))
    assert events == [
        "s3:ObjectCreated:CompleteMultipartUpload",
        "s3:ObjectCreated:Post",
        "s3:ObjectCreated:Put",
        "s3:ObjectRestore:Completed",  # a restored archive, diagnosed by itself (issue 20.4)
    ]
    assert all(n["Function"] == f"<{function_name(template)}.Arn>" for n in notifications(template))


@pytest.mark.parametrize("mode", ["direct", "buffered"])
def test_every_notification_filters_on_the_prefix_and_nothing_else(template, mode):
    for notification in notifications(template, mode):
        assert notification["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": PREFIX}]


def test_recursive_loops_are_terminated(template):
    assert the_function(template)["Properties"]["RecursiveLoop"] == "Terminate"


def test_the_prefix_is_the_same_in_trigger_permissions_and_environment(template):
    variables = the_function(template)["Properties"]["Environment"]["Variables"]
    assert Deployment(template=template).resolve(variables["IMAGE_PREFIX"]) == PREFIX
    for statement in statements_for(role_statements(template, "both"), "s3"):
        for resource in as_list(statement["Resource"]):
            assert resource.endswith((f"/{PREFIX}*", f"/{PREFIX}uploads/*"))  # uploads/: presigned POSTs


def test_no_circular_dependency_between_resources(template):
    graph = {
        name: (names_in(res.get("Properties", {})) | set(as_list(res.get("DependsOn", []))))
        & set(template["Resources"])
        for name, res in template["Resources"].items()
    }
    visiting: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> None:
        assert name not in visiting, f"circular dependency: {' -> '.join([*visiting, name])}"
        if name in done:
            return
        visiting.append(name)
        for dependency in graph[name]:
            visit(dependency)
        visiting.pop()
        done.add(name)

    for name in graph:
        visit(name)


def test_s3_may_invoke_the_function_only_from_the_images_bucket(template):
    resources = Deployment(template=template).resources()
    permission = resources["ImagesBucketInvokePermission"]["Properties"]
    assert resources["ImagesBucket"]["Properties"]["BucketName"] == BUCKET
    assert permission["Principal"] == "s3.amazonaws.com"
    assert permission["SourceArn"] == f"arn:aws:s3:::{BUCKET}"
    assert permission["SourceAccount"] == "123456789012"
    assert "ImagesBucketInvokePermission" in as_list(template["Resources"]["ImagesBucket"]["DependsOn"])


# ---------------------------------------------------------------- buffered ingestion

BUFFERED = ("UploadQueue", "UploadDeadLetterQueue", "UploadQueuePolicy", "UploadQueueEventSource")


def test_direct_is_the_default_and_buffered_resources_exist_only_in_buffered_mode(template):
    assert template["Parameters"]["IngestionMode"]["Default"] == "direct"
    assert set(template["Parameters"]["IngestionMode"]["AllowedValues"]) == {"direct", "buffered"}
    assert condition_is_true(template, "Buffered", {"IngestionMode": "buffered"})
    assert not condition_is_true(template, "Buffered", {})
    for name in BUFFERED:
        assert template["Resources"][name]["Condition"] == "Buffered", name


def test_buffered_uploads_go_to_the_queue_with_the_same_events_and_copies_still_excluded(template):
    direct, buffered = notifications(template, "direct"), notifications(template, "buffered")
    assert sorted(n["Event"] for n in buffered) == sorted(n["Event"] for n in direct)
    assert "s3:ObjectCreated:Copy" not in {n["Event"] for n in buffered}
    assert all(n["Queue"] == "<UploadQueue.Arn>" for n in buffered)


def test_queue_visibility_is_six_function_timeouts_plus_the_longest_batching_window(template):
    queue = template["Resources"]["UploadQueue"]["Properties"]
    assert queue["VisibilityTimeout"] == {"Fn::FindInMap": ["QueueVisibility", {"Ref": "Timeout"}, "Seconds"]}
    table = template["Mappings"]["QueueVisibility"]
    timeouts = template["Parameters"]["Timeout"]["AllowedValues"]
    assert {int(k) for k in table} == set(timeouts)  # every allowed Timeout has a visibility timeout
    longest_window = template["Parameters"]["QueueBatchingWindowSeconds"]["MaxValue"]
    for timeout in timeouts:
        assert table[str(timeout)]["Seconds"] == 6 * timeout + longest_window, timeout
        assert table[str(timeout)]["Seconds"] <= 43_200  # the most SQS allows


def test_failing_upload_events_end_in_a_dead_letter_queue_that_is_watched(template):
    redrive = template["Resources"]["UploadQueue"]["Properties"]["RedrivePolicy"]
    assert redrive == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["UploadDeadLetterQueue", "Arn"]},
        "maxReceiveCount": {"Ref": "QueueMaxReceiveCount"},
    }
    dlq = template["Resources"]["UploadDeadLetterQueue"]["Properties"]
    assert dlq["MessageRetentionPeriod"] >= template["Resources"]["UploadQueue"]["Properties"]["MessageRetentionPeriod"]
    watched = [
        a["Properties"]["Dimensions"]
        for a in resources_of_type(template, "AWS::CloudWatch::Alarm").values()
        if a["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
    ]
    assert [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["UploadDeadLetterQueue", "QueueName"]}}] in watched


def test_the_function_reads_the_queue_in_batches_and_reports_item_failures(template):
    mapping = template["Resources"]["UploadQueueEventSource"]["Properties"]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["UploadQueue", "Arn"]}
    assert mapping["FunctionName"] == {"Ref": function_name(template)}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BatchSize"] == {"Ref": "QueueBatchSize"}
    assert mapping["MaximumBatchingWindowInSeconds"] == {"Ref": "QueueBatchingWindowSeconds"}
    # Lambda refuses batches above 10 without a batching window; the default must be deployable.
    params = template["Parameters"]
    assert params["QueueBatchSize"]["Default"] <= 10 or params["QueueBatchingWindowSeconds"]["Default"] > 0


def test_only_the_images_bucket_may_send_to_the_queue(template):
    policy = Deployment({"IngestionMode": "buffered"}, template).resources()["UploadQueuePolicy"]["Properties"]
    assert policy["Queues"] == ["<UploadQueue>"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Resource"] == "<UploadQueue.Arn>"
    assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == f"arn:aws:s3:::{BUCKET}"
    assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012"


def test_the_bucket_is_created_after_the_queue_policy_that_lets_s3_send(template):
    # S3 validates the destination when the notification is saved; DependsOn cannot name a conditional resource.
    assert "UploadQueuePolicy" in names_in(template["Resources"]["ImagesBucket"]["Properties"])


@pytest.mark.parametrize("mode", ["direct", "buffered"])
def test_queue_permissions_are_the_event_source_minimum_on_the_upload_queue_only(template, mode):
    receives = [
        st for st in statements_for(role_statements(template, "both", mode), "sqs")
        if st["Action"] != "sqs:SendMessage"
    ]
    if mode == "direct":
        assert receives == []
        return
    (statement,) = receives
    assert set(statement["Action"]) == {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
    assert statement["Resource"] == "<UploadQueue.Arn>"


# ---------------------------------------------------------------- data at rest


def test_bucket_blocks_all_public_access(template):
    block = template["Resources"]["ImagesBucket"]["Properties"]["PublicAccessBlockConfiguration"]
    assert block == dict.fromkeys(
        ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"], True
    )


def test_bucket_encrypts_with_sse_s3(template):
    rules = template["Resources"]["ImagesBucket"]["Properties"]["BucketEncryption"][
        "ServerSideEncryptionConfiguration"
    ]
    assert [rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] for rule in rules] == ["AES256"]


def test_bucket_refuses_requests_without_tls(template):
    (policy,) = resources_of_type(template, "AWS::S3::BucketPolicy").values()
    assert policy["Properties"]["Bucket"] == {"Ref": "ImagesBucket"}
    denies = [st for st in policy["Properties"]["PolicyDocument"]["Statement"] if st["Effect"] == "Deny"]
    assert any(
        st["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        and st["Action"] == "s3:*"
        and {"Fn::GetAtt": ["ImagesBucket", "Arn"]} in st["Resource"]
        and {"Fn::Sub": "${ImagesBucket.Arn}/*"} in st["Resource"]
        for st in denies
    )


def test_table_is_keyed_by_image_on_demand_with_point_in_time_recovery(template):
    table = template["Resources"]["DiagnosisTable"]["Properties"]
    assert table["KeySchema"] == [{"AttributeName": "image", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [
        {"AttributeName": name, "AttributeType": "S"} for name in ("image", "listing", "listed_at")
    ]
    # GET /diagnoses: newest first per bucket, read with a Query on this index (never a Scan).
    (index,) = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "by-time"
    assert index["KeySchema"] == [{"AttributeName": "listing", "KeyType": "HASH"},
                                  {"AttributeName": "listed_at", "KeyType": "RANGE"}]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


# ---------------------------------------------------------------- least privilege


def test_function_uses_only_the_role_written_in_the_template(template):
    properties = the_function(template)["Properties"]
    assert properties["Role"] == {"Fn::GetAtt": ["DiagnosisFunctionRole", "Arn"]}
    assert "Policies" not in properties  # SAM would add managed policies next to the role
    assert "ManagedPolicyArns" not in template["Resources"]["DiagnosisFunctionRole"]["Properties"]


@pytest.mark.parametrize("sink", SINKS)
def test_s3_access_is_limited_to_image_objects(template, sink):
    statements = statements_for(role_statements(template, sink), "s3")
    actions = {action for st in statements for action in as_list(st["Action"])}
    expected = {"s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging"}
    writes = {"s3:PutObject", "s3:PutObjectTagging"}  # Object Lock's two: test_iam_scope
    uploads = [st for st in statements if as_list(st["Resource"]) == [f"arn:aws:s3:::{BUCKET}/{PREFIX}uploads/*"]]
    assert [(st["Action"], "Condition" in st) for st in uploads] == [("s3:PutObject", False)]  # presigned POSTs
    statements = [st for st in statements if st not in uploads]
    actions = {action for st in statements for action in as_list(st["Action"])}
    assert actions == (expected | writes if sink in ("s3-metadata", "both") else expected)
    for statement in statements:
        assert as_list(statement["Resource"]) == [f"arn:aws:s3:::{BUCKET}/{PREFIX}*"]


@pytest.mark.parametrize("sink", SINKS)
def test_dynamodb_access_is_limited_to_the_table(template, sink):
    statements = statements_for(role_statements(template, sink), "dynamodb")
    if sink == "s3-metadata":
        assert statements == []
        return
    actions = {action for st in statements for action in as_list(st["Action"])}
    assert actions == {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"}
    for statement in statements:
        if statement["Action"] == "dynamodb:Query":  # GET /diagnoses: the listing index only, not the table
            assert as_list(statement["Resource"]) == ["<DiagnosisTable.Arn>/index/by-time"]
        else:
            assert as_list(statement["Resource"]) == ["<DiagnosisTable.Arn>"]


@pytest.mark.parametrize("sink", SINKS)
def test_kms_access_is_the_result_mac_key_only_and_only_for_the_metadata_sink(template, sink):
    statements = statements_for(role_statements(template, sink), "kms")
    variables = Deployment({"ResultSink": sink}, template=template).resources()["DiagnosisFunction"]
    mac_key = variables["Properties"]["Environment"]["Variables"]["RESULT_MAC_KEY"]
    if sink != "s3-metadata":  # a table holds the results: metadata is never served, so never signed
        assert statements == [] and mac_key == ""
        assert "ResultMacKey" not in Deployment({"ResultSink": sink}, template=template).resources()
        return
    assert [(sorted(as_list(st["Action"])), as_list(st["Resource"])) for st in statements] == [
        (["kms:GenerateMac", "kms:VerifyMac"], ["<ResultMacKey.Arn>"])]
    assert mac_key == "<ResultMacKey.Arn>"
    key = template["Resources"]["ResultMacKey"]["Properties"]
    assert (key["KeySpec"], key["KeyUsage"]) == ("HMAC_256", "GENERATE_VERIFY_MAC")


@pytest.mark.parametrize("sink", SINKS)
def test_only_star_only_actions_have_resource_star(template, sink):
    for statement in role_statements(template, sink):
        actions = as_list(statement["Action"])
        assert not any("*" in action for action in actions), statement
        if "*" in as_list(statement["Resource"]):
            assert set(actions) <= STAR_ONLY_ACTIONS, statement


def test_tracing_is_active(template):
    assert the_function(template)["Properties"]["Tracing"] == "Active"
    assert template["Resources"]["DiagnosisApi"]["Properties"]["TracingEnabled"] is True
    xray = {
        a for st in statements_for(role_statements(template, "both"), "xray") for a in as_list(st["Action"])
    }
    assert {"xray:PutTraceSegments", "xray:PutTelemetryRecords"} <= xray


# ---------------------------------------------------------------- failures, alarms, logs


def test_failed_async_events_go_to_an_sqs_queue_after_bounded_retries(template):
    config = the_function(template)["Properties"]["EventInvokeConfig"]
    assert 0 <= config["MaximumRetryAttempts"] <= 2
    assert 60 <= config["MaximumEventAgeInSeconds"] <= 21600
    on_failure = config["DestinationConfig"]["OnFailure"]
    assert on_failure["Type"] == "SQS"
    queue = on_failure["Destination"]["Fn::GetAtt"][0]
    assert template["Resources"][queue]["Type"] == "AWS::SQS::Queue"
    sends = statements_for(role_statements(template, "both"), "sqs")
    assert [(st["Action"], st["Resource"]) for st in sends] == [("sqs:SendMessage", f"<{queue}.Arn>")]


def test_alarms_watch_function_errors_and_the_failure_queue(template):
    alarms = resources_of_type(template, "AWS::CloudWatch::Alarm").values()
    queue = the_function(template)["Properties"]["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
    queue_name = {"Fn::GetAtt": [queue["Destination"]["Fn::GetAtt"][0], "QueueName"]}
    watched = {
        (
            a["Properties"]["Namespace"],
            a["Properties"]["MetricName"],
            json.dumps(a["Properties"]["Dimensions"]),
        )
        for a in alarms
        if a["Properties"].get("AlarmActions")
    }
    assert (
        "AWS/Lambda",
        "Errors",
        json.dumps([{"Name": "FunctionName", "Value": {"Ref": function_name(template)}}]),
    ) in watched
    assert (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        json.dumps([{"Name": "QueueName", "Value": queue_name}]),
    ) in watched


def test_logs_go_to_a_log_group_with_retention(template):
    log_group = the_function(template)["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    assert template["Resources"][log_group]["Type"] == "AWS::Logs::LogGroup"
    assert template["Resources"][log_group]["Properties"]["RetentionInDays"]
    logs = statements_for(role_statements(template, "both"), "logs")
    assert logs and all(st["Resource"] == f"<{log_group}.Arn>" for st in logs)


# ---------------------------------------------------------------- function and API


def test_function_is_a_container_image_built_from_the_dockerfile(template):
    function = the_function(template)
    assert function["Properties"]["PackageType"] == "Image"
    assert {"Dockerfile", "DockerContext", "DockerTag"} <= set(function["Metadata"])
    assert set(template["Parameters"]["Architecture"]["AllowedValues"]) == {"x86_64", "arm64"}
    for name in ("MemorySize", "Timeout"):
        assert function["Properties"][name] == {"Ref": name}
    assert function["Properties"]["Architectures"] == [{"Ref": "Architecture"}]


def test_the_image_bakes_in_the_bundled_default_model(template):
    # sam build passes DockerBuildArgs over the Dockerfile's defaults: a stale one ships another model.
    from handler.config import BUNDLED_MODEL_DIR

    source = the_function(template)["Metadata"]["DockerBuildArgs"]["MODEL_SOURCE"]
    assert (ROOT / source).resolve() == BUNDLED_MODEL_DIR.resolve()
    assert (ROOT / source / "metadata.json").is_file()


def test_function_gets_every_configuration_variable(template):
    variables = the_function(template)["Properties"]["Environment"]["Variables"]
    assert set(variables) == ENV_NAMES
    assert variables["RESULT_SINK"] == {"Ref": "ResultSink"}
    assert set(template["Parameters"]["ResultSink"]["AllowedValues"]) == set(SINKS)
    assert variables["TABLE_NAME"] == {"Ref": "DiagnosisTable"}
    assert Deployment(template=template).resolve(variables["IMAGES_BUCKET"]) == BUCKET
    assert variables["POWERTOOLS_SERVICE_NAME"] == "leaf-diagnosis"
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "LeafDiagnosis"


API_ROUTES = {
    ("/Diagnosis/prediction", "post"): True,
    ("/diagnoses", "post"): True,
    ("/diagnoses/{key+}", "get"): True,
    ("/diagnoses", "get"): True,
    ("/uploads", "post"): True,
    ("/", "get"): False,  # the results page: static HTML, its calls carry the auth
    ("/docs", "get"): False,
    ("/openapi.json", "get"): False,
}  # route -> needs auth


def test_api_routes_and_their_auth(template):
    paths = template["Resources"]["DiagnosisApi"]["Properties"]["DefinitionBody"]["paths"]
    routes = {(path, method): operation for path, item in paths.items() for method, operation in item.items()}
    assert set(routes) == set(API_ROUTES)
    for route, needs_auth in API_ROUTES.items():
        operation = routes[route]
        uri = operation["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
        assert operation["x-amazon-apigateway-integration"]["type"] == "aws_proxy"
        assert f"${{{function_name(template)}.Arn}}" in uri
        for auth, scheme in (("AWS_IAM", "sigv4"), ("API_KEY", "api_key")):
            security = resolve_ifs(template, operation["security"], {"ApiAuth": auth})
            assert security == ([{scheme: []}] if needs_auth else []), (route, auth)
    assert template["Parameters"]["ApiAuth"]["Default"] == "AWS_IAM"


def test_api_key_mode_has_a_usage_plan(template):
    plans = resources_of_type(template, "AWS::ApiGateway::UsagePlan")
    assert [plan["Condition"] for plan in plans.values()] == ["UseApiKey"]
    assert condition_is_true(template, "UseApiKey", {"ApiAuth": "API_KEY"})
    assert not condition_is_true(template, "UseApiKey", {"ApiAuth": "AWS_IAM"})


def test_api_accepts_binary_images_and_throttles(template):
    api = template["Resources"]["DiagnosisApi"]["Properties"]
    # CloudFormation escapes "/" as "~1" in media types.
    assert {"image~1*", "multipart~1form-data"} <= set(api["BinaryMediaTypes"])
    (setting,) = api["MethodSettings"]
    assert setting["ResourcePath"] == "/*" and setting["HttpMethod"] == "*"
    assert setting["ThrottlingRateLimit"] and setting["ThrottlingBurstLimit"]


def test_outputs_name_bucket_table_and_api_url(template):
    outputs = template["Outputs"]
    assert Deployment(template=template).resolve(outputs["ImagesBucketName"]["Value"]) == "<ImagesBucket>"
    assert outputs["DiagnosisTableName"]["Value"] == {"Ref": "DiagnosisTable"}
    url = Deployment(template=template).outputs()["ApiUrl"]  # the default front door: the REST API
    stage = template["Resources"]["DiagnosisApi"]["Properties"]["StageName"]
    assert url == f"https://<DiagnosisApi>.execute-api.us-east-1.amazonaws.com/{stage}/"


def test_samconfig_deploys_without_questions_beyond_the_guided_ones():
    config = tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))["default"]
    assert config["global"]["parameters"]["stack_name"]
    assert config["global"]["parameters"]["region"] == "us-east-1"
    deploy = config["deploy"]["parameters"]
    assert "CAPABILITY_IAM" in deploy["capabilities"]
    assert deploy["resolve_image_repos"] is True
    assert deploy["confirm_changeset"] is True


# ---------------------------------------------------------------- the SAM transform


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"ApiAuth": "API_KEY", "ResultSink": "s3-metadata"},
        {"IngestionMode": "buffered"},
        {"ExistingBucketName": "my-garden-photos", "ImagePrefix": "garden/images/"},
        {"ExistingBucketName": "my-garden-photos", "IngestionMode": "buffered", "BatchOperationsRole": "enabled"},
        {"ModelUri": "s3://my-models/plantnet/v1/"},
        {"ExistingBucketName": "my-garden-photos", "ExistingBucketObjectLock": "enabled", "EventBusName": "garden-events"},
    ],
)
def test_sam_translator_transforms_the_template(monkeypatch, params):
    transform = pytest.importorskip(
        "samtranslator.translator.transform", reason="aws-sam-translator: run in .venv-deploy"
    ).transform
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            raise AssertionError("the template should name no managed policies")

    template = load_template()
    # `sam build` fills ImageUri in the built template; the translator insists on one.
    the_function(template)["Properties"]["ImageUri"] = "123456789012.dkr.ecr.us-east-1.amazonaws.com/leaf:v1"
    cfn = transform(template, params, NoManagedPolicies())

    function = cfn["Resources"][function_name(template)]
    assert function["Type"] == "AWS::Lambda::Function"
    assert function["Properties"]["PackageType"] == "Image"
    assert function["Properties"]["RecursiveLoop"] == "Terminate"
    assert function["Properties"]["TracingConfig"] == {"Mode": "Active"}
    (invoke_config,) = resources_of_type(cfn, "AWS::Lambda::EventInvokeConfig").values()
    assert invoke_config["Properties"]["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["FailedEventsQueue", "Arn"]
    }
    (stage,) = resources_of_type(cfn, "AWS::ApiGateway::Stage").values()
    assert stage["Properties"]["MethodSettings"][0]["ThrottlingRateLimit"] == {"Ref": "ApiThrottleRateLimit"}
    (api,) = resources_of_type(cfn, "AWS::ApiGateway::RestApi").values()
    assert api["Properties"]["Body"]["x-amazon-apigateway-binary-media-types"] == [
        "image/*",
        "multipart/form-data",
    ]
    assert cfn["Resources"]["ApiUsagePlan"]["Properties"]["ApiStages"][0]["Stage"] == {"Ref": stage_id(cfn)}


def stage_id(cfn: dict[str, Any]) -> str:
    (name,) = resources_of_type(cfn, "AWS::ApiGateway::Stage")
    return name
