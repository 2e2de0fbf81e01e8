"""One Powertools resolver for every route; HTTP errors become JSON responses here, at the edge."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import (
    APIGatewayHttpResolver,
    APIGatewayRestResolver,
    LambdaFunctionUrlResolver,
    Response,
)
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from handler.api.diagnoses import DiagnosisApi
from handler.api.errors import ForbiddenError, shown
from handler.api.listing import Listing
from handler.api.longpoll import wait_for, wait_seconds
from handler.api.paths import STORED_PREFIX, STORED_ROUTE
from handler.api.presign import bucket_origin, presigned_upload, read_upload_request
from handler.api.schemas import Diagnosis, Error, Prediction
from handler.api.uploads import ImageUpload, ObjectRequest, read_diagnosis_request, read_upload, request_body
from handler.container import Container
from handler.errors import TransientError
from handler.observability import logger
from handler.sources.api import FrontDoor

# Messages from below (stores, botocore) may quote a whole key: they are cut to this.
ERROR_CHARS = 400
UNKNOWN_ROUTE = NotFoundError().msg  # what Powertools raises when no route matches
# One resolver class per front door; the routes below are registered on each alike.
RESOLVERS: dict[FrontDoor, type[ApiGatewayResolver]] = {
    FrontDoor.REST_API: APIGatewayRestResolver,
    FrontDoor.HTTP_API: APIGatewayHttpResolver,
    FrontDoor.FUNCTION_URL: LambdaFunctionUrlResolver,
}


def _responses(model: type, *codes: int) -> dict[int, Any]:
    """The success shape and the errors a route can answer with, for the OpenAPI document."""
    text = {
        400: "malformed body, bad base64 or a missing field",
        403: "foreign bucket, key outside the prefix, or not an S3 URL",
        404: "no such object or stored result",
        409: "the object changed while it was read",
        413: "image (or upload request) over the size limit",
        415: "not an image, or an unsupported Content-Type",
        503: "a dependency failed; retry",
    }
    ok = {200: {"description": "the diagnosis", "content": {"application/json": {"model": model}}}}
    return ok | {code: {"description": text[code], "content": {"application/json": {"model": Error}}} for code in codes}


def make_resolver(container: Container, door: FrontDoor = FrontDoor.REST_API) -> ApiGatewayResolver:
    """The API on this container's model and clients, for requests through this front door."""
    app = RESOLVERS[door](enable_validation=True)
    api = DiagnosisApi(container)

    def limit() -> int:
        return container.settings.max_image_bytes

    def content_type() -> str | None:
        return app.current_event.headers.get("content-type")  # case-insensitive in Powertools v3

    def body() -> bytes:
        event = app.current_event
        return request_body(event.body, bool(event.is_base64_encoded))

    @app.post(
        "/Diagnosis/prediction",
        summary="Diagnose a photo (the seed's call): multipart field `image`",
        responses=_responses(Prediction, 400, 413, 415),
        tags=["diagnosis"],
    )
    def seed_prediction() -> Prediction:
        return api.classify_upload(read_upload(content_type(), body(), limit()))  # type: ignore[return-value]

    @app.post(
        "/diagnoses",
        summary="Diagnose an uploaded image, or an object in the images bucket by key or S3 URL",
        description=(
            "Body: the image itself (image/jpeg, image/png, image/webp), multipart field `image`, "
            'or JSON {"key": ...} / {"url": ...}. Uploads are answered, not stored; objects named by '
            "key or URL are diagnosed and stored like an upload event would (an object this model "
            "already diagnosed is answered from the stored record)."
        ),
        responses=_responses(Diagnosis, 400, 403, 404, 409, 413, 415, 503),
        tags=["diagnosis"],
    )
    def diagnose() -> Diagnosis:
        request = read_diagnosis_request(content_type(), body(), limit())
        if isinstance(request, ImageUpload):
            return api.classify_upload(request)  # type: ignore[return-value]
        return api.diagnose_object(api.locate(request))  # type: ignore[return-value]

    def query() -> dict[str, str]:
        return app.current_event.query_string_parameters or {}

    def bucket() -> str:
        name = container.settings.images_bucket
        if not name:
            raise ForbiddenError("this deployment has no images bucket: IMAGES_BUCKET is not set")
        return name

    @app.get(
        STORED_ROUTE,
        summary="The stored diagnosis of an object in the images bucket; ?wait=N (at most 25) waits for it",
        responses=_responses(Diagnosis, 400, 403, 404, 503),
        tags=["results"],
    )
    def stored_diagnosis() -> Diagnosis:
        location = api.locate(ObjectRequest(key=stored_key(app, door)))
        context = app.lambda_context
        remaining = context.get_remaining_time_in_millis() if context is not None else None
        seconds = wait_seconds(query().get("wait"), remaining)
        return wait_for(lambda: api.stored_result(location), seconds)  # type: ignore[return-value]

    @app.get(
        "/diagnoses",
        summary="Stored diagnoses, newest first: ?prefix=, ?since= (ISO time), ?limit= (1-100), ?next= (a page's token)",
        description="Answers {items: [record + key + thumbnail_url (a presigned GET, 5 minutes)], next: token or null}.",
        responses={400: {"description": "a bad limit, since or next"}, 404: {"description": "no results table"}},
        tags=["results"],
    )
    def list_diagnoses():
        listing = Listing(container.table if container.settings.writes_table else None, container.dynamodb,
                          container.settings.table_name, container.presigner, container.settings.images_bucket)
        return _json(200, listing.page(query()))

    @app.post(
        "/uploads",
        summary='A presigned S3 POST for one photo: send {"filename", "content_type"}, get {"url", "fields", "key"}',
        description="Post the photo to `url` as multipart/form-data: every field of `fields`, then the file as `file`. "
                    "Its S3 event gets it diagnosed; read the result at GET /diagnoses/{key}?wait=20.",
        responses={400: {"description": "not the JSON asked for"}, 403: {"description": "no images bucket"},
                   413: {"description": "a body over 4 KB"}, 415: {"description": "not an image type"}},
        tags=["uploads"],
    )
    def create_upload():
        settings = container.settings
        post = presigned_upload(container.presigner, bucket(), settings.image_prefix, read_upload_request(body()),
                                max_bytes=settings.upload_limit)
        return _json(200, post)

    @app.get("/", include_in_schema=False)
    def results_page():
        from handler.web import page_body, page_headers

        name = container.settings.images_bucket
        headers = page_headers(bucket_origin(container.presigner, name) if name else None)
        return Response(200, headers.pop("Content-Type"), page_body(), headers=headers)

    @app.get("/openapi.json", include_in_schema=False)
    def openapi():
        from handler.api.docs import openapi_document  # Swagger UI's models cost ~150 ms: not at cold start

        return Response(200, "application/json", json.dumps(openapi_document(app, _base_path(app))))

    @app.get("/docs", include_in_schema=False)
    def docs():
        from handler.api.docs import docs_html, openapi_document

        document = openapi_document(app, _base_path(app))
        if (app.current_event.query_string_parameters or {}).get("format") == "json":
            return Response(200, "application/json", json.dumps(document))
        return Response(200, "text/html; charset=utf-8", docs_html(document))

    @app.not_found
    def not_found(exc: NotFoundError) -> Response:
        # Powertools sends both here: a route's own 404 (no object, no stored result: its message says which)
        # and a request no route matches, which arrives as a bare NotFoundError().
        if exc.msg != UNKNOWN_ROUTE:
            return _json_error(404, str(exc.msg))
        event, base = app.current_event, _base_path(app)
        home, docs = f"{base}/", f"{base}/docs"
        message = (f"no route {shown(event.http_method, 10)} {shown(event.path, 200)}; "
                   f"the results page is at {home} and every route is described at {docs}")
        return Response(404, "application/json", json.dumps({"statusCode": 404, "message": message,
                                                             "home": home, "docs": docs}))

    @app.exception_handler(RequestValidationError)
    def bad_request(exc: RequestValidationError) -> Response:
        return _json_error(400, f"invalid request: {exc.errors()}")

    @app.exception_handler(TransientError)
    def unavailable(exc: TransientError) -> Response:
        logger.warning("dependency failure answering the API", extra={"error": shown(exc, ERROR_CHARS)})
        return _json_error(503, f"a dependency failed; retry: {shown(exc, ERROR_CHARS)}")

    @app.exception_handler(UnicodeDecodeError)
    def bad_encoding(exc: UnicodeDecodeError) -> Response:
        return _json_error(400, f"the path is not valid UTF-8 percent-encoding: {exc.reason}")

    return app


def _json(status: int, payload: dict[str, Any]) -> Response:
    return Response(status, "application/json", json.dumps(payload))


def _json_error(status: int, message: str) -> Response:
    return Response(status, "application/json", json.dumps({"statusCode": status, "message": message}))


def stored_key(app: ApiGatewayResolver, door: FrontDoor) -> str:
    """The key in GET /diagnoses/{key+}, decoded exactly once."""
    event = app.current_event
    if door is FrontDoor.HTTP_API:
        # HTTP APIs hand over the path already decoded (rawPath too); pathParameters is the key as sent.
        return (event.get("pathParameters") or {}).get("key") or event.path[len(STORED_PREFIX):]
    # REST APIs and Function URLs keep `path` percent-encoded: decode it once.
    return unquote(event.path[len(STORED_PREFIX):], errors="strict")


def _base_path(app: ApiGatewayResolver) -> str:
    """'/v1' when the request came through the stage's own URL, '' for $default stages, Function URLs,
    sam local and custom domains."""
    raw = app.current_event.raw_event
    context = raw.get("requestContext") or {}
    stage = context.get("stage")
    full_path = raw.get("rawPath") if "rawPath" in raw else context.get("path")  # payload 2.0 / 1.0
    if stage and stage != "$default" and str(full_path or "").startswith(f"/{stage}/"):
        return f"/{stage}"
    return ""
