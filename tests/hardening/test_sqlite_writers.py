"""Two HTTP Basic clients writing and a background job, at once, on one SQLite file behind a
real ``cvatcore serve``: no 5xx, no reset connection (bench/writers.py runs it for 30 s)."""

from __future__ import annotations

import io
import threading
import time

import httpx
from PIL import Image

DURATION = 5.0


def _client_loop(url: str, auth: tuple[str, str], name: str, stop: threading.Event,
                 out: dict[str, list]) -> None:
    with httpx.Client(base_url=url, auth=auth, timeout=60) as client:
        n = 0
        while not stop.is_set():
            n += 1
            try:
                p = client.post("/api/projects", json={
                    "name": f"{name}-{n}", "labels": [{"name": f"l{i}"} for i in range(30)]})
                out["status"].append(p.status_code)
                if p.status_code == 201:
                    pid = p.json()["id"]
                    for r in (client.patch(f"/api/projects/{pid}", json={"name": f"{name}-x{n}"}),
                              client.get("/api/projects?page_size=20"),
                              client.get(f"/api/labels?project_id={pid}"),
                              client.delete(f"/api/projects/{pid}")):
                        out["status"].append(r.status_code)
            except httpx.TransportError as exc:
                out["errors"].append(repr(exc))


def _jpeg(seed: int) -> bytes:
    buf = io.BytesIO()
    Image.effect_noise((320, 240), 30 + seed % 50).convert("RGB").save(buf, "JPEG")
    return buf.getvalue()


def _job_loop(url: str, auth: tuple[str, str], stop: threading.Event,
              out: dict[str, list]) -> None:
    """Tasks with data, one after another: the ``create:task`` background job writes too."""
    files = {f"client_files[{i}]": (f"{i}.jpg", _jpeg(i), "image/jpeg") for i in range(6)}
    with httpx.Client(base_url=url, auth=auth, timeout=60) as client:
        while not stop.is_set():
            try:
                t = client.post("/api/tasks", json={"name": "t", "labels": [{"name": "a"}]})
                out["status"].append(t.status_code)
                if t.status_code != 201:
                    continue
                r = client.post(f"/api/tasks/{t.json()['id']}/data", files=files,
                                data={"image_quality": "50", "segment_size": "2"})
                out["status"].append(r.status_code)
                if r.status_code == 202:
                    rq = r.json()["rq_id"]
                    while not stop.is_set():
                        s = client.get(f"/api/requests/{rq}")
                        out["status"].append(s.status_code)
                        if s.status_code != 200 or s.json()["status"] in ("finished", "failed"):
                            out["jobs"].append(s.json().get("status"))
                            break
                        time.sleep(0.05)
            except httpx.TransportError as exc:
                out["errors"].append(repr(exc))


def run_writers(url: str, auth: tuple[str, str], duration: float) -> dict[str, list]:
    out: dict[str, list] = {"status": [], "errors": [], "jobs": []}
    stop = threading.Event()
    threads = [threading.Thread(target=_client_loop, args=(url, auth, f"c{i}", stop, out))
               for i in range(2)]
    threads.append(threading.Thread(target=_job_loop, args=(url, auth, stop, out)))
    for thread in threads:
        thread.start()
    time.sleep(duration)
    stop.set()
    for thread in threads:
        thread.join(timeout=90)
    return out


def test_two_basic_clients_and_a_job_on_sqlite(live):
    from cvatcore.hooks.testing.live import ADMIN

    out = run_writers(live.url, ADMIN, DURATION)
    server_errors = [s for s in out["status"] if s >= 500]
    assert not out["errors"], out["errors"][:3]
    assert not server_errors, (server_errors[:5], live.log.read_text()[-3000:])
    assert len(out["status"]) > 50 and "finished" in out["jobs"], out["jobs"]
