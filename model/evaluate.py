"""Measure a model directory on your own labelled photos, decoded exactly as the handler decodes uploads.

    python -m model.evaluate --model-dir model/potato --data ../shared/data/potato/Test \
        [--unknown photos-of-other-things/] [--non-photos]

--data holds one folder per label. A folder matches a label ignoring case and whether words are
joined by spaces or underscores (PlantVillage's `Potato___Early_blight` is `Potato_Early blight`).
--unknown holds photos of nothing the model knows (any layout); --non-photos adds generated solid
colours, noise, gradients and pages of text. Prints overall and per-class accuracy, the
"not recognised" gate (rates for the known classes, the no-leaf class, the unknown photos and the
non-photos), the confusion matrix with a "not recognised" column and the slowest photos; writes
confusion.png, scores.png (the gate's scores with its thresholds) and evaluation.json to --out.
Through the local S3 stack instead of directly: `python -m local.evaluate_s3` (same options).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.evaluation_charts import write_scores_png
from model.evaluation_report import figures, render, write_png
from model.imaging import MAX_IMAGE_PIXELS as MAX_PIXELS  # the handler's default MAX_IMAGE_PIXELS
from model.metadata import ModelDirError, ModelMetadata, label_key, read_metadata

DEFAULT_OUT = Path("build") / "evaluation"


@dataclass(frozen=True)
class Photo:
    path: Path
    truth: str | None  # one of the model's labels; None: a photo of something the model does not know
    group: str = "known"  # known, no-leaf, unknown or non-photo: which gate rate it counts in


@dataclass(frozen=True)
class Outcome:
    photo: Photo
    label: str | None  # None: the handler rejected the file
    confidence: float | None
    ms: float
    error: str | None = None
    recognized: bool | None = None  # None: this path does not report it
    reason: str | None = None
    distance: float | None = None  # the embedding rule's score, when the model has the rule


Runner = Callable[[Path, list[Photo], Callable[..., Iterable[Any]]], tuple[ModelMetadata, list[Outcome]]]


class EvaluationError(Exception):
    """The data folder or the model directory cannot be evaluated at all; the message says why."""


def scan(data: Path, labels: tuple[str, ...], no_leaf: tuple[str, ...] = ()) -> tuple[list[Photo], list[str]]:
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
        photos.extend(Photo(path, label, "no-leaf" if label in no_leaf else "known") for path in files)
    if not photos:
        raise EvaluationError(f"--data {data} has no photos in folders named after the model's labels "
                              f"({', '.join(labels)})" + "".join(f"\n  {note}" for note in notes))
    return photos, notes


def unknown_photos(folder: Path, group: str = "unknown") -> list[Photo]:
    """Every file under a folder of photos the model should not recognise, whatever the layout (or one file)."""
    if folder.is_file():
        return [Photo(folder, None, group)]
    if not folder.is_dir():
        raise EvaluationError(f"--unknown {folder} is neither a file nor a directory")
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    if not files:
        raise EvaluationError(f"--unknown {folder} holds no files")
    return [Photo(path, None, group) for path in files]


def write_non_photos(folder: Path) -> list[Photo]:
    """The generated non-photos (model/non_photos.py) as PNG files, so every path reads them as uploads."""
    from model.non_photos import non_photos

    folder.mkdir(parents=True, exist_ok=True)
    photos = []
    for name, image in non_photos():
        path = folder / f"{name}.png"
        image.save(path)
        photos.append(Photo(path, None, "non-photo"))
    return photos


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
        outcomes.append(Outcome(photo, prediction.label, prediction.confidence, ms, None, prediction.recognized,
                                prediction.reason, prediction.embedding_distance))
    return meta, outcomes


def evaluate(model_dir: Path, data: Path | list[Path], out: Path, runtime: str = "litert",
             runner: Runner | None = None, show_progress: bool = True, unknown: Path | list[Path] | None = None,
             non_photos: bool = False,
             mode: str = "direct") -> dict[str, Any]:
    """Run every photo, then write evaluation.json, confusion.png and scores.png to out; returns the figures.

    `runner` replaces the direct run (local.evaluate_s3 passes its S3 round trip); `mode` names it."""
    from tqdm import tqdm

    try:
        meta = read_metadata(model_dir)
    except ModelDirError as exc:
        raise EvaluationError(str(exc)) from exc
    no_leaf = tuple(meta.extra.get("recognition", {}).get("no_leaf_labels", ()))
    folders = [data] if isinstance(data, Path) else list(data)
    photos, notes = [], []
    for folder in folders:
        found, noted = scan(folder, meta.labels, no_leaf)
        photos += found
        notes += noted
    for other in [unknown] if isinstance(unknown, Path) else unknown or []:
        photos += unknown_photos(other)
    if non_photos:
        photos += write_non_photos(out / "non-photos")

    def progress(items: Iterable[Any], what: str = "photos") -> Iterable[Any]:
        return tqdm(items, desc=what, unit="photo", disable=not show_progress, file=sys.stderr)

    started = time.perf_counter()
    if runner is not None:
        meta, outcomes = runner(model_dir, photos, progress)
    else:
        meta, outcomes = run_direct(model_dir, runtime, photos, progress)
    result = figures(meta, outcomes, notes)
    result.update(mode=mode, runtime="litert" if runner else runtime, data=", ".join(map(str, folders)),
                  unknown=None if unknown is None else str(unknown),
                  wall_seconds=round(time.perf_counter() - started, 1))
    out.mkdir(parents=True, exist_ok=True)
    (out / "evaluation.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    try:
        write_png(result, out / "confusion.png")
        write_scores_png(result, outcomes, out / "scores.png")
    except ImportError:  # matplotlib is a build-time tool (requirements-dev.txt), not in the runtime set
        print("model.evaluate: confusion.png and scores.png not written: matplotlib is not installed "
              "(pip install -r requirements-dev.txt)", file=sys.stderr)
    return result


def arguments(prog: str, description: str) -> argparse.ArgumentParser:
    """The options model.evaluate and local.evaluate_s3 share."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--model-dir", type=Path, required=True, help="a built model directory (MODEL_DIR)")
    parser.add_argument("--data", type=Path, required=True, action="append",
                        help="one folder of photos per label (repeatable: several datasets' folders)")
    parser.add_argument("--unknown", type=Path, action="append",
                        help="(repeatable) a photo, or a folder of photos in any layout, of things the model does "
                             "not know: they should be 'not recognised'")
    parser.add_argument("--non-photos", action="store_true",
                        help="add generated solid colours, noise, gradients and text pages (written under --out)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"where the PNGs and the JSON go ({DEFAULT_OUT})")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = arguments("python -m model.evaluate", __doc__.splitlines()[0])
    parser.add_argument("--runtime", choices=("litert", "keras"), default="litert",
                        help="the LiteRT model (default) or its Keras copy")
    args = parser.parse_args(argv)
    try:
        result = evaluate(args.model_dir, args.data, args.out, args.runtime, unknown=args.unknown,
                          non_photos=args.non_photos)
    except EvaluationError as exc:
        print(f"model.evaluate: error: {exc}", file=sys.stderr)
        return 2
    print_report(result, args.out)
    return 0


def print_report(result: dict[str, Any], out: Path) -> None:
    """The report a person reads, then where its files went (also local.evaluate_s3's output)."""
    print(render(result))
    print(f"\nwrote {out / 'evaluation.json'}, {out / 'confusion.png'} and {out / 'scores.png'}")


if __name__ == "__main__":
    sys.exit(main())
