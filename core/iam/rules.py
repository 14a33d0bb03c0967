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

TABLES = {
    "user": USER,
    "organization": ORGANIZATION,
    "membership": MEMBERSHIP,
    "invitation": INVITATION,
}
