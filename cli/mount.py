"""``cvatcore mount``: any configured storage (or cloud storage) as a directory, via FUSE."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from typing import Any

import click

UNIT = """[Unit]
Description=cvatcore mount of {storage} at {mountpoint}
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
{environment}ExecStartPre=/bin/mkdir -p {mountpoint}
ExecStart={command}
ExecStop=/bin/fusermount -u {mountpoint}
Restart=on-failure
RestartSec=5

[Install]
WantedBy=multi-user.target
"""


def _provider(state: Any, storage: str) -> Any:
    if storage.startswith("cloudstorage:"):
        from cvatcore.core.cloud_types import build_provider
        from cvatcore.core.models import CloudStorage
        from cvatcore.core.services.cloud_storages import stored_spec

        try:
            storage_id = int(storage.split(":", 1)[1])
        except ValueError:
            raise click.BadParameter("use cloudstorage:<id>", param_hint="STORAGE") from None
        with state.db.unit_of_work(write=False) as session:
            row = session.get(CloudStorage, storage_id)
            if row is None:
                raise click.BadParameter(f"no cloud storage {storage_id}",
                                         param_hint="STORAGE")
            spec = stored_spec(state, row)
        return build_provider(state, spec)
    return state.configured_storage(storage)


def _command(storage: str, mountpoint: str, read_write: bool) -> str:
    exe = shutil.which("cvatcore") or f"{sys.executable} -m cvatcore.cli.main"
    parts = [exe, "mount", storage, os.path.abspath(mountpoint)]
    if read_write:
        parts.append("--read-write")
    return " ".join(shlex.quote(p) if " " not in p or p == exe else p for p in parts)


@click.command()
@click.argument("storage")
@click.argument("mountpoint", type=click.Path(file_okay=False))
@click.option("--read-write", is_flag=True, help="Allow changes (files upload on close).")
@click.option("--allow-other", is_flag=True, help="Let other users see the mount.")
@click.option("--print-systemd", is_flag=True, help="Print a systemd unit for boot and exit.")
@click.option("--print-fstab", is_flag=True, help="Print an /etc/fstab line and exit.")
def mount(storage: str, mountpoint: str, read_write: bool, allow_other: bool,
          print_systemd: bool, print_fstab: bool) -> None:
    """Mount STORAGE at MOUNTPOINT until Ctrl-C or SIGTERM (then it unmounts cleanly).

    STORAGE is a provider configured under [storage.options.NAME] (``local``, ``s3``,
    ``azure``, ``gcs``, ``gdrive``) or ``cloudstorage:ID`` for a cloud storage attached
    through the API. Read-only unless --read-write.
    """
    config = os.environ.get("CVATCORE_CONFIG")
    if print_systemd:
        env = f"Environment=CVATCORE_CONFIG={os.path.abspath(config)}\n" if config else ""
        click.echo(UNIT.format(storage=storage, mountpoint=os.path.abspath(mountpoint),
                               environment=env,
                               command=_command(storage, mountpoint, read_write)), nl=False)
        return
    if print_fstab:
        opts = ["rw" if read_write else "ro", "_netdev", "nofail", "x-systemd.automount"]
        if config:
            opts.append(f"config={os.path.abspath(config)}")
        line = f"{storage} {os.path.abspath(mountpoint)} fuse.cvatcore-mount {','.join(opts)} 0 0"
        click.echo(line)
        return
    from cvatcore.cli.state import state_or_exit
    from cvatcore.core.mount import mount as do_mount

    state = state_or_exit()
    provider = _provider(state, storage)
    os.makedirs(mountpoint, exist_ok=True)
    click.echo(f"mounting {storage} at {mountpoint} ({'read-write' if read_write else 'read-only'})"
               "; Ctrl-C unmounts", err=True)
    try:
        do_mount(provider, mountpoint, writable=read_write, allow_other=allow_other)
    except (RuntimeError, ValueError) as exc:
        raise click.ClickException(f"cannot mount: {exc}") from None
    finally:
        state.db.dispose()


def fstab_helper(argv: list[str] | None = None) -> None:
    """``cvatcore-mount STORAGE MOUNTPOINT -o opts``: what ``mount`` runs for an fstab line
    of type ``fuse.cvatcore-mount`` (through mount.fuse). It mounts in a background child and
    returns once the mount is up, as mount helpers must."""
    import time

    args = list(sys.argv[1:] if argv is None else argv)
    options: list[str] = []
    if "-o" in args:
        at = args.index("-o")
        options = args[at + 1].split(",")
        del args[at:at + 2]
    if len(args) != 2:
        sys.exit("usage: cvatcore-mount STORAGE MOUNTPOINT [-o ro|rw,config=PATH]")
    storage, mountpoint = args
    for option in options:
        if option.startswith("config="):
            os.environ["CVATCORE_CONFIG"] = option.split("=", 1)[1]
    command = [storage, mountpoint] + (["--read-write"] if "rw" in options else [])
    if os.fork() == 0:  # the child serves the mount for as long as it stays mounted
        os.setsid()
        mount.main(command, prog_name="cvatcore mount", standalone_mode=True)
        os._exit(0)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if os.path.ismount(mountpoint):
            return
        time.sleep(0.1)
    sys.exit(f"cvatcore-mount: {mountpoint} did not come up within 30 s")
