"""engine/files.py: confinement to a root and atomic replacement, shared by the
writer (image targets), the batch (results file) and the service (sources)."""

from __future__ import annotations

import os

import pytest

from engine import files


@pytest.mark.parametrize(("relative", "why"), [
    ("a/b.jpg", None),
    ("a..b/c", None),  # '..' inside a name is not a climb
    ("a\x00b", "contains a NUL byte"),
    ("/etc/passwd", "is an absolute path"),
    ("\\share\\x", "is an absolute path"),
    ("../x", "climbs out with '..'"),
    ("a/../../x", "climbs out with '..'"),
    ("a\\..\\x", "climbs out with '..'"),
])
def test_escape(relative, why):
    assert files.escape(relative) == why


def test_real_location_and_is_within(tmp_path):
    root, elsewhere = tmp_path / "root", tmp_path / "elsewhere"
    root.mkdir()
    elsewhere.mkdir()
    (root / "out").symlink_to(elsewhere)
    (root / "file").symlink_to(elsewhere / "target")
    # Not yet written: resolved through its folder.
    assert files.real_location(str(root / "out" / "new.jpg")) == str(elsewhere / "new.jpg")
    assert files.real_location(str(root / "file")) == str(elsewhere / "target")
    assert files.real_location(str(root / "plain.jpg")) == str(root / "plain.jpg")
    assert files.is_within(str(root / "plain.jpg"), str(root))
    assert not files.is_within(str(elsewhere / "new.jpg"), str(root))
    assert not files.is_within(str(tmp_path / "rootless"), str(root))  # a shared prefix is not inside
    # The root itself is resolved too.
    (tmp_path / "alias").symlink_to(root)
    assert files.is_within(str(root / "a"), str(tmp_path / "alias"))


def test_temporary_name_fits_the_name_limit(tmp_path):
    long = "é" * 127 + ".jpg"  # 258 bytes: the temporary must be shortened, at a character boundary
    name = os.path.basename(files.temporary_name(str(tmp_path / long)))
    assert name.startswith(".é") and name.endswith(".part") and len(os.fsencode(name)) <= files.NAME_MAX
    name.encode("utf-8")  # whole characters only
    short = os.path.basename(files.temporary_name(str(tmp_path / "x.jpg")))
    assert short.startswith(".x.jpg.") and short.endswith(".part") and len(short) == len(".x.jpg.") + 8 + len(".part")


def test_replace_atomically(tmp_path, monkeypatch):
    target = tmp_path / "x"
    files.replace_atomically(str(target), b"one")
    assert target.read_bytes() == b"one"
    old_umask = os.umask(0o027)
    try:
        files.replace_atomically(str(target), b"two")
    finally:
        os.umask(old_umask)
    assert target.read_bytes() == b"two" and target.stat().st_mode & 0o777 == 0o640

    def refused(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refused)
    with pytest.raises(PermissionError):
        files.replace_atomically(str(target), b"three")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x"] and target.read_bytes() == b"two"


def test_replace_atomically_refused_folder(tmp_path):
    with pytest.raises(FileNotFoundError):
        files.replace_atomically(str(tmp_path / "missing" / "x"), b"data")
    assert list(tmp_path.iterdir()) == []
