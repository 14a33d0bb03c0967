"""Built-in auth backend ``local``: accounts whose argon2 hashes live in cvatcore's database."""

from cvatcore.hooks import AccountStore, EmptyConfig, Identity, Register, hookimpl


class LocalAccounts:
    """Checks the password against the local account store the core lends it."""

    name = "local"

    def __init__(self, config: EmptyConfig) -> None:
        self.config = config

    def authenticate(self, username: str, password: str, accounts: AccountStore) -> Identity | None:
        return accounts.verify_local_password(username, password)


@hookimpl(trylast=True)
def register_auth_backends(register: Register) -> None:
    register("local", LocalAccounts, description="Accounts stored in cvatcore's database")
