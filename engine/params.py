"""Parse a processing string into a frozen, validated :class:`Request`.

Grammar (SPEC §1)::

    video/snapshots,<key>_<value>,...[|sys/saveas,b_<b64>,o_<b64>[/notify,topic_<b64>]]

Pure: no I/O. Every rejection is a :class:`ProcessError` naming the key, the value
given and what would be valid.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import enum
from dataclasses import dataclass, field

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
    warnings: tuple[str, ...] = field(default=(), compare=False)
    """Advice from parsing (ignored keys); not part of what is asked, so not compared."""

    def __post_init__(self) -> None:
        # Requests can also be built directly: the same checks as parse(), so no
        # invalid request reaches the planner whichever way it was made.
        for key, spec in KEYS.items():
            value = getattr(self, spec.field)
            if value is None and spec.optional:
                continue
            spec.check(key, value)
        for name in ("width_percent", "height_percent"):
            if getattr(self, name) == 0:  # 0 = not set (SPEC §1)
                object.__setattr__(self, name, None)
        if self.mode is Mode.AVG and self.count < 1:
            raise ProcessError("num: m_avg needs num ≥ 1 (the number of evenly spread snapshots)")


# --- keys: text -> value, and the checks a value must pass ----------------------


def did_you_mean(given: str, valid) -> str:
    """``"did you mean 'inter'? "`` when ``given`` is a near miss of one of ``valid``, else ``""``."""
    close = difflib.get_close_matches(given, list(valid), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}? " if close else ""


@dataclass(frozen=True)
class _IntKey:
    field: str
    low: int
    high: int = INT_MAX
    optional: bool = False

    @property
    def valid(self) -> str:
        return f"an integer ≥ {self.low}" if self.high == INT_MAX else f"an integer {self.low}–{self.high}"

    def parse(self, key: str, text: str) -> int:
        # isdigit() alone admits "٣" and "²": only ASCII digits are a number here.
        if not text or not text.isascii() or not text.isdigit() or len(text) > 10:
            hint = "remove the space; " if text.strip() != text and text.strip().isdigit() else ""
            raise ProcessError(f"{key}: {text!r} is not an integer; {hint}valid: {self.valid}")
        return self.check(key, int(text), shown=text)

    def check(self, key: str, value: object, *, shown: str | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ProcessError(f"{key}: {value!r} is not an integer; valid: {self.valid}")
        if not self.low <= value <= self.high:
            raise ProcessError(f"{key}: {shown or value} is out of range; valid: {self.valid}")
        return value


@dataclass(frozen=True)
class _ChoiceKey:
    field: str
    values: dict[str, object]
    optional: bool = False

    def parse(self, key: str, text: str) -> object:
        if text not in self.values:
            hint = "remove the space; " if text.strip() in self.values else did_you_mean(text, self.values)
            raise ProcessError(f"{key}: {text!r} is not valid; {hint}valid: {', '.join(self.values)}")
        return self.values[text]

    def check(self, key: str, value: object) -> object:
        # Identity, not equality: True == 1 must not pass for a bool choice.
        if not any(value is choice for choice in self.values.values()):
            raise ProcessError(f"{key}: {value!r} is not valid; valid: {', '.join(self.values)}")
        return value


def _enum_key(name: str, cls: type[enum.Enum]) -> _ChoiceKey:
    return _ChoiceKey(name, {member.value: member for member in cls})


#: Registry of the action's keys: processing-string key -> Request field, parser, check.
KEYS: dict[str, _IntKey | _ChoiceKey] = {
    "ss": _IntKey("start_ms", 0),
    "f": _enum_key("format", ImageFormat),
    "m": _enum_key("mode", Mode),
    "thr": _IntKey("threshold", 0, 100),
    "num": _IntKey("count", 0),
    "inter": _IntKey("interval_ms", 0),
    "w": _IntKey("width", 32, 4096, optional=True),
    "h": _IntKey("height", 32, 4096, optional=True),
    "pw": _IntKey("width_percent", 0, 200, optional=True),
    "ph": _IntKey("height_percent", 0, 200, optional=True),
    "scaletype": _enum_key("scaletype", ScaleType),
    # Extensions (README: "Extensions").
    "ar": _ChoiceKey("autorotate", {"auto": True, "0": False}),
    "q": _IntKey("quality", 1, 100),
    "sm": _enum_key("seek", SeekMode),
    "vs": _IntKey("stream", 0, optional=True),
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
        if any(c.isspace() for c in name):
            raise ProcessError(f"process: action {name[:60]!r} contains whitespace; remove the space; valid: {ACTION!r}")
        raise ProcessError(
            f"process: action {name[:60]!r} is not supported; {did_you_mean(name, [ACTION])}valid: {ACTION!r}"
        )
    fields: dict[str, object] = {}
    seen: set[str] = set()
    for token in tokens:
        key, sep, text = token.partition("_")
        _check_spaces(key, token)
        if not sep:
            raise ProcessError(
                f"process: {token[:60]!r} is not a '<key>_<value>' pair; valid keys: {', '.join(KEYS)}"
            )
        spec = KEYS.get(key)
        if spec is None:
            raise ProcessError(
                f"{key[:60]}: unknown key (value {text[:60]!r}); {did_you_mean(key, KEYS)}valid keys: {', '.join(KEYS)}"
            )
        if key in seen:
            raise ProcessError(f"{key}: given twice ({text[:60]!r} the second time); give each key once")
        seen.add(key)
        fields[spec.field] = spec.parse(key, text)
    if "format" not in fields:
        raise ProcessError("f: missing; the output format is required; valid: jpg, png, webp")
    return fields


def _check_spaces(key: str, token: str) -> None:
    """Whitespace is never part of the grammar; say so visibly instead of stripping
    it (``' f_jpg'`` would otherwise read as the unknown key ``' f'``, shown as
    ``f``). Values keep their key-led messages, which quote them with ``repr``."""
    if any(c.isspace() for c in key):
        name = "".join(key.split()) or "process"
        raise ProcessError(
            f"{name[:60]}: {token[:60]!r} contains whitespace; remove the space "
            "(valid: '<key>_<value>' pairs separated by ',' with no spaces)"
        )


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
    # The seed's own examples encode a trailing newline (SPEC §1: trailing only).
    value = decoded.rstrip()
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
