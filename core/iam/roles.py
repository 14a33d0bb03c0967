"""CVAT's system privileges and organization roles, with their ranks (lower is stronger)."""

PRIVILEGE_RANK = {"admin": 0, "business": 50, "user": 75, "worker": 100, "none": 1000}
ORG_ROLE_RANK = {"owner": 0, "maintainer": 1, "supervisor": 2, "worker": 3}
SYSTEM_ROLES = ("admin", "business", "user", "worker")
ORG_ROLES = ("owner", "maintainer", "supervisor", "worker")
DEFAULT_GROUPS = ["user"]


def privilege_of(groups: list[str] | None, is_superuser: bool = False) -> str:
    """The strongest system role among ``groups`` (a superuser is an admin)."""
    if is_superuser:
        return "admin"
    # A plain loop: this runs once per user on every list page.
    best, best_rank = "none", PRIVILEGE_RANK["none"]
    for group in groups or ():
        rank = PRIVILEGE_RANK.get(group, best_rank)
        if rank < best_rank:
            best, best_rank = group, rank
    return best


def has_privilege(actual: str, required: str) -> bool:
    return PRIVILEGE_RANK[actual] <= PRIVILEGE_RANK[required]


def has_org_role(actual: str | None, required: str) -> bool:
    return actual is not None and ORG_ROLE_RANK[actual] <= ORG_ROLE_RANK[required]
