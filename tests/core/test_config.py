"""Settings: the TOML file, environment overrides, secret references and masking."""

from __future__ import annotations

import json

import pytest
from pydantic import SecretStr

from cvatcore.core.config import MASK, ConfigError, load_settings
from cvatcore.hooks import Identity, ProviderConfig, hookimpl
from cvatcore.hooks.testing import invoke_cli


def test_toml_file_is_read(config_file):
    path = config_file(
        '[server]\nport = 9000\n\n[webhooks]\nallowed_targets = ["hooks.example.com"]\n'
        '\n[auth]\nbackends = ["local"]\nallow_registration = false\n'
    )
    settings = load_settings(path)
    assert settings.server.port == 9000
    assert settings.webhooks.allowed_targets == ["hooks.example.com"]
    assert settings.auth.allow_registration is False
    assert settings.storage.default == "local"  # untouched sections keep their defaults


def test_config_env_variable_names_the_file(config_file, monkeypatch):
    monkeypatch.setenv("CVATCORE_CONFIG", str(config_file("[server]\nport = 9001\n")))
    assert load_settings().server.port == 9001


def test_environment_overrides_the_file(config_file, monkeypatch):
    path = config_file(
        '[server]\nport = 9000\n\n[webhooks]\ntransport = "http"\n'
        'allowed_targets = ["from-the-file"]\n'
    )
    monkeypatch.setenv("CVATCORE_WEBHOOKS__ALLOWED_TARGETS", '["10.0.0.0/8", "example.com"]')
    monkeypatch.setenv("CVATCORE_SERVER__PORT", "9100")
    settings = load_settings(path)
    assert settings.webhooks.allowed_targets == ["10.0.0.0/8", "example.com"]
    assert settings.webhooks.transport == "http"  # the rest of the section is the file's
    assert settings.server.port == 9100


def test_environment_list_that_is_not_json_is_a_readable_error(config_file, monkeypatch):
    monkeypatch.setenv("CVATCORE_WEBHOOKS__ALLOWED_TARGETS", "10.0.0.0/8")
    with pytest.raises(ConfigError) as exc:
        load_settings(config_file())
    assert str(exc.value) == (
        "cannot parse environment variable CVATCORE_WEBHOOKS__ALLOWED_TARGETS: lists and "
        """tables are written as JSON, e.g. '["10.0.0.0/8", "example.com"]'"""
    )


def test_environment_variable_for_a_section_that_does_not_exist(monkeypatch):
    monkeypatch.setenv("CVATCORE_WEBHOOK__TRANSPORT", "http")  # "webhooks" misspelt
    with pytest.raises(ConfigError, match=r"CVATCORE_WEBHOOK__TRANSPORT: there is no \[webhook\]"):
        load_settings()


def test_env_and_file_secret_references(config_file, tmp_path, monkeypatch):
    secret = tmp_path / "bind-password"
    secret.write_text("from-a-file\n")
    monkeypatch.setenv("TEST_DATABASE_URL", "postgresql://cvat:pw@db.example/cvat")
    path = config_file(
        '[database]\nurl = {"$env" = "TEST_DATABASE_URL"}\n\n'
        f'[auth.options.directory]\nbind_password = {{"$file" = "{secret}"}}\n'
    )
    settings = load_settings(path)
    assert settings.database.url.get_secret_value() == "postgresql://cvat:pw@db.example/cvat"
    assert settings.database_url() == "postgresql+psycopg://cvat:pw@db.example/cvat"
    assert settings.auth.options["directory"]["bind_password"] == "from-a-file"


def test_missing_environment_variable_is_named(config_file):
    path = config_file('[database]\nurl = {"$env" = "CVATCORE_TEST_NOT_SET"}\n')
    with pytest.raises(ConfigError) as exc:
        load_settings(path)
    assert str(exc.value) == "database.url: environment variable CVATCORE_TEST_NOT_SET is not set"


def test_missing_secret_file_is_named(config_file, tmp_path):
    path = config_file(f'[database]\nurl = {{"$file" = "{tmp_path / "absent"}"}}\n')
    with pytest.raises(ConfigError, match=r"database.url: cannot read secret file .*absent"):
        load_settings(path)


def test_unknown_key_is_rejected_with_the_allowed_ones(config_file):
    path = config_file("[server]\nprot = 8080\n\n[storage]\ndefualt = 'local'\n")
    with pytest.raises(ConfigError) as exc:
        load_settings(path)
    assert str(exc.value).splitlines() == [
        f"invalid configuration in {path}:",
        "  server.prot: unknown setting (allowed here: host, port, data_dir, name, workers, "
        "log_format, log_level, access_log)",
        "  storage.defualt: unknown setting (allowed here: default, options, media, "
        "allow_keyless_cloud_credentials)",
    ]


def test_unknown_section_is_rejected(config_file):
    with pytest.raises(ConfigError, match=r"  webhook: unknown setting \(allowed here: server, "):
        load_settings(config_file("[webhook]\ntransport = 'http'\n"))


def test_invalid_toml_and_missing_file(config_file, tmp_path):
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_settings(config_file("[server\n"))
    with pytest.raises(ConfigError, match="configuration file .*nope.toml does not exist"):
        load_settings(tmp_path / "nope.toml")


# -- cvatcore config check never prints a secret -----------------------------------------------


class DirectoryConfig(ProviderConfig):
    server_uri: str
    bind_dn: str
    bind_password: SecretStr


class DirectoryBackend:
    """An LDAP-shaped auth backend: enough to put its options through the settings."""

    name = "directory"

    def __init__(self, config: DirectoryConfig) -> None:
        self.config = config

    def authenticate(self, username, password, accounts) -> Identity | None:
        return None


class DirectoryPlugin:
    @hookimpl
    def register_auth_backends(self, register):
        register("directory", DirectoryBackend, config_model=DirectoryConfig)


def test_config_check_masks_secrets(config_file, tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_BIND_DN", "cn=svc-cvat,ou=people,dc=example,dc=com")
    monkeypatch.setenv("CVATCORE_AUTH__OPTIONS__DIRECTORY__BIND_PASSWORD", "ld4p-Secret-Value")
    path = config_file(
        '[database]\nurl = "postgresql://cvat:db-Pa55word@db.example:5432/cvat"\n\n'
        '[auth]\nbackends = ["directory", "local"]\n\n'
        '[auth.options.directory]\nserver_uri = "ldaps://ldap.example.com"\n'
        'bind_dn = {"$env" = "TEST_BIND_DN"}\nbind_password = "overridden-by-the-environment"\n'
    )
    result = invoke_cli(["config", "check"], plugins=[(DirectoryPlugin(), "tests-directory")],
                        env={"CVATCORE_CONFIG": str(path)})
    assert result.exit_code == 0, result.stderr
    assert result.stderr == "configuration OK\n"
    shown = json.loads(result.stdout)
    assert shown["database"]["url"] == "postgresql+psycopg://cvat:***@db.example:5432/cvat"
    assert shown["auth"]["options"]["directory"] == {
        "server_uri": "ldaps://ldap.example.com",  # not a secret: shown
        "bind_dn": MASK,  # given as {"$env" = ...}: treated as a secret whatever its name
        "bind_password": MASK,
    }
    for secret in ("db-Pa55word", "ld4p-Secret-Value", "overridden", "svc-cvat"):
        assert secret not in result.stdout + result.stderr
