"""OpenAPI component schemas of the annotations API (see ``openapi_components.all_schemas``):
``LabeledData`` and its parts, issues and comments, named as in CVAT's schema (the one cvat-sdk
is generated from). Answers carry every field, so response components require them all;
request components require what CVAT's do.
"""

from __future__ import annotations

from cvatcore.core.api.openapi_components import (
    BOOLEAN,
    DATE_TIME,
    INTEGER,
    STRING,
    URI,
    Schema,
    array,
    enum,
    nullable,
    obj,
    read_only,
    ref,
    string,
)
from cvatcore.core.services.annotations_values import SHAPE_TYPES, SOURCES

NUMBER: Schema = {"type": "number", "format": "double"}
FRAME: Schema = {"type": "integer", "minimum": 0}
SOURCE: Schema = string(description="One of: " + ", ".join(SOURCES) + ".", default="manual")


def _annotation(attribute: str) -> dict[str, Schema]:
    return {
        "id": nullable(INTEGER),
        "frame": FRAME,
        "label_id": {"type": "integer", "minimum": 0},
        "group": nullable({"type": "integer", "minimum": 0}),
        "source": SOURCE,
        "attributes": array(ref(attribute)),
    }


def _geometry() -> dict[str, Schema]:
    return {
        "type": ref("ShapeType"),
        "occluded": BOOLEAN,
        "outside": BOOLEAN,
        "z_order": INTEGER,
        "rotation": {**NUMBER, "minimum": 0, "maximum": 360},
        "points": array(NUMBER),
    }


def _family(suffix: str, required: str) -> dict[str, Schema]:
    """The LabeledData components, for answers (``suffix`` "") or requests ("Request")."""
    attribute = f"AttributeVal{suffix}"
    score = {"score": {**NUMBER, "minimum": 0, "maximum": 1}}
    shape = {**_geometry(), **_annotation(attribute), **score}
    tracked = {**_geometry(), "id": nullable(INTEGER), "frame": FRAME,
               "attributes": array(ref(attribute))}
    track = {**_annotation(attribute), "shapes": array(ref(f"TrackedShape{suffix}"))}
    answer = required == "all"

    def req(props: dict[str, Schema], names: list[str]) -> list[str]:
        return [n for n in props if n != "score"] if answer else names

    sub_shape = obj(shape, required=req(shape, ["type", "frame", "label_id"]))
    full_shape = {**shape, "elements": array(ref(f"SubLabeledShape{suffix}"))}
    full_track = {**track, "elements": array(ref(f"SubLabeledTrack{suffix}"))}
    tag = _annotation(attribute)
    intervals = {} if answer else {"intervals": array({}, maxItems=0, description=(
        "Interval annotations are not supported; an empty list is accepted."))}
    data = {"version": INTEGER, "tags": array(ref(f"LabeledImage{suffix}")),
            "shapes": array(ref(f"LabeledShape{suffix}")),
            "tracks": array(ref(f"LabeledTrack{suffix}")), **intervals}
    return {
        attribute: obj({"spec_id": INTEGER, "value": string(maxLength=4096)}, required="all"),
        f"LabeledImage{suffix}": obj(tag, required=req(tag, ["frame", "label_id"])),
        f"SubLabeledShape{suffix}": sub_shape,
        f"LabeledShape{suffix}": obj(full_shape, required=req(full_shape,
                                                              ["type", "frame", "label_id"])),
        f"TrackedShape{suffix}": obj(tracked, required=req(tracked, ["type", "frame"])),
        f"SubLabeledTrack{suffix}": obj(track, required=req(track,
                                                            ["frame", "label_id", "shapes"])),
        f"LabeledTrack{suffix}": obj(full_track, required=req(full_track,
                                                              ["frame", "label_id", "shapes"])),
        f"LabeledData{suffix}": obj(data, required="all" if answer else ()),
    }


_BASIC_USER = nullable(ref("BasicUser"))

SCHEMAS: dict[str, Schema] = {
    "ShapeType": enum(SHAPE_TYPES),
    **_family("", "all"),
    **_family("Request", "some"),
    "PatchedLabeledDataRequest": _family("Request", "some")["LabeledDataRequest"],
    "CommentsSummary": obj({"count": INTEGER, "url": read_only(URI)}, required="all"),
    "IssueRead": obj(
        {
            "id": read_only(INTEGER),
            "frame": read_only(INTEGER),
            "position": array(NUMBER),
            "job": read_only(INTEGER),
            "owner": _BASIC_USER,
            "assignee": _BASIC_USER,
            "created_date": read_only(nullable(DATE_TIME)),
            "updated_date": read_only(nullable(DATE_TIME)),
            "resolved": read_only(BOOLEAN),
            "comments": ref("CommentsSummary"),
        },
        required="all",
    ),
    "IssueWriteRequest": obj(
        {
            "frame": {"type": "integer", "minimum": 0, "maximum": 2147483647},
            "position": array(NUMBER, minItems=1),
            "job": INTEGER,
            "assignee": nullable(INTEGER),
            "message": string(minLength=1),
            "resolved": BOOLEAN,
        },
        required=["frame", "position", "job", "message"],
    ),
    "PatchedIssueWriteRequest": obj(
        {"position": array(NUMBER, minItems=1), "assignee": nullable(INTEGER),
         "resolved": BOOLEAN}
    ),
    "CommentRead": obj(
        {
            "id": read_only(INTEGER),
            "issue": read_only(INTEGER),
            "owner": _BASIC_USER,
            "message": read_only(STRING),
            "created_date": read_only(DATE_TIME),
            "updated_date": read_only(DATE_TIME),
        },
        required="all",
    ),
    "CommentWriteRequest": obj({"issue": INTEGER, "message": string(minLength=1)},
                               required=["issue"]),
    "PatchedCommentWriteRequest": obj({"message": string(minLength=1)}),
}
