"""The ``gdrive`` provider's options: what is refused, with messages that never echo a
secret, and how the plug-in registers itself."""

from __future__ import annotations

import json
from importlib.metadata import entry_points

import cvatcore_gdrive
import pytest
from cvatcore_gdrive import GDriveConfig, GDriveStorage
from cvatcore_gdrive.auth import jwt_assertion
from cvatcore_gdrive.testing import make_service_account
from pydantic import ValidationError

from cvatcore.hooks.testing import invoke_cli

KEY, _ = make_service_account("sa@p.iam.gserviceaccount.com", "https://oauth2.googleapis.com/token")
KEY_TEXT = json.dumps(KEY)
PEM_LINE = KEY["private_key"].splitlines()[4]
OAUTH = {"credentials_type": "OAUTH_REFRESH_TOKEN", "client_id": "c1",
         "client_secret": "GOCSPX-sekrit-value", "refresh_token": "1//refresh-sekrit"}
FOLDER = "1AbCdEfGhIjKlMnOp"


def refused(**options: object) -> str:
    with pytest.raises(ValidationError) as caught:
        GDriveConfig(**options)
    text = str(caught.value)
    for secret in (PEM_LINE, "GOCSPX-sekrit-value", "1//refresh-sekrit"):
        assert secret not in text
    return text


def test_both_ways_of_signing_in_are_accepted(tmp_path):
    GDriveConfig(folder_id=FOLDER, service_account_key=KEY_TEXT, subject="boss@example.com")
    GDriveConfig(folder_id="root", key_file=tmp_path / "key.json")
    config = GDriveConfig(folder_id=FOLDER, **OAUTH)
    assert config.api_base_url == "https://www.googleapis.com" and config.token_uri is None


@pytest.mark.parametrize("options, complaint", [
    ({"folder_id": FOLDER}, "exactly one of key_file and service_account_key"),
    ({"folder_id": FOLDER, "service_account_key": KEY_TEXT, "key_file": "k.json"},
     "exactly one of"),
    ({"folder_id": FOLDER, "service_account_key": KEY_TEXT.replace("service_account", "user")},
     "not a service-account key"),
    ({"folder_id": FOLDER, "service_account_key": KEY_TEXT[:-5]}, "not JSON"),
    ({"folder_id": FOLDER, **{**OAUTH, "refresh_token": None}}, "needs refresh_token"),
    ({"folder_id": FOLDER, **OAUTH, "service_account_key": KEY_TEXT},
     "service_account_key is not used"),
    ({"folder_id": FOLDER, "service_account_key": KEY_TEXT, "refresh_token": "1//refresh-sekrit"},
     "refresh_token is not used"),
    ({"folder_id": "../etc", "service_account_key": KEY_TEXT}, "folder id"),
    ({"folder_id": FOLDER, "service_account_key": KEY_TEXT, "prefix": "a/../b"}, "'..'"),
    ({"folder_id": FOLDER, "service_account_key": KEY_TEXT, "api_base_url": "ftp://x"},
     "http(s) URL"),
    ({"folder_id": FOLDER, **OAUTH, "token_uri": "https://u:p@host/token"}, "user info"),
    ({"folder_id": FOLDER, "service_account_key": KEY_TEXT, "bucket": "x"}, "Extra inputs"),
])
def test_bad_options_are_refused_without_echoing_secrets(options, complaint):
    assert complaint in refused(**options)


def test_secrets_stay_out_of_reprs():
    config = GDriveConfig(folder_id=FOLDER, **OAUTH)
    storage = GDriveStorage(config)
    shown = repr(config) + str(config.model_dump()) + repr(storage)
    assert "GOCSPX-sekrit-value" not in shown and "1//refresh-sekrit" not in shown
    sa = GDriveConfig(folder_id=FOLDER, service_account_key=KEY_TEXT)
    assert PEM_LINE not in repr(sa) + str(sa.model_dump())
    assert GDriveStorage(sa).redact("x " + KEY["private_key"]) == "x ***"


def test_the_jwt_names_the_account_scope_and_audience():
    import base64
    header, claims, _ = jwt_assertion(KEY, "https://t.example/token", "boss@example.com",
                                      now=1000).split(".")
    decoded = json.loads(base64.urlsafe_b64decode(claims + "=="))
    assert decoded == {"iss": "sa@p.iam.gserviceaccount.com", "sub": "boss@example.com",
                       "scope": "https://www.googleapis.com/auth/drive",
                       "aud": "https://t.example/token", "iat": 1000, "exp": 4600}
    assert json.loads(base64.urlsafe_b64decode(header + "=="))["alg"] == "RS256"


def test_registers_the_gdrive_provider():
    registered = {}
    cvatcore_gdrive.register_storage_providers(
        lambda name, factory, **kw: registered.update({name: (factory, kw["config_model"])}))
    factory, config_model = registered["gdrive"]
    assert set(registered) == {"gdrive"} and config_model is GDriveConfig
    assert factory.__module__ == "cvatcore_gdrive"  # builds lazily: the SDK loads on first use
    found = [ep for ep in entry_points(group="cvatcore") if ep.name == "gdrive"]
    assert [ep.value for ep in found] == ["cvatcore_gdrive"]
    result = invoke_cli(["plugins"], plugins=[(cvatcore_gdrive, "gdrive")])
    assert result.exit_code == 0 and "gdrive" in result.stdout
