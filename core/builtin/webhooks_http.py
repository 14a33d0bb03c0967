"""Built-in webhook transport ``http``: a POST over HTTP(S) with httpx.

One pooled client per transport (keep-alive to busy receivers). The connection goes to the
address the outbound guard checked (``OutboundRequest.connect_to``): the URL's host is
replaced by that address while ``Host`` and the TLS server name (SNI, certificate check)
keep the original name, so a second DNS answer (rebinding) is never used. Redirects are
not followed: a 3xx is the answer.
"""

from __future__ import annotations

import ipaddress
import threading

import httpx

from cvatcore.hooks import DeliveryResult, EmptyConfig, OutboundRequest, Register, hookimpl

MAX_RESPONSE_BYTES = 1024 * 1024  # CVAT keeps at most 1 MB of the receiver's answer


class HttpTransport:
    def __init__(self, config: EmptyConfig | None = None) -> None:
        self.config = config
        self._limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
        self._clients: dict[bool, httpx.Client] = {}
        self._lock = threading.Lock()

    def _client(self, verify: bool) -> httpx.Client:
        """The pooled client for TLS-checked or unchecked targets, made on first use: a
        checking one loads the CA bundle (~0.15 s), which plain-HTTP receivers never need
        (they go through the unchecked one: no TLS to check)."""
        client = self._clients.get(verify)
        if client is None:
            with self._lock:
                client = self._clients.get(verify)
                if client is None:
                    client = self._clients[verify] = httpx.Client(
                        verify=verify, follow_redirects=False, limits=self._limits,
                        trust_env=False)
        return client

    def send(self, request: OutboundRequest) -> DeliveryResult:
        url = httpx.URL(request.url)
        headers = dict(request.headers)
        extensions: dict[str, object] = {"timeout": httpx.Timeout(
            request.timeout, connect=min(3.0, request.timeout)).as_dict()}
        if request.connect_to and request.connect_to != url.host:
            headers.setdefault("Host", _host_header(url))
            if url.scheme == "https":
                extensions["sni_hostname"] = url.host
            url = url.copy_with(host=request.connect_to)
        client = self._client(bool(request.verify_tls) and url.scheme == "https")
        try:
            built = client.build_request("POST", url, content=request.body, headers=headers,
                                         extensions=extensions)
            response = client.send(built, stream=True)
            try:
                return DeliveryResult(response.status_code, _read(response),
                                      dict(response.headers.items()))
            finally:
                response.close()
        except httpx.TimeoutException as exc:
            return DeliveryResult(504, f"timeout: {exc}")
        except (httpx.HTTPError, OSError) as exc:
            return DeliveryResult(502, f"{type(exc).__name__}: {exc}")

    def close(self) -> None:
        for client in list(self._clients.values()):
            client.close()


def _host_header(url: httpx.URL) -> str:
    host = url.host
    try:
        if ipaddress.ip_address(host).version == 6:
            host = f"[{host}]"
    except ValueError:
        pass
    default = {"http": 80, "https": 443}.get(url.scheme)
    return host if url.port in (None, default) else f"{host}:{url.port}"


def _read(response: httpx.Response) -> str:
    """At most 1 MB + 1 byte of the body; a larger one is kept as ``""`` (as CVAT)."""
    data = bytearray()
    for chunk in response.iter_bytes():
        data += chunk
        if len(data) > MAX_RESPONSE_BYTES:
            return ""
    return data.decode("utf-8", "replace")


@hookimpl
def register_webhook_transports(register: Register) -> None:
    register("http", HttpTransport, description="POST over HTTP(S) (httpx, pooled)")
