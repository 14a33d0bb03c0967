"""Helpers for the domain tests (see ``conftest.py``)."""

from __future__ import annotations

import itertools
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import jsonschema
from cvat_sdk.api_client import Configuration
from cvat_sdk.api_client.model_utils import validate_and_convert_types
from sqlalchemy import func, select

from cvatcore.core.models import Job, Task, TaskData, User
from cvatcore.core.services.accounts import create_user
from cvatcore.core.services.caller import Caller
from cvatcore.core.services.segments import create_segments
from cvatcore.hooks import DomainEvent
from cvatcore.hooks.testing import ApiClient

_serial = itertools.count(1)


def _strict(node: Any) -> Any:
    """An OpenAPI 3.0 schema as JSON Schema: ``nullable`` as a ``null`` alternative, and
    objects that list their properties refuse any other (an undocumented field fails)."""
    if isinstance(node, list):
        return [_strict(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _strict(v) for k, v in node.items() if k != "nullable"}
    if node.get("type") == "object" and "properties" in node:
        out.setdefault("additionalProperties", False)
    return {"anyOf": [out, {"type": "null"}]} if node.get("nullable") else out


class Document:
    """The app's own OpenAPI document, to check answers against (as tests/compat does)."""

    def __init__(self, app: Any) -> None:
        from cvatcore.core.api.openapi import build_document

        self.doc = build_document(app.state.cvatcore)
        self.components = _strict(self.doc["components"])

    def check(self, method: str, template: str, response: Any) -> None:
        operation = self.doc["paths"][template][method.lower()]
        documented = operation["responses"].get(str(response.status_code))
        assert documented, f"{method} {template}: {response.status_code} is not documented"
        content = documented.get("content")
        if content is None:
            assert not response.content
            return
        schema = content["application/json"]["schema"]
        root = {"components": self.components, "allOf": [_strict(schema)]}
        errors = list(jsonschema.Draft202012Validator(root).iter_errors(response.json()))
        assert not errors, f"{method} {template}: " + "; ".join(
            f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])
_SDK_CONFIG = Configuration()


def unique(prefix: str = "x") -> str:
    return f"{prefix}{next(_serial)}"


def sdk_model(data: Any, model: Any) -> Any:
    """``data`` read by cvat-sdk as ``model`` (its own checks of types, enums and required
    fields); a dict back means the SDK could not make the model from it."""
    result = validate_and_convert_types(data, (model,), ["received_data"], True, True,
                                        _SDK_CONFIG)
    assert isinstance(result, model), f"cvat-sdk could not read {data!r} as {model.__name__}"
    return result


@dataclass
class EventLog:
    published: list[DomainEvent] = field(default_factory=list)
    committed: list[DomainEvent] = field(default_factory=list)

    def in_transaction(self, connection: Any, event: DomainEvent) -> None:
        self.published.append(event)

    def after_commit(self, event: DomainEvent) -> None:
        self.committed.append(event)

    def clear(self) -> None:
        self.published.clear()
        self.committed.clear()

    def scopes(self) -> list[tuple[str, int | None]]:
        return [(e.scope, e.obj_id) for e in self.committed]


class Domain:
    """Users, clients and shortcuts for one module's application."""

    def __init__(self, app: Any, stack: ExitStack, events: EventLog) -> None:
        self.app, self.stack, self.events = app, stack, events
        self.db = app.state.cvatcore.db

    def user(self, groups: tuple[str, ...] = ("user",)) -> tuple[int, ApiClient]:
        """A new user with these system groups, and a client signed in as them."""
        name = unique("user")
        with self.db.unit_of_work() as session:
            caller = Caller.system(self.app.state.cvatcore, session)
            user = create_user(caller, name, f"{name}-pass", email=f"{name}@example.com",
                               groups=list(groups), is_superuser="admin" in groups)
            user_id = user.id
        client = self.stack.enter_context(ApiClient(self.app))
        client.login(name, f"{name}-pass")
        return user_id, client

    def username(self, user_id: int) -> str:
        with self.db.unit_of_work() as session:
            user = session.get(User, user_id)
            assert user is not None
            return user.username

    def add_data(self, task_id: int, size: int, segment_size: int | None = None) -> list[int]:
        """Give the task ``size`` frames and its jobs, as the data helper's job does (media
        processing is not under test here); the job ids."""
        with self.db.unit_of_work() as session:
            task = session.get(Task, task_id)
            assert task is not None
            data = TaskData(size=size, stop_frame=size - 1, chunk_size=36, image_quality=70)
            session.add(data)
            session.flush()
            task.data_id, task.mode = data.id, "annotation"
            if segment_size is not None:
                task.segment_size = segment_size
            caller = Caller.system(self.app.state.cvatcore, session)
            return [job.id for job in create_segments(caller, task, data)]

    def count(self, model: Any, *where: Any) -> int:
        with self.db.unit_of_work() as session:
            return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def results(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    body = response.json()
    return body["results"]


__all__ = ["Domain", "EventLog", "Job", "results", "sdk_model", "unique"]
