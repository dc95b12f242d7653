"""The output size limit (SPEC §3), checked before anything is decoded.

A request's size is arithmetic on the source's size, so a memory bomb (``w_4096`` on
a 16×256 source asks for 4096×65536 images, 1 GiB of RGB each) is refused from the
probe alone. The same check runs again on each decoded frame (:func:`check_image`),
for streams whose frame size changes midway.
"""

from __future__ import annotations

from fractions import Fraction

from engine.errors import ProcessError, shown
from engine.params import ImageFormat, Request, ScaleType

#: Longest side of an output image, per format (libwebp stops at 16383).
MAX_SIDE = {ImageFormat.JPG: 16384, ImageFormat.PNG: 16384, ImageFormat.WEBP: 16383}
#: Most pixels in one output image (decimal megapixels: 64 MP = 64 000 000).
MAX_PIXELS = 64_000_000


def image_size(width: int, height: int, request: Request) -> tuple[int, int]:
    """The size of the image written for a displayed frame of width×height: the
    requested box, or for ``fit`` the fitted size inside it."""
    # Imported here: imaging imports PyAV, and this module is also used before any.
    from engine.imaging import output_size

    box_w, box_h = output_size(width, height, request)
    if request.scaletype is not ScaleType.FIT or (box_w, box_h) == (width, height):
        return box_w, box_h
    # The bound side is the box's; the other keeps the aspect, rounded half up.
    if box_w * height <= box_h * width:
        return box_w, max(1, int(Fraction(height * box_w, width) + Fraction(1, 2)))
    return max(1, int(Fraction(width * box_h, height) + Fraction(1, 2))), box_h


def check_image(width: int, height: int, request: Request, source: str | None = None) -> None:
    """Refuse a request whose image for a width×height frame breaks the limit."""
    out_w, out_h = image_size(width, height, request)
    side = MAX_SIDE[request.format]
    if max(out_w, out_h) > side or out_w * out_h > MAX_PIXELS:
        of = f"source {shown(source)} ({width}×{height})" if source is not None else f"a {width}×{height} frame"
        raise ProcessError(
            f"w/h/pw/ph: the image would be {out_w}×{out_h} for {of}; valid: at most {side} px "
            f"a side (f_{request.format.value}) and {MAX_PIXELS // 1_000_000} megapixels"
        )


def check_stream(container: object, stream_index: int, request: Request, source: str) -> None:
    """:func:`check_source` for a stream of an open container (its coded size)."""
    codec = container.streams[stream_index].codec_context  # type: ignore[attr-defined]
    check_source(int(codec.width or 0), int(codec.height or 0), request, source)


def check_source(width: int, height: int, request: Request, source: str) -> None:
    """The limit for a stream of coded size width×height, before decoding.

    With ``ar_auto`` the display rotation comes with the first decoded frame, so
    both the coded and the quarter-turned frame must fit.
    """
    if width <= 0 or height <= 0:
        return  # size unknown until decoding: check_image guards each frame
    check_image(width, height, request, source)
    if request.autorotate and width != height:
        check_image(height, width, request, source)
