"""``cvatcore manifest create``: options, messages and exit codes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cvatcore.cli.manifest import _storage_options
from cvatcore.cli.manifest import manifest as manifest_cli


def test_create_writes_the_manifest_with_a_progress_bar_on_stderr(dataset, tmp_path: Path):
    out = tmp_path / "out"
    result = CliRunner().invoke(
        manifest_cli, ["create", str(dataset.root), "--output-dir", str(out), "--jobs", "1"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"The manifest file has been prepared: {out / 'manifest.jsonl'} (8 images)\n"
    )
    assert "8/8" in result.stderr and "manifest" in result.stderr
    assert (out / "manifest.jsonl").read_bytes() == dataset.expected_manifest()


def test_sparse_key_frames_exit_2_with_cvats_note(tmp_path: Path, kit):
    kit.make_video(tmp_path / "v.mp4", frames=120, gop=600, changing=False)
    runner = CliRunner()
    args = ["create", str(tmp_path / "v.mp4"), "--output-dir", str(tmp_path), "--no-progress"]
    result = runner.invoke(manifest_cli, args)
    assert result.exit_code == 2
    assert result.stdout.startswith("NOTE: prepared manifest file contains too few key frames")
    assert not (tmp_path / "manifest.jsonl").exists()

    result = runner.invoke(manifest_cli, [*args, "--force"])
    assert result.exit_code == 0, result.output
    assert "(1 key frames)" in result.stdout


def test_errors_exit_1_with_the_reason(tmp_path: Path):
    result = CliRunner().invoke(manifest_cli, ["create", str(tmp_path / "missing"),
                                               "--output-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "no such file or directory" in result.stderr
    result = CliRunner().invoke(manifest_cli, ["create", str(tmp_path), "--sorting", "size"])
    assert result.exit_code == 2 and "'size' is not one of" in result.stderr


def test_storage_options_parse_json_values_and_nested_keys():
    assert _storage_options(("anon=true", "client_kwargs.endpoint_url=http://127.0.0.1:9",
                             "client_kwargs.region_name=eu", "block_size=5", "key=abc")) == {
        "anon": True, "block_size": 5, "key": "abc",
        "client_kwargs": {"endpoint_url": "http://127.0.0.1:9", "region_name": "eu"},
    }
    with pytest.raises(click.BadParameter, match="expected KEY=VALUE"):
        _storage_options(("anon",))


def test_the_installed_command_has_the_manifest_group(dataset, run_cvatcore, tmp_path: Path,
                                                     kit):
    done = run_cvatcore("manifest", "create", str(dataset.root), "--output-dir", "out",
                        "--fast", "--jobs", "2")
    assert done.returncode == 0, done.stderr
    lines = (tmp_path / "out" / "manifest.jsonl").read_text().splitlines()
    first = kit.PICTURES[0]
    file_md5 = hashlib.md5((dataset.root / first.rel).read_bytes()).hexdigest()
    assert lines[2].endswith(f'"checksum":"{file_md5}"}}')
    assert len(lines) == 2 + len(kit.PICTURES)
    assert "The manifest file has been prepared" in done.stdout
