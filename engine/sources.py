"""Sources that open other files or URLs are refused (SPEC §6), by FFmpeg itself.

A source is one media file. Some formats are lists of other files (HLS and DASH
playlists, concat lists), image2 turns ``img%03d.jpg`` into a sequence, and a
playlist can name ``/elsewhere/seg.ts``, ``../secret/seg.ts`` or a URL: opening one
reads outside the path that was given, which a service confining its callers to a
media root cannot allow. FFmpeg's own allow-lists do the refusing, so no format or
nested open slips past a check of ours:

* ``format_whitelist``: every demuxer of this FFmpeg build except those in
  :data:`INDIRECT_FORMATS`; a file probed as one of those fails to open (EINVAL).
* ``protocol_whitelist = file``: the source is a local file; no demuxer may open a
  URL (http, tcp, …) from inside it.
* ``pattern_type = none``: image2 reads the one file named, never a sequence, so
  single still images (``.jpg``, ``.png``, ``.webp``) stay openable.

Raw elementary streams (h264, hevc, m4v, h263, mpegvideo) and every ordinary
container are untouched. A caller that trusts its sources can allow them
(``snapshot(..., allow_indirect=True)``, ``snapshots --allow-indirect-sources``,
the service's ``allow_indirect_sources``): then FFmpeg's defaults apply.
"""

from __future__ import annotations

import errno
import functools

import av
from av.format import ContainerFormat

from engine.errors import IndirectSourceError, shown

#: Demuxers that read other files or URLs named inside the source, and capture
#: devices and script or filter-graph inputs, which are not files at all.
INDIRECT_FORMATS = frozenset({
    "hls", "applehttp", "dash", "webm_dash_manifest", "concat", "imf", "sdp", "rtp", "rtsp", "sap",
    "lavfi", "avisynth", "vapoursynth",
    "alsa", "fbdev", "kmsgrab", "oss", "pulse", "jack", "openal", "v4l2", "video4linux2", "x11grab",
    "xcbgrab", "dshow", "gdigrab", "avfoundation", "libcdio", "dv1394", "iec61883", "libdc1394",
})
#: What the first bytes of a refused text format look like, to name it in the error.
_SIGNATURES = ((b"#EXTM3U", "an HLS playlist"), (b"ffconcat", "an FFmpeg concat list"),
               (b"<?xml", "an XML manifest (DASH, IMF)"), (b"<MPD", "a DASH manifest"))


@functools.cache
def _direct_formats() -> str:
    names = set()
    for name in av.formats_available:
        try:
            ContainerFormat(name, "r")
        except ValueError:
            continue  # a muxer only
        names.add(name)
    return ",".join(sorted(names - INDIRECT_FORMATS))


def open_options(*, allow_indirect: bool) -> dict[str, str]:
    """The ``av.open`` options for a source: FFmpeg's allow-lists, unless allowed."""
    if allow_indirect:
        return {}
    return {"format_whitelist": _direct_formats(), "protocol_whitelist": "file", "pattern_type": "none"}


def refused_indirect(name: str, error: av.error.FFmpegError, *, allow_indirect: bool) -> IndirectSourceError | None:
    """The error to raise when ``av.open`` failed because an allow-list refused the
    source (FFmpeg answers EINVAL); None for any other failure."""
    if allow_indirect or getattr(error, "errno", None) != errno.EINVAL:
        return None
    what = "a format that opens other files or URLs"
    try:
        with open(name, "rb") as handle:
            head = handle.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    except OSError:
        head = b""
    for signature, description in _SIGNATURES:
        if head.startswith(signature):
            what = description
            break
    return IndirectSourceError(
        f"source {shown(name)}: {what}, which makes FFmpeg read other files or URLs; refused; "
        "valid: one media file (the caller may allow playlists, lists and sequences explicitly)"
    )
