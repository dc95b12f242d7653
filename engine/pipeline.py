"""A job's frames, from a probed source to rendered snapshots: plan → decode → select
→ render, data flowing one way.

:class:`Snapshots` is the seam between the engine and what it feeds: iterate it
for each snapshot's metadata and its RGB array, in time order. The file writer
(:func:`engine.api.snapshot`) names and encodes them; an in-memory frames API or a
sprite sheet can consume the same stream instead::

    with probed(path, request) as (source, container, info):
        for shot in Snapshots(request, info, container, source.open):
            ...  # shot.rgb, shot.pts_ms …
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass

import av
import numpy as np

from engine.decoder import Decoder, DecodeStats, Resolved, resolve
from engine.dhash_selection import DhashSelector
from engine.errors import UndecodableError
from engine.imaging import quarter_turns, render_frame
from engine.params import Mode, Request
from engine.planner import Listed, Plan, plan
from engine.limits import check_stream
from engine.probe import MediaInfo, Source, choose_stream, probe


@contextmanager
def probed(
    path: str, request: Request, *, allow_indirect: bool = False,
) -> Iterator[tuple[Source, av.container.InputContainer, MediaInfo]]:
    """Open a source for a request: choose the stream, refuse an output size past
    the limits (SPEC §3, before any decoding), probe it. Every container of the job
    (the probe's, each decoder's) opens through the :class:`Source`, which counts
    what it reads; all are closed on leaving."""
    with Source(path, allow_indirect=allow_indirect) as source, closing(source.open()) as container:
        _, stream = choose_stream(container, request.stream, path)
        check_stream(container, stream.index, request, path)
        yield source, container, probe(container, position=request.stream, reopen=source.open)


@dataclass(frozen=True)
class Shot:
    """One snapshot, rendered: which source frame it shows, and its pixels."""

    serial: int
    """1, 2, … in time order."""
    requested_ms: float
    pts_ms: float
    keyframe: bool
    rgb: np.ndarray
    """Height × width × 3, uint8, rotated and sized as the request says."""
    dhash: str | None = None
    score: float | None = None


class Snapshots:
    """The snapshots a request names in a probed source, rendered, in time order.

    Iterate once; afterwards ``warnings`` and ``stats`` say what happened.
    ``last_only``: the consumer keeps only the last snapshot (an image-suffix
    target), so only that one is rendered.
    """

    def __init__(
        self, request: Request, info: MediaInfo, container: av.container.InputContainer,
        open_container: Callable[[], av.container.InputContainer], *, last_only: bool = False,
    ) -> None:
        self.request = request
        self.info = info
        self._container = container
        self._open = open_container
        self._last_only = last_only
        self.warnings: list[str] = []
        self._planned = 0
        self.stats = DecodeStats()
        self.stats.damaged |= info.damaged

    def __iter__(self) -> Iterator[Shot]:
        if self.info.is_cover:
            yield from self._cover()
            return
        facts = self.info.facts
        job = plan(self.request, facts)
        serial = 0
        unvouched = 0
        if self.request.mode is Mode.DHASH:
            shots = self._dhash(job)
        else:
            shots = self._frames(job)
        for resolved, dhash, score in shots:
            serial += 1
            unvouched += facts.unvouched(resolved.frame.pts)
            yield self._shot(serial, job, resolved, dhash, score)
        if self.stats.missed_targets:
            if serial == 0:
                raise UndecodableError(
                    f"source {self.info.path!r}: no frame could be decoded for any target; the stream is damaged")
            self.warnings.append(f"{self.stats.missed_targets} target(s) skipped: no decodable frame reaches them")
        elif serial == 0 and self._planned == 0:
            self.warnings.append(f"no frame matches m_{self.request.mode.value} from ss_{self.request.start_ms}")
        if unvouched:
            self.warnings.append(
                f"{unvouched} snapshot(s) show pictures from before the stream's first keyframe (it starts mid-GOP): "
                "they are decoded from references the file does not hold and may show concealment"
            )

    @property
    def named(self) -> int:
        """Snapshots the request names (before a last-only cut)."""
        return self._planned

    def _resolved(self, job: Plan, *, dry: bool = False) -> Iterator[Resolved]:
        return resolve(job, self.info.facts, open_container=self._open, container=self._container,
                       stream_index=self.info.stream_index, careful=self.info.looks_damaged, stats=self.stats,
                       dry=dry)

    def _frames(self, job: Plan) -> Iterator[tuple[Resolved, None, None]]:
        """The frames the plan names, the first ``num`` of them. When only the last
        is kept, the packets alone say which frames answer (a dry pass, decoding
        nothing); then only the last is decoded."""
        found = self._resolved(job, dry=self._last_only)
        if job.count:
            found = itertools.islice(found, job.count)
        if not self._last_only:
            for resolved in found:
                self._planned += 1
                yield resolved, None, None
            return
        last = None
        for last in found:
            self._planned += 1
        if last is not None:
            only = Plan(times=Listed(job.times.clock, (last.time,)), keyframes_only=job.keyframes_only)
            for resolved in self._resolved(only):
                yield resolved, None, None

    def _dhash(self, job: Plan) -> Iterator[tuple[Resolved, str | None, float | None]]:
        """Score every candidate; write events at once when no later candidate can
        change the choice, else choose after scoring and decode the chosen."""
        request = self.request
        selector = DhashSelector(request.threshold, request.count, autorotate=request.autorotate,
                                 last_only=self._last_only)
        times: list[int] = []
        for resolved in self._resolved(job):
            scored = selector.feed(resolved.frame)
            times.append(resolved.time)
            if scored.write_now:
                self._planned += 1
                yield resolved, scored.dhash, scored.score
        chosen = selector.finish()
        if selector.streaming:
            return
        self._planned = selector.chosen or 0
        if (shortfall := selector.shortfall()) is not None:
            self.warnings.append(shortfall)
        second = Plan(times=Listed(job.times.clock, tuple(times[i] for i, _ in chosen)),
                      keyframes_only=job.keyframes_only)
        for resolved, (_, scored) in zip(self._resolved(second), chosen):
            yield resolved, scored.dhash, scored.score

    def _cover(self) -> Iterator[Shot]:
        request = self.request
        if request.mode is not Mode.INTER or request.start_ms or request.count or request.interval_ms:
            self.warnings.append(
                "the source is audio with a cover picture: the cover is the one snapshot, mode parameters do not apply")
        decoder = Decoder(self._container, self.info.stream_index, stats=self.stats)
        frame = decoder.cover(self.info.path)
        rgb = render_frame(frame, quarter_turns(frame, request.autorotate), request)
        yield Shot(1, 0.0, 0.0, bool(frame.key_frame), rgb)

    def _shot(self, serial: int, job: Plan, resolved: Resolved, dhash: str | None, score: float | None) -> Shot:
        frame = resolved.frame
        rgb = render_frame(frame, quarter_turns(frame, self.request.autorotate), self.request)
        return Shot(
            serial=serial,
            requested_ms=round(job.times.clock.to_ms(resolved.time), 3),
            pts_ms=round(float(self.info.facts.ms(frame.pts)), 3),
            keyframe=resolved.keyframe,
            rgb=rgb,
            dhash=dhash,
            score=None if score is None else round(score, 4),
        )
