"""Cloud storages (``/api/cloudstorages``): CVAT's rules, credentials encrypted at rest.

Credentials arrive as CVAT's write-only fields (``key``, ``secret_key``, ``session_token``,
``account_name``, ``connection_string``, ``key_file``), are checked against the bucket before
anything is saved, and are stored only as a ``core/secrets.py`` token. No answer, event or
log line carries them.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, delete, select, true

from cvatcore.core.bus import snapshot
from cvatcore.core.cloud_types import (
    ALL_CREDENTIAL_FIELDS,
    CREDENTIAL_FIELDS,
    CREDENTIALS_TYPES,
    FIELD_LIMITS,
    PROVIDER_TYPES,
    build_provider,
    parse_attributes,
)
from cvatcore.core.errors import NotFound, PermissionDenied, ValidationFailed
from cvatcore.core.iam import engine
from cvatcore.core.models import CloudStorage, CloudStorageManifest
from cvatcore.core.models.base import utcnow
from cvatcore.core.secrets import remember
from cvatcore.core.services import changes
from cvatcore.core.services.context import (
    context_to_create,
    narrow_to_context,
    org_context,
    outside_org,
    subject,
)
from cvatcore.core.services.fields import clean_text
from cvatcore.hooks import StorageStatus
from cvatcore.hooks.cloud import CloudStorageSpec

if TYPE_CHECKING:
    from cvatcore.core.services.caller import Caller

RESOURCE_CHARS = {
    "AWS_S3_BUCKET": r"[a-z0-9.\-]", "AZURE_CONTAINER": r"[a-z0-9\-]",
    "GOOGLE_CLOUD_STORAGE": r"[a-z0-9_.\-]", "GOOGLE_DRIVE": r"[A-Za-z0-9_\-]",
}


def _owner_sql(subj: Any) -> ColumnElement[bool]:
    return CloudStorage.owner_id == subj.user_id


def list_query(caller: Caller) -> Select[Any]:
    subj, oc = subject(caller), org_context(caller)
    stmt = select(CloudStorage)
    stmt = narrow_to_context(stmt, CloudStorage.organization_id, oc)
    if oc.kind == "none":
        return stmt.where(true() if subj.is_admin else _owner_sql(subj))
    visible = engine.visible("cloudstorage", subj, {"owner": _owner_sql},
                             oc.kind == "organization")
    return stmt.where(visible)


def get(caller: Caller, storage_id: int, scope: str = "view") -> CloudStorage:
    storage = caller.session.get(CloudStorage, storage_id)
    if storage is None:
        raise NotFound("Cloud storage not found.")
    subj = subject(caller, storage.organization_id)
    rels = {"owner"} if storage.owner_id == subj.user_id else set()
    in_org = storage.organization_id is not None
    if outside_org(subj, storage.organization_id):
        raise NotFound("Cloud storage not found.")
    if not engine.allows("cloudstorage", scope, subj, rels, in_org):
        raise PermissionDenied()
    return storage


def manifests_of(caller: Caller, storage_ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {i: [] for i in storage_ids}
    if storage_ids:
        rows = caller.session.execute(
            select(CloudStorageManifest.cloud_storage_id, CloudStorageManifest.filename)
            .where(CloudStorageManifest.cloud_storage_id.in_(storage_ids))
            .order_by(CloudStorageManifest.id)
        )
        for sid, name in rows:
            found[sid].append(name)
    return found


def _validate(caller: Caller, data: dict[str, Any], current: CloudStorage | None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    creating = current is None
    provider_type = data.get("provider_type") if creating else current.provider_type
    if provider_type not in PROVIDER_TYPES:
        errors["provider_type"] = [f"Expected one of: {', '.join(PROVIDER_TYPES)}."]
    ctype = data.get("credentials_type", None if creating else current.credentials_type)
    if ctype not in CREDENTIALS_TYPES:
        errors["credentials_type"] = [f"Expected one of: {', '.join(CREDENTIALS_TYPES)}."]
    clean: dict[str, Any] = {"provider_type": provider_type, "credentials_type": ctype}
    for name, limit in (("resource", 222), ("display_name", 63), ("description", 100_000),
                        ("specific_attributes", 1024)):
        clean_text(data, clean, errors, name, limit,
                   required=creating and name in ("resource", "display_name"))
    for name in ALL_CREDENTIAL_FIELDS & set(data):
        clean_text(data, {}, errors, name, FIELD_LIMITS[name])
    resource = clean.get("resource")
    if isinstance(resource, str) and provider_type in RESOURCE_CHARS:
        bad = sorted(set(re.sub(RESOURCE_CHARS[provider_type], "", resource)))
        if bad or not resource:
            errors["resource"] = [f"Invalid characters ({''.join(bad)}) were found."]
    manifests = data.get("manifests")
    if manifests is not None and (not isinstance(manifests, list) or not all(
            isinstance(m, str) and m.endswith(".jsonl") and ".." not in m for m in manifests)):
        errors["manifests"] = ["Expected a list of .jsonl file names in the storage."]
    if data.get("use_default_credentials") and not caller.state.settings.storage.\
            allow_keyless_cloud_credentials:
        errors["use_default_credentials"] = [
            "This server does not allow cloud storages that use its own cloud identity."]
    if errors:
        raise ValidationFailed(errors)
    clean["manifests"] = manifests
    clean["attributes"] = parse_attributes(clean.get("specific_attributes",
                                                     "" if creating else current.
                                                     specific_attributes))
    return clean


def _credentials(caller: Caller, data: dict[str, Any], ctype: str,
                 current: CloudStorage | None) -> dict[str, str]:
    """The credential fields of ``ctype``: new values, else the stored ones (a PATCH merges,
    as CVAT's ``mapping_with_new_values``); fields of other types are dropped."""
    old: dict[str, str] = {}
    if current is not None and current.credentials:
        old = caller.state.secrets.decrypt(current.credentials)
    fields = CREDENTIAL_FIELDS[ctype]
    merged = {f: data[f] if f in data else old.get(f, "") for f in fields}
    creds = {k: v for k, v in merged.items() if v}
    remember(creds)  # masked in every log line from here on, even before it is stored
    return creds


def _check_access(caller: Caller, spec: CloudStorageSpec, manifests: list[str]) -> None:
    provider = build_provider(caller.state, spec)
    status = provider.status()
    if status == StorageStatus.FORBIDDEN:
        raise ValidationFailed.field(
            "credentials", f"Cannot access the {spec.resource} storage: access forbidden.")
    if status == StorageStatus.NOT_FOUND:
        raise ValidationFailed.field(
            "resource", f"The {spec.resource} storage was not found. It may have been deleted.")
    for name in manifests:
        try:
            provider.stat(name)
        except FileNotFoundError:
            raise ValidationFailed.field(
                "manifests", f"The '{name}' file does not exist on '{spec.resource}' "
                "cloud storage.") from None
        except PermissionError:
            raise ValidationFailed.field(
                "manifests", f"Access to the '{name}' file on '{spec.resource}' is forbidden."
            ) from None


def spec_of(caller: Caller, storage: CloudStorage) -> CloudStorageSpec:
    return stored_spec(caller.state, storage)


def stored_spec(state: Any, storage: CloudStorage) -> CloudStorageSpec:
    """The spec of a stored storage, credentials decrypted (for providers, never for output)."""
    creds = state.secrets.decrypt(storage.credentials) if storage.credentials else {}
    return CloudStorageSpec(storage.provider_type, storage.resource, storage.credentials_type,
                            creds, parse_attributes(storage.specific_attributes),
                            storage.keyless)


def provider_of(caller: Caller, storage: CloudStorage) -> Any:
    return build_provider(caller.state, spec_of(caller, storage))


def create(caller: Caller, data: dict[str, Any]) -> CloudStorage:
    user = caller.require_user()
    oc = context_to_create(caller, "cloudstorage")
    clean = _validate(caller, data, None)
    creds = _credentials(caller, data, clean["credentials_type"], None)
    keyless = bool(data.get("use_default_credentials"))
    spec = CloudStorageSpec(clean["provider_type"], clean["resource"],
                            clean["credentials_type"], creds, clean["attributes"], keyless)
    manifests = clean["manifests"] or []
    _check_access(caller, spec, manifests)
    storage = CloudStorage(
        provider_type=spec.provider_type, resource=spec.resource,
        display_name=clean["display_name"], owner_id=user.id, organization_id=oc.org_id,
        credentials_type=spec.credentials_type,
        credentials=caller.state.secrets.encrypt(creds) if creds else None, keyless=keyless,
        specific_attributes=clean.get("specific_attributes", ""),
        description=clean.get("description", ""),
    )
    caller.session.add(storage)
    caller.session.flush()
    _set_manifests(caller, storage, manifests)
    changes.created(caller, "cloudstorage", storage)
    return storage


def update(caller: Caller, storage_id: int, data: dict[str, Any]) -> CloudStorage:
    storage = get(caller, storage_id, "update")
    before = _snap(storage)
    clean = _validate(caller, data, storage)
    creds = _credentials(caller, data, clean["credentials_type"], storage)
    manifests = clean["manifests"]
    current = manifests_of(caller, [storage.id])[storage.id]
    new_manifests = [m for m in (manifests or []) if m not in current]
    spec = CloudStorageSpec(storage.provider_type, clean.get("resource", storage.resource),
                            clean["credentials_type"], creds, clean["attributes"],
                            storage.keyless)
    _check_access(caller, spec, new_manifests)
    for name in ("resource", "display_name", "description", "specific_attributes"):
        if name in clean:
            setattr(storage, name, clean[name])
    storage.credentials_type = spec.credentials_type
    storage.credentials = caller.state.secrets.encrypt(creds) if creds else None
    storage.updated_date = utcnow()
    if manifests is not None:
        _set_manifests(caller, storage, manifests)
    caller.session.flush()
    changes.updated(caller, "cloudstorage", storage, before)
    return storage


def _snap(storage: CloudStorage) -> dict[str, Any]:
    return snapshot(storage, exclude=changes.SECRET_FIELDS)


def _set_manifests(caller: Caller, storage: CloudStorage, names: list[str]) -> None:
    caller.session.execute(delete(CloudStorageManifest).where(
        CloudStorageManifest.cloud_storage_id == storage.id))
    for name in dict.fromkeys(names):
        caller.session.add(CloudStorageManifest(cloud_storage_id=storage.id, filename=name))
    caller.session.flush()


def delete_storage(caller: Caller, storage_id: int) -> None:
    storage = get(caller, storage_id, "delete")
    changes.deleted(caller, "cloudstorage", storage)
    caller.session.delete(storage)
    caller.session.flush()
