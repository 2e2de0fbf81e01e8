"""Photos that match the served model, for `make api` and `make invoke` to seed: one per label.

A real photo of each label from ../shared's Test/ folders (or local/demo_photos/ and local/demo_leaves/) when the model's
labels name them; a synthetic leaf for the synthetic model's labels (model/synthetic.py)."""

from __future__ import annotations

import io
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PHOTO_ROOTS = (ROOT.parent / "shared" / "data" / "potato" / "Test", ROOT.parent / "shared" / "data" / "leaves" / "Test",
               ROOT / "local" / "demo_photos", ROOT / "local" / "demo_leaves")
SUFFIXES = (".jpg", ".jpeg", ".png")


def sample_photos(labels: tuple[str, ...], seed: int = 800_000) -> list[tuple[str, bytes]]:
    """(label, JPEG or PNG bytes) for every label a photo or synthetic leaf is found for, in label order."""
    from model.evaluate import label_key
    from model.synthetic import LABELS, make_leaf

    folders = {label_key(folder.name): folder for root in reversed(PHOTO_ROOTS) if root.is_dir()
               for folder in root.iterdir() if folder.is_dir()}
    found = []
    for index, label in enumerate(labels):
        folder = folders.get(label_key(label))
        photos = sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES) if folder else []
        if photos:
            found.append((label, photos[0].read_bytes()))
        elif label in LABELS:
            buffer = io.BytesIO()
            make_leaf(LABELS.index(label), seed=seed + index).save(buffer, format="JPEG", quality=90)
            found.append((label, buffer.getvalue()))
    return found


def served_labels() -> tuple[str, ...]:
    """The labels of the model the handler serves here (MODEL_DIR, else the bundled default)."""
    import os

    from handler.config import BUNDLED_MODEL_DIR
    from model.metadata import read_metadata

    return read_metadata(Path(os.environ.get("MODEL_DIR", "") or BUNDLED_MODEL_DIR)).labels
