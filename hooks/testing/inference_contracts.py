"""Contract tests of inference backends (``register_inference_backends``).

Subclass them in a backend's tests and define the fixtures each docstring names::

    class TestNuclioContract(InferenceBackendContract, UnreachableInferenceContract):
        @pytest.fixture
        def inference_backend(self, nuclio_standin):
            return NuclioBackend(NuclioConfig(dashboard_url=nuclio_standin.url))
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from cvatcore.hooks.inference_types import (
    SHAPE_TYPES,
    FunctionNotFoundError,
    InferenceUnavailableError,
    check_descriptor,
)

FUNCTION_ID = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")


class InferenceBackendContract:
    """Fixtures: ``inference_backend``; ``function_id`` of a detector it serves; ``image_b64``,
    a frame (base64 JPEG or PNG) on which that detector finds at least one object."""

    def test_lists_functions_in_cvat_shape(self, inference_backend: Any) -> None:
        functions = inference_backend.list_functions()
        assert functions and all({"id", "kind", "labels_v2"} <= set(f) for f in functions)
        for function in functions:
            assert check_descriptor(function) == [], function.get("id")

    def test_function_ids_are_unique_and_url_safe(self, inference_backend: Any) -> None:
        ids = [f["id"] for f in inference_backend.list_functions()]
        assert len(ids) == len(set(ids))
        assert all(FUNCTION_ID.match(i) for i in ids), ids

    def test_invoke_detector(
        self, inference_backend: Any, function_id: str, image_b64: str
    ) -> None:
        result = inference_backend.invoke(function_id, {"image": image_b64})
        assert isinstance(result, list)

    def test_detections_use_the_functions_labels_and_shape_types(
        self, inference_backend: Any, function_id: str, image_b64: str
    ) -> None:
        function = next(f for f in inference_backend.list_functions() if f["id"] == function_id)
        assert function["kind"] == "detector"
        names = {label["name"] for label in function["labels_v2"]}
        result = inference_backend.invoke(function_id, {"image": image_b64})
        assert result, "the detector finds nothing on image_b64"
        for item in result:
            assert item["label"] in names
            assert item["type"] in SHAPE_TYPES
            assert all(isinstance(v, int | float) for v in item.get("points", []))

    def test_threshold_drops_less_confident_detections(
        self, inference_backend: Any, function_id: str, image_b64: str
    ) -> None:
        everything = inference_backend.invoke(function_id, {"image": image_b64})
        confidences = sorted(float(i.get("confidence", 1.0)) for i in everything)
        threshold = confidences[-1]
        kept = inference_backend.invoke(function_id, {"image": image_b64,
                                                      "threshold": threshold})
        assert kept and all(float(i.get("confidence", 1.0)) >= threshold for i in kept)

    def test_unknown_function_is_not_found(self, inference_backend: Any, image_b64: str) -> None:
        with pytest.raises(FunctionNotFoundError):
            inference_backend.invoke("no-such-function-here", {"image": image_b64})

    def test_health_reports_ok(self, inference_backend: Any) -> None:
        health = inference_backend.health()
        assert health["ok"] is True and isinstance(health["detail"], str)


class UnreachableInferenceContract:
    """Fixtures: ``unreachable_inference_backend``, the backend pointed at a server that does
    not listen; ``image_b64``."""

    def test_health_says_what_is_wrong_without_raising(
        self, unreachable_inference_backend: Any
    ) -> None:
        health = unreachable_inference_backend.health()
        assert health["ok"] is False and health["detail"]

    def test_listing_is_unavailable(self, unreachable_inference_backend: Any) -> None:
        with pytest.raises(InferenceUnavailableError):
            unreachable_inference_backend.list_functions()

    def test_invoking_is_unavailable(
        self, unreachable_inference_backend: Any, image_b64: str
    ) -> None:
        with pytest.raises(InferenceUnavailableError):
            unreachable_inference_backend.invoke("anything", {"image": image_b64})
