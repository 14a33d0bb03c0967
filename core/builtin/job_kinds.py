"""Built-in plugin that registers the core's background job kinds (task data creation, ...)."""

from cvatcore.hooks import Register, hookimpl


@hookimpl
def register_job_kinds(register: Register) -> None:
    from cvatcore.core.services import task_data

    register("create:task", task_data.run_create_job)
    register("delete:media", task_data.run_delete_media_job)
