"""The ``cvatcore`` command line: accounts, migrations, ``config check`` and error handling."""

from __future__ import annotations

import sys

import cvatcore_example
import pytest
import sqlalchemy as sa

from cvatcore.cli.main import main
from cvatcore.core.config import load_settings
from cvatcore.hooks.testing import ApiClient, build_test_app, invoke_cli

PASSWORD = "Corr3ct-Horse-Battery"


def test_createsuperuser_without_prompting_then_login(config_file):
    config = config_file()
    env = {"CVATCORE_CONFIG": str(config), "CVATCORE_SUPERUSER_PASSWORD": PASSWORD}
    result = invoke_cli(
        ["createsuperuser", "--username", "root", "--email", "root@example.com", "--no-input"],
        env=env,
    )
    assert (result.exit_code, result.stdout) == (0, "superuser root created\n"), result.stderr

    app = build_test_app(load_settings(config))
    with ApiClient(app) as client:
        client.login("root", PASSWORD)
        me = client.get("/api/users/self").json()
    assert (me["username"], me["email"], me["is_superuser"]) == ("root", "root@example.com", True)

    again = invoke_cli(["createsuperuser", "--username", "root", "--no-input"], env=env)
    assert again.exit_code == 1 and "already exists" in again.stderr


def test_createsuperuser_no_input_needs_a_password(config_file):
    result = invoke_cli(["createsuperuser", "--username", "root", "--no-input"],
                        env={"CVATCORE_CONFIG": str(config_file())})
    assert result.exit_code == 1
    assert "--password (or CVATCORE_SUPERUSER_PASSWORD) is required" in result.stderr
    assert not (config_file().parent / "data").exists()  # it stopped before touching anything


def test_db_upgrade_is_idempotent(config_file, tmp_path):
    env = {"CVATCORE_CONFIG": str(config_file())}
    plugins = [(cvatcore_example, "example")]
    first = invoke_cli(["db", "upgrade"], plugins=plugins, env=env)
    second = invoke_cli(["db", "upgrade"], plugins=plugins, env=env)
    assert first.exit_code == second.exit_code == 0, first.stderr + second.stderr
    assert first.stdout == second.stdout == \
        "database is at 0007_webhook_delivery_seq, example_0001\n"
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'data' / 'cvatcore.db'}")
    try:
        tables = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"alembic_version", "users", "example_greetings"} <= tables


@pytest.mark.parametrize(
    ("toml", "exit_code", "stderr"),
    [
        ("", 0, "configuration OK\n"),
        ('[analytics]\nsinks = ["log"]\n', 0, "configuration OK\n"),
        ("[server]\nport = 'eighty'\n", 1, "server.port: Input should be a valid integer"),
        ('[webhooks]\ntransport = "sqs"\n', 1, "unknown webhooks provider 'sqs'"),
        ('[auth.options.ldap]\nhost = "x"\n', 1, "[auth.options.ldap] is set but 'ldap' is not"),
    ],
)
def test_config_check_exit_codes(config_file, toml, exit_code, stderr):
    result = invoke_cli(["config", "check"], env={"CVATCORE_CONFIG": str(config_file(toml))})
    assert result.exit_code == exit_code
    assert stderr in result.stderr
    assert bool(result.stdout) is (exit_code == 0)  # the settings are printed only when valid


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[server]\nprot = 8080\n", "server.prot: unknown setting"),
        ("[server\n", "is not valid TOML"),
        ('[plugins]\ndisabled = ["cvatcore.core.builtin.auth_local"]\n',
         "plugin cvatcore.core.builtin.auth_local is essential and cannot be disabled"),
    ],
)
def test_config_error_is_a_clear_exit_without_traceback(run_cvatcore, config_file, toml, message):
    result = run_cvatcore("--config", str(config_file(toml)), "config", "check")
    assert result.returncode == 1
    assert result.stderr.startswith("Error: ")
    assert message in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_config_option_decides_which_plugins_add_commands(config_file, monkeypatch, capsys):
    config = config_file('[plugins]\ndisabled = ["example"]\n')
    monkeypatch.setattr(sys, "argv", ["cvatcore", "--config", str(config), "--help"])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 0
    help_text = capsys.readouterr().out
    assert "createsuperuser" in help_text and "example-hello" not in help_text


def test_plugin_commands_do_not_leak_between_command_lines(config_file):
    env = {"CVATCORE_CONFIG": str(config_file())}
    assert invoke_cli(["example-hello"], plugins=[(cvatcore_example, "example")],
                      env=env).exit_code == 0
    without = invoke_cli(["example-hello"], env=env)
    assert without.exit_code == 2 and "No such command 'example-hello'" in without.stderr
