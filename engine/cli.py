"""``snapshots SOURCE PROCESS [-o TARGET] [--storage-root DIR] [--json]``,
``snapshots serve …`` (HTTP service) and ``snapshots batch MANIFEST …``.

Exit codes come from :data:`engine.errors.EXIT_CODES`; a failure prints one line
on stderr, never a traceback (and, with ``--json``, one ``{"error": …}`` object on
stdout). A source literally named ``serve`` or ``batch`` is given as ``./serve``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence

from engine.api import snapshot
from engine.console import prefix_kernel_warnings
from engine.errors import SnapshotError, exit_code_for, one_line
from engine.heap import pin_mmap_threshold
from engine.interrupts import Terminated, exit_status, sigterm_raises

PROG = "snapshots"
#: Subcommands: name -> module with a ``main(argv) -> int``; imported only when used,
#: so a plain snapshot job never loads the service or batch stacks.
SUBCOMMANDS = {"serve": "engine.service.cli", "batch": "engine.batch.cli"}
#: Top-level modules of the optional extras -> the extra that installs them.
_EXTRA_OF = {"fastapi": "service", "uvicorn": "service", "starlette": "service", "pydantic": "service",
             "dask": "batch", "distributed": "batch", "tqdm": "batch"}

DESCRIPTION = """\
Write snapshots (JPG/PNG/WebP frames) of a video, as a processing string asks.

subcommands (each has its own --help):
  snapshots SOURCE PROCESS [-o TARGET]   one job (this page)
  snapshots serve --config FILE [options] HTTP service (needs the [service] extra)
  snapshots batch MANIFEST [options]     many jobs from a manifest (needs the [batch] extra)
"""

EPILOG = """\
processing string: video/snapshots,<key>_<value>,...[|sys/saveas,b_<b64>,o_<b64>]
  f          output format (required): jpg, png, webp
  m          mode: inter (default), key, avg, dhash
  ss         start, ms from the first frame (default 0)
  inter      m_inter: interval in ms; 0 = every frame (default 0)
  num        most snapshots; m_avg: how many, spread evenly (required ≥ 1)
  thr        m_dhash: change threshold, percent 0-100 (default 0)
  w, h       box size in pixels, 32-4096; pw, ph: percent of the source, 1-200
  scaletype  stretch (default), crop, fill, fit
  q          JPG/WebP quality 1-100 (default 90); ar: auto (default) or 0
  sm         seek: accurate (default) or fast (nearest keyframe before)
  vs         video stream position (default: the best one)

examples:
  snapshots clip.mp4 'video/snapshots,f_jpg,inter_10000' -o out/clip         every 10 s
  snapshots clip.mp4 'video/snapshots,f_png,m_key,num_5' -o out/clip         first 5 keyframes
  snapshots clip.mp4 'video/snapshots,f_jpg,m_avg,num_8,w_320,h_180,scaletype_fit' -o out/
  snapshots clip.mp4 'video/snapshots,f_webp,m_dhash,thr_20,num_10' -o out/clip   scene changes

exit codes: 0 done, 2 processing string, 3 source, 4 target, 1 other;
a failure prints one line on stderr (with --json also {"error": {...}} on stdout).
"""


def version() -> str:
    """The installed distribution's version, else the source tree's."""
    try:
        from importlib.metadata import PackageNotFoundError, version as dist_version

        return dist_version("snapshots-engine")
    except PackageNotFoundError:
        from engine import __version__

        return __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        usage=f"{PROG} SOURCE PROCESS [-o TARGET] [options]\n       {PROG} {{serve,batch}} ...",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("source", help="video, or audio file with cover art (a local file; URLs are not supported yet)")
    parser.add_argument("process", help="processing string, e.g. 'video/snapshots,f_jpg,inter_10000' (keys below)")
    parser.add_argument("-o", "--target", help="output prefix ('out/clip' → out/clip_0_1.jpg …), name with {index}/{autoext}/%%d, or one file")
    parser.add_argument("--storage-root", help="folder holding the buckets of sys/saveas (default: $SNAPSHOTS_STORAGE_ROOT or the current folder)")
    parser.add_argument("--json", action="store_true", help="print the result (or the error) as JSON on stdout")
    parser.add_argument("--allow-indirect-sources", action="store_true",
                        help="let the source be a playlist (HLS, DASH), concat list or image-sequence pattern "
                             "that makes FFmpeg open other files (refused by default)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    pin_mmap_threshold()
    if argv and argv[0] in SUBCOMMANDS:
        try:
            return importlib.import_module(SUBCOMMANDS[argv[0]]).main(argv[1:])
        except ModuleNotFoundError as missing:
            extra = _EXTRA_OF.get((missing.name or "").partition(".")[0])
            if extra is None:
                raise
            print(f"{PROG} {argv[0]}: error: needs the [{extra}] extra (no module named {missing.name!r}); "
                  f"install it: pip install 'snapshots-engine[{extra}]' (from a checkout: pip install -e '.[{extra}]')",
                  file=sys.stderr)
            return 2
    args = build_parser().parse_args(argv)
    prefix_kernel_warnings(PROG)
    try:
        with sigterm_raises():
            result = snapshot(args.source, args.process, args.target, storage_root=args.storage_root,
                              allow_indirect=args.allow_indirect_sources)
    except SnapshotError as error:
        return _fail(str(error), exit_code_for(error), error, args.json)
    except KeyboardInterrupt as interrupt:
        what = "terminated (SIGTERM)" if isinstance(interrupt, Terminated) else "interrupted"
        return _fail(f"{what}; the images this job had written were removed", exit_status(interrupt), interrupt, args.json)
    except Exception as error:  # a bug: still one line, and a distinct code
        return _fail(f"internal error: {type(error).__name__}: {error}", exit_code_for(error), error, args.json)
    for warning in result.warnings:
        print(f"{PROG}: warning: {warning}", file=sys.stderr)
    if args.json:
        print(result.to_json(indent=2))
    else:
        for shot in result.snapshots:
            print(shot.path)
    return 0


def _fail(message: str, code: int, error: BaseException, as_json: bool) -> int:
    # One line, however long or multi-line what the message quotes.
    line = one_line(message)
    print(f"{PROG}: error: {line}", file=sys.stderr)
    if as_json:
        print(json.dumps({"error": {"class": type(error).__name__, "message": line, "exit": code}}))
    return code



if __name__ == "__main__":
    sys.exit(main())
