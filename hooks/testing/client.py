"""``ApiClient``: Starlette's ``TestClient`` signed in the way CVAT's clients sign in.

Starlette's ``TestClient`` needs ``httpx2`` (cvatcore's ``test`` extra); this module is the
only one in the kit that imports it, and only when a test uses ``ApiClient``.
"""

from __future__ import annotations

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
