"""Procedural leaf photos for the demo model and tests: numpy + Pillow only, deterministic per seed."""

from __future__ import annotations

import colorsys
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

LABELS: tuple[str, ...] = (
    "Synthleaf_healthy",
    "Synthleaf_leaf spot",
    "Synthleaf_rust",
    "Synthleaf_powdery mildew",
    "Synthleaf_chlorosis",
)
HEALTHY, LEAF_SPOT, RUST, MILDEW, CHLOROSIS = range(len(LABELS))


def make_leaf(label_index: int, seed: int, size: tuple[int, int] = (320, 320)) -> Image.Image:
    """Render one RGB leaf photo of the given condition; same (label, seed, size) gives the same pixels."""
    if not 0 <= label_index < len(LABELS):
        raise ValueError(f"label_index must be in 0..{len(LABELS) - 1}, got {label_index}")
    width, height = size
    rng = np.random.default_rng([seed, label_index])
    leaf = _random_leaf(rng, width, height)
    background = _background(rng, width, height)
    mask = _polygon_mask(leaf.outline(), size, blur=0.7)
    background *= 1.0 - 0.35 * _shadow(mask, rng, leaf.length)[..., None]
    blade = _blade(rng, label_index, leaf, size)
    alpha = mask[..., None]
    pixels = background * (1.0 - alpha) + blade * alpha
    pixels *= _lighting(rng, width, height)[..., None]
    pixels += rng.normal(0.0, rng.uniform(1.5, 5.0), pixels.shape)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
    if rng.random() < 0.3:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.8) * min(size) / 320))
    return image


def make_dataset(
    n_per_class: int, seed: int, size: tuple[int, int] = (320, 320)
) -> list[tuple[Image.Image, int]]:
    """Render n_per_class leaves of every label from seeds seed .. seed + n_per_class - 1."""
    return [(make_leaf(c, seed + i, size), c) for i in range(n_per_class) for c in range(len(LABELS))]


class _Leaf:
    """An ovate leaf: length, half-width profile, and a placement in the image."""

    def __init__(self, rng: np.random.Generator, length: float, center: tuple[float, float]) -> None:
        self.length = length
        self.max_half_width = length * rng.uniform(0.22, 0.36)
        self.peak = rng.uniform(0.6, 0.9)  # < 1 puts the widest part nearer the base
        self.round = rng.uniform(0.6, 1.0)
        self.angle = rng.uniform(0.0, 2.0 * math.pi)
        self.center = center
        self.wobble = rng.uniform(-1.0, 1.0, 6)

    def half_width(self, s: np.ndarray) -> np.ndarray:
        """Half-width at fraction s along the midrib (0 = base, 1 = tip)."""
        s = np.clip(s, 0.0, 1.0)
        edge = 1.0 + 0.03 * sum(w * np.sin((k + 2) * math.pi * s) for k, w in enumerate(self.wobble))
        return self.max_half_width * np.sin(math.pi * s**self.peak) ** self.round * edge

    def to_image(self, s: np.ndarray, v: np.ndarray) -> list[tuple[float, float]]:
        """Map leaf coordinates (s along the midrib, v across it in pixels) to image points."""
        x = (np.asarray(s) - 0.5) * self.length
        cos, sin = math.cos(self.angle), math.sin(self.angle)
        px = self.center[0] + x * cos - np.asarray(v) * sin
        py = self.center[1] + x * sin + np.asarray(v) * cos
        return list(zip(np.atleast_1d(px).tolist(), np.atleast_1d(py).tolist()))

    def outline(self) -> list[tuple[float, float]]:
        """Closed polygon around the blade."""
        s = np.linspace(0.0, 1.0, 80)
        hw = self.half_width(s)
        return self.to_image(np.concatenate([s, s[::-1]]), np.concatenate([hw, -hw[::-1]]))

    def random_points(self, rng: np.random.Generator, n: int | np.integer, margin: float = 0.85) -> list[tuple]:
        """n points scattered inside the blade."""
        s = rng.uniform(0.08, 0.92, n)
        v = rng.uniform(-margin, margin, n) * self.half_width(s)
        return self.to_image(s, v)


def _random_leaf(rng: np.random.Generator, width: int, height: int) -> _Leaf:
    short = min(width, height)
    length = rng.uniform(0.6, 0.95) * short
    center = (width / 2 + rng.uniform(-0.1, 0.1) * width, height / 2 + rng.uniform(-0.1, 0.1) * height)
    return _Leaf(rng, length, center)


def _hsv(h_deg: float, s: float, v: float) -> np.ndarray:
    return np.array(colorsys.hsv_to_rgb(h_deg / 360.0 % 1.0, s, v), dtype=np.float32) * 255.0


def _smooth_noise(rng: np.random.Generator, width: int, height: int, cells: int) -> np.ndarray:
    """Blobby noise in 0..1, made by upscaling a coarse random grid."""
    grid = Image.fromarray(rng.random((cells, cells), dtype=np.float32), "F")
    return np.asarray(grid.resize((width, height), Image.Resampling.BICUBIC), dtype=np.float32)


def _polygon_mask(points: list[tuple[float, float]], size: tuple[int, int], blur: float) -> np.ndarray:
    img = Image.new("L", size, 0)
    ImageDraw.Draw(img).polygon(points, fill=255)
    return _as_float(img.filter(ImageFilter.GaussianBlur(blur)) if blur else img)


def _dots_mask(centers, radii, size: tuple[int, int], blur: float = 0.0) -> np.ndarray:
    img = Image.new("L", size, 0)
    draw = ImageDraw.Draw(img)
    for (x, y), r in zip(centers, radii):
        draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    return _as_float(img.filter(ImageFilter.GaussianBlur(blur)) if blur else img)


def _as_float(img: Image.Image) -> np.ndarray:
    return np.asarray(img, dtype=np.float32) / 255.0


def _background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """Soil, grass or paper-like noise."""
    kind = rng.integers(3)
    if kind == 0:  # soil
        base, grain = _hsv(rng.uniform(20, 35), rng.uniform(0.35, 0.6), rng.uniform(0.3, 0.5)), 0.35
    elif kind == 1:  # grass, darker and duller than a leaf
        base, grain = _hsv(rng.uniform(70, 110), rng.uniform(0.35, 0.6), rng.uniform(0.2, 0.4)), 0.45
    else:  # paper
        base, grain = _hsv(rng.uniform(30, 60), rng.uniform(0.02, 0.12), rng.uniform(0.75, 0.95)), 0.08
    texture = 0.6 * _smooth_noise(rng, width, height, 4) + 0.4 * _smooth_noise(rng, width, height, 24)
    texture += 0.5 * rng.random((height, width), dtype=np.float32)
    factor = 1.0 + grain * (texture - texture.mean())
    return base[None, None, :] * factor[..., None]


def _shadow(mask: np.ndarray, rng: np.random.Generator, length: float) -> np.ndarray:
    dx, dy = (int(v) for v in rng.uniform(-0.04, 0.04, 2) * length)
    shifted = np.roll(mask, (dy, dx), axis=(0, 1))
    img = Image.fromarray((shifted * 255).astype(np.uint8), "L")
    return _as_float(img.filter(ImageFilter.GaussianBlur(0.03 * length))) * (1.0 - mask)


def _veins(leaf: _Leaf, rng: np.random.Generator, size: tuple[int, int], scale: float) -> np.ndarray:
    """Midrib and paired side veins, drawn `scale` times thicker than normal."""
    img = Image.new("L", size, 0)
    draw = ImageDraw.Draw(img)
    main = max(1, round(leaf.length * 0.012 * scale))
    side = max(1, round(leaf.length * 0.006 * scale))
    draw.line(leaf.to_image(np.array([-0.08, 0.96]), np.zeros(2)), fill=255, width=main)  # with petiole
    for s in np.linspace(0.12, 0.85, rng.integers(5, 9)):
        reach = rng.uniform(0.12, 0.22)
        for sign in (-1.0, 1.0):
            end = 0.85 * leaf.half_width(np.array([s + reach]))[0]
            points = leaf.to_image(np.array([s, s + reach]), np.array([0.0, sign * end]))
            draw.line(points, fill=255, width=side)
    return _as_float(img.filter(ImageFilter.GaussianBlur(0.6 * scale)))


def _blade(rng: np.random.Generator, label: int, leaf: _Leaf, size: tuple[int, int]) -> np.ndarray:
    """Leaf surface colour with texture, veins and the condition's symptoms (full frame)."""
    width, height = size
    green = _hsv(rng.uniform(85, 135), rng.uniform(0.5, 0.85), rng.uniform(0.35, 0.62))
    texture = 0.7 * _smooth_noise(rng, width, height, 10)
    texture = texture + 0.3 * rng.random((height, width), dtype=np.float32)
    shade = (0.85 + 0.3 * texture)[..., None]
    if label == CHLOROSIS:
        yellow = _hsv(rng.uniform(48, 64), rng.uniform(0.5, 0.8), rng.uniform(0.7, 0.92))
        veins = np.clip(_veins(leaf, rng, size, scale=2.2) * 1.4, 0, 1)[..., None]
        blade = (yellow * (1 - veins) + green * veins) * shade
    else:
        light = green * 0.55 + _hsv(75, 0.35, 0.85) * 0.45
        veins = _veins(leaf, rng, size, scale=1.0)[..., None]
        blade = (green * (1 - veins) + light * veins) * shade
    if label == LEAF_SPOT:
        n = rng.integers(3, 10)
        centers = leaf.random_points(rng, n)
        radii = leaf.length * rng.uniform(0.025, 0.055, n)
        halo = _dots_mask(centers, radii * rng.uniform(1.5, 2.0), size, blur=0.01 * leaf.length)[..., None]
        core = _dots_mask(centers, radii, size, blur=0.6)[..., None]
        center = _dots_mask(centers, radii * 0.5, size, blur=0.6)[..., None]
        brown = _hsv(rng.uniform(18, 30), rng.uniform(0.55, 0.8), rng.uniform(0.3, 0.42))
        blade = blade * (1 - halo) + _hsv(rng.uniform(48, 58), 0.7, 0.85) * shade * halo
        blade = blade * (1 - core) + brown * shade * core
        blade = blade * (1 - 0.5 * center) + brown * 0.6 * 0.5 * center
    elif label == RUST:
        n = rng.integers(45, 160)
        centers = leaf.random_points(rng, n, margin=0.95)
        radii = leaf.length * rng.uniform(0.007, 0.016, n)
        dots = _dots_mask(centers, radii, size, blur=0.5)[..., None]
        rust = _hsv(rng.uniform(18, 32), rng.uniform(0.75, 0.95), rng.uniform(0.65, 0.85))
        blade = blade * (1 - dots) + rust * (0.9 + 0.2 * texture[..., None]) * dots
    elif label == MILDEW:
        n = rng.integers(5, 11)
        centers = leaf.random_points(rng, n)
        radii = leaf.length * rng.uniform(0.08, 0.17, n)
        patches = _dots_mask(centers, radii, size, blur=0.05 * leaf.length)
        powder = 0.6 + 0.4 * rng.random((height, width), dtype=np.float32)
        alpha = (patches * powder * rng.uniform(0.6, 0.85))[..., None]
        blade = blade * (1 - alpha) + _hsv(rng.uniform(40, 80), 0.05, 0.93) * alpha
    return blade


def _lighting(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """Linear brightness gradient in a random direction, with overall exposure jitter."""
    theta = rng.uniform(0, 2 * math.pi)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    ramp = (xs - width / 2) * math.cos(theta) + (ys - height / 2) * math.sin(theta)
    ramp /= math.hypot(width, height)
    return rng.uniform(0.85, 1.1) * (1.0 + rng.uniform(0.0, 0.6) * ramp)
