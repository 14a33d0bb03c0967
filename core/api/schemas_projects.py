"""OpenAPI component schemas of the projects, tasks, jobs and labels APIs (merged by
``openapi_components.all_schemas``), named as in CVAT's schema (the one cvat-sdk is generated
from). Fields that appear only once a task has data are left out of ``required``.
"""

from __future__ import annotations

from cvatcore.core.api.bounds import MAX_LABELS
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
from cvatcore.core.services.jobs import STAGES, STATES, TYPES
from cvatcore.core.services.label_specs import INPUT_TYPES, LABEL_TYPES
from cvatcore.core.services.projects import LOCATIONS, PROJECT_STATUSES

ID = read_only(INTEGER)
USER = nullable(ref("BasicUser"))
STORAGE = nullable(ref("Storage"))
STORAGE_REQUEST = ref("StorageRequest")

_ATTRIBUTE = {
    "name": string(maxLength=64), "mutable": BOOLEAN, "input_type": ref("InputTypeEnum"),
    "default_value": string(maxLength=128), "values": array(string(maxLength=200)),
}
_ATTRIBUTE_REQUEST = {
    **_ATTRIBUTE, "name": string(minLength=1, maxLength=64), "id": INTEGER,
    "deleted": {**BOOLEAN, "description": "Delete the attribute (with its id)."},
}
_SUBLABEL_REQUEST = {
    "name": string(minLength=1, maxLength=64), "id": INTEGER, "color": STRING,
    "attributes": array(ref("AttributeRequest")), "type": ref("LabelType"),
    "has_parent": BOOLEAN,
}
_LABEL_REQUEST = {
    **_SUBLABEL_REQUEST,
    "deleted": {**BOOLEAN, "description": "Delete the label (with its id)."},
    "svg": STRING, "sublabels": array(ref("SublabelRequest")),
}
_LABELS_WRITE = array(ref("PatchedLabelRequest"), maxItems=MAX_LABELS)
_PROJECT_WRITE = {
    "name": string(minLength=1, maxLength=256), "labels": _LABELS_WRITE,
    "owner_id": nullable(INTEGER), "assignee_id": nullable(INTEGER),
    "bug_tracker": string(maxLength=2000), "target_storage": STORAGE_REQUEST,
    "source_storage": STORAGE_REQUEST,
}
_TASK_WRITE = {
    "name": string(minLength=1, maxLength=256), "project_id": nullable(INTEGER),
    "owner_id": nullable(INTEGER), "assignee_id": nullable(INTEGER),
    "bug_tracker": string(maxLength=2000), "labels": _LABELS_WRITE,
    "subset": string(maxLength=64), "target_storage": STORAGE_REQUEST,
    "source_storage": STORAGE_REQUEST,
}
_SUMMARY_URL = read_only(URI)

_PROJECT_READ: dict[str, Schema] = {
    "url": _SUMMARY_URL, "id": ID, "name": STRING, "owner": USER, "assignee": USER,
    "guide_id": nullable(INTEGER), "bug_tracker": STRING, "task_subsets": array(STRING),
    "created_date": DATE_TIME, "updated_date": DATE_TIME, "status": ref("ProjectStatus"),
    "dimension": nullable(string(maxLength=16)), "organization": nullable(INTEGER),
    "organization_id": nullable(INTEGER), "target_storage": STORAGE,
    "source_storage": STORAGE, "assignee_updated_date": nullable(DATE_TIME),
    "tasks": ref("TasksSummary"), "labels": ref("LabelsSummary"),
}
_TASK_DATA_FIELDS = ("size", "image_quality", "media_type")
_TASK_READ: dict[str, Schema] = {
    "url": _SUMMARY_URL, "id": ID, "name": STRING, "project_id": nullable(INTEGER),
    "project_name": nullable(STRING), "mode": STRING, "owner": USER, "assignee": USER,
    "bug_tracker": STRING, "created_date": DATE_TIME, "updated_date": DATE_TIME,
    "overlap": nullable(INTEGER), "segment_size": INTEGER, "status": ref("JobStatus"),
    "data_chunk_size": nullable(INTEGER),
    "data_compressed_chunk_type": nullable(ref("ChunkType")),
    "data_original_chunk_type": nullable(ref("ChunkType")),
    "data_cloud_storage_id": nullable(INTEGER), "guide_id": nullable(INTEGER),
    "data": nullable(INTEGER), "dimension": STRING, "subset": STRING,
    "organization": nullable(INTEGER), "organization_id": nullable(INTEGER),
    "target_storage": STORAGE, "source_storage": STORAGE,
    "assignee_updated_date": nullable(DATE_TIME), "validation_mode": nullable(STRING),
    "jobs": ref("JobsSummary"), "labels": ref("LabelsSummary"),
    "size": INTEGER, "image_quality": INTEGER, "media_type": STRING,
}
_JOB_READ: dict[str, Schema] = {
    "url": _SUMMARY_URL, "id": ID, "task_id": INTEGER, "task_name": nullable(STRING),
    "project_id": nullable(INTEGER), "project_name": nullable(STRING), "assignee": USER,
    "guide_id": nullable(INTEGER), "dimension": STRING, "mode": STRING, "media_type": STRING,
    "bug_tracker": nullable(STRING), "status": ref("JobStatus"), "stage": ref("JobStage"),
    "state": ref("OperationStatus"), "frame_count": INTEGER, "start_frame": INTEGER,
    "stop_frame": INTEGER, "data_chunk_size": nullable(INTEGER),
    "data_compressed_chunk_type": nullable(ref("ChunkType")),
    "data_original_chunk_type": nullable(ref("ChunkType")), "created_date": DATE_TIME,
    "updated_date": DATE_TIME, "issues": ref("IssuesSummary"), "labels": ref("LabelsSummary"),
    "type": ref("JobType"), "organization": nullable(INTEGER), "target_storage": STORAGE,
    "source_storage": STORAGE, "assignee_updated_date": nullable(DATE_TIME),
    "parent_job_id": nullable(INTEGER), "replicas_count": INTEGER,
}

SCHEMAS: dict[str, Schema] = {
    "ProjectStatus": enum(PROJECT_STATUSES),
    "JobStatus": enum(PROJECT_STATUSES),
    "JobStage": enum(STAGES),
    "OperationStatus": enum(STATES),
    "JobType": enum(TYPES),
    "ChunkType": enum(("video", "imageset", "audio_mp3")),
    "InputTypeEnum": enum(INPUT_TYPES),
    "LabelType": enum(LABEL_TYPES),
    "LocationEnum": enum(LOCATIONS),
    "Storage": obj({"location": ref("LocationEnum"), "cloud_storage_id": nullable(INTEGER)},
                   required="all"),
    "StorageRequest": obj({"location": ref("LocationEnum"),
                           "cloud_storage_id": nullable(INTEGER)}),
    "TasksSummary": obj({"count": INTEGER, "url": _SUMMARY_URL}, required="all"),
    "JobsSummary": obj({"count": INTEGER, "completed": nullable(INTEGER),
                        "validation": nullable(INTEGER), "url": _SUMMARY_URL}, required="all"),
    "LabelsSummary": obj({"url": _SUMMARY_URL}, required="all"),
    "IssuesSummary": obj({"count": INTEGER, "url": _SUMMARY_URL}, required="all"),
    "Attribute": obj({**_ATTRIBUTE, "id": INTEGER}, required="all"),
    "AttributeRequest": obj(_ATTRIBUTE_REQUEST, required=("name", "input_type")),
    "Sublabel": obj(
        {"id": INTEGER, "name": string(maxLength=64), "color": STRING,
         "attributes": array(ref("Attribute")), "type": ref("LabelType"),
         "has_parent": BOOLEAN},
        required="all",
    ),
    "SublabelRequest": obj(_SUBLABEL_REQUEST, required=("name",)),
    "Label": obj(
        {"id": INTEGER, "name": string(maxLength=64), "color": STRING,
         "attributes": array(ref("Attribute")), "type": ref("LabelType"), "svg": STRING,
         "sublabels": array(ref("Sublabel")), "project_id": nullable(INTEGER),
         "task_id": nullable(INTEGER), "parent_id": nullable(INTEGER), "has_parent": BOOLEAN},
        required="all",
    ),
    "PatchedLabelRequest": obj(_LABEL_REQUEST),
    "ProjectWriteRequest": obj(_PROJECT_WRITE, required=("name",)),
    "PatchedProjectWriteRequest": obj(
        {**_PROJECT_WRITE, "status": ref("ProjectStatus"),
         "organization_id": nullable(INTEGER)}
    ),
    "ProjectRead": obj(_PROJECT_READ, required="all"),
    "TaskWriteRequest": obj(
        {**_TASK_WRITE, "overlap": nullable(INTEGER), "segment_size": INTEGER},
        required=("name",),
    ),
    "PatchedTaskWriteRequest": obj({**_TASK_WRITE, "organization_id": nullable(INTEGER)}),
    "TaskRead": obj(_TASK_READ, required=[k for k in _TASK_READ if k not in _TASK_DATA_FIELDS]),
    "PatchedJobWriteRequest": obj(
        {"assignee": nullable(INTEGER), "stage": ref("JobStage"),
         "state": ref("OperationStatus")}
    ),
    "JobRead": obj(_JOB_READ, required="all"),
}
