"""Built-in webhook transport ``http``: a plain HTTPS/HTTP POST."""

import ssl
import urllib.error
import urllib.request

from cvatcore.hooks import DeliveryResult, EmptyConfig, OutboundRequest, Register, hookimpl

MAX_RESPONSE_BYTES = 1024 * 1024  # CVAT keeps at most 1 MB of the receiver's answer


class HttpTransport:
    def __init__(self, config: EmptyConfig) -> None:
        self.config = config

    def send(self, request: OutboundRequest) -> DeliveryResult:
        req = urllib.request.Request(
            request.url, data=request.body, headers=request.headers, method="POST"
        )
        context = None if request.verify_tls else ssl._create_unverified_context()
        try:
            with urllib.request.urlopen(req, timeout=request.timeout, context=context) as resp:
                return DeliveryResult(resp.status, _body(resp.read(MAX_RESPONSE_BYTES + 1)))
        except urllib.error.HTTPError as exc:
            return DeliveryResult(exc.code, _body(exc.read(MAX_RESPONSE_BYTES + 1)))
        except TimeoutError:
            return DeliveryResult(504, "")
        except OSError as exc:
            return DeliveryResult(502, str(exc))


def _body(data: bytes) -> str:
    return "" if len(data) > MAX_RESPONSE_BYTES else data.decode("utf-8", "replace")


@hookimpl
def register_webhook_transports(register: Register) -> None:
    register("http", HttpTransport, description="POST over HTTP(S)")
