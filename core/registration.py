"""Calling the ``register_*`` hooks: once per plugin manager, through pluggy's own hook call.

Every registration hook receives the same ``register(name, value, /, **options)`` callback
(``cvatcore.hooks.Register``). ``Registrations.of(hook)`` calls the hook the first time it is
asked for, as ``pm.hook.<hook>(register=...)``, so pluggy's ordering (``tryfirst``,
``trylast``), tracing (``CVATCORE_TRACE_PLUGINS``) and future spec arguments apply, and keeps
what was registered: the app, ``GET /api/schema``, the worker and the CLI all read that list.

Which plugin made a registration is found with public means only: pluggy's hook-call
monitoring names the implementations of the call about to run, and the ``register`` callback
looks up its caller's frames for the code of one of them.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import CodeType, FrameType
from typing import Any

import pluggy


class PluginError(Exception):
    """A plugin problem that stops start-up; the message names the plugins involved."""


#: Every registration hook and the options its ``register`` accepts (see ``cvatcore.hooks``).
REGISTER_HOOKS: dict[str, frozenset[str]] = {
    "register_storage_providers": frozenset({"config_model", "description"}),
    "register_auth_backends": frozenset({"config_model", "description"}),
    "register_event_sinks": frozenset({"config_model", "description"}),
    "register_webhook_transports": frozenset({"config_model", "description"}),
    "register_inference_backends": frozenset({"config_model", "description"}),
    "register_cloud_storage_types": frozenset({"provider", "credentials_types"}),
    "register_routes": frozenset({"methods", "name", "auth"}),
    "register_job_kinds": frozenset({"description"}),
    "register_migrations": frozenset(),
    "register_domain_subscribers": frozenset({"scopes", "committed"}),
    "register_settings": frozenset(),
    "register_dataset_formats": frozenset({"fallback"}),
}


@dataclass(frozen=True)
class Registration:
    """One ``register(name, value, **options)`` call, and the plugin that made it."""

    hook: str
    name: str
    value: Any
    options: Mapping[str, Any]
    plugin: str


def route_methods(reg: Registration) -> list[str]:
    """The HTTP methods of a ``register_routes`` registration (``GET`` by default)."""
    methods = reg.options.get("methods") or ["GET"]
    if isinstance(methods, str):  # methods="POST": one method, not four letters
        methods = [methods]
    return [m.upper() for m in methods]


def plugin_label(pm: pluggy.PluginManager, name: str) -> str:
    """``example (cvatcore-example)`` for an installed plugin, the bare name otherwise."""
    dist = getattr(pm, "distributions", {}).get(name)
    return f"{name} ({dist[0]})" if dist else name


def check_unique(
    items: Iterable[Any], what: str, pm: pluggy.PluginManager, *,
    key: Callable[[Any], Any] = lambda reg: reg.name,
    plugin: Callable[[Any], str] = lambda reg: reg.plugin, hint: str = "",
) -> None:
    """Stop start-up when two registrations share a key: "<what> is registered by two
    plugins: A and B" (``what`` may use ``{key}``), A being the one registered first."""
    owners: dict[Any, str] = {}
    for item in items:
        k, owner = key(item), plugin(item)
        if k in owners:
            order = [name for name, _ in pm.list_name_plugin()]
            first, second = sorted(
                (owners[k], owner), key=lambda n: order.index(n) if n in order else len(order)
            )
            raise PluginError(
                f"{what.format(key=k)} is registered by two plugins: "
                f"{plugin_label(pm, first)} and {plugin_label(pm, second)}{hint}"
            )
        owners[k] = owner


def require_callable(reg: Registration, what: str, part: str, who: str | None = None) -> None:
    """Stop start-up when a registration's value cannot be called: "<what> 'name' from
    <plugin>: <part> is not callable" (``who`` names the plugin, ``reg.plugin`` by default)."""
    if not callable(reg.value):
        raise PluginError(f"{what} {reg.name!r} from {who or reg.plugin}: {part} is not callable")


class Registrations:
    """What every registration hook of one plugin manager registered, each hook called once.

    Thread-safe: the first ``of(hook)`` calls the hook, later ones return the same list.
    """

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self._found: dict[str, list[Registration]] = {}
        self._lock = threading.RLock()
        self.calls: dict[str, int] = {}  # hook -> times called (tests check it stays 1)

    def of(self, hook: str) -> list[Registration]:
        found = self._found.get(hook)
        if found is not None:
            return found
        with self._lock:
            if hook not in self._found:
                self.calls[hook] = self.calls.get(hook, 0) + 1
                self._found[hook] = _call_register_hook(self.pm, hook)
            return self._found[hook]

    def all(self) -> dict[str, list[Registration]]:
        """Every registration hook, called if it was not yet."""
        return {hook: self.of(hook) for hook in REGISTER_HOOKS}


def registrations_of(pm: pluggy.PluginManager) -> Registrations:
    """The plugin manager's ``Registrations``, made on first use and kept on it."""
    found = getattr(pm, "cvatcore_registrations", None)
    if found is None:
        found = Registrations(pm)
        pm.cvatcore_registrations = found  # type: ignore[attr-defined]
    return found


# One hook call at a time (nested ones inside it): monitors are stacked and undone in order.
_CALL_LOCK = threading.RLock()  # reentrant: an implementation may look up another hook


def _call_register_hook(pm: pluggy.PluginManager, hook: str) -> list[Registration]:
    allowed = REGISTER_HOOKS[hook]
    found: list[Registration] = []
    impls_by_code: dict[CodeType, list[Any]] = {}
    frames: dict[CodeType, list[FrameType]] = {}  # a shared code's frames, in call order
    active = False

    def register(name: str, value: Any, /, **options: Any) -> None:
        plugin = _calling_plugin(sys._getframe(1), impls_by_code, frames) if active else None
        if plugin is None:
            raise PluginError(f"{hook}: register() was called after the hook returned, or "
                              "from code that is no hook implementation")
        if not isinstance(name, str) or not name:
            raise PluginError(f"plugin {plugin_label(pm, plugin)}: {hook} registered an "
                              "empty name")
        unknown = sorted(set(options) - allowed)
        if unknown:
            raise PluginError(
                f"plugin {plugin_label(pm, plugin)}: {hook} does not take the option(s) "
                f"{', '.join(unknown)} (it takes: {', '.join(sorted(allowed)) or 'none'})"
            )
        found.append(Registration(hook, name, value, dict(options), plugin))

    def before(name: str, hook_impls: Any, kwargs: Mapping[str, Any]) -> None:
        if name == hook and kwargs.get("register") is register:
            for impl in hook_impls:
                code = _code_of(impl.function)
                if code is not None:
                    impls_by_code.setdefault(code, []).insert(0, impl)

    def after(outcome: Any, name: str, hook_impls: Any, kwargs: Mapping[str, Any]) -> None:
        pass

    with _CALL_LOCK:
        undo = pm.add_hookcall_monitoring(before, after)
        active = True
        try:
            getattr(pm.hook, hook)(register=register)
        finally:
            active = False
            undo()
            frames.clear()  # no frame outlives the call
    if os.environ.get("CVATCORE_TRACE_PLUGINS"):
        for plugin in dict.fromkeys(r.plugin for r in found):
            names = [r.name for r in found if r.plugin == plugin]
            sys.stderr.write(f"{hook} [{plugin}] registered {names}\n")
    return found


def _code_of(function: Any) -> CodeType | None:
    """The code a call of ``function`` runs (a function, method, partial or callable)."""
    while isinstance(function, functools.partial):
        function = function.func
    code = getattr(function, "__code__", None)
    if code is None and callable(function):  # an instance with __call__
        code = getattr(type(function).__call__, "__code__", None)
    return code


def _calling_plugin(
    frame: FrameType | None, impls_by_code: dict[CodeType, list[Any]],
    frames: dict[CodeType, list[FrameType]],
) -> str | None:
    """The plugin whose hook implementation is on the stack above ``frame``."""
    while frame is not None:
        impls = impls_by_code.get(frame.f_code)
        if impls:
            return _pick(impls, frame, frames.setdefault(frame.f_code, [])).plugin_name
        frame = frame.f_back
    return None


def _pick(impls: list[Any], frame: FrameType, seen: list[FrameType]) -> Any:
    """One of the implementations sharing this code (usually just one). Methods of one class
    and functions made by one factory share their code: the instance or the closure tells
    them apart; failing that, pluggy calls them in order, so the n-th frame seen is the n-th
    implementation."""
    if len(impls) == 1:
        return impls[0]
    matching = [impl for impl in impls if _frame_matches(impl.function, frame)] or impls
    if len(matching) == 1:
        return matching[0]
    if not any(f is frame for f in seen):
        seen.append(frame)
    position = next(i for i, f in enumerate(seen) if f is frame)
    return matching[min(position, len(matching) - 1)]


def _frame_matches(function: Any, frame: FrameType) -> bool:
    """Whether ``frame`` runs ``function`` itself: the same instance for a method, the same
    closure values for a function made by a factory."""
    values = frame.f_locals
    owner = getattr(function, "__self__", None)
    if owner is not None:
        args = function.__code__.co_varnames
        return bool(args) and values.get(args[0]) is owner
    cells = getattr(function, "__closure__", None) or ()
    names = function.__code__.co_freevars
    if not cells:
        return False
    try:
        return all(values.get(n) is c.cell_contents for n, c in zip(names, cells, strict=True))
    except ValueError:  # an empty cell
        return False
