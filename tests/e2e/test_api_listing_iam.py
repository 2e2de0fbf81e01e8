"""GET /diagnoses and POST /uploads under the function role's policy (IAM-enforcing moto).

moto checks DynamoDB actions (against the resource "*", see conftest): without dynamodb:Query in
the template's role, the listing is refused (a 503 here). The presigned POST itself cannot be
posted to an IAM-enforcing moto (it answers 500 looking for an Authorization header); the upload
grant is checked in tests/deploy/test_iam_scope_uploads.py.
"""

from __future__ import annotations

import json
from base64 import b64decode

from tests.e2e.api_helpers import api_event, call, with_json, with_path
from tests.e2e.conftest import BUCKET, HANDLER_CALLS

KEY = "garden-images/listing/leaf-under-iam.jpg"


def test_the_listing_queries_the_index_with_the_roles_permissions(app, s3, leaf_jpeg):
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=leaf_jpeg(0), ContentType="image/jpeg")
    status, _ = call(app, with_json(api_event("api-diagnose-key.json"), {"key": KEY}))
    assert status == 200
    event = with_path(api_event("api-get-diagnosis.json"), "/diagnoses")
    event.update({"resource": "/diagnoses", "pathParameters": None,
                  "queryStringParameters": {"prefix": "garden-images/listing/"},
                  "multiValueQueryStringParameters": {"prefix": ["garden-images/listing/"]}})
    status, page = call(app, event)
    assert status == 200, page
    assert [item["key"] for item in page["items"]] == [KEY]
    assert HANDLER_CALLS.get("dynamodb:Query") == {"ok"}


def test_an_upload_form_is_signed_without_any_request(app):
    before = {name: set(codes) for name, codes in HANDLER_CALLS.items()}
    event = with_json(api_event("api-diagnose-key.json"), {"filename": "leaf.jpg", "content_type": "image/jpeg"})
    event.update({"path": "/uploads", "resource": "/uploads"})
    event["requestContext"].update({"path": "/uploads", "resourcePath": "/uploads"})
    status, post = call(app, event)
    assert status == 200 and post["key"].startswith("garden-images/uploads/"), post
    assert json.loads(b64decode(post["fields"]["policy"]))["conditions"]
    assert {name: set(codes) for name, codes in HANDLER_CALLS.items()} == before  # presigning is local
