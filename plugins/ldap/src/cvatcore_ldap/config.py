"""``[auth.options.ldap]``: the LDAP backend's options, validated when cvatcore starts.

``preset = "active_directory"`` or ``"freeipa"`` fills in the directory's usual layout (user
filter, attribute names, where groups live, how nested groups are found); anything set
explicitly wins over the preset. Secrets (``bind_password``) are ``SecretStr``: write them as
``{"$env": "NAME"}`` or ``{"$file": "/path"}`` in the settings file; they never show in
``repr``, in ``cvatcore config check`` or in error messages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from cvatcore.hooks import ProviderConfig

Role = Literal["admin", "business", "user", "worker"]
#: CVAT's system roles, most privileged first.
ROLES: tuple[Role, ...] = ("admin", "business", "user", "worker")
Preset = Literal["generic", "active_directory", "freeipa"]
NestedGroups = Literal["off", "auto", "in_chain", "iterative"]

#: The options each preset fills in when the settings do not give them.
PRESETS: dict[str, dict[str, Any]] = {
    "generic": {
        "user_search_base": "{base_dn}",
        "user_filter": "(uid={username})",
        "attributes": {"username": "uid"},
        "group_source": "search",
        "group_search_base": "{base_dn}",
        "group_object_filter": "(objectClass=groupOfNames)",
        "nested_groups": "off",
    },
    "active_directory": {
        "user_search_base": "{base_dn}",
        # People sign in with their sAMAccountName or their userPrincipalName (name@domain).
        "user_filter": "(&(objectClass=user)(|(sAMAccountName={username})"
                       "(userPrincipalName={username})))",
        "attributes": {"username": "sAMAccountName"},
        "group_source": "member_of",
        "group_search_base": "{base_dn}",
        "group_object_filter": "(objectClass=group)",
        # AD's memberOf lists direct groups only; LDAP_MATCHING_RULE_IN_CHAIN finds the rest.
        "nested_groups": "auto",
    },
    "freeipa": {
        "user_search_base": "cn=users,cn=accounts,{base_dn}",
        "user_filter": "(&(objectClass=person)(uid={username}))",
        "attributes": {"username": "uid"},
        # FreeIPA's memberOf already includes groups reached through nested groups.
        "group_source": "member_of",
        "group_search_base": "cn=groups,cn=accounts,{base_dn}",
        "group_object_filter": "(objectClass=groupOfNames)",
        "nested_groups": "off",
    },
}


class AttributeMap(BaseModel):
    """Which directory attribute fills each field of the cvatcore user."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    username: str = "uid"
    first_name: str = "givenName"
    last_name: str = "sn"
    email: str = "mail"


class LdapConfig(ProviderConfig):
    """Options of the ``ldap`` auth backend (see the plug-in's README for examples)."""

    preset: Preset = "generic"
    #: Tried in order: the first one that answers is used (fail-over).
    server_uris: list[str] = Field(min_length=1)
    start_tls: bool = False
    #: PEM file of the CA(s) that signed the server certificate; default: the system's CAs.
    ca_file: Path | None = None
    validate_certificate: bool = True
    connect_timeout: float = Field(5.0, gt=0)
    #: Whole seconds (ldap3 sets the socket's SO_RCVTIMEO from it).
    receive_timeout: int = Field(10, ge=1)
    #: The service account that searches the directory; none means an anonymous search.
    bind_dn: str | None = None
    bind_password: SecretStr | None = None
    #: Fills ``{base_dn}`` in the preset's search bases.
    base_dn: str | None = None
    user_search_base: str
    #: ``{username}`` is replaced by the escaped name typed at sign-in.
    user_filter: str
    attributes: AttributeMap = Field(default_factory=AttributeMap)
    #: ``member_of``: read the user's memberOf; ``search``: search groups naming the user.
    group_source: Literal["member_of", "search"]
    member_of_attribute: str = "memberOf"
    group_search_base: str
    group_object_filter: str
    group_member_attribute: str = "member"
    #: ``auto`` uses LDAP_MATCHING_RULE_IN_CHAIN on Active Directory, else ``iterative``.
    nested_groups: NestedGroups
    max_nesting_depth: int = Field(8, ge=1, le=64)
    #: Group DNs per CVAT role, compared case-insensitively; the most privileged role wins and
    #: ``admin`` makes the user a superuser.
    role_groups: dict[Role, list[str]] = Field(default_factory=dict)
    #: The role of a user in none of ``role_groups``.
    default_role: Role = "user"
    #: When set, people outside this group cannot sign in at all.
    required_group: str | None = None
    #: How long a user's groups are reused (seconds); 0 looks them up at every sign-in.
    group_cache_seconds: float = Field(30.0, ge=0)
    #: How long a server that did not answer is tried only after the others (seconds).
    failover_retry_seconds: float = Field(30.0, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        preset = data.get("preset", "generic")
        defaults = PRESETS.get(preset)
        if defaults is None:
            return data  # the Literal check reports the bad preset name
        merged = {**defaults, **data}
        given_attributes = data.get("attributes") or {}
        if isinstance(given_attributes, dict):
            merged["attributes"] = {**defaults["attributes"], **given_attributes}
        base_dn = data.get("base_dn")
        for key in ("user_search_base", "group_search_base"):
            value = merged.get(key)
            if isinstance(value, str) and "{base_dn}" in value:
                if not base_dn:
                    raise ValueError(f"set base_dn (or {key}): preset {preset!r} derives "
                                     f"{key} from it")
                merged[key] = value.replace("{base_dn}", str(base_dn))
        return merged

    @field_validator("server_uris")
    @classmethod
    def _uris(cls, uris: list[str]) -> list[str]:
        for uri in uris:
            scheme, sep, rest = uri.partition("://")
            if not sep or scheme.lower() not in ("ldap", "ldaps") or not rest.strip("/"):
                raise ValueError("each server URI must look like ldap://host[:port] or "
                                 "ldaps://host[:port]")
        return uris

    @field_validator("user_filter")
    @classmethod
    def _user_filter(cls, value: str) -> str:
        if "{username}" not in value:
            raise ValueError("must contain {username}, e.g. (uid={username})")
        _check_filter(value)
        return value

    @field_validator("group_object_filter")
    @classmethod
    def _group_filter(cls, value: str) -> str:
        _check_filter(value)
        return value

    @field_validator("ca_file")
    @classmethod
    def _ca_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError("the CA file does not exist")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> LdapConfig:
        if self.start_tls and any(u.lower().startswith("ldaps://") for u in self.server_uris):
            raise ValueError("start_tls is for ldap:// URIs; ldaps:// already uses TLS")
        if (self.bind_dn is None) != (self.bind_password is None):
            raise ValueError("set both bind_dn and bind_password, or neither (anonymous search)")
        return self

    def uses_tls(self) -> bool:
        return self.start_tls or all(u.lower().startswith("ldaps://") for u in self.server_uris)


def _check_filter(value: str) -> None:
    depth = 0
    for char in value:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            break
    if not value.startswith("(") or depth != 0:
        raise ValueError("must be an LDAP filter in parentheses, e.g. (objectClass=person)")
