"""Train the bundled leaf model from scratch and build its model directory: `python -m model.train`.

    python -m model.train --shared ../shared --out model/leaves [--epochs 14] [--publish DIR]

Photos: ../shared/data/potato/{Train,Test} and ../shared/data/leaves/{Train,Test}. Labels, display
names and the "no leaf" class come from model/recipes/leaves/.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

RECIPE = Path(__file__).parent / "recipes" / "leaves"
NO_LEAF_LABELS = ("Background_without_leaves",)
DATASETS = ("potato", "leaves")
# Share of correctly classified Test/ photos each "not recognised" threshold may reject. Tuned on Test/
# only (docs/models.md): 0.015 rejected 4.2 % of known-class photos held out (5-fold, the build's
# report), over the 3 % target; 0.008 rejects 2.1 % held out and still 64 % of a crop the model never
# saw (Blueberry, with a model trained without it), 0.005 only 56 %.
FALSE_REJECT = 0.008


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = argparse.ArgumentParser(prog="python -m model.train", description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared"))
    parser.add_argument("--out", type=Path, default=Path("model/leaves"))
    parser.add_argument("--work", type=Path, default=Path("build/leaves-train"))
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--size", type=int)
    parser.add_argument("--without", action="append", default=[],
                        help="leave out every label starting with this crop (e.g. Blueberry)")
    parser.add_argument("--publish", type=Path, help="also copy model.keras and labels.txt here")
    parser.add_argument("--no-bundle", action="store_true", help="train (and --publish) only; no model directory")
    parser.add_argument("--bundle-only", action="store_true", help="build --out from the last run in --work")
    parser.add_argument("--build-only", action="store_true",
                        help="rebuild --out from its own committed model.keras (no training): conversion and gate")
    args = parser.parse_args(argv)
    if args.bundle_only:
        training = json.loads((args.work / "training.json").read_text(encoding="utf-8"))
        bundle(args.work / "model.keras", args.work / "labels.txt", args.shared, args.out, training, args.work,
               args.without)
        return 0
    if args.build_only:
        return rebuild(args.out, args.shared, args.work, args.without)

    from model.training.data import load_photos, read_labels
    from model.training.fit import Recipe, train

    recipe = Recipe()
    if args.size:
        recipe = replace(recipe, arch=replace(recipe.arch, size=args.size))
    if args.epochs:
        recipe = replace(recipe, epochs=args.epochs)
    labels = tuple(label for label in read_labels(RECIPE / "labels.txt")
                   if not any(label.startswith(crop) for crop in args.without))
    data = args.shared / "data"
    started = time.perf_counter()
    train_photos = load_photos([data / d / "Train" for d in DATASETS], labels, recipe.arch.size,
                               skip_unknown=bool(args.without))
    test_photos = load_photos([data / d / "Test" for d in DATASETS], labels, recipe.arch.size,
                              skip_unknown=bool(args.without))
    load_seconds = time.perf_counter() - started
    print(f"decoded {len(train_photos.labels)} training and {len(test_photos.labels)} Test/ photos "
          f"at {recipe.arch.size}x{recipe.arch.size} in {load_seconds:.0f} s; load average {os.getloadavg()[0]:.1f}",
          flush=True)
    trained = train(train_photos, test_photos, len(labels), recipe)
    print(f"trained {recipe.epochs} epochs in {trained.seconds:.0f} s; kept epoch {trained.best_epoch}; "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)

    args.work.mkdir(parents=True, exist_ok=True)
    keras_path = args.work / "model.keras"
    save_weights_only_model(trained.model, keras_path)
    (args.work / "labels.txt").write_text("\n".join(labels) + "\n", encoding="utf-8")
    predicted = trained.model.predict(test_photos.pixels.astype(np.float32), batch_size=64, verbose=0).argmax(1)
    keras_figures = per_class(predicted, test_photos.labels, labels)
    print(f"Keras on Test/: {json.dumps(keras_figures)}", flush=True)
    training = {
        "recipe": asdict(recipe), "epochs_run": recipe.epochs, "kept_epoch": trained.best_epoch,
        "train_seconds": round(trained.seconds, 1), "decode_seconds": round(load_seconds, 1),
        "train_photos": len(train_photos.labels), "test_photos": len(test_photos.labels),
        "keras_test_accuracy": keras_figures, "history": trained.history,
        "load_average_after": round(os.getloadavg()[0], 2),
    }
    (args.work / "training.json").write_text(json.dumps(training, indent=1), encoding="utf-8")
    if args.publish:
        publish(args.work, args.publish, keras_figures)
    if not args.no_bundle:
        bundle(keras_path, args.work / "labels.txt", args.shared, args.out, training, args.work, args.without)
    return 0


def rebuild(out: Path, shared: Path, work: Path, without: list[str]) -> int:
    """Rebuild a model directory from its committed model.keras: same weights, fresh conversion and gate."""
    from model.metadata import read_metadata

    meta = read_metadata(out)
    work.mkdir(parents=True, exist_ok=True)
    keras_path = work / "rebuild.keras"
    labels_path = work / "rebuild-labels.txt"
    shutil.copy(out / (meta.keras_file or "model.keras"), keras_path)  # bundle() replaces out
    labels_path.write_text("\n".join(meta.labels) + "\n", encoding="utf-8")
    bundle(keras_path, labels_path, shared, out, meta.extra.get("training", {}), work, without)
    return 0


def save_weights_only_model(model, path: Path) -> None:
    """Save without the optimizer's state: the served copy needs the weights, not AdamW's moments."""
    import keras

    clean = keras.models.clone_model(model)
    clean.set_weights(model.get_weights())
    clean.save(path)


def per_class(predicted: np.ndarray, truth: np.ndarray, labels: tuple[str, ...]) -> dict[str, float]:
    figures = {"overall": round(float(np.mean(predicted == truth)), 4)}
    figures.update({label: round(float(np.mean(predicted[truth == i] == i)), 4) for i, label in enumerate(labels)})
    return figures


def publish(work: Path, to: Path, figures: dict[str, float]) -> None:
    """A copy for another branch to calibrate against: model.keras, labels.txt and a README line."""
    to.mkdir(parents=True, exist_ok=True)
    shutil.copy(work / "model.keras", to / "model.keras")
    shutil.copy(work / "labels.txt", to / "labels.txt")
    (to / "README.md").write_text(
        f"Keras 3 leaf classifier from model/train.py; raw 0-255 RGB input; penultimate layer `embedding`.\n"
        f"Test/ top-1 (Keras): {json.dumps(figures)}\n", encoding="utf-8")
    print(f"published to {to}", flush=True)


def bundle(keras_path: Path, labels_path: Path, shared: Path, out: Path, training: dict, work: Path,
           without: Sequence[str] = ()) -> None:
    """model.build (int8 where it agrees with Keras) with the "not recognised" gate calibrated on both Test/
    sets (the no-leaf class, the `embedding` layer), then the display names and licences. Folders of a
    crop left out (`without`) stay out of the samples: they would calibrate the gate on the unknown crop."""
    from model.build import build, summary
    from model.metadata import read_metadata, write_metadata

    samples = work / "samples"  # both Test/ sets in one folder, for the parity check and the int8 choice
    shutil.rmtree(samples, ignore_errors=True)
    samples.mkdir()
    for dataset in DATASETS:
        for folder in sorted((shared / "data" / dataset / "Test").iterdir()):
            if any(folder.name.startswith(crop) for crop in without):
                continue
            shutil.copytree(folder, samples / folder.name)  # copies: model.build does not follow symlinks
    staging = work / "bundle"
    shutil.rmtree(staging, ignore_errors=True)
    print(summary(build(_source(keras_path), labels_path, "raw", staging, samples=samples,
                        name="leaves-plantvillage", no_leaf_labels=NO_LEAF_LABELS,
                        embedding_layer="embedding", embedding_required=True, false_reject=FALSE_REJECT)),
          flush=True)
    display = json.loads((RECIPE / "display_names.json").read_text(encoding="utf-8"))
    meta = read_metadata(staging)
    extra = {**meta.extra,
             "display_names": {label: display[label] for label in meta.labels},
             "no_leaf_labels": [label for label in NO_LEAF_LABELS if label in meta.labels],
             "embedding_layer": "embedding",
             "training": training,
             "attribution": (RECIPE / "ATTRIBUTION.md").read_text(encoding="utf-8").split("\n\n")[1].strip()}
    write_metadata(staging, replace(meta, extra=extra))
    shutil.copy(RECIPE / "ATTRIBUTION.md", staging / "ATTRIBUTION.md")
    if out.exists():
        shutil.rmtree(out)
    shutil.move(str(staging), str(out))
    print(f"wrote {out}", flush=True)


def _source(keras_path: Path):
    from model.build import Source

    return Source(keras=keras_path)


if __name__ == "__main__":
    sys.exit(main())
