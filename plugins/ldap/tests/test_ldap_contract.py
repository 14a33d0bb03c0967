"""Both presets pass the contract every cvatcore auth backend must pass."""

from __future__ import annotations

import pytest
from cvatcore_ldap.testing import password_of

from cvatcore.hooks.testing.contracts import AuthBackendContract


class TestActiveDirectoryContract(AuthBackendContract):
    @pytest.fixture
    def auth_backend(self, ad_backend):
        return ad_backend

    @pytest.fixture
    def valid_credentials(self):
        return ("alice", password_of("alice"))

    @pytest.fixture
    def account_store(self, no_accounts):
        return no_accounts


class TestFreeIpaContract(AuthBackendContract):
    @pytest.fixture
    def auth_backend(self, ipa_backend):
        return ipa_backend

    @pytest.fixture
    def valid_credentials(self):
        return ("judy", password_of("judy"))

    @pytest.fixture
    def account_store(self, no_accounts):
        return no_accounts
