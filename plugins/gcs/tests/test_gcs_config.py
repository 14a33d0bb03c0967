"""Options are checked before anything connects, and the plug-in registers ``gcs``."""

from __future__ import annotations

import json
from importlib.metadata import entry_points

import cvatcore_gcs
import pytest
from cvatcore_gcs import GcsConfig
from pydantic import ValidationError

KEY = json.dumps({"type": "service_account", "client_email": "a@b.iam",
                  "private_key": "-----BEGIN PRIVATE KEY-----\nMIIsecretbits\n-----END",
                  "token_uri": "https://oauth2.googleapis.com/token"})


def config(**options):
    return GcsConfig(**{"bucket": "cvat-data", **options})


@pytest.mark.parametrize("name", ["abc", "cvat_data.2026", "a" * 63, "a." + "b" * 100])
def test_valid_bucket_names(name):
    assert config(bucket=name).bucket == name


@pytest.mark.parametrize(("name", "message"), [
    ("Cvat", r"Invalid characters \('C'\) were found"),
    ("cvat data", r"Invalid characters \(' '\) were found"),
    ("ab", "3 to 63 characters"),
    ("_cvat", "starts and ends with a letter or a digit"),
    ("google-data", "must not start with 'goog'"),
])
def test_invalid_bucket_names(name, message):
    with pytest.raises(ValidationError, match=message):
        config(bucket=name)


def test_key_file_path_needs_exactly_one_key(tmp_path):
    with pytest.raises(ValidationError, match="exactly one of key_file and key_json"):
        config(credentials_type="KEY_FILE_PATH")
    with pytest.raises(ValidationError, match="exactly one of key_file and key_json"):
        config(credentials_type="KEY_FILE_PATH", key_file=tmp_path / "k.json", key_json=KEY)
    ok = config(credentials_type="KEY_FILE_PATH", key_json=KEY)
    assert "MIIsecretbits" not in repr(ok)


@pytest.mark.parametrize(("text", "message"), [
    ("{not json", "not valid JSON"),
    ('{"type": "authorized_user"}', "not a service-account key"),
    ('{"type": "service_account", "client_email": "a@b"}', "lacks private_key, token_uri"),
])
def test_key_json_is_checked_without_echoing_it(text, message):
    with pytest.raises(ValidationError, match=message) as caught:
        config(credentials_type="KEY_FILE_PATH", key_json=text)
    assert text not in str(caught.value)


@pytest.mark.parametrize("kind", ["ANONYMOUS_ACCESS", "DEFAULT_CREDENTIALS"])
def test_keyless_types_take_no_key(kind):
    with pytest.raises(ValidationError, match="takes no key_file or key_json"):
        config(credentials_type=kind, key_json=KEY)


def test_prefix_and_endpoint_rules():
    for prefix in ("/abs", "a//b", "a/../b"):
        with pytest.raises(ValidationError, match="prefix"):
            config(prefix=prefix)
    with pytest.raises(ValidationError, match="endpoint_url"):
        config(endpoint_url="http://user:pw@gcs:4443")
    assert config(endpoint_url="http://127.0.0.1:4443/").endpoint_url == "http://127.0.0.1:4443"


def test_plugin_registers_gcs_through_its_entry_point():
    assert {ep.name: ep.value for ep in entry_points(group="cvatcore")}.get("gcs") == \
        "cvatcore_gcs"
    registered = {}

    def register(name, factory, *, config_model, description=""):
        registered[name] = (factory, config_model)

    cvatcore_gcs.register_storage_providers(register)
    factory, model = registered["gcs"]
    assert model is GcsConfig
    storage = factory(config(credentials_type="ANONYMOUS_ACCESS", max_attempts=1,
                             endpoint_url="http://127.0.0.1:9"))
    assert storage.status() == "NOT_FOUND"  # nothing listens there; never raises
