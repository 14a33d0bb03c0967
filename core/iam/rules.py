"""The permission tables, one per resource, in the columns of CVAT's IAM test CSVs
(``cvat/apps/iam/rules/tests/configs/<resource>.csv``) so the two read side by side.

Columns:
  scope       the action (``view``, ``update``, ...).
  context     ``sandbox``, ``organization`` (the object, or the request, is in an
              organization), or ``*`` for both.
  ownership   relations the user must have to the object, any of them (``self``, ``owner``,
              ``invitee``, or an organization role held in the object's organization);
              ``*`` when no relation is needed.
  privilege   the weakest system role that passes (``none`` admits everyone signed in).
  membership  the weakest role in the context organization that passes, or ``*``.
  limit       a named extra condition the service evaluates (see ``engine.LIMITS``), or ``*``.

An admin passes every check; a row grants its scope when every column holds.
"""

USER = """
scope   context       ownership  privilege  membership  limit
list    *             *          none       *           *
view    *             self       none       *           *
view    organization  *          none       worker      target_in_org
update  *             self       none       *           *
delete  *             self       none       *           *
"""

ORGANIZATION = """
scope   context  ownership                           privilege  membership  limit
create  *        *                                   user       *           *
list    *        *                                   none       *           *
view    *        worker,supervisor,maintainer,owner  none       *           *
update  *        owner,maintainer                    worker     *           *
delete  *        owner                               worker     *           *
"""

MEMBERSHIP = """
scope        context       ownership  privilege  membership  limit
list         *             *          none       *           *
view         organization  self       none       *           *
view         organization  *          none       worker      *
change:role  organization  *          worker     maintainer  target_below_maintainer
change:role  organization  *          worker     owner       target_not_owner
delete       organization  self       worker     *           target_not_owner
delete       organization  *          worker     maintainer  target_below_maintainer
delete       organization  *          worker     owner       target_not_owner
"""

INVITATION = """
scope   context       ownership      privilege  membership  limit
list    *             *              none       *           *
create  organization  *              user       maintainer  role_below_maintainer
create  organization  *              user       owner       role_not_owner
view    *             owner,invitee  none       *           *
view    organization  *              user       maintainer  *
resend  *             owner          worker     *           *
resend  organization  *              user       maintainer  *
delete  *             owner          worker     *           *
delete  organization  *              user       maintainer  *
accept  *             invitee        none       *           *
"""

TABLES = {
    "user": USER,
    "organization": ORGANIZATION,
    "membership": MEMBERSHIP,
    "invitation": INVITATION,
}
