"""A real OpenLDAP ``slapd`` for cvatcore-ldap's tests and benchmark (not used in production).

``start_slapd(workdir)`` writes its own ``slapd.conf``, a self-signed TLS certificate made
with ``openssl``, and a small schema, starts ``slapd`` on free loopback ports (``ldap://`` and
``ldaps://``), loads two trees with ``ldapadd`` and returns a ``TestDirectory``; ``stop()``
ends that one process by its PID. The trees are in ``testdata/``:

* ``dc=ad,dc=test``: Active-Directory-like (``sAMAccountName``, ``userPrincipalName``,
  ``userAccountControl``, ``group`` objects, flat ``memberOf``);
* ``dc=ipa,dc=test``: FreeIPA-like (``cn=users,cn=accounts``, ``cn=groups,cn=accounts``,
  ``uid``, ``nsAccountLock``, a ``memberOf`` that follows nested groups).

Every person's password is ``<login>-pass-1``. Needs Debian's ``slapd`` and ``ldap-utils``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

AD_BASE = "dc=ad,dc=test"
IPA_BASE = "dc=ipa,dc=test"
AD_ROOT = ("cn=admin,dc=ad,dc=test", "ad-root-pass")
IPA_ROOT = ("cn=Directory Manager,dc=ipa,dc=test", "ipa-root-pass")
AD_SERVICE = ("cn=svc-cvat,ou=service,dc=ad,dc=test", "svc-ad-secret-41")
IPA_SERVICE = ("uid=svc-cvat,cn=sysaccounts,cn=etc,dc=ipa,dc=test", "svc-ipa-secret-42")
INSTALL_HINT = "apt-get update && apt-get install -y slapd ldap-utils"
STOCK_SCHEMAS = ("core", "cosine", "nis", "inetorgperson", "dyngroup")


def password_of(login: str) -> str:
    """The password every person ``login`` in the test trees has."""
    return f"{login}-pass-1"


def ad_group(name: str) -> str:
    return f"cn={name},ou=groups,{AD_BASE}"


def ipa_group(name: str) -> str:
    return f"cn={name},cn=groups,cn=accounts,{IPA_BASE}"


class SlapdError(RuntimeError):
    """slapd (or a tool it needs) is missing, or it did not start; the message says why."""


@dataclass
class TestDirectory:
    """A running slapd: its URIs, CA file (the self-signed certificate) and process."""

    workdir: Path
    ldap_uri: str
    ldaps_uri: str
    ca_file: Path
    untrusted_ca_file: Path
    process: subprocess.Popen[bytes]

    __test__ = False  # a helper, not a test class

    def stop(self) -> None:
        """End this slapd (SIGTERM to its PID, then SIGKILL after 10 s)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def admin(self, tree: str = "ad") -> Any:
        """An ldap3 connection bound as the tree's root DN, for tests that edit the directory."""
        from ldap3 import Connection, Server

        dn, password = AD_ROOT if tree == "ad" else IPA_ROOT
        return Connection(Server(self.ldap_uri), dn, password, auto_bind=True)

    def ad_options(self, **overrides: Any) -> dict[str, Any]:
        """``[auth.options.ldap]`` for the AD-like tree with the ``active_directory`` preset."""
        options: dict[str, Any] = {
            "preset": "active_directory",
            "server_uris": [self.ldap_uri],
            "bind_dn": AD_SERVICE[0],
            "bind_password": AD_SERVICE[1],
            "base_dn": AD_BASE,
            "role_groups": {
                # Spelt in other cases than the directory's: DNs match case-insensitively.
                "admin": ["CN=CVAT Admins,OU=groups,DC=ad,DC=test"],
                "business": [ad_group("CVAT Business")],
                "user": [ad_group("cvat users")],
                "worker": [ad_group("CVAT Annotators")],
            },
        }
        return {**options, **overrides}

    def ipa_options(self, **overrides: Any) -> dict[str, Any]:
        """``[auth.options.ldap]`` for the FreeIPA-like tree with the ``freeipa`` preset."""
        options: dict[str, Any] = {
            "preset": "freeipa",
            "server_uris": [self.ldap_uri],
            "bind_dn": IPA_SERVICE[0],
            "bind_password": IPA_SERVICE[1],
            "base_dn": IPA_BASE,
            "role_groups": {
                "admin": [ipa_group("cvat-admins")],
                "user": [ipa_group("cvat-users")],
                "worker": [ipa_group("cvat-workers")],
            },
        }
        return {**options, **overrides}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def find_tool(name: str) -> str:
    """The path of ``name`` (PATH, then /usr/sbin), else a ``SlapdError`` with the fix."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if not found:
        raise SlapdError(f"{name} is not installed; the LDAP tests need a real slapd: "
                         f"{INSTALL_HINT}")
    return found


def start_slapd(workdir: Path, timeout: float = 20.0, attempts: int = 3) -> TestDirectory:
    """Configure, start and load a slapd under ``workdir`` (created if needed).

    A free port can be taken by another process between ``free_port()`` and slapd's bind
    (other test workers start servers too): the listening check then reaches that process
    and ``ldapadd`` fails. Each retry starts afresh in its own folder, on new ports."""
    for attempt in range(attempts):
        try:
            return _start_once(workdir if attempt == 0 else workdir / f"retry-{attempt}",
                               timeout)
        except SlapdError:
            if attempt + 1 == attempts:
                raise
    raise AssertionError("unreachable")


def _start_once(workdir: Path, timeout: float) -> TestDirectory:
    slapd, ldapadd, openssl = (find_tool(n) for n in ("slapd", "ldapadd", "openssl"))
    workdir.mkdir(parents=True, exist_ok=True)
    _write_certificate(openssl, workdir, "tls")
    _write_certificate(openssl, workdir, "untrusted")
    schema = workdir / "test-directory.schema"
    schema.write_text(_data("test-directory.schema"))
    conf = workdir / "slapd.conf"
    conf.write_text(_slapd_conf(workdir, schema))
    ldap_uri, ldaps_uri = f"ldap://127.0.0.1:{free_port()}", f"ldaps://127.0.0.1:{free_port()}"
    log = (workdir / "slapd.log").open("wb")
    # -d 0 keeps slapd in the foreground, so this Popen's PID is the server's own.
    process = subprocess.Popen(
        [slapd, "-d", "0", "-f", str(conf), "-h", f"{ldap_uri}/ {ldaps_uri}/"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    log.close()
    directory = TestDirectory(workdir, ldap_uri, ldaps_uri, workdir / "tls.crt",
                              workdir / "untrusted.crt", process)
    try:
        _wait_until_listening(directory, timeout)
        for tree, (root_dn, root_pw) in (("ad", AD_ROOT), ("freeipa", IPA_ROOT)):
            ldif = workdir / f"{tree}.ldif"
            ldif.write_text(hash_passwords(_data(f"{tree}.ldif")))
            _load(directory, [ldapadd, "-x", "-H", ldap_uri, "-D", root_dn, "-w", root_pw,
                              "-f", str(ldif)])
    except BaseException:
        directory.stop()
        raise
    return directory


def hash_passwords(ldif: str) -> str:
    """Replace every plain ``userPassword`` with a salted SHA-1 (``{SSHA}``), as slapd stores."""
    lines = []
    for line in ldif.splitlines():
        if line.startswith("userPassword: "):
            salt = os.urandom(8)
            digest = hashlib.sha1(line[len("userPassword: "):].encode() + salt).digest()
            line = "userPassword: {SSHA}" + base64.b64encode(digest + salt).decode()
        lines.append(line)
    return "\n".join(lines) + "\n"


def write_settings(path: Path, data_dir: Path, ldap_options: dict[str, Any],
                   backends: tuple[str, ...] = ("ldap", "local")) -> Path:
    """A cvatcore TOML settings file with ``[auth.options.ldap]`` set to ``ldap_options``."""
    path.write_text(f"[server]\ndata_dir = {_toml(data_dir)}\n\n"
                    + auth_settings(ldap_options, backends))
    return path


def auth_settings(ldap_options: dict[str, Any],
                  backends: tuple[str, ...] = ("ldap", "local")) -> str:
    """The ``[auth]`` tables of cvatcore's TOML settings with ``[auth.options.ldap]`` set to
    ``ldap_options`` (e.g. for ``serve_with_admin``'s ``extra_config``)."""
    lines = ["[auth]", f"backends = {_toml(list(backends))}", "", "[auth.options.ldap]"]
    lines += [f"{key} = {_toml(value)}" for key, value in ldap_options.items()]
    return "\n".join(lines) + "\n"


def _toml(value: Any) -> str:
    """One TOML value (tables are written inline; JSON string escapes are valid TOML)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str | Path):
        return json.dumps(str(value))
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _data(name: str) -> str:
    return resources.files("cvatcore_ldap").joinpath("testdata", name).read_text()


def _load(directory: TestDirectory, args: list[str], tries: int = 10) -> None:
    """``ldapadd``, tried again while slapd is up but not yet answering (on a busy machine
    its socket listens a moment before it serves: "Can't contact LDAP server")."""
    for attempt in range(tries):
        try:
            return _run(args)
        except SlapdError as exc:
            if "Can't contact" not in str(exc) or attempt + 1 == tries or \
                    directory.process.poll() is not None:
                raise
            time.sleep(0.5)


def _run(args: list[str]) -> None:
    result = subprocess.run(args, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise SlapdError(f"{Path(args[0]).name} failed ({result.returncode}): "
                         f"{result.stderr.strip() or result.stdout.strip()}")


def _write_certificate(openssl: str, workdir: Path, name: str) -> None:
    """A self-signed certificate for 127.0.0.1; it is also the CA file clients trust."""
    _run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
          "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
          "subjectAltName=IP:127.0.0.1", "-keyout", str(workdir / f"{name}.key"),
          "-out", str(workdir / f"{name}.crt")])


def _slapd_conf(workdir: Path, schema: Path) -> str:
    includes = "\n".join(f"include /etc/ldap/schema/{s}.schema" for s in STOCK_SCHEMAS)
    databases = []
    for tree, base, (root_dn, root_pw), memberof in (
        # AD's memberOf lists direct groups only; FreeIPA's includes nested ones ("*").
        ("ad", AD_BASE, AD_ROOT, "memberOf@group"),
        ("ipa", IPA_BASE, IPA_ROOT, "memberOf@groupOfNames*"),
    ):
        (workdir / f"{tree}-data").mkdir(exist_ok=True)
        databases.append(f"""
database mdb
suffix "{base}"
rootdn "{root_dn}"
rootpw {root_pw}
directory {workdir / f"{tree}-data"}
index objectClass,cn,uid,member,sAMAccountName,userPrincipalName eq
overlay dynlist
dynlist-attrset groupOfURLs memberURL member+{memberof}
""")
    return f"""{includes}
include {schema}
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload dynlist
pidfile {workdir / "slapd.pid"}
TLSCertificateFile {workdir / "tls.crt"}
TLSCertificateKeyFile {workdir / "tls.key"}
access to attrs=userPassword by self write by anonymous auth by * none
access to * by users read by * none
""" + "".join(databases)


def _wait_until_listening(directory: TestDirectory, timeout: float) -> None:
    port = int(directory.ldap_uri.rsplit(":", 1)[1])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if directory.process.poll() is not None:
            log = (directory.workdir / "slapd.log").read_text(errors="replace")
            raise SlapdError(f"slapd exited with {directory.process.returncode}:\n{log}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.02)
    raise SlapdError(f"slapd did not listen on {directory.ldap_uri} within {timeout:.0f} s")
