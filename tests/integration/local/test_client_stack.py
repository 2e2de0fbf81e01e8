"""`python -m local.client upload DIR --wait --out` and `export` against the real local stack (`make api`'s).

The folder client's own tests talk to a stand-in; this one runs it against the function's routes over
moto's server: presigned POSTs, S3 events, ?wait long-polls, then GET /diagnoses paged by `next`.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from local import folder_client
from tests.conftest import ROOT
from tests.local_stack import running_api_stack

DEMO = ROOT / "local" / "demo_photos"


@pytest.fixture
def stack() -> Iterator[Any]:
    with running_api_stack("leaf-diagnoses-client", "leaf-images-client", "dynamodb") as running:
        yield running


def test_upload_a_folder_then_export_every_result_through_the_real_routes(stack, tmp_path, monkeypatch):
    folder = tmp_path / "photos"
    folder.mkdir()
    for photo in sorted(DEMO.rglob("*.[Jj][Pp][Gg]")):
        shutil.copy(photo, folder / f"{photo.parent.name}-{photo.name}")
    uploaded = tmp_path / "uploaded.csv"
    assert folder_client.main(["upload", str(folder), "--wait", "--out", str(uploaded), "--api", stack.url]) == 0
    with uploaded.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 6 and {row["status"] for row in rows} == {"ok"}
    # The real model reads each photo's condition (the folder it came from; labels compared letters only).
    assert all(_letters(row["label"]) == _letters(row["file"].split("-", 1)[0]) for row in rows), rows

    monkeypatch.setattr(folder_client, "stored_results", _small_pages(folder_client.stored_results))
    exported = tmp_path / "all.json"
    assert folder_client.main(["export", "--out", str(exported), "--api", stack.url]) == 0
    records = json.loads(exported.read_text(encoding="utf-8"))
    assert sorted(r["key"] for r in records) == sorted(row["key"] for row in rows)
    times = [r["diagnosed_at"] for r in records]
    assert times == sorted(times, reverse=True)  # newest first, across pages
    assert all(r["thumbnail_url"].startswith(stack.endpoint) for r in records)


def _letters(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalpha())


def _small_pages(original):
    """export with pages of 4 (it asks for 100), so the 6 results need a `next` token."""
    def pages(api, session, **kwargs):
        return original(api, session, **{**kwargs, "page_size": 4})
    return pages
