"""Surface materials: two colours and a procedural texture per surface.

A material is a dict (``color1``, ``color2`` RGB in [0, 1], ``texture``,
``period``, ``angle``, ``width``); :func:`texture_pattern` mixes the
two colours from the texture coordinates of a hit point (0 = ``color1``,
1 = ``color2``).
"""
import colorsys
import math

import numpy as np

_TEXTURES = ('plain', 'stripes', 'checker', 'grid', 'planks', 'dots',
             'waves')


def hsv(h: float, s: float, v: float) -> np.ndarray:
    """RGB in [0, 1] of a hue (wrapped) and a saturation and value
    (clipped to [0, 1])."""
    return np.array(colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0.0), 1.0),
                                        min(max(v, 0.0), 1.0)))


def sample_material(rng: np.random.Generator, role: str) -> dict:
    """Colours and procedural texture of one surface."""
    if role == 'wall':
        h, s, v = rng.uniform(0, 1), rng.uniform(0.05, 0.35), rng.uniform(
            0.7, 0.95)
        texture = _TEXTURES[rng.choice([0, 0, 0, 1, 3, 5, 6])]
    elif role == 'floor':
        if rng.uniform() < 0.6:  # wood-like
            h, s, v = rng.uniform(0.04, 0.12), rng.uniform(
                0.35, 0.7), rng.uniform(0.35, 0.75)
        else:  # tiles / carpet
            h, s, v = rng.uniform(0, 1), rng.uniform(0.0, 0.2), rng.uniform(
                0.4, 0.9)
        texture = _TEXTURES[rng.choice([0, 2, 3, 4, 4])]
    elif role == 'ceiling':
        h, s, v = rng.uniform(0, 1), rng.uniform(0.0, 0.08), rng.uniform(
            0.85, 0.98)
        texture = _TEXTURES[rng.choice([0, 0, 3])]
    else:
        h, s, v = rng.uniform(0, 1), rng.uniform(0.3, 0.9), rng.uniform(
            0.35, 0.95)
        texture = _TEXTURES[rng.integers(len(_TEXTURES))]
    color1 = hsv(h, s, v)
    color2 = hsv(h + rng.uniform(-0.08, 0.08), s * rng.uniform(0.6, 1.4),
                 v * rng.uniform(0.55, 0.85))
    period = rng.uniform(0.3, 0.8) if role in ('floor', 'ceiling') \
        else rng.uniform(0.08, 0.5)
    angle = (math.pi / 2) * rng.integers(2) if rng.uniform() < 0.7 \
        else rng.uniform(0, math.pi)
    return dict(color1=color1, color2=color2, texture=str(texture),
                period=float(period), angle=float(angle),
                width=float(rng.uniform(0.04, 0.15)))


def texture_pattern(material: dict, uv: np.ndarray) -> np.ndarray:
    """Procedural texture value in [0, 1] (0 = colour1, 1 = colour2)."""
    texture = material['texture']
    if texture == 'plain':
        return np.zeros(len(uv))
    p, w = material['period'], material['width']
    ca, sa = math.cos(material['angle']), math.sin(material['angle'])
    a = (uv[:, 0] * ca + uv[:, 1] * sa) / p
    b = (-uv[:, 0] * sa + uv[:, 1] * ca) / p
    if texture == 'stripes':
        return np.floor(a) % 2
    if texture == 'checker':
        return (np.floor(a) + np.floor(b)) % 2
    if texture == 'grid':
        return ((a % 1 < w) | (b % 1 < w)).astype(np.float64)
    if texture == 'planks':
        row = np.floor(b)
        joint = (b % 1 < w) | ((a / 4 + 0.37 * row) % 1 < w / 4)
        grain = 0.2 + 0.2 * np.sin(2 * math.pi * a / 0.7 + 3 * row)
        return np.where(joint, 1.0, grain)
    if texture == 'dots':
        fa, fb = a - np.round(a), b - np.round(b)
        return (fa * fa + fb * fb < 0.0625).astype(np.float64)
    # waves
    return 0.5 + 0.5 * np.sin(2 * math.pi * a +
                              0.8 * np.sin(math.pi * b))
