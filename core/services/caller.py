"""Who acts, and where: the value every service takes instead of an HTTP request.

A request is one caller among several. Background jobs, CLI commands, event subscribers and
restores act on the same domain, so services take a ``Caller`` and plain arguments, check
permissions with it and publish their own domain events with its actor and request id. The
API layer (``core/api``) authenticates, reads headers and query strings and builds the value;
a job builds it from what it stored when it was queued; a CLI command builds a system caller.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_state

from cvatcore.core.errors import NotAuthenticated

if TYPE_CHECKING:
    from cvatcore.core.db.engine import Work
    from cvatcore.core.models import User
    from cvatcore.core.state import AppState

#: ``Caller.organization`` values: no organization context at all (lists show everything the
#: actor may see) or the personal sandbox; any other value is a slug (str) or an id (int).
NO_CONTEXT: None = None
SANDBOX = ""


@dataclass
class Caller:
    """The actor, the organization context, the request id and the unit of work.

    ``user`` is None for an anonymous request or for the system actor (``Caller.system``):
    jobs and commands that act where no user does. ``organization`` is what the actor chose
    (``X-Organization``, ``?org``, ``?org_id`` for a request): ``NO_CONTEXT``, ``SANDBOX``, a
    slug or an id; ``services.context.org_context`` resolves and checks it once.
    """

    state: AppState
    #: The unit of work: a ``Work`` (a request's, a job's), or an ORM ``Session`` already
    #: inside its transaction (``db.unit_of_work()`` in commands and tests).
    work: Work | Session
    user: User | None = None
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    organization: str | int | None = NO_CONTEXT
    is_system: bool = False
    #: Where clients reach this server (``http://host:port``), for URLs in what is sent
    #: elsewhere (webhook payloads); None outside a request.
    base_url: str | None = None
    #: Per-caller caches of the services (the resolved organization context, ...).
    cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def system(
        cls, state: AppState, work: Work | Session, *, request_id: str | None = None,
        organization: str | int | None = NO_CONTEXT, user: User | None = None,
    ) -> Caller:
        """A caller for work no HTTP request drives (jobs, commands, subscribers).

        ``user`` is the user on whose behalf a job runs (the one who queued it), if any:
        events then name them as the actor, as they would for the request itself."""
        return cls(state, work, user, request_id or str(uuid.uuid4()), organization,
                   is_system=True)

    @classmethod
    def for_job(cls, job: Any, work: Work | Session) -> Caller:
        """The caller of a background job: the user who queued it (if any) acting in its
        organization, with the request id the queuing request had (``args["request_id"]``),
        so a job's events name the same actor and request as the request that asked for it."""
        caller = cls.system(job.state, work, request_id=job.args.get("request_id") or job.id,
                            organization=job.org_id if job.org_id is not None else NO_CONTEXT)
        if job.owner_id is not None:
            from cvatcore.core.models import User

            caller.user = caller.session.get(User, job.owner_id)
        return caller

    @property
    def session(self) -> Session:
        """The unit of work's ORM session, made on first use inside its transaction.

        The signed-in user may have been read with a Core query (see the API layer's
        authentication); it joins the session here, so that changes to it are flushed."""
        work = self.work
        if isinstance(work, Session):
            return work
        if work.has_session:
            return work.session
        session = work.session
        user = self.user
        if user is not None and instance_state(user).detached:
            session.add(user)
        return session

    @property
    def connection(self) -> Connection:
        """The unit of work's Core connection (the same transaction as ``session``)."""
        work = self.work
        return work.connection() if isinstance(work, Session) else work.connection

    def require_user(self) -> User:
        """The acting user; a 401 for an anonymous caller."""
        if self.user is None:
            raise NotAuthenticated()
        return self.user
