"""Built-in plugin that adds the core REST API through ``register_routes``."""

from cvatcore.core.api import (
    annotations,
    auth,
    cloud_storages,
    issues,
    jobs,
    labels,
    organizations,
    projects,
    requests,
    server,
    task_data,
    tasks,
    users,
)
from cvatcore.core.api.context import endpoint
from cvatcore.core.api.routing import Op
from cvatcore.hooks import hookimpl

MODULES = (
    server, auth, users, organizations, projects, tasks, jobs, labels, task_data, annotations,
    issues, requests, cloud_storages,
)


def core_ops() -> list[Op]:
    ops = [op for module in MODULES for op in module.OPS]
    from cvatcore.core.api import schema

    return ops + schema.OPS


@hookimpl
def register_routes(register):
    for op in core_ops():
        register(op.path, endpoint(op.handler, authenticate=op.authenticate,
                                   stream_body=op.extra.get("stream_body", False),
                                   max_body=op.extra.get("max_body")),
                 methods=[op.method], name=op.operation_id)
