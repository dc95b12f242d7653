"""Unit tests for the processing-string parser (SPEC §1), no media needed."""

from __future__ import annotations

import base64
import dataclasses
import itertools
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import ProcessError
from engine.params import (
    INT_MAX,
    KEYS,
    ImageFormat,
    Mode,
    Request,
    SaveAs,
    ScaleType,
    SeekMode,
    parse,
    to_process_string,
)

A = "video/snapshots"
SEED_SAVEAS = (
    "|sys/saveas,b_b3V0YnVja2V0,o_b3V0b2JqcHJlZml4LXtpbmRleH0ue2F1dG9leHR9Cg"
    "/notify,topic_ZXhhbXBsZS1tbnMtdG9waWMK"
)
SEED_OUT = SaveAs(bucket="outbucket", object="outobjprefix-{index}.{autoext}")
SEED_TOPIC = "example-mns-topic"


def b64(text: str, pad: bool = False, urlsafe: bool = True) -> str:
    enc = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    out = enc(text.encode("utf-8")).decode()
    return out if pad else out.rstrip("=")


def b64_bytes(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def strict_parse(text):
    """parse(), failing the test on anything but a Request or a ProcessError."""
    try:
        result = parse(text)
    except ProcessError as error:
        assert isinstance(error, ValueError)
        assert str(error), "a ProcessError must say something"
        return error
    except Exception as error:  # pragma: no cover - the failure path
        pytest.fail(f"parse({text!r}) raised {type(error).__name__}: {error}")
    assert isinstance(result, Request)
    return result


# --- the seed's worked examples ---------------------------------------------------


SEED_EXAMPLES = [
    (
        "video/snapshots,f_jpg,w_512,h_512,scaletype_crop,inter_10000" + SEED_SAVEAS,
        dict(format=ImageFormat.JPG, width=512, height=512, scaletype=ScaleType.CROP, interval_ms=10000),
    ),
    (
        "video/snapshots,ss_11000,f_png,pw_50,ph_50,num_5" + SEED_SAVEAS,
        dict(format=ImageFormat.PNG, start_ms=11000, width_percent=50, height_percent=50, count=5),
    ),
    (
        "video/snapshots,m_dhash,f_jpg,inter_1000,thr_15" + SEED_SAVEAS,
        dict(format=ImageFormat.JPG, mode=Mode.DHASH, interval_ms=1000, threshold=15),
    ),
    (
        "video/snapshots,m_dhash,f_jpg,inter_1000,num_5" + SEED_SAVEAS,
        dict(format=ImageFormat.JPG, mode=Mode.DHASH, interval_ms=1000, count=5),
    ),
    ("video/snapshots,m_key,f_jpg" + SEED_SAVEAS, dict(format=ImageFormat.JPG, mode=Mode.KEY)),
    ("video/snapshots,m_avg,f_jpg,num_10" + SEED_SAVEAS, dict(format=ImageFormat.JPG, mode=Mode.AVG, count=10)),
]


@pytest.mark.parametrize("text, fields", SEED_EXAMPLES, ids=[t.split("|")[0][16:] for t, _ in SEED_EXAMPLES])
def test_seed_examples(text, fields):
    request = parse(text)
    expected = Request(**fields, saveas=SEED_OUT, notify_topic=SEED_TOPIC)
    assert request == expected
    assert request.warnings == ()


def test_seed_cover_example():
    text = "video/snapshots,f_jpg|sys/saveas,b_b3V0YnVja2V0,o_Y292ZXIuanBnCg/notify,topic_ZXhhbXBsZS1tbnMtdG9waWMK"
    request = parse(text)
    assert request == Request(
        format=ImageFormat.JPG, saveas=SaveAs("outbucket", "cover.jpg"), notify_topic=SEED_TOPIC
    )


def test_defaults():
    request = parse("video/snapshots,f_jpg")
    assert request == Request(format=ImageFormat.JPG)
    assert (request.mode, request.start_ms, request.threshold, request.count, request.interval_ms) == (
        Mode.INTER, 0, 0, 0, 0,
    )
    assert request.width is request.height is request.width_percent is request.height_percent is None
    assert request.scaletype is ScaleType.STRETCH
    assert request.autorotate is True
    assert request.quality == 90
    assert request.seek is SeekMode.ACCURATE
    assert request.stream is None
    assert request.saveas is None and request.notify_topic is None
    assert request.warnings == ()


def test_request_is_frozen():
    request = parse("video/snapshots,f_jpg")
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.count = 3  # type: ignore[misc]


def test_process_error_is_value_error():
    assert issubclass(ProcessError, ValueError)


# --- every key: valid values --------------------------------------------------------


VALID = [
    ("ss", "0", "start_ms", 0),
    ("ss", "11000", "start_ms", 11000),
    ("ss", str(INT_MAX), "start_ms", INT_MAX),
    ("ss", "0000000001", "start_ms", 1),  # 10 digits, leading zeros
    ("f", "jpg", "format", ImageFormat.JPG),
    ("f", "png", "format", ImageFormat.PNG),
    ("f", "webp", "format", ImageFormat.WEBP),
    ("m", "inter", "mode", Mode.INTER),
    ("m", "key", "mode", Mode.KEY),
    ("m", "dhash", "mode", Mode.DHASH),
    ("thr", "0", "threshold", 0),
    ("thr", "100", "threshold", 100),
    ("num", "0", "count", 0),
    ("num", str(INT_MAX), "count", INT_MAX),
    ("inter", "0", "interval_ms", 0),
    ("inter", "1", "interval_ms", 1),
    ("inter", str(INT_MAX), "interval_ms", INT_MAX),
    ("w", "32", "width", 32),
    ("w", "4096", "width", 4096),
    ("h", "32", "height", 32),
    ("h", "4096", "height", 4096),
    ("pw", "1", "width_percent", 1),
    ("pw", "200", "width_percent", 200),
    ("pw", "0", "width_percent", None),
    ("ph", "1", "height_percent", 1),
    ("ph", "200", "height_percent", 200),
    ("ph", "0", "height_percent", None),
    ("scaletype", "stretch", "scaletype", ScaleType.STRETCH),
    ("scaletype", "crop", "scaletype", ScaleType.CROP),
    ("scaletype", "fill", "scaletype", ScaleType.FILL),
    ("scaletype", "fit", "scaletype", ScaleType.FIT),
    ("ar", "auto", "autorotate", True),
    ("ar", "0", "autorotate", False),
    ("q", "1", "quality", 1),
    ("q", "100", "quality", 100),
    ("sm", "accurate", "seek", SeekMode.ACCURATE),
    ("sm", "fast", "seek", SeekMode.FAST),
    ("vs", "0", "stream", 0),
    ("vs", "3", "stream", 3),
]


@pytest.mark.parametrize("key, value, field, expected", VALID, ids=[f"{k}_{v}" for k, v, _, _ in VALID])
def test_valid_value(key, value, field, expected):
    text = f"{A},{key}_{value}" + ("" if key == "f" else ",f_webp") + (",m_dhash" if key == "thr" else "")
    request = parse(text)
    assert getattr(request, field) == expected
    assert type(getattr(request, field)) is type(expected)
    assert request.warnings == ()


def test_avg_with_num():
    assert parse(f"{A},m_avg,num_1,f_jpg").count == 1


def test_every_registered_key_is_tested():
    assert {k for k, *_ in VALID} == set(KEYS)
    assert {k for k, *_ in INVALID} == set(KEYS)


# --- every key: invalid values -------------------------------------------------------

INT_RANGES = {
    "ss": (0, None),
    "thr": (0, 100),
    "num": (0, None),
    "inter": (0, None),
    "w": (32, 4096),
    "h": (32, 4096),
    "pw": (0, 200),
    "ph": (0, 200),
    "q": (1, 100),
    "vs": (0, None),
}
CHOICES = {
    "f": ["jpg", "png", "webp"],
    "m": ["inter", "key", "avg", "dhash"],
    "scaletype": ["stretch", "crop", "fill", "fit"],
    "ar": ["auto", "0"],
    "sm": ["accurate", "fast"],
}
NOT_INTEGERS = ["", "abc", "-1", "+5", " 5", "5 ", "1.5", "1e3", "0x10", "1_000", "٣", "５", "²", "12345678901", "00000000032"]


def _int_invalid():
    cases = []
    for key, (low, high) in INT_RANGES.items():
        for bad in NOT_INTEGERS:
            cases.append((key, bad))
        if low > 0:
            cases.append((key, str(low - 1)))
        cases.append((key, str(high + 1) if high is not None else str(INT_MAX + 1)))
        cases.append((key, "9999999999"))  # 10 digits, > 2^31-1
    return cases


INVALID = _int_invalid() + [
    (key, bad)
    for key, values in CHOICES.items()
    for bad in ["", "JPG" if key == "f" else values[0].upper(), "x", values[0] + " ", "1"]
    if bad not in values
]


def _valid_hint(key: str) -> str:
    if key in INT_RANGES:
        low, high = INT_RANGES[key]
        return rf"valid: .*{low}" + (rf".*{high}" if high is not None else "")
    return "valid: " + ".*".join(re.escape(v) for v in CHOICES[key])


@pytest.mark.parametrize("key, value", INVALID, ids=[f"{k}_{v!r}" for k, v in INVALID])
def test_invalid_value_message(key, value):
    # The bad token comes before f_ so the whole-string strip cannot touch it.
    text = f"{A},{key}_{value}" + (",m_inter" if key == "f" else ",f_jpg")
    pattern = rf"^{re.escape(key)}: .*{re.escape(value)}.*{_valid_hint(key)}"
    with pytest.raises(ProcessError, match=pattern):
        parse(text)


def test_out_of_range_message_quotes_value_as_given():
    with pytest.raises(ProcessError, match=r"^w: .*0031"):
        parse(f"{A},w_0031,f_jpg")


@pytest.mark.parametrize("key", sorted(KEYS))
def test_repeated_key(key):
    value = {**{k: "1" for k in INT_RANGES}, "w": "64", "h": "64", **{k: v[0] for k, v in CHOICES.items()}}[key]
    second = {**{k: "2" for k in INT_RANGES}, "w": "65", "h": "65", **{k: v[1] for k, v in CHOICES.items()}}[key]
    tail = "" if key == "f" else ",f_jpg"
    with pytest.raises(ProcessError, match=rf"^{re.escape(key)}: .*{re.escape(second)}"):
        parse(f"{A},{key}_{value},{key}_{second}{tail}")
    # Repeating the same value is just as wrong.
    with pytest.raises(ProcessError, match=rf"^{re.escape(key)}:"):
        parse(f"{A},{key}_{value},{key}_{value}{tail}")


def test_missing_format():
    with pytest.raises(ProcessError, match=r"^f: .*missing.*jpg.*png.*webp"):
        parse(A)
    with pytest.raises(ProcessError, match=r"^f: "):
        parse(f"{A},w_100,m_key")


@pytest.mark.parametrize("key", ["foo", "F", "fmt", "W", "width", "interval", "notify", "b", "o"])
def test_unknown_key_named_with_valid_keys(key):
    with pytest.raises(ProcessError, match=rf"^{re.escape(key)}: unknown key.*ss, f, m, thr, num, inter, w, h, pw, ph, scaletype"):
        parse(f"{A},f_jpg,{key}_bar")


def test_unknown_key_message_contains_value():
    with pytest.raises(ProcessError, match=r"^foo: .*bar"):
        parse(f"{A},f_jpg,foo_bar")


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "video/snapshot,f_jpg",
        "VIDEO/SNAPSHOTS,f_jpg",
        "image/resize,f_jpg",
        "video/snapshots,,f_jpg",
        "video/snapshots,f_jpg,",
        "video/snapshots,fjpg",
        "video/snapshots,f_jpg,w",
        "video/snapshots;f_jpg",
        "video/snapshots,f_jpg|",
        "video/snapshots,f_jpg|sys/saveas",
        "video/snapshots,f_jpg|notify,topic_YQ",
        "video/snapshots,f_jpg|sys/saveas,b_YQ,o_YQ|sys/saveas,b_YQ,o_YQ",
        "video/snapshots,f_jpg," + "w_64," * 3000,
    ],
)
def test_malformed_strings(text):
    with pytest.raises(ProcessError):
        parse(text)


@pytest.mark.parametrize("bad", [None, 5, b"video/snapshots,f_jpg", ["video/snapshots,f_jpg"]])
def test_non_string_input(bad):
    with pytest.raises(ProcessError):
        parse(bad)


# --- avg needs num -----------------------------------------------------------------


@pytest.mark.parametrize("text", [f"{A},m_avg,f_jpg", f"{A},m_avg,f_jpg,num_0", f"{A},num_0,f_png,m_avg"])
def test_avg_needs_num(text):
    with pytest.raises(ProcessError, match=r"^num: .*0.*1"):
        parse(text)


def test_request_constructor_keeps_invariants():
    with pytest.raises(ProcessError, match="^num"):
        Request(format=ImageFormat.JPG, mode=Mode.AVG)
    with pytest.raises(ProcessError):
        Request(format=ImageFormat.JPG, start_ms=-1)


@pytest.mark.parametrize(
    "kwargs",
    [dict(width=5), dict(height=5000), dict(quality=0), dict(threshold=101), dict(height_percent=201),
     dict(width=10**6), dict(stream=-1), dict(start_ms=-1), dict(count=True), dict(autorotate=1),
     dict(mode="inter"), dict(scaletype=None)],
    ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()),
)
def test_request_constructor_checks_ranges(kwargs):
    (name, value), = kwargs.items()
    with pytest.raises(ProcessError, match=re.escape(repr(value)) + "|" + re.escape(str(value))):
        Request(format=ImageFormat.JPG, **kwargs)


def test_request_constructor_treats_percent_zero_as_not_set():
    assert Request(format=ImageFormat.JPG, width_percent=0, height_percent=0) == Request(format=ImageFormat.JPG)


# --- warnings ----------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["", "m_inter,", "m_key,", "m_avg,num_3,"])
def test_thr_outside_dhash_warns(mode):
    request = parse(f"{A},{mode}thr_10,f_jpg")
    assert request.threshold == 10
    assert len(request.warnings) == 1 and request.warnings[0].startswith("thr")


def test_thr_with_dhash_no_warning():
    request = parse(f"{A},m_dhash,thr_10,f_jpg")
    assert request.warnings == () and request.threshold == 10


@pytest.mark.parametrize(
    "pair, field, kept, kept_value, key",
    [
        ("w_100,pw_50", "width_percent", "width", 100, "pw"),
        ("pw_50,w_100", "width_percent", "width", 100, "pw"),
        ("h_100,ph_50", "height_percent", "height", 100, "ph"),
    ],
)
def test_percent_ignored_when_absolute_set(pair, field, kept, kept_value, key):
    request = parse(f"{A},f_jpg,{pair}")
    assert getattr(request, field) is None
    assert getattr(request, kept) == kept_value
    assert len(request.warnings) == 1 and request.warnings[0].startswith(key)


def test_percent_zero_with_absolute_no_warning():
    request = parse(f"{A},f_jpg,w_100,pw_0,h_64,ph_0")
    assert request.warnings == ()
    assert request.width_percent is None and request.height_percent is None


def test_percent_other_axis_not_ignored():
    request = parse(f"{A},f_jpg,w_100,ph_50")
    assert request.height_percent == 50 and request.warnings == ()


def test_q_with_png_warns():
    request = parse(f"{A},f_png,q_50")
    assert len(request.warnings) == 1 and request.warnings[0].startswith("q")
    assert parse(f"{A},f_jpg,q_50").warnings == ()
    assert parse(f"{A},f_webp,q_50").warnings == ()


def test_several_warnings():
    request = parse(f"{A},f_png,q_50,thr_3,w_64,pw_10,h_64,ph_10")
    assert sorted(w.split(":")[0] for w in request.warnings) == ["ph", "pw", "q", "thr"]


# --- sys/saveas and notify ----------------------------------------------------------


def saveas_string(*tokens: str, notify: str | None = None) -> str:
    text = f"{A},f_jpg|sys/saveas," + ",".join(tokens)
    if notify is not None:
        text += "/notify," + notify
    return text


@pytest.mark.parametrize(
    "encode",
    [
        lambda s: b64(s),
        lambda s: b64(s, pad=True),
        lambda s: b64(s, urlsafe=False),
        lambda s: b64(s, pad=True, urlsafe=False),
        lambda s: b64(s + "\n"),
        lambda s: b64(s + " \n"),
        lambda s: b64(s + "\r\n"),
        lambda s: b64(s + "\t "),
    ],
    ids=["urlsafe", "padded", "std", "std-padded", "newline", "blank-newline", "crlf", "tab-blank"],
)
def test_saveas_encodings(encode):
    # '?>>' makes '+' / '/' (or '-' / '_') appear in the base64.
    bucket, obj, topic = "bucket-1", "dir/sub/?>>~ü名{index}.{autoext}", "tópic?>"
    request = parse(saveas_string(f"b_{encode(bucket)}", f"o_{encode(obj)}", notify=f"topic_{encode(topic)}"))
    assert request.saveas == SaveAs(bucket, obj)
    assert request.notify_topic == topic


def test_saveas_standard_alphabet_really_used():
    text = "?>>"
    assert "+" in b64(text, urlsafe=False) or "/" in b64(text, urlsafe=False)
    assert parse(saveas_string(f"b_{b64(text, urlsafe=False)}", "o_YQ")).saveas.bucket == text


def test_saveas_any_order_and_no_notify():
    request = parse(saveas_string("o_YQ", "b_Yg"))
    assert request.saveas == SaveAs("b", "a") and request.notify_topic is None


@pytest.mark.parametrize(
    "tokens, notify, key",
    [
        (["b_YQ"], None, "o"),
        (["o_YQ"], None, "b"),
        ([], None, None),
        (["b_YQ", "o_YQ", "x_YQ"], None, None),
        (["b_YQ", "o_YQ", "b_YQ"], None, "b"),
        (["b_YQ", "o_YQ", "topic_YQ"], None, None),
        (["b_YQ", "o_YQ"], "", None),
        (["b_YQ", "o_YQ"], "b_YQ", None),
        (["b_YQ", "o_YQ"], "topic_YQ,topic_YQ", "topic"),
        (["b_YQ", "o_YQ"], "topic_", "topic"),
        (["b_", "o_YQ"], None, "b"),
        (["b_YQ", "o_"], None, "o"),
        (["b_YQ", "o_Y"], None, "o"),  # length 1 mod 4
        (["b_YQ", "o_Y!Q"], None, "o"),  # not in the alphabet
        (["b_YQ", "o_Y Q"], None, "o"),
        (["b_YQ", "o_Y.Q"], None, "o"),
        (["b_YQ", "o_=="], None, "o"),
        (["b_YQ", "o_" + b64_bytes(b"\xff\xfe")], None, "o"),  # not UTF-8
        (["b_YQ", "o_" + b64_bytes(b"a\xc3")], None, "o"),  # truncated UTF-8
        (["b_YQ", f"o_{b64(' ')}"], None, "o"),  # empty once stripped
        (["b_YQ", f"o_{b64(chr(10))}"], None, "o"),
        (["b_YQ", f"o_{b64('a' + chr(0) + 'b')}"], None, "o"),  # NUL
        (["b_YQ", f"o_{b64(chr(0))}"], None, "o"),
        ([f"b_{b64('a' + chr(0))}", "o_YQ"], None, "b"),
        (["b_YQ", "o_YQ"], f"topic_{b64(chr(0))}", "topic"),
    ],
)
def test_saveas_errors(tokens, notify, key):
    pattern = rf"^{key}:" if key else None
    with pytest.raises(ProcessError, match=pattern):
        parse(saveas_string(*tokens, notify=notify))


def test_saveas_keeps_leading_blank():
    assert parse(saveas_string(f"b_{b64(' a')}", "o_YQ")).saveas.bucket == " a"


def test_saveas_bad_value_message_names_value():
    with pytest.raises(ProcessError, match=r"^o: .*Y!Q.*base64"):
        parse(saveas_string("b_YQ", "o_Y!Q"))


# --- round trip and order -----------------------------------------------------------


def _name_strategy():
    return st.text(min_size=1, max_size=40).filter(lambda s: s == s.strip() and "\x00" not in s and s != "")


@st.composite
def valid_pairs(draw):
    """A dict key -> value text drawn from the valid values of each key."""
    pairs = {"f": draw(st.sampled_from(CHOICES["f"]))}
    optional = {
        "ss": st.integers(0, INT_MAX).map(str),
        "m": st.sampled_from(CHOICES["m"]),
        "thr": st.integers(0, 100).map(str),
        "num": st.integers(0, INT_MAX).map(str),
        "inter": st.integers(0, INT_MAX).map(str),
        "w": st.integers(32, 4096).map(str),
        "h": st.integers(32, 4096).map(str),
        "pw": st.integers(0, 200).map(str),
        "ph": st.integers(0, 200).map(str),
        "scaletype": st.sampled_from(CHOICES["scaletype"]),
        "ar": st.sampled_from(CHOICES["ar"]),
        "q": st.integers(1, 100).map(str),
        "sm": st.sampled_from(CHOICES["sm"]),
        "vs": st.integers(0, INT_MAX).map(str),
    }
    for key in draw(st.sets(st.sampled_from(sorted(optional)))):
        pairs[key] = draw(optional[key])
    if pairs.get("m") == "avg" and int(pairs.get("num", "0")) == 0:
        pairs["num"] = str(draw(st.integers(1, INT_MAX)))
    return pairs


@st.composite
def valid_strings(draw):
    pairs = draw(valid_pairs())
    items = draw(st.permutations(sorted(pairs.items())))
    text = ",".join([A] + [f"{k}_{v}" for k, v in items])
    saveas = None
    if draw(st.booleans()):
        bucket, obj = draw(_name_strategy()), draw(_name_strategy())
        topic = draw(st.none() | _name_strategy())
        pad = draw(st.booleans())
        first, second = draw(st.permutations([f"b_{b64(bucket, pad)}", f"o_{b64(obj, pad)}"]))
        text += f"|sys/saveas,{first},{second}"
        if topic is not None:
            text += f"/notify,topic_{b64(topic + draw(st.sampled_from(['', chr(10), ' '])), pad)}"
        saveas = (bucket, obj, topic)
    return text, pairs, saveas


def _expected_fields(pairs: dict[str, str]) -> dict[str, object]:
    """Independent oracle: what each valid pair must become."""
    out: dict[str, object] = {"format": ImageFormat(pairs["f"])}
    ints = {"ss": "start_ms", "thr": "threshold", "num": "count", "inter": "interval_ms", "q": "quality", "vs": "stream", "w": "width", "h": "height"}
    for key, field in ints.items():
        if key in pairs:
            out[field] = int(pairs[key])
    for key, field, absolute in (("pw", "width_percent", "w"), ("ph", "height_percent", "h")):
        value = int(pairs.get(key, "0"))
        out[field] = None if value == 0 or absolute in pairs else value
    out["mode"] = Mode(pairs.get("m", "inter"))
    out["scaletype"] = ScaleType(pairs.get("scaletype", "stretch"))
    out["autorotate"] = pairs.get("ar", "auto") == "auto"
    out["seek"] = SeekMode(pairs.get("sm", "accurate"))
    return out


def _expected_warning_keys(pairs: dict[str, str]) -> set[str]:
    keys = set()
    if "thr" in pairs and pairs.get("m", "inter") != "dhash":
        keys.add("thr")
    for p, a in (("pw", "w"), ("ph", "h")):
        if a in pairs and int(pairs.get(p, "0")) != 0:
            keys.add(p)
    if "q" in pairs and pairs["f"] == "png":
        keys.add("q")
    return keys


@settings(max_examples=150, deadline=None)
@given(valid_strings())
def test_valid_strings_parse_to_oracle(case):
    text, pairs, saveas = case
    request = parse(text)
    for field, value in _expected_fields(pairs).items():
        assert getattr(request, field) == value, field
    assert {w.split(":")[0] for w in request.warnings} == _expected_warning_keys(pairs)
    assert len(request.warnings) == len(_expected_warning_keys(pairs))
    if saveas is None:
        assert request.saveas is None and request.notify_topic is None
    else:
        assert request.saveas == SaveAs(saveas[0], saveas[1])
        assert request.notify_topic == saveas[2]


def _no_warnings(request: Request) -> Request:
    return dataclasses.replace(request, warnings=())


@settings(max_examples=150, deadline=None)
@given(valid_strings())
def test_round_trip(case):
    request = parse(case[0])
    canonical = to_process_string(request)
    again = parse(canonical)
    # Semantics survive the trip (the exact-equality contract is tested below).
    assert _no_warnings(again) == _no_warnings(request)
    # The canonical string is a fixed point.
    assert to_process_string(again) == canonical
    assert parse(to_process_string(again)) == again


@settings(max_examples=100, deadline=None)
@given(valid_strings().filter(lambda c: not _expected_warning_keys(c[1])))
def test_round_trip_exact(case):
    request = parse(case[0])
    assert parse(to_process_string(request)) == request


@pytest.mark.parametrize("text", [f"{A},f_png,q_90", f"{A},f_jpg,thr_0", f"{A},f_jpg,w_100,pw_50"])
def test_round_trip_keeps_warnings(text):
    request = parse(text)
    assert parse(to_process_string(request)) == request


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_key_order_irrelevant(data):
    text, pairs, _ = data.draw(valid_strings())
    action, sep, tail = text.partition("|")
    tokens = action.split(",")[1:]
    shuffled = data.draw(st.permutations(tokens))
    assert parse(",".join([A, *shuffled]) + sep + tail) == parse(text)


def test_key_order_all_permutations_small():
    tokens = ["f_png", "m_dhash", "thr_5", "w_64", "pw_20"]
    results = {parse(",".join([A, *p])) for p in itertools.permutations(tokens)}
    assert len(results) == 1


def test_to_process_string_canonical():
    assert to_process_string(parse(f"{A},w_64,f_jpg")) == f"{A},f_jpg,w_64"
    request = parse("video/snapshots,f_jpg|sys/saveas,b_b3V0YnVja2V0,o_Y292ZXIuanBnCg/notify,topic_ZXhhbXBsZS1tbnMtdG9waWMK")
    assert to_process_string(request) == (
        f"{A},f_jpg|sys/saveas,b_{b64('outbucket')},o_{b64('cover.jpg')}/notify,topic_{b64(SEED_TOPIC)}"
    )


# --- anything in: a Request or a ProcessError out -------------------------------------

TOKENS = sorted(KEYS) + ["b", "o", "topic", "sys/saveas", "notify", A, "video", "snapshots"]
ALPHABET = st.sampled_from(
    TOKENS + [",", "_", "|", "/", "=", "+", "-", " ", "\n", "\x00", "0", "1", "9", "99999999999", "jpg", "png",
              "avg", "dhash", "fast", "auto", "YQ", "Y", "b3V0", "\xff", "é", "٣", "\ud800", "名"]
)


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_any_text(text):
    strict_parse(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec=None), max_size=200))
def test_any_text_with_surrogates(text):
    strict_parse(text)
    strict_parse(A + "," + text)


@settings(max_examples=400, deadline=None)
@given(st.lists(ALPHABET, max_size=60).map("".join))
def test_grammar_soup(text):
    strict_parse(text)
    strict_parse(A + "," + text)
    strict_parse(A + ",f_jpg," + text)
    strict_parse(A + ",f_jpg|sys/saveas," + text)
    strict_parse(A + ",f_jpg|sys/saveas,b_YQ,o_YQ/notify," + text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(TOKENS), st.text(max_size=12)), max_size=20))
def test_key_value_soup(pairs):
    strict_parse(",".join([A] + [f"{k}_{v}" for k, v in pairs]))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["b", "o", "topic"]), st.text(max_size=30) | st.binary(max_size=30).map(b64_bytes))
def test_b64_soup(key, value):
    tokens = {"b": "b_YQ", "o": "o_YQ"}
    if key == "topic":
        strict_parse(saveas_string(*tokens.values(), notify=f"topic_{value}"))
    else:
        tokens[key] = f"{key}_{value}"
        strict_parse(saveas_string(*tokens.values()))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.integers(8000, 10_000), st.sampled_from(["a", ",", "_", "w_64,", "9", "|", "é", "YQ"]))
def test_very_long_strings(length, piece):
    text = (A + "," + piece * length)[:length]
    strict_parse(text)
    strict_parse(A + ",f_jpg," + piece * (length // len(piece)))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.text(min_size=2000, max_size=10_000))
def test_long_random_text(text):
    strict_parse(text)


# --- issue #16: messages that point the way ------------------------------------------


@pytest.mark.parametrize(
    "text,pattern",
    [
        (f"{A},f_jpg,inetr_10000", r"^inetr: unknown key .*did you mean 'inter'\? valid keys: ss, f"),
        (f"{A},f_jpg,scaltype_crop", r"^scaltype: unknown key .*did you mean 'scaletype'\?"),
        (f"{A},f_jgp", r"^f: 'jgp' is not valid; did you mean 'jpg'\? valid: jpg, png, webp"),
        (f"{A},f_jpg,m_dhsh", r"^m: 'dhsh' is not valid; did you mean 'dhash'\? valid: inter, key, avg, dhash"),
        (f"{A},f_jpg,scaletype_fil", r"^scaletype: 'fil' is not valid; did you mean '(fill|fit)'\?"),
        ("video/snapshot,f_jpg", r"^process: action 'video/snapshot' is not supported; did you mean 'video/snapshots'\?"),
    ],
)
def test_near_misses_get_did_you_mean(text, pattern):
    with pytest.raises(ProcessError, match=pattern):
        parse(text)


def test_far_misses_get_no_guess():
    with pytest.raises(ProcessError) as caught:
        parse(f"{A},f_jpg,zzzzz_1")
    assert "did you mean" not in str(caught.value)


@pytest.mark.parametrize(
    "text,pattern",
    [
        # The case: the key read as ' f' and was shown as "f: unknown key".
        (f"{A}, f_jpg", r"^f: ' f_jpg' contains whitespace; remove the space"),
        (f"{A},f_jpg ,w_100", r"^f: 'jpg ' is not valid; remove the space; valid: jpg, png, webp"),
        (f"{A},f_jpg,w_ 100", r"^w: ' 100' is not an integer; remove the space; valid: an integer 32–4096"),
        (f"{A},f_jpg,m _key", r"^m: 'm _key' contains whitespace; remove the space"),
        ("video/snapshots ,f_jpg", r"^process: action 'video/snapshots ' contains whitespace; remove the space"),
    ],
)
def test_whitespace_inside_the_string_is_reported_visibly(text, pattern):
    with pytest.raises(ProcessError, match=pattern):
        parse(text)


def test_whitespace_around_the_whole_string_is_still_stripped():
    assert parse(f"  {A},f_jpg\n") == parse(f"{A},f_jpg")
