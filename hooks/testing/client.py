"""``ApiClient``: Starlette's ``TestClient`` signed in the way CVAT's clients sign in.

Starlette's ``TestClient`` needs ``httpx2`` (cvatcore's ``test`` extra); this module is the
only one in the kit that imports it, and only when a test uses ``ApiClient``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from starlette.testclient import TestClient


class ApiClient(TestClient):
    """A TestClient that signs in like CVAT's clients (session cookie plus CSRF header)."""

    def login(self, username: str, password: str) -> dict[str, Any]:
        response = self.post("/api/auth/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        self.headers["X-CSRFToken"] = self.cookies["csrftoken"]
        return response.json()

    def logout(self) -> None:
        self.post("/api/auth/logout")
        self.cookies.clear()
        self.headers.pop("X-CSRFToken", None)

    def get_until(self, url: str, done: Callable[[Any], bool], timeout: float = 30) -> Any:
        """GET ``url`` until ``done(json_body)`` holds (a background request finishing, say)
        and return that body; an ``AssertionError`` with the last body after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while True:
            body = self.get(url).json()
            if done(body):
                return body
            assert time.monotonic() < deadline, body
            time.sleep(0.05)

    def task_with_frames(self, frames: list[bytes], labels: list[dict[str, Any]],
                         name: str = "task", image_quality: int = 90, **fields: Any) -> int:
        """A new task with ``labels`` (and any other ``fields`` of ``POST /api/tasks``) whose
        data are ``frames`` (image files' bytes, uploaded as ``000.png``, ``001.png``, ... so
        name order is frame order); its id once the data request has finished."""
        made = self.post("/api/tasks", json={"name": name, "labels": labels, **fields})
        assert made.status_code == 201, made.text
        task_id = made.json()["id"]
        files = [(f"client_files[{i}]", (f"{i:03d}.png", frame))
                 for i, frame in enumerate(frames)]
        queued = self.post(f"/api/tasks/{task_id}/data", files=files,
                           data={"image_quality": str(image_quality)})
        assert queued.status_code == 202, queued.text
        rq = queued.json()["rq_id"]
        body = self.get_until(f"/api/requests/{rq}",
                              lambda body: body["status"] in ("finished", "failed"))
        assert body["status"] == "finished", body
        return task_id
