"""Built-in plugin that registers the core's background job kinds (task data creation, ...)."""

from cvatcore.hooks import Register, hookimpl


@hookimpl
def register_job_kinds(register: Register) -> None:
    from cvatcore.core.services import (
        backups_export,
        backups_restore,
        lambda_requests,
        media_removal,
        task_data_job,
    )

    register("create:task", task_data_job.run)
    register("delete:media", media_removal.run_delete_media_job)
    register(media_removal.DISCARD_KIND, media_removal.run_discard_data_job)
    register(lambda_requests.KIND, lambda_requests.run)
    register(backups_export.KIND, backups_export.run)
    register("import:backup", backups_restore.run)
