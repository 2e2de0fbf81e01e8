"""`python -m local.client upload DIR --wait --out ...` and `export`, against the stand-in API (tests/integration/local/standin_api.py)."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from local.client import main
from local.folder_client import photos_in
from tests.conftest import ROOT
from tests.integration.local.standin_api import stand_in_api

DEMO_PHOTOS = ROOT / "local" / "demo_photos"  # committed PlantVillage photos (ATTRIBUTION.md)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Three real photos (one in a subfolder, one named with spaces) and a file that is no photo."""
    photos = sorted(DEMO_PHOTOS.rglob("*.jpg")) + sorted(DEMO_PHOTOS.rglob("*.JPG"))
    (tmp_path / "sub").mkdir()
    shutil.copy(photos[0], tmp_path / "leaf one.jpg")
    shutil.copy(photos[1], tmp_path / "sub" / "leaf-two.JPG")
    shutil.copy(photos[2], tmp_path / "leaf-three.jpeg")
    (tmp_path / "notes.txt").write_text("not a photo")
    return tmp_path


def test_a_folder_is_uploaded_waited_for_and_written_as_csv(folder, tmp_path, capsys):
    out = tmp_path / "results.csv"
    with stand_in_api() as api:
        code = main(["upload", str(folder), "--wait", "--out", str(out), "--api", api.url])
    printed = capsys.readouterr()

    assert code == 0, printed.err
    sent = {key.split("/uploads/")[1].split("-", 1)[1]: data for key, data in api.stored.items()}
    assert sent == {p.name: p.read_bytes() for p in photos_in(folder)}  # every photo's bytes, through the form
    uploads = [json.loads(r.body) for r in api.requests if r.path == "/uploads"]
    assert sorted(u["content_type"] for u in uploads) == ["image/jpeg"] * 3
    assert all(looks == 2 for looks in api.looks.values())  # looked again after the first 404
    assert all("wait=20" in r.path for r in api.requests if r.path.startswith("/diagnoses/"))
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["file"] for r in rows] == ["leaf one.jpg", "leaf-three.jpeg", "sub/leaf-two.JPG"]
    assert {(r["status"], r["label"], r["confidence"]) for r in rows} == {("ok", "Potato___healthy", "0.97")}
    assert all(r["key"] in api.stored for r in rows)
    assert "leaf one.jpg" in printed.out and "Potato___healthy" in printed.out
    assert "uploading" in printed.err  # the progress bar


def test_a_refused_photo_is_reported_and_the_rest_still_go(folder, tmp_path, capsys):
    out = tmp_path / "results.json"
    with stand_in_api() as api:
        api.refuse.add("leaf-three.jpeg")
        code = main(["upload", str(folder), "--wait", "--out", str(out), "--api", api.url])
    records = json.loads(out.read_text(encoding="utf-8"))
    assert code == 1
    by_file = {r["file"]: r for r in records}
    assert by_file["leaf-three.jpeg"]["status"] == "failed" and "403" in by_file["leaf-three.jpeg"]["detail"]
    assert by_file["leaf one.jpg"]["status"] == "ok" and len(api.stored) == 2


def test_without_wait_only_the_keys_are_reported(folder, capsys):
    with stand_in_api() as api:
        code = main(["upload", str(folder), "--api", api.url])
    assert code == 0 and not api.looks
    assert capsys.readouterr().out.count("uploaded") == 3


def test_export_follows_next_until_the_last_page(tmp_path, capsys):
    out = tmp_path / "all.json"
    with stand_in_api() as api:
        api.results = [{"image": f"s3://stand-in/garden-images/{n}.jpg", "status": "ok", "label": "x", "top_k": [{"label": "x"}]}
                       for n in range(250)]
        code = main(["export", "--out", str(out), "--api", api.url, "--prefix", "garden-images/"])
    assert code == 0
    assert [r["image"] for r in json.loads(out.read_text())] == [r["image"] for r in api.results]
    pages = [r.path for r in api.requests]
    assert len(pages) == 3 and all("prefix=garden-images" in p for p in pages) and "next=200" in pages[-1]


def test_export_to_csv_keeps_nested_fields_as_json(tmp_path, capsys):
    out = tmp_path / "all.csv"
    with stand_in_api() as api:
        api.results = [{"image": "s3://b/k.jpg", "status": "ok", "top_k": [{"label": "x", "confidence": 1.0}]}]
        assert main(["export", "--out", str(out), "--api", api.url]) == 0
    (row,) = csv.DictReader(out.open(encoding="utf-8"))
    assert json.loads(row["top_k"]) == [{"label": "x", "confidence": 1.0}]


def test_a_missing_folder_is_an_error_not_a_traceback(tmp_path, capsys):
    assert main(["upload", str(tmp_path / "nowhere"), "--api", "http://127.0.0.1:9"]) == 1
    assert "is not a folder" in capsys.readouterr().err
