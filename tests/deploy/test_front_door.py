"""FrontDoor x ApiAuth (x the bucket and ingestion mode): what each deployment puts in front of the function."""

from __future__ import annotations

from typing import Any

import pytest

from local.template import Deployment, ParameterError, load_template

PARSED = load_template()
EXISTING = "seed-web-app"
JWT = {"JwtIssuer": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc", "JwtAudience": "app-one,app-two"}
# Every combination CloudFormation accepts, and the auth each one gets.
VALID = [
    ("RestApi", "AWS_IAM"),
    ("RestApi", "API_KEY"),
    ("HttpApi", "AWS_IAM"),
    ("HttpApi", "JWT"),
    ("FunctionUrl", "AWS_IAM"),
    ("FunctionUrl", "NONE"),
    ("None", "AWS_IAM"),
]
DOORS = [f"{door}-{auth}" for door, auth in VALID]
BUCKET_AND_MODE = [("", "direct"), ("", "buffered"), (EXISTING, "direct"), (EXISTING, "buffered")]
REST = {"DiagnosisApi", "ApiInvokePermission"}
HTTP = {
    "HttpApi", "HttpApiIntegration", "HttpApiStage", "HttpApiInvokePermission", "HttpApiPredictionRoute",
    "HttpApiDiagnoseRoute", "HttpApiResultRoute", "HttpApiDocsRoute", "HttpApiOpenApiRoute",
    "HttpApiListRoute", "HttpApiUploadRoute", "HttpApiPageRoute",
}
URL = {"DiagnosisFunctionUrl"}
DOOR_RESOURCES = {"RestApi": REST, "HttpApi": HTTP, "FunctionUrl": URL, "None": set()}
ORIGIN = {
    "RestApi": "https://<DiagnosisApi>.execute-api.us-east-1.amazonaws.com",
    "HttpApi": "https://<HttpApi>.execute-api.us-east-1.amazonaws.com",
    "FunctionUrl": "https://abc123.lambda-url.us-east-1.on.aws",
}
FUNCTION_URL = "https://abc123.lambda-url.us-east-1.on.aws/"  # as Lambda returns it, with the "/"


def deploy(door: str, auth: str, **params: str) -> Deployment:
    extra = JWT if auth == "JWT" else {}
    return Deployment(
        {"FrontDoor": door, "ApiAuth": auth, **extra, **params},
        PARSED,
        resource_values={"DiagnosisFunctionUrl.FunctionUrl": FUNCTION_URL},
    )


def api_routes() -> dict[tuple[str, str], bool]:
    """The REST API's (method, path) -> needs auth, from its OpenAPI body."""
    paths = PARSED["Resources"]["DiagnosisApi"]["Properties"]["DefinitionBody"]["paths"]
    return {
        (method.upper(), path): operation["security"] != []
        for path, item in paths.items()
        for method, operation in item.items()
    }


def http_routes(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::ApiGatewayV2::Route"
    }


def invoke_permissions(resources: dict[str, Any]) -> list[dict[str, Any]]:
    return [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::Permission"]


# ---------------------------------------------------------------- one door, its resources, its URL


@pytest.mark.parametrize(("existing", "mode"), BUCKET_AND_MODE)
@pytest.mark.parametrize(("door", "auth"), VALID, ids=DOORS)
def test_each_door_creates_its_own_resources_and_none_of_the_others(door, auth, existing, mode):
    deployment = deploy(door, auth, ExistingBucketName=existing, IngestionMode=mode)
    resources = deployment.resources()
    every_door = REST | HTTP | URL
    assert every_door & set(resources) == DOOR_RESOURCES[door]
    assert ("HttpApiJwtAuthorizer" in resources) == (auth == "JWT")
    assert ({"ApiKey", "ApiUsagePlan", "ApiUsagePlanKey"} <= set(resources)) == (auth == "API_KEY")
    assert not {"ApiKey", "ApiUsagePlan"} & set(resources) or auth == "API_KEY"
    public = {"FunctionUrlPublicPermission", "FunctionUrlPublicInvokePermission"}
    assert (public <= set(resources)) == (auth == "NONE")
    assert not public & set(resources) or auth == "NONE"
    gateways = [p for p in invoke_permissions(resources) if p["Principal"] == "apigateway.amazonaws.com"]
    api_id = {"RestApi": "<DiagnosisApi>", "HttpApi": "<HttpApi>"}.get(door)
    assert [p["SourceArn"] for p in gateways] == (
        [f"arn:aws:execute-api:us-east-1:123456789012:{api_id}/*"] if api_id else []
    )


@pytest.mark.parametrize(("door", "auth"), VALID, ids=DOORS)
def test_the_api_url_output_is_the_doors_base_url(door, auth):
    outputs = deploy(door, auth).outputs()
    expected = {
        "RestApi": "https://<DiagnosisApi>.execute-api.us-east-1.amazonaws.com/v1/",
        "HttpApi": "https://<HttpApi>.execute-api.us-east-1.amazonaws.com/",
        "FunctionUrl": FUNCTION_URL,
    }
    assert outputs.get("ApiUrl") == expected.get(door)
    assert ("ApiKeyId" in outputs) == (auth == "API_KEY")


def test_the_default_is_todays_rest_api_with_iam():
    params = PARSED["Parameters"]
    assert (params["FrontDoor"]["Default"], params["ApiAuth"]["Default"]) == ("RestApi", "AWS_IAM")


# ---------------------------------------------------------------- auth: only what the door can do


@pytest.mark.parametrize(
    ("door", "auth"),
    [
        ("HttpApi", "API_KEY"), ("FunctionUrl", "API_KEY"), ("None", "API_KEY"),
        ("RestApi", "JWT"), ("FunctionUrl", "JWT"),
        ("RestApi", "NONE"), ("HttpApi", "NONE"), ("None", "NONE"),
    ],
)
def test_auth_a_door_cannot_do_is_refused_before_anything_is_created(door, auth):
    with pytest.raises(ParameterError, match="rule "):
        deploy(door, auth)


@pytest.mark.parametrize("missing", ["JwtIssuer", "JwtAudience"])
def test_jwt_needs_an_issuer_and_an_audience(missing):
    with pytest.raises(ParameterError, match=missing):
        Deployment({"FrontDoor": "HttpApi", "ApiAuth": "JWT", **JWT, missing: ""}, PARSED)


@pytest.mark.parametrize("issuer", ["http://issuer.example.com", "issuer.example.com", "https://a b"])
def test_the_jwt_issuer_is_an_https_url(issuer):
    with pytest.raises(ParameterError, match="JwtIssuer"):
        Deployment({"FrontDoor": "HttpApi", "ApiAuth": "JWT", **JWT, "JwtIssuer": issuer}, PARSED)


@pytest.mark.parametrize("auth", ["AWS_IAM", "JWT"])
def test_the_http_api_serves_the_rest_apis_routes_with_the_same_auth(auth):
    resources = deploy("HttpApi", auth).resources()
    routes = http_routes(resources)
    assert set(routes) == {f"{method} {path}" for method, path in api_routes()}
    for (method, path), needs_auth in api_routes().items():
        route = routes[f"{method} {path}"]
        assert route["Target"] == "integrations/<HttpApiIntegration>"
        if not needs_auth:
            assert route["AuthorizationType"] == "NONE" and "AuthorizerId" not in route
        elif auth == "JWT":
            assert (route["AuthorizationType"], route["AuthorizerId"]) == ("JWT", "<HttpApiJwtAuthorizer>")
        else:
            assert route["AuthorizationType"] == "AWS_IAM" and "AuthorizerId" not in route
    integration = resources["HttpApiIntegration"]["Properties"]
    assert integration["IntegrationType"] == "AWS_PROXY"
    assert integration["IntegrationUri"] == "<DiagnosisFunction.Arn>"
    assert integration["PayloadFormatVersion"] == "2.0"


def test_the_jwt_authorizer_checks_the_issuer_and_every_audience():
    authorizer = deploy("HttpApi", "JWT").resources()["HttpApiJwtAuthorizer"]["Properties"]
    assert authorizer["AuthorizerType"] == "JWT"
    assert authorizer["IdentitySource"] == ["$request.header.Authorization"]
    assert authorizer["JwtConfiguration"] == {"Issuer": JWT["JwtIssuer"], "Audience": ["app-one", "app-two"]}


@pytest.mark.parametrize(("auth", "url_auth"), [("AWS_IAM", "AWS_IAM"), ("NONE", "NONE")])
def test_the_function_url_signs_with_iam_unless_public_is_asked_for(auth, url_auth):
    resources = deploy("FunctionUrl", auth).resources()
    url = resources["DiagnosisFunctionUrl"]["Properties"]
    assert (url["TargetFunctionArn"], url["AuthType"]) == ("<DiagnosisFunction.Arn>", url_auth)
    public = [p for p in invoke_permissions(resources) if p["Principal"] == "*"]
    if auth == "AWS_IAM":
        assert public == []  # callers' own policies grant lambda:InvokeFunctionUrl
        return
    assert sorted(public, key=lambda p: p["Action"]) == [
        {"Action": "lambda:InvokeFunction", "FunctionName": "<DiagnosisFunction.Arn>", "Principal": "*",
         "InvokedViaFunctionUrl": True},
        {"Action": "lambda:InvokeFunctionUrl", "FunctionName": "<DiagnosisFunction.Arn>", "Principal": "*",
         "FunctionUrlAuthType": "NONE"},
    ]


# ---------------------------------------------------------------- throttling where the service has it


def test_the_http_api_stage_throttles_every_route():
    stage = deploy("HttpApi", "AWS_IAM", ApiThrottleRateLimit="7", ApiThrottleBurstLimit="9").resources()["HttpApiStage"]
    settings = stage["Properties"]["DefaultRouteSettings"]
    assert (settings["ThrottlingRateLimit"], settings["ThrottlingBurstLimit"]) == ("7", "9")
    assert stage["Properties"]["StageName"] == "$default" and stage["Properties"]["AutoDeploy"] is True


@pytest.mark.parametrize("auth", ["AWS_IAM", "API_KEY"])
def test_the_rest_api_stage_and_usage_plan_throttle(auth):
    resources = deploy("RestApi", auth, ApiThrottleRateLimit="7", ApiThrottleBurstLimit="9").resources()
    (setting,) = resources["DiagnosisApi"]["Properties"]["MethodSettings"]
    assert (setting["ThrottlingRateLimit"], setting["ThrottlingBurstLimit"]) == ("7", "9")
    if auth == "API_KEY":
        assert resources["ApiUsagePlan"]["Properties"]["Throttle"] == {"RateLimit": "7", "BurstLimit": "9"}


# ---------------------------------------------------------------- CORS: the browser's uploads and API calls


@pytest.mark.parametrize(("door", "auth"), VALID, ids=DOORS)
@pytest.mark.parametrize("extra", ["", "https://garden.example.com,http://localhost:3000"])
def test_the_new_bucket_accepts_browser_posts_from_the_doors_origin_and_the_extra_ones(door, auth, extra):
    bucket = deploy(door, auth, CorsAllowedOrigins=extra).resources()["ImagesBucket"]["Properties"]
    origins = ([ORIGIN[door]] if door in ORIGIN else []) + (extra.split(",") if extra else [])
    if not origins:
        assert "CorsConfiguration" not in bucket
        return
    (rule,) = bucket["CorsConfiguration"]["CorsRules"]
    assert rule["AllowedOrigins"] == origins
    assert rule["AllowedMethods"] == ["POST"]  # presigned POST uploads; nothing else cross-origin


def test_an_existing_bucket_is_left_as_it_is():
    resources = deploy("HttpApi", "AWS_IAM", ExistingBucketName=EXISTING, CorsAllowedOrigins="https://a.example").resources()
    assert not [r for r in resources.values() if r["Type"].startswith("AWS::S3::")]


@pytest.mark.parametrize(("door", "auth", "resource", "key"), [
    ("HttpApi", "JWT", "HttpApi", "CorsConfiguration"),
    ("FunctionUrl", "AWS_IAM", "DiagnosisFunctionUrl", "Cors"),
])
def test_the_http_api_and_function_url_answer_cross_origin_calls_only_from_listed_origins(door, auth, resource, key):
    assert key not in deploy(door, auth).resources()[resource]["Properties"]
    cors = deploy(door, auth, CorsAllowedOrigins="https://garden.example.com").resources()[resource]["Properties"][key]
    assert cors["AllowOrigins"] == ["https://garden.example.com"]
    assert set(cors["AllowMethods"]) == {"GET", "POST"}
    assert "authorization" in cors["AllowHeaders"]


@pytest.mark.parametrize("origins", ["*", "https://a.example/", "https://a.example/path", "a.example", "https://a.example,"])
def test_cors_origins_are_plain_origins(origins):
    with pytest.raises(ParameterError, match="CorsAllowedOrigins"):
        deploy("HttpApi", "AWS_IAM", CorsAllowedOrigins=origins)


# ---------------------------------------------------------------- the SAM transform


@pytest.mark.parametrize(("door", "auth"), VALID, ids=DOORS)
def test_sam_translator_transforms_every_door(monkeypatch, door, auth):
    transform = pytest.importorskip("samtranslator.translator.transform").transform
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            raise AssertionError("the template should name no managed policies")

    template = load_template()
    template["Resources"]["DiagnosisFunction"]["Properties"]["ImageUri"] = "123456789012.dkr.ecr.us-east-1.amazonaws.com/leaf:v1"
    params = {"FrontDoor": door, "ApiAuth": auth, **(JWT if auth == "JWT" else {})}
    cfn = transform(template, params, NoManagedPolicies())
    kinds = {r["Type"] for r in cfn["Resources"].values()}
    # SAM's REST API resources carry the door's condition: CloudFormation drops them for other doors.
    rest = [r for r in cfn["Resources"].values() if r["Type"].startswith("AWS::ApiGateway::")]
    assert rest and all(r.get("Condition") in ("UseRestApi", "UseApiKey") for r in rest)
    assert "AWS::ApiGatewayV2::Route" in kinds and "AWS::Lambda::Url" in kinds
