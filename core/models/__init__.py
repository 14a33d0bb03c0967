"""Tables. Import this package to have every core table on ``Base.metadata``."""

from cvatcore.core.models.base import Base
from cvatcore.core.models.orgs import Invitation, Membership, Organization
from cvatcore.core.models.users import AccessToken, AuthSession, User

__all__ = ["AccessToken", "AuthSession", "Base", "Invitation", "Membership", "Organization", "User"]
