"""Images that are not photos of anything: solid colours, noise, gradients, a page of text.

The "not recognised" gate is measured on them (model.evaluate --non-photos, tests/model): a model
must not diagnose a blue square. Deterministic for a seed.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

SIZE = (256, 256)
COLOURS = ((255, 255, 255), (0, 0, 0), (30, 60, 200), (200, 30, 30), (40, 160, 60), (128, 128, 128),
           (240, 220, 40), (120, 80, 40))
TEXT = ("Terms and conditions. 1. The service is provided as is, without warranty of any kind. "
        "2. Uploaded photos are processed to produce a diagnosis and are kept for thirty days. "
        "3. Invoices are due within fourteen days of the date shown above. Total: 128.40 EUR. ")


def non_photos(seed: int = 0, size: tuple[int, int] = SIZE) -> list[tuple[str, Image.Image]]:
    """(name, RGB image) pairs: 8 solid colours, 4 noise, 6 gradients, 2 pages of text."""
    rng = np.random.default_rng(seed)
    width, height = size
    images = [(f"solid-{'-'.join(map(str, c))}", Image.new("RGB", size, c)) for c in COLOURS]
    for i in range(2):
        images.append((f"uniform-noise-{i}", _image(rng.integers(0, 256, (height, width, 3)))))
        images.append((f"gaussian-noise-{i}", _image(rng.normal(128, 40, (height, width, 3)))))
    x = np.linspace(0, 1, width)[np.newaxis, :, np.newaxis]
    y = np.linspace(0, 1, height)[:, np.newaxis, np.newaxis]
    for i in range(3):
        a, b = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
        images.append((f"horizontal-gradient-{i}", _image(a + (b - a) * x + 0 * y)))
        radius = np.sqrt((x - 0.5) ** 2 + (y - 0.5) ** 2) / np.sqrt(0.5)
        images.append((f"radial-gradient-{i}", _image(a + (b - a) * radius)))
    for i, (ink, paper) in enumerate((((20, 20, 20), (255, 255, 255)), ((30, 30, 90), (245, 240, 225)))):
        images.append((f"text-page-{i}", text_page(size, ink, paper)))
    return images


def text_page(size: tuple[int, int], ink: tuple[int, int, int], paper: tuple[int, int, int]) -> Image.Image:
    """A rendered page of small text lines, like a screenshot of a document."""
    page = Image.new("RGB", size, paper)
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default()
    words, line, y = TEXT.split() * 4, "", 8
    for word in words:
        if draw.textlength(f"{line} {word}", font=font) > size[0] - 16:
            draw.text((8, y), line, fill=ink, font=font)
            line, y = word, y + 14
            if y > size[1] - 16:
                break
        else:
            line = f"{line} {word}".strip()
    return page


def _image(values: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip(values, 0, 255).astype(np.uint8), "RGB")
