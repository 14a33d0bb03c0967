"""OpenAPI component schemas of the dataset formats listing (CVAT's ``DatasetFormats``)."""

from __future__ import annotations

from cvatcore.core.api.openapi_components import BOOLEAN, STRING, Schema, obj, ref

SCHEMAS: dict[str, Schema] = {
    "DatasetFormat": obj({"name": STRING, "ext": STRING, "version": STRING,
                          "enabled": BOOLEAN, "dimension": STRING}, required="all"),
    "DatasetFormats": obj({"importers": {"type": "array", "items": ref("DatasetFormat")},
                           "exporters": {"type": "array", "items": ref("DatasetFormat")}},
                          required="all"),
}
