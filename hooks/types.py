"""Types that cross the line between the core and plugins.

Everything here is stable public API: plugin authors import it from ``cvatcore.hooks``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, BinaryIO, Protocol

from pydantic import BaseModel, ConfigDict


class ProviderConfig(BaseModel):
    """Base class for a provider's options, as written under its name in the settings file.

    Subclass it and declare fields; unknown keys are rejected so that a typo in the
    configuration stops start-up instead of being ignored. Declare secrets as
    ``pydantic.SecretStr`` so that ``cvatcore config check`` and logs mask them.
    """

    # hide_input_in_errors: a validation message must not quote a secret the user typed.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class EmptyConfig(ProviderConfig):
    """The config model of a provider that takes no options."""


class Register(Protocol):
    """The callback every ``register_*`` hook receives: ``register(name, value, /, **options)``.

    Each call adds one thing under ``name``. What ``name`` and ``value`` are, and which
    ``options`` a hook takes, its docstring says:

    ================================  ===============  ====================  ==================
    hook                              name             value                 options
    ================================  ===============  ====================  ==================
    ``register_storage_providers``,   provider name    ``factory(config)``   ``config_model``,
    ``register_auth_backends``,                                              ``description``
    ``register_event_sinks``,
    ``register_webhook_transports``,
    ``register_inference_backends``
    ``register_cloud_storage_types``  CVAT type        ``build_options``     ``provider``,
                                                                             ``credentials_types``
    ``register_routes``               path             endpoint or handler   ``methods``,
                                                                             ``name``, ``auth``
    ``register_job_kinds``            job kind         ``handler(job)``      ``description``
    ``register_migrations``           branch label     versions directory    (none)
    ``register_domain_subscribers``   subscriber name  ``handler``           ``scopes``,
                                                                             ``committed``
    ================================  ===============  ====================  ==================

    Call it only while the hook runs. An option the hook does not take, or a name (for
    routes: a path and method) that another plugin registered too, stops start-up with an
    error that names the plugins.
    """

    def __call__(self, name: str, value: Any, /, **options: Any) -> None: ...


@dataclass(frozen=True)
class Identity:
    """Who an auth backend says a person is.

    ``groups`` are CVAT system roles (``admin``, ``business``, ``user``, ``worker``). ``None``
    means the backend does not manage roles and the stored ones are kept (local accounts);
    a list replaces the stored roles on every sign-in (directory backends such as LDAP).
    """

    username: str
    backend: str
    email: str = ""
    first_name: str = ""
    last_name: str = ""
    groups: list[str] | None = None
    is_superuser: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class JobFailed(Exception):
    """Raised by a background job handler for a failure the user should read as is; the job
    is marked ``failed`` with this message and not retried."""


class AuthUnavailableError(Exception):
    """Raised by an auth backend whose directory cannot be reached (the API answers 503)."""


class AccountStore(Protocol):
    """What the core lends an auth backend: its own store of local accounts."""

    def verify_local_password(self, username: str, password: str) -> Identity | None:
        """The identity of an active local account with this password, else ``None``."""
        ...


class AuthBackend(Protocol):
    """A source of truth for user names and passwords (local accounts, LDAP, ...).

    Backends form a chain in the order of ``[auth] backends``; the first one that returns an
    identity signs the person in.
    """

    name: str

    def authenticate(
        self, username: str, password: str, accounts: AccountStore
    ) -> Identity | None:
        """Return the identity for these credentials, or ``None`` when they are not valid here.

        Must not say why (unknown user and wrong password look the same) and must never log
        the password. Raise ``AuthUnavailableError`` when the backend cannot answer at all.
        """
        ...


@dataclass(frozen=True)
class ObjectInfo:
    """One entry of a storage listing, or what ``stat`` says about one path.

    ``name`` is the path relative to the storage's root, "/"-separated, as it would be passed
    back to ``read`` or ``list_page`` (a directory's name has no trailing "/").
    """

    name: str
    type: str  # "REG" (a file) or "DIR"
    size: int | None = None
    modified: float | None = None


@dataclass(frozen=True)
class ListingPage:
    """One page of a storage listing; ``next`` is an opaque cursor or ``None`` at the end."""

    entries: list[ObjectInfo]
    next: str | None


class StorageStatus:
    """The values of a storage's ``status``, as CVAT spells them."""

    AVAILABLE = "AVAILABLE"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"


class StorageUnavailableError(ConnectionError):
    """The storage cannot be reached right now: connection refused or dropped, a timeout, or
    the service keeps throttling after retries.

    Unlike ``PermissionError`` (wrong or missing credentials) and ``FileNotFoundError`` (no
    such bucket or object), trying again later may work. The message names the storage and
    what failed, never a credential.
    """


class StoragePathError(PermissionError, ValueError):
    """A path that a storage refuses to resolve: ``..`` or ``.`` segments, an absolute path,
    an empty segment, a NUL byte, or (local directories) a symlink that leads out of the root.

    It is a ``PermissionError`` (nothing outside the root is ever touched) and a
    ``ValueError`` (the request itself is malformed, so an API answers 400).
    """


class StorageProvider(Protocol):
    """A place that holds media: a local directory or a bucket (built on fsspec).

    Paths are relative to the storage's root and "/"-separated; ``..``, ``.``, empty
    segments, a leading "/" and NUL raise ``StoragePathError``.

    No path leaves the root. Whatever the backend can link (a symlink in a local directory,
    a shortcut in a Drive folder), a path whose target lies outside the root raises
    ``StoragePathError`` for every method, before anything outside is read, written or
    deleted; listings leave such entries out. Links that stay inside the root may be followed.

    Objects of any size go through ``open_read`` and ``write_stream`` in pieces: memory use
    must not grow with the object's size (media stores hold multi-gigabyte videos and
    archives). ``read`` and ``write`` move whole ``bytes`` and suit small objects.

    Failures surface as ``FileNotFoundError`` (no such object or bucket), ``PermissionError``
    (credentials refused or missing), ``StorageUnavailableError`` (cannot be reached now) or
    ``ValueError`` (bad arguments, such as a foreign cursor). No message ever carries a
    credential. ``cvatcore.hooks.FsspecStorage`` implements all of this over any fsspec
    filesystem; ``cvatcore.hooks.testing.contracts.StorageProviderContract`` checks it.
    """

    def list_page(self, prefix: str, cursor: str | None, page_size: int) -> ListingPage:
        """One page (at most ``page_size`` entries) of what lies one level below ``prefix``.

        ``prefix`` is matched as a string, as S3's ``Prefix`` with ``Delimiter="/"`` is:
        ``"a/"`` lists the contents of folder ``a``, ``"a/im"`` those of its entries whose
        names start with ``im``, ``""`` the root. Entries carry full relative names
        (``"a/img1.jpg"``, ``"a/sub"``) and type ``"REG"`` or ``"DIR"``. Pass ``next`` back as
        ``cursor`` for the following page; each entry is listed exactly once. The cost of a
        page must not grow with the size of the bucket.
        """
        ...

    def stat(self, path: str) -> ObjectInfo:
        """Size and type of one object; ``FileNotFoundError`` when it is absent."""
        ...

    def read(self, path: str, start: int | None = None, end: int | None = None) -> bytes:
        """The object's bytes, or the byte range ``[start, end)``."""
        ...

    def write(self, path: str, data: bytes) -> None:
        """Create or replace one object."""
        ...

    def open_read(self, path: str) -> BinaryIO:
        """A readable, seekable binary file over the object, fetched piece by piece as it is
        read (ranged requests for buckets); the caller closes it (``with``). Opening a
        missing object raises ``FileNotFoundError``."""
        ...

    def write_stream(self, path: str, source: BinaryIO | Iterable[bytes]) -> int:
        """Create or replace one object from ``source``, a binary file read to its end or an
        iterable of ``bytes`` chunks, holding only a few pieces in memory at once (multipart
        uploads for buckets); returns the number of bytes written. When ``source`` raises,
        the exception propagates and the upload is abandoned where the backend allows."""
        ...

    def delete(self, path: str) -> None:
        """Remove one object; ``FileNotFoundError`` when it is absent."""
        ...

    def status(self) -> str:
        """One of ``StorageStatus``'s values; never raises.

        ``FORBIDDEN`` when the credentials are refused, ``NOT_FOUND`` when the bucket (or
        directory) does not exist or cannot be reached at all (as CVAT reports it).
        """
        ...


@dataclass(frozen=True)
class DomainEvent:
    """A change to a domain object, as event sinks and webhook matching see it."""

    scope: str  # "<action>:<resource>", e.g. "create:task"
    obj_id: int | None
    timestamp: float
    actor_id: int | None = None
    org_id: int | None = None
    request_id: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None

    @property
    def action(self) -> str:
        """``create``, ``update`` or ``delete``."""
        return self.scope.partition(":")[0]

    @property
    def resource(self) -> str:
        """``task``, ``project``, ``job``, ``user``, ... ."""
        return self.scope.partition(":")[2]


#: The columns of a CVAT event record, in CVAT's table order (``id`` is cvatcore's own).
EVENT_FIELDS = (
    "scope", "obj_name", "obj_id", "obj_val", "source", "timestamp", "count", "duration",
    "project_id", "task_id", "job_id", "user_id", "user_name", "user_email", "org_id",
    "org_slug", "payload",
)


def event_timestamp(value: Any) -> datetime:
    """An event record's ``timestamp`` as an aware UTC ``datetime``, for sinks that store a
    time column: the ISO 8601 string the core sends (``2026-01-31T12:00:00.123Z``), an ISO
    string with another offset, epoch seconds (CVAT's JSON lines) or a ``datetime``."""
    if isinstance(value, str) and value.endswith("Z"):  # what the core sends: the fast path
        try:
            return datetime.fromisoformat(value[:-1]).replace(tzinfo=UTC)
        except ValueError:
            pass
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, int | float):
        moment = datetime.fromtimestamp(value, UTC)
    else:
        text = str(value)
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            moment = datetime.fromtimestamp(float(text), UTC)
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


class EventSink(Protocol):
    """Where analytics events end up (a log file, ClickHouse, ...).

    The core hands a sink its events from a durable outbox, in batches, by a background
    job; a batch the sink refused (it raised) is handed again later, and so may be a batch it
    stored just before its worker died. A record is a dict with ``EVENT_FIELDS`` plus ``id``
    (a unique string, absent only in hand-made batches): **store each id once** and drop ids
    already stored, so replays add nothing. ``timestamp`` is an ISO 8601 string in UTC
    (``2026-01-31T12:00:00.123Z``), ``payload`` a JSON string or None.

    A sink that can be read back also has ``read(query: EventQuery)`` returning an iterable
    of records (the ``EVENT_FIELDS``, ``timestamp`` as an aware ``datetime`` or that string)
    in timestamp order, without holding them all in memory: ``GET /api/events`` and
    ``POST /api/events/export`` read the first configured sink that has it. ``close()``, if
    present, is called after each drain. ``write_new(events)``, if present, is called
    instead of ``write`` for a batch the core knows the sink never received (one drain per
    sink at a time, no earlier failed attempt): a sink may skip its duplicate check there.
    A sink that stores into the main database may have ``shares_database(engine)`` and
    ``write_in(connection, events, dedupe=False)``: when the first says yes, each batch is
    written on the drain's connection, in the transaction that records its delivery.
    """

    def write(self, events: list[dict[str, Any]]) -> None:
        """Store a batch of CVAT event records; raise to have the batch retried later."""
        ...


@dataclass(frozen=True)
class EventQuery:
    """What an export asks a readable sink for: events with ``start <= timestamp <= end``
    (aware UTC datetimes) and, for each id that is not None, that id."""

    start: Any
    end: Any
    org_id: int | None = None
    project_id: int | None = None
    task_id: int | None = None
    job_id: int | None = None
    user_id: int | None = None

    def ids(self) -> dict[str, int]:
        """The id filters that are set: ``{"org_id": 3, ...}``."""
        names = ("org_id", "project_id", "task_id", "job_id", "user_id")
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}


@dataclass(frozen=True)
class OutboundRequest:
    """One HTTP delivery a webhook transport sends.

    ``connect_to`` is the IP address the core's outbound guard checked for ``url``'s host:
    a transport that opens connections itself connects there (keeping the host name for the
    ``Host`` header and TLS), never to a second DNS answer, and follows no redirects.
    """

    url: str
    body: bytes
    headers: dict[str, str]
    verify_tls: bool = True
    timeout: float = 10.0
    connect_to: str | None = None


@dataclass(frozen=True)
class DeliveryResult:
    """What came back from one delivery attempt: the status, the body (at most 1 MB, else
    ``""``) and the response headers (``Retry-After`` decides when to try again)."""

    status_code: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)


class WebhookTransport(Protocol):
    """Carries webhook payloads to their targets (plain HTTP by default)."""

    def send(self, request: OutboundRequest) -> DeliveryResult:
        """Send one request and return the result; connection errors map to 502, timeouts
        504 (with the error text as the body). Never raises for a network problem: the core
        decides about retries from the status (408, 429 and 5xx are retried)."""
        ...


class InferenceBackend(Protocol):
    """A model server that automatic-annotation functions run on (Nuclio, an in-process
    detector, ...). Built once per application by the factory given to
    ``register_inference_backends``; its methods are called from request handlers and
    background jobs, possibly from several threads at once, and may block.

    Function ids are unique across the enabled backends (the first backend in
    ``[inference] backends`` that lists an id serves it). Errors are the classes of
    ``cvatcore.hooks.inference_types``: ``InferenceUnavailableError`` (503),
    ``InferenceTimeoutError`` (504), ``FunctionNotFoundError`` (404),
    ``InferenceRejectedError`` (the upstream status). Anything else is a bug and answers 500.
    """

    def list_functions(self) -> list[dict[str, Any]]:
        """Every function served, each a descriptor in CVAT's ``/api/lambda/functions`` shape:
        ``id`` (``[a-zA-Z0-9_.-]+``), ``name``, ``kind`` (``detector``, ``interactor``,
        ``tracker`` or ``reid``), ``description``, ``version`` (int) and ``labels_v2``:
        ``[{"name", "type" ("unknown" matches any task label), "attributes": [{"name",
        "input_type", "values"}], "sublabels"?: [...] (skeletons)}]``; interactors add
        ``min_pos_points``, ``min_neg_points``, ``startswith_box``,
        ``startswith_box_optional``, ``help_message``, ``animated_gif``.
        ``inference_types.describe_function`` builds one with CVAT's defaults; a descriptor
        that fails ``check_descriptor`` is skipped (and logged) by the core."""
        ...

    def invoke(self, function_id: str, payload: dict[str, Any]) -> Any:
        """Run one function on one frame and return its decoded answer.

        ``payload`` is CVAT's invocation body: ``image`` (the frame as base64 JPEG/PNG)
        plus ``threshold`` (float, when the user gave one) for a detector; a detector
        answers ``[{"label", "type", "points", "confidence"?, "attributes"?: [{"name",
        "value"}], "elements"? (skeleton points), "mask"?, "rotation"?}]`` in the function's
        own label names, coordinates in pixels of the frame. Interactors receive
        ``pos_points``, ``neg_points``, ``obj_bbox``; trackers ``shapes`` and ``states``;
        reid ``image0``, ``image1``, ``boxes0``, ``boxes1``; their answers pass through."""
        ...

    def health(self) -> dict[str, Any]:
        """Whether the model server can be used now, without running a model:
        ``{"ok": bool, "detail": str}`` (``detail`` names what is wrong). Must not raise
        for an unreachable server: that is ``{"ok": False, ...}``."""
        ...
