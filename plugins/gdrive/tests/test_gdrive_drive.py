"""What the Drive provider does on the wire, checked in the stand-in's request log and file
tree: ranged reads, overwrites without duplicates, resumable uploads, paging, retries."""

from __future__ import annotations

import os

import pytest

from cvatcore.hooks import StorageUnavailableError

PAYLOAD = os.urandom(6 * 2**20 + 12345)  # over the 5 MiB multipart limit: resumable


def media_gets(standin):
    return [r for r in standin.requests() if r["query"].get("alt") == "media"]


def test_range_reads_ask_drive_for_the_range_only(standin, folder, make_storage):
    storage = make_storage(folder_id=folder)
    storage.write("v/clip.bin", b"0123456789")
    standin.clear_log()
    assert storage.read("v/clip.bin", 2, 5) == b"234"
    assert storage.read("v/clip.bin", 7) == b"789"
    assert storage.read("v/clip.bin") == b"0123456789"
    assert [r["range"] for r in media_gets(standin)] == ["bytes=2-4", "bytes=7-9", None]


def test_overwrite_replaces_the_file_instead_of_adding_a_second(standin, folder, make_storage):
    storage = make_storage(folder_id=folder)
    for version in (b"one", b"two", b"three"):
        storage.write("same.txt", version)
    named = [f for f in standin.children(folder) if f["name"] == "same.txt"]
    assert len(named) == 1 and storage.read("same.txt") == b"three"


def test_names_differing_in_case_stay_apart(standin, folder, make_storage):
    # Drive's `name = 'a.txt'` also matches "A.txt"; the provider must not confuse them.
    storage = make_storage(folder_id=folder)
    storage.write("a.txt", b"lower")
    storage.write("A.txt", b"upper")
    assert (storage.read("a.txt"), storage.read("A.txt")) == (b"lower", b"upper")
    assert sorted(f["name"] for f in standin.children(folder)) == ["A.txt", "a.txt"]


def test_quotes_and_backslashes_in_names(folder, make_storage):
    storage = make_storage(folder_id=folder)
    name = "it's a \\ name.txt"
    storage.write(name, b"q")
    assert storage.read(name) == b"q"
    assert [e.name for e in storage.list_page("it", None, 10).entries] == [name]


def test_large_write_is_resumable_and_survives_short_commits(standin, folder, make_storage):
    storage = make_storage(folder_id=folder)
    standin.clear_log()
    standin.configure(short_commit=True)
    try:
        storage.write("big/raw.bin", PAYLOAD)
    finally:
        standin.configure(short_commit=False)
    puts = [r for r in standin.requests() if r["method"] == "PUT"]
    assert len(puts) > 2 and all(r["content_range"].startswith("bytes ") for r in puts)
    assert storage.stat("big/raw.bin").size == len(PAYLOAD)
    assert storage.read("big/raw.bin") == PAYLOAD
    storage.write("big/raw.bin", PAYLOAD[::-1])  # a resumable overwrite: no duplicate either
    assert storage.read("big/raw.bin", 0, 100) == PAYLOAD[::-1][:100]
    big = [f for f in standin.children(folder) if f["name"] == "big"][0]
    assert len(standin.children(big["id"])) == 1


def test_fsspec_streaming_write_and_seeking_read(standin, folder, make_storage):
    fs = make_storage(folder_id=folder).fs
    standin.configure(short_commit=True)
    try:
        with fs.open(f"{folder}/s/stream.bin", "wb", block_size=2**20) as out:
            for start in range(0, len(PAYLOAD), 700_000):
                out.write(PAYLOAD[start:start + 700_000])
    finally:
        standin.configure(short_commit=False)
    with fs.open(f"{folder}/s/stream.bin", "rb", block_size=2**20) as src:
        src.seek(5_000_000)
        assert src.read(10) == PAYLOAD[5_000_000:5_000_010]
    with fs.open(f"{folder}/s/empty.bin", "wb"):
        pass
    assert fs.cat_file(f"{folder}/s/empty.bin") == b""
    assert sorted(fs.ls(f"{folder}/s", detail=False)) == [f"{folder}/s/empty.bin",
                                                          f"{folder}/s/stream.bin"]


def test_listing_follows_page_tokens(standin, folder, make_storage):
    storage = make_storage(folder_id=folder)
    standin.seed(folder, {f"many/{i:03d}.jpg": "x" for i in range(25)})
    standin.configure(max_page=4)  # Drive may return fewer than pageSize
    try:
        names, cursor, pages = [], None, 0
        while True:
            page = storage.list_page("many/", cursor, 10)
            names += [e.name for e in page.entries]
            pages, cursor = pages + 1, page.next
            if cursor is None:
                break
    finally:
        standin.configure(max_page=1000)
    assert names == [f"many/{i:03d}.jpg" for i in range(25)] and pages == 7
    with pytest.raises(ValueError):
        storage.list_page("other/", storage.list_page("many/", None, 3).next, 3)


def test_throttling_and_server_errors_are_retried(standin, folder, make_storage):
    storage = make_storage(folder_id=folder, max_retries=3)
    storage.write("r.txt", b"retry me")
    standin.configure(faults=[429, 403])  # 403 = userRateLimitExceeded
    assert storage.read("r.txt") == b"retry me"
    standin.configure(faults=[503, 503, 503])
    broken = make_storage(folder_id=folder, max_retries=1)
    with pytest.raises(StorageUnavailableError, match="busy"):
        broken.read("r.txt")
    standin.configure(faults=[])


def test_a_refused_access_token_is_renewed_once(standin, folder, make_storage):
    storage = make_storage(folder_id=folder)
    storage.write("t.txt", b"before")
    standin.clear_log()
    standin.revoke_tokens()
    assert storage.read("t.txt") == b"before"
    statuses = [(r["path"], r["status"]) for r in standin.requests()]
    assert statuses[:2] == [("/drive/v3/files", 401), ("/token", 200)]
