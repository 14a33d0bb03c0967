"""The deployment files in deploy/, checked without a registry or a cluster: the Helm chart's
values validate against its schema and every value a template reads exists; the compose file
parses, its commands exist in the CLI and its settings file loads; the Dockerfile builds in
stages and runs as a non-root user."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from cvatcore.cli.main import build_cli
from cvatcore.core.config import load_settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
CHART = DEPLOY / "helm" / "cvatcore"
TEMPLATES = sorted((CHART / "templates").glob("*.*"))


def _values() -> dict[str, Any]:
    return yaml.safe_load((CHART / "values.yaml").read_text())


def _merged(base: dict, override: dict) -> dict:
    """Values as Helm merges a -f file over values.yaml."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        out[key] = _merged(out[key], value) if isinstance(value, dict) and isinstance(
            out.get(key), dict) else value
    return out


def _validator() -> jsonschema.Draft7Validator:
    schema = json.loads((CHART / "values.schema.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


@pytest.mark.parametrize("values_file", ["values.yaml", *sorted(
    p.name for p in (CHART / "ci").glob("*.yaml"))])
def test_chart_values_match_the_schema(values_file):
    path = CHART / values_file if values_file == "values.yaml" else CHART / "ci" / values_file
    values = _merged(_values(), yaml.safe_load(path.read_text()))
    errors = [e.message for e in _validator().iter_errors(values)]
    assert errors == []


@pytest.mark.parametrize("override, complaint", [
    ({"server": {"replicas": "two"}}, "'two' is not of type 'integer'"),
    ({"media": {"provider": "s3", "options": {}}}, "should be non-empty"),
    ({"nuclio": {"dashboardUrl": "nuclio:8070"}}, "does not match"),
    ({"ingress": {"tls": {"enabled": True, "secretName": ""}}}, "should be non-empty"),
    ({"serverReplicas": 3}, "Additional properties are not allowed"),
    ({"ldap": {"options": {"server_uris": ["dc1.example.com"]}}}, "does not match '^ldaps?://'"),
])
def test_chart_schema_refuses_wrong_values(override, complaint):
    errors = [e.message for e in _validator().iter_errors(_merged(_values(), override))]
    assert any(complaint in message for message in errors), errors


def _has_path(values: dict, dotted: str) -> bool:
    node: Any = values
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def test_every_value_a_template_reads_exists():
    values = _values()
    missing = {}
    for template in TEMPLATES:
        for dotted in re.findall(r"\.Values\.([A-Za-z0-9_.]+)", template.read_text()):
            if not _has_path(values, dotted.rstrip(".")):
                missing.setdefault(template.name, set()).add(dotted)
    assert missing == {}


def test_templates_are_balanced_and_includes_are_defined():
    defined = set()
    for template in TEMPLATES:
        text = template.read_text()
        defined |= set(re.findall(r'{{-?\s*define\s+"([^"]+)"', text))
        depth = 0
        for action in re.findall(r"{{-?\s*(if|range|with|define|end)\b", text):
            depth += -1 if action == "end" else 1
            assert depth >= 0, f"{template.name}: an end without a block"
        assert depth == 0, f"{template.name}: {depth} block(s) not closed"
        assert text.count("{{") == text.count("}}"), template.name
    used = {name for t in TEMPLATES for name in re.findall(r'include\s+"([^"]+)"', t.read_text())}
    assert used <= defined


def _cli_accepts(args: list[str]) -> None:
    """The command line parses (``--help`` appended, so nothing runs)."""
    from click.testing import CliRunner

    result = CliRunner().invoke(build_cli(), [*args, "--help"])
    assert result.exit_code == 0, (args, result.output)


def test_chart_and_compose_commands_exist_in_the_cli():
    commands = []
    for template in TEMPLATES:
        for args in re.findall(r"args: \[([^\]]+)\]", template.read_text()):
            commands.append([re.sub(r"{{.*?}}", "2", a).strip(' "') for a in args.split(",")])
    compose = yaml.safe_load((DEPLOY / "compose.yml").read_text())
    for service in compose["services"].values():
        if service.get("image", "").startswith("${CVATCORE_IMAGE"):
            commands.append(service["command"])
    assert ["serve"] in commands and ["db", "upgrade"] in commands
    for args in commands:
        _cli_accepts(args)


def test_compose_file_services_and_mounts():
    compose = yaml.safe_load((DEPLOY / "compose.yml").read_text())
    services = compose["services"]
    assert {"traefik", "server", "worker", "ui", "db", "clickhouse", "grafana"} <= set(services)
    assert services["ui"]["image"].startswith("cvat/ui:")
    api_rule = services["server"]["labels"]["traefik.http.routers.cvatcore.rule"]
    assert "PathPrefix(`/api/`)" in api_rule
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (DEPLOY / source).exists(), volume


def test_compose_settings_file_loads(monkeypatch):
    from cryptography.fernet import Fernet

    monkeypatch.setenv("CVATCORE_DATABASE_URL", "postgresql+psycopg://cvat@db:5432/cvat")
    monkeypatch.setenv("CVATCORE_SECRET_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("CLICKHOUSE_PASSWORD", "from-the-environment")
    settings = load_settings(DEPLOY / "compose.toml")
    assert settings.analytics.sinks == ["sql", "clickhouse"]
    assert settings.database.url.get_secret_value().startswith("postgresql+psycopg://")
    assert settings.storage.media.options["root"] == "/var/lib/cvatcore/media"


def test_dockerfile_builds_in_stages_and_runs_unprivileged():
    text = (DEPLOY / "Dockerfile").read_text()
    stages = re.findall(r"^FROM\s+\S+\s+AS\s+(\w+)", text, re.M)
    assert stages == ["build", "runtime"]
    user = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert user and not user[-1].startswith(("0", "root"))
    for source in re.findall(r"^COPY\s+(?!--from)(.+)\s+\S+$", text, re.M):
        for item in source.split():
            assert (ROOT / item).exists(), item
    default_plugins = re.search(r'ARG PLUGINS="([^"]+)"', text).group(1).split()
    for name in default_plugins:
        assert (ROOT / "plugins" / name / "pyproject.toml").exists(), name
    entry = json.loads(re.search(r"^ENTRYPOINT\s+(\[.*\])", text, re.M).group(1))
    cmd = json.loads(re.search(r"^CMD\s+(\[.*\])", text, re.M).group(1))
    assert entry[-1] == "cvatcore"
    _cli_accepts(cmd)
    assert "/api/server/health" in text
