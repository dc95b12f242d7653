"""engine/imaging.py: output size rules (pixels, percent, rounding) and how a decoded
frame becomes the output picture (fused YUV kernel or RGB path, rotation turns)."""

from __future__ import annotations

import pytest

from engine.imaging import output_size
from engine.params import parse


def size(params: str, width: int = 384, height: int = 216) -> tuple[int, int]:
    return output_size(width, height, parse("video/snapshots,f_jpg" + params))


@pytest.mark.parametrize(
    "params,expected",
    [
        ("", (384, 216)),
        (",w_100", (100, 56)),  # 56.25
        (",h_100", (178, 100)),  # 177.8
        (",w_100,h_40", (100, 40)),
        (",pw_50", (192, 108)),
        (",ph_10", (38, 22)),  # 10 % of both: 38.4, 21.6
        (",pw_1,ph_1", (4, 2)),  # 3.84 → 4, 2.16 → 2
        (",pw_200", (768, 432)),
        (",w_64,ph_50", (64, 108)),  # absolute and percent mix per dimension
        (",w_64,pw_10", (64, 36)),  # pw ignored when w is set
    ],
)
def test_output_size(params, expected):
    assert size(params) == expected


def test_percent_sizes_round_half_up_and_stay_positive():
    assert size(",pw_50,ph_50", 321, 241) == (161, 121)
    assert size(",pw_1,ph_1", 16, 16) == (1, 1)


@pytest.mark.parametrize("fmt", ["yuv420p", "nv12", "rgb24", "yuvj444p"])
@pytest.mark.parametrize("params", [",w_100,h_100,scaletype_crop", ",pw_50", ",w_300,h_300,scaletype_fill"])
def test_render_frame_paths_agree(sample, fmt, params):
    """Planar YUV goes through the fused kernel, other formats through swscale RGB:
    both give the same picture (within chroma-siting differences) and the same frame."""
    import av
    import numpy as np

    from engine.imaging import render_frame
    from kernels import render
    from sample_media.barcode import read_barcode

    request = parse("video/snapshots,f_png" + params)
    with av.open(sample("h264_bframes.mp4")) as container:
        frame = next(container.decode(video=0)).reformat(format=fmt)
    out = render_frame(frame, 0, request)
    box = output_size(frame.width, frame.height, request)
    via_rgb = render(frame.to_ndarray(format="rgb24"), *box, request.scaletype.value)
    assert out.shape == via_rgb.shape and out.dtype == np.uint8 and out.flags.c_contiguous
    assert np.abs(out.astype(int) - via_rgb.astype(int)).mean() < 2.0
    assert read_barcode(out) == 0


def test_render_frame_keeps_its_own_size_without_resampling(sample):
    import av
    import numpy as np

    from engine.imaging import render_frame

    with av.open(sample("rotated_90.mp4")) as container:
        frame = next(container.decode(video=0))
    out = render_frame(frame, 1, parse("video/snapshots,f_png"))
    assert np.array_equal(out, np.rot90(frame.to_ndarray(format="rgb24"), 1))
