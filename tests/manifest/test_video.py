"""Video manifests: key frames found by a plain decode, written as CVAT writes them."""

from __future__ import annotations

from pathlib import Path

import pytest

from cvatcore.core.manifest.create import ManifestError, create_manifest
from cvatcore.core.manifest.video import TooFewKeyFrames, rotated_size


def test_video_manifest_lists_the_seekable_key_frames(tmp_path: Path, kit):
    video = tmp_path / "clip.mp4"
    kit.make_video(video, frames=50, gop=10)
    count, key_frames = kit.decoded_key_frames(video)
    assert count == 50 and len(key_frames) >= 5  # at least one every 10 frames

    result = create_manifest(str(video), str(tmp_path / "out"))

    header = (
        '{"version":"1.1"}\n{"type":"video"}\n'
        '{"properties":{"name":"clip.mp4","resolution":[64,48],"length":50}}\n'
    )
    lines = [f'{{"number":{n},"pts":{pts},"checksum":"{md5}"}}\n' for n, pts, md5 in key_frames]
    assert (tmp_path / "out" / "manifest.jsonl").read_text() == header + "".join(lines)
    offsets, pos = [], len(header)
    for line in lines:
        offsets.append(pos)
        pos += len(line)
    index = ",".join(f'"{i}":{off}' for i, off in enumerate(offsets))
    assert (tmp_path / "out" / "index.json").read_text() == "{" + index + "}"
    assert (result.type, result.items) == ("video", len(key_frames))


def test_sparse_key_frames_need_force(tmp_path: Path, kit):
    video = tmp_path / "long-gop.mp4"
    kit.make_video(video, frames=120, gop=600, changing=False)
    count, key_frames = kit.decoded_key_frames(video)
    assert count == 120 and len(key_frames) == 1  # 120 // 1 >= 3 * 36 + 1

    with pytest.raises(TooFewKeyFrames):
        create_manifest(str(video), str(tmp_path / "out"))
    assert not (tmp_path / "out" / "manifest.jsonl").exists()

    create_manifest(str(video), str(tmp_path / "out"), force=True)
    lines = (tmp_path / "out" / "manifest.jsonl").read_text().splitlines()
    assert lines[2] == '{"properties":{"name":"long-gop.mp4","resolution":[64,48],"length":120}}'
    assert lines[3].startswith('{"number":0,"pts":0,"checksum":"')
    assert len(lines) == 4


def test_a_file_that_is_no_video_is_a_clear_error(tmp_path: Path):
    fake = tmp_path / "fake.mp4"
    fake.write_bytes(b"\x00" * 256)
    with pytest.raises(ManifestError, match=r"^fake\.mp4: "):
        create_manifest(str(fake), str(tmp_path / "out"))
    assert not (tmp_path / "out" / "manifest.jsonl").exists()


def test_rotation_metadata_swaps_the_resolution_like_opencv():
    assert rotated_size(64, 48, 360 - 90) == (48, 64)
    assert rotated_size(64, 48, 360 - 180) == (64, 48)
    assert rotated_size(64, 48, 360 - 270) == (48, 64)
