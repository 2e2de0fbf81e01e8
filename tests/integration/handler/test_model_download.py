"""MODEL_URI: a built model directory in S3 is fetched once into /tmp, verified, reused, or refused loudly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from handler.config import Settings
from handler.container import Container
from handler.errors import ConfigError, ModelUnavailable
from handler.model_download import ModelUri, fetch_model_dir
from model.imaging import decode_image
from model.metadata import read_metadata
from model.synthetic import LABELS
from tests.handler.conftest import BUCKET, TABLE

DEMO = Path(__file__).resolve().parents[3] / "model" / "demo"
URI = f"s3://{BUCKET}/models/demo/"


@pytest.fixture
def uploaded(aws):
    """The bundled demo model directory, uploaded under models/demo/."""
    for path in DEMO.iterdir():
        aws["s3"].upload_file(str(path), BUCKET, f"models/demo/{path.name}")
    return aws["s3"]


def container(cache: Path, runtime: str = "litert", uri: str = URI) -> Container:
    settings = Settings(table_name=TABLE, model_uri=ModelUri.parse(uri), model_cache_dir=cache, model_runtime=runtime)
    return Container(settings)


def test_model_from_s3_diagnoses_like_the_bundled_one(uploaded, tmp_path, leaf_jpeg):
    c = container(tmp_path / "cache")
    image = decode_image(leaf_jpeg(2), max_pixels=10**7, target=(96, 96))
    assert c.classifier.classify(image).label == LABELS[2]
    assert c.classifier.model_version == read_metadata(DEMO).model_version
    assert c.model_dir == tmp_path / "cache" / c.classifier.model_version
    # litert needs no Keras copy, so none is downloaded
    assert sorted(p.name for p in c.model_dir.iterdir()) == ["metadata.json", "model.tflite"]


def test_keras_runtime_also_fetches_the_keras_copy(uploaded, tmp_path, leaf_jpeg):
    c = container(tmp_path / "cache", runtime="keras")
    image = decode_image(leaf_jpeg(4), max_pixels=10**7, target=(96, 96))
    assert c.classifier.classify(image).label == LABELS[4]
    assert (c.model_dir / "model.keras").is_file()


def test_a_new_container_reuses_the_verified_copy_without_downloading_it_again(uploaded, tmp_path):
    first = container(tmp_path / "cache").model_dir
    uploaded.delete_object(Bucket=BUCKET, Key="models/demo/model.tflite")  # only metadata.json is left to fetch
    again = container(tmp_path / "cache")
    assert again.model_dir == first
    assert again.classifier.model_version == read_metadata(DEMO).model_version


def test_a_tampered_local_copy_is_fetched_again(uploaded, tmp_path):
    first = container(tmp_path / "cache").model_dir
    (first / "model.tflite").write_bytes(b"not the model")
    again = container(tmp_path / "cache")
    assert again.model_dir == first and again.classifier.model_version == read_metadata(DEMO).model_version


def test_model_tflite_that_does_not_match_its_metadata_fails_init(uploaded, tmp_path):
    uploaded.put_object(Bucket=BUCKET, Key="models/demo/model.tflite", Body=b"truncated upload")
    with pytest.raises(ModelUnavailable, match=r"model\.tflite has sha256 [0-9a-f]{64}, but .*metadata\.json says"):
        _ = container(tmp_path / "cache").classifier
    assert [p.name for p in (tmp_path / "cache").iterdir()] == []  # nothing half-verified left behind


def test_missing_model_fails_init_with_the_uri(aws, tmp_path):
    with pytest.raises(ModelUnavailable, match=rf"cannot fetch s3://{BUCKET}/models/none/metadata\.json: not found"):
        _ = container(tmp_path / "cache", uri=f"s3://{BUCKET}/models/none").classifier


def test_metadata_that_is_not_json_fails_init(uploaded, tmp_path):
    uploaded.put_object(Bucket=BUCKET, Key="models/demo/metadata.json", Body=b"<html>")
    with pytest.raises(ModelUnavailable, match=r"metadata\.json is not valid model metadata"):
        _ = container(tmp_path / "cache").classifier


def test_keras_file_name_cannot_escape_the_model_directory(uploaded, tmp_path):
    meta = json.loads((DEMO / "metadata.json").read_text(encoding="utf-8"))
    uploaded.put_object(Bucket=BUCKET, Key="models/demo/metadata.json", Body=json.dumps({**meta, "keras_file": "../x"}))
    with pytest.raises(ModelUnavailable, match=r"no usable keras_file"):
        fetch_model_dir(uploaded, ModelUri.parse(URI), "keras", tmp_path / "cache")


@pytest.mark.parametrize(
    ("raw", "bucket", "prefix"),
    [
        ("s3://b-1/models/demo/", "b-1", "models/demo/"),
        ("s3://b-1/models/demo", "b-1", "models/demo/"),
        ("s3://b-1", "b-1", ""),
    ],
)
def test_model_uri_is_parsed_from_the_environment(raw, bucket, prefix):
    settings = Settings.from_env({"RESULT_SINK": "s3-metadata", "RESULT_MAC_KEY": "mac-key", "MODEL_URI": raw})
    assert settings.model_uri == ModelUri(bucket, prefix)


@pytest.mark.parametrize("raw", ["https://b-1/models/", "s3:///models/", "models/demo", "s3://Bad_Bucket/x/"])
def test_a_bad_model_uri_names_the_variable(raw):
    with pytest.raises(ConfigError, match="MODEL_URI must look like s3://bucket/prefix/"):
        Settings.from_env({"RESULT_SINK": "s3-metadata", "RESULT_MAC_KEY": "mac-key", "MODEL_URI": raw})
