"""A real ``cvatcore serve`` (SQLite) with this plugin installed, an administrator, and tasks
with real images made through cvat-sdk."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cvat_sdk import models
from cvat_sdk.core.proxies.tasks import ResourceType
from PIL import Image

from cvatcore.hooks.testing.live import sdk_client, serve_with_admin

SKELETON = ('<line x1="1" y1="1" x2="2" y2="2" data-node-from="1" data-node-to="2"></line>'
            '<circle r="0.75" cx="1" cy="1" data-type="element node" data-element-id="1" '
            'data-node-id="1" data-label-name="head"></circle>'
            '<circle r="0.75" cx="2" cy="2" data-type="element node" data-element-id="2" '
            'data-node-id="2" data-label-name="foot"></circle>')
LABELS = [
    {"name": "car", "color": "#fa3253", "attributes": [
        {"name": "color", "mutable": False, "input_type": "select",
         "default_value": "red", "values": ["red", "blue"]}]},
    {"name": "person", "color": "#33ddff", "attributes": []},
    {"name": "pose", "type": "skeleton", "sublabels": [{"name": "head"}, {"name": "foot"}],
     "svg": SKELETON},
    {"name": "icdar", "attributes": [
        {"name": "text", "mutable": False, "input_type": "text", "default_value": "",
         "values": []}]},
    {"name": "market-1501", "attributes": [
        {"name": n, "mutable": False, "input_type": "text", "default_value": "", "values": []}
        for n in ("query", "person_id", "camera_id")]},
]


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve_with_admin(tmp_path_factory.mktemp("datumaro")) as live:
        yield live.url


@pytest.fixture
def sdk(server: str) -> Iterator[Any]:
    with sdk_client(server) as client:
        yield client


def write_images(folder: Path, names: list[str], size: tuple[int, int] = (64, 48)
                 ) -> list[Path]:
    paths = []
    for i, name in enumerate(names):
        path = folder / name
        buf = io.BytesIO()
        Image.new("RGB", size, (i * 40 % 255, 100, 150)).save(buf, "PNG")
        path.write_bytes(buf.getvalue())
        paths.append(path)
    return paths


@pytest.fixture
def make_task(sdk: Any, tmp_path: Path) -> Callable[..., Any]:
    """``make_task(name, names=None)``: a task of three real images (or ones named ``names``)
    with LABELS."""
    folder = tmp_path / "images"
    folder.mkdir(exist_ok=True)

    def make(name: str, names: list[str] | None = None) -> Any:
        images = write_images(folder, names or [f"img_{i:03d}.png" for i in range(3)])
        spec = models.TaskWriteRequest(name=name, labels=LABELS)
        return sdk.tasks.create_from_data(spec, resource_type=ResourceType.LOCAL,
                                          resources=[str(p) for p in images])

    return make
