"""Built-in event sink ``log``: one JSON line per event on the ``cvatcore.events`` logger."""

import json
import logging
from typing import Any

from cvatcore.hooks import EmptyConfig, Register, hookimpl

logger = logging.getLogger("cvatcore.events")


class LogSink:
    def __init__(self, config: EmptyConfig) -> None:
        self.config = config

    def write(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            logger.info(json.dumps(event, separators=(",", ":"), default=str))


@hookimpl
def register_event_sinks(register: Register) -> None:
    register("log", LogSink, description="JSON lines on the cvatcore.events logger")
