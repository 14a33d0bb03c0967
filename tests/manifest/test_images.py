"""Image manifests: byte for byte what CVAT's utils/dataset_manifest/create.py writes."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from cvatcore.core.manifest import create as create_module
from cvatcore.core.manifest.create import ManifestError, create_manifest
from cvatcore.core.manifest.reader import ManifestReader, load_index


def test_directory_manifest_and_index_are_byte_identical(dataset, tmp_path: Path, kit):
    out = tmp_path / "out"
    result = create_manifest(str(dataset.root), str(out), jobs=1)

    assert (result.type, result.items) == ("images", len(kit.PICTURES))
    assert (out / "manifest.jsonl").read_bytes() == dataset.expected_manifest()
    assert (out / "index.json").read_bytes() == dataset.expected_index()
    assert sorted(os.listdir(out)) == ["index.json", "manifest.jsonl"]  # no temporary leftovers


def test_worker_processes_write_the_same_bytes(dataset, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(create_module, "BATCH_COUNT", {False: 3, True: 3})
    create_manifest(str(dataset.root), str(tmp_path / "two"), jobs=2)
    assert (tmp_path / "two" / "manifest.jsonl").read_bytes() == dataset.expected_manifest()


def test_fast_mode_hashes_the_files_and_keeps_everything_else(dataset, tmp_path: Path, kit):
    create_manifest(str(dataset.root), str(tmp_path / "fast"), fast=True, jobs=1)
    got = (tmp_path / "fast" / "manifest.jsonl").read_text().splitlines(keepends=True)

    assert "".join(got[:2]) == kit.HEADER
    for line, expected, pic in zip(got[2:], dataset.expected_lines(), kit.PICTURES, strict=True):
        file_md5 = hashlib.md5((dataset.root / pic.rel).read_bytes()).hexdigest()
        assert line == expected.rsplit('"checksum":', 1)[0] + f'"checksum":"{file_md5}"}}\n'


def test_sorting_methods(tmp_path: Path, kit):
    root = tmp_path / "seq"
    names = ["img10.png", "img2.png", "img1.png", "Img3.png"]
    for seed, name in enumerate(names):
        kit.save_picture(root / name, "L", (2, 2), seed)

    def order(sorting: str) -> list[str]:
        out = tmp_path / sorting
        create_manifest(str(root), str(out), sorting=sorting, jobs=1)
        return [item["name"] for item in ManifestReader(str(out / "manifest.jsonl")).items()]

    assert order("lexicographical") == ["Img3", "img1", "img10", "img2"]
    assert order("natural") == ["img1", "img2", "Img3", "img10"]
    walk_order = [os.path.splitext(f)[0] for f in next(os.walk(root))[2]]
    assert order("predefined") == walk_order
    assert sorted(order("random")) == sorted(walk_order)


def test_glob_source_names_items_from_its_fixed_root(dataset, tmp_path: Path):
    create_manifest(str(dataset.root / "*.jpg"), str(tmp_path / "out"), jobs=1)
    items = list(ManifestReader(str(tmp_path / "out" / "manifest.jsonl")).items())
    assert [i["name"] for i in items] == ["b", "caf\u00e9", "rotated", "upside"]
    assert items[0]["meta"]["related_images"] == [
        "related_images/b_jpg/ctx1.jpg", "related_images/b_jpg/ctx2.png"
    ]


def test_a_broken_image_fails_naming_it_and_keeps_the_old_manifest(dataset,
                                                                  tmp_path: Path):
    out = tmp_path / "out"
    create_manifest(str(dataset.root), str(out), jobs=1)
    before = (out / "manifest.jsonl").read_bytes()
    (dataset.root / "sub" / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")

    with pytest.raises(ManifestError, match=r"sub/broken\.jpg: cannot read the image"):
        create_manifest(str(dataset.root), str(out), jobs=1)
    assert (out / "manifest.jsonl").read_bytes() == before
    assert sorted(os.listdir(out)) == ["index.json", "manifest.jsonl"]


def test_no_images_and_missing_sources_are_clear_errors(tmp_path: Path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("no images here")
    with pytest.raises(ManifestError, match="no images found"):
        create_manifest(str(tmp_path / "empty"), str(tmp_path / "out"))
    with pytest.raises(ManifestError, match="no such file or directory"):
        create_manifest(str(tmp_path / "missing"), str(tmp_path / "out"))
    with pytest.raises(ManifestError, match="give a video file"):
        create_manifest(str(tmp_path / "empty" / "readme.txt"), str(tmp_path / "out"))
    assert not (tmp_path / "out" / "manifest.jsonl").exists()


def test_reader_offsets_match_the_index_and_seek_to_items(dataset, tmp_path: Path):
    create_manifest(str(dataset.root), str(tmp_path), jobs=1)
    reader = ManifestReader(str(tmp_path / "manifest.jsonl"))
    offsets = reader.offsets()

    assert offsets == load_index(str(tmp_path / "index.json"))
    assert reader.header().type == "images"
    assert reader.item(4, offsets)["name"] == "rotated"
    assert [i["name"] for i in reader.items()][-1] == "upside"
    with pytest.raises(IndexError):
        reader.item(len(offsets), offsets)
