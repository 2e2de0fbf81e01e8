from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from handler.config import Settings
from handler.container import Container
from local.template import table_definition
from tests.conftest import SYNTHETIC_MODEL_DIR

BUCKET = "leaf-images-test"
TABLE = "leaf-diagnoses-test"


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    """In-process moto with the bucket and a table built from template.yaml's schema (key and indexes)."""
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        dynamodb = boto3.client("dynamodb")
        dynamodb.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST", **table_definition())
        yield {"s3": s3, "dynamodb": dynamodb}


@pytest.fixture
def container(aws: dict[str, Any]) -> Container:
    """The real container (the synthetic-leaf fixture model, LiteRT) writing to both sinks."""
    return Container(Settings(table_name=TABLE, result_sink="both", images_bucket=BUCKET, model_dir=SYNTHETIC_MODEL_DIR))
