"""Webhook transport ``redis-streams``: each delivery becomes one entry of a Redis stream.

Instead of POSTing to the receiver, cvatcore appends ``{url, body, headers}`` to a stream
(``XADD``, trimmed to about ``maxlen`` entries). The operator's consumers (one consumer group
per service, ``XREADGROUP`` + ``XACK``) read the deliveries at their own pace and fan them
out; cvatcore still orders, signs and records every delivery, and an entry that Redis
accepted counts as delivered (status 200, the entry id as the answer). Redis unreachable is
a 502 and is retried like a failing receiver.
"""

from __future__ import annotations

import json
from typing import Any

import redis
from pydantic import Field, SecretStr

from cvatcore.hooks import (
    DeliveryResult,
    OutboundRequest,
    ProviderConfig,
    Register,
    hookimpl,
)


class RedisStreamsConfig(ProviderConfig):
    """``[webhooks.options.redis-streams]``."""

    # May carry a password (redis://:secret@host:6379/0), so it is masked in config check.
    url: SecretStr = SecretStr("redis://127.0.0.1:6379/0")
    stream: str = "cvatcore:webhooks"
    maxlen: int = Field(default=100_000, ge=1)
    timeout_seconds: float = Field(default=5.0, gt=0)


class RedisStreamsTransport:
    """Appends each delivery to the configured stream."""

    def __init__(self, config: RedisStreamsConfig | None = None) -> None:
        self.config = config or RedisStreamsConfig()
        self.client = redis.Redis.from_url(
            self.config.url.get_secret_value(), socket_timeout=self.config.timeout_seconds,
            socket_connect_timeout=self.config.timeout_seconds)

    def send(self, request: OutboundRequest) -> DeliveryResult:
        fields: dict[Any, Any] = {
            "url": request.url,
            "headers": json.dumps(request.headers),
            "body": request.body,
        }
        try:
            entry = self.client.xadd(self.config.stream, fields, maxlen=self.config.maxlen,
                                     approximate=True)
        except redis.TimeoutError as exc:
            return DeliveryResult(504, f"redis timeout: {exc}")
        except redis.RedisError as exc:
            return DeliveryResult(502, f"redis: {type(exc).__name__}: {exc}")
        entry_id = entry.decode() if isinstance(entry, bytes) else str(entry)
        return DeliveryResult(200, json.dumps({"stream": self.config.stream, "id": entry_id}))


@hookimpl
def register_webhook_transports(register: Register) -> None:
    register("redis-streams", RedisStreamsTransport, config_model=RedisStreamsConfig,
             description="append deliveries to a Redis stream (XADD)")
