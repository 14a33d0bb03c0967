"""Tasks made from keys of a cloud storage (``POST /api/tasks/{id}/data`` with
``cloud_storage_id``) against Azurite: CVAT's rules for manifests, folders, patterns,
exclusions and the default prefix; nothing copied, frames streamed from the bucket."""

from __future__ import annotations

import io
import json
import random
import time
import zipfile

import pytest
from PIL import Image

from cvatcore.core.media import store
from cvatcore.core.services.caller import Caller
from cvatcore.hooks.testing.harness import ApiClient, build_test_app, test_settings


@pytest.fixture
def app(tmp_path, cvatcore_database_url):
    import cvatcore_azure

    settings = test_settings(tmp_path, cvatcore_database_url)
    app = build_test_app(settings, plugins=[(cvatcore_azure, "azure")])
    from cvatcore.core.services.accounts import create_user

    with app.state.cvatcore.db.unit_of_work() as session:
        for name in ("ann", "bob"):
            caller = Caller.system(app.state.cvatcore, session)
            create_user(caller, name, f"{name}-pass", email=f"{name}@example.com",
                        groups=["user"])
    yield app
    app.state.cvatcore.db.dispose()


@pytest.fixture
def ann(app):
    with ApiClient(app) as client:
        client.login("ann", "ann-pass")
        yield client


@pytest.fixture
def reads(monkeypatch):
    """Every object read the Azure provider makes: ``(key, start, end)``."""
    from cvatcore_azure.storage import AzureStorage

    seen: list[tuple[str, int | None, int | None]] = []
    original = AzureStorage.read_native

    def counting(self, key, start, end):
        seen.append((key, start, end))
        return original(self, key, start, end)

    monkeypatch.setattr(AzureStorage, "read_native", counting)
    return seen


def image(width, height, fmt="JPEG", color=(200, 10, 10), orientation=None, noise=False):
    img = Image.new("RGB", (width, height), color)
    if noise:  # incompressible pixels: a file well over the first 64 KiB read
        img = Image.frombytes("RGB", (width, height),
                              random.Random(0).randbytes(width * height * 3))
    out = io.BytesIO()
    kwargs = {}
    if orientation is not None:
        exif = Image.Exif()
        exif[274] = orientation
        kwargs["exif"] = exif.tobytes()
    img.save(out, format=fmt, **kwargs)
    return out.getvalue()


def manifest(items):
    lines = [{"version": "1.1"}, {"type": "images"}]
    lines += [{"name": name.rsplit(".", 1)[0], "extension": "." + name.rsplit(".", 1)[1],
               "width": w, "height": h, "meta": {"related_images": []}} for name, w, h in items]
    return "\n".join(json.dumps(line, separators=(",", ":")) for line in lines).encode()


def put(azurite, container, blobs):
    with azurite.service() as service:
        for name, payload in blobs.items():
            service.get_blob_client(container, name).upload_blob(payload, overwrite=True)


def make_storage(client, azurite, container, prefix="", headers=None, **extra):
    attrs = f"account_url={azurite.account_url}" + (f"&prefix={prefix}" if prefix else "")
    body = {"provider_type": "AZURE_CONTAINER", "resource": container, "display_name": "bucket",
            "credentials_type": "ACCOUNT_NAME_TOKEN_PAIR", "account_name": "devstoreaccount1",
            "session_token": azurite.container_sas(container), "specific_attributes": attrs,
            **extra}
    response = client.post("/api/cloudstorages", json=body, headers=headers or {})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def make_task(client, headers=None):
    response = client.post("/api/tasks", json={"name": "t", "labels": [{"name": "car"}]},
                           headers=headers or {})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def post_data(client, task_id, **body):
    return client.post(f"/api/tasks/{task_id}/data/", json={"image_quality": 70, **body})


def wait(client, rq_id, timeout=60.0):
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(f"/api/requests/{rq_id}").json()
        if body["status"] in ("finished", "failed"):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


def create(client, task_id, **body):
    response = post_data(client, task_id, **body)
    assert response.status_code == 202, response.text
    return wait(client, response.json()["rq_id"])


def frames(client, task_id):
    meta = client.get(f"/api/tasks/{task_id}/data/meta").json()
    return [(f["name"], f["width"], f["height"]) for f in meta["frames"]]


def frame(client, task_id, number, quality="original"):
    return client.get(f"/api/tasks/{task_id}/data",
                      params={"type": "frame", "number": number, "quality": quality})


def test_manifest_and_images_read_no_image_and_stream_frames(app, ann, azurite, container,
                                                             reads):
    blobs = {f"frames/{n}.jpg": image(30 + i, 20, color=(i * 60, 0, 0))
             for i, n in enumerate("abc")}
    blobs["frames/manifest.jsonl"] = manifest([("a.jpg", 30, 20), ("b.jpg", 31, 20),
                                               ("c.jpg", 32, 20)])
    put(azurite, container, blobs)
    storage_id = make_storage(ann, azurite, container)
    task_id = make_task(ann)
    result = create(ann, task_id, cloud_storage_id=storage_id,
                    server_files=["frames/manifest.jsonl", "frames/c.jpg", "frames/a.jpg",
                                  "frames/not-listed.jpg"])
    assert result["status"] == "finished", result
    assert frames(ann, task_id) == [("frames/a.jpg", 30, 20), ("frames/c.jpg", 32, 20)]
    assert {key for key, _, _ in reads} == {"frames/manifest.jsonl"}  # no image was read
    meta = ann.get(f"/api/tasks/{task_id}/data/meta").json()
    assert meta["storage"] == "cloud_storage" and meta["cloud_storage_id"] == storage_id
    task = ann.get(f"/api/tasks/{task_id}").json()
    assert task["size"] == 2 and task["data_cloud_storage_id"] == storage_id
    media = app.state.cvatcore.media
    data_id = _data_id(app, task_id)
    assert list(store.walk(media, store.raw_prefix(data_id))) == []  # nothing copied

    assert frame(ann, task_id, 1).content == blobs["frames/c.jpg"]
    compressed = frame(ann, task_id, 0, "compressed")
    assert compressed.status_code == 200 and compressed.content[:2] == b"\xff\xd8"
    chunk = ann.get(f"/api/tasks/{task_id}/data",
                    params={"type": "chunk", "number": 0, "quality": "original"})
    with zipfile.ZipFile(io.BytesIO(chunk.content)) as archive:
        assert [archive.read(n) for n in archive.namelist()] == [
            blobs["frames/a.jpg"], blobs["frames/c.jpg"]]
    assert ann.get(f"/api/tasks/{task_id}/preview").content[:2] == b"\xff\xd8"
    reads.clear()
    assert frame(ann, task_id, 0, "compressed").content == compressed.content
    assert reads == []  # the compressed frame is cached in the media store


def _data_id(app, task_id):
    from cvatcore.core.models import Task

    with app.state.cvatcore.db.unit_of_work() as session:
        return session.get(Task, task_id).data_id


def test_manifest_alone_and_filename_pattern(ann, azurite, container, reads):
    items = [("x/1.jpg", 10, 10), ("x/2.jpg", 11, 10), ("y/3.png", 12, 10)]
    put(azurite, container, {"manifest.jsonl": manifest(items),
                             **{name: image(w, h) for name, w, h in items}})
    storage_id = make_storage(ann, azurite, container)
    every = make_task(ann)
    assert create(ann, every, cloud_storage_id=storage_id,
                  server_files=["manifest.jsonl"])["status"] == "finished"
    assert frames(ann, every) == items
    some = make_task(ann)
    assert create(ann, some, cloud_storage_id=storage_id, server_files=["manifest.jsonl"],
                  filename_pattern="x/*")["status"] == "finished"
    assert frames(ann, some) == items[:2]
    folder = make_task(ann)
    assert create(ann, folder, cloud_storage_id=storage_id,
                  server_files=["manifest.jsonl", "y/"])["status"] == "finished"
    assert frames(ann, folder) == items[2:]
    assert {key for key, _, _ in reads} == {"manifest.jsonl"}


def test_a_folder_without_manifest_reads_only_headers(ann, azurite, container, reads):
    big = image(400, 300, "PNG", noise=True)
    assert len(big) > 2 * 65536
    blobs = {"set/a.jpg": image(40, 30, orientation=6), "set/sub/b.png": big,
             "set/notes.txt": b"not media", "other/c.jpg": image(50, 20)}
    put(azurite, container, blobs)
    storage_id = make_storage(ann, azurite, container)
    task_id = make_task(ann)
    result = create(ann, task_id, cloud_storage_id=storage_id, server_files=["set/"])
    assert result["status"] == "finished", result
    assert frames(ann, task_id) == [("set/a.jpg", 30, 40), ("set/sub/b.png", 400, 300)]
    assert sorted(reads) == [("set/a.jpg", 0, 65536), ("set/sub/b.png", 0, 65536)]
    assert frame(ann, task_id, 1).content == big


def test_exclude_drops_files_and_folders(ann, azurite, container):
    put(azurite, container, {"set/a.jpg": image(10, 10), "set/c.jpg": image(12, 10),
                             "set/sub/b.jpg": image(11, 10)})
    storage_id = make_storage(ann, azurite, container)
    task_id = make_task(ann)
    assert create(ann, task_id, cloud_storage_id=storage_id, server_files=["set/"],
                  server_files_exclude=["set/sub/", "set/a.jpg"])["status"] == "finished"
    assert frames(ann, task_id) == [("set/c.jpg", 12, 10)]


def test_keys_outside_the_default_prefix_are_dropped(ann, azurite, container):
    put(azurite, container, {"keep/a.jpg": image(10, 10), "keep/b.jpg": image(11, 10),
                             "drop/c.jpg": image(12, 10)})
    storage_id = make_storage(ann, azurite, container, prefix="keep/")
    task_id = make_task(ann)
    assert create(ann, task_id, cloud_storage_id=storage_id,
                  server_files=["drop/c.jpg", "keep/b.jpg", "keep/a.jpg"])["status"] == "finished"
    assert frames(ann, task_id) == [("keep/a.jpg", 10, 10), ("keep/b.jpg", 11, 10)]
    assert frame(ann, task_id, 0).status_code == 200
    outside = make_task(ann)
    result = create(ann, outside, cloud_storage_id=storage_id, server_files=["drop/c.jpg"])
    assert result["status"] == "failed"
    assert result["message"].startswith("There is no intersection")
    pattern = make_task(ann)
    assert create(ann, pattern, cloud_storage_id=storage_id,
                  filename_pattern="*b.jpg")["status"] == "finished"
    assert frames(ann, pattern) == [("keep/b.jpg", 11, 10)]


def test_missing_keys_and_a_gone_container_fail_the_request_by_name(ann, azurite, container):
    put(azurite, container, {"a.jpg": image(10, 10)})
    storage_id = make_storage(ann, azurite, container)
    sas = azurite.container_sas(container)
    for files, named in ((["a.jpg", "nope.jpg"], "nope.jpg"),
                         (["missing/manifest.jsonl"], "missing/manifest.jsonl")):
        task_id = make_task(ann)
        result = create(ann, task_id, cloud_storage_id=storage_id, server_files=files)
        assert result["status"] == "failed" and named in result["message"], result
        assert "sig=" not in result["message"] and sas not in result["message"]
        assert ann.get(f"/api/tasks/{task_id}").json()["size"] == 0
    with azurite.service() as service:
        service.delete_container(container)
    result = create(ann, make_task(ann), cloud_storage_id=storage_id, server_files=["a.jpg"])
    assert result["status"] == "failed" and "may have been deleted" in result["message"]


def test_refused_credentials_fail_the_request_without_the_secret(app, ann, azurite,
                                                                container):
    from cvatcore.core.models import CloudStorage

    put(azurite, container, {"a.jpg": image(10, 10)})
    storage_id = make_storage(ann, azurite, container)
    azurite.create_container(container + "x")
    sas = azurite.container_sas(container + "x")  # revoked, in effect: Azure answers 403
    state = app.state.cvatcore
    with state.db.unit_of_work() as session:
        session.get(CloudStorage, storage_id).credentials = state.secrets.encrypt(
            {"account_name": "devstoreaccount1", "session_token": sas})
    result = create(ann, make_task(ann), cloud_storage_id=storage_id, server_files=["a.jpg"])
    assert result["status"] == "failed" and "access forbidden" in result["message"], result
    assert sas not in result["message"] and "sig=" not in result["message"]


def test_a_deleted_blob_is_404_naming_it(ann, azurite, container):
    put(azurite, container, {"a.jpg": image(10, 10)})
    storage_id = make_storage(ann, azurite, container)
    task_id = make_task(ann)
    assert create(ann, task_id, cloud_storage_id=storage_id,
                  server_files=["a.jpg"])["status"] == "finished"
    with azurite.service() as service:
        service.get_blob_client(container, "a.jpg").delete_blob()
    response = frame(ann, task_id, 0)
    assert response.status_code == 404 and "a.jpg" in response.json()["detail"]


def test_storages_of_another_context_or_user_are_refused(app, ann, azurite, container):
    org = ann.post("/api/organizations", json={"slug": "acme"})
    assert org.status_code == 201, org.text
    in_org = make_storage(ann, azurite, container, headers={"X-Organization": "acme"})
    sandbox_task = make_task(ann)
    response = post_data(ann, sandbox_task, cloud_storage_id=in_org, server_files=["a.jpg"])
    assert response.status_code == 400 and "cloud_storage_id" in response.json()
    org_task = make_task(ann, headers={"X-Organization": "acme"})
    ok = post_data(ann, org_task, cloud_storage_id=in_org, server_files=["a.jpg"])
    assert ok.status_code == 202, ok.text
    assert wait(ann, ok.json()["rq_id"])["status"] == "failed"  # no such blob, but allowed
    with ApiClient(app) as bob:
        bob.login("bob", "bob-pass")
        bobs = make_storage(bob, azurite, container)
    response = post_data(ann, make_task(ann), cloud_storage_id=bobs, server_files=["a.jpg"])
    assert response.status_code in (403, 404)
    response = post_data(ann, make_task(ann), cloud_storage_id=10_000, server_files=["a.jpg"])
    assert response.status_code == 404


RULES = [
    ({"server_files": ["a.jpg"], "filename_pattern": "*"}, "non_field_errors",
     "can only be used with specified manifest"),
    ({"server_files": ["m.jsonl"], "filename_pattern": "*", "server_files_exclude": ["a/"]},
     "non_field_errors", "cannot be used together"),
    ({"server_files": ["a.jsonl", "b.jsonl"]}, "server_files", "Only one manifest"),
    ({"server_files": ["../a.jpg"]}, "server_files", "not allowed"),
    ({"server_files": []}, "server_files", "filename_pattern"),
    ({"server_files": ["m.jsonl"], "sorting_method": "random"}, "sorting_method",
     "random sorting"),
]


def test_request_rules_are_400(ann, azurite, container):
    storage_id = make_storage(ann, azurite, container)
    task_id = make_task(ann)
    for body, field, text in RULES:
        response = post_data(ann, task_id, cloud_storage_id=storage_id, **body)
        assert response.status_code == 400, response.text
        assert text in " ".join(response.json()[field]), response.json()
    assert ann.get("/api/requests", params={"task_id": task_id}).json()["count"] == 0


# -- cvat-sdk 2.80, unchanged, against a real ``cvatcore serve`` (plugins from entry points) --


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    from cvatcore.hooks.testing.live import serve_with_admin

    # Azurite listens on loopback. The server loads its plugins from their entry points (no
    # CVATCORE_* variable of this process, such as CVATCORE_DISABLE_PLUGIN_AUTOLOAD, reaches it).
    with serve_with_admin(tmp_path_factory.mktemp("sdk-cloud"),
                          '[outbound]\nallow = ["127.0.0.1"]\n') as live:
        yield live


def test_cvat_sdk_creates_a_task_from_a_bucket(live, azurite, container):
    from cvat_sdk import make_client, models
    from cvat_sdk.core.proxies.tasks import ResourceType

    items = [("img/1.jpg", 21, 10), ("img/2.jpg", 22, 10), ("img/3.jpg", 23, 10)]
    put(azurite, container, {"img/manifest.jsonl": manifest([(n[4:], w, h) for n, w, h in items]),
                             **{name: image(w, h) for name, w, h in items}})
    with make_client(live.host, port=live.port, credentials=live.credentials) as client:
        client.config.status_check_period = 0.1
        storage, _ = client.api_client.cloudstorages_api.create(
            models.CloudStorageWriteRequest(
                provider_type="AZURE_CONTAINER", resource=container, display_name="bucket",
                credentials_type="ACCOUNT_NAME_TOKEN_PAIR", account_name="devstoreaccount1",
                session_token=azurite.container_sas(container),
                specific_attributes=f"account_url={azurite.account_url}"))
        spec = models.TaskWriteRequest(name="from a bucket",
                                       labels=[models.PatchedLabelRequest(name="car")])
        task = client.tasks.create_from_data(
            spec, resource_type=ResourceType.SHARE, resources=["img/manifest.jsonl"],
            data_params={"cloud_storage_id": storage.id, "filename_pattern": "*",
                         "sorting_method": "natural"})
        assert task.size == 3 and task.data_cloud_storage_id == storage.id
        meta = task.get_meta()
        assert [(f.name, f.width) for f in meta.frames] == [(n, w) for n, w, _ in items]
        with Image.open(task.get_frame(2, quality="original")) as img:
            assert img.size == (23, 10)
        excluded = client.tasks.create_from_data(
            spec, resource_type=ResourceType.SHARE, resources=["img/"],
            data_params={"cloud_storage_id": storage.id, "server_files_exclude": ["img/2.jpg"]})
        assert [f.name for f in excluded.get_meta().frames] == ["img/1.jpg", "img/3.jpg"]


def test_a_lightweight_backup_of_a_cloud_task_restores_from_the_bucket(live, azurite,
                                                                       container, tmp_path):
    """Only the keys, labels and annotations travel; the restored task reads the same keys
    from the same storage. A full backup of cloud data is refused, as CVAT does."""
    from cvat_sdk import make_client, models
    from cvat_sdk.core.proxies.tasks import ResourceType

    items = [("light/1.jpg", 21, 10), ("light/2.jpg", 22, 10)]
    blobs = {name: image(w, h, color=(w * 5, 0, 0)) for name, w, h in items}
    put(azurite, container, blobs)
    with make_client(live.host, port=live.port, credentials=live.credentials) as client:
        client.config.status_check_period = 0.1
        storage, _ = client.api_client.cloudstorages_api.create(
            models.CloudStorageWriteRequest(
                provider_type="AZURE_CONTAINER", resource=container, display_name="bucket",
                credentials_type="ACCOUNT_NAME_TOKEN_PAIR", account_name="devstoreaccount1",
                session_token=azurite.container_sas(container),
                specific_attributes=f"account_url={azurite.account_url}"))
        task = client.tasks.create_from_data(
            models.TaskWriteRequest(name="light", labels=[models.PatchedLabelRequest(name="car")]),
            resource_type=ResourceType.SHARE, resources=["light/"],
            data_params={"cloud_storage_id": storage.id})
        label = task.get_labels()[0].id
        task.set_annotations(models.LabeledDataRequest(shapes=[models.LabeledShapeRequest(
            type=models.ShapeType("rectangle"), frame=1, label_id=label, points=[1, 2, 3, 4])]))
        from cvat_sdk.api_client.exceptions import ApiException

        with pytest.raises(ApiException, match="lightweight"):
            task.download_backup(tmp_path / "full.zip")
        path = tmp_path / "light.zip"
        task.download_backup(path, lightweight=True)
        with zipfile.ZipFile(path) as archive:
            assert not [n for n in archive.namelist() if n.endswith(".jpg")]
            assert "data/manifest.jsonl" in archive.namelist()
        restored = client.tasks.create_from_backup(path)
        assert restored.data_cloud_storage_id == storage.id and restored.size == 2
        assert [f.name for f in restored.get_meta().frames] == ["light/1.jpg", "light/2.jpg"]
        assert restored.get_frame(1, quality="original").read() == blobs["light/2.jpg"]
        shapes = restored.get_annotations().shapes
        assert [(s.frame, s.points) for s in shapes] == [(1, [1.0, 2.0, 3.0, 4.0])]


def test_a_backup_without_location_goes_where_the_task_target_storage_says(ann, azurite,
                                                                          container):
    put(azurite, container, {"t/a.jpg": image(12, 10)})
    storage_id = make_storage(ann, azurite, container)
    task_id = make_task(ann)
    assert create(ann, task_id, cloud_storage_id=storage_id,
                  server_files=["t/a.jpg"])["status"] == "finished"
    patched = ann.patch(f"/api/tasks/{task_id}", json={"target_storage": {
        "location": "cloud_storage", "cloud_storage_id": storage_id}})
    assert patched.status_code == 200, patched.text
    export = ann.post(f"/api/tasks/{task_id}/backup/export",
                      params={"lightweight": "true", "filename": "kept.zip"})
    assert export.status_code == 202, export.text
    done = wait(ann, export.json()["rq_id"])
    assert done["status"] == "finished" and done["result_url"] is None, done
    with azurite.service() as service:
        blob = service.get_blob_client(container, "kept.zip").download_blob().readall()
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        assert json.loads(archive.read("task.json"))["data"]["cloud_storage_id"] == storage_id
