"""python -m model.evaluate on a small labelled folder with a corrupt photo and a folder that is no label."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from model.evaluate import EvaluationError, evaluate, label_key, main, scan
from tests.conftest import POTATO_MODEL_DIR, ROOT

DEMO_PHOTOS = ROOT / "local" / "demo_photos"  # two attributed PlantVillage photos per class, committed
LABELS = ("Potato_Early blight", "Potato_Late blight", "Potato_healthy")


@pytest.fixture
def data(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    shutil.copytree(DEMO_PHOTOS, root, ignore=shutil.ignore_patterns("*.md"))
    healthy = next(root.glob("Potato___healthy/*.jpg"))
    (root / "Potato___healthy" / "broken.jpg").write_bytes(healthy.read_bytes()[:400])  # cut off mid-header
    (root / "Tomato___healthy").mkdir()
    shutil.copy(healthy, root / "Tomato___healthy" / "tomato.jpg")
    (root / "notes.txt").write_text("photos from the greenhouse, March")
    return root


def test_folder_names_match_labels_however_words_are_joined():
    assert label_key("Potato___Early_blight") == label_key("Potato_Early blight") == "potato early blight"
    assert label_key("potato healthy") == label_key("Potato_healthy")
    assert label_key("Tomato___healthy") != label_key("Potato_healthy")


def test_corrupt_photo_and_unknown_folder_are_reported_and_the_rest_is_counted(data, tmp_path, capsys):
    code = main(["--model-dir", str(POTATO_MODEL_DIR), "--data", str(data), "--out", str(tmp_path / "out")])
    printed = capsys.readouterr().out
    assert code == 0, printed
    result = json.loads((tmp_path / "out" / "evaluation.json").read_text(encoding="utf-8"))
    assert (result["photos"], result["diagnosed"], result["correct"], result["accuracy"]) == (7, 6, 6, 1.0)
    assert result["per_class"] == {label: {"photos": 2, "correct": 2, "accuracy": 1.0} for label in LABELS}
    assert result["confusion"]["counts"] == [[2, 0, 0], [0, 2, 0], [0, 0, 2]]
    assert len(result["slowest"]) == 5 and result["ms_per_photo"]["max"] == result["slowest"][0]["ms"]
    (rejected,) = result["rejected"]
    assert rejected["path"].endswith("broken.jpg") and "corrupt" in rejected["reason"]
    assert any("'Tomato___healthy' is not one of the model's labels" in note and "1 files are not counted" in note
               for note in result["not_counted"])
    assert any(note.startswith("notes.txt: not in a label folder") for note in result["not_counted"])
    assert (tmp_path / "out" / "confusion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # What a person reads: the accuracy table, the matrix, the slowest photos and what was left out.
    assert "accuracy 100.00% (6/6)" in printed
    assert re.search(r"^Potato_Late blight +2 +2 +100\.00%$", printed, re.MULTILINE)
    assert "confusion matrix (rows: folder, columns: predicted)" in printed and "slowest:" in printed
    assert "rejected, not counted:" in printed and "broken.jpg" in printed
    assert "note: folder 'Tomato___healthy' is not one of the model's labels" in printed


def test_a_wrong_answer_is_counted_wrong_and_listed(data, tmp_path):
    shutil.rmtree(data / "Potato___healthy")
    late = data / "Potato___Late_blight"
    shutil.copy(next((data / "Potato___Early_blight").glob("*")), late / "early leaf filed as late.jpg")
    result = evaluate(POTATO_MODEL_DIR, data, tmp_path / "out", show_progress=False)
    assert (result["diagnosed"], result["correct"]) == (5, 4)
    assert result["per_class"]["Potato_Late blight"] == {"photos": 3, "correct": 2, "accuracy": 0.6667}
    assert result["confusion"]["counts"][1] == [1, 2, 0]
    (wrong,) = result["wrong"]
    assert wrong["path"].endswith("early leaf filed as late.jpg") and wrong["label"] == "Potato_Early blight"


def test_through_s3_gives_the_same_answers_from_the_stored_results(data, tmp_path):
    from local.evaluate_s3 import (
        run_through_s3,  # the floor above: local imports model.evaluate, never the reverse
    )

    direct = evaluate(POTATO_MODEL_DIR, data, tmp_path / "direct", show_progress=False)
    piped = evaluate(POTATO_MODEL_DIR, data, tmp_path / "s3", runner=run_through_s3, show_progress=False,
                     mode="through-s3")
    assert piped["mode"] == "through-s3"
    for name in ("photos", "diagnosed", "correct", "accuracy", "per_class", "confusion"):
        assert piped[name] == direct[name], name
    assert [r["path"] for r in piped["rejected"]] == [r["path"] for r in direct["rejected"]]
    assert "corrupt" in piped["rejected"][0]["reason"]


def test_a_folder_with_no_label_folders_is_an_error_that_lists_what_it_found(tmp_path):
    (tmp_path / "Tomato___healthy").mkdir()
    (tmp_path / "Tomato___healthy" / "a.jpg").write_bytes(b"")
    with pytest.raises(EvaluationError, match=r"no photos in folders named after the model's labels .*\n.*Tomato"):
        scan(tmp_path, LABELS)
