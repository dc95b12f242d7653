"""``snapshot()``: the one entry point, wiring parse → open → probe → snapshots (plan,
decode, select, render: :mod:`engine.pipeline`) → write."""

from __future__ import annotations

import os

from engine import settings
from engine.errors import ProcessError, frees_on_failure, shown
from engine.params import ACTION, Request, parse, to_process_string
from engine.pipeline import Shot, Snapshots, probed
from engine.result import Result, Snapshot
from engine.writer import ImageWriter, Naming, check_writable, confine, inside, naming, saveas_target



@frees_on_failure
def snapshot(
    source: str | os.PathLike[str],
    process: str | Request,
    target: str | os.PathLike[str] | None = None,
    *,
    storage_root: str | os.PathLike[str] | None = None,
    allow_indirect: bool = False,
) -> Result:
    """Write the snapshots that ``process`` asks for from ``source``.

    ``target``: where the files go (SPEC §4); when None, the processing string's
    ``sys/saveas`` object under ``storage_root`` (default: ``$SNAPSHOTS_STORAGE_ROOT``
    or the current directory), else the current directory, named after the source.
    Raises a :class:`~engine.errors.SnapshotError` subclass; nothing is written
    when the processing string, the source or the target is refused.
    ``allow_indirect``: let the source be a playlist, concat list or image-sequence
    pattern that opens other files (refused by default, SPEC §6; engine.sources).
    """
    source_name = os.fspath(source)
    if isinstance(process, str):
        _check_order(source_name, process)
    request = parse(process) if isinstance(process, str) else process
    warnings = list(request.warnings)
    target_path, root = _resolve_target(request, target, storage_root, source_name, warnings)
    with probed(source_name, request, allow_indirect=allow_indirect) as (opened, container, info):
        names = naming(target_path, request.format, info.video_position, source_stem=_stem(source_name))
        warnings.extend(names.warnings)
        warnings.extend(info.warnings)
        check_writable(names.template)  # before decoding: a refused folder costs no job
        shots = Snapshots(request, info, container, opened.open, last_only=names.keeps_last_only)
        written: list[Snapshot] = []
        with ImageWriter(request.format, request.quality) as writer:
            for shot in shots:
                written.append(_submit(writer, names, root, shot))
        warnings.extend(shots.warnings)
        if names.keeps_last_only and shots.named > 1:
            warnings.append(
                f"target {names.template!r} has an image suffix: only the last of {shots.named} snapshots is kept")
        bytes_read = opened.bytes_read
    facts = info.facts
    errors = shots.stats.decode_errors
    if errors:
        warnings.append(f"source {source_name!r}: {errors} damaged packet(s) or frame(s) met")
    if info.looks_truncated:
        warnings.append(
            f"source {source_name!r}: the header lists {info.header_frames} frames but only "
            f"{info.packets_read} can be read: the file looks truncated"
        )
    return Result(
        source=source_name,
        process=process if isinstance(process, str) else to_process_string(request),
        stream=info.video_position,
        snapshots=tuple(written),
        warnings=tuple(warnings),
        decode_errors=errors,
        frames_decoded=shots.stats.frames_decoded,
        duration_ms=None if facts is None else facts.duration_ms,
        bytes_read=bytes_read,
    )


def _submit(writer: ImageWriter, names: Naming, bucket: str | None, shot: Shot) -> Snapshot:
    """Hand a rendered snapshot to the writer under its name; what the result says of it."""
    path = names.path(shot.serial)
    if bucket is not None:
        confine(path, bucket)
    writer.submit(path, shot.rgb)
    return Snapshot(
        serial=shot.serial, path=path, requested_ms=shot.requested_ms, pts_ms=shot.pts_ms, keyframe=shot.keyframe,
        width=int(shot.rgb.shape[1]), height=int(shot.rgb.shape[0]), dhash=shot.dhash, score=shot.score,
    )


def _check_order(source: str, process: str) -> None:
    """A processing string given as the source (and so, most likely, the source as
    the processing string) is named as such, not as an unknown action."""
    looks_process = source.startswith(ACTION) and source[len(ACTION):len(ACTION) + 1] in ("", ",", "|")
    if looks_process and not process.startswith(ACTION) and not os.path.exists(source):
        raise ProcessError(
            f"process {shown(process)} is not a processing string but source {shown(source)} is: "
            "the arguments are swapped; the order is SOURCE PROCESS "
            f"(snapshots {shown(process)} {shown(source)})"
        )


def _resolve_target(
    request: Request,
    target: str | os.PathLike[str] | None,
    storage_root: str | os.PathLike[str] | None,
    source: str,
    warnings: list[str],
) -> tuple[str, str | None]:
    """The target path and the folder it must stay inside (None: unconfined).

    An explicit target is the caller's own path, unless a storage root is given:
    then it is taken relative to the root and may not leave it, as saveas objects
    may not leave their bucket.
    """
    if target is not None:
        if request.saveas is not None:
            warnings.append("sys/saveas: ignored because an explicit target was given")
        if storage_root is None:
            return os.fspath(target), None
        root = os.fspath(storage_root)
        return inside(root, os.fspath(target), "target"), root
    if request.saveas is not None:
        root = os.fspath(storage_root) if storage_root is not None else settings.storage_root()
        path = saveas_target(request.saveas, root)
        return path, os.path.join(root, request.saveas.bucket)
    return os.path.join(os.getcwd(), _stem(source)), None


def _stem(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0] or "snapshot"
