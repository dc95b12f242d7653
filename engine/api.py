"""``snapshot()``: the one entry point, wiring parse → probe → plan → decode → write."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field

import av
import numpy as np

from engine.decoder import Decoder, DecodeStats
from engine.errors import ProcessError, UndecodableError, frees_on_failure, shown
from engine.parallel import decoder_count, parallel_targets
from engine.imaging import frame_luma, quarter_turns, render_frame
from engine.limits import check_stream
from engine.params import ACTION, Mode, Request, parse, to_process_string
from engine.planner import Plan, StreamFacts, Target, decode_runs, plan
from engine.probe import MediaInfo, choose_stream, open_source, probe
from engine.result import Result, Snapshot
from engine.select import Scorer, is_event, select_events
from engine.writer import ImageWriter, Naming, check_writable, confine, inside, naming, saveas_target
import kernels
from kernels import hash_to_hex

STORAGE_ROOT_ENV = "SNAPSHOTS_STORAGE_ROOT"


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
    # Every container of the job (the probe's fresh opens, each decoder's) opens the
    # source the same way.
    reopen = functools.partial(open_source, source_name, allow_indirect=allow_indirect)
    with closing(reopen()) as container:
        _, stream = choose_stream(container, request.stream, source_name)
        check_stream(container, stream.index, request, source_name)  # SPEC §3: before any decoding
        info = probe(container, position=request.stream, reopen=reopen)
        names = naming(target_path, request.format, info.video_position, source_stem=_stem(source_name))
        warnings.extend(names.warnings)
        warnings.extend(info.warnings)
        check_writable(names.template)  # before decoding: a refused folder costs no job
        with ImageWriter(request.format, request.quality) as writer:
            job = _Job(request, info, names, root, container, writer, reopen)
            job.stats.damaged |= info.damaged
            if info.is_cover:
                job.cover()
            else:
                job.frames()
        warnings.extend(job.warnings)
    facts = info.facts
    errors = job.stats.decode_errors
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
        snapshots=tuple(job.snapshots),
        warnings=tuple(warnings),
        decode_errors=errors,
        frames_decoded=job.stats.frames_decoded,
        duration_ms=None if facts is None else facts.duration_ms,
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
        root = os.fspath(storage_root) if storage_root is not None else os.environ.get(STORAGE_ROOT_ENV, os.getcwd())
        path = saveas_target(request.saveas, root)
        return path, os.path.join(root, request.saveas.bucket)
    return os.path.join(os.getcwd(), _stem(source)), None


def _stem(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0] or "snapshot"


@dataclass
class _Job:
    request: Request
    info: MediaInfo
    names: Naming
    bucket: str | None
    container: av.container.InputContainer
    writer: ImageWriter
    reopen: Callable[[], av.container.InputContainer]
    """Opens the source anew (a decoder's own container)."""
    snapshots: list[Snapshot] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    stats: DecodeStats = field(default_factory=DecodeStats)
    chosen: int | None = None
    """m_dhash: how many events the selection chose (before a last-only cut)."""

    def cover(self) -> None:
        if self.request.mode is not Mode.INTER or self.request.start_ms or self.request.count or self.request.interval_ms:
            self.warnings.append("the source is audio with a cover picture: the cover is the one snapshot, mode parameters do not apply")
        frame = self._decoder(keyframes_only=False).cover()
        self._write(frame, requested_ms=0.0, pts_ms=0.0)

    def frames(self) -> None:
        facts = self.info.facts
        job_plan = plan(self.request, facts, last_only=self.names.keeps_last_only)
        self.warnings.extend(job_plan.warnings)
        if self.request.mode is Mode.DHASH:
            self._dhash(job_plan, facts)
        else:
            for target, frame in self._decode(job_plan, facts):
                self._write(frame, target.requested_ms, _pts_ms(frame, facts))
        if self.stats.missed_targets:
            if not self.snapshots and job_plan.targets:
                raise UndecodableError(
                    f"source {self.info.path!r}: no frame could be decoded for any of "
                    f"{len(job_plan.targets)} target(s); the stream is damaged"
                )
            self.warnings.append(f"{self.stats.missed_targets} target(s) skipped: no decodable frame reaches them")
        unvouched = sum(1 for t in job_plan.targets if t.frame < facts.leading)
        if unvouched:
            self.warnings.append(
                f"{unvouched} snapshot(s) show pictures from before the stream's first keyframe (it starts mid-GOP): "
                "they are decoded from references the file does not hold and may show concealment"
            )
        asked = self.chosen if self.request.mode is Mode.DHASH else job_plan.planned
        if self.names.keeps_last_only and asked is not None and asked > 1:
            self.warnings.append(
                f"target {self.names.template!r} has an image suffix: only the last of {asked} snapshots is kept"
            )

    def _dhash(self, job_plan: Plan, facts: StreamFacts) -> None:
        """Score every candidate; write events at once when no later candidate can
        change the choice (num 0), else choose after scoring and decode the chosen."""
        streaming = self.request.count == 0 and not self.names.keeps_last_only
        scorer = Scorer()
        scored: list[tuple[Target, str, float]] = []
        for target, frame in self._decode(job_plan, facts):
            turns = quarter_turns(frame, self.request.autorotate)
            value = kernels.dhash(frame_luma(frame, turns))
            score = scorer.score(value)
            hex_value = hash_to_hex(value)
            if streaming and is_event(len(scored), score, self.request.threshold):
                self._write(frame, target.requested_ms, _pts_ms(frame, facts), hex_value, score)
            scored.append((target, hex_value, score))
        if streaming:
            return
        chosen = select_events([s for _, _, s in scored], self.request.threshold, self.request.count)
        self.chosen = len(chosen)
        if len(chosen) < self.request.count:
            self.warnings.append(
                f"m_dhash: only {len(chosen)} event(s) (the first candidate and those scoring above "
                f"thr_{self.request.threshold}) of the num_{self.request.count} asked"
            )
        if self.names.keeps_last_only:
            chosen = chosen[-1:]
        picks = [scored[i] for i in chosen]
        frames = np.array([t.frame for t, _, _ in picks], dtype=np.int64)
        second = Plan(
            targets=tuple(t for t, _, _ in picks),
            runs=decode_runs(frames, facts.keyframe),
            keyframes_only=job_plan.keyframes_only,
        )
        for (target, frame), (_, hex_value, score) in zip(self._decode(second, facts), picks):
            self._write(frame, target.requested_ms, _pts_ms(frame, facts), hex_value, score)

    def _decoder(self, *, keyframes_only: bool) -> Decoder:
        # One tally across the job's passes.
        return Decoder(
            self.container,
            self.info.stream_index,
            keyframes_only=keyframes_only,
            careful=self.info.looks_damaged,
            stats=self.stats,
            reopen=self.reopen,
        )

    def _decode(self, job_plan: Plan, facts: StreamFacts) -> Iterator[tuple[Target, av.VideoFrame]]:
        by_frame = {t.frame: t for t in job_plan.targets}
        # Damaged files stay on one careful decoder: its damage accounting and
        # slice threads are what the hostile-input tests pin down.
        single = job_plan.keyframes_only or self.info.looks_damaged or facts.forward
        workers = 1 if single else decoder_count(len(job_plan.runs))
        if workers > 1:
            targets = parallel_targets(self.reopen, self.info.stream_index,
                                       job_plan, facts, self.stats, workers)
        else:
            targets = self._decoder(keyframes_only=job_plan.keyframes_only).targets(job_plan, facts)
        for index, frame in targets:
            yield by_frame[index], frame

    def _keyframe(self, frame: av.VideoFrame) -> bool:
        """Key-flagged as m_key counts keyframes (the container's flag, which some
        decoders, CineForm among them, never set on the picture)."""
        facts = self.info.facts
        if facts is not None and frame.pts is not None:
            index = int(np.searchsorted(facts.pts, frame.pts))
            if index < facts.frame_count and facts.pts[index] == frame.pts:
                return bool(facts.keyframe[index])
        return bool(frame.key_frame)

    def _write(self, frame: av.VideoFrame, requested_ms: float, pts_ms: float, hex_value: str | None = None, score: float | None = None) -> None:
        rgb = render_frame(frame, quarter_turns(frame, self.request.autorotate), self.request)
        serial = len(self.snapshots) + 1
        path = self.names.path(serial)
        if self.bucket is not None:
            confine(path, self.bucket)
        self.writer.submit(path, rgb)
        self.snapshots.append(
            Snapshot(
                serial=serial,
                path=path,
                requested_ms=round(requested_ms, 3),
                pts_ms=round(pts_ms, 3),
                keyframe=self._keyframe(frame),
                width=int(rgb.shape[1]),
                height=int(rgb.shape[0]),
                dhash=hex_value,
                score=None if score is None else round(score, 4),
            )
        )


def _pts_ms(frame: av.VideoFrame, facts: StreamFacts) -> float:
    return float(facts.ms(frame.pts))
