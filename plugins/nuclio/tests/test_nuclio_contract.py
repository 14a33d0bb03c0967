"""The Nuclio backend against the dashboard stand-in: the inference contract, the headers
CVAT sends, metadata parsing, and errors as statuses (503, 504, upstream)."""

from __future__ import annotations

import socket

import pytest
from cvatcore_nuclio import NuclioBackend, NuclioConfig

from cvatcore.hooks import InferenceRejectedError, InferenceTimeoutError
from cvatcore.hooks.testing.contracts import (
    InferenceBackendContract,
    UnreachableInferenceContract,
)
from cvatcore.hooks.testing.images import b64, face_png


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TestNuclioContract(InferenceBackendContract, UnreachableInferenceContract):
    @pytest.fixture
    def inference_backend(self, dashboard):
        return NuclioBackend(NuclioConfig(dashboard_url=dashboard.url))

    @pytest.fixture
    def unreachable_inference_backend(self):
        return NuclioBackend(NuclioConfig(dashboard_url=f"http://127.0.0.1:{_closed_port()}",
                                          connect_timeout=2))

    @pytest.fixture
    def function_id(self):
        return "openvino-car-detector"

    @pytest.fixture
    def image_b64(self):
        return b64(face_png(100))


def test_descriptor_from_the_function_yaml_annotations(dashboard):
    dashboard.add("hrnet", lambda body: {"points": []}, [{"name": "object"}],
                  kind="interactor", min_pos_points="3", startswith_box="true",
                  version="2")
    dashboard.add("other-project", lambda body: [], [], project="someone-else")
    dashboard.add("broken-metadata", lambda body: [], [], kind="segmenter")
    try:
        functions = {f["id"]: f for f in
                     NuclioBackend(NuclioConfig(dashboard_url=dashboard.url)).list_functions()}
    finally:
        for name in ("hrnet", "other-project", "broken-metadata"):
            dashboard.functions.pop(name)
    assert set(functions) == {"openvino-car-detector", "hrnet"}
    car = functions["openvino-car-detector"]
    assert car["name"] == "Car detector" and car["description"] == "Stand-in cars"
    assert car["labels_v2"][1] == {"id": 1, "name": "bus", "type": "unknown", "attributes": [
        {"name": "color", "input_type": "select", "values": ["red", "blue"]}]}
    hrnet = functions["hrnet"]
    assert hrnet["kind"] == "interactor" and hrnet["version"] == 2
    assert hrnet["min_pos_points"] == 3 and hrnet["startswith_box"] is True
    assert hrnet["min_neg_points"] == -1


def test_invocation_goes_through_the_dashboard_as_cvat_sends_it(dashboard):
    backend = NuclioBackend(NuclioConfig(dashboard_url=dashboard.url, timeout=30))
    dashboard.requests.clear()
    backend.invoke("openvino-car-detector", {"image": b64(face_png(50)), "threshold": 0.5})
    method, path, headers, body = dashboard.requests[-1]
    headers = {k.lower(): v for k, v in headers.items()}
    assert (method, path) == ("POST", "/api/function_invocations")
    assert headers["x-nuclio-function-name"] == "openvino-car-detector"
    assert headers["x-nuclio-path"] == "/" and headers["x-nuclio-project-name"] == "cvat"
    assert headers["x-nuclio-function-namespace"] == "nuclio"
    assert headers["x-nuclio-invoke-via"] == "domain-name"
    assert headers["x-nuclio-invoke-timeout"] == "30s"
    assert body["threshold"] == 0.5 and body["image"]


def test_a_slow_function_is_a_504(dashboard):
    backend = NuclioBackend(NuclioConfig(dashboard_url=dashboard.url, timeout=0.3))
    dashboard.delay = 1.0
    try:
        with pytest.raises(InferenceTimeoutError) as caught:
            backend.invoke("openvino-car-detector", {"image": b64(face_png(50))})
    finally:
        dashboard.delay = 0.0
    assert caught.value.status == 504


def test_a_failing_function_keeps_the_upstream_status(dashboard):
    backend = NuclioBackend(NuclioConfig(dashboard_url=dashboard.url))
    with pytest.raises(InferenceRejectedError) as caught:
        backend.invoke("openvino-car-detector", {"image": "not base64!"})
    assert caught.value.status == 500 and "500" in str(caught.value)
