"""engine/errors.py: the hierarchy (also built-in exceptions), the exit-code table
and its nearest-class lookup, and how caller values are shown in one-line messages."""

from __future__ import annotations

import pytest

from engine.errors import (
    EXIT_CODES,
    SHOWN_CHARACTERS,
    InputError,
    NotMediaError,
    NoVideoError,
    ProcessError,
    SnapshotError,
    SourceNotFoundError,
    TargetError,
    UndecodableError,
    clipped,
    exit_code_for,
    nearest_entry,
    one_line,
    shown,
)


def test_exit_code_table():
    assert exit_code_for(ProcessError("x")) == 2
    for error in (InputError("x"), SourceNotFoundError("x"), NotMediaError("x"), NoVideoError("x"), UndecodableError("x")):
        assert exit_code_for(error) == 3
    assert exit_code_for(TargetError("x")) == 4
    assert exit_code_for(SnapshotError("x")) == 1
    assert exit_code_for(RuntimeError("x")) == 1
    assert set(EXIT_CODES.values()) == {1, 2, 3, 4}


def test_errors_are_also_builtins():
    assert issubclass(ProcessError, ValueError)
    assert issubclass(SourceNotFoundError, FileNotFoundError)
    assert issubclass(TargetError, ValueError)


class _Refused(TargetError):
    pass


def test_nearest_entry_prefers_the_nearest_class():
    table = {TargetError: "target", SnapshotError: "any", _Refused: "refused"}
    assert nearest_entry(table, _Refused("x"), "none") == "refused"
    assert nearest_entry(table, TargetError("x"), "none") == "target"
    assert nearest_entry(table, ProcessError("x"), "none") == "any"  # through its base
    assert nearest_entry(table, KeyError("x"), "none") == "none"


def test_shown_cuts_long_values_and_says_their_length():
    assert shown("abc") == "'abc'"
    long = "x" * 1000
    assert shown(long) == "'" + "x" * (SHOWN_CHARACTERS - 1) + "… (1000 characters)"
    assert clipped(None) is None and clipped("short") == "short"
    assert clipped("y" * 5000, limit=10) == "yyyyyyyyyy… (5000 characters)"


@pytest.mark.parametrize(("message", "line"), [
    ("one", "one"),
    ("  first\n\n  second  \n", "first second"),
])
def test_one_line(message, line):
    assert one_line(message) == line
    assert one_line("z" * 50, limit=5) == "zzzzz… (50 characters)"
