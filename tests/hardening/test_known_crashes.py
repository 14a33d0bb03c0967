"""Crashes found by hand, each mended at its source, checked on a real ``cvatcore serve``."""

from __future__ import annotations

import io
import time

import httpx
from PIL import Image

from cvatcore.hooks.testing.live import ADMIN


def _client(live) -> httpx.Client:
    return httpx.Client(base_url=live.url, auth=ADMIN, timeout=30)


def test_non_ascii_csrf_token_is_403(live):
    with httpx.Client(base_url=live.url, timeout=10) as client:
        r = client.post("/api/auth/login", json={"username": ADMIN[0], "password": ADMIN[1]})
        assert r.status_code == 200
        for token in ("caf\xe9", "\xff" * 32):
            r = client.post("/api/projects", json={"name": "p"},
                            headers={"X-CSRFToken": token.encode("latin-1")})
            assert r.status_code == 403 and "CSRF" in r.json()["detail"]


def test_unparsable_endpoint_urls_are_400(live):
    with _client(live) as client:
        for url in ("http://127.0.0.1:abc/", "http://127.0.0.1:99999/", "http://[::1/"):
            r = client.post("/api/cloudstorages", json={
                "provider_type": "AWS_S3_BUCKET", "resource": "bucket", "display_name": "b",
                "credentials_type": "ANONYMOUS_ACCESS",
                "specific_attributes": f"endpoint_url={url}"})
            assert r.status_code == 400, (url, r.status_code, r.text[:300])
            assert "endpoint_url" in r.text


def _jpeg(seed: int) -> bytes:
    out = io.BytesIO()
    Image.effect_noise((256, 192), 40 + seed).convert("RGB").save(out, "JPEG", quality=90)
    return out.getvalue()


def test_truncated_image_is_a_4xx_naming_it(live):
    good, broken = _jpeg(1), _jpeg(2)
    with _client(live) as client:
        task = client.post("/api/tasks", json={"name": "t", "labels": [{"name": "car"}]})
        assert task.status_code == 201
        task_id = task.json()["id"]
        files = {"client_files[0]": ("a.jpg", good, "image/jpeg"),
                 "client_files[1]": ("b.jpg", broken[: len(broken) * 2 // 3], "image/jpeg")}
        r = client.post(f"/api/tasks/{task_id}/data", files=files,
                        data={"image_quality": "70", "chunk_size": "1"})
        assert r.status_code == 202, r.text
        rq_id = r.json()["rq_id"]
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            status = client.get(f"/api/requests/{rq_id}").json()
            if status["status"] in ("finished", "failed"):
                break
            time.sleep(0.2)
        if status["status"] == "failed":  # refused at creation: fine, if it names the file
            assert "b.jpg" in status["message"], status
            return
        assert client.get(f"/api/tasks/{task_id}/data?type=frame&number=0").status_code == 200
        for path in (f"/api/tasks/{task_id}/data?type=frame&number=1&quality=compressed",
                     f"/api/tasks/{task_id}/data?type=chunk&number=1&quality=compressed",
                     f"/api/jobs/{_job_of(client, task_id)}/data?type=frame&number=1"):
            r = client.get(path)
            assert r.status_code == 409 and "b.jpg" in r.json()["detail"], (path, r.text)


def _job_of(client: httpx.Client, task_id: int) -> int:
    return client.get(f"/api/jobs?task_id={task_id}").json()["results"][0]["id"]
