"""Tables. Import this package to have every core table on ``Base.metadata``."""

from cvatcore.core.models.analytics import OutboxEvent, SinkCursor, StoredEvent
from cvatcore.core.models.annotations import Comment, Issue, Shape, Tag, Track, TrackedShape
from cvatcore.core.models.base import Base
from cvatcore.core.models.cloud import CloudStorage, CloudStorageManifest
from cvatcore.core.models.functions import AgentRequest, NativeFunction
from cvatcore.core.models.jobs import BackgroundJob
from cvatcore.core.models.media import Frame, TaskData
from cvatcore.core.models.orgs import Invitation, Membership, Organization
from cvatcore.core.models.projects import AttributeSpec, Job, Label, Project, Segment, Task
from cvatcore.core.models.users import AccessToken, AuthSession, SignInFailure, User
from cvatcore.core.models.webhooks import Webhook, WebhookAttempt, WebhookDelivery

__all__ = [
    "AccessToken", "AgentRequest", "AttributeSpec", "AuthSession", "BackgroundJob", "Base",
    "CloudStorage", "CloudStorageManifest", "Comment", "Frame",
    "Invitation", "Issue", "Job", "Label", "Membership", "NativeFunction", "Organization",
    "OutboxEvent", "Project", "Segment", "Shape", "SignInFailure", "SinkCursor", "StoredEvent",
    "Tag", "Task", "TaskData", "Track", "TrackedShape", "User", "Webhook", "WebhookAttempt",
    "WebhookDelivery",
]
