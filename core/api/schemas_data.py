"""OpenAPI component schemas of the data API (merged by ``openapi_components.all_schemas``),
named and shaped as CVAT's (``DataRequest``, ``DataResponse``, ``DataMetaRead``, ...)."""

from __future__ import annotations

from cvatcore.core.api.openapi_components import (
    BOOLEAN,
    DATE_TIME,
    INTEGER,
    STRING,
    Schema,
    array,
    enum,
    nullable,
    obj,
    ref,
)
from cvatcore.core.media.frames_math import SORTING_METHODS

FRAME_META: Schema = obj({
    "name": STRING,
    "related_files": INTEGER,
    "width": INTEGER,
    "height": INTEGER,
    "has_related_context": BOOLEAN,
}, required="all")

DATA_META_READ: Schema = obj({
    "chunks_updated_date": DATE_TIME,
    "chunk_size": nullable({**INTEGER, "minimum": 0}),
    "size": {**INTEGER, "minimum": 0, "readOnly": True},
    "image_quality": {**INTEGER, "minimum": 0, "maximum": 100},
    "start_frame": INTEGER,
    "stop_frame": INTEGER,
    "frame_filter": STRING,
    "frames": nullable(array(ref("FrameMeta"))),
    "deleted_frames": array({**INTEGER, "minimum": 0}),
    "included_frames": nullable(array({**INTEGER, "minimum": 0})),
    "storage": enum(("cloud_storage", "local", "share")),
    "cloud_storage_id": nullable(INTEGER),
}, required="all")

DATA_REQUEST: Schema = obj({
    "chunk_size": nullable({**INTEGER, "minimum": 1,
                            "description": "Maximum number of frames per chunk"}),
    "image_quality": {**INTEGER, "minimum": 0, "maximum": 100,
                      "description": "Image quality to use during annotation"},
    "start_frame": {**INTEGER, "minimum": 0, "description": "First frame index"},
    "stop_frame": {**INTEGER, "minimum": 0, "description": "Last frame index"},
    "frame_filter": {**STRING, "maxLength": 256,
                     "description": "Frame filter. The only supported syntax is: 'step=N'"},
    "client_files": array({**STRING, "format": "binary"}),
    "server_files": array({**STRING, "minLength": 1},
                          description="Paths to files in the server's share"),
    "remote_files": array({**STRING, "minLength": 1}),
    "use_zip_chunks": BOOLEAN,
    "server_files_exclude": array({**STRING, "minLength": 1}),
    "cloud_storage_id": nullable(INTEGER),
    "use_cache": BOOLEAN,
    "copy_data": BOOLEAN,
    "storage_method": enum(("cache", "file_system")),
    "storage": enum(("cloud_storage", "local", "share")),
    "sorting_method": enum(SORTING_METHODS),
    "filename_pattern": nullable({**STRING, "minLength": 1}),
    "job_file_mapping": array(array({**STRING, "minLength": 1})),
    "upload_file_order": array({**STRING, "minLength": 1}),
})

SCHEMAS: dict[str, Schema] = {
    "FrameMeta": FRAME_META,
    "DataMetaRead": DATA_META_READ,
    "DataRequest": DATA_REQUEST,
    "DataResponse": obj({"rq_id": {**STRING, "description": "Request id"}}),
    "PatchedDataMetaWriteRequest": obj({
        "deleted_frames": array({**INTEGER, "minimum": 0}),
        "cloud_storage_id": nullable(INTEGER),
    }),
    "PatchedJobDataMetaWriteRequest": obj({
        "deleted_frames": array({**INTEGER, "minimum": 0}),
    }),
}
