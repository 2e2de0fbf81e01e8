"""Backfill: images already in the bucket get diagnosed once, resumably, or listed for Batch Operations."""

import csv
import io
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest

from handler.diagnose import Diagnoser
from handler.object_metadata import MODEL_META
from local.aws import create_resources
from local.context import LocalContext
from model.synthetic import LABELS, make_leaf
from ops import backfill
from tests.e2e.conftest import stored

BUCKET = "leaf-backfill-e2e"  # no notifications: only the backfill diagnoses what is in it


@pytest.fixture(scope="module")
def bucket(local_stack):
    create_resources(bucket=BUCKET, queue=None, create_table=False)
    return BUCKET


def small_leaves() -> list[bytes]:
    leaves = []
    for index in range(len(LABELS)):
        buffer = io.BytesIO()
        make_leaf(index, seed=800_000 + index, size=(96, 96)).save(buffer, format="JPEG", quality=85)
        leaves.append(buffer.getvalue())
    return leaves


def upload(keys: list[str]) -> dict[str, str]:
    """Put a small known leaf at each key; return key -> expected label."""
    s3, leaves = boto3.client("s3"), small_leaves()
    expected = {key: LABELS[i % len(LABELS)] for i, key in enumerate(keys)}
    with ThreadPoolExecutor(8) as pool:
        list(
            pool.map(
                lambda kv: s3.put_object(Bucket=BUCKET, Key=kv[0], Body=leaves[LABELS.index(kv[1])]),
                expected.items(),
            )
        )
    return expected


def run(*args: str) -> int:
    return backfill.main([*args, "--no-progress"])


@pytest.mark.slow
def test_500_objects_are_diagnosed_and_a_second_run_does_nothing(app, bucket, capsys):
    expected = upload([f"garden-images/bulk/{i:03d}.jpg" for i in range(500)])
    assert run(f"s3://{BUCKET}/garden-images/bulk/", "--workers", "4") == 0
    first = capsys.readouterr().err
    assert "0 already current" in first and "500 to do" in first and "done: 500 ok" in first
    records = {key: stored(app, BUCKET, key) for key in expected}
    assert {key: r["label"] for key, r in records.items()} == expected

    assert run(f"s3://{BUCKET}/garden-images/bulk/") == 0
    second = capsys.readouterr().err
    assert "500 already current" in second and "0 to do" in second and "nothing diagnosed" in second
    sample = "garden-images/bulk/123.jpg"
    assert stored(app, BUCKET, sample)["diagnosed_at"] == records[sample]["diagnosed_at"]


def test_an_interrupted_backfill_resumes_where_it_stopped(app, bucket, capsys, monkeypatch):
    keys = [f"garden-images/resume/{i:02d}.jpg" for i in range(30)]
    upload(keys)
    calls = {"n": 0}
    real = Diagnoser.diagnose

    def interrupted_after_12(self, ref):
        calls["n"] += 1
        if calls["n"] > 12:
            raise KeyboardInterrupt  # Ctrl-C as the pool's results are collected
        return real(self, ref)

    monkeypatch.setattr(Diagnoser, "diagnose", interrupted_after_12)
    assert run(f"s3://{BUCKET}/garden-images/resume/", "--workers", "1") == 130
    assert "run the same command again to resume" in capsys.readouterr().err
    done_first = {k: stored(app, BUCKET, k) for k in keys if stored(app, BUCKET, k)}
    assert 1 <= len(done_first) < 30
    monkeypatch.setattr(Diagnoser, "diagnose", real)

    assert run(f"s3://{BUCKET}/garden-images/resume/") == 0
    out = capsys.readouterr().err
    assert f"{len(done_first)} already current" in out and f"{30 - len(done_first)} to do" in out
    assert all(stored(app, BUCKET, k)["status"] == "ok" for k in keys)
    assert all(stored(app, BUCKET, k)["diagnosed_at"] == r["diagnosed_at"] for k, r in done_first.items())


def test_limit_does_a_slice_and_replaced_or_outdated_objects_are_done_again(app, bucket, capsys):
    keys = [f"garden-images/slices/{i}.jpg" for i in range(6)]
    upload(keys)
    assert run(f"s3://{BUCKET}/garden-images/slices/", "--limit", "4") == 0
    assert "done: 4 ok" in capsys.readouterr().err
    assert run(f"s3://{BUCKET}/garden-images/slices/") == 0
    out = capsys.readouterr().err
    assert "4 already current" in out and "2 to do" in out

    s3 = boto3.client("s3")
    s3.put_object(Bucket=BUCKET, Key=keys[0], Body=small_leaves()[2])  # new bytes, new ETag
    # keys[1] as a newly deployed model finds it: table and object metadata both name an older model.
    boto3.client("dynamodb").update_item(
        TableName=app.container.settings.table_name,
        Key={"image": {"S": f"s3://{BUCKET}/{keys[1]}"}},
        UpdateExpression="SET model_version = :old",
        ExpressionAttributeValues={":old": {"S": "an-older-model"}},
    )
    s3.copy_object(
        Bucket=BUCKET,
        Key=keys[1],
        CopySource={"Bucket": BUCKET, "Key": keys[1]},
        MetadataDirective="REPLACE",
        Metadata={MODEL_META: "an-older-model"},
    )
    assert run(f"s3://{BUCKET}/garden-images/slices/") == 0
    out = capsys.readouterr().err
    assert "4 already current" in out and "2 to do" in out
    assert stored(app, BUCKET, keys[0])["label"] == LABELS[2]
    assert stored(app, BUCKET, keys[1])["model_version"] == app.container.classifier.model_version


def test_manifest_lists_what_is_not_current_with_keys_url_encoded_for_batch_operations(app, bucket, tmp_path):
    keys = [
        "garden-images/manifest/my garden/leaf (1).jpg",
        "garden-images/manifest/a+b=c.jpg",
        "garden-images/manifest/érable.jpg",
    ]
    upload(keys)
    manifest = tmp_path / "todo.csv"
    assert run(f"s3://{BUCKET}/garden-images/manifest/", "--manifest", str(manifest)) == 0
    rows = list(csv.reader(manifest.open(encoding="utf-8")))
    assert sorted(rows) == sorted(
        [
            [BUCKET, "garden-images/manifest/my%20garden/leaf%20%281%29.jpg"],
            [BUCKET, "garden-images/manifest/a%2Bb%3Dc.jpg"],
            [BUCKET, "garden-images/manifest/%C3%A9rable.jpg"],
        ]
    )
    assert all(stored(app, BUCKET, key) is None for key in keys)  # a manifest run diagnoses nothing

    # What Batch Operations would send for each manifest line reaches the right object.
    for index, (bucket_name, key) in enumerate(rows):
        event = {
            "invocationSchemaVersion": "1.0",
            "invocationId": f"inv-{index}",
            "job": {"id": "job"},
            "tasks": [
                {
                    "taskId": f"t{index}",
                    "s3Key": key,
                    "s3VersionId": None,
                    "s3BucketArn": f"arn:aws:s3:::{bucket_name}",
                }
            ],
        }
        assert app.lambda_handler(event, LocalContext())["results"][0]["resultCode"] == "Succeeded"
    assert all(stored(app, BUCKET, key)["status"] == "ok" for key in keys)


def test_a_prefix_outside_image_prefix_does_nothing(bucket, capsys):
    assert run(f"s3://{BUCKET}/elsewhere/") == 0
    assert "outside IMAGE_PREFIX" in capsys.readouterr().err
