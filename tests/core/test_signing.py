"""Signed values from the secrets component (tracker states travel with clients this way):
readable back only unchanged, for the same purpose, with a known key, while fresh."""

from __future__ import annotations

import time
from unittest import mock

import pytest

from cvatcore.core.secrets import BadSignature, Secrets, new_key


def test_a_signed_value_comes_back_only_as_it_was_made():
    old = new_key().encode()
    secrets = Secrets([old])
    token = secrets.sign("tracker:7", {"task": 1, "state": [1, 2]})
    assert secrets.unsign("tracker:7", token, 60) == {"task": 1, "state": [1, 2]}
    body, stamp, mac = token.split(".")
    for bad in (f"{body}x.{stamp}.{mac}", f"{body}.{int(stamp) + 1}.{mac}",
                f"{body}.{stamp}.{mac[:-2]}AA", "", None, "a.b.c"):
        with pytest.raises(BadSignature):
            secrets.unsign("tracker:7", bad, 60)
    with pytest.raises(BadSignature):
        secrets.unsign("tracker:8", token, 60)  # made for another function
    with mock.patch("time.time", return_value=time.time() - 3601):
        stale = secrets.sign("tracker:7", 1)
    with pytest.raises(BadSignature):
        secrets.unsign("tracker:7", stale, 3600)
    rotated = Secrets([new_key().encode(), old])  # a new key first: old tokens still read
    assert rotated.unsign("tracker:7", token, 60)["task"] == 1
    with pytest.raises(BadSignature):
        Secrets([new_key().encode()]).unsign("tracker:7", token, 60)
