"""The permission tables, one per resource, in the columns of CVAT's IAM test CSVs
(``cvat/apps/{iam,organizations}/rules/tests/configs/<resource>.csv``) so the two read side
by side. Where CVAT's ``.rego`` decides something its CSV leaves out (whether a membership is
active, which list filter applies), the row says so in ``limit`` and the notes below.

Columns:
  scope       the action (``view``, ``update``, ...).
  context     ``sandbox``, ``organization`` (the object, or the request, is in an
              organization), or ``*`` for both.
  ownership   relations the user must have to the object, any of them (``self``, ``owner``,
              ``invitee``, or an organization role held in the object's organization);
              ``*`` when no relation is needed.
  privilege   the weakest system role that passes (``none`` admits everyone signed in).
  membership  the weakest active role in the organization that passes, or ``*``.
  limit       a named extra condition on the object the service evaluates, or ``*``.

An admin passes every check; a row grants its scope when every column holds. The ``view``
rows double as list filters (``engine.visible``): a list shows what the user may view.
"""

# users.rego: CVAT's "view in an organization" row carries the limit
# resource["membership"]["role"] != None, but CVAT fills resource.membership with the
# *requester's* role in the context organization (UserPermission.get_resource), so the limit
# is the membership column again: any member may look up any user inside an organization.
USER = """
scope   context       ownership  privilege  membership  limit
list    *             *          none       *           *
view    *             self       none       *           *
view    organization  *          none       worker      *
update  *             self       none       *           *
delete  *             self       none       *           *
"""

# organizations.rego: "owner" is the organization's owner (Organization.owner), the other
# relations are the user's role in it. An organization the user can't see is a 404, not a 403
# (OrganizationViewSet filters its queryset for every action).
ORGANIZATION = """
scope   context  ownership                           privilege  membership  limit
create  *        *                                   user       *           *
list    *        *                                   none       *           *
view    *        owner,maintainer,supervisor,worker  none       *           *
update  *        owner,maintainer                    worker     *           *
delete  *        owner                               worker     *           *
"""

# memberships.rego: a membership is always checked in its own organization. Staff see
# pending invitees' memberships too; other members only active ones. The sandbox row only
# shapes the list without an organization context: one's own active memberships. Maintainers
# may change or remove members below maintainer, owners anyone but the owner (neither may act
# on themselves; their own roles are excluded by the limits). Anyone but the owner may leave.
MEMBERSHIP = """
scope        context       ownership  privilege  membership  limit
list         *             *          none       *           *
view         sandbox       self       none       *           target_active
view         organization  *          none       maintainer  *
view         organization  *          none       worker      target_active
change:role  organization  *          user       maintainer  target_below_maintainer
change:role  organization  *          user       owner       target_not_owner
delete       organization  *          user       maintainer  target_below_maintainer
delete       organization  *          user       owner       target_not_owner
delete       organization  self       worker     worker      target_not_owner
"""

# invitations.rego: "owner" is who sent the invitation, "invitee" whom it invites. Objects are
# checked in the invitation's organization; what a request may find at all (else 404) is the
# view rows read in the request's own context (InvitationViewSet filters every action).
INVITATION = """
scope    context       ownership      privilege  membership  limit
list     *             *              none       *           *
create   organization  *              user       maintainer  role_below_maintainer
create   organization  *              user       owner       role_not_owner
view     *             owner,invitee  none       *           *
view     organization  *              user       maintainer  *
resend   *             owner          worker     *           *
resend   organization  *              user       maintainer  *
delete   *             owner          worker     *           *
delete   organization  *              user       maintainer  *
accept   *             invitee        none       *           *
decline  *             invitee        none       *           *
"""

# projects.rego: "owner" and "assignee" are the project's. An object is checked in its own
# organization (the request's context plays no part); a project one may not view is a 403.
# CVAT's "is_member" and "is_staff" are a worker and a maintainer role.
PROJECT = """
scope                      context       ownership       privilege  membership  limit
create                     sandbox       *               user       *           *
create                     organization  *               user       supervisor  *
import:backup              sandbox       *               user       *           *
import:backup              organization  *               user       supervisor  *
list                       *             *               none       *           *
view                       sandbox       owner,assignee  none       *           *
view                       organization  *               user       maintainer  *
view                       organization  owner,assignee  none       worker      *
update:desc                sandbox       owner,assignee  worker     *           *
update:desc                organization  *               user       maintainer  *
update:desc                organization  owner,assignee  worker     worker      *
import:dataset             sandbox       owner,assignee  worker     *           *
import:dataset             organization  *               user       maintainer  *
import:dataset             organization  owner,assignee  worker     worker      *
update:assignee            sandbox       owner           worker     *           *
update:assignee            organization  owner           worker     worker      *
update:assignee            organization  *               user       maintainer  *
update:owner               organization  owner           worker     maintainer  *
update:owner               organization  *               user       maintainer  *
delete                     sandbox       owner           worker     *           *
delete                     organization  owner           worker     worker      *
delete                     organization  *               user       maintainer  *
update:organization        sandbox       owner           worker     *           *
update:organization        organization  owner           worker     worker      *
update:organization        organization  *               user       maintainer  *
update:associated_storage  sandbox       owner           worker     *           *
update:associated_storage  organization  owner           worker     worker      *
update:associated_storage  organization  *               user       maintainer  *
export:annotations         sandbox       owner,assignee  none       *           *
export:annotations         organization  owner,assignee  none       worker      *
export:annotations         organization  *               user       maintainer  *
export:dataset             sandbox       owner,assignee  none       *           *
export:dataset             organization  owner,assignee  none       worker      *
export:dataset             organization  *               user       maintainer  *
export:backup              sandbox       owner,assignee  none       *           *
export:backup              organization  owner,assignee  none       worker      *
export:backup              organization  *               user       maintainer  *
"""

_TASK_STAFF = "owner,assignee,project:owner,project:assignee"
_PROJECT_STAFF = "owner,project:owner,project:assignee"  # tasks.rego: task owner or project staff


def _rows(scopes: str, rows: str) -> str:
    """The same rows for each of several scopes (CVAT's rego groups scopes this way)."""
    return "".join(
        f"{scope}  {row.strip()}\n" for scope in scopes.split() for row in rows.strip().splitlines()
    )


# tasks.rego: relations are the task's owner and assignee and its project's owner and assignee.
# Creating a task in a project is checked on the project ("create@project"), in the request's
# context.
TASK = "scope  context  ownership  privilege  membership  limit\n" + _rows(
    "create import:backup", """
        sandbox       *  user  *           *
        organization  *  user  supervisor  *
    """) + _rows("create@project", """
        sandbox       project:owner,project:assignee  user  *           *
        organization  *                               user  supervisor  *
        organization  project:owner,project:assignee  user  worker      *
    """) + _rows("list", "*  *  none  *  *") + _rows(
    "view view:annotations export:dataset view:metadata view:data export:annotations "
    "export:backup", f"""
        sandbox       {_TASK_STAFF}  none  *           *
        organization  *              user  maintainer  *
        organization  {_TASK_STAFF}  none  worker      *
    """) + _rows(
    "update:desc update:annotations delete:annotations upload:data update:metadata "
    "import:annotations", f"""
        sandbox       {_TASK_STAFF}  worker  *           *
        organization  *              user    maintainer  *
        organization  {_TASK_STAFF}  worker  worker      *
    """) + _rows(
    "update:owner update:assignee update:project delete update:organization", f"""
        sandbox       {_PROJECT_STAFF}  worker  *           *
        organization  *                 user    maintainer  *
        organization  {_PROJECT_STAFF}  worker  worker      *
    """) + _rows("update:associated_storage", """
        sandbox       owner,project:owner  worker  *           *
        organization  *                    user    maintainer  *
        organization  owner,project:owner  worker  worker      *
    """)

_JOB_STAFF = "assignee,task:owner,task:assignee,project:owner,project:assignee"
_JOB_TASK_STAFF = "task:owner,task:assignee,project:owner,project:assignee"

# jobs.rego: "assignee" is the job's; the others are its task's and project's. The limit
# "lone_worker" is CVAT's "strict privilege" rows: a job assignee whose system role is exactly
# worker and who is not a member of the job's organization may still work on the job.
# create/delete are for ground-truth jobs only.
JOB = "scope  context  ownership  privilege  membership  limit\n" + _rows("list", """
        *  *  none  *  *
    """) + _rows("create delete", f"""
        sandbox       {_JOB_TASK_STAFF}  user  *           *
        organization  {_JOB_TASK_STAFF}  user  supervisor  *
        organization  *                  user  maintainer  *
    """) + _rows("view export:dataset export:annotations view:annotations view:data view:metadata",
                 f"""
        sandbox       {_JOB_STAFF}  none  *           *
        organization  *             user  maintainer  *
        organization  {_JOB_STAFF}  none  worker      *
    """) + _rows(
    "update:state update:annotations delete:annotations import:annotations update:metadata", f"""
        sandbox       {_JOB_STAFF}  worker  *           *
        organization  *             user    maintainer  *
        organization  {_JOB_STAFF}  worker  worker      *
    """) + _rows(
    "view view:annotations view:data view:metadata update:state update:annotations "
    "delete:annotations import:annotations update:metadata", """
        organization  assignee  worker  *  lone_worker
    """) + _rows("update:stage update:assignee", f"""
        sandbox       {_JOB_TASK_STAFF}  worker  *           *
        organization  *                  user    maintainer  *
        organization  {_JOB_TASK_STAFF}  worker  worker      *
    """)

# CVAT's LabelPermission has no rules of its own for single labels: viewing one is viewing its
# task or project, changing or deleting one is that object's "update:desc". "owner" and
# "assignee" are the owning task's or project's (a task inside a project has no labels of its
# own). The rows below are those of tasks.rego and projects.rego for these two scopes.
LABEL = """
scope   context       ownership       privilege  membership  limit
list    *             *               none       *           *
view    sandbox       owner,assignee  none       *           *
view    organization  *               user       maintainer  *
view    organization  owner,assignee  none       worker      *
update  sandbox       owner,assignee  worker     *           *
update  organization  *               user       maintainer  *
update  organization  owner,assignee  worker     worker      *
delete  sandbox       owner,assignee  worker     *           *
delete  organization  *               user       maintainer  *
delete  organization  owner,assignee  worker     worker      *
"""

# cloudstorages.rego / cloudstorages.csv (cvat-reference §1.9): owners manage their own
# storages; in an organization supervisors may look and maintainers may also change and
# delete. "list:content", "preview" and "status" follow "view" in CVAT, so the service asks for
# "view" for them.
CLOUD_STORAGE = """
scope   context       ownership  privilege  membership  limit
create  sandbox       *          user       *           *
create  organization  *          user       maintainer  *
list    *             *          none       *           *
view    sandbox       owner      none       *           *
view    organization  owner      none       worker      *
view    organization  *          none       supervisor  *
update  sandbox       owner      worker     *           *
update  organization  owner      worker     worker      *
update  organization  *          worker     maintainer  *
delete  sandbox       owner      worker     *           *
delete  organization  owner      worker     worker      *
delete  organization  *          worker     maintainer  *
"""

_ISSUE_JOB_STAFF = "job:assignee,task:owner,task:assignee,project:owner,project:assignee"
_ISSUE_ADMIN = "owner,task:owner,task:assignee,project:owner,project:assignee"
_ISSUE_STAFF = f"owner,assignee,{_ISSUE_JOB_STAFF}"

# issues.rego: the job relations, plus the issue's own owner (who opened it) and assignee.
ISSUE = f"""
scope       context       ownership       privilege  membership  limit
create@job  sandbox       {_ISSUE_JOB_STAFF}    worker     *           *
create@job  organization  *               user       maintainer  *
create@job  organization  {_ISSUE_JOB_STAFF}    worker     worker      *
list        *             *               none       *           *
view        sandbox       {_ISSUE_STAFF}  none       *           *
view        organization  *               user       maintainer  *
view        organization  {_ISSUE_STAFF}  none       worker      *
update      sandbox       {_ISSUE_STAFF}  worker     *           *
update      organization  *               user       maintainer  *
update      organization  {_ISSUE_STAFF}  worker     worker      *
delete      sandbox       {_ISSUE_ADMIN}  worker     *           *
delete      organization  *               user       maintainer  *
delete      organization  {_ISSUE_ADMIN}  worker     worker      *
"""

_COMMENT_ISSUE_STAFF = ("issue:owner,issue:assignee,job:assignee,task:owner,task:assignee,"
                "project:owner,project:assignee")
_COMMENT_STAFF = f"owner,{_COMMENT_ISSUE_STAFF}"

# comments.rego: the issue's relations, plus the comment's own owner.
COMMENT = f"""
scope         context       ownership         privilege  membership  limit
create@issue  sandbox       {_COMMENT_ISSUE_STAFF}    worker     *           *
create@issue  organization  *                 user       maintainer  *
create@issue  organization  {_COMMENT_ISSUE_STAFF}    worker     worker      *
list          *             *                 none       *           *
view          sandbox       {_COMMENT_STAFF}  none       *           *
view          organization  *                 user       maintainer  *
view          organization  {_COMMENT_STAFF}  none       worker      *
update        sandbox       {_COMMENT_STAFF}  worker     *           *
update        organization  *                 user       maintainer  *
update        organization  {_COMMENT_STAFF}  worker     worker      *
delete        sandbox       {_COMMENT_STAFF}  worker     *           *
delete        organization  *                 user       maintainer  *
delete        organization  {_COMMENT_STAFF}  worker     worker      *
"""

# Native functions (/api/functions; CVAT's rules for them are not public, cvat-reference
# §11.1): "owner" is who created the function. A private function is its owner's (and an
# organization's maintainers'); "public" (the limit) lets any member of its organization, or
# any user for a sandbox function, see and run it. Only the owner serves it (the agent queue,
# scope "serve"): the agent reads task data as that user.
FUNCTION = """
scope   context       ownership  privilege  membership  limit
create  sandbox       *          user       *           *
create  organization  *          user       worker      *
list    *             *          none       *           *
view    sandbox       owner      none       *           *
view    sandbox       *          none       *           public
view    organization  owner      none       worker      *
view    organization  *          none       worker      public
view    organization  *          none       maintainer  *
delete  *             owner      worker     *           *
delete  organization  *          worker     maintainer  *
serve   *             owner      none       *           *
"""

# webhooks.rego / webhooks.csv (cvat-reference §3.7): "owner" is the webhook's creator,
# "project:owner" the owner of a project webhook's project. Deliveries, ping and redelivery
# follow "view" and "update" of the webhook.
WEBHOOK = """
scope                context       ownership            privilege  membership  limit
create@project       sandbox       project:owner        worker     *           *
create@project       organization  *                    worker     maintainer  *
create@project       organization  project:owner        worker     worker      *
create@organization  organization  *                    worker     maintainer  *
list                 *             *                    none       *           *
view                 sandbox       owner,project:owner  none       *           *
view                 organization  *                    none       maintainer  *
view                 organization  owner,project:owner  none       worker      *
update               sandbox       owner,project:owner  worker     *           *
update               organization  *                    worker     maintainer  *
update               organization  owner,project:owner  worker     worker      *
delete               sandbox       owner,project:owner  worker     *           *
delete               organization  *                    worker     maintainer  *
delete               organization  owner,project:owner  worker     worker      *
"""

TABLES = {
    "user": USER,
    "organization": ORGANIZATION,
    "membership": MEMBERSHIP,
    "invitation": INVITATION,
    "cloudstorage": CLOUD_STORAGE,
    "issue": ISSUE,
    "comment": COMMENT,
    "project": PROJECT,
    "task": TASK,
    "job": JOB,
    "label": LABEL,
    "webhook": WEBHOOK,
    "function": FUNCTION,
}
