"""Visible per-frame index barcode for synthetic test media.

Every synthetic frame carries its own frame index as a small 2-D code in a
square box centred in the frame::

    +--------------------------+   <- thick red border (RGB 255,0,0)
    |##########################|      TOP side is thicker (orientation mark)
    |##########################|
    |##+--------------------+##|
    |##| quiet zone (white) |##|
    |##|  +--+--+--+--+     |##|
    |##|  |b0|b1|b2|b3|     |##|   4x4 grid of pure black / white cells,
    |##|  +--+--+--+--+     |##|   row-major, b0 = MSB of the index
    |##|  |..|..|..|..|     |##|
    |##|  ...               |##|
    |##+--------------------+##|
    +--------------------------+

16 bits: bits 0..11 (row-major, first cell first) = 12-bit index (MSB
first), bits 12..15 = 4-bit check = ((sum of the index's 3 nibbles) % 16)
XOR 0b1010.  White cell = 1, black cell = 0.

Deviation from the original brief (documented on purpose): the *top* red
border is thicker (``TOP`` vs ``SIDE`` fractions of the box side) than the
other three.  The reader measures the thickness of the four sides relative
to the box's extent along that axis (so non-uniform stretching does not
matter) and rotates the box so that the thick side is on top before sampling.
Consequently ``read_barcode`` also works on frames that were rotated by a
multiple of 90 degrees (phone-style display rotation applied by the engine),
which a symmetric border cannot support (a code read in the wrong
orientation can pass the checksum).

``read_barcode`` does not need to know the scaling / cropping / padding
applied: it finds the red border by colour, takes its bounding box and
samples cells at fixed fractional positions inside the box.

All arrays are RGB (H, W, 3) uint8.  cv2 users must convert from BGR first.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "MAX_INDEX",
    "N_SCENES",
    "encode_bits",
    "decode_bits",
    "draw_barcode",
    "read_barcode",
    "frame_image",
    "scene_background",
]

MAX_INDEX = 4095
GRID = 4

# Layout as fractions of the box side (box is square in the drawn frame).
SIDE = 0.12  # left / right / bottom red border
TOP = 0.22  # top red border (orientation mark)
QUIET = 0.035  # white quiet zone between border and grid
GX0, GX1 = SIDE + QUIET, 1.0 - SIDE - QUIET  # grid extent, x
GY0, GY1 = TOP + QUIET, 1.0 - SIDE - QUIET  # grid extent, y
SAMPLE = 0.5  # sampled fraction of each cell (central area)

RED = np.array([255, 0, 0], dtype=np.uint8)


def _check(index: int) -> int:
    s = (index & 0xF) + ((index >> 4) & 0xF) + ((index >> 8) & 0xF)
    return (s % 16) ^ 0b1010


def encode_bits(index: int) -> list[int]:
    """16 bits (row-major cell values, 1 = white) for ``index``."""
    if not isinstance(index, (int, np.integer)) or isinstance(index, bool):
        raise ValueError(f"index must be an int, got {type(index).__name__}")
    index = int(index)
    if not 0 <= index <= MAX_INDEX:
        raise ValueError(f"index {index} out of range 0..{MAX_INDEX}")
    word = (index << 4) | _check(index)
    return [(word >> (15 - i)) & 1 for i in range(16)]


def decode_bits(bits) -> int | None:
    """Inverse of :func:`encode_bits`; None if the checksum fails."""
    word = 0
    for b in bits:
        word = (word << 1) | (1 if b else 0)
    index, check = word >> 4, word & 0xF
    return index if _check(index) == check else None


def _box_geometry(h: int, w: int, box_fraction: float) -> tuple[int, int, int]:
    side = int(round(box_fraction * min(h, w)))
    side = max(side, 8)
    if side > min(h, w):
        raise ValueError("frame too small for the barcode box")
    return (h - side) // 2, (w - side) // 2, side


def draw_barcode(rgb: np.ndarray, index: int, *, box_fraction: float = 0.4) -> None:
    """Draw the code for ``index`` (0..4095) in place into an RGB uint8 frame."""
    bits = encode_bits(index)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError("expected an (H, W, 3) uint8 RGB array")
    h, w = rgb.shape[:2]
    y0, x0, s = _box_geometry(h, w, box_fraction)

    def px(f: float) -> int:
        return int(round(f * s))

    box = rgb[y0 : y0 + s, x0 : x0 + s]
    box[:] = RED
    box[px(TOP) : s - px(SIDE), px(SIDE) : s - px(SIDE)] = 255  # quiet zone
    xs = [px(GX0 + (GX1 - GX0) * i / GRID) for i in range(GRID + 1)]
    ys = [px(GY0 + (GY1 - GY0) * i / GRID) for i in range(GRID + 1)]
    for k, bit in enumerate(bits):
        r, c = divmod(k, GRID)
        box[ys[r] : ys[r + 1], xs[c] : xs[c + 1]] = 255 if bit else 0


def _red_mask(rgb: np.ndarray) -> np.ndarray:
    a = rgb.astype(np.int16)
    r, g, b = a[..., 0], a[..., 1], a[..., 2]
    return (r > 130) & (r - g > 80) & (r - b > 80)


def _red_bbox(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    import cv2

    n, _labels, stats, _ = cv2.connectedComponentsWithStats(
        mask.astype(np.uint8), connectivity=8
    )
    if n <= 1:
        return None
    areas = stats[1:, cv2.CC_STAT_AREA]
    big = areas.max()
    if big < 12:
        return None
    keep = np.nonzero(areas >= 0.1 * big)[0] + 1
    x0 = stats[keep, cv2.CC_STAT_LEFT].min()
    y0 = stats[keep, cv2.CC_STAT_TOP].min()
    x1 = (stats[keep, cv2.CC_STAT_LEFT] + stats[keep, cv2.CC_STAT_WIDTH]).max()
    y1 = (stats[keep, cv2.CC_STAT_TOP] + stats[keep, cv2.CC_STAT_HEIGHT]).max()
    return int(y0), int(x0), int(y1), int(x1)


def _thickness(profile: np.ndarray) -> int:
    """Entries > 0.5 in the first half of a red-fraction profile.

    (Counting, rather than stopping at the first non-red row, tolerates a
    stray reddish row that widened the bounding box.)"""
    return int((profile[: len(profile) // 2] > 0.5).sum())


def read_barcode(rgb: np.ndarray) -> int | None:
    """Read the frame index from an RGB (H, W, 3) uint8 frame.

    Works after compression, JPEG re-encoding, scaling, non-uniform
    stretching, centre crops that keep the box, black padding and rotations
    by multiples of 90 degrees.  Returns None if no valid code is found.
    """
    found = read_barcode_turned(rgb)
    return None if found is None else found[0]


def read_barcode_turned(rgb: np.ndarray) -> tuple[int, int] | None:
    """(index, k): the code and how the box is turned in the image, k counter-
    clockwise quarter turns (``np.rot90(upright, k)``); None if no valid code."""
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] < 3:
        raise ValueError("expected an (H, W, 3) RGB array")
    rgb = rgb[..., :3]
    if rgb.dtype != np.uint8:
        rgb = np.clip(rgb, 0, 255).astype(np.uint8)
    mask = _red_mask(rgb)
    bb = _red_bbox(mask)
    if bb is None:
        return None
    y0, x0, y1, x1 = bb
    h, w = y1 - y0, x1 - x0
    if h < 8 or w < 8:
        return None
    m = mask[y0:y1, x0:x1]
    crop = rgb[y0:y1, x0:x1]

    # Orientation: the thick side (relative to the box extent) is the top.
    rows = m.mean(axis=1)
    cols = m.mean(axis=0)
    t = {
        0: _thickness(rows) / h,  # thick on top    -> upright
        2: _thickness(rows[::-1]) / h,  # thick at bottom -> rotated 180
        1: _thickness(cols) / w,  # thick on left   -> rotated 90 CCW
        3: _thickness(cols[::-1]) / w,  # thick on right  -> rotated 90 CW
    }
    k = max(t, key=t.get)
    # np.rot90(x, k) rotated the original CCW k times; undo with -k.
    crop = np.rot90(crop, -k)
    ch, cw = crop.shape[:2]

    grey = crop.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    means = []
    for i in range(GRID * GRID):
        r, c = divmod(i, GRID)
        cy = (GY0 + (GY1 - GY0) * (r + 0.5) / GRID) * ch
        cx = (GX0 + (GX1 - GX0) * (c + 0.5) / GRID) * cw
        hy = max(0.5, SAMPLE * 0.5 * (GY1 - GY0) / GRID * ch)
        hx = max(0.5, SAMPLE * 0.5 * (GX1 - GX0) / GRID * cw)
        ya, yb = int(round(cy - hy)), int(round(cy + hy))
        xa, xb = int(round(cx - hx)), int(round(cx + hx))
        yb, xb = max(yb, ya + 1), max(xb, xa + 1)
        means.append(float(grey[ya:yb, xa:xb].mean()))
    means = np.array(means)
    lo, hi = means.min(), means.max()
    if hi - lo < 60:  # uniform grid: no valid code is all black / all white
        return None
    thr = (lo + hi) / 2
    index = decode_bits(means > thr)
    return None if index is None else (index, k)


# --------------------------------------------------------------------------
# Synthetic frames
# --------------------------------------------------------------------------

N_SCENES = 10


def _lerp(c0, c1, t: np.ndarray) -> np.ndarray:
    c0 = np.asarray(c0, np.float32)
    c1 = np.asarray(c1, np.float32)
    return c0 + (c1 - c0) * t[..., None]


def scene_background(index: int, width: int, height: int, scene: int = 0) -> np.ndarray:
    """Background (no barcode) for ``scene``; never contains strong red.

    Scene 0 is a soft moving blue/green gradient (consecutive frames differ a
    little). Scenes 1..9 are static coarse grids of 9 columns × 8 rows (the
    difference hash's own grid) whose horizontal neighbours always differ by 70+
    grey levels, with signs drawn at random per scene: every dhash bit is stable
    within a scene (the barcode's changes cannot flip one) and about half of the
    bits change at a cut. Scene numbers wrap modulo ``N_SCENES``.
    """
    h, w = height, width
    sc = scene % N_SCENES
    if sc == 0:
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        u = xx / max(w - 1, 1)  # 0..1 left -> right
        v = yy / max(h - 1, 1)  # 0..1 top -> bottom
        t = 0.5 + 0.25 * np.sin(2 * np.pi * (u * 1.2 + v * 0.6 - index / 90.0))
        t2 = 0.5 + 0.5 * np.sin(2 * np.pi * (v * 0.8 + index / 150.0))
        img = _lerp((20, 70, 150), (60, 190, 120), t) * 0.8 + _lerp((0, 0, 0), (40, 40, 60), t2)
        return np.clip(img, 0, 255).astype(np.uint8)
    grid = _scene_grid(sc)
    rows = np.minimum(np.arange(h) * 8 // h, 7)
    cols = np.minimum(np.arange(w) * 9 // w, 8)
    level = grid[rows[:, None], cols[None, :]]
    # Green-dominant hues (G ≥ R everywhere) keep the barcode's red unique.
    tint = np.float32([0.25 + 0.05 * (sc % 3), 1.0, 0.55 + 0.1 * (sc % 4)])
    return np.clip(level[..., None] * tint, 0, 255).astype(np.uint8)


def _scene_grid(scene: int) -> np.ndarray:
    """8×9 levels for a static scene: neighbours in a row differ by 70–110."""
    rng = np.random.default_rng(1000 + scene)
    grid = np.empty((8, 9), np.float32)
    for r in range(8):
        value = rng.uniform(40, 215)
        grid[r, 0] = value
        for c in range(1, 9):
            step = rng.uniform(70, 110) * rng.choice([-1.0, 1.0])
            if not 15 <= value + step <= 245:
                step = -step
            value = float(np.clip(value + step, 15, 245))
            grid[r, c] = value
    return grid


def frame_image(
    index: int, width: int, height: int, *, scene: int = 0, box_fraction: float = 0.4
) -> np.ndarray:
    """Whole synthetic RGB frame: scene background + barcode for ``index``."""
    img = scene_background(index, width, height, scene)
    draw_barcode(img, index, box_fraction=box_fraction)
    return img
