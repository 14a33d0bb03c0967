"""OpenAPI component schemas of ``/api/lambda`` (see ``openapi_components.all_schemas``),
with CVAT's names and fields (cvat-sdk's ``lambda_api`` models)."""

from __future__ import annotations

from cvatcore.core.api.openapi_components import (
    DATE_TIME,
    INTEGER,
    STRING,
    Schema,
    array,
    nullable,
    obj,
    ref,
    string,
)

NUMBER = {"type": "number", "format": "double"}
BOOLEAN = {"type": "boolean"}
_ATTRIBUTE_MAP = {"type": "object", "additionalProperties": STRING}
_POINT = array(NUMBER, minItems=2, maxItems=2)

SCHEMAS: dict[str, Schema] = {
    "FunctionCallParams": obj(
        {"id": nullable(STRING), "task": nullable(INTEGER), "threshold": nullable(NUMBER),
         "job": INTEGER},
        required=("id", "task", "threshold"),
    ),
    "FunctionCall": obj(
        {
            "id": STRING,
            "function": ref("FunctionCallParams"),
            "status": nullable(STRING),
            "enqueued": nullable(DATE_TIME),
            "started": nullable(DATE_TIME),
            "ended": nullable(DATE_TIME),
            "progress": nullable({**INTEGER, "default": 0}),
            "exc_info": nullable(STRING),
        },
        required=("id", "function", "status", "enqueued", "started", "ended"),
    ),
    "SublabelMappingEntryRequest": obj(
        {"name": string(minLength=1), "attributes": _ATTRIBUTE_MAP}, required=("name",)),
    "LabelMappingEntryRequest": obj(
        {"name": string(minLength=1), "attributes": _ATTRIBUTE_MAP,
         "sublabels": {"type": "object",
                       "additionalProperties": ref("SublabelMappingEntryRequest")}},
        required=("name",),
    ),
    "FunctionCallRequest": obj(
        {
            "function": string(minLength=1, description="The id of the function to run"),
            "task": {**INTEGER, "description": "The id of the task to annotate"},
            "job": {**INTEGER, "description": "Only this job's frames"},
            "max_distance": INTEGER,
            "threshold": NUMBER,
            "cleanup": {**BOOLEAN, "default": False,
                        "description": "Replace the existing annotations"},
            "conv_mask_to_poly": {**BOOLEAN, "default": False},
            "convMaskToPoly": {**BOOLEAN, "deprecated": True},
            "mapping": {"type": "object",
                        "additionalProperties": ref("LabelMappingEntryRequest"),
                        "description": "Function label -> task label"},
            "roi": array(INTEGER, minItems=4, maxItems=4),
        },
        required=("function", "task"),
    ),
    "OnlineFunctionCallRequest": obj(
        {"job": INTEGER, "task": INTEGER, "frame": INTEGER, "threshold": NUMBER,
         "mapping": {"type": "object",
                     "additionalProperties": ref("LabelMappingEntryRequest")},
         "roi": array(NUMBER, minItems=4, maxItems=4,
                      description="Detectors: [xtl, ytl, xbr, ybr], the region the function "
                                  "sees; shapes come back in frame coordinates"),
         "pos_points": array(_POINT, maxItems=1000, description="Interactors"),
         "neg_points": array(_POINT, maxItems=1000, description="Interactors"),
         "obj_bbox": nullable(array(_POINT, maxItems=2, description="Interactors")),
         "shapes": array(nullable(obj({"type": STRING, "points": array(NUMBER)},
                                      additionalProperties=True)), maxItems=1000,
                         description="Trackers: the shapes to start following"),
         "states": array(nullable(STRING), maxItems=1000,
                         description="Trackers: the signed states a previous call returned")},
        additionalProperties=True,
    ),
}
