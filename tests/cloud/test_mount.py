"""``cvatcore mount``: a real FUSE mount in a child process, for the local provider and Azure."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

CVATCORE = Path(sys.executable).parent / "cvatcore"


def _start(config: Path, storage: str, mnt: Path, *extra: str) -> subprocess.Popen:
    mnt.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([str(CVATCORE), "mount", storage, str(mnt), *extra],
                            env={**os.environ, "CVATCORE_CONFIG": str(config)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while not os.path.ismount(mnt):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            output = proc.stdout.read().decode()
            proc.stdout.close()
            pytest.fail(f"mount did not come up: {output}")
        time.sleep(0.1)
    return proc


def _stop(proc: subprocess.Popen, mnt: Path) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=15)
    finally:
        proc.stdout.close()
        if os.path.ismount(mnt):
            subprocess.run(["fusermount", "-u", "-z", str(mnt)], check=False)


@pytest.fixture
def local_config(tmp_path: Path) -> Path:
    src = tmp_path / "share"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("hello")
    (src / "sub" / "b.bin").write_bytes(bytes(range(256)) * 40)
    config = tmp_path / "cvatcore.toml"
    config.write_text(f'[server]\ndata_dir = "{tmp_path / "data"}"\n'
                      f'[storage.options.local]\nroot = "{src}"\n')
    return config


def test_read_only_mount_reads_and_refuses_changes_then_unmounts_on_sigterm(local_config,
                                                                           tmp_path):
    mnt = tmp_path / "mnt"
    proc = _start(local_config, "local", mnt)
    try:
        assert sorted(os.listdir(mnt)) == ["a.txt", "sub"]
        assert (mnt / "a.txt").read_text() == "hello"
        with open(mnt / "sub" / "b.bin", "rb") as handle:  # a ranged read
            handle.seek(300)
            assert handle.read(4) == bytes([44, 45, 46, 47])
        with pytest.raises(OSError) as refused:
            (mnt / "new.txt").write_text("x")
        assert refused.value.errno == 30  # EROFS
    finally:
        code = _stop(proc, mnt)
    assert code == 0 and not os.path.ismount(mnt)
    assert not (tmp_path / "share" / "new.txt").exists()


def test_read_write_mount_uploads_on_close(local_config, tmp_path):
    mnt = tmp_path / "mnt"
    proc = _start(local_config, "local", mnt, "--read-write")
    try:
        (mnt / "sub" / "c.txt").write_text("written through the mount")
        with open(mnt / "a.txt", "r+") as handle:
            handle.seek(5)
            handle.write(", world")
        os.remove(mnt / "sub" / "b.bin")
    finally:
        _stop(proc, mnt)
    share = tmp_path / "share"
    assert (share / "sub" / "c.txt").read_text() == "written through the mount"
    assert (share / "a.txt").read_text() == "hello, world"
    assert not (share / "sub" / "b.bin").exists()


def test_a_bucket_mounts_the_same_way(tmp_path, azurite, container):
    blob = azurite.service().get_blob_client(container, "frames/0001.jpg")
    blob.upload_blob(b"jpeg-bytes")
    config = tmp_path / "cvatcore.toml"
    config.write_text(
        f'[server]\ndata_dir = "{tmp_path / "data"}"\n[storage.options.azure]\n'
        f'container = "{container}"\ncredentials_type = "CONNECTION_STRING"\n'
        f'connection_string = "{azurite.connection_string}"\n')
    mnt = tmp_path / "mnt"
    proc = _start(config, "azure", mnt)
    try:
        assert os.listdir(mnt / "frames") == ["0001.jpg"]
        assert (mnt / "frames" / "0001.jpg").read_bytes() == b"jpeg-bytes"
    finally:
        assert _stop(proc, mnt) == 0


def test_print_systemd_and_fstab(local_config, tmp_path):
    env = {**os.environ, "CVATCORE_CONFIG": str(local_config)}
    unit = subprocess.run([str(CVATCORE), "mount", "local", str(tmp_path / "m"),
                           "--print-systemd"], env=env, capture_output=True, text=True,
                          check=True).stdout
    assert f"Environment=CVATCORE_CONFIG={local_config}" in unit
    assert "ExecStart=" in unit and f"mount local {tmp_path / 'm'}" in unit
    assert f"ExecStop=/bin/fusermount -u {tmp_path / 'm'}" in unit
    fstab = subprocess.run([str(CVATCORE), "mount", "local", str(tmp_path / "m"),
                            "--print-fstab"], env=env, capture_output=True, text=True,
                           check=True).stdout
    assert fstab.split()[:3] == ["local", str(tmp_path / "m"), "fuse.cvatcore-mount"]
    assert f"config={local_config}" in fstab
