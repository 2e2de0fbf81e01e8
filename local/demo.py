"""The main job on the embedded default: upload real leaf photos to a local S3 and watch them get diagnosed.

    python -m local.demo

Starts moto's server on 127.0.0.1, creates the bucket (S3→SQS notifications on the prefix), the
table and the queue, uploads real potato-leaf photos from ../shared/data/potato/Test (three per
class; keys with spaces and unicode), one photo of every other class the model knows and a scene
with no leaf from ../shared/data/leaves/Test, the 12 MP houseplant phone photo, a blue square and a
PDF named .jpg, feeds the events S3 emitted to the handler, and prints what was stored and whether
each label matches the photo's folder. Without ../shared it uses the attributed photos in
local/demo_photos/ (potato) and local/demo_leaves/ (the other classes and the scene).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local import quiet
from local.aws import (
    DEFAULT_BUCKET,
    DEFAULT_TABLE,
    create_resources,
    drain_events,
    moto_server,
    use_local_credentials,
)
from local.context import LocalContext
from local.table import render as render_table
from local.table import truncate

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
REAL_PHOTO = SHARED / "plantnet" / "sample_leaf.jpg"
TEST_PHOTOS = SHARED / "potato" / "Test"
LEAF_PHOTOS = SHARED / "leaves" / "Test"
NO_LEAF_FOLDER = "Background_without_leaves"
FIXTURE_PHOTOS = Path(__file__).resolve().parent / "demo_photos"
FIXTURE_LEAVES = Path(__file__).resolve().parent / "demo_leaves"
PER_CLASS = 3
PREFIX = "garden-images/"
# The last photo of each class is uploaded under a name in another script, as people name files.
UNICODE_NAMES = ("Dürrfleckenkrankheit – Blatt 3.jpg", "feuille nº 3 – mildiou.jpg", "ジャガイモの葉 3.jpg")


@dataclass(frozen=True)
class Upload:
    key: str
    body: bytes
    content_type: str
    folder: str | None = None  # the class folder the photo came from: what its label should be
    rejected: bool = False  # expected to be refused (not an image)


def photo_folder(shared_photos: Path = TEST_PHOTOS) -> Path:
    """../shared's Test/ split when it sits beside the clone, else the photos committed for the demo."""
    return shared_photos if shared_photos.is_dir() else FIXTURE_PHOTOS


def leaf_folder(shared_leaves: Path = LEAF_PHOTOS) -> Path:
    """../shared's other leaf classes when present, else one committed photo of each."""
    return shared_leaves if shared_leaves.is_dir() else FIXTURE_LEAVES


def demo_uploads(photos: Path, real_photo: Path | None, labels: tuple[str, ...] = (),
                 leaves: Path | None = None) -> list[Upload]:
    """The first PER_CLASS photos of each class folder, one of each further class the model knows (and a
    no-leaf scene) from `leaves` when given, the phone photo if present, a blue square (a picture of
    nothing: the model should say it does not know it) and a PDF named .jpg."""
    uploads = []
    folders = sorted(p for p in photos.iterdir() if p.is_dir())
    for n, folder in enumerate(folders):
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))[:PER_CLASS]
        for i, path in enumerate(files):
            # PlantVillage names are "<uuid>___RS_LB 4026.JPG": the part after the uuid is enough for a key.
            name = UNICODE_NAMES[n % len(UNICODE_NAMES)] if i == len(files) - 1 else path.name.rsplit("___", 1)[-1]
            uploads.append(Upload(f"{PREFIX}potato/{folder.name}/{name}", path.read_bytes(), "image/jpeg", folder.name))
    if labels and leaves and leaves.is_dir():
        uploads.extend(_leaf_uploads(leaves, labels))
    uploads.append(Upload(f"{PREFIX}other/blue square.png", blue_square(), "image/png"))
    if real_photo and real_photo.is_file():
        uploads.append(Upload(f"{PREFIX}phone/sample_leaf.jpg", real_photo.read_bytes(), "image/jpeg"))
    uploads.append(Upload(f"{PREFIX}phone/not-a-photo.jpg", b"%PDF-1.4 this is not an image", "image/jpeg",
                          rejected=True))
    return uploads


def blue_square() -> bytes:
    """A 256×256 PNG of one colour: not a photo of anything."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (256, 256), (30, 60, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


def _leaf_uploads(leaves: Path, labels: tuple[str, ...]) -> list[Upload]:
    uploads, scenes = [], []
    for folder in sorted(p for p in leaves.iterdir() if p.is_dir()):
        first = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))[:1]
        if not first:
            continue
        if folder.name == NO_LEAF_FOLDER:  # a scene with no leaf: the model should say so, not diagnose it
            scenes.append(Upload(f"{PREFIX}scene/no-leaf scene.jpg", first[0].read_bytes(), "image/jpeg"))
        elif expected_label(folder.name, labels):
            name = first[0].name.rsplit("___", 1)[-1]
            uploads.append(Upload(f"{PREFIX}leaves/{folder.name}/{name}", first[0].read_bytes(), "image/jpeg",
                                  folder.name))
    return uploads + scenes


def configure(verbose: bool) -> None:
    os.environ.setdefault("TABLE_NAME", DEFAULT_TABLE)
    os.environ.setdefault("IMAGES_BUCKET", DEFAULT_BUCKET)
    os.environ.setdefault("RESULT_SINK", "both")
    quiet.configure(verbose)


def run(photos: Path, real_photo: Path | None, verbose: bool = False, leaves: Path | None = None) -> int:
    import boto3

    configure(verbose)
    with moto_server() as endpoint:
        use_local_credentials(endpoint)
        stack = create_resources(bucket=os.environ["IMAGES_BUCKET"], table=os.environ["TABLE_NAME"])
        os.environ["RESULT_MAC_KEY"] = stack.mac_key or ""  # signs results in object metadata, as ResultMacKey does
        print(f"local S3/DynamoDB/SQS (moto server) at {endpoint}")
        print(f"bucket {stack.bucket}, table {stack.table}, notifications on {PREFIX} -> SQS")

        started = time.perf_counter()
        with quiet.native_stderr(verbose):
            from handler.app import function, lambda_handler

            container = function().container  # init: settings and model load

            meta = container.classifier.meta
        init_s = time.perf_counter() - started
        print(f"handler init (imports + model {meta.name} {meta.model_version}, "
              f"{container.settings.model_runtime}): {init_s:.2f} s")

        s3 = boto3.client("s3")
        uploads = demo_uploads(photos, real_photo, meta.labels, leaves)
        for upload in uploads:
            s3.put_object(Bucket=stack.bucket, Key=upload.key, Body=upload.body, ContentType=upload.content_type)
        print(f"uploaded {len(uploads)} objects; delivering the events S3 emitted to the handler ...")

        counts: dict[str, int] = {}
        invocations = 0
        for event in drain_events(stack.queue_url or ""):
            invocations += 1
            with quiet.handler_output(verbose):
                result = lambda_handler(event, LocalContext())
            for item in result.get("results", []):
                counts[item["status"]] = counts.get(item["status"], 0) + 1
            if verbose:
                print(json.dumps(result))
        print(f"{invocations} events handled: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
        print("(skipped = the ObjectCreated:Copy events fired by our own metadata write-back; none re-diagnosed)\n")
        return report(stack.bucket, uploads, container.table, meta.labels, meta)


def expected_label(folder: str, labels: tuple[str, ...]) -> str | None:
    """The model label a class folder names (PlantVillage's `Potato___Early_blight` is `Potato_Early blight`)."""
    from model.evaluate import label_key

    return {label_key(label): label for label in labels}.get(label_key(folder))


def check(upload: Upload, item: dict[str, Any], labels: tuple[str, ...]) -> tuple[str, bool]:
    """The check column, and whether the row is as it should be."""
    status = item.get("status", "MISSING")
    if upload.rejected:
        return ("rejected, rightly", True) if status == "rejected" else (f"NOT REJECTED ({status})", False)
    if upload.folder is None:
        return (NOT_RECOGNISED if item.get("recognized") is False else NO_FOLDER), status == "ok"
    expected = expected_label(upload.folder, labels)
    if status == "ok" and item.get("recognized") is False:
        return f"{NOT_RECOGNISED} (folder: {expected or upload.folder})", True  # the model abstained: no wrong answer
    if status == "ok" and item.get("label") == expected:
        return "matches folder", True
    return f"MISMATCH (folder: {expected or upload.folder})", False


def shown_label(item: dict[str, Any]) -> str:
    """The label column: the verdict when the model does not know the photo, else the readable label."""
    if item.get("status") == "ok" and item.get("recognized") is False:
        return f"{NOT_RECOGNISED}: {item.get('reason') or '-'}"
    return item.get("display_label") or item.get("label") or item.get("error", "-")


def report(bucket: str, uploads: list[Upload], table: Any, labels: tuple[str, ...], model: Any = None) -> int:
    import boto3

    s3 = boto3.client("s3")
    rows = []
    folders: list[str] = []
    bad = matched = labelled = 0
    unrecognised: list[str] = []
    for upload in uploads:
        item = table.get(f"s3://{bucket}/{upload.key}") or {}
        meta = s3.head_object(Bucket=bucket, Key=upload.key).get("Metadata", {})
        verdict, good = check(upload, item, labels)
        bad += not good
        if item.get("recognized") is False:
            unrecognised.append(upload.key.rpartition("/")[2])
        if upload.folder:
            labelled += 1
            matched += verdict == "matches folder"
        confidence = item.get("confidence", "")
        folder, _, name = upload.key.removeprefix(PREFIX).rpartition("/")
        folders.append(folder)
        rows.append((INDENT + name, item.get("status", "MISSING"),
                     shown_label(item),
                     f"{float(confidence):.3f}" if confidence != "" else "", _milliseconds(item.get("latency_ms")),
                     _same_or(meta.get("diagnosis-label", "-"), item.get("label")), verdict))
    header, *lines = render_table(_HEADER, rows, max_width=TABLE_WIDTH, keep_end=(0,))
    print(header)
    for n, line in enumerate(lines):
        if n == 0 or folders[n] != folders[n - 1]:  # the folder once, its photos below it
            print(truncate(f"{PREFIX}{folders[n]}/", TABLE_WIDTH, keep_end=True))
        print(line)
    missing = sum(1 for r in rows if r[1] == "MISSING")
    for row in rows:  # the reason in full for refused and unrecognised photos: the table may have cut it
        if row[1] == "rejected" or row[2].startswith(f"{NOT_RECOGNISED}:"):
            print(f"{row[0].strip()}: {row[2]}")
    if any(r[-1] == NO_FOLDER for r in rows):
        print(f"({NO_FOLDER}: a photo from no class folder; the model's answer is its closest class)")
    summary = f"{matched} of {labelled} labelled photos match their folder"
    if unrecognised:
        summary += f"; {len(unrecognised)} not recognised: {', '.join(unrecognised)}"
    print(f"\n{len(rows)} stored results, {missing} missing")
    print(truncate(summary, TABLE_WIDTH, keep_end=False))
    print(f"{knows(model, labels)}\nit is not a plant pathologist: see model/MODEL_CARD.md")
    return 1 if bad else 0


def knows(model: Any, labels: tuple[str, ...]) -> str:
    """What the served model knows, from its own metadata (never a fixed crop name)."""
    extra = getattr(model, "extra", {}) or {}
    no_leaf = set(extra.get("no_leaf_labels", ()))
    names = extra.get("display_names", {})
    crops = sorted({(names.get(label) or label).replace("___", "_").split(" — ")[0].split("_")[0]
                    for label in labels if label not in no_leaf})
    name = getattr(model, "name", None) or "the model"
    return f"{name} knows {len(labels) - len(no_leaf)} classes of {', '.join(crops)} leaves"


def _milliseconds(latency: Any) -> str:
    """The ms column, always six wide: a slow photo (100 ms and more) must not narrow the label column."""
    return "" if latency in (None, "") else f"{float(latency):6.1f}"


def _same_or(written: str, label: str | None) -> str:
    """The S3 metadata column: "same" when the object's metadata names the table's label."""
    return "same" if label and written == label else written


_HEADER = ("photo", "status", "label / error", "conf.", "ms", "S3 metadata", "check")
TABLE_WIDTH = 120  # a terminal's width, with room to spare: long keys and errors lose their middle or end
NO_FOLDER = "no folder label"
NOT_RECOGNISED = "not recognised"
INDENT = "  "  # a photo's row, under its folder's line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, default=photo_folder(),
                        help="one folder of photos per class (default: ../shared's Test/, else local/demo_photos)")
    parser.add_argument("--leaves", type=Path, default=leaf_folder(),
                        help="one folder per further class, one photo of each is uploaded "
                             "(default: ../shared/data/leaves/Test, else local/demo_leaves)")
    parser.add_argument("--photo", type=Path, default=REAL_PHOTO, help="an unlabelled phone photo to upload too")
    parser.add_argument("--verbose", action="store_true", help="show the handler's JSON logs and metrics")
    args = parser.parse_args(argv)
    return run(args.photos, args.photo, args.verbose, args.leaves)


if __name__ == "__main__":
    sys.exit(main())
