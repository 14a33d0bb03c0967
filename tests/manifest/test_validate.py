"""The validator: one line-numbered message per problem, through the API and the CLI."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from cvatcore.cli.manifest import manifest as manifest_cli
from cvatcore.core.manifest.create import create_manifest
from cvatcore.core.manifest.validate import validate_manifest

MD5 = "0123456789abcdef0123456789abcdef"


def write(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def problems(path: Path) -> list[tuple[int, str]]:
    return [(p.line, p.message) for p in validate_manifest(str(path)).problems]


def test_manifests_made_by_create_are_valid(dataset, tmp_path: Path, kit):
    create_manifest(str(dataset.root), str(tmp_path / "images"), jobs=1)
    report = validate_manifest(str(tmp_path / "images" / "manifest.jsonl"))
    assert (report.ok, report.type, report.items) == (True, "images", len(kit.PICTURES))

    kit.make_video(tmp_path / "v.mp4", frames=20, gop=5)
    create_manifest(str(tmp_path / "v.mp4"), str(tmp_path / "video"))
    report = validate_manifest(str(tmp_path / "video" / "manifest.jsonl"))
    assert (report.ok, report.type) == (True, "video")


def test_item_problems_are_reported_with_their_line(tmp_path: Path):
    path = write(
        tmp_path / "m.jsonl",
        '{"version":"1.1"}',
        '{"type":"images"}',
        f'{{"name":"a","extension":".jpg","width":3,"height":2,"checksum":"{MD5}"}}',
        "{not json",
        '{"name":"a","extension":".jpg","width":3,"height":2}',
        '{"name":"b","extension":"jpg","width":0,"height":2,"checksum":"XYZ"}',
        "",
        '{"extension":".png","width":1,"height":1,"meta":{"related_images":"ctx.png"}}',
        '{"name":"cloud","extension":".pcd"}',
    )
    found = problems(path)
    assert [line for line, _ in found] == [4, 5, 6, 6, 6, 7, 8, 8]
    assert found[0][1].startswith("not valid JSON")
    assert found[1][1] == "duplicate image 'a.jpg' (first on line 3)"
    assert found[2][1] == "'extension' must start with a dot, got 'jpg'"
    assert found[3][1] == "'width' must be a positive integer, got 0"
    assert found[4][1] == "'checksum' must be 32 lowercase hex digits (an md5), got 'XYZ'"
    assert found[5][1] == "blank line (a manifest has none)"
    assert found[6][1] == "'name' is required"
    assert found[7][1] == "'meta.related_images' must be a list of paths, got 'ctx.png'"


def test_header_problems(tmp_path: Path):
    assert problems(write(tmp_path / "a", '{"version":"2.0"}', '{"type":"images"}')) == [
        (1, "unsupported version '2.0'; expected 1.0 or 1.1")
    ]
    assert problems(write(tmp_path / "b", '{"version":"1.0"}', '{"kind":"images"}')) == [
        (2, "expected the 'type' header line, got keys 'kind'")
    ]
    assert problems(write(tmp_path / "c", '{"version":"1.1"}', '{"type":"audio"}')) == [
        (2, "unknown type 'audio'; expected 'images' or 'video'")
    ]
    assert problems(write(tmp_path / "d", '{"version":"1.1"}')) == [
        (0, "the file ends before its 'type' line")
    ]
    assert problems(write(tmp_path / "e", '{"version":"1.1"}', '{"type":"images"}')) == [
        (0, "the manifest lists no images")
    ]
    video = '{"properties":{"name":"v.mp4","resolution":[4,4],"length":0}}'
    assert problems(write(tmp_path / "f", '{"version":"1.1"}', '{"type":"video"}', video)) == [
        (3, "'properties.length' must be a positive frame count, got 0"),
        (0, "the manifest lists no key frames"),
    ]


def test_video_problems(tmp_path: Path):
    path = write(
        tmp_path / "v.jsonl",
        '{"version":"1.1"}',
        '{"type":"video"}',
        '{"properties":{"name":"v.mp4","resolution":[64],"length":8}}',
        f'{{"number":0,"pts":0,"checksum":"{MD5}"}}',
        '{"number":10,"pts":5120}',
        '{"number":5,"pts":2560}',
        '{"number":"7","pts":3000}',
    )
    assert problems(path) == [
        (3, "'properties.resolution' must be [width, height], got [64]"),
        (5, "frame 10 is outside the video (length 8)"),
        (6, "key frame 5 (pts 2560) does not come after frame 10 (pts 5120) on line 5"),
        (7, "'number' must be an integer, got '7'"),
    ]


def test_cli_prints_each_problem_and_exits_1(tmp_path: Path):
    path = write(tmp_path / "bad.jsonl", '{"version":"1.1"}', '{"type":"images"}', "[1, 2]")
    result = CliRunner().invoke(manifest_cli, ["validate", str(path)])
    assert result.exit_code == 1
    assert f"{path}:3: expected a JSON object, got list" in result.stdout
    assert "1 problem(s)" in result.stderr


def test_cli_accepts_a_directory_and_says_it_is_valid(dataset, tmp_path: Path):
    create_manifest(str(dataset.root), str(tmp_path), jobs=1)
    result = CliRunner().invoke(manifest_cli, ["validate", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith("a valid images manifest with 8 items")


def test_cli_reports_a_missing_file(tmp_path: Path):
    result = CliRunner().invoke(manifest_cli, ["validate", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 1
    assert "cannot be read (FileNotFoundError" in result.stdout
