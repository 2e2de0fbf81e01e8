"""Heavy things — the model and the AWS clients — made once per container, in one place."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

from handler.config import Settings
from handler.diagnose import Diagnoser
from handler.model_download import fetch_model_dir
from handler.objects import ObjectReader
from handler.pipeline import RecordPipeline
from handler.object_metadata import S3MetadataStore
from handler.stores import DynamoResultStore, ResultStore, StoreChain
from model.runtime import Classifier, load_classifier


def client_config() -> Any:
    """Standard retry mode with backoff for throttling/5xx; timeouts well inside a Lambda invocation."""
    from botocore.config import Config

    return Config(
        retries={"mode": "standard", "max_attempts": 4},
        connect_timeout=3,
        read_timeout=15,
        tcp_keepalive=True,
    )


class Container:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def model_dir(self) -> Path:
        s = self.settings
        if s.model_uri is None:
            return s.model_dir
        return fetch_model_dir(self.s3, s.model_uri, s.model_runtime, s.model_cache_dir)

    @cached_property
    def classifier(self) -> Classifier:
        s = self.settings
        return load_classifier(self.model_dir, s.model_runtime, top_k=s.top_k)

    @cached_property
    def s3(self) -> Any:
        import boto3

        return boto3.client("s3", config=client_config())

    @cached_property
    def dynamodb(self) -> Any:
        import boto3

        return boto3.client("dynamodb", config=client_config())

    @cached_property
    def table(self) -> DynamoResultStore | None:
        if not self.settings.table_name:
            return None
        return DynamoResultStore(self.dynamodb, self.settings.table_name)

    @cached_property
    def store(self) -> ResultStore:
        stores: list[ResultStore] = []
        if self.settings.writes_table and self.table is not None:
            stores.append(self.table)
        if self.settings.writes_metadata:
            stores.append(S3MetadataStore(self.s3))
        return StoreChain(stores)

    @cached_property
    def diagnoser(self) -> Diagnoser:
        reader = ObjectReader(self.s3, self.settings.max_image_bytes)
        return Diagnoser(self.settings, self.classifier, reader, self.store)

    @cached_property
    def pipeline(self) -> RecordPipeline:
        return RecordPipeline(self.diagnoser)

    @cached_property
    def api(self) -> Any:
        """The API Gateway resolver, built on the first API request: its imports (pydantic for
        validation and OpenAPI, ~100 ms) are not paid by containers that only see S3 events."""
        from handler.api.routes import make_resolver

        return make_resolver(self)
