"""Heavy things — the model and the AWS clients — made once per container, in one place.

Anything not injected is made on first use: tests, tools and the bench pass the clients and the
classifier they already have to build_container, and never reach inside.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

from handler.completion import CompletionEvents
from handler.config import Settings
from handler.diagnose import Diagnoser
from handler.model_download import fetch_model_dir
from handler.object_metadata import S3MetadataStore
from handler.objects import ObjectReader
from handler.pipeline import RECORD_WORKERS, RecordPipeline
from handler.result_mac import ResultMac
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
    """The settings (held here only), the clients, the classifier and what is built on them."""

    def __init__(self, settings: Settings, *, s3: Any = None, dynamodb: Any = None, kms: Any = None,
                 classifier: Classifier | None = None, record_workers: int = RECORD_WORKERS, events: Any = None) -> None:
        self.settings = settings
        self._clients: dict[str, Any] = {"s3": s3, "dynamodb": dynamodb, "kms": kms, "events": events}
        self._classifier = classifier
        self._record_workers = record_workers

    @property
    def s3(self) -> Any:
        return self._client("s3")

    def _client(self, service: str) -> Any:
        """The client injected for this service, else one made on first use (only what the sink needs)."""
        if self._clients[service] is None:
            import boto3

            self._clients[service] = boto3.client(service, config=client_config())
        return self._clients[service]

    @cached_property
    def presigner(self) -> Any:
        """An S3 client that signs presigned POSTs and GETs with SigV4 (locally; it sends no requests)."""
        import boto3

        from handler.api.presign import presign_config

        region = getattr(getattr(self.s3, "meta", None), "region_name", None)
        return boto3.client("s3", region_name=region, config=presign_config())

    @property
    def dynamodb(self) -> Any:
        return self._client("dynamodb")

    @property
    def kms(self) -> Any:
        return self._client("kms")

    @cached_property
    def result_mac(self) -> ResultMac | None:
        """Signs and verifies results in object metadata; None without RESULT_MAC_KEY (nothing is then trusted there)."""
        key = self.settings.result_mac_key
        return ResultMac(self.kms, key) if key else None

    @property
    def events(self) -> Any:
        return self._client("events")

    @cached_property
    def completion_events(self) -> CompletionEvents | None:
        """None when EVENT_BUS_NAME is empty: then no EventBridge client is ever made."""
        if not self.settings.event_bus_name:
            return None
        return CompletionEvents(self.events, self.settings.event_bus_name)

    @property
    def classifier(self) -> Classifier:
        if self._classifier is None:
            s = self.settings
            self._classifier = load_classifier(self.model_dir, s.model_runtime, top_k=s.top_k)
        return self._classifier

    @cached_property
    def model_dir(self) -> Path:
        s = self.settings
        if s.model_uri is None:
            return s.model_dir
        return fetch_model_dir(self.s3, s.model_uri, s.model_runtime, s.model_cache_dir)

    @cached_property
    def table(self) -> DynamoResultStore | None:
        if not self.settings.table_name:
            return None
        return DynamoResultStore(self.dynamodb, self.settings.table_name)

    @cached_property
    def store(self) -> StoreChain:
        stores: list[ResultStore] = []
        if self.settings.writes_table and self.table is not None:
            stores.append(self.table)
        if self.settings.writes_metadata:
            stores.append(S3MetadataStore(self.s3, self.result_mac, keep_acl=self.settings.keep_object_acl))
        return StoreChain(stores)

    @cached_property
    def reader(self) -> ObjectReader:
        return ObjectReader(self.s3, self.settings.max_image_bytes)

    @cached_property
    def diagnoser(self) -> Diagnoser:
        return Diagnoser(self.settings, self.classifier, self.reader, self.store)

    @cached_property
    def pipeline(self) -> RecordPipeline:
        return RecordPipeline(self.diagnoser, workers=self._record_workers)


def build_container(settings: Settings, *, s3: Any = None, dynamodb: Any = None, kms: Any = None,
                    classifier: Classifier | None = None, record_workers: int = RECORD_WORKERS,
                    events: Any = None) -> Container:
    """A container on these settings; the clients and classifier given are used, the others made on first use."""
    return Container(settings, s3=s3, dynamodb=dynamodb, kms=kms, classifier=classifier,
                     record_workers=record_workers, events=events)
