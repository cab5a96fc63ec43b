"""Coloured sprites made here, dSprites-like: every image's generating factors are known, so a
model's latent space can be compared with the truth (which unit follows the size, the colour...).

Each image is one shape on black, drawn from a grid of six factors; a fixed seed picks which
grid points are drawn, so the same bytes come out on every machine. Edges are anti-aliased by
each pixel's signed distance to the shape's outline (coverage = 1/2 - distance, clipped), all in
numpy arrays, a chunk of images at a time.

Determinism: everything is IEEE arithmetic and square roots (exact on every machine) except the
rotation's cosines and sines, which are rounded to 9 decimals so that a last-bit difference
between two maths libraries cannot reach the pixels.
"""

from __future__ import annotations

import math

import numpy as np

SEED = 0
SIDE = 64
N_TRAIN, N_TEST = 10_000, 2_000  # 590 MB as float32 at 3x64x64
MAX_RADIUS = 10.0  # pixels: every shape fits in a circle of this radius times its scale
CHUNK = 1_000  # images rendered at a time: four float32 planes of 16 MB each

KINDS = ("square", "ellipse", "heart", "triangle")
COLOURS = {
    "red": (1.0, 0.0, 0.0),
    "yellow": (1.0, 1.0, 0.0),
    "green": (0.0, 1.0, 0.0),
    "cyan": (0.0, 1.0, 1.0),
    "blue": (0.0, 0.0, 1.0),
    "magenta": (1.0, 0.0, 1.0),
}
SCALES = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
ROTATIONS = tuple(range(0, 360, 36))  # degrees, anticlockwise
POSITIONS = np.linspace(MAX_RADIUS + 1, SIDE - MAX_RADIUS - 1, 16)  # centres, in pixels

FACTOR_NAMES = ("shape", "colour", "scale", "rotation", "x", "y")
FACTOR_VALUES: tuple[tuple[str, ...], ...] = (
    KINDS,
    tuple(COLOURS),
    tuple(f"{s:g}" for s in SCALES),
    tuple(f"{r}°" for r in ROTATIONS),
    tuple(f"{p / SIDE:.2f}" for p in POSITIONS),  # as a fraction of the width: any size
    tuple(f"{p / SIDE:.2f}" for p in POSITIONS),
)
GRID = tuple(len(values) for values in FACTOR_VALUES)
DESCRIPTION = (
    f"{N_TRAIN + N_TEST:,} images drawn without repetition from a grid of "
    f"{math.prod(GRID):,}: {len(KINDS)} shapes x {len(COLOURS)} colours x {len(SCALES)} scales "
    f"x {len(ROTATIONS)} rotations x {len(POSITIONS)} x {len(POSITIONS)} positions"
)

HEART_LOBE = 0.37  # the heart: a diamond |u| + |v| <= 2 * HEART_LOBE, a lobe on each upper edge
HEART_SHIFT = HEART_LOBE * (math.sqrt(2) - 1) / 2  # down, so its top and tip are equally far


def factors() -> np.ndarray:
    """The factor indices of every image, [N_TRAIN + N_TEST, 6] int64: training images first."""
    drawn = np.random.default_rng(SEED).choice(math.prod(GRID), N_TRAIN + N_TEST, replace=False)
    return np.stack(np.unravel_index(drawn, GRID), axis=1).astype(np.int64)


def render(chosen: np.ndarray) -> np.ndarray:
    """The images of `chosen` factor rows: [N, 3, SIDE, SIDE] uint8."""
    out = np.empty((len(chosen), 3, SIDE, SIDE), dtype=np.uint8)
    for start in range(0, len(chosen), CHUNK):
        rows = chosen[start : start + CHUNK]
        coverage = _coverage(rows)
        colour = np.array(list(COLOURS.values()), dtype=np.float32)[rows[:, 1]]
        pixels = coverage[:, None] * colour[:, :, None, None] * 255
        out[start : start + CHUNK] = np.rint(pixels).astype(np.uint8)
    return out


def _coverage(rows: np.ndarray) -> np.ndarray:
    """How much of each pixel the shape covers, [N, SIDE, SIDE] float32 in [0, 1]."""
    angles = [math.radians(r) for r in ROTATIONS]
    cos = np.array([round(math.cos(a), 9) for a in angles], dtype=np.float32)[rows[:, 3]]
    sin = np.array([round(math.sin(a), 9) for a in angles], dtype=np.float32)[rows[:, 3]]
    radius = (np.array(SCALES, dtype=np.float32) * MAX_RADIUS)[rows[:, 2]]
    centres = POSITIONS.astype(np.float32)
    grid = np.arange(SIDE, dtype=np.float32) + 0.5  # pixel centres
    dx = (grid[None, None, :] - centres[rows[:, 4], None, None]) / radius[:, None, None]
    dy = (centres[rows[:, 5], None, None] - grid[None, :, None]) / radius[:, None, None]  # y up
    # The shape's own frame: the picture turned back by the rotation, in units of its radius.
    u = cos[:, None, None] * dx + sin[:, None, None] * dy
    v = cos[:, None, None] * dy - sin[:, None, None] * dx
    distance = np.empty_like(u)
    for kind, signed_distance in enumerate(_DISTANCES):
        mine = rows[:, 0] == kind
        distance[mine] = signed_distance(u[mine], v[mine])
    return np.clip(0.5 - distance * radius[:, None, None], 0, 1)


def _square(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.maximum(np.abs(u), np.abs(v)) - np.float32(math.sqrt(0.5))  # corners on the circle


def _ellipse(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Semi-axes 1 and 0.55; the distance is approximate, but exact enough at the edge."""
    return (np.sqrt(u**2 + (v / np.float32(0.55)) ** 2) - 1) * np.float32(0.55)


def _heart(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """A diamond with two half discs on its upper edges: the union is the nearer outline."""
    v = v + np.float32(HEART_SHIFT)
    diamond = (np.abs(u) + np.abs(v) - np.float32(2 * HEART_LOBE)) / np.float32(math.sqrt(2))
    lobe = np.sqrt((np.abs(u) - np.float32(HEART_LOBE)) ** 2 + (v - np.float32(HEART_LOBE)) ** 2)
    return np.minimum(diamond, lobe - np.float32(HEART_LOBE * math.sqrt(2)))


def _triangle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Equilateral, pointing up, its corners on the unit circle (its sides 1/2 from the centre)."""
    half = np.float32(math.sqrt(3) / 2)
    sides = (-v, half * u + np.float32(0.5) * v, -half * u + np.float32(0.5) * v)
    return np.maximum(np.maximum(sides[0], sides[1]), sides[2]) - np.float32(0.5)


_DISTANCES = (_square, _ellipse, _heart, _triangle)
