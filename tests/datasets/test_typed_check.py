"""The import's one-step path for plain shapes (``typed_shape``) makes the row the full check
(``Checker.shape`` of the resolved item) makes, and leaves to the full check (which refuses
it) anything it is not sure of: no imported value gets past fewer checks."""

from __future__ import annotations

import math
from typing import Any

import pytest

from cvatcore.core.models import AttributeSpec, Label
from cvatcore.core.services.annotations_task import FrameSet
from cvatcore.core.services.annotations_validate import Checker, Scope
from cvatcore.core.services.annotations_values import Invalid
from cvatcore.core.services.datasets_resolve import typed_shape


def _scope() -> Scope:
    car = Label(id=1, name="car", type="any", parent_id=None)
    pose = Label(id=2, name="pose", type="skeleton", parent_id=None)
    color = AttributeSpec(id=7, label_id=1, name="color", input_type="select", mutable=False,
                          default_value="red", values=["red", "blue"])
    frames = FrameSet(10, [range(10)])
    return Scope({1: (car, {7: color}), 2: (pose, {})}, frames, "the task's frames (0-9)",
                 frames, "the task's frames (0-9)")


def _item(**changes: Any) -> dict[str, Any]:
    item = {"type": "polygon", "frame": 3, "points": [1.0, 2.0, 5.0, 2.0, 5.0, 9.0],
            "occluded": True, "outside": False, "z_order": 2, "rotation": 0.0,
            "group": 4, "source": "manual"}
    return {**item, **changes}


def _full(item: dict[str, Any], label_id: int, attributes: list[Any]) -> dict[str, Any]:
    body = {"label_id": label_id, "attributes": attributes,
            **{k: v for k, v in item.items() if k != "elements"}}
    return Checker(_scope()).shape(body)


@pytest.mark.parametrize("item", [
    _item(), _item(type="rectangle", points=[1.0, 2.0, 3.0, 4.0]),
    _item(type="polyline", points=[0.0, 0.0, 1.5, 1.5], group=0, source="file"),
    _item(type="points", points=[7.0, 8.0], occluded=False, z_order=-3)])
def test_a_plain_shape_gets_the_row_the_full_check_makes(item: dict[str, Any]) -> None:
    attributes = [{"spec_id": 7, "value": "blue"}]
    fast = typed_shape(Checker(_scope()), item, 1, attributes)
    assert fast is not None
    assert fast == _full(item, 1, attributes)


@pytest.mark.parametrize("item", [
    _item(points=[1.0, 2.0, 3.0, 4.0]),  # a polygon of two points
    _item(points=[1.0, math.nan, 3.0, 4.0, 5.0, 6.0]),
    _item(points=[1.0, math.inf, 3.0, 4.0, 5.0, 6.0]),
    _item(type="rectangle", points=[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
    _item(type="polyline", points=[1.0, 2.0]), _item(type="points", points=[1.0, 2.0, 3.0]),
    _item(points=[1, 2, 3, 4, 5, 6]),  # ints, not as the readers type them
    _item(points=["1", "2", "3", "4", "5", "6"]),
    _item(occluded="yes"), _item(z_order=2**40), _item(group=-1), _item(source="robot"),
    _item(rotation=30.0), _item(type="ellipse", points=[1.0, 2.0, 3.0, 4.0]),
    _item(elements=[{"label": "x"}])])
def test_anything_unusual_is_left_to_the_full_check(item: dict[str, Any]) -> None:
    assert typed_shape(Checker(_scope()), item, 1, []) is None


def test_what_a_typed_value_can_still_get_wrong_is_refused() -> None:
    with pytest.raises(Invalid, match="frame 12 is outside"):
        typed_shape(Checker(_scope()), _item(frame=12), 1, [])
    with pytest.raises(Invalid, match="not one of the values"):
        typed_shape(Checker(_scope()), _item(), 1, [{"spec_id": 7, "value": "green"}])
    assert typed_shape(Checker(_scope()), _item(), 2, []) is None  # a skeleton label
