"""How far our dhash is from ``imagehash.dhash`` on every frame of the sample media.

Both hash the luma with bit = left < right over 9×8 cells, in the same bit order;
they differ in the downscale (ours: exact area average; imagehash: Pillow's
LANCZOS resize of the whole image), so near-equal neighbours can flip.

    python -m benchmarks.dhash_agreement
"""

from __future__ import annotations

import av
import imagehash
import numpy as np
from PIL import Image

from kernels import dhash, hamming
from sample_media.catalog import SAMPLE_DIR, VIDEO_SAMPLES


def distances(name: str) -> list[int]:
    out = []
    with av.open(str(SAMPLE_DIR / name)) as container:
        for frame in container.decode(video=0):
            luma = frame.to_ndarray(format="gray")
            ours = dhash(luma)
            theirs = int(str(imagehash.dhash(Image.fromarray(luma))), 16)
            out.append(hamming(ours, theirs))
    return out


def main() -> None:
    every: list[int] = []
    print(f"{'sample':24s} {'frames':>6s} {'mean':>6s} {'median':>6s} {'max':>4s} {'equal':>6s}")
    for name in VIDEO_SAMPLES:
        d = distances(name)
        every += d
        print(f"{name:24s} {len(d):6d} {np.mean(d):6.2f} {np.median(d):6.0f} {max(d):4d} {np.mean(np.array(d) == 0):6.0%}")
    print(f"{'all':24s} {len(every):6d} {np.mean(every):6.2f} {np.median(every):6.0f} {max(every):4d} {np.mean(np.array(every) == 0):6.0%}")


if __name__ == "__main__":
    main()
