"""Issue 20.7: the model cache stays inside its folder, whatever keys the model bucket holds.

MODEL_URI with MODEL_RUNTIME=keras copies a SavedModel folder key by key. A key with a leading
slash after the folder's prefix (`saved_model//tmp/x`) was joined as an absolute path and written
to /tmp/x. Here the absolute path is inside the test's own tmp_path, so a failure writes nothing
outside it. The cache directory is fixed (/tmp/models) in the settings the environment gives, so
this test calls the fetch the container makes (handler.model_download.fetch_model_dir, with its S3
client injected, as tests/integration/handler/test_model_download.py does) rather than importing handler.app.
"""

import json
import uuid
from pathlib import Path

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "model" / "demo"


@pytest.fixture
def model_bucket(moto_endpoint):
    """The demo model under models/demo/, its metadata naming a SavedModel folder `saved_model`."""
    s3 = boto3.client("s3")
    bucket = f"leaf-models-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    meta = {**json.loads((DEMO / "metadata.json").read_text(encoding="utf-8")), "keras_file": "saved_model"}
    s3.put_object(Bucket=bucket, Key="models/demo/metadata.json", Body=json.dumps(meta).encode())
    s3.upload_file(str(DEMO / "model.tflite"), bucket, "models/demo/model.tflite")
    s3.put_object(Bucket=bucket, Key="models/demo/saved_model/saved_model.pb", Body=b"graph")
    return s3, bucket


# Not "//{outside}": moto's server collapses the slashes of the GET's path, so that key is "not
# found" there and such a test could not fail (S3 serves it).
# Before the fix an empty segment inside ("variables//...") was normalised away by PurePosixPath:
# the key fetched was then another, missing one, and the whole model failed to load.
@pytest.mark.parametrize("name", ["/{outside}", "variables//{outside}"], ids=["leading-slash", "empty-segment"])
def test_a_model_key_naming_an_absolute_path_is_not_written_there(model_bucket, tmp_path, name):
    from handler.model_download import ModelUri, fetch_model_dir

    s3, bucket = model_bucket
    outside = tmp_path / "outside" / "escaped"
    s3.put_object(Bucket=bucket, Key="models/demo/saved_model/" + name.format(outside=outside), Body=b"not yours")
    cache = tmp_path / "cache"
    try:
        model_dir = fetch_model_dir(s3, ModelUri.parse(f"s3://{bucket}/models/demo/"), "keras", cache)
    except Exception:  # noqa: BLE001 - refusing the whole model is also a way to stay inside the folder
        model_dir = None
    assert not outside.exists(), f"a model-bucket key wrote {outside}, outside the cache {cache}"
    if model_dir is not None:  # only plain relative paths are copied: the folder holds the one plain file
        copied = sorted(str(p.relative_to(model_dir)) for p in (model_dir / "saved_model").rglob("*") if p.is_file())
        assert copied == ["saved_model/saved_model.pb"], copied
