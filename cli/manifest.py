"""``cvatcore manifest create|validate``: CVAT's ``manifest.jsonl`` for images or a video.

The heavy modules (Pillow, PyAV, fsspec) are imported inside the commands, so that every other
``cvatcore`` command starts as fast as before.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

SORTING_METHODS = ("lexicographical", "natural", "predefined", "random")
TOO_FEW_KEY_FRAMES_NOTE = (
    "NOTE: prepared manifest file contains too few key frames for smooth decoding.\n"
    "Use --force flag if you still want to prepare a manifest file."
)


def _storage_options(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs for fsspec; a VALUE that parses as JSON is used as such (``true``,
    ``5``, ``{...}``), and ``a.b=VALUE`` makes the nested ``{"a": {"b": VALUE}}``."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {key or pair!r}",
                                     param_hint="--storage-option")
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        *parents, leaf = key.split(".")
        target = options
        for part in parents:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                raise click.BadParameter(f"{key}: {part} is set twice",
                                         param_hint="--storage-option")
        target[leaf] = value
    return options


_storage_option = click.option(
    "-o", "--storage-option", "storage_option", multiple=True, metavar="KEY=VALUE",
    help="An fsspec option for a bucket URL (repeatable), e.g. -o anon=true, "
         "-o endpoint_url=http://127.0.0.1:9000. Credentials may also come from the "
         "environment (AWS_*, AZURE_STORAGE_*, GOOGLE_APPLICATION_CREDENTIALS).",
)


@click.group()
def manifest() -> None:
    """Dataset manifests (manifest.jsonl, format 1.1) as CVAT's utils/dataset_manifest makes."""


@manifest.command("create")
@click.argument("source")
@click.option("--output-dir", default=".", show_default=True,
              help="Where manifest.jsonl and index.json go (a directory or a bucket URL).")
@click.option("--sorting", type=click.Choice(SORTING_METHODS), default="lexicographical",
              show_default=True, help="Order of the images in the manifest.")
@click.option("--fast", is_flag=True,
              help="Checksums of the file bytes and sizes from the headers, without decoding "
                   "(much faster; checksums differ from CVAT's pixel checksums).")
@click.option("-j", "--jobs", type=click.IntRange(min=1),
              help="Worker processes (default: every core).")
@click.option("--readers", type=click.IntRange(min=1), default=16, show_default=True,
              help="Concurrent reads from a bucket.")
@click.option("--force", is_flag=True,
              help="Write a video manifest even when key frames are too sparse.")
@click.option("--progress/--no-progress", default=True, show_default=True,
              help="A progress bar on stderr.")
@_storage_option
def create(source: str, output_dir: str, sorting: str, fast: bool, jobs: int | None,
           readers: int, force: bool, progress: bool, storage_option: tuple[str, ...]) -> None:
    """Write a manifest for SOURCE: a directory or glob of images, or one video file, on this
    machine or in a bucket (s3://, az://, gs://, or any fsspec URL).

    Images are found recursively; those under related_images/ become context images of their
    item. The output is byte-identical to CVAT's create.py (without --fast).
    """
    from cvatcore.core.manifest.create import ManifestError, create_manifest
    from cvatcore.core.manifest.progress import TqdmProgress
    from cvatcore.core.manifest.video import TooFewKeyFrames

    bar = TqdmProgress("manifest", enabled=progress)
    try:
        result = create_manifest(
            source, output_dir, sorting=sorting, fast=fast, jobs=jobs, force=force,
            storage_options=_storage_options(storage_option), readers=readers, progress=bar,
        )
    except TooFewKeyFrames:
        bar.close()
        click.echo(TOO_FEW_KEY_FRAMES_NOTE)
        sys.exit(2)
    except ManifestError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        bar.close()
    what = "key frames" if result.type == "video" else "images"
    click.echo(f"The manifest file has been prepared: {result.path} ({result.items} {what})")


@manifest.command("validate")
@click.argument("path")
@click.option("--max-problems", type=click.IntRange(min=1), default=100, show_default=True,
              help="Stop after this many problems.")
@_storage_option
def validate(path: str, max_problems: int, storage_option: tuple[str, ...]) -> None:
    """Check every line of the manifest at PATH (a file, a directory holding manifest.jsonl, or
    a bucket URL); print one line per problem and exit 1 when there is any."""
    from cvatcore.core.manifest.sources import is_url
    from cvatcore.core.manifest.validate import validate_manifest

    if not is_url(path) and os.path.isdir(path):
        path = os.path.join(path, "manifest.jsonl")
    report = validate_manifest(path, _storage_options(storage_option), max_problems)
    for problem in report.problems:
        click.echo(problem.format(path))
    if report.ok:
        click.echo(f"{path}: a valid {report.type} manifest with {report.items} items")
        return
    more = " (stopped there)" if report.truncated else ""
    click.echo(f"{path}: {len(report.problems)} problem(s){more}", err=True)
    sys.exit(1)


if __name__ == "__main__":  # ``python -m cvatcore.cli.manifest``: no plugin loading at start-up
    manifest()
