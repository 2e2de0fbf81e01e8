"""python -m ops.export: the table's records for one bucket, newest first, by a Query on the listing index."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from handler.listing import listing_attributes
from local.template import table_definition
from ops import export

TABLE = "leaf-diagnoses-export"


@pytest.fixture
def dynamodb():
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST", **table_definition())
        yield client


def put(client, bucket: str, key: str, at: str) -> None:
    image = f"s3://{bucket}/{key}"
    item = {"image": image, "status": "ok", "label": "Potato___healthy", "diagnosed_at": at, "event_order": "-",
            **listing_attributes(image, at)}
    client.put_item(TableName=TABLE, Item={k: {"S": v} for k, v in item.items()})


def test_exports_one_buckets_records_newest_first_without_a_scan(dynamodb, tmp_path, monkeypatch):
    put(dynamodb, "mine", "garden-images/a.jpg", "2026-12-01T10:00:00.000Z")
    put(dynamodb, "mine", "garden-images/beds/b.jpg", "2026-12-02T10:00:00.000Z")
    put(dynamodb, "mine", "garden-images/beds/c.jpg", "2026-12-03T10:00:00.000Z")
    put(dynamodb, "theirs", "garden-images/d.jpg", "2026-12-04T10:00:00.000Z")
    monkeypatch.setattr(dynamodb, "scan", lambda **kw: pytest.fail("the export scanned the table"))
    records = list(export.stored(dynamodb, TABLE, "mine"))
    assert [r["image"] for r in records] == [f"s3://mine/garden-images/{k}" for k in ("beds/c.jpg", "beds/b.jpg", "a.jpg")]
    assert all("listing" not in r and "event_order" not in r for r in records)
    beds = list(export.stored(dynamodb, TABLE, "mine", prefix="garden-images/beds/", since="2026-12-03T00:00:00.000Z"))
    assert [r["image"] for r in beds] == ["s3://mine/garden-images/beds/c.jpg"]


def test_the_command_writes_csv_and_json(dynamodb, tmp_path, monkeypatch):
    put(dynamodb, "mine", "garden-images/a.jpg", "2026-12-01T10:00:00.000Z")
    monkeypatch.setattr(boto3, "client", lambda *a, **kw: dynamodb)
    out = tmp_path / "x.json"
    assert export.main(["--table", TABLE, "--bucket", "mine", "--out", str(out), "--since", "2026-11-30"]) == 0
    assert [r["image"] for r in json.loads(out.read_text())] == ["s3://mine/garden-images/a.jpg"]
    csv_out = tmp_path / "x.csv"
    assert export.main(["--table", TABLE, "--bucket", "mine", "--out", str(csv_out)]) == 0
    assert csv_out.read_text().splitlines()[0].startswith("image,")
    with pytest.raises(SystemExit):
        export.main(["--table", TABLE, "--bucket", "mine", "--out", str(out), "--since", "last week"])
