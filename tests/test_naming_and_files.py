"""Names and files (SPEC §4): naming forms, saveas buckets, formats, atomic writes."""

from __future__ import annotations

import base64
import os

import pytest

from engine import TargetError, snapshot
from engine.params import ImageFormat
from engine.writer import naming, write_atomic
from oracle import frame_index_of, leftovers

MAIN = "h264_bframes.mp4"
FOUR = "video/snapshots,f_jpg,m_avg,num_4,w_96"
FOUR_FRAMES = [112, 337, 562, 787]  # t = (k + ½)·30030/4 ms


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def files(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_prefix_gets_stream_and_serial(tmp_path, sample):
    result = snapshot(sample(MAIN), FOUR, str(tmp_path / "clip"))
    assert files(tmp_path) == [f"clip_0_{j}.jpg" for j in (1, 2, 3, 4)]
    assert [frame_index_of(p) for p in result.paths] == FOUR_FRAMES


@pytest.mark.parametrize(
    "target,names",
    [
        ("frame-{index}.{autoext}", ["frame-1.jpg", "frame-2.jpg", "frame-3.jpg", "frame-4.jpg"]),
        ("f%d.jpg", ["f1.jpg", "f2.jpg", "f3.jpg", "f4.jpg"]),
        ("shot_{index}", ["shot_1", "shot_2", "shot_3", "shot_4"]),
    ],
)
def test_variables(tmp_path, sample, target, names):
    result = snapshot(sample(MAIN), FOUR, str(tmp_path / target))
    assert files(tmp_path) == names
    assert [frame_index_of(p) for p in result.paths] == FOUR_FRAMES


def test_image_suffix_keeps_only_the_last_and_decodes_only_it(tmp_path, sample):
    result = snapshot(sample(MAIN), FOUR, str(tmp_path / "dest.jpg"))
    assert files(tmp_path) == ["dest.jpg"]
    assert frame_index_of(tmp_path / "dest.jpg") == FOUR_FRAMES[-1]
    assert any("only the last" in w for w in result.warnings)
    # Only the last target is decoded: from its keyframe (780) to it (787).
    assert result.frames_decoded <= 787 - 780 + 8


def test_suffix_disagreeing_with_format_keeps_name_writes_format(tmp_path, sample):
    result = snapshot(sample(MAIN), "video/snapshots,f_png,m_avg,num_1", str(tmp_path / "dest.jpg"))
    data = (tmp_path / "dest.jpg").read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert any("disagrees" in w for w in result.warnings)
    assert frame_index_of(tmp_path / "dest.jpg") == 450


def test_directory_target_uses_the_source_name(tmp_path, sample):
    snapshot(sample(MAIN), FOUR, str(tmp_path) + "/")
    assert files(tmp_path) == [f"h264_bframes_0_{j}.jpg" for j in (1, 2, 3, 4)]


def test_missing_folders_are_created(tmp_path, sample):
    snapshot(sample(MAIN), FOUR, str(tmp_path / "a" / "b" / "clip"))
    assert files(tmp_path / "a" / "b") == [f"clip_0_{j}.jpg" for j in (1, 2, 3, 4)]


@pytest.mark.parametrize(
    "fmt,magic",
    [("jpg", b"\xff\xd8\xff"), ("png", b"\x89PNG"), ("webp", b"RIFF")],
)
def test_formats(tmp_path, sample, fmt, magic):
    result = snapshot(sample(MAIN), f"video/snapshots,f_{fmt},m_avg,num_1", str(tmp_path / "x"))
    path = result.paths[0]
    assert path.endswith("." + fmt)
    with open(path, "rb") as handle:
        assert handle.read(4).startswith(magic)
    assert frame_index_of(path) == 450


def test_quality_changes_the_jpeg(tmp_path, sample):
    low = snapshot(sample(MAIN), "video/snapshots,f_jpg,m_avg,num_1,q_10", str(tmp_path / "low")).paths[0]
    high = snapshot(sample(MAIN), "video/snapshots,f_jpg,m_avg,num_1,q_95", str(tmp_path / "high")).paths[0]
    assert os.path.getsize(low) < os.path.getsize(high) / 2
    assert frame_index_of(low) == frame_index_of(high) == 450


def test_saveas_writes_under_the_bucket(tmp_path, sample):
    (tmp_path / "outbucket").mkdir()
    # The seed's literal saveas/notify part: its object name ends in an encoded newline.
    process = (
        f"{FOUR}|sys/saveas,b_b3V0YnVja2V0,o_b3V0b2JqcHJlZml4LXtpbmRleH0ue2F1dG9leHR9Cg/notify,topic_ZXhhbXBsZS1tbnMtdG9waWMK"
    )
    result = snapshot(sample(MAIN), process, storage_root=str(tmp_path))
    assert files(tmp_path / "outbucket") == [f"outobjprefix-{j}.jpg" for j in (1, 2, 3, 4)]
    assert [frame_index_of(p) for p in result.paths] == FOUR_FRAMES


@pytest.mark.parametrize("obj", ["../escape-{index}.jpg", "/etc/x-{index}.jpg", "a/../../x{index}", "a/../../../x.jpg"])
def test_saveas_refuses_escapes(tmp_path, sample, obj):
    (tmp_path / "bucket").mkdir()
    process = f"{FOUR}|sys/saveas,b_{b64('bucket')},o_{b64(obj)}"
    with pytest.raises(TargetError, match=r"o: object"):
        snapshot(sample(MAIN), process, storage_root=str(tmp_path))
    assert files(tmp_path) == ["bucket"] and files(tmp_path / "bucket") == []


def test_saveas_refuses_a_symlink_out_of_the_bucket(tmp_path, sample):
    (tmp_path / "bucket").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "bucket" / "link").symlink_to(tmp_path / "elsewhere")
    process = f"{FOUR}|sys/saveas,b_{b64('bucket')},o_{b64('link/x-{index}.jpg')}"
    with pytest.raises(TargetError, match=r"outside"):
        snapshot(sample(MAIN), process, storage_root=str(tmp_path))
    assert files(tmp_path / "elsewhere") == []


@pytest.mark.parametrize("bucket", ["..", "a/b", "."])
def test_saveas_refuses_bad_buckets(tmp_path, sample, bucket):
    process = f"{FOUR}|sys/saveas,b_{b64(bucket)},o_{b64('x')}"
    with pytest.raises(TargetError, match=r"b: bucket"):
        snapshot(sample(MAIN), process, storage_root=str(tmp_path))


def test_saveas_needs_an_existing_bucket(tmp_path, sample):
    process = f"{FOUR}|sys/saveas,b_{b64('nope')},o_{b64('x')}"
    with pytest.raises(TargetError, match=r"does not exist"):
        snapshot(sample(MAIN), process, storage_root=str(tmp_path))
    assert files(tmp_path) == []


def test_explicit_target_wins_over_saveas(tmp_path, sample):
    process = f"{FOUR}|sys/saveas,b_{b64('bucket')},o_{b64('x')}"
    result = snapshot(sample(MAIN), process, str(tmp_path / "clip"))
    assert len(result.paths) == 4 and any("saveas" in w for w in result.warnings)


def test_naming_rules():
    assert naming("out/clip", ImageFormat.PNG, 2).path(7) == "out/clip_2_7.png"
    assert naming("o/{index}-{index}.{autoext}", ImageFormat.WEBP, 0).path(3) == "o/3-3.webp"
    single = naming("a/b.JPEG", ImageFormat.JPG, 0)
    assert single.keeps_last_only and single.path(9) == "a/b.JPEG" and not single.warnings
    assert not naming("a/b%d.png", ImageFormat.PNG, 0).keeps_last_only
    with pytest.raises(TargetError, match="NUL"):
        naming("a\x00b", ImageFormat.PNG, 0)


def test_atomic_write_leaves_nothing_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "x.jpg"
    target.write_bytes(b"old")

    def interrupted(fd):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(os, "fsync", interrupted)
        with pytest.raises(KeyboardInterrupt):
            write_atomic(str(target), b"new data")
    assert files(tmp_path) == ["x.jpg"] and target.read_bytes() == b"old"

    def refused(src, dst):
        raise PermissionError(13, "Permission denied")

    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", refused)
        with pytest.raises(TargetError, match=r"cannot write it \(Permission denied\)"):
            write_atomic(str(target), b"new data")
    assert files(tmp_path) == ["x.jpg"] and target.read_bytes() == b"old"
    write_atomic(str(target), b"new data")
    assert target.read_bytes() == b"new data" and leftovers(tmp_path) == []


def test_unwritable_target_is_a_target_error(tmp_path, sample):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(TargetError, match=r"cannot"):
        snapshot(sample(MAIN), FOUR, str(blocker / "clip"))


def test_storage_root_confines_an_explicit_target(tmp_path, sample):
    root = tmp_path / "root"
    root.mkdir()
    result = snapshot(sample(MAIN), FOUR, "sub/clip", storage_root=str(root))
    assert files(root / "sub") == [f"clip_0_{j}.jpg" for j in (1, 2, 3, 4)]
    assert [frame_index_of(p) for p in result.paths] == FOUR_FRAMES
    for escaping, message in (("../out", "climbs out"), ("/tmp/abs", "absolute"), ("a\x00b", "NUL")):
        with pytest.raises(TargetError, match=rf"target .*{message}"):
            snapshot(sample(MAIN), FOUR, escaping, storage_root=str(root))
    (root / "link").symlink_to(tmp_path)
    with pytest.raises(TargetError, match="outside"):
        snapshot(sample(MAIN), FOUR, "link/clip", storage_root=str(root))
    assert files(tmp_path) == ["root"]
