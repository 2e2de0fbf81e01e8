"""The commands README.md and docs/ give, run as a newcomer would: as processes, on the embedded default."""

import json
import os
import re
import subprocess
import sys

import pytest

from tests.conftest import EVENTS, POTATO_DATA, ROOT


def run(*args: str, timeout: int = 240) -> subprocess.CompletedProcess:
    # A newcomer's shell: no AWS settings, and MODEL_DIR unset, so the bundled default model serves.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k not in ("TABLE_NAME", "RESULT_SINK", "MODEL_DIR")}
    return subprocess.run([sys.executable, *args], check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def readme_demo_block() -> str:
    """The demo output README.md shows: the code block after "make demo" that holds the table."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = readme.split("```")[1::2]
    return next(block for block in blocks if "labelled photos match their folder" in block)


def without_timings(row: str) -> list[str]:
    """A row's columns, without the ms column (one decimal) that varies from run to run."""
    return [col for col in re.split(r"\s{2,}", row.strip()) if not re.fullmatch(r"\d+\.\d", col)]


def demo_rows(out: str) -> dict[str, str]:
    """The demo's table, key -> the rest of the row: a folder's line ("garden-images/.../"), then its
    photos' rows, each indented, the name first."""
    rows = {}
    folder = ""
    for line in out.splitlines():
        if line.startswith("garden-images/") and line.endswith("/"):
            folder = line
        elif folder and line.startswith("  "):
            name, _, rest = line.strip().partition("  ")
            rows[folder + name] = rest.strip()
        elif not line.strip():
            folder = ""
    return rows


def test_demo_diagnoses_real_test_photos_of_every_class_and_checks_each_against_its_folder(real_photo):
    if not POTATO_DATA.is_dir():
        pytest.skip(f"{POTATO_DATA} not present (../shared sits beside the clone in CI)")
    result = run("-m", "local.demo")
    assert result.returncode == 0, result.stdout + result.stderr
    rows = demo_rows(result.stdout)
    labelled = {key: row for key, row in rows.items() if key.startswith("garden-images/potato/")}
    assert len(labelled) == 9
    # Every further class the model knows, one photo each; the no-leaf scene and the phone photo not recognised.
    assert sum(key.startswith("garden-images/leaves/") for key in rows) == 8
    assert ("17 of 17 labelled photos match their folder; 3 not recognised: no-leaf scene.jpg, blue square.png, "
            "sample_leaf.jpg" in result.stdout)
    scene = rows["garden-images/scene/no-leaf scene.jpg"]
    assert scene.startswith("ok") and "not recognised: no leaf" in scene and scene.endswith("not recognised")
    for key, row in labelled.items():
        expected = {"Potato___Early_blight": "Potato — Early blight", "Potato___Late_blight": "Potato — Late blight",
                    "Potato___healthy": "Potato — Healthy"}[key.split("/")[2]]
        assert row.split()[0] == "ok" and f"  {expected}  " in row and row.endswith("matches folder"), (key, row)
    assert {"ジャガイモの葉 3.jpg", "feuille nº 3 – mildiou.jpg", "Dürrfleckenkrankheit – Blatt 3.jpg"} <= {
        key.rsplit("/", 1)[1] for key in labelled}
    assert any(" " in key.rsplit("/", 1)[1] and key.isascii() for key in labelled)  # PlantVillage's own names
    assert rows["garden-images/phone/sample_leaf.jpg"].split()[0] == "ok"
    assert rows["garden-images/phone/sample_leaf.jpg"].endswith("not recognised")  # the houseplant
    assert rows["garden-images/other/blue square.png"].endswith("not recognised")  # a picture of nothing
    assert "leaves-plantvillage knows 11 classes of Apple, Blueberry, Orange, Potato, Strawberry leaves" in result.stdout
    assert "single potato leaves" not in result.stdout and "answers potato" not in result.stdout
    pdf = rows["garden-images/phone/not-a-photo.jpg"]
    assert pdf.startswith("rejected") and pdf.endswith("rejected, rightly")
    assert "not-a-photo.jpg: PDF files are not accepted" in result.stdout  # the reason in full, under the table
    assert "MISSING" not in result.stdout and '"_aws"' not in result.stdout  # metrics stay out of the table
    assert_quiet(result)
    # The README shows this run's output: same rows, same summaries, only the timings differ.
    shown = readme_demo_block()
    assert {k: without_timings(r) for k, r in demo_rows(shown).items()} == {
        k: without_timings(r) for k, r in rows.items()}
    summaries = [line for line in result.stdout.splitlines() if re.match(r"^\d+ (events handled|stored results)", line)]
    assert len(summaries) == 2 and all(line in shown for line in summaries), summaries


def test_demo_without_shared_runs_on_the_committed_attributed_photos():
    fixtures = ROOT / "local"
    result = run("-m", "local.demo", "--photos", str(fixtures / "demo_photos"), "--leaves", str(fixtures / "demo_leaves"),
                 "--photo", "")
    assert result.returncode == 0, result.stdout + result.stderr
    rows = demo_rows(result.stdout)
    # two potato photos of each class and one photo of each of the other eight classes, all diagnosed right
    assert sum(row.endswith("matches folder") for row in rows.values()) == 14
    assert "14 of 14 labelled photos match their folder" in result.stdout
    assert "not recognised: no leaf" in rows["garden-images/scene/no-leaf scene.jpg"]
    assert rows["garden-images/other/blue square.png"].endswith("not recognised")
    assert_quiet(result)
    assert "garden-images/phone/sample_leaf.jpg" not in rows
    for folder, licence in (("demo_photos", "CC BY-SA 3.0"), ("demo_leaves", "CC BY 4.0")):
        attribution = (fixtures / folder / "ATTRIBUTION.md").read_text(encoding="utf-8")
        photos = [p for p in (fixtures / folder).rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png")]
        assert photos and all(f"{photo.parent.name}/{photo.name}" in attribution for photo in photos)
        assert licence in attribution and "PlantVillage" in attribution


def assert_quiet(result: subprocess.CompletedProcess) -> None:
    """What a person sees: lines that fit 120 columns, and none of LiteRT's, TensorFlow's or EMF's lines."""
    from local.table import display_width

    assert max(display_width(line) for line in result.stdout.splitlines()) <= 120
    noise = [line for line in (result.stdout + result.stderr).splitlines()
             if re.search(r"XNNPACK|TensorFlow Lite|^INFO:|^W0000|absl|CUDA|\"_aws\"", line)]
    assert noise == []


def test_a_label_that_differs_from_the_folder_is_flagged():
    from local.demo import Upload, check

    labels = ("Potato_Early blight", "Potato_Late blight", "Potato_healthy")
    photo = Upload("garden-images/potato/Potato___Late_blight/x.jpg", b"", "image/jpeg", "Potato___Late_blight")
    assert check(photo, {"status": "ok", "label": "Potato_Late blight"}, labels) == ("matches folder", True)
    assert check(photo, {"status": "ok", "label": "Potato_healthy"}, labels) == (
        "MISMATCH (folder: Potato_Late blight)", False)
    assert check(photo, {}, labels)[1] is False  # no stored result
    pdf = Upload("garden-images/phone/not-a-photo.jpg", b"%PDF", "image/jpeg", rejected=True)
    assert check(pdf, {"status": "ok", "label": "Potato_healthy"}, labels) == ("NOT REJECTED (ok)", False)


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ("s3-put.json", '"status": "ok"'),
        ("s3-put-special-keys.json", "feuille à pois.jpg"),
        ("s3-put-outside-prefix.json", "outside IMAGE_PREFIX"),
        ("s3-copy-writeback.json", '"status": "ok"'),
        ("s3-test-event.json", "acknowledged"),
        ("sqs-s3-put.json", '"batchItemFailures": []'),
        ("eventbridge-s3-object-created.json", '"status": "ok"'),
        ("batch-ops-v1.json", '"resultCode": "Succeeded"'),
        ("batch-ops-v2.json", '"resultCode": "Succeeded"'),
    ],
)
def test_invoke_runs_each_event_file_like_sam_local_invoke(event, expected):
    result = run("-m", "local.invoke", str(EVENTS / event))
    assert result.returncode == 0, result.stdout + result.stderr
    assert expected in result.stdout
    assert_quiet(result)


def test_invoke_exits_non_zero_when_the_handler_raises(tmp_path):
    event = tmp_path / "unknown.json"
    event.write_text('{"hello": "world"}', encoding="utf-8")
    result = run("-m", "local.invoke", str(event))
    assert result.returncode == 1 and '"errorType": "UnknownEvent"' in result.stdout, result.stdout + result.stderr


def test_invoke_exits_non_zero_when_the_reply_reports_a_failed_task(tmp_path):
    event = json.loads((EVENTS / "batch-ops-v2.json").read_text(encoding="utf-8"))
    del event["tasks"][0]["s3Key"]  # an unreadable manifest line: a PermanentFailure in the job report
    path = tmp_path / "batch-ops-unreadable.json"
    path.write_text(json.dumps(event), encoding="utf-8")
    result = run("-m", "local.invoke", str(path))
    assert result.returncode == 1, result.stdout + result.stderr
    assert '"resultCode": "PermanentFailure"' in result.stdout and "not Succeeded" in result.stderr
