"""Measure a model directory on your own labelled photos, decoded exactly as the handler decodes uploads.

    python -m model.evaluate --model-dir model/potato --data ../shared/data/potato/Test [--through-s3]

--data holds one folder per label. A folder matches a label ignoring case and whether words are
joined by spaces or underscores (PlantVillage's `Potato___Early_blight` is `Potato_Early blight`).
Prints overall and per-class accuracy, the confusion matrix and the slowest photos; writes
confusion.png and evaluation.json (every figure) to --out.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.evaluation_report import figures, render, write_png
from model.imaging import MAX_IMAGE_PIXELS as MAX_PIXELS  # the handler's default MAX_IMAGE_PIXELS
from model.metadata import ModelDirError, ModelMetadata, read_metadata

DEFAULT_OUT = Path("build") / "evaluation"


@dataclass(frozen=True)
class Photo:
    path: Path
    truth: str  # one of the model's labels


@dataclass(frozen=True)
class Outcome:
    photo: Photo
    label: str | None  # None: the handler rejected the file
    confidence: float | None
    ms: float
    error: str | None = None


class EvaluationError(Exception):
    """The data folder or the model directory cannot be evaluated at all; the message says why."""


def label_key(name: str) -> str:
    """`Potato___Early_blight` and `Potato_Early blight` both become `potato early blight`."""
    return re.sub(r"[\s_]+", " ", name).strip().casefold()


def scan(data: Path, labels: tuple[str, ...]) -> tuple[list[Photo], list[str]]:
    """The photos in folders named after labels, and a message for everything left out."""
    if not data.is_dir():
        raise EvaluationError(f"--data {data} is not a directory")
    by_key = {label_key(label): label for label in labels}
    photos: list[Photo] = []
    notes: list[str] = []
    for entry in sorted(data.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_file():
            notes.append(f"{entry.name}: not in a label folder, not counted")
            continue
        files = sorted(p for p in entry.rglob("*") if p.is_file() and not p.name.startswith("."))
        label = by_key.get(label_key(entry.name))
        if label is None:
            notes.append(f"folder {entry.name!r} is not one of the model's labels ({', '.join(labels)}): "
                         f"its {len(files)} files are not counted")
            continue
        photos.extend(Photo(path, label) for path in files)
    if not photos:
        raise EvaluationError(f"--data {data} has no photos in folders named after the model's labels "
                              f"({', '.join(labels)})" + "".join(f"\n  {note}" for note in notes))
    return photos, notes


def run_direct(
    model_dir: Path, runtime: str, photos: list[Photo], progress: Callable[[Iterable[Photo]], Iterable[Photo]]
) -> tuple[ModelMetadata, list[Outcome]]:
    """Each photo through the handler's decode (handler/imaging.py) and the handler's classifier."""
    from model.errors import ImageRejected
    from model.imaging import decode_image
    from model.runtime import load_classifier

    classifier = load_classifier(model_dir, runtime)
    meta = classifier.meta
    outcomes = []
    for photo in progress(photos):
        started = time.perf_counter()
        try:
            data = photo.path.read_bytes()
            image = decode_image(data, max_pixels=MAX_PIXELS, target=(meta.width, meta.height))
            prediction = classifier.classify(image)
        except ImageRejected as exc:
            outcomes.append(Outcome(photo, None, None, (time.perf_counter() - started) * 1000, str(exc)))
            continue
        ms = (time.perf_counter() - started) * 1000
        outcomes.append(Outcome(photo, prediction.label, prediction.confidence, ms))
    return meta, outcomes


def evaluate(model_dir: Path, data: Path, out: Path, runtime: str = "litert", through_s3: bool = False,
             show_progress: bool = True) -> dict[str, Any]:
    """Run every photo, then write evaluation.json and confusion.png to out; returns the figures."""
    from tqdm import tqdm

    try:
        meta = read_metadata(model_dir)
    except ModelDirError as exc:
        raise EvaluationError(str(exc)) from exc
    photos, notes = scan(data, meta.labels)

    def progress(items: Iterable[Any], what: str = "photos") -> Iterable[Any]:
        return tqdm(items, desc=what, unit="photo", disable=not show_progress, file=sys.stderr)

    started = time.perf_counter()
    if through_s3:
        from local.evaluate_s3 import run_through_s3  # boto3 and moto: only for this mode

        meta, outcomes = run_through_s3(model_dir, photos, progress)
    else:
        meta, outcomes = run_direct(model_dir, runtime, photos, progress)
    result = figures(meta, outcomes, notes)
    result.update(mode="through-s3" if through_s3 else "direct", runtime="litert" if through_s3 else runtime,
                  data=str(data), wall_seconds=round(time.perf_counter() - started, 1))
    out.mkdir(parents=True, exist_ok=True)
    (out / "evaluation.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    try:
        write_png(result, out / "confusion.png")
    except ImportError:  # matplotlib is a build-time tool (requirements-dev.txt), not in the runtime set
        print("model.evaluate: confusion.png not written: matplotlib is not installed "
              "(pip install -r requirements-dev.txt)", file=sys.stderr)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, required=True, help="a built model directory (MODEL_DIR)")
    parser.add_argument("--data", type=Path, required=True, help="one folder of photos per label")
    parser.add_argument("--through-s3", action="store_true",
                        help="upload to the embedded local S3; the handler diagnoses them from the S3 events")
    parser.add_argument("--runtime", choices=("litert", "keras"), default="litert",
                        help="direct mode: the LiteRT model (default) or its Keras copy")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"where the PNG and JSON go ({DEFAULT_OUT})")
    args = parser.parse_args(argv)
    try:
        result = evaluate(args.model_dir, args.data, args.out, args.runtime, args.through_s3)
    except EvaluationError as exc:
        print(f"model.evaluate: error: {exc}", file=sys.stderr)
        return 2
    print(render(result))
    print(f"\nwrote {args.out / 'evaluation.json'} and {args.out / 'confusion.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
