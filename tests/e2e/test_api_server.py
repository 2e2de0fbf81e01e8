"""The local API server: the seed's exact client call, the client module, and the gateway's own answers."""

from __future__ import annotations

import base64
import json

import pytest
import requests

from local import client
from local.api import serve
from model.synthetic import LABELS
from tests.e2e.conftest import BUCKET


@pytest.fixture(scope="module")
def api_url(app):
    with serve(app.lambda_handler) as url:
        yield url


def test_the_seeds_client_call_works_unchanged(api_url, leaf_jpeg):
    # lesson 2 of the seed, verbatim apart from the URL
    data = leaf_jpeg(LABELS.index("Synthleaf_rust"))
    response = requests.post(f"{api_url}/Diagnosis/prediction", files={"image": data})
    result = response.json()
    assert response.status_code == 200
    assert result["label"] == "Synthleaf_rust"
    assert isinstance(result["confidence"], float)


def test_the_real_photo_goes_through_the_seed_route(api_url, real_photo):
    response = requests.post(f"{api_url}/Diagnosis/prediction", files={"image": real_photo}, timeout=60)
    assert response.status_code == 200, response.text
    assert response.json()["label"] in LABELS


def test_binary_bodies_reach_the_handler_base64_encoded_as_api_gateway_sends_them(app, leaf_jpeg, monkeypatch):
    seen = []

    def spy(event, context):
        seen.append(event)
        return app.lambda_handler(event, context)

    data = leaf_jpeg(0)
    with serve(spy) as url:
        requests.post(f"{url}/diagnoses", data=data, headers={"Content-Type": "image/jpeg"}, timeout=30)
        requests.post(f"{url}/diagnoses", json={"key": "garden-images/x.jpg"}, timeout=30)
    assert seen[0]["isBase64Encoded"] is True and base64.b64decode(seen[0]["body"]) == data
    assert seen[1]["isBase64Encoded"] is False and json.loads(seen[1]["body"]) == {"key": "garden-images/x.jpg"}
    assert seen[0]["resource"] == "/diagnoses" and seen[0]["requestContext"]["stage"] == "v1"


def test_client_diagnoses_a_file_an_s3_url_and_reads_the_result(api_url, s3, tmp_path, leaf_jpeg):
    photo = tmp_path / "leaf.jpg"
    photo.write_bytes(leaf_jpeg(1))
    assert client.diagnose(photo, api_url)["label"] == LABELS[1]
    key = "garden-images/client/leaf one.jpg"
    s3.put_object(Bucket=BUCKET, Key=key, Body=leaf_jpeg(4), ContentType="image/jpeg")
    assert client.diagnose(f"https://{BUCKET}.s3.amazonaws.com/garden-images/client/leaf+one.jpg", api_url)["label"] == LABELS[4]
    assert client.stored_result(key, api_url)["label"] == LABELS[4]


def test_client_errors_say_what_went_wrong(api_url, tmp_path):
    with pytest.raises(client.ApiError, match="403"):
        client.diagnose("s3://someone-else/garden-images/a.jpg", api_url)
    with pytest.raises(client.ApiError, match="not a file"):
        client.diagnose(tmp_path / "missing.jpg", api_url)
    with pytest.raises(client.ApiError, match="cannot reach"):
        client.diagnose("s3://x/garden-images/a.jpg", "http://127.0.0.1:9")


def test_routes_outside_the_template_are_a_404_pointing_to_the_page_and_the_docs(api_url):
    response = requests.get(f"{api_url}/admin", timeout=10)
    assert response.status_code == 404, response.text
    answer = response.json()
    assert (answer["home"], answer["docs"]) == ("/", "/docs") and "/docs" in answer["message"]
    assert requests.delete(f"{api_url}/diagnoses", timeout=10).status_code == 404


def test_docs_and_openapi_are_served(api_url):
    doc = requests.get(f"{api_url}/openapi.json", timeout=10).json()
    assert doc["servers"] == [{"url": "/"}]  # sam-local-like: no stage prefix in the path
    page = requests.get(f"{api_url}/docs", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")


def test_the_signed_python_call_in_the_docs_works(api_url, leaf_jpeg, tmp_path, monkeypatch):
    """docs/api.md's SigV4 snippet, run as written against the local server (which accepts any signature)."""
    import re

    from tests.conftest import ROOT

    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    (snippet,) = [block for block in re.findall(r"```python\n(.*?)```", text, re.DOTALL) if "SigV4Auth" in block]
    photo = tmp_path / "leaf.jpg"
    photo.write_bytes(leaf_jpeg(LABELS.index("Synthleaf_rust")))
    monkeypatch.setenv("LEAF_API_URL", api_url + "/")
    monkeypatch.delenv("LEAF_API_KEY", raising=False)
    seen = []
    real_send = requests.Session.send
    monkeypatch.setattr(requests.Session, "send", lambda self, request, **kw: seen.append(request) or real_send(self, request, **kw))
    namespace: dict = {}
    exec(compile(snippet.replace("../shared/data/plantnet/sample_leaf.jpg", str(photo)), "docs/api.md", "exec"), namespace)  # noqa: S102 - the docs snippet, run as a reader would
    assert namespace["result"]["label"] == "Synthleaf_rust"
    (request,) = seen
    assert request.headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=")
    assert "/execute-api/aws4_request" in request.headers["Authorization"] and "X-Amz-Date" in request.headers
