"""The built-in ``opencv`` backend passes the inference-backend contract."""

from __future__ import annotations

import pytest

from cvatcore.core.builtin.inference_opencv import OpenCVBackend
from cvatcore.hooks import InferenceRejectedError
from cvatcore.hooks.testing.contracts import InferenceBackendContract
from cvatcore.hooks.testing.images import b64, blank_png, face_png, moving_box_png


class TestOpenCVContract(InferenceBackendContract):
    @pytest.fixture
    def inference_backend(self):
        return OpenCVBackend()

    @pytest.fixture
    def function_id(self):
        return "opencv-face-detection"

    @pytest.fixture
    def image_b64(self):
        return b64(face_png(200))


def test_the_face_is_where_it_was_drawn():
    (face,) = OpenCVBackend().invoke("opencv-face-detection", {"image": b64(face_png(400))})
    x1, y1, x2, y2 = face["points"]
    assert x1 < 200 < x2 and y1 < 200 < y2 and x2 - x1 > 200


def test_a_flat_frame_has_no_people_and_no_faces():
    backend = OpenCVBackend()
    for function_id in ("opencv-face-detection", "opencv-hog-people"):
        assert backend.invoke(function_id, {"image": b64(blank_png())}) == []


@pytest.mark.parametrize("image", ["not base64!", b64(b"not an image"), ""])
def test_a_bad_image_is_a_400(image):
    with pytest.raises(InferenceRejectedError) as caught:
        OpenCVBackend().invoke("opencv-face-detection", {"image": image})
    assert caught.value.status == 400


def test_the_template_tracker_follows_a_box_and_says_when_it_is_lost():
    backend = OpenCVBackend()
    start = backend.invoke("opencv-template-tracker", {
        "image": b64(moving_box_png(40, 50)), "states": [],
        "shapes": [{"type": "rectangle", "points": [40, 50, 70, 70]}]})
    assert start["shapes"] == [{"type": "rectangle", "points": [40, 50, 70, 70]}]
    moved = backend.invoke("opencv-template-tracker", {
        "image": b64(moving_box_png(46, 54)), "shapes": [None], "states": start["states"]})
    assert moved["shapes"] == [{"type": "rectangle", "points": [46, 54, 76, 74]}]
    gone = backend.invoke("opencv-template-tracker", {
        "image": b64(blank_png(160)), "shapes": [None], "states": moved["states"]})
    assert gone["shapes"] == [None] and gone["states"][0]["box"] == [46, 54, 76, 74]


def test_grabcut_cuts_out_the_clicked_object():
    backend = OpenCVBackend()
    for prompts in ({"pos_points": [[55, 60]], "neg_points": [[5, 5]]},
                    {"pos_points": [[55, 60]], "obj_bbox": [[35, 45], [75, 75]]}):
        outline = backend.invoke("opencv-grabcut", {"image": b64(moving_box_png(40, 50)),
                                                    **prompts})["points"]
        xs, ys = [p[0] for p in outline], [p[1] for p in outline]
        assert (min(xs), min(ys), max(xs), max(ys)) == (40, 50, 70, 70)
    with pytest.raises(InferenceRejectedError):
        backend.invoke("opencv-grabcut", {"image": b64(moving_box_png(0, 0)), "pos_points": []})
