"""A presigned POST used as a phone would: a real photo posted over HTTP to moto's server, then the normal S3 event.

moto does not enforce POST policies (tests/handler/test_presign.py reads the policy itself); this
pins what moto does do: the form lands the bytes under the server's key, S3 emits its
ObjectCreated:Post event, and the handler diagnoses the object from that event.

This test runs its own moto server without IAM checks: moto's IAM enforcement cannot authenticate a
form POST (it looks for an Authorization header and answers 500), so the session's IAM-checking
stack cannot take one. That the role may s3:PutObject under the prefix is the template's to grant.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import unquote_plus

import boto3
import pytest
import requests

from handler.api.presign import UploadRequest, presign_config, presigned_upload
from local.aws import LocalStack, create_resources, drain_events, moto_server
from local.context import LocalContext
from tests.conftest import REAL_PHOTO, ROOT

BUCKET = "leaf-images-presigned"
TABLE = "leaf-diagnoses-presigned"
# The 12 MP phone photo when ../shared is beside the clone, else a committed PlantVillage photo.
PHOTO = REAL_PHOTO if REAL_PHOTO.is_file() else ROOT / "local" / "demo_photos" / "Potato___healthy" / "Potato_healthy-26-_0_4635.jpg"


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalStack]:
    with moto_server() as endpoint:
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)  # after the e2e conftest's autouse setting: this one wins
        yield create_resources(bucket=BUCKET, table=TABLE, queue="presigned-events")


@pytest.fixture
def handler_app(stack: LocalStack):
    """A handler on this stack's bucket and table (handler.app builds its one container from the environment)."""
    from handler.config import Settings
    from handler.container import Container
    from handler.invocation import make_handler

    return make_handler(Container(Settings(table_name=TABLE, result_sink="both", images_bucket=BUCKET,
                                           model_dir=Settings.from_env().model_dir)))


def test_a_photo_posted_through_the_presigned_form_lands_under_its_key_and_is_diagnosed(stack, handler_app):
    photo = PHOTO.read_bytes()
    s3 = boto3.session.Session().client("s3", config=presign_config())  # not the default session: other tests' keys
    list(drain_events(stack.queue_url or "", wait_seconds=0))  # the s3:TestEvent of the new configuration
    post = presigned_upload(s3, BUCKET, "garden-images/", UploadRequest("Mein Blatt (1).jpg", "image/jpeg"),
                            max_bytes=20 * 1024 * 1024)
    assert post["url"].startswith(stack.endpoint)

    # What a browser's FormData sends: the policy's fields, then the file, last.
    answer = requests.post(post["url"], data=post["fields"], files={"file": ("Mein Blatt (1).jpg", photo, "image/jpeg")},
                           timeout=30)

    assert answer.status_code == 204, answer.text[:300]
    head = s3.head_object(Bucket=BUCKET, Key=post["key"])
    assert head["ContentLength"] == len(photo) and head["ContentType"] == "image/jpeg"
    assert post["key"].startswith("garden-images/uploads/") and post["key"].endswith("-Mein-Blatt-1.jpg")
    (event,) = drain_events(stack.queue_url or "", wait_seconds=1)
    (record,) = event["Records"]
    assert record["eventName"] == "ObjectCreated:Post"
    assert unquote_plus(record["s3"]["object"]["key"]) == post["key"]  # S3 events carry the key URL-encoded
    assert record["s3"]["object"]["size"] == len(photo)

    reply = handler_app.lambda_handler(event, LocalContext())

    assert [r["status"] for r in reply["results"]] == ["ok"], reply
    stored = handler_app.container.table.get(f"s3://{BUCKET}/{post['key']}")
    assert stored is not None and stored["status"] == "ok" and stored["label"]
