"""Built-in plugin: the ``opencv`` inference backend, detectors that run in-process.

Both detectors ship inside the ``opencv-python-headless`` wheel (no model download, no GPU,
no network): OpenCV's Haar cascade for frontal faces and its HOG + linear SVM people
detector. They are small and fast, not state of the art; they make ``cvatcore serve`` on the
defaults able to auto-annotate, and they are what the ``/api/lambda`` tests run. Next to
them, an interactor (GrabCut) and a tracker (template matching), in
``opencv_interactive.py``, so the defaults offer one of each kind CVAT's UI calls online.

Confidences: both OpenCV detectors give an unbounded score (the cascade's last-stage weight,
the SVM margin); ``score / (1 + score)`` maps it onto 0..1 so that CVAT's ``threshold``
means what it means for other functions.
"""

from __future__ import annotations

import base64
import binascii
import threading
from typing import Any

from cvatcore.core.builtin import opencv_interactive
from cvatcore.hooks import EmptyConfig, Register, hookimpl
from cvatcore.hooks.inference_types import (
    FunctionNotFoundError,
    InferenceRejectedError,
    describe_function,
)

FACES = "opencv-face-detection"
PEOPLE = "opencv-hog-people"
FUNCTIONS = (
    describe_function(
        FACES, name="Faces (OpenCV Haar cascade)",
        labels=[{"name": "face", "type": "rectangle"}],
        description="Frontal faces: OpenCV's bundled haarcascade_frontalface_default.xml, "
                    "in-process, CPU only."),
    describe_function(
        PEOPLE, name="People (OpenCV HOG)",
        labels=[{"name": "person", "type": "rectangle"}],
        description="Upright people: OpenCV's HOG descriptor with its default people SVM, "
                    "in-process, CPU only."),
)


class OpenCVBackend:
    """The ``opencv`` backend (see the module text). Detector objects are not shared between
    threads: each worker thread builds its own once."""

    def __init__(self, config: EmptyConfig | None = None) -> None:
        self._local = threading.local()

    def list_functions(self) -> list[dict[str, Any]]:
        return [dict(f) for f in (*FUNCTIONS, *opencv_interactive.FUNCTIONS)]

    def health(self) -> dict[str, Any]:
        try:
            self._cascade()
        except Exception as exc:  # a broken OpenCV install: say so instead of raising
            return {"ok": False, "detail": f"OpenCV is not usable: {exc}"}
        return {"ok": True, "detail": ""}

    def invoke(self, function_id: str, payload: dict[str, Any]) -> Any:
        online = {opencv_interactive.GRABCUT: opencv_interactive.grabcut,
                  opencv_interactive.TRACKER: opencv_interactive.track}.get(function_id)
        if online is not None:
            return online(_decode(payload.get("image")), payload)
        if function_id not in (FACES, PEOPLE):
            raise FunctionNotFoundError(f"The opencv backend has no function {function_id!r}.")
        image = _decode(payload.get("image"))
        threshold = float(payload.get("threshold") or 0.0)
        found = self._faces(image) if function_id == FACES else self._people(image)
        label = "face" if function_id == FACES else "person"
        return [
            {"label": label, "type": "rectangle", "confidence": conf, "attributes": [],
             "points": [float(x), float(y), float(x + w), float(y + h)]}
            for (x, y, w, h), conf in found if conf >= threshold
        ]

    def _cascade(self) -> Any:
        cascade = getattr(self._local, "cascade", None)
        if cascade is None:
            import cv2

            cascade = cv2.CascadeClassifier(
                cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
            if cascade.empty():
                raise RuntimeError("the bundled face cascade cannot be loaded")
            self._local.cascade = cascade
        return cascade

    def _faces(self, image: Any) -> list[tuple[Any, float]]:
        import cv2

        gray = cv2.equalizeHist(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
        boxes, _, weights = self._cascade().detectMultiScale3(
            gray, scaleFactor=1.1, minNeighbors=5, minSize=(24, 24), outputRejectLevels=True)
        return [(tuple(int(v) for v in box), _confidence(weight))
                for box, weight in zip(boxes, weights, strict=False)]

    def _people(self, image: Any) -> list[tuple[Any, float]]:
        height, width = image.shape[:2]
        if height < 128 or width < 64:  # smaller than the detector's window (and OpenCV's
            return []  # HOG crashes the process on such frames instead of finding nothing)
        hog = getattr(self._local, "hog", None)
        if hog is None:
            import cv2

            hog = cv2.HOGDescriptor()
            hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
            self._local.hog = hog
        boxes, weights = hog.detectMultiScale(image, winStride=(8, 8), padding=(8, 8),
                                              scale=1.05)
        return [(tuple(int(v) for v in box), _confidence(weight))
                for box, weight in zip(boxes, weights, strict=False)]


def _confidence(score: Any) -> float:
    value = max(float(score), 0.0)
    return round(value / (1.0 + value), 4)


def _decode(image: Any) -> Any:
    import cv2
    import numpy as np

    try:
        raw = base64.b64decode(image or "", validate=True)
    except (binascii.Error, TypeError, ValueError):
        raise InferenceRejectedError("image must be base64-encoded JPEG or PNG.", 400) from None
    decoded = cv2.imdecode(np.frombuffer(raw, dtype=np.uint8), cv2.IMREAD_COLOR) if raw else None
    if decoded is None:
        raise InferenceRejectedError("image is not a JPEG or PNG OpenCV can read.", 400)
    return decoded


@hookimpl
def register_inference_backends(register: Register) -> None:
    register("opencv", OpenCVBackend,
             description="In-process OpenCV detectors (faces, people); no model download")
