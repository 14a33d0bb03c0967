"""Options are checked before anything connects: CVAT's bucket-name rule, the prefix rule,
which credential fields go with which ``credentials_type``; and the plug-in registers ``s3``."""

from __future__ import annotations

from importlib.metadata import entry_points

import cvatcore_s3
import pytest
from cvatcore_s3 import S3Config
from pydantic import ValidationError


def config(**options):
    return S3Config(**{"bucket": "cvat-data", **options})


@pytest.mark.parametrize("name", ["abc", "cvat.data-2026", "a" * 63, "0numbers9"])
def test_valid_bucket_names(name):
    assert config(bucket=name).bucket == name


@pytest.mark.parametrize(("name", "message"), [
    ("Cvat", r"Invalid characters \('C'\) were found"),
    ("cvat_data", r"Invalid characters \('_'\) were found"),
    ("cvat data/x", r"Invalid characters \(' ', '/'\) were found"),
    ("ab", "3 to 63 characters"),
    ("a" * 64, "3 to 63 characters"),
    ("-cvat", "starts and ends with a letter or a digit"),
    ("cvat..data", "no two dots"),
])
def test_invalid_bucket_names(name, message):
    with pytest.raises(ValidationError, match=message):
        config(bucket=name)


@pytest.mark.parametrize("prefix", ["/abs", "a//b", "a/../b", "./a"])
def test_invalid_prefixes(prefix):
    with pytest.raises(ValidationError, match="prefix"):
        config(prefix=prefix)


def test_key_pair_needs_both_halves():
    with pytest.raises(ValidationError, match="needs both key and secret_key"):
        config(credentials_type="KEY_SECRET_KEY_PAIR", key="AKIAEXAMPLE")
    with pytest.raises(ValidationError, match="needs both key and secret_key"):
        config(credentials_type="KEY_SECRET_KEY_PAIR", secret_key="s3cr3t")
    ok = config(credentials_type="KEY_SECRET_KEY_PAIR", key="AKIAEXAMPLE", secret_key="s3cr3t",
                session_token="FwoGZXIvYXdzEXAMPLE")
    assert ok.session_token is not None and "FwoGZXIvYXdzEXAMPLE" not in repr(ok)


@pytest.mark.parametrize("kind", ["ANONYMOUS_ACCESS", "DEFAULT_CREDENTIALS"])
def test_keyless_types_take_no_key(kind):
    with pytest.raises(ValidationError, match="takes no key, secret_key"):
        config(credentials_type=kind, key="AKIAEXAMPLE", secret_key="s3cr3t")


def test_default_is_the_keyless_chain():
    assert config().credentials_type == "DEFAULT_CREDENTIALS"


def test_unknown_credentials_type_and_options_are_refused():
    with pytest.raises(ValidationError):
        config(credentials_type="ACCOUNT_NAME_TOKEN_PAIR")
    with pytest.raises(ValidationError, match="Extra inputs"):
        config(secret="typo for secret_key")


@pytest.mark.parametrize("url", ["ftp://host", "http://user:pw@minio:9000",
                                 "https://minio:9000/?x=1", "minio:9000"])
def test_invalid_endpoints(url):
    with pytest.raises(ValidationError, match="endpoint_url"):
        config(endpoint_url=url)


def test_endpoint_keeps_scheme_host_and_port():
    assert config(endpoint_url="http://minio.local:9000/").endpoint_url == \
        "http://minio.local:9000"


def test_plugin_registers_s3_through_its_entry_point():
    names = {ep.name: ep.value for ep in entry_points(group="cvatcore")}
    assert names.get("s3") == "cvatcore_s3"
    registered = {}

    def register(name, factory, *, config_model, description=""):
        registered[name] = (factory, config_model, description)

    cvatcore_s3.register_storage_providers(register)
    factory, model, description = registered["s3"]
    assert model is S3Config and "MinIO" in description
    storage = factory(config(endpoint_url="http://127.0.0.1:9", max_attempts=1,
                             credentials_type="KEY_SECRET_KEY_PAIR", key="AKIAEXAMPLE",
                             secret_key="s3cr3t"))
    assert storage.status() == "NOT_FOUND"  # nothing listens there; never raises
    # The default chain with no credentials anywhere (conftest cleared them) is refused
    # before any request is sent.
    assert factory(config(endpoint_url="http://127.0.0.1:9")).status() == "FORBIDDEN"


def test_validation_errors_do_not_quote_secrets():
    with pytest.raises(ValidationError) as caught:
        config(credentials_type="KEY_SECRET_KEY_PAIR", secret_key="only-the-secret-given")
    assert "only-the-secret-given" not in str(caught.value)
    with pytest.raises(ValidationError) as caught:
        config(credentials_type="ANONYMOUS_ACCESS", key="AKIA", secret_key="stray-secret-value")
    assert "stray-secret-value" not in str(caught.value)
