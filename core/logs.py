"""Logging of ``cvatcore serve`` and ``cvatcore worker``: plain text or one JSON object per
line (``[server] log_format = "json"``), each record carrying the id of the request (or of the
background job's request) it was written for, so one request can be followed across replicas
and workers in a log store."""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

#: The request being served (or whose background job runs) in this context.
REQUEST_ID: ContextVar[str | None] = ContextVar("cvatcore_request_id", default=None)


class RequestIdFilter(logging.Filter):
    """Adds ``record.request_id`` (``-`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, request_id,
    and the traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or REQUEST_ID.get() or None,
        }
        if record.exc_info:
            entry["exception"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def log_config(log_format: str = "text", level: str = "info", access_log: bool = False
               ) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for the process (uvicorn's loggers included);
    ``access_log`` adds a line per request (``cvatcore.access``)."""
    formatter = ({"()": "cvatcore.core.logs.JsonFormatter"} if log_format == "json"
                 else {"format": TEXT_FORMAT})
    handler = {"class": "logging.StreamHandler", "formatter": "main",
               "filters": ["request_id"], "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "cvatcore.core.logs.RequestIdFilter"}},
        "formatters": {"main": formatter},
        "handlers": {"main": handler},
        "root": {"handlers": ["main"], "level": level.upper()},
        "loggers": {
            **{name: {"handlers": [], "propagate": True}
               for name in ("uvicorn", "uvicorn.error", "uvicorn.access")},
            "cvatcore.access": {"level": "INFO" if access_log else "WARNING"},
        },
    }
