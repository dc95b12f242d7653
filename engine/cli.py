"""``snapshots SOURCE PROCESS [-o TARGET] [--storage-root DIR] [--json]``,
``snapshots serve …`` (HTTP service) and ``snapshots batch MANIFEST …``.

Exit codes come from :data:`engine.errors.EXIT_CODES`; a failure prints one line
on stderr, never a traceback. A source literally named ``serve`` or ``batch`` is
given as ``./serve``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from engine.api import snapshot
from engine.errors import SnapshotError, exit_code_for, one_line
from engine.heap import pin_mmap_threshold
from engine.interrupts import Terminated, exit_status, sigterm_raises

PROG = "snapshots"
#: Subcommands: name -> module with a ``main(argv) -> int``; imported only when used,
#: so a plain snapshot job never loads the service or batch stacks.
SUBCOMMANDS = {"serve": "engine.service.cli", "batch": "engine.batch.cli"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Write snapshots (JPG/PNG/WebP frames) of a video, as a processing string asks.",
        epilog="example: snapshots clip.mp4 'video/snapshots,f_jpg,w_512,h_512,scaletype_crop,inter_10000' -o out/clip",
    )
    parser.add_argument("source", help="video, or audio file with cover art")
    parser.add_argument("process", help="processing string, e.g. 'video/snapshots,f_jpg,inter_10000'")
    parser.add_argument("-o", "--target", help="output prefix ('out/clip' → out/clip_0_1.jpg …), name with {index}/{autoext}/%%d, or one file")
    parser.add_argument("--storage-root", help="folder holding the buckets of sys/saveas (default: $SNAPSHOTS_STORAGE_ROOT or the current folder)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    parser.add_argument("--allow-indirect-sources", action="store_true",
                        help="let the source be a playlist (HLS, DASH), concat list or image-sequence pattern "
                             "that makes FFmpeg open other files (refused by default)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    pin_mmap_threshold()
    if argv and argv[0] in SUBCOMMANDS:
        module = importlib.import_module(SUBCOMMANDS[argv[0]])
        return module.main(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        with sigterm_raises():
            result = snapshot(args.source, args.process, args.target, storage_root=args.storage_root,
                              allow_indirect=args.allow_indirect_sources)
    except SnapshotError as error:
        return _fail(str(error), exit_code_for(error))
    except KeyboardInterrupt as interrupt:
        what = "terminated (SIGTERM)" if isinstance(interrupt, Terminated) else "interrupted"
        return _fail(f"{what}; the images this job had written were removed", exit_status(interrupt))
    except Exception as error:  # a bug: still one line, and a distinct code
        return _fail(f"internal error: {type(error).__name__}: {error}", exit_code_for(error))
    for warning in result.warnings:
        print(f"{PROG}: warning: {warning}", file=sys.stderr)
    if args.json:
        print(result.to_json(indent=2))
    else:
        for shot in result.snapshots:
            print(shot.path)
    return 0


def _fail(message: str, code: int) -> int:
    # One line, however long or multi-line what the message quotes.
    print(f"{PROG}: error: {one_line(message)}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
