"""Parse a processing string into a frozen, validated :class:`Request`.

Grammar (SPEC §1)::

    video/snapshots,<key>_<value>,...[|sys/saveas,b_<b64>,o_<b64>[/notify,topic_<b64>]]

Pure: no I/O. Every rejection is a :class:`ProcessError` naming the key, the value
given and what would be valid.
"""

from __future__ import annotations

import base64
import binascii
import enum
from dataclasses import dataclass
from typing import Callable

from engine.errors import ProcessError

ACTION = "video/snapshots"
SAVEAS = "sys/saveas"
NOTIFY = "notify"

#: Integer values are 32-bit like the cloud API's ``int``; larger is refused.
INT_MAX = 2**31 - 1
#: A processing string longer than this is refused before any work.
MAX_PROCESS_LENGTH = 8192


class ImageFormat(enum.Enum):
    """Output image format (``f_``)."""

    JPG = "jpg"
    """Baseline JPEG, quality ``q`` (default 90)."""
    PNG = "png"
    """Lossless PNG."""
    WEBP = "webp"
    """WebP, quality ``q`` (extension: not in the seed)."""


class Mode(enum.Enum):
    """Snapshot mode (``m_``): which frames are captured."""

    INTER = "inter"
    """Every ``inter`` ms from ``ss`` (0 = every frame)."""
    KEY = "key"
    """Every keyframe from ``ss``."""
    AVG = "avg"
    """``num`` frames spread evenly over ``ss``..end."""
    DHASH = "dhash"
    """Frames whose difference hash changes by more than ``thr`` percent."""


class ScaleType(enum.Enum):
    """How the frame goes into the requested w×h box (``scaletype_``)."""

    STRETCH = "stretch"
    """Scale to exactly w×h, ignoring aspect."""
    CROP = "crop"
    """Cover w×h preserving aspect, keep the centre."""
    FILL = "fill"
    """Fit inside w×h preserving aspect, pad with black to w×h."""
    FIT = "fit"
    """Fit inside w×h preserving aspect; the image is the fitted size."""


class SeekMode(enum.Enum):
    """Seek precision (``sm_``, extension)."""

    ACCURATE = "accurate"
    """The exact frame at each target time."""
    FAST = "fast"
    """The nearest keyframe at or before each target time."""


@dataclass(frozen=True)
class SaveAs:
    """``sys/saveas``: object path inside a bucket folder of the storage root."""

    bucket: str
    object: str


@dataclass(frozen=True)
class Request:
    """A validated snapshot request. Times are milliseconds from the first frame."""

    format: ImageFormat
    mode: Mode = Mode.INTER
    start_ms: int = 0
    threshold: int = 0
    count: int = 0
    interval_ms: int = 0
    width: int | None = None
    height: int | None = None
    width_percent: int | None = None
    height_percent: int | None = None
    scaletype: ScaleType = ScaleType.STRETCH
    autorotate: bool = True
    quality: int = 90
    seek: SeekMode = SeekMode.ACCURATE
    stream: int | None = None
    saveas: SaveAs | None = None
    notify_topic: str | None = None
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Requests can be built directly by callers; keep the invariants the
        # planner relies on true whichever way they were made.
        if self.mode is Mode.AVG and self.count < 1:
            raise ProcessError("num: m_avg needs num ≥ 1 (the number of evenly spread snapshots)")
        for name in ("start_ms", "threshold", "count", "interval_ms"):
            if getattr(self, name) < 0:
                raise ProcessError(f"{name}: must be ≥ 0, got {getattr(self, name)}")


# --- value parsers: text -> value, or ProcessError -------------------------------


def _int_parser(low: int, high: int = INT_MAX) -> Callable[[str, str], int]:
    def parse(key: str, text: str) -> int:
        # isdecimal() admits non-ASCII digits ("٣"); only ASCII digits are a number here.
        if not text or not text.isascii() or not text.isdigit() or len(text) > 10:
            raise ProcessError(f"{key}: {text!r} is not an integer; valid: {_range(low, high)}")
        value = int(text)
        if not low <= value <= high:
            raise ProcessError(f"{key}: {value} is out of range; valid: {_range(low, high)}")
        return value

    return parse


def _range(low: int, high: int) -> str:
    return f"an integer ≥ {low}" if high == INT_MAX else f"an integer {low}–{high}"


def _choice_parser(values: dict[str, object]) -> Callable[[str, str], object]:
    def parse(key: str, text: str) -> object:
        if text not in values:
            valid = ", ".join(values)
            raise ProcessError(f"{key}: {text!r} is not valid; valid: {valid}")
        return values[text]

    return parse


def _enum_parser(cls: type[enum.Enum]) -> Callable[[str, str], object]:
    return _choice_parser({member.value: member for member in cls})


@dataclass(frozen=True)
class _Key:
    field: str
    parse: Callable[[str, str], object]


#: Registry of the action's keys: processing-string key -> Request field + parser.
KEYS: dict[str, _Key] = {
    "ss": _Key("start_ms", _int_parser(0)),
    "f": _Key("format", _enum_parser(ImageFormat)),
    "m": _Key("mode", _enum_parser(Mode)),
    "thr": _Key("threshold", _int_parser(0, 100)),
    "num": _Key("count", _int_parser(0)),
    "inter": _Key("interval_ms", _int_parser(0)),
    "w": _Key("width", _int_parser(32, 4096)),
    "h": _Key("height", _int_parser(32, 4096)),
    "pw": _Key("width_percent", _int_parser(0, 200)),
    "ph": _Key("height_percent", _int_parser(0, 200)),
    "scaletype": _Key("scaletype", _enum_parser(ScaleType)),
    # Extensions (README: "Extensions").
    "ar": _Key("autorotate", _choice_parser({"auto": True, "0": False})),
    "q": _Key("quality", _int_parser(1, 100)),
    "sm": _Key("seek", _enum_parser(SeekMode)),
    "vs": _Key("stream", _int_parser(0)),
}


# --- the grammar -------------------------------------------------------------------


def parse(process: str) -> Request:
    """Parse and validate a processing string; raise ProcessError on any fault."""
    if not isinstance(process, str):
        raise ProcessError(f"process: expected a string, got {type(process).__name__}")
    if len(process) > MAX_PROCESS_LENGTH:
        raise ProcessError(
            f"process: {len(process)} characters is too long; valid: at most {MAX_PROCESS_LENGTH}"
        )
    text = process.strip()
    action, sep, saveas_text = text.partition("|")
    if sep and not saveas_text:
        raise ProcessError("process: nothing after '|'; expected 'sys/saveas,b_…,o_…'")
    fields = _parse_action(action)
    saveas, topic = _parse_saveas(saveas_text) if sep else (None, None)
    return _build(fields, saveas, topic)


def _parse_action(action: str) -> dict[str, object]:
    name, *tokens = action.split(",")
    if name != ACTION:
        raise ProcessError(f"process: action {name[:60]!r} is not supported; valid: {ACTION!r}")
    fields: dict[str, object] = {}
    seen: set[str] = set()
    for token in tokens:
        key, sep, text = token.partition("_")
        if not sep:
            raise ProcessError(
                f"process: {token[:60]!r} is not a '<key>_<value>' pair; valid keys: {', '.join(KEYS)}"
            )
        spec = KEYS.get(key)
        if spec is None:
            raise ProcessError(f"{key[:60]}: unknown key; valid keys: {', '.join(KEYS)}")
        if key in seen:
            raise ProcessError(f"{key}: given twice ({text[:60]!r} the second time); give each key once")
        seen.add(key)
        fields[spec.field] = spec.parse(key, text)
    if "format" not in fields:
        raise ProcessError("f: missing; the output format is required; valid: jpg, png, webp")
    return fields


def _parse_saveas(text: str) -> tuple[SaveAs, str | None]:
    # ',' is outside both base64 alphabets, so '/notify,' can only be the separator.
    saveas_text, sep, notify_text = text.partition("/" + NOTIFY + ",")
    name, *tokens = saveas_text.split(",")
    if name != SAVEAS:
        raise ProcessError(f"process: {name[:60]!r} after '|' is not supported; valid: {SAVEAS!r}")
    values = _b64_pairs(SAVEAS, tokens, required=("b", "o"))
    topic = None
    if sep:
        topic = _b64_pairs(NOTIFY, notify_text.split(","), required=("topic",))["topic"]
    return SaveAs(bucket=values["b"], object=values["o"]), topic


def _b64_pairs(section: str, tokens: list[str], required: tuple[str, ...]) -> dict[str, str]:
    values: dict[str, str] = {}
    for token in tokens:
        key, sep, text = token.partition("_")
        if not sep or key not in required:
            raise ProcessError(
                f"{section}: {token[:60]!r} is not valid; valid: {', '.join(k + '_<base64>' for k in required)}"
            )
        if key in values:
            raise ProcessError(f"{key}: given twice in {section}; give each key once")
        values[key] = decode_b64(key, text)
    missing = [k for k in required if k not in values]
    if missing:
        raise ProcessError(f"{missing[0]}: missing in {section}; valid: {', '.join(k + '_<base64>' for k in required)}")
    return values


def decode_b64(key: str, text: str) -> str:
    """URL-safe base64 (padded or not; '+' and '/' accepted too) to stripped UTF-8 text."""
    body = text.rstrip("=").replace("+", "-").replace("/", "_")
    if not body or len(body) % 4 == 1:
        raise ProcessError(f"{key}: {text[:60]!r} is not base64; valid: URL-safe base64 text")
    try:
        raw = base64.b64decode(body + "=" * (-len(body) % 4), altchars=b"-_", validate=True)
        decoded = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        raise ProcessError(
            f"{key}: {text[:60]!r} is not base64 of UTF-8 text; valid: URL-safe base64 text"
        ) from None
    # The seed's own examples encode a trailing newline.
    value = decoded.strip()
    if not value:
        raise ProcessError(f"{key}: {text[:60]!r} decodes to an empty name; valid: a non-empty name")
    if "\x00" in value:
        raise ProcessError(f"{key}: {value[:60]!r} contains a NUL byte; valid: a name without NUL")
    return value


def _build(fields: dict[str, object], saveas: SaveAs | None, topic: str | None) -> Request:
    warnings: list[str] = []
    mode = fields.get("mode", Mode.INTER)
    if mode is Mode.AVG and fields.get("count", 0) == 0:
        raise ProcessError("num: 0 (the default) is not valid with m_avg; valid: num ≥ 1")
    if "threshold" in fields and mode is not Mode.DHASH:
        warnings.append(f"thr: ignored, it applies only to m_dhash (mode is m_{mode.value})")
    # pw/ph of 0 means "not set" (SPEC §1).
    for percent, absolute, pkey, akey in (
        ("width_percent", "width", "pw", "w"),
        ("height_percent", "height", "ph", "h"),
    ):
        if fields.get(percent) == 0:
            del fields[percent]
        if percent in fields and absolute in fields:
            warnings.append(f"{pkey}: ignored because {akey} is set")
            del fields[percent]
    if "quality" in fields and fields["format"] is ImageFormat.PNG:
        warnings.append("q: ignored, PNG is lossless")
    return Request(**fields, saveas=saveas, notify_topic=topic, warnings=tuple(warnings))


def to_process_string(request: Request) -> str:
    """The canonical processing string of a request (round-trips through parse)."""
    parts = [ACTION]
    defaults = Request(format=request.format)
    for key, spec in KEYS.items():
        value = getattr(request, spec.field)
        if key == "f" or value != getattr(defaults, spec.field):
            parts.append(f"{key}_{_format_value(key, value)}")
    text = ",".join(parts)
    if request.saveas:
        text += f"|{SAVEAS},b_{_b64(request.saveas.bucket)},o_{_b64(request.saveas.object)}"
        if request.notify_topic:
            text += f"/{NOTIFY},topic_{_b64(request.notify_topic)}"
    return text


def _format_value(key: str, value: object) -> str:
    if isinstance(value, enum.Enum):
        return str(value.value)
    if key == "ar":
        return "auto" if value else "0"
    return str(value)


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")
