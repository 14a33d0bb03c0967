"""A Nuclio function in CVAT's layout: {"image": base64, "threshold"?} -> detections."""

import base64
import json

import cv2
import numpy as np


def init_context(context):
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    context.user_data.model = cascade


def handler(context, event):
    data = event.body
    raw = base64.b64decode(data["image"])
    image = cv2.imdecode(np.frombuffer(raw, dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
    threshold = float(data.get("threshold") or 0.0)
    boxes, _, weights = context.user_data.model.detectMultiScale3(
        cv2.equalizeHist(image), scaleFactor=1.1, minNeighbors=5, outputRejectLevels=True)
    results = []
    for (x, y, w, h), weight in zip(boxes, weights, strict=False):
        confidence = max(float(weight), 0.0) / (1.0 + max(float(weight), 0.0))
        if confidence >= threshold:
            results.append({"confidence": str(round(confidence, 4)), "label": "face",
                            "points": [int(x), int(y), int(x + w), int(y + h)],
                            "type": "rectangle"})
    return context.Response(body=json.dumps(results), headers={},
                            content_type="application/json", status_code=200)
