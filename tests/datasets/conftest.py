"""A real ``cvatcore serve`` (SQLite) for the dataset tests, an administrator, and tasks with
real images made through cvat-sdk."""

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


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # The cloud emulators (Azurite, moto) listen on loopback: allowed, as an operator would
    # allow an in-house MinIO.
    with serve_with_admin(tmp_path_factory.mktemp("datasets"),
                          '[outbound]\nallow = ["127.0.0.1"]\n') as live:
        yield live.url


@pytest.fixture
def sdk(server: str) -> Iterator[Any]:
    with sdk_client(server) as client:
        yield client


LABELS = [
    {"name": "car", "attributes": [
        {"name": "color", "mutable": False, "input_type": "select",
         "default_value": "red", "values": ["red", "blue"]},
        {"name": "parked", "mutable": True, "input_type": "checkbox",
         "default_value": "false", "values": ["false"]}]},
    {"name": "person", "attributes": []},
    {"name": "pose", "type": "skeleton", "sublabels": [{"name": "head"}, {"name": "foot"}],
     "svg": '<line x1="1" y1="1" x2="2" y2="2" data-node-from="1" data-node-to="2"></line>'
            '<circle r="0.75" cx="1" cy="1" data-type="element node" data-element-id="1" '
            'data-node-id="1" data-label-name="head"></circle>'
            '<circle r="0.75" cx="2" cy="2" data-type="element node" data-element-id="2" '
            'data-node-id="2" data-label-name="foot"></circle>'},
]


def write_images(folder: Path, count: int, size: tuple[int, int] = (64, 48)) -> list[Path]:
    paths = []
    for i in range(count):
        path = folder / f"img_{i:03d}.png"
        img = Image.new("RGB", size, (i * 20 % 255, 100, 150))
        buf = io.BytesIO()
        img.save(buf, "PNG")
        path.write_bytes(buf.getvalue())
        paths.append(path)
    return paths


@pytest.fixture
def make_task(sdk: Any, tmp_path: Path) -> Callable[..., Any]:
    """``make_task(name, frames=3, segment_size=0)``: a task with real images and LABELS."""
    folder = tmp_path / "images"
    folder.mkdir(exist_ok=True)
    images = write_images(folder, 4)

    def make(name: str, frames: int = 3, segment_size: int = 0) -> Any:
        spec = models.TaskWriteRequest(name=name, labels=LABELS, segment_size=segment_size)
        return sdk.tasks.create_from_data(spec, resource_type=ResourceType.LOCAL,
                                          resources=[str(p) for p in images[:frames]])

    return make
