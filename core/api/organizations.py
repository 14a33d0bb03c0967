"""``/api/organizations``, ``/api/memberships`` and ``/api/invitations``."""

from __future__ import annotations

from sqlalchemy import select
from starlette.responses import Response

from cvatcore.core.api.context import Ctx
from cvatcore.core.api.listing import ListSpec, apply_query, paginate, parse_bool
from cvatcore.core.api.responses import JSON, no_content
from cvatcore.core.api.routing import Op
from cvatcore.core.api.serializers import (
    invitations_page,
    membership,
    memberships_page,
    organization,
    organizations_page,
)
from cvatcore.core.models import Invitation, Membership, Organization, User
from cvatcore.core.services import invitations, memberships, orgs

owner_name = select(User.username).where(User.id == Organization.owner_id).scalar_subquery()
ORG_SPEC = ListSpec(
    fields={"id": Organization.id, "name": Organization.name, "slug": Organization.slug,
            "owner": owner_name},
    search=("name", "slug", "owner"),
    simple_filters=("name", "slug", "owner"),
)
member_name = select(User.username).where(User.id == Membership.user_id).scalar_subquery()
MEMBERSHIP_SPEC = ListSpec(
    fields={"id": Membership.id, "user": member_name, "role": Membership.role,
            "is_active": Membership.is_active},
    search=("user", "role"),
    simple_filters=("user", "role"),
)
inviter_name = select(User.username).where(User.id == Invitation.owner_id).scalar_subquery()
INVITATION_SPEC = ListSpec(
    fields={"created_date": Invitation.created_date, "owner": inviter_name,
            "user_id": Membership.user_id, "accepted": Membership.is_active},
    search=("owner",),
    simple_filters=("owner", "user_id", "accepted"),
    default_sort="-created_date",
    casts={"user_id": int, "accepted": parse_bool},
)


def list_orgs(ctx: Ctx) -> Response:
    stmt = apply_query(ctx, orgs.list_query(ctx.caller), ORG_SPEC)
    return JSON(paginate(ctx, stmt, lambda rows: organizations_page(ctx, rows)))


def create_org(ctx: Ctx) -> Response:
    return JSON(organization(ctx, orgs.create(ctx.caller, ctx.data)), status_code=201)


def retrieve_org(ctx: Ctx) -> Response:
    return JSON(organization(ctx, orgs.get(ctx.caller, ctx.path_params["id"])))


def update_org(ctx: Ctx) -> Response:
    return JSON(organization(ctx, orgs.update(ctx.caller, ctx.path_params["id"], ctx.data)))


def delete_org(ctx: Ctx) -> Response:
    orgs.delete(ctx.caller, ctx.path_params["id"])
    return no_content()


def list_memberships(ctx: Ctx) -> Response:
    stmt = apply_query(ctx, memberships.list_query(ctx.caller), MEMBERSHIP_SPEC)
    return JSON(paginate(ctx, stmt, lambda rows: memberships_page(ctx, rows)))


def retrieve_membership(ctx: Ctx) -> Response:
    return JSON(memberships_page(ctx, [memberships.get(ctx.caller, ctx.path_params["id"])])[0])


def update_membership(ctx: Ctx) -> Response:
    return JSON(membership(ctx, memberships.update(ctx.caller, ctx.path_params["id"], ctx.data)))


def delete_membership(ctx: Ctx) -> Response:
    memberships.delete(ctx.caller, ctx.path_params["id"])
    return no_content()


def list_invitations(ctx: Ctx) -> Response:
    stmt = apply_query(ctx, invitations.list_query(ctx.caller), INVITATION_SPEC)
    return JSON(paginate(ctx, stmt, lambda rows: invitations_page(ctx, rows)))


def create_invitation(ctx: Ctx) -> Response:
    invitation = invitations.create(ctx.caller, ctx.data)
    return JSON(invitations_page(ctx, [invitation])[0], status_code=201)


def retrieve_invitation(ctx: Ctx) -> Response:
    invitation, _ = invitations.get(ctx.caller, ctx.path_params["key"])
    return JSON(invitations_page(ctx, [invitation])[0])


def accept_invitation(ctx: Ctx) -> Response:
    org = invitations.accept(ctx.caller, ctx.path_params["key"])
    return JSON({"organization_slug": org.slug})


def decline_invitation(ctx: Ctx) -> Response:
    invitations.decline(ctx.caller, ctx.path_params["key"])
    return no_content()


def resend_invitation(ctx: Ctx) -> Response:
    invitations.resend(ctx.caller, ctx.path_params["key"])
    return no_content()


def delete_invitation(ctx: Ctx) -> Response:
    invitations.delete(ctx.caller, ctx.path_params["key"])
    return no_content()


ORGS, MEMBERS, INVITES = "/api/organizations", "/api/memberships", "/api/invitations"
OPS = [
    Op("GET", ORGS, list_orgs, "organizations_list", "organizations", "List organizations",
       response="OrganizationRead", paginated=True,
       params=("filter", "search", "sort", *ORG_SPEC.simple_filters),
       extra={"list_spec": ORG_SPEC}),
    Op("POST", ORGS, create_org, "organizations_create", "organizations", "Create an organization",
       request="OrganizationWriteRequest", response="OrganizationRead", status=201),
    Op("GET", ORGS + "/{id:int}", retrieve_org, "organizations_retrieve", "organizations",
       "One organization", response="OrganizationRead"),
    Op("PATCH", ORGS + "/{id:int}", update_org, "organizations_partial_update", "organizations",
       "Change an organization", request="PatchedOrganizationWriteRequest",
       response="OrganizationRead"),
    Op("DELETE", ORGS + "/{id:int}", delete_org, "organizations_destroy", "organizations",
       "Delete an organization", status=204),
    Op("GET", MEMBERS, list_memberships, "memberships_list", "memberships", "List memberships",
       response="MembershipRead", paginated=True,
       params=("filter", "search", "sort", *MEMBERSHIP_SPEC.simple_filters),
       extra={"list_spec": MEMBERSHIP_SPEC}),
    Op("GET", MEMBERS + "/{id:int}", retrieve_membership, "memberships_retrieve", "memberships",
       "One membership", response="MembershipRead"),
    Op("PATCH", MEMBERS + "/{id:int}", update_membership, "memberships_partial_update",
       "memberships", "Change a member's role", request="PatchedMembershipWriteRequest",
       response="MembershipRead"),
    Op("DELETE", MEMBERS + "/{id:int}", delete_membership, "memberships_destroy", "memberships",
       "Remove a member, or leave", status=204),
    Op("GET", INVITES, list_invitations, "invitations_list", "invitations", "List invitations",
       response="InvitationRead", paginated=True,
       params=("filter", "search", "sort", *INVITATION_SPEC.simple_filters),
       extra={"list_spec": INVITATION_SPEC}),
    Op("POST", INVITES, create_invitation, "invitations_create", "invitations", "Invite a user",
       request="InvitationWriteRequest", response="InvitationRead", status=201),
    Op("GET", INVITES + "/{key}", retrieve_invitation, "invitations_retrieve", "invitations",
       "One invitation", response="InvitationRead"),
    Op("POST", INVITES + "/{key}/accept", accept_invitation, "invitations_accept", "invitations",
       "Accept an invitation", response="AcceptInvitationRead"),
    Op("POST", INVITES + "/{key}/decline", decline_invitation, "invitations_decline", "invitations",
       "Decline an invitation", status=204),
    Op("POST", INVITES + "/{key}/resend", resend_invitation, "invitations_resend", "invitations",
       "Send an invitation again", status=204),
    Op("DELETE", INVITES + "/{key}", delete_invitation, "invitations_destroy", "invitations",
       "Withdraw an invitation", status=204),
]
