"""Names and files: the target's naming form, the encoders, atomic writes.

Knows nothing of modes: it is handed serial numbers and images.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np

from engine.errors import TargetError, shown
from engine.files import escape, is_within, real_location, replace_atomically, temporary_name
from engine.params import ImageFormat, SaveAs

IMAGE_SUFFIXES = {".jpg": ImageFormat.JPG, ".jpeg": ImageFormat.JPG, ".png": ImageFormat.PNG, ".webp": ImageFormat.WEBP}
_VARIABLE = re.compile(r"\{index\}|\{autoext\}|%d")
#: Longest target path (bytes): Linux's PATH_MAX; a longer one cannot be opened.
PATH_MAX = 4096
#: Images being encoded or waiting to be, at most: bounds memory on long jobs.
MAX_PENDING_WRITES = 4


@dataclass(frozen=True)
class Naming:
    """How serial number j becomes a path (SPEC §4)."""

    template: str
    format: ImageFormat
    stream_position: int
    keeps_last_only: bool
    """The target names one file (an image suffix, no variable): only the last snapshot is kept."""
    warnings: tuple[str, ...] = ()

    def path(self, serial: int) -> str:
        ext = self.format.value
        if self.keeps_last_only:
            return self.template
        if _VARIABLE.search(self.template):
            return _VARIABLE.sub(lambda m: ext if m.group() == "{autoext}" else str(serial), self.template)
        return f"{self.template}_{self.stream_position}_{serial}.{ext}"


def naming(target: str, image_format: ImageFormat, stream_position: int, *, source_stem: str = "snapshot") -> Naming:
    """Interpret a target: a directory, a prefix, a name with variables, or one file."""
    if "\x00" in target:
        raise TargetError(f"target {shown(target)}: contains a NUL byte; valid: a path without NUL")
    if not target:
        raise TargetError("target: empty; valid: a path prefix such as 'out/clip'")
    if len(os.fsencode(target)) > PATH_MAX:
        raise TargetError(f"target {shown(target)}: longer than {PATH_MAX} bytes; valid: a path the filesystem accepts")
    if target.endswith(("/", os.sep)) or os.path.isdir(target):
        target = os.path.join(target, source_stem)
    warnings: list[str] = []
    suffix = os.path.splitext(target)[1].lower()
    suffix_format = IMAGE_SUFFIXES.get(suffix)
    if suffix_format is not None and suffix_format is not image_format:
        warnings.append(
            f"target {shown(target)}: suffix {suffix!r} disagrees with f_{image_format.value}; "
            f"the name is kept and the image is {image_format.value.upper()}"
        )
    keeps_last_only = suffix_format is not None and not _VARIABLE.search(target)
    return Naming(target, image_format, stream_position, keeps_last_only, tuple(warnings))


def check_writable(template: str) -> None:
    """Refuse a target whose folder cannot be written, before any decoding.

    An existing folder is tried with a file created and removed at once (root
    passes every permission check, a read-only mount does not); a missing one must
    have an existing, writable folder above it, which the writer creates it in.
    """
    folder = os.path.dirname(template) or "."
    if os.path.isdir(folder):
        probe = temporary_name(os.path.join(folder, "probe"))
        try:
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        except OSError as ex:
            raise TargetError(
                f"target {shown(template)}: folder {shown(folder)} cannot be written ({ex.strerror or ex}); "
                "valid: a target in a writable folder"
            ) from ex
        os.close(fd)
        os.unlink(probe)
        return
    above = os.path.abspath(folder)
    while not os.path.lexists(above):
        above = os.path.dirname(above)
    if not os.path.isdir(above) or not os.access(above, os.W_OK | os.X_OK):
        why = "is not a folder" if not os.path.isdir(above) else "cannot be written"
        raise TargetError(
            f"target {shown(template)}: folder {shown(folder)} cannot be created: {shown(above)} {why}; "
            "valid: a target in a writable folder"
        )


def saveas_target(saveas: SaveAs, storage_root: str) -> str:
    """The target path of ``sys/saveas``: ``<root>/<bucket>/<object>``, refusing escapes."""
    bucket = saveas.bucket
    if bucket in (".", "..") or "/" in bucket or "\\" in bucket or "\x00" in bucket:
        raise TargetError(f"b: bucket {shown(bucket)} is not a plain folder name; valid: one path component")
    bucket_dir = os.path.join(storage_root, bucket)
    path = inside(bucket_dir, saveas.object, "o: object", f"bucket {shown(bucket)}")
    if not os.path.isdir(bucket_dir):
        raise TargetError(
            f"b: bucket {shown(bucket)} does not exist under storage root {storage_root!r}; "
            f"valid: an existing folder of the storage root (create {shown(bucket_dir)})"
        )
    return path


def inside(root: str, relative: str, what: str, root_name: str | None = None) -> str:
    """``root/relative``, refusing a relative path that is absolute, climbs out with
    '..' or holds a NUL (symlinks are checked at write time by :func:`confine`)."""
    why = escape(relative)
    if why is not None:
        valid = _VALID_RELATIVE[why].format(where=root_name or repr(root))
        raise TargetError(f"{what} {shown(relative)} {why}; valid: {valid}")
    return os.path.join(root, relative)


_VALID_RELATIVE = {
    "contains a NUL byte": "a relative path without NUL",
    "is an absolute path": "a path relative to {where}",
    "climbs out with '..'": "a path inside {where}",
}


def confine(path: str, root: str) -> None:
    """Refuse a path whose real location (symlinks resolved) is outside ``root``."""
    real = real_location(path)
    if not is_within(real, root):
        raise TargetError(f"target {shown(path)}: resolves to {shown(real)}, outside {root!r}; valid: a path inside it")


# --- encoders ------------------------------------------------------------------


def _encode_jpg(rgb: np.ndarray, quality: int) -> bytes:
    return _imencode(".jpg", rgb, [cv2.IMWRITE_JPEG_QUALITY, quality])


def _encode_png(rgb: np.ndarray, quality: int) -> bytes:
    # Level 1: PNG is lossless at every level; higher levels cost 3–5× the time for
    # a few percent of size.
    return _imencode(".png", rgb, [cv2.IMWRITE_PNG_COMPRESSION, 1])


def _encode_webp(rgb: np.ndarray, quality: int) -> bytes:
    return _imencode(".webp", rgb, [cv2.IMWRITE_WEBP_QUALITY, quality])


def _imencode(ext: str, rgb: np.ndarray, params: list[int]) -> bytes:
    ok, data = cv2.imencode(ext, cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR), params)
    if not ok:
        raise TargetError(f"encoder: OpenCV could not encode a {rgb.shape} image as {ext}")
    return data.tobytes()


#: Registry: output format -> encoder (RGB uint8 image, quality) -> file bytes.
ENCODERS: dict[ImageFormat, Callable[[np.ndarray, int], bytes]] = {
    ImageFormat.JPG: _encode_jpg,
    ImageFormat.PNG: _encode_png,
    ImageFormat.WEBP: _encode_webp,
}


def write_atomic(path: str, data: bytes) -> None:
    """Put an image in place whole or not at all (:func:`engine.files.replace_atomically`):
    a reader never sees a half-written image, whatever happens to this process."""
    try:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    except OSError as ex:
        raise TargetError(f"target {shown(path)}: cannot create it ({ex.strerror or ex})") from ex
    try:
        replace_atomically(path, data)
    except OSError as ex:
        raise TargetError(f"target {shown(path)}: cannot write it ({ex.strerror or ex})") from ex


class ImageWriter:
    """Encodes and writes images in a small thread pool (OpenCV releases the GIL),
    with at most MAX_PENDING_WRITES images in flight.

    A job's output is all or nothing (SPEC §4): the writer remembers every image it
    has put in place, and when the job fails (an error, an interrupt, a write that
    fails) it waits for the writes in flight and removes them all.
    """

    def __init__(self, image_format: ImageFormat, quality: int, *, workers: int = 2) -> None:
        self._encode = ENCODERS[image_format]
        self._quality = quality
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="snapshot-writer")
        self._slots = threading.BoundedSemaphore(MAX_PENDING_WRITES)
        self._futures: list[Future[None]] = []
        self._placed: list[str] = []
        self._placed_lock = threading.Lock()

    def submit(self, path: str, rgb: np.ndarray) -> None:
        """Queue one image; raises at once the first failure of an earlier write, so a
        job on a full disk stops instead of decoding on."""
        for future in self._futures:
            if future.done() and future.exception() is not None:
                future.result()
        self._slots.acquire()
        try:
            future = self._pool.submit(self._write, path, rgb)
        except BaseException:
            self._slots.release()
            raise
        slots = self._slots  # not self: a callback holding the writer would be a cycle
        future.add_done_callback(lambda _: slots.release())
        self._futures.append(future)

    def _write(self, path: str, rgb: np.ndarray) -> None:
        write_atomic(path, self._encode(rgb, self._quality))
        with self._placed_lock:
            self._placed.append(path)

    @property
    def placed(self) -> list[str]:
        """The paths written so far (in completion order)."""
        with self._placed_lock:
            return list(self._placed)

    def close(self) -> None:
        """Wait for every write; on the first failure remove every image and raise it."""
        try:
            for future in self._futures:
                future.result()
        except BaseException:
            self._abandon()
            raise
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._futures.clear()

    def _abandon(self) -> None:
        """Let the writes in flight end (they cannot be stopped midway), then remove
        every image this writer put in place."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._futures.clear()
        with self._placed_lock:
            placed, self._placed = self._placed, []
        for path in placed:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            except OSError:
                pass  # a folder made read-only meanwhile: nothing more can be done

    def __enter__(self) -> ImageWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.close()
        else:
            self._abandon()
