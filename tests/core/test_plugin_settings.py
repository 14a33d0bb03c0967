"""Plugins' own settings sections, ``[plugins.<name>]``: declared with ``register_settings``,
validated at start-up, read through ``cvatcore.hooks.settings`` (no core import)."""

from __future__ import annotations

import click
import pytest

from cvatcore.core.config import ConfigError, load_settings
from cvatcore.core.plugins import PluginError
from cvatcore.hooks import ProviderConfig, hookimpl
from cvatcore.hooks.settings import plugin_settings, provider_config
from cvatcore.hooks.testing import build_test_app, invoke_cli, test_settings


class ToolSettings(ProviderConfig):
    retries: int = 3
    label: str = "tool"


class ToolPlugin:
    """Declares ``[plugins.tool]`` and a command that prints what it reads."""

    def __init__(self, section: str = "tool") -> None:
        self.section = section

    @hookimpl
    def register_settings(self, register):
        register(self.section, ToolSettings)

    @hookimpl
    def register_commands(self, cli):
        @cli.command("tool-show")
        def tool_show():
            value = plugin_settings("tool")
            local = provider_config("storage", "local")
            click.echo(f"{value.label} {value.retries} {local is not None}")


def run(tmp_path, text: str, *args: str, plugins=((ToolPlugin(), "tool"),)):
    config = tmp_path / "cvatcore.toml"
    config.write_text(f'[server]\ndata_dir = "{tmp_path}"\n' + text)
    return invoke_cli(list(args or ["tool-show"]), plugins=list(plugins),
                      env={"CVATCORE_CONFIG": str(config)})


def test_hook_register_settings_command_reads_its_validated_section(tmp_path):
    result = run(tmp_path, '[plugins.tool]\nretries = "7"\nlabel = "mine"\n')
    assert (result.exit_code, result.stdout) == (0, "mine 7 False\n")


def test_defaults_apply_without_a_table(tmp_path):
    result = run(tmp_path, "")
    assert (result.exit_code, result.stdout) == (0, "tool 3 False\n")


def test_provider_options_are_read_validated(tmp_path):
    result = run(tmp_path, f'[storage.options.local]\nroot = "{tmp_path}"\n')
    assert (result.exit_code, result.stdout) == (0, "tool 3 True\n")
    bad = run(tmp_path, "[storage.options.local]\nrooot = 1\n")
    assert bad.exit_code == 1 and "[storage.options.local]" in bad.stderr


def test_bad_value_names_the_section_not_the_value(tmp_path):
    result = run(tmp_path, '[plugins.tool]\nretries = "many-s3cret"\n')
    assert result.exit_code == 1
    assert "[plugins.tool] (plugin tool): retries:" in result.stderr
    assert "many-s3cret" not in result.stderr


def test_undeclared_table_stops_start_up(tmp_path):
    result = run(tmp_path, "[plugins.toool]\nretries = 1\n", "config", "check")
    assert result.exit_code == 1
    assert "[plugins.toool] is set but no installed plugin declares it" in result.stderr
    assert "[plugins.tool]" in result.stderr  # what is declared, to spot the typo


def test_table_of_a_disabled_plugin_is_ignored(tmp_path):
    result = run(tmp_path, '[plugins]\ndisabled = ["tool"]\n[plugins.tool]\nretries = 1\n',
                 "config", "check")
    assert result.exit_code == 0, result.output


def test_a_plain_value_under_plugins_is_refused():
    with pytest.raises(ConfigError, match="retries: unknown setting"):
        load_settings(None, plugins={"retries": 3})


def test_two_plugins_declaring_one_section_stop_start_up(tmp_path):
    expected = r"\[plugins.tool\] is registered by two plugins: a and b"
    with pytest.raises(PluginError, match=expected):
        build_test_app(test_settings(tmp_path), plugins=[(ToolPlugin(), "a"), (ToolPlugin(), "b")])


def test_reserved_names_are_refused(tmp_path):
    with pytest.raises(PluginError, match="section named 'disabled'"):
        build_test_app(test_settings(tmp_path), plugins=[(ToolPlugin("disabled"), "t")])


def test_app_and_request_read_the_same_values(tmp_path):
    app = build_test_app(test_settings(tmp_path, plugins={"tool": {"retries": 9}}),
                         plugins=[(ToolPlugin(), "tool")])
    try:
        assert plugin_settings("tool", app).retries == 9
        request = type("Request", (), {"app": app})()
        assert plugin_settings("tool", request).retries == 9
        with pytest.raises(LookupError, match=r"\[plugins.nothing\]"):
            plugin_settings("nothing", app)
    finally:
        app.state.cvatcore.db.dispose()


def test_outside_a_command_without_an_app_is_a_clear_error():
    with pytest.raises(RuntimeError, match="no cvatcore command is running"):
        plugin_settings("tool")
